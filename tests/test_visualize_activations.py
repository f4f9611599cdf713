"""Feature maps, per-layer statistics and bad input (catdogkit.visualize.activations/layers)."""
import keras
import numpy as np
import pytest

from catdogkit.errors import CatDogKitError
from catdogkit_dev.tiny_models import split_relu_cnn
from catdogkit.visualize import (
    all_feature_maps, as_batch, feature_maps, layer_names, layer_statistics, layer_table)


def manual_conv(photo, kernel, bias):
    """Valid cross-correlation in plain NumPy, as Conv2D computes it."""
    kh, kw, _cin, cout = kernel.shape
    h, w = photo.shape[0] - kh + 1, photo.shape[1] - kw + 1
    out = np.zeros((h, w, cout))
    for i in range(h):
        for j in range(w):
            out[i, j] = np.tensordot(photo[i:i + kh, j:j + kw], kernel, axes=3) + bias
    return out


@pytest.fixture(scope="module")
def hand_set():
    model = split_relu_cnn(input_size=10, filters=2)
    rng = np.random.default_rng(1)
    kernel = rng.normal(size=(3, 3, 3, 2)).astype("float32")
    bias = np.array([0.5, -1.0], "float32")
    model.get_layer("conv").set_weights([kernel, bias])
    return model, kernel, bias


def test_feature_map_equals_manual_convolution(hand_set):
    model, kernel, bias = hand_set
    photo = np.random.default_rng(2).uniform(0, 255, (10, 10, 3)).astype("float32")
    maps = feature_maps(model, photo, "conv")
    assert maps.shape == (8, 8, 2)
    np.testing.assert_allclose(maps, manual_conv(photo, kernel, bias), rtol=1e-4, atol=1e-2)
    # the ReLU and pooling maps follow from the same numbers
    relu = feature_maps(model, photo, "relu")
    np.testing.assert_allclose(relu, np.maximum(maps, 0), rtol=1e-5, atol=1e-4)
    pool = feature_maps(model, photo, "pool")
    np.testing.assert_allclose(pool, relu.reshape(4, 2, 4, 2, 2).max(axis=(1, 3)), rtol=1e-5)


def test_all_feature_maps_and_statistics(hand_set):
    model, kernel, bias = hand_set
    photo = np.full((10, 10, 3), 100.0, "float32")
    maps = all_feature_maps(model, photo)
    assert list(maps) == ["conv"]
    assert list(all_feature_maps(model, photo, ["conv", "pool"])) == ["conv", "pool"]
    stats = layer_statistics(model, photo)
    assert [s["name"] for s in stats] == ["conv", "relu", "pool", "flatten", "dense", "prediction"]
    assert [s["shape"] for s in stats[:3]] == [(8, 8, 2), (8, 8, 2), (4, 4, 2)]
    # a constant photo gives a constant map per channel: exactly one channel is negative
    # (kernel sums have opposite signs for this seed) or none, so zeros are whole channels
    conv = maps["conv"]
    expected_zeros = np.mean(np.maximum(conv, 0) == 0)
    assert stats[1]["zero_fraction"] == pytest.approx(expected_zeros)
    assert stats[1]["mean"] == pytest.approx(float(np.maximum(conv, 0).mean()), rel=1e-5)


def test_unknown_layer_lists_valid_names(hand_set):
    model, _k, _b = hand_set
    with pytest.raises(CatDogKitError, match="no layer named 'conv9'.*conv, relu, pool"):
        feature_maps(model, np.zeros((10, 10, 3)), "conv9")


def test_dense_layer_where_feature_maps_are_needed(hand_set):
    model, _k, _b = hand_set
    with pytest.raises(CatDogKitError, match="'dense'.*feature maps.*conv, relu, pool"):
        feature_maps(model, np.zeros((10, 10, 3)), "dense")


def test_photos_are_resized_and_converted(hand_set):
    model, _k, _b = hand_set
    assert as_batch(model, np.zeros((20, 30, 3), "uint8")).shape == (1, 10, 10, 3)
    grey = as_batch(model, np.full((10, 10), 7.0))
    assert grey.shape == (1, 10, 10, 3) and np.all(grey == 7.0)
    rgba = np.zeros((10, 10, 4))
    rgba[..., 3] = 255
    assert as_batch(model, rgba).shape == (1, 10, 10, 3) and as_batch(model, rgba).max() == 0
    assert feature_maps(model, np.zeros((32, 32, 3)), "conv").shape == (8, 8, 2)
    for bad in (np.zeros((10, 10, 2)), np.zeros(5), np.array(["a"])):
        with pytest.raises(CatDogKitError, match="photo"):
            as_batch(model, bad)


def test_sequential_models_built_or_not():
    def stack():
        return [keras.layers.Conv2D(3, 3, name="c"), keras.layers.Flatten(name="f"),
                keras.layers.Dense(1, activation="sigmoid", name="out")]
    photo = np.ones((12, 12, 3), "float32")
    unbuilt = keras.Sequential(stack())
    with pytest.raises(CatDogKitError, match="not been built"):
        feature_maps(unbuilt, photo, "c")
    built = keras.Sequential(stack())
    built.build((None, 12, 12, 3))  # never called: model.inputs alone would fail
    assert feature_maps(built, photo, "c").shape == (10, 10, 3)
    with_input = keras.Sequential([keras.Input((12, 12, 3)), *stack()])
    np.testing.assert_allclose(feature_maps(with_input, photo, "c"),
                               with_input.layers[0](photo[None]).numpy()[0], rtol=1e-5)
    assert layer_names(with_input, "dense") == ["out"]
    assert [kind for _n, kind, _s in layer_table(with_input)] == ["conv", "vector", "dense"]
