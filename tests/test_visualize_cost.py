"""catdogkit.visualize.cost: parameters vs multiply-adds, speed, what pooling changes."""
import keras
import numpy as np
import pytest

from catdogkit import models
from catdogkit.errors import CatDogKitError
from catdogkit.visualize import (
    class_activation_map, layer_costs, photos_per_second, relative_change, shifted,
    without_pooling)


def test_the_class_network_costs():
    model = models.build("original")
    rows = {row["layer"]: row for row in layer_costs(model)}
    assert rows["conv1"]["multiply_adds"] == 148 * 148 * 3 * 3 * 3 * 32
    assert rows["conv1"]["parameters"] == 3 * 3 * 3 * 32 + 32
    assert rows["dense"]["multiply_adds"] == 6272 * 512 and rows["dense"]["output"] == (512,)
    assert sum(row["parameters"] for row in rows.values()) == model.count_params() == 3_453_121
    assert "pool1" not in rows  # no weights, no multiply-adds


def test_a_convolution_does_more_work_than_it_stores():
    model = models.build("original")
    conv2 = next(row for row in layer_costs(model) if row["layer"] == "conv2")
    assert conv2["multiply_adds"] > 1000 * conv2["parameters"]


def test_photos_per_second_is_positive_and_checks_repeats():
    photo = keras.Input((8, 8, 3))
    model = keras.Model(photo, keras.layers.Dense(1)(keras.layers.Flatten()(photo)))
    assert photos_per_second(model, np.zeros((4, 8, 8, 3)), repeats=1) > 0
    with pytest.raises(CatDogKitError, match="repeats"):
        photos_per_second(model, np.zeros((4, 8, 8, 3)), repeats=0)


def test_without_pooling_keeps_the_maps_large():
    model = models.build("original")
    maps = without_pooling(model, np.zeros((150, 150, 3), np.float32))
    assert {name: m.shape for name, m in maps.items()} == {
        "conv1": (148, 148, 32), "conv2": (146, 146, 64), "conv3": (144, 144, 128),
        "conv4": (142, 142, 128)}


def test_shifted_moves_right_and_repeats_the_edge():
    photo = np.arange(12, dtype=np.float32).reshape(2, 2, 3)
    moved = shifted(photo, 1)
    np.testing.assert_array_equal(moved[:, 1], photo[:, 0])
    np.testing.assert_array_equal(moved[:, 0], photo[:, 0])
    np.testing.assert_array_equal(shifted(photo, 0), photo)


def test_relative_change():
    assert relative_change([1.0, 1.0], [1.0, 1.0]) == 0
    assert relative_change([2.0, 2.0], [1.0, 3.0]) == 0.5
    assert relative_change([0.0], [5.0]) == 0


def test_the_class_activation_map_averages_to_the_logit():
    keras.utils.set_random_seed(2)
    photo = keras.Input((12, 12, 3))
    maps = keras.layers.Conv2D(4, 3, activation="relu", name="last")(photo)
    pooled = keras.layers.GlobalAveragePooling2D()(maps)
    model = keras.Model(photo, keras.layers.Dense(1, activation="sigmoid", name="out",
                                                  bias_initializer="ones")(pooled))
    image = np.random.default_rng(0).uniform(0, 1, (12, 12, 3)).astype(np.float32)
    cam, from_cam, logit = class_activation_map(model, image, "last", "out")
    assert cam.shape == (10, 10)
    assert np.isclose(from_cam, logit, atol=1e-4) and not np.isclose(logit, 0)
