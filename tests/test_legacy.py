"""The class code against the installed Keras: real errors, real replacements."""
import re

import pytest

keras = pytest.importorskip("keras")

from catdogkit import legacy  # noqa: E402


@pytest.fixture(scope="module")
def results():
    return {r["name"]: r for r in legacy.try_old_calls()}


def test_every_old_call_is_tried_and_has_a_replacement(results):
    assert list(results) == [call["name"] for call in legacy.OLD_CALLS]
    for result in results.values():
        assert result["outcome"] in ("error", "warning", "changed", "ran")
        assert result["new"] and result["why"]
    # Every old call is quoted from the class code, except the demonstrations of what a
    # class-code line does today.
    for call in legacy.OLD_CALLS:
        if not call.get("demo"):
            missing = [line for line in call["old"].splitlines() if line.strip() not in legacy.CLASS_CODE]
            assert not missing, f"{call['name']}: not in the class code: {missing}"


def test_class_code_is_the_books_first_edition_code():
    code = legacy.CLASS_CODE
    assert "first_edition" in legacy.SOURCE and "5.2" in legacy.SOURCE and "5.4" in legacy.SOURCE
    # Notebook 5.2: both models, with batches of 20 and of 32; notebook 5.4: feature maps,
    # VGG16 filter patterns and Grad-CAM.
    for line in ("batch_size=20", "batch_size=32", "rotation_range=40", "shear_range=0.2",
                 "model.save('cats_and_dogs_small_2.h5')", "load_model('cats_and_dogs_small_2.h5')",
                 "model.layers[:8]", "layer_name = 'block3_conv1'", "model.output[:, 386]",
                 "last_conv_layer = model.get_layer('block5_conv3')"):
        assert line in code, line
    # Everything the code uses is defined in it (no undefined train_dir or test_generator).
    assert "test_generator" not in code and "evaluate_generator" not in code
    for name in ("train_dir", "validation_dir", "train_cats_dir"):
        assert re.search(rf"^{name} = ", code, re.M), name


def test_errors_are_the_ones_keras_really_raises(results):
    # Compare with what the same calls raise here, not with stored text.
    with pytest.raises(Exception) as lr:
        keras.optimizers.RMSprop(lr=1e-4)
    assert (results["optimizer lr="]["error_type"], results["optimizer lr="]["message"]) == (
        type(lr.value).__name__, str(lr.value))
    with pytest.raises(Exception) as gradients:
        keras.backend.gradients  # noqa: B018
    assert results["K.gradients"]["message"] == str(gradients.value)
    assert results["Grad-CAM: K.gradients, K.function"]["message"] == str(gradients.value)
    with pytest.raises(Exception) as function:
        keras.backend.function  # noqa: B018
    assert results["K.function"]["message"] == str(function.value)
    with pytest.raises(Exception) as rotation:
        keras.layers.RandomRotation(40)
    assert results["RandomRotation(40)"]["message"] == str(rotation.value)
    assert results["fit_generator"]["error_type"] == "AttributeError"
    assert "fit_generator" in results["fit_generator"]["message"]
    assert results["ImageDataGenerator"]["error_type"] == "ImportError"
    assert "never been called" in results["Model(model.input, ...)"]["message"]
    keras2 = results["load_model(Keras 2 .h5)"]
    assert keras2["error_type"] == "ValueError" and "'lr'" in keras2["message"]


def test_augmenting_generator_needs_scipy_or_runs():
    pytest.importorskip("tensorflow")
    result = {r["name"]: r for r in legacy.try_old_calls()}["augmenting ImageDataGenerator"]
    try:
        import scipy  # noqa: F401
    except ImportError:
        assert (result["outcome"], result["error_type"]) == ("error", "ImportError")
        assert "scipy" in result["message"]
    else:
        assert result["outcome"] == "ran"


def test_the_replacement_augmentation_layers_exist_and_run():
    import numpy as np

    namespace = {"keras": keras, "layers": keras.layers}
    call = next(c for c in legacy.OLD_CALLS if c["name"] == "augmenting ImageDataGenerator")
    augment = eval(call["new"], namespace)
    photos = np.random.default_rng(0).uniform(0, 255, (2, 32, 32, 3)).astype("float32")
    assert tuple(augment(photos, training=True).shape) == (2, 32, 32, 3)


def test_warnings_and_silent_changes_are_reported_not_raised(results):
    assert results["save .h5"]["outcome"] == "warning"
    assert "legacy" in results["save .h5"]["message"].lower()
    assert results["Conv2D(input_shape=...)"]["outcome"] == "warning"
    assert "input_shape" in results["Conv2D(input_shape=...)"]["message"]
    # Batches of 32: 63 of them per epoch; every epoch runs, each cut to one pass.
    steps = results["steps_per_epoch=100, batch 32"]
    assert steps["outcome"] == "warning" and "ran out of data" in steps["message"]
    assert "2 epochs ran, 126 steps in all: 63 per epoch" in steps["message"]
    # A fresh Keras 3 session names the first convolution conv2d, so conv2d_1 is the second.
    renamed = results["get_layer('conv2d_1')"]
    assert renamed["outcome"] == "changed"
    assert "64 filters" in renamed["message"] and "'conv2d'" in renamed["message"]


def test_migration_table_is_data(results):
    table = legacy.migration_table(list(results.values()))
    assert len(table) == len(legacy.OLD_CALLS)
    assert all(set(row) == {"old", "now", "new", "why"} for row in table)
    lr_row = next(row for row in table if row["old"] == "optimizers.RMSprop(lr=1e-4)")
    assert lr_row["now"].startswith("ValueError: ")


def test_why_texts_say_what_keras_does_today():
    why = {call["name"]: call["why"] for call in legacy.OLD_CALLS}
    # steps_per_epoch cuts each epoch to one pass; it does not end training early.
    assert "every epoch still runs" in why["steps_per_epoch=100, batch 32"]
    assert "early" not in why["steps_per_epoch=100, batch 32"]
    assert "still saves and loads" in why["save .h5"]
    assert "tf.keras.preprocessing.image.ImageDataGenerator still exists" in why["ImageDataGenerator"]
    assert ".inputs works" in why["Model(model.input, ...)"]


def test_every_result_says_when_its_call_ran(results):
    from datetime import datetime

    for result in results.values():
        assert datetime.fromisoformat(result["ran_at"]).utcoffset().total_seconds() == 0


def test_kept_results_are_reused_until_a_version_or_the_module_changes(tmp_path, monkeypatch):
    """``live=False`` runs the calls once per versions and module text, then reads them."""
    from catdogkit import viewcache

    monkeypatch.setenv("CATDOGKIT_CACHE", str(tmp_path))
    monkeypatch.delenv(viewcache.VIEW_CACHE_ENV, raising=False)
    runs = []

    def run():
        runs.append(len(runs) + 1)
        return [{"name": "fit_generator", "outcome": "error", "ran_at": f"run {runs[-1]}"}]

    versions = {"keras": "3.0.0", "tensorflow": "2.16.1", "python": "3.11"}
    monkeypatch.setattr(legacy, "_run_old_calls", run)
    monkeypatch.setattr(legacy, "_versions", lambda: dict(versions))
    assert legacy.try_old_calls(live=False)[0]["ran_at"] == "run 1"
    assert legacy.try_old_calls(live=False)[0]["ran_at"] == "run 1"  # read, not run again
    assert runs == [1]
    versions["keras"] = "3.1.0"  # another Keras: its own results
    assert legacy.try_old_calls(live=False)[0]["ran_at"] == "run 2"
    assert legacy.try_old_calls(live=True)[0]["ran_at"] == "run 3"  # live always runs
    changed = tmp_path / "legacy.py"
    changed.write_text(legacy.Path(legacy.__file__).read_text(encoding="utf-8") + "\n# changed\n")
    monkeypatch.setattr(legacy, "__file__", str(changed))
    assert legacy.try_old_calls(live=False)[0]["ran_at"] == "run 4"  # the module changed
    monkeypatch.setenv(viewcache.VIEW_CACHE_ENV, "0")
    assert legacy.try_old_calls(live=False)[0]["ran_at"] == "run 5"  # cache off: live


def test_versions_are_the_installed_ones():
    import numpy as np
    import tensorflow as tf

    found = legacy._versions()
    assert (found["keras"], found["tensorflow"], found["numpy"]) == (
        keras.__version__, tf.__version__, np.__version__)
