"""The basics explorers: one convolution output, padding and stride, receptive field."""
import keras
import numpy as np
import pytest

from catdogkit.widgets import ConvolutionStepExplorer, PaddingStrideExplorer, ReceptiveFieldExplorer

pytestmark = [
    pytest.mark.widgets7,  # dev.sh runs these again under ipywidgets 7.7 (Colab's version)
    pytest.mark.filterwarnings("ignore:The `ipykernel.comm.Comm` class:DeprecationWarning"),
]


@pytest.fixture(scope="module")
def model():
    keras.utils.set_random_seed(1)
    photo = keras.Input((20, 20, 3))
    x = keras.layers.Rescaling(1 / 255, name="rescale")(photo)
    x = keras.layers.Conv2D(4, 3, activation="relu", name="conv1")(x)
    x = keras.layers.MaxPooling2D(2, name="pool1")(x)
    x = keras.layers.Conv2D(4, 3, activation="relu", name="conv2")(x)
    return keras.Model(photo, keras.layers.Dense(1)(keras.layers.Flatten()(x)))


@pytest.fixture(scope="module")
def photo():
    return np.random.default_rng(0).uniform(0, 255, (20, 20, 3)).astype(np.float32)


def test_convolution_step_shows_the_sum_and_the_layers_value(model, photo):
    explorer = ConvolutionStepExplorer(model, photo)
    assert explorer.row.max == explorer.col.max == 17 and explorer.filter.max == 3
    explorer.row.value, explorer.filter.value = 3, 2
    assert explorer.message.value == ""
    assert np.isclose(explorer.result["after"], explorer.result["actual"], atol=1e-5)
    assert f"{explorer.result['actual']:.4f}" in explorer.steps.value
    assert "bias" in explorer.steps.value and explorer.image.value[:4] == b"\x89PNG"
    assert "catdogkit-convolution-step" in explorer.widget._dom_classes


def test_padding_and_stride_change_the_output_size(model, photo):
    explorer = PaddingStrideExplorer(model, photo)
    assert explorer.map.shape == (18, 18) and "output 18 x 18" in explorer.info.value
    explorer.padding.value = "same"
    explorer.stride.value = 3
    assert explorer.map.shape == (7, 7) and "output 7 x 7" in explorer.info.value
    assert explorer.message.value == ""


def test_receptive_field_follows_the_layer_and_the_unit(model, photo):
    explorer = ReceptiveFieldExplorer(model, photo)
    assert list(explorer.layer.options) == ["conv1", "pool1", "conv2"]
    assert "3 x 3 px" in explorer.info.value
    explorer.layer.value = "conv2"
    assert explorer.row.max == 6 and "8 x 8 px" in explorer.info.value
    explorer.row.value, explorer.col.value = 1, 2
    assert explorer.box == (2, 4, 8)
    assert explorer.message.value == "" and explorer.image.value[:4] == b"\x89PNG"
