"""Kernel weights and filter patterns by batched gradient ascent (catdogkit.visualize.filters)."""
import numpy as np
import pytest

import catdogkit.visualize.filters as filters_module
from catdogkit.errors import CatDogKitError
from catdogkit.visualize import (
    deprocess, filter_patterns, first_layer_patches, kernel_weights, plot_filter_patterns,
    plot_kernels)
from catdogkit_dev.tiny_models import augmented_conv, conv_stack


@pytest.fixture(scope="module")
def small_cnn():
    return conv_stack(input_size=24, filters=(8, 6), dense_units=None, pool_last=False, seed=3)


def test_kernels_and_rgb_patches(small_cnn):
    assert kernel_weights(small_cnn, "conv2").shape == (3, 3, 8, 6)
    patches = first_layer_patches(small_cnn)
    assert patches.shape == (8, 3, 3, 3)
    assert patches.min() == 0.0 and patches.max() == pytest.approx(1.0)
    with pytest.raises(CatDogKitError, match="only the first conv layer"):
        first_layer_patches(small_cnn, "conv2")
    with pytest.raises(CatDogKitError, match="convolution"):
        kernel_weights(small_cnn, "pool1")
    assert plot_kernels(patches).axes


def test_gradient_ascent_raises_every_filters_activation(small_cnn):
    _start, before = filter_patterns(small_cnn, "conv2", steps=0)
    patterns, after = filter_patterns(small_cnn, "conv2", steps=15)
    assert patterns.shape == (6, 24, 24, 3) and after.shape == (6,)
    live = before > 0
    assert live.sum() >= 3
    assert np.all(after[live] > before[live] * 1.5)
    assert np.all(after >= before)
    shown = deprocess(patterns)
    assert shown.min() >= 0 and shown.max() <= 1
    assert plot_filter_patterns(patterns).axes


def test_batched_equals_one_filter_at_a_time_and_is_seeded(small_cnn):
    batch, scores = filter_patterns(small_cnn, "conv2", [1, 4, 5], steps=5, seed=7)
    for i, f in enumerate([1, 4, 5]):
        alone, score = filter_patterns(small_cnn, "conv2", [f], steps=5, seed=7)
        np.testing.assert_allclose(alone[0], batch[i], rtol=1e-4, atol=1e-2)
        assert score[0] == pytest.approx(scores[i], rel=1e-3, abs=1e-5)
    again, _ = filter_patterns(small_cnn, "conv2", [1, 4, 5], steps=5, seed=7)
    np.testing.assert_array_equal(again, batch)
    other, _ = filter_patterns(small_cnn, "conv2", [1, 4, 5], steps=5, seed=8)
    assert not np.allclose(other, batch)


def test_batch_size_follows_the_canvas_on_a_cpu_and_stays_large_on_a_gpu(monkeypatch):
    batch_size = filters_module.ascent_batch_size
    assert batch_size(150, 150) == 8
    assert batch_size(64, 64) == 43
    assert batch_size(16, 16) == filters_module.GPU_BATCH
    assert batch_size(1000, 1000) == 1
    monkeypatch.setattr(filters_module.tf.config, "list_physical_devices",
                        lambda kind=None: ["GPU:0"] if kind == "GPU" else [])
    assert batch_size(150, 150) == filters_module.GPU_BATCH


def test_patterns_do_not_depend_on_the_batch_size(small_cnn):
    """Each filter climbs alone in its image, so any split into batches gives the same."""
    whole, scores = filter_patterns(small_cnn, "conv2", steps=3, batch_size=6)
    split, split_scores = filter_patterns(small_cnn, "conv2", steps=3, batch_size=4)
    np.testing.assert_allclose(split, whole, rtol=1e-4, atol=1e-2)
    np.testing.assert_allclose(split_scores, scores, rtol=1e-3, atol=1e-5)


def test_bad_filter_choices(small_cnn):
    with pytest.raises(CatDogKitError, match="filters 0..5"):
        filter_patterns(small_cnn, "conv2", [6], steps=1)
    with pytest.raises(CatDogKitError, match="feature maps"):
        filter_patterns(small_cnn, "prediction", steps=1)


def test_patterns_on_a_smaller_canvas(small_cnn):
    patterns, after = filter_patterns(small_cnn, "conv2", [0, 1], steps=10, size=16)
    _start, before = filter_patterns(small_cnn, "conv2", [0, 1], steps=0, size=16)
    assert patterns.shape == (2, 16, 16, 3) and np.all(after >= before)
    nested = augmented_conv(input_size=24, filters=2)
    assert filter_patterns(nested, "conv", steps=1)[0].shape == (2, 24, 24, 3)
    with pytest.raises(CatDogKitError, match="leave size unset"):
        filter_patterns(nested, "conv", steps=1, size=16)
