"""benchmarks/accuracy.py: the ablation plan behind measured.IMPROVEMENTS, and one real run of it."""
import contextlib
import io
import json

import pytest

from catdogkit import measured, models, recipes


@pytest.fixture(scope="module")
def accuracy(benchmark_script):
    return benchmark_script("accuracy")


def test_an_ablation_runs_the_full_recipe_first_then_one_run_per_choice(accuracy):
    runs = accuracy.ablation_runs(64, 12)
    assert list(runs) == ["full recipe", *models.ABLATIONS, "smaller photos", "progressive resizing"]
    full = recipes.phases("improved", epochs=12, image_size=64)
    assert runs["full recipe"] == {"plan": full} and full == [(32, 4), (48, 4), (64, 4)]
    assert runs["residual stages"] == {"plan": full, "leave_out": ("residual stages",)}
    # Undoing "smaller photos" means the class's larger photos for the same CPU time.
    assert runs["smaller photos"] == {"plan": recipes.phases("improved", epochs=7, image_size=86)}
    # Undoing progressive resizing: every epoch at the final size, as many as cost the same
    # (4 epochs at a quarter of the pixels, 4 at 9/16, 4 whole: 7.25).
    assert runs["progressive resizing"] == {"plan": [(64, 7)]}
    assert set(runs) - {"full recipe"} == set(measured.IMPROVEMENTS)


def test_an_ablation_of_chosen_choices_keeps_their_order_and_names_an_unknown_one(accuracy):
    assert list(accuracy.ablation_runs(64, 12, ["smaller photos", "residual stages"])) == [
        "full recipe", "smaller photos", "residual stages"]
    with pytest.raises(SystemExit, match="unknown 'dropout'"):
        accuracy.ablation_runs(64, 12, ["dropout"])


@pytest.mark.slow
def test_an_ablation_run_reports_each_choice_against_the_full_recipe(accuracy, tiny_sample, tmp_path,
                                                                     capsys):
    accuracy.main(["--data", str(tiny_sample), "--ablations", "--seeds", "1",
                   "--ablate", "cosine learning-rate schedule", "--improved-size", "48",
                   "--improved-epochs", "1", "--out", str(tmp_path)])
    printed = capsys.readouterr().out.strip().splitlines()
    report = json.loads(printed[-1])
    # Larger photos are judged for the ladder only: an ablation's report has no place for them.
    assert not [line for line in printed if "validation_at_" in line]
    ablations = report["ablations"]
    assert list(ablations) == ["full recipe", "cosine learning-rate schedule"]
    assert ablations["full recipe"]["validation_change"] == 0
    without = ablations["cosine learning-rate schedule"]
    assert without["validation_change"] == pytest.approx(
        ablations["full recipe"]["validation"]["mean"] - without["validation"]["mean"])
    assert 0 <= without["validation"]["mean"] <= 1 and without["phases"][-1] == [48, 1]


@pytest.fixture(scope="module")
def ladder_report(accuracy, tiny_sample, tmp_path_factory):
    """The benchmark's JSON for the class and improved networks, one epoch at 48 px each."""
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        accuracy.main(["--data", str(tiny_sample), "--models", "original,improved", "--seeds", "1",
                       "--original-size", "48", "--original-epochs", "1", "--improved-size", "48",
                       "--improved-epochs", "1", "--out", str(tmp_path_factory.mktemp("ladder"))])
    return json.loads(printed.getvalue().strip().splitlines()[-1])


@pytest.mark.slow
def test_a_network_with_batch_normalization_is_judged_again_after_recalibration(ladder_report):
    report = ladder_report
    (improved,) = report["models"]["improved"]["runs"]
    for key in ("validation_recalibrated", "validation_recalibrated_flip", "test_recalibrated",
                "test_recalibrated_flip"):
        assert 0 <= improved[key] <= 1, key
    assert improved["recalibration_minutes"] >= 0
    assert report["models"]["improved"]["validation_recalibrated"]["n"] == 1
    # The class network has no batch normalization: nothing to recalibrate, no such figures.
    (original,) = report["models"]["original"]["runs"]
    assert "validation_recalibrated" not in original and report["models"]["original"]["validation_recalibrated"] is None


@pytest.mark.slow
def test_a_network_with_global_pooling_is_judged_on_larger_photos_too(accuracy, ladder_report):
    """Check that the improved network (global average pooling) is judged at 54 and 60 px
    after training at 48 px, and the class network (a flattened head) is not, even where
    its weights would fit (at 54 px its last feature map is 1x1, as at 48)."""
    report = ladder_report
    (improved,) = report["models"]["improved"]["runs"]
    assert [round(48 * scale) for scale in accuracy.TEST_SCALES] == [54, 60]
    for key in ("validation_at_54", "validation_at_54_flip", "validation_at_54_recalibrated",
                "validation_at_60", "validation_at_60_flip", "validation_at_60_recalibrated"):
        assert 0 <= improved[key] <= 1, key
    assert improved["larger_photos_minutes"] >= 0 and improved["image_size"] == 48
    (original,) = report["models"]["original"]["runs"]
    assert not [key for key in original if key.startswith(("validation_at_", "larger_photos"))]
