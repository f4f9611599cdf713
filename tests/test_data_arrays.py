"""catdogkit.data.photos_and_labels: a few hundred photos of a dataset as arrays."""
from catdogkit.data import load_datasets, photos_and_labels


def test_photos_and_labels_collects_a_dataset_up_to_a_limit(tiny_sample):
    datasets = load_datasets(tiny_sample, image_size=64, batch_size=16)
    photos, labels = photos_and_labels(datasets.validation)
    assert photos.shape == (40, 64, 64, 3) and labels.shape == (40,)
    assert sorted(set(labels.tolist())) == [0, 1]
    few, few_labels = photos_and_labels(datasets.validation, limit=20)
    assert few.shape[0] == 20 == few_labels.shape[0]
