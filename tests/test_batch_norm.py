"""catdogkit.batch_norm: batch-norm statistics measured again after training."""
import keras
import numpy as np
import pytest
import tensorflow as tf

from catdogkit import models
from catdogkit.batch_norm import recalibrate_batch_norm
from catdogkit.errors import CatDogKitError


def photo_batches(count, size=32, seed=0):
    rng = np.random.default_rng(seed)
    photos = rng.uniform(0, 255, (count * 8, size, size, 3)).astype("float32")
    return tf.data.Dataset.from_tensor_slices((photos, np.zeros(count * 8, "float32"))).batch(8)


def test_the_statistics_become_the_mean_of_the_batches_seen_without_augmentation():
    model = models.improved_cnn((32, 32, 3), seed=0)
    stem = model.get_layer("stem_bn")
    stem.moving_mean.assign(np.full(stem.moving_mean.shape, 7.0, "float32"))  # far from anything real
    weights = [w.numpy().copy() for w in model.trainable_weights]
    batches = photo_batches(3)

    assert recalibrate_batch_norm(model, batches, batches=2) == 16

    # What the stem's normalization sees: the photos as they are (no flip, turn or zoom).
    to_stem = keras.Model(model.get_layer("rescale").input, model.get_layer("stem_conv").output)
    seen = [to_stem(images, training=False).numpy() for images, _ in batches.take(2)]
    np.testing.assert_allclose(stem.moving_mean.numpy(), np.mean([s.mean(axis=(0, 1, 2)) for s in seen], axis=0),
                               rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(stem.moving_variance.numpy(), np.mean([s.var(axis=(0, 1, 2)) for s in seen], axis=0),
                               rtol=1e-3, atol=1e-5)
    assert all(np.array_equal(before, after.numpy()) for before, after in zip(weights, model.trainable_weights))
    assert stem.momentum == 0.9  # put back for further training


def test_a_network_without_batch_normalization_is_left_as_it_is():
    model = models.original_cnn((48, 48, 3))
    before = [w.numpy().copy() for w in model.weights]
    assert recalibrate_batch_norm(model, photo_batches(1, size=48)) == 0
    assert all(np.array_equal(a, b.numpy()) for a, b in zip(before, model.weights))


def test_no_batches_is_refused_with_the_value():
    with pytest.raises(CatDogKitError, match="batches=0"):
        recalibrate_batch_norm(models.improved_cnn((32, 32, 3)), photo_batches(1), batches=0)
