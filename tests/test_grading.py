"""catdogkit.grading: the helpers the exercises' test cells call."""
import warnings

import numpy as np
import pytest
from PIL import Image, UnidentifiedImageError

from catdogkit import grading


def test_describe_names_type_and_shape():
    assert grading.describe(np.zeros((2, 3), "float32")) == "ndarray of shape (2, 3) and dtype float32"
    assert grading.describe(None) == "NoneType None"
    assert grading.describe("x" * 200).endswith("...")


def test_expect_array_and_close_explain_what_is_wrong():
    assert grading.expect_array(np.zeros((2, 3)), (2, None)).shape == (2, 3)
    with pytest.raises(AssertionError, match=r"should have shape \(2, 'any', 4\), got \(2, 3\)"):
        grading.expect_array(np.zeros((2, 3)), (2, None, 4))
    with pytest.raises(AssertionError, match="should be a NumPy array"):
        grading.expect_array([1, 2], name="x")
    assert grading.close([1.0, 2.0], np.array([1.0, 2.0 + 1e-9]))
    with pytest.raises(AssertionError, match=r"the loss: expected 2, got 3"):
        grading.close(3.0, 2.0, name="the loss")


def test_photo_folder_has_the_documented_faults(tmp_path):
    root = grading.photo_folder(tmp_path / "photos")
    counts = {split.name: {c.name: sum(1 for f in c.iterdir() if f.suffix in (".jpg", ".png")
                                       and not f.name.startswith("."))
                           for c in split.iterdir()} for split in root.iterdir()}
    assert counts == grading.PHOTO_FOLDER_COUNTS
    assert (root / "train/cats/cat.3.jpg").stat().st_size == 0
    with pytest.raises(UnidentifiedImageError):
        Image.open(root / "train/dogs/dog.4.jpg")
    with Image.open(root / "train/dogs/dog.3.jpg") as image:  # identified, pixels cut off
        with pytest.raises(OSError):
            image.load()
    with Image.open(root / "train/dogs/dog.2.png") as image:
        assert image.format == "PNG"
    grading.photo_folder(tmp_path / "photos")  # a second call replaces the files


def test_sample_photo_and_batch():
    photo = grading.sample_photo("dogs", image_size=40, seed=1)
    assert photo.shape == (40, 40, 3) and photo.dtype == np.float32 and photo.max() <= 255
    assert np.array_equal(photo, grading.sample_photo("dogs", image_size=40, seed=1))
    photos, labels = grading.sample_batch(4, image_size=24)
    assert photos.shape == (4, 24, 24, 3) and labels.tolist() == [0, 1, 0, 1]


def test_tiny_cnn_is_named_like_the_class_network_and_repeatable():
    first, second = grading.tiny_cnn(), grading.tiny_cnn()
    names = [layer.name for layer in first.layers]
    assert names == ["photo", "rescale", "conv1", "pool1", "conv2", "pool2", "flatten", "dense", "prediction"]
    photos, _ = grading.sample_batch(2, image_size=32)
    out = grading.call(first, photos)
    assert out.shape == (2, 1)
    assert np.allclose(out, grading.call(second, photos))


def test_call_returns_lists_and_hides_the_input_structure_warning():
    import keras
    model = grading.tiny_cnn()
    extractor = keras.Model(model.inputs, [model.get_layer("conv1").output, model.get_layer("pool2").output])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        outputs = grading.call(extractor, np.zeros((1, 32, 32, 3)))
    assert [o.shape for o in outputs] == [(1, 30, 30, 8), (1, 6, 6, 16)]


def test_quiet_keras_warnings_hides_only_the_harmless_ones():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        grading.quiet_keras_warnings()
        warnings.warn("`shuffle=True` was passed, but will be ignored since the data `x` was "
                      "provided as a tf.data.Dataset.", UserWarning)
        warnings.warn("The structure of `inputs` doesn't match the expected structure.", UserWarning)
        warnings.warn("something else", UserWarning)
    assert [str(w.message) for w in caught] == ["something else"]


def _delegating_answer():
    import catdogkit as cdk

    def feature_maps(model, photo, layer_name):
        return cdk.visualize.feature_maps(model, photo, layer_name)
    return feature_maps


def test_on_your_own_refuses_an_answer_that_hands_the_work_to_the_kit():
    import catdogkit.visualize as visualize
    model, photo = grading.tiny_cnn(), grading.sample_photo("cats", image_size=32)
    with pytest.raises(grading.KitSwitchedOff, match=r"feature_maps called the kit's catdogkit\.visualize\.\w+\."
                                                     r"feature_maps, which is switched off"):
        grading.on_your_own(_delegating_answer())(model, photo, "conv1")
    assert visualize.feature_maps(model, photo, "conv1").shape == (30, 30, 8), "the kit is back on afterwards"


def test_kit_switched_off_covers_names_imported_into_the_answers_namespace():
    from catdogkit.visualize import feature_maps as imported
    namespace = {"imported": imported}
    exec("def answer(model, photo):\n    return imported(model, photo, 'conv1')\n", namespace)
    with pytest.raises(grading.KitSwitchedOff):
        grading.on_your_own(namespace["answer"])(grading.tiny_cnn(), grading.sample_photo("dogs", image_size=32))
    assert namespace["imported"] is imported


def test_on_your_own_keeps_answers_that_do_their_own_work_and_the_grading_helpers():
    def shape_of(values):
        return grading.describe(np.asarray(values))
    checked = grading.on_your_own(shape_of)
    assert checked([[1.0, 2.0]]) == "ndarray of shape (1, 2) and dtype float64"
    assert grading.on_your_own(checked) is checked, "wrapping twice changes nothing"
    assert checked.__name__ == "shape_of"


def test_photo_folder_breaks_its_files_as_the_kit_does(tmp_path):
    from catdogkit.data.broken import write_fault
    from catdogkit.data.checks import check_photos

    root = grading.photo_folder(tmp_path / "photos")
    text = write_fault(tmp_path / "text.jpg", "text", None)
    assert (root / "train/dogs/dog.4.jpg").read_bytes() == text.read_bytes()
    hidden = write_fault(tmp_path / ".DS_Store", "hidden", None)
    assert (root / "validation/cats/.DS_Store").read_bytes() == hidden.read_bytes()
    unusable = {str(path.relative_to(root)): reason for path, reason in check_photos(root).unusable}
    assert sorted(unusable) == sorted(grading.PHOTO_FOLDER_BROKEN), "the kit's check finds the same files"
    assert unusable["train/dogs/dog.3.jpg"].startswith("truncated or corrupt image data")


@pytest.fixture
def default_language(monkeypatch):
    """No language chosen by anyone (English), and none left behind."""
    from catdogkit import i18n

    for name in (i18n.LANG_ENV, "JPY_SESSION_NAME"):
        monkeypatch.delenv(name, raising=False)
    i18n.set_language(None)
    yield i18n
    i18n.set_language(None)


def test_grading_messages_are_english_by_default_and_spanish_in_spanish(default_language):
    model, photo = grading.tiny_cnn(), grading.sample_photo("cats", image_size=32)
    with pytest.raises(AssertionError, match=r"^the result should have shape \(3,\), got \(2,\)$"):
        grading.expect_array(np.zeros(2), (3,))
    default_language.set_language("es")
    with pytest.raises(AssertionError, match=r"^el resultado debería tener la forma \(3,\), pero tiene \(2,\)$"):
        grading.expect_array(np.zeros(2), (3,))
    with pytest.raises(AssertionError, match=r"^la pérdida: se esperaba 2, pero es 3$"):
        grading.close(3.0, 2.0, name="la pérdida")
    assert grading.describe(np.zeros((2, 3), "float32")) == "ndarray con forma (2, 3) y dtype float32"
    with pytest.raises(grading.KitSwitchedOff, match=r"^feature_maps ha llamado a catdogkit\.visualize\.\w+\."
                                                     r"feature_maps, del kit, que está desactivado"):
        grading.on_your_own(_delegating_answer())(model, photo, "conv1")


def _spanish_twins():
    from catdogkit_dev import translate
    return [f"{name}{translate.SUFFIX}" for name in translate.english_assignments()]


@pytest.mark.parametrize("twin", _spanish_twins())
def test_a_spanish_exercise_gets_spanish_grading_messages(twin, default_language):
    """What a Spanish exercise's set-up cell runs (in Colab, under nbgrader) makes the helpers speak Spanish."""
    import json
    from pathlib import Path

    from IPython.core.inputtransformer2 import TransformerManager

    notebook = Path(__file__).resolve().parents[1] / "exercises" / twin / f"{twin}.ipynb"
    setup = next(cell for cell in json.loads(notebook.read_text(encoding="utf-8"))["cells"]
                 if cell["metadata"].get("nbgrader", {}).get("grade_id") == "setup")
    with warnings.catch_warnings():  # the cell quiets two Keras warnings for the whole kernel
        exec(TransformerManager().transform_cell("".join(setup["source"])), {})
    with pytest.raises(AssertionError, match="debería ser un array de NumPy"):
        grading.expect_array([1, 2], name="tu respuesta")
