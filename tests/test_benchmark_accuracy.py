"""benchmarks/accuracy.py: the ablation plan behind measured.IMPROVEMENTS, and one real run of it."""
import importlib.util
import json

import pytest

from catdogkit import measured, models, recipes


@pytest.fixture(scope="module")
def accuracy(repo):
    spec = importlib.util.spec_from_file_location("accuracy_benchmark", repo / "benchmarks" / "accuracy.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


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
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    ablations = report["ablations"]
    assert list(ablations) == ["full recipe", "cosine learning-rate schedule"]
    assert ablations["full recipe"]["validation_change"] == 0
    without = ablations["cosine learning-rate schedule"]
    assert without["validation_change"] == pytest.approx(
        ablations["full recipe"]["validation"]["mean"] - without["validation"]["mean"])
    assert 0 <= without["validation"]["mean"] <= 1 and without["phases"][-1] == [48, 1]
