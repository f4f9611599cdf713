"""catdogkit.visualize.basics: one convolution output by hand, output sizes, unit boxes."""
import keras
import numpy as np
import pytest

from catdogkit import models
from catdogkit.errors import CatDogKitError
from catdogkit.visualize import (
    conv_output_size, convolution_at, convolve, feature_maps, layer_input, receptive_field, unit_box)


def tiny(padding="valid"):
    keras.utils.set_random_seed(3)
    photo = keras.Input((9, 9, 3))
    x = keras.layers.Rescaling(1 / 255, name="rescale")(photo)
    x = keras.layers.Conv2D(4, 3, padding=padding, activation="relu", name="conv1",
                            bias_initializer="random_normal")(x)
    x = keras.layers.MaxPooling2D(2, name="pool1")(x)
    return keras.Model(photo, keras.layers.Dense(1)(keras.layers.Flatten()(x)))


@pytest.mark.parametrize("padding", ["valid", "same"])
def test_the_hand_made_sum_is_the_layers_own_output(padding):
    model = tiny(padding)
    photo = np.random.default_rng(0).uniform(0, 255, (9, 9, 3)).astype(np.float32)
    maps = feature_maps(model, photo, "conv1")
    for row, col, channel in [(0, 0, 0), (3, 4, 2), (maps.shape[0] - 1, maps.shape[1] - 1, 3)]:
        step = convolution_at(model, photo, "conv1", row, col, channel)
        assert step["patch"].shape == step["kernel"].shape == (3, 3, 3)
        assert np.isclose(step["total"], step["products"].sum())
        assert np.isclose(step["before"], step["total"] + step["bias"])
        assert np.isclose(step["after"], max(step["before"], 0.0))
        assert np.isclose(step["after"], maps[row, col, channel], atol=1e-5)
        assert np.isclose(step["actual"], maps[row, col, channel], atol=1e-6)


def test_the_patch_is_the_rescaled_photo():
    model = tiny()
    photo = np.arange(9 * 9 * 3, dtype=np.float32).reshape(9, 9, 3)
    step = convolution_at(model, photo, "conv1", 2, 5, 1)
    np.testing.assert_allclose(step["patch"], photo[2:5, 5:8] / 255, rtol=1e-6)
    np.testing.assert_allclose(layer_input(model, photo, "conv1"), photo / 255, rtol=1e-6)


def test_positions_outside_the_map_are_refused():
    with pytest.raises(CatDogKitError, match="7 x 7 positions"):
        convolution_at(tiny(), np.zeros((9, 9, 3)), "conv1", 7, 0, 0)


@pytest.mark.parametrize("size,kernel,padding,stride,expected", [
    (150, 3, "valid", 1, 148), (150, 3, "same", 1, 150), (150, 3, "valid", 2, 74),
    (150, 3, "same", 2, 75), (7, 3, "valid", 3, 2), (148, 2, "valid", 2, 74)])
def test_output_size(size, kernel, padding, stride, expected):
    assert conv_output_size(size, kernel, padding, stride) == expected
    image = np.ones((size, size, 1), np.float32)
    assert convolve(image, np.ones((kernel, kernel, 1)), padding, stride).shape == (expected,) * 2


def test_bad_sizes_say_what_is_wrong():
    with pytest.raises(CatDogKitError, match="padding"):
        conv_output_size(10, 3, "full")
    with pytest.raises(CatDogKitError, match="does not fit"):
        conv_output_size(2, 3)


def test_convolve_is_the_sliding_sum():
    image = np.arange(25, dtype=np.float32).reshape(5, 5, 1)
    out = convolve(image, np.ones((3, 3, 1)), "valid", 2)
    assert out.tolist() == [[image[:3, :3].sum(), image[:3, 2:5].sum()],
                            [image[2:5, :3].sum(), image[2:5, 2:5].sum()]]


def test_unit_boxes_of_the_class_network():
    model = models.build("original")
    assert unit_box(model, "conv4", 0, 0) == (0, 0, 38)
    assert unit_box(model, "conv4", 14, 2) == (14 * 8, 2 * 8, 38)
    assert unit_box(model, "conv4", 14, 14)[0] + 38 <= 150  # the last unit stays inside
    assert receptive_field(model, "conv2") == (8, 2)


def test_same_padding_boxes_start_outside_the_photo():
    assert unit_box(tiny("same"), "conv1", 0, 0) == (-1, -1, 3)
