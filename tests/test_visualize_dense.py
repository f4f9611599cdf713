"""Dense-layer views and PCA, on synthetic features and on a model trained on the tiny sample."""
import keras
import numpy as np
import pytest

from catdogkit.errors import CatDogKitError
from catdogkit.visualize import (
    class_means, class_separation, dense_activations, head_parameter_cost, pca_2d, plot_dense_units,
    plot_pca)
from catdogkit_dev.tiny_models import tiny_cnn


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
    (bars,) = plot_dense_units(means, units=[1]).axes
    assert [bar.get_height() for bar in bars.patches] == [1, 0]  # unit 1: cats 1, dogs 0
    assert [t.get_text() for t in bars.get_legend().get_texts()] == ["cats", "dogs"]
    with pytest.raises(CatDogKitError, match="labels"):
        class_means(np.zeros((3, 2)), [0, 1])


@pytest.mark.slow
def test_pca_separates_classes_after_brief_training(tiny_sample):
    from catdogkit.data import load_datasets
    data = load_datasets(tiny_sample, image_size=64, batch_size=16, seed=0)
    keras.utils.set_random_seed(0)  # the order in which the dataset shuffles
    model = tiny_cnn(input_shape=(64, 64, 3))
    model.compile(keras.optimizers.Adam(1e-3), "binary_crossentropy", metrics=["accuracy"])
    model.fit(data.train, epochs=12, verbose=0, shuffle=False)  # the dataset shuffles itself
    acts, labels = dense_activations(model, data.train, "dense")
    points, explained = pca_2d(acts)
    assert points.shape == (len(labels), 2) and set(labels) == {0, 1}
    separation = class_separation(points, labels)  # 2.7 when written
    assert separation > 1.0
    (scatter,) = plot_pca(points, labels, explained=explained).axes
    drawn = np.concatenate([c.get_offsets() for c in scatter.collections])
    np.testing.assert_allclose(drawn, np.concatenate([points[labels == 0], points[labels == 1]]))
    assert scatter.get_xlabel().startswith("PC 1 (")
    with pytest.raises(CatDogKitError, match="one value per unit"):
        dense_activations(model, data.train, "conv1")
