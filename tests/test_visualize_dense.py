"""Dense-layer views and PCA, on synthetic features and on a model trained on the tiny sample."""
import keras
import numpy as np
import pytest

from catdogkit.errors import CatDogKitError
from catdogkit.visualize import (
    class_means, class_separation, dense_activations, head_parameter_cost, pca_2d, plot_dense_units,
    plot_pca)


def test_head_cost_of_the_class_network():
    from catdogkit.models import original_cnn
    cost = head_parameter_cost(original_cnn())
    assert cost["feature_shape"] == (7, 7, 128) and cost["units"] == 512
    assert cost["flatten_dense"] == 3_211_776 and cost["global_pooling"] == 66_048
    assert head_parameter_cost(original_cnn(), units=10)["global_pooling"] == 1290


def test_pca_on_known_data():
    rng = np.random.default_rng(0)
    t = rng.normal(size=200)
    features = np.stack([t, 2 * t, -t, np.zeros_like(t)], axis=1)
    features += rng.normal(scale=0.01, size=(200, 4))
    points, explained = pca_2d(features)
    assert points.shape == (200, 2) and points.dtype == np.float32
    assert explained[0] > 0.99 and explained.sum() <= 1.0 + 1e-9
    np.testing.assert_allclose(np.abs(points[:, 0]), np.sqrt(6) * np.abs(t - t.mean()),
                               rtol=0.05, atol=0.05)
    np.testing.assert_array_equal(pca_2d(features)[0], points)  # same picture every run
    with pytest.raises(CatDogKitError, match="PCA"):
        pca_2d(np.zeros(5))


def test_class_means_and_separation():
    rng = np.random.default_rng(1)
    labels = np.repeat([0, 1], 50)
    apart = rng.normal(size=(100, 2)) + labels[:, None] * 6
    mixed = rng.normal(size=(100, 2))
    assert class_separation(apart, labels) > 4 > 0.5 > class_separation(mixed, labels)
    means = class_means(np.stack([labels, 1 - labels], 1).astype(float), labels)
    np.testing.assert_array_equal(means, [[0, 1], [1, 0]])
    assert plot_dense_units(means, units=[1]).axes
    with pytest.raises(CatDogKitError, match="labels"):
        class_means(np.zeros((3, 2)), [0, 1])


def test_pca_separates_classes_after_brief_training(tiny_sample):
    from catdogkit.data import load_datasets
    data = load_datasets(tiny_sample, image_size=64, batch_size=16, seed=0)
    keras.utils.set_random_seed(0)
    photo = keras.Input((64, 64, 3), name="photo")
    x = keras.layers.Rescaling(1 / 255, name="rescale")(photo)
    for i, filters in enumerate((8, 16), start=1):
        x = keras.layers.Conv2D(filters, 3, activation="relu", name=f"conv{i}")(x)
        x = keras.layers.MaxPooling2D(2, name=f"pool{i}")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    x = keras.layers.Dense(16, activation="relu", name="dense")(x)
    model = keras.Model(photo, keras.layers.Dense(1, activation="sigmoid", name="prediction")(x))
    model.compile(keras.optimizers.Adam(1e-3), "binary_crossentropy", metrics=["accuracy"])
    model.fit(data.train, epochs=12, verbose=0, shuffle=False)  # the dataset shuffles itself
    acts, labels = dense_activations(model, data.train, "dense")
    points, explained = pca_2d(acts)
    assert points.shape == (len(labels), 2) and set(labels) == {0, 1}
    separation = class_separation(points, labels)  # 2.7 when written
    assert separation > 1.0
    assert plot_pca(points, labels, explained=explained).axes
    with pytest.raises(CatDogKitError, match="one value per unit"):
        dense_activations(model, data.train, "conv1")
