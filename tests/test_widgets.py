"""The explorers, headless: set values, click, and check the pictures and labels they produce.

Every test here also runs under ipywidgets 7.7.1 (Colab's version): dev.sh runs
``pytest -m widgets7`` a second time with that version first on the path.
"""
import datetime
import io
import os

import ipywidgets
import keras
import numpy as np
import pytest
from PIL import Image

from catdogkit.errors import CatDogKitError
from catdogkit.widgets import (
    IPYWIDGETS_MAJOR, DataBrowser, DenseExplorer, FeatureMapExplorer, FilterExplorer,
    GradCamExplorer, LayerExplorer, PhotoPicker, TrainingMonitor, uploaded_files)
from catdogkit_dev.tiny_models import conv_stack

pytestmark = [
    pytest.mark.widgets7,
    # ipywidgets 7.7 creates its comms through ipykernel's deprecated Comm class
    pytest.mark.filterwarnings("ignore:The `ipykernel.comm.Comm` class:DeprecationWarning"),
]


def test_the_expected_ipywidgets_version_is_the_one_in_use():
    expected = os.environ.get("CATDOGKIT_EXPECT_IPYWIDGETS")
    if expected:
        assert ipywidgets.__version__.startswith(expected), ipywidgets.__version__
    assert IPYWIDGETS_MAJOR == int(ipywidgets.__version__.split(".")[0])


def simulate_upload(upload, name, content):
    """What the browser does when a file is chosen, on ipywidgets 7 or 8."""
    if IPYWIDGETS_MAJOR >= 8:
        upload.value = ({"name": name, "type": "image/png", "size": len(content),
                         "content": memoryview(content),
                         "last_modified": datetime.datetime.now(datetime.timezone.utc)},)
    else:  # 7.x: the front end sends metadata and data, then bumps the counter
        upload.metadata = [{"name": name, "type": "image/png", "size": len(content),
                            "lastModified": 0}]
        upload.data = [content]
        upload._counter += 1


def png_bytes(colour, size=(40, 30)):
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format="PNG")
    return buffer.getvalue()


def decoded(image_widget):
    assert image_widget.value, "no picture was produced"
    return np.asarray(Image.open(io.BytesIO(image_widget.value)).convert("RGB"))


@pytest.fixture(scope="module")
def model():
    return conv_stack(input_size=32, filters=(8, 20), dense_units=12, seed=5)


@pytest.fixture
def photos():
    rng = np.random.default_rng(0)
    return {"cat 1": rng.uniform(0, 255, (32, 32, 3)).astype("float32"),
            "dog 1": rng.uniform(0, 255, (32, 32, 3)).astype("float32") ** 0.9}


def test_upload_adapter_reads_both_formats():
    upload = ipywidgets.FileUpload()
    simulate_upload(upload, "a.png", b"abc")
    assert uploaded_files(upload) == [("a.png", b"abc")]


def test_photo_picker_choice_and_uploads(photos):
    picker = PhotoPicker(photos, image_size=32, max_bytes=10_000)
    changes = []
    picker.on_change(lambda: changes.append(picker.label))
    first = picker.preview.value
    picker.choice.value = "dog 1"
    assert changes == ["dog 1"] and picker.preview.value != first
    np.testing.assert_array_equal(picker.value, photos["dog 1"])

    simulate_upload(picker.upload, "mine.png", png_bytes((255, 0, 0)))
    assert picker.label == "your photo: mine.png" and "mine.png" in picker.message.value
    assert picker.value.shape == (32, 32, 3) and picker.value[0, 0, 0] == 255
    assert uploaded_files(picker.upload) == []  # cleared: the same file can come again

    for name, content, words in (("empty.png", b"", "empty"),
                                 ("notes.txt", b"just some text", "not a photo"),
                                 ("huge.png", b"\x89PNG" + bytes(20_000), "too big")):
        simulate_upload(picker.upload, name, content)
        assert words in picker.message.value, picker.message.value
        assert picker.label == "your photo: mine.png"  # the last good photo stays chosen
    assert "Traceback" not in picker.message.value


def test_feature_map_explorer_redraws_from_cache(model, photos):
    explorer = FeatureMapExplorer(model, PhotoPicker(photos, image_size=32))
    assert explorer.layer.value == "conv1" and explorer.channels.value == (0, 7)
    assert "catdogkit-explorer" in explorer.widget._dom_classes
    assert explorer.cache.misses == 1
    before, info = explorer.image.value, explorer.info.value
    explorer.channels.value = (2, 3)
    assert explorer.image.value != before and "showing 2-3" in explorer.info.value
    explorer.layer.value = "conv2"
    assert explorer.channels.max == 19 and explorer.channels.value == (0, 15)
    assert "conv2: 13x13 maps, 20 channels" in explorer.info.value
    explorer.channels.value = (0, 19)
    assert explorer.cache.misses == 1  # sliders and layers never re-ran the network
    explorer.picker.choice.value = "dog 1"
    assert explorer.cache.misses == 2 and explorer.info.value.startswith("dog 1")
    assert info != explorer.info.value
    assert decoded(explorer.image).ndim == 3
    with pytest.raises(CatDogKitError, match="valid|Choose"):
        FeatureMapExplorer(model, PhotoPicker(photos), layers=["dense"])


def test_errors_in_callbacks_are_shown_in_the_widget(model, photos, monkeypatch):
    explorer = FeatureMapExplorer(model, PhotoPicker(photos, image_size=32))

    def broken(_photo):
        raise RuntimeError("the cache fell over")
    monkeypatch.setattr(explorer.cache, "get", broken)
    explorer.channels.value = (1, 2)
    assert "RuntimeError: the cache fell over" in explorer.message.value
    monkeypatch.undo()
    explorer.channels.value = (1, 3)
    assert explorer.message.value == ""  # the next good change clears it


def test_grad_cam_explorer(model, photos):
    explorer = GradCamExplorer(model, PhotoPicker(photos, image_size=32))
    assert explorer.layer.value == "conv2"
    assert "P(dog) = " in explorer.info.value
    dog = explorer.image.value
    explorer.class_index.value = 0
    explorer.alpha.value = 0.9
    assert explorer.image.value != dog
    explorer.layer.value = "conv1"
    assert len(explorer._heatmaps) == 3 and explorer.message.value == ""


def test_grad_cam_explorers_share_one_picker_shown_once(model, photos):
    picker = PhotoPicker(photos, image_size=32)
    first = GradCamExplorer(model, picker)
    second = GradCamExplorer(model, picker, show_picker=False)
    assert picker.widget in first.widget.children and picker.widget not in second.widget.children
    before = first.image.value, second.image.value
    picker.choice.value = picker.choice.options[-1]
    assert first.image.value != before[0] and second.image.value != before[1]
    assert first.info.value == second.info.value  # the same network, the same photo


def test_filter_explorer(model):
    explorer = FilterExplorer(model, steps=3, max_filters=4)
    assert explorer.filters.value == (0, 3) and explorer.weights_image.value
    assert explorer.image.value == b""
    explorer.compute.click()
    patterns = explorer.image.value
    assert patterns and "mean activation reached" in explorer.info.value
    explorer.filters.value = (4, 7)
    explorer.compute.click()
    assert explorer.image.value != patterns and len(explorer._patterns) == 2
    explorer.filters.value = (0, 3)
    explorer.compute.click()
    assert explorer.image.value == patterns and len(explorer._patterns) == 2  # reused
    explorer.layer.value = "conv2"
    assert explorer.filters.max == 19 and explorer.image.value == b""
    assert "conv2: 20 filters of 3x3x8" in explorer.info.value


def test_layer_explorer(model, photos):
    explorer = LayerExplorer(model, PhotoPicker(photos, image_size=32))
    assert "conv1" in explorer.table.value and "30 x 30 x 8" in explorer.table.value
    assert "pool2" in explorer.table.value
    before = explorer.image.value
    explorer.channels.value = 2
    assert explorer.image.value != before and explorer.cache.misses == 1


def test_dense_explorer(model):
    rng = np.random.default_rng(1)
    photos = rng.uniform(0, 255, (12, 32, 32, 3)).astype("float32")
    explorer = DenseExplorer(model, photos, [0, 1] * 6)
    assert explorer.activations.shape == (12, 12) and explorer.pca_image.value
    assert "global pooling" in explorer.info.value
    before = explorer.image.value
    explorer.order.value = "difference"
    diff = explorer.means[1] - explorer.means[0]
    assert diff[explorer.shown_units()[0]] == diff.max() and explorer.image.value != before
    explorer.units.value = (0, 3)
    assert len(explorer.shown_units()) == 4


def test_data_browser(tiny_sample):
    browser = DataBrowser(tiny_sample, image_size=32, per_page=4)
    assert browser.info.value.startswith("train/cats: photos 1-4 of 40")
    first = browser.image.value
    browser.page.value = 1
    assert browser.info.value.startswith("train/cats: photos 5-8") and browser.image.value != first
    browser.class_name.value = "dogs"
    assert browser.page.value == 0 and browser.info.value.startswith("train/dogs: photos 1-4")


def test_training_monitor_shows_progress_and_curves(model):
    monitor = TrainingMonitor(min_interval=0)
    clone = keras.models.clone_model(model)
    clone.compile("adam", "binary_crossentropy", metrics=["accuracy"])
    x = np.random.default_rng(2).uniform(0, 255, (16, 32, 32, 3)).astype("float32")
    y = np.array([0, 1] * 8, "float32")
    clone.fit(x, y, epochs=2, batch_size=8, validation_data=(x, y), verbose=0,
              callbacks=[monitor])
    assert monitor.progress.max == 4 and monitor.progress.value == 4
    assert monitor.progress.bar_style == "success"
    assert monitor.label.value.startswith("epoch 2/2: ") and "val_loss" in monitor.label.value
    assert len(monitor.history["loss"]) == 2 and decoded(monitor.image).ndim == 3
    assert monitor.message.value == ""


def test_training_monitor_error_is_shown_and_training_goes_on(model, monkeypatch):
    import catdogkit.widgets.monitor as monitor_module

    def broken(history, ax=None):
        raise ValueError("cannot draw")
    monkeypatch.setattr(monitor_module, "plot_training_curves", broken)
    monitor = TrainingMonitor()
    clone = keras.models.clone_model(model)
    clone.compile("adam", "binary_crossentropy")
    x = np.zeros((4, 32, 32, 3), "float32")
    history = clone.fit(x, np.zeros(4), epochs=2, verbose=0, callbacks=[monitor])
    assert len(history.history["loss"]) == 2
    assert "ValueError: cannot draw" in monitor.message.value
