"""Kernel weights and filter patterns by regularised, coarse-to-fine gradient ascent
(catdogkit.visualize.filters)."""
import keras
import numpy as np
import pytest

import catdogkit.visualize.filters as filters_module
from catdogkit.errors import CatDogKitError
from catdogkit.visualize import (
    activation_model, deprocess, filter_patterns, first_layer_patches, kernel_weights,
    plot_filter_patterns, plot_kernels)
from catdogkit.visualize.filters import (
    STEPS, octave_sizes, pattern_layer, scaled_steps, signed_kernels)
from catdogkit_dev.tiny_models import augmented_conv, conv_stack


@pytest.fixture(autouse=True)
def no_view_cache(monkeypatch):
    """Every call computes (a kept result would make two calls agree whatever they do)."""
    monkeypatch.setenv("CATDOGKIT_VIEW_CACHE", "0")


@pytest.fixture(scope="module")
def small_cnn():
    return conv_stack(input_size=24, filters=(8, 6), dense_units=None, pool_last=False, seed=3)


@pytest.fixture(scope="module")
def normalised_cnn():
    """A linear conv whose batch normalization flips the sign of filter 0 (gamma -1), then ReLU."""
    photo = keras.Input((24, 24, 3), name="photo")
    x = keras.layers.Rescaling(1 / 255, name="rescale")(photo)
    x = keras.layers.Conv2D(3, 3, use_bias=False, name="conv",
                            kernel_initializer=keras.initializers.GlorotUniform(5))(x)
    norm = keras.layers.BatchNormalization(name="bn")
    x = keras.layers.Activation("relu", name="relu")(norm(x))
    x = keras.layers.GlobalAveragePooling2D(name="features")(x)
    model = keras.Model(photo, keras.layers.Dense(1, name="prediction")(x))
    norm.set_weights([np.array([-1.0, 1.0, 2.0], "float32"), np.zeros(3, "float32"),
                      np.full(3, 0.1, "float32"), np.ones(3, "float32")])
    return model


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


def test_deeper_kernels_keep_every_weight_and_its_sign(small_cnn):
    rows = signed_kernels(small_cnn, "conv2", [1, 4])
    kernels = kernel_weights(small_cnn, "conv2")
    assert rows.shape == (2, 8, 3, 3)  # per filter: one 3x3 kernel per input map
    assert np.abs(rows).max(axis=(1, 2, 3)) == pytest.approx([1.0, 1.0])
    scale = np.abs(kernels[..., 4]).max()
    np.testing.assert_allclose(rows[1, 5], kernels[:, :, 5, 4] / scale, rtol=1e-6)
    with pytest.raises(CatDogKitError, match="filters 0..5"):
        signed_kernels(small_cnn, "conv2", [6])


def test_gradient_ascent_raises_every_filters_activation(small_cnn):
    _start, before = filter_patterns(small_cnn, "conv2", steps=0)
    patterns, after = filter_patterns(small_cnn, "conv2", steps=15)
    assert patterns.shape == (6, 24, 24, 3) and after.shape == (6,)
    live = before > 0
    assert live.sum() >= 3
    assert np.all(after[live] > before[live] * 1.5)
    assert np.all(after >= before)
    assert patterns.min() >= 0 and patterns.max() <= 255  # a picture a camera could take
    shown = deprocess(patterns)
    assert shown.min() >= 0 and shown.max() <= 1
    assert plot_filter_patterns(patterns).axes


def test_regularised_octave_ascent_raises_the_activation_of_every_filter(small_cnn):
    _start, before = filter_patterns(small_cnn, "conv2", steps=0)
    patterns, after = filter_patterns(small_cnn, "conv2")  # the defaults: octaves, jitter, blur
    assert patterns.shape == (6, 24, 24, 3)
    assert np.all(after > before) and np.all(after > 0)
    plain, _ = filter_patterns(small_cnn, "conv2", jitter=0, blur=False)
    assert not np.allclose(plain, patterns)  # the regularisers do change the climb


def test_the_measured_output_is_what_the_next_layer_sees(normalised_cnn):
    """A conv followed by batch normalization and ReLU is measured after them: the raw
    conv output of filter 0 is turned upside down by its negative scale."""
    assert pattern_layer(normalised_cnn, "conv") == "relu"
    patterns, scores = filter_patterns(normalised_cnn, "conv", steps=(4, 2))
    relu = activation_model(normalised_cnn, ["relu"])(patterns).numpy()
    np.testing.assert_allclose(scores, [relu[i, ..., i].mean() for i in range(3)], rtol=1e-4)
    start, before = filter_patterns(normalised_cnn, "conv", steps=0)
    assert np.all(scores > before) and np.all(scores > 0)
    conv = activation_model(normalised_cnn, ["conv"])
    # Filter 0 climbs by making its raw convolution output smaller.
    assert conv(patterns).numpy()[0, ..., 0].mean() < conv(start).numpy()[0, ..., 0].mean()


def test_batched_equals_one_filter_at_a_time_and_is_seeded(small_cnn):
    batch, scores = filter_patterns(small_cnn, "conv2", [1, 4, 5], steps=(3, 2, 1), seed=7)
    for i, f in enumerate([1, 4, 5]):
        alone, score = filter_patterns(small_cnn, "conv2", [f], steps=(3, 2, 1), seed=7)
        np.testing.assert_allclose(alone[0], batch[i], rtol=1e-4, atol=1e-2)
        assert score[0] == pytest.approx(scores[i], rel=1e-3, abs=1e-5)
    again, _ = filter_patterns(small_cnn, "conv2", [1, 4, 5], steps=(3, 2, 1), seed=7)
    np.testing.assert_array_equal(again, batch)
    other, _ = filter_patterns(small_cnn, "conv2", [1, 4, 5], steps=(3, 2, 1), seed=8)
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
    """Each filter climbs alone in its image (jitter shifts are the same for all), so any
    split into batches gives the same."""
    whole, scores = filter_patterns(small_cnn, "conv2", batch_size=6)
    split, split_scores = filter_patterns(small_cnn, "conv2", batch_size=4)
    np.testing.assert_allclose(split, whole, rtol=1e-4, atol=1e-2)
    np.testing.assert_allclose(split_scores, scores, rtol=1e-3, atol=1e-5)


def test_the_octave_schedule_ends_at_the_requested_canvas(small_cnn):
    assert octave_sizes(150, len(STEPS)) == [49, 86, 150]
    assert octave_sizes(150, 1) == [150]
    assert scaled_steps(STEPS[0]) == STEPS and scaled_steps(2)[0] == 2
    plan = filters_module._schedule(STEPS, 24, filters_module._ascent(small_cnn, "conv2"))
    assert plan[-1][0] == 24 and [side for side, _ in plan] == sorted(side for side, _ in plan)
    assert plan[0][0] >= 8  # never smaller than conv2 needs (8 pixels for one output)
    patterns, _ = filter_patterns(small_cnn, "conv2", [0, 1], size=40)
    assert patterns.shape == (2, 40, 40, 3)


def test_bad_filter_layer_and_step_choices(small_cnn):
    with pytest.raises(CatDogKitError, match="filters 0..5"):
        filter_patterns(small_cnn, "conv2", [6], steps=1)
    with pytest.raises(CatDogKitError, match="filters 0..5"):
        filter_patterns(small_cnn, "conv2", [], steps=1)
    with pytest.raises(CatDogKitError, match="feature maps"):
        filter_patterns(small_cnn, "prediction", steps=1)
    with pytest.raises(CatDogKitError, match="no layer named 'conv9'"):
        filter_patterns(small_cnn, "conv9")
    with pytest.raises(CatDogKitError, match="steps must be"):
        filter_patterns(small_cnn, "conv2", steps=(3, -1))
    with pytest.raises(CatDogKitError, match="steps must be"):
        filter_patterns(small_cnn, "conv2", steps=())


def test_patterns_on_a_smaller_canvas(small_cnn):
    patterns, after = filter_patterns(small_cnn, "conv2", [0, 1], steps=10, size=16)
    _start, before = filter_patterns(small_cnn, "conv2", [0, 1], steps=0, size=16)
    assert patterns.shape == (2, 16, 16, 3) and np.all(after >= before)
    # Augmentation does nothing at inference, so the pattern model leaves it out.
    nested = augmented_conv(input_size=24, filters=2)
    assert filter_patterns(nested, "conv", steps=1)[0].shape == (2, 24, 24, 3)
    assert filter_patterns(nested, "conv", steps=1, size=16)[0].shape == (2, 16, 16, 3)
    # Any other fixed-size part keeps the model to its own size.
    photo = keras.Input((24, 24, 3))
    mixed = keras.layers.Dense(24 * 24 * 3, name="mix")(keras.layers.Flatten(name="flat")(photo))
    x = keras.layers.Reshape((24, 24, 3), name="back")(mixed)
    fixed = keras.Model(photo, keras.layers.Conv2D(2, 3, name="conv")(x))
    assert filter_patterns(fixed, "conv")[0].shape == (2, 24, 24, 3)
    with pytest.raises(CatDogKitError, match="leave size unset"):
        filter_patterns(fixed, "conv", steps=1, size=16)


def test_patterns_are_kept_per_weights(small_cnn, monkeypatch, tmp_path):
    monkeypatch.setenv("CATDOGKIT_VIEW_CACHE", "1")
    monkeypatch.setenv("CATDOGKIT_CACHE", str(tmp_path))
    climbs = []
    climb = filters_module._climb
    monkeypatch.setattr(filters_module, "_climb", lambda *a: climbs.append(1) or climb(*a))
    first = filter_patterns(small_cnn, "conv2", [0, 1], steps=2)
    again = filter_patterns(small_cnn, "conv2", [0, 1], steps=2)
    assert len(climbs) == 1 and np.array_equal(first[0], again[0])
    changed = conv_stack(input_size=24, filters=(8, 6), dense_units=None, pool_last=False, seed=4)
    filter_patterns(changed, "conv2", [0, 1], steps=2)
    assert len(climbs) == 2  # other weights, computed anew


def test_a_step_is_step_size_even_where_the_gradient_is_faint():
    """Late in a climb the lesson network's gradient RMS fades to about 2e-8 (GRADIENT_EPSILON's
    comment): the epsilon must not shrink those steps. Here the RMS is about 5e-9."""
    photo = keras.Input((16, 16, 3))
    conv = keras.layers.Conv2D(1, 3, activation="relu", use_bias=False, name="conv",
                               kernel_initializer=keras.initializers.Constant(0.1))
    model = keras.Model(photo, conv(keras.layers.Rescaling(1e-6)(photo)))
    start, _ = filter_patterns(model, "conv", steps=0, jitter=0, blur=False)
    pattern, _ = filter_patterns(model, "conv", steps=1, step_size=2.0, jitter=0, blur=False)
    assert np.sqrt(np.mean((pattern - start) ** 2)) == pytest.approx(2.0, rel=1e-3)
