"""load_datasets, load_photo, list_photos and augmentation: streamed, seeded, robust."""
import hashlib
import importlib.util
import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from catdogkit.data import augmentation, list_photos, load_datasets, load_photo
from catdogkit.errors import CatDogKitError

# The broken-file builder lives with the check tests; loaded by path (importlib mode).
_spec = importlib.util.spec_from_file_location("_checks_tests", Path(__file__).with_name("test_data_checks.py"))
checks_tests = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(checks_tests)


def _labels(dataset):
    return np.concatenate([labels.numpy() for _, labels in dataset])


def test_streams_have_the_contract_shapes_and_counts(tiny_sample):
    data = load_datasets(tiny_sample, image_size=64, batch_size=16)
    assert data.class_names == ["cats", "dogs"] and data.skipped == 0
    assert data.counts["train"] == {"cats": 40, "dogs": 40}
    images, labels = next(iter(data.train))
    assert images.shape == (16, 64, 64, 3) and images.dtype.name == "float32"
    assert labels.shape == (16,) and labels.dtype.name == "float32"
    assert 0 <= float(images.numpy().min()) and float(images.numpy().max()) <= 255
    assert float(images.numpy().max()) > 1  # raw 0..255: models rescale inside themselves
    assert len(_labels(data.validation)) == 40 and len(_labels(data.test)) == 40


def test_training_order_is_seeded_and_reshuffled_each_epoch(tiny_sample):
    first = load_datasets(tiny_sample, image_size=32, batch_size=80, seed=5, announce=lambda _: None)
    second = load_datasets(tiny_sample, image_size=32, batch_size=80, seed=5, announce=lambda _: None)
    epoch_one, epoch_two = _labels(first.train), _labels(first.train)
    assert np.array_equal(epoch_one, _labels(second.train))
    assert not np.array_equal(epoch_one, epoch_two)
    assert sorted(epoch_one) == [0.0] * 40 + [1.0] * 40
    assert np.array_equal(_labels(first.validation), [0.0] * 20 + [1.0] * 20)  # never shuffled


def test_broken_files_are_left_out_and_counted(tmp_path, tiny_sample):
    root = checks_tests.build_broken_set(tmp_path, tiny_sample)
    before = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in root.rglob("*") if p.is_file()}
    said = []
    data = load_datasets(root, image_size=48, batch_size=8, announce=said.append)
    assert data.skipped == len(checks_tests.BROKEN)
    assert "Left out 5 unusable" in said[0]
    # CMYK, WebP, palette and grayscale photos decode (through Pillow where TF cannot).
    assert len(_labels(data.train)) == 12 + len(checks_tests.CONVERTED)
    assert before == {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in root.rglob("*") if p.is_file()}


def test_on_disk_cache_and_augmentation(tmp_path, tiny_sample):
    data = load_datasets(tiny_sample, image_size=32, batch_size=40, augment=True, cache=tmp_path)
    images, _ = next(iter(data.train))
    assert images.shape == (40, 32, 32, 3)
    assert len(_labels(data.validation)) == 40
    assert any(p.name.startswith("train-32") for p in tmp_path.iterdir())


def test_cached_photos_match_the_decoded_ones(tmp_path, tiny_sample):
    plain = load_datasets(tiny_sample, image_size=32, batch_size=16)
    cached = load_datasets(tiny_sample, image_size=32, batch_size=16, cache=tmp_path)
    for _ in range(2):  # the first pass writes the cache, the second reads it back
        for (images, labels), (cached_images, cached_labels) in zip(plain.validation, cached.validation):
            assert cached_images.dtype == images.dtype == "float32"
            np.testing.assert_allclose(cached_images, images, atol=0.5)
            np.testing.assert_array_equal(cached_labels, labels)


def test_unusable_set_raises_what_to_fix(tmp_path):
    (tmp_path / "train" / "cats").mkdir(parents=True)
    with pytest.raises(CatDogKitError, match="No usable photos"):
        load_datasets(tmp_path)


def test_load_photo_from_path_and_bytes(tiny_sample, tmp_path):
    path = tiny_sample / "train" / "dogs" / "dog.3.jpg"
    from_path = load_photo(path, image_size=50)
    from_bytes = load_photo(path.read_bytes(), image_size=50)
    assert from_path.shape == (50, 50, 3) and from_path.dtype == np.float32
    assert np.array_equal(from_path, from_bytes)
    buffer = io.BytesIO()
    Image.new("LA", (20, 30), (128, 200)).save(buffer, "PNG")
    assert load_photo(buffer.getvalue(), image_size=10).shape == (10, 10, 3)


def test_load_photo_errors_say_why(tmp_path):
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    with pytest.raises(CatDogKitError, match="0 bytes"):
        load_photo(empty)
    with pytest.raises(CatDogKitError, match="No photo at"):
        load_photo(tmp_path / "missing.jpg")
    with pytest.raises(CatDogKitError, match="not a photo"):
        load_photo(b"hello")


def test_list_photos(tiny_sample):
    dogs = list_photos(tiny_sample, "validation", "dogs")
    assert len(dogs) == 20 and all(p.parent.name == "dogs" for p in dogs)
    assert len(list_photos(tiny_sample)) == 40
    with pytest.raises(CatDogKitError, match="No class 'horses'"):
        list_photos(tiny_sample, "train", "horses")


def test_augmentation_is_named_and_seeded():
    layers = augmentation(seed=3)
    assert layers.name == "augmentation"
    batch = np.random.default_rng(0).uniform(0, 255, (2, 32, 32, 3)).astype("float32")
    assert layers(batch, training=True).shape == (2, 32, 32, 3)
    assert np.array_equal(layers(batch, training=False), batch)


@pytest.mark.realdata
def test_real_photos_stream(real_data):
    data = load_datasets(real_data, batch_size=8)
    images, labels = next(iter(data.validation))
    assert images.shape == (8, 150, 150, 3) and data.counts["validation"] == {"cats": 500, "dogs": 500}
