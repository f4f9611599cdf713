"""catdogkit.data.arrays: a labelled dataset as arrays, batch by batch or a few hundred at once."""
import numpy as np
import pytest
import tensorflow as tf

from catdogkit.data import labelled_batches, load_datasets, photos_and_labels
from catdogkit.errors import CatDogKitError


def test_photos_and_labels_collects_a_dataset_up_to_a_limit(tiny_sample):
    datasets = load_datasets(tiny_sample, image_size=64, batch_size=16)
    photos, labels = photos_and_labels(datasets.validation)
    assert photos.shape == (40, 64, 64, 3) and labels.shape == (40,)
    assert sorted(set(labels.tolist())) == [0, 1]
    few, few_labels = photos_and_labels(datasets.validation, limit=20)
    assert few.shape[0] == 20 == few_labels.shape[0]


def test_labelled_batches_yields_float32_photos_and_int_labels_batch_by_batch():
    photos = np.arange(5 * 4 * 4 * 3, dtype=np.uint8).reshape(5, 4, 4, 3)
    labels = np.array([[0], [1], [1], [0], [1]], np.float32)  # a column, as Keras keeps them
    dataset = tf.data.Dataset.from_tensor_slices((photos, labels)).batch(2)
    batches = list(labelled_batches(dataset))
    assert [len(batch) for batch, _labels in batches] == [2, 2, 1]
    assert all(batch.dtype == np.float32 and batch_labels.dtype.kind == "i"
               for batch, batch_labels in batches)
    np.testing.assert_array_equal(np.concatenate([b for b, _ in batches]), photos.astype(np.float32))
    assert np.concatenate([y for _, y in batches]).tolist() == [0, 1, 1, 0, 1]


@pytest.mark.parametrize("dataset, message", [
    (tf.data.Dataset.from_tensor_slices((np.zeros((3, 4, 4, 3)), np.zeros(3))), "batch the dataset"),
    (tf.data.Dataset.from_tensor_slices((np.zeros((4, 4, 4, 3)), np.eye(2)[[0, 1, 1, 0]])).batch(2),
     "2 photos but 4 labels"),
    (tf.data.Dataset.from_tensor_slices(np.zeros((4, 4, 4, 3))).batch(2), r"not a \(photos, labels\) pair"),
])
def test_labelled_batches_names_what_is_wrong_with_a_batch(dataset, message):
    with pytest.raises(CatDogKitError, match=message):
        next(labelled_batches(dataset))
