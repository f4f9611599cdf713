"""The embedded sample: deterministic, cached, atomic, and the class carried by shape only."""
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from catdogkit import sample
from catdogkit.errors import CatDogKitError


def test_draw_photo_is_deterministic_uint8():
    first = sample.draw_photo("cats", np.random.default_rng(7), image_size=64)
    again = sample.draw_photo("cats", np.random.default_rng(7), image_size=64)
    other = sample.draw_photo("cats", np.random.default_rng(8), image_size=64)
    assert first.dtype == np.uint8 and first.shape == (64, 64, 3)
    assert np.array_equal(first, again)
    assert not np.array_equal(first, other)


def test_draw_photo_rejects_unknown_class():
    with pytest.raises(CatDogKitError, match="horses"):
        sample.draw_photo("horses", np.random.default_rng(0))


def test_tiny_sample_layout_and_counts(tiny_sample):
    for split, n in {"train": 40, "validation": 20, "test": 20}.items():
        for folder, prefix in (("cats", "cat"), ("dogs", "dog")):
            files = sorted((tiny_sample / split / folder).iterdir())
            assert len(files) == n
            assert {f.name for f in files} == {f"{prefix}.{i}.jpg" for i in range(n)}
    with Image.open(tiny_sample / "train" / "cats" / "cat.0.jpg") as photo:
        assert photo.format == "JPEG" and photo.size == (64, 64) and photo.mode == "RGB"


def test_make_sample_reuses_cache_and_leaves_no_temporary_folder(tiny_sample):
    again = sample.make_sample(n_per_class={"train": 40, "validation": 20, "test": 20}, image_size=64, seed=0)
    assert again == tiny_sample
    assert not list(tiny_sample.parent.glob(f".{tiny_sample.name}-*"))


def test_int_count_gives_validation_and_test_their_share(tmp_path, monkeypatch):
    monkeypatch.setenv("CATDOGKIT_CACHE", str(tmp_path))
    root = sample.make_sample(5, image_size=32, seed=3)
    assert root.is_relative_to(tmp_path)
    assert [len(list((root / s / "dogs").iterdir())) for s in sample.SPLITS] == [5, 2, 2]
    assert sample.sample_dir(5, image_size=32, seed=3) == root


def test_abandoned_temporary_folders_are_cleaned_up(tmp_path, monkeypatch):
    monkeypatch.setenv("CATDOGKIT_CACHE", str(tmp_path))
    final = sample.sample_dir(2, image_size=16)
    stale, fresh = final.parent / f".{final.name}-old", final.parent / f".{final.name}-busy"
    stale.mkdir()
    fresh.mkdir()
    os.utime(stale, (0, 0))
    sample.make_sample(2, image_size=16)
    assert not stale.exists() and fresh.exists()


def test_default_counts_are_the_lessons_sample():
    assert sample._counts(None) == {"train": 500, "validation": 200, "test": 200}
    with pytest.raises(CatDogKitError, match="at least 1 train"):
        sample._counts({"train": 0, "validation": 1})


def test_no_colour_or_pixel_gives_the_class_away():
    """Average photo of each class: colours and per-pixel means must match closely."""
    def mean_photo(name):
        photos = [sample.draw_photo(name, np.random.default_rng([9, i]), 48) for i in range(150)]
        return np.mean(np.stack(photos).astype(np.float32), axis=0)

    cats, dogs = mean_photo("cats"), mean_photo("dogs")
    assert np.abs(cats.mean(axis=(0, 1)) - dogs.mean(axis=(0, 1))).max() < 10
    assert np.abs(cats - dogs).mean() < 10


@pytest.mark.slow
def test_a_small_cnn_beats_a_linear_model_on_raw_pixels():
    """Shape carries the class: convolutions find it, one weight per pixel cannot."""
    import keras

    from catdogkit_dev.tiny_models import conv_stack

    def photos(split, n, size=48):
        x = np.stack([sample.draw_photo(name, np.random.default_rng([11, split, k, i]), size)
                      for k, name in enumerate(sample.CLASSES) for i in range(n)])
        return x.astype("float32"), np.repeat([0.0, 1.0], n).astype("float32")

    train, validation = photos(0, 300), photos(1, 100)

    def accuracy(model):
        keras.utils.set_random_seed(0)  # the order fit shuffles the photos in
        model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="binary_crossentropy", metrics=["accuracy"])
        model.fit(*train, epochs=10, batch_size=32, verbose=0)
        return model.evaluate(*validation, verbose=0)[1]

    cnn = accuracy(conv_stack(input_size=48, filters=(16, 32, 64), dense_units=64))
    linear = accuracy(conv_stack(input_size=48, filters=(), dense_units=None))
    assert cnn >= 0.7, cnn
    assert linear <= 0.62 and cnn - linear >= 0.12, (cnn, linear)


def test_make_sample_works_from_a_script_without_a_main_guard(tmp_path):
    # Spawned workers re-run such a script and die; the sample must still be drawn.
    script = tmp_path / "unguarded.py"
    script.write_text(
        "import catdogkit.sample as sample\n"
        "sample._PARALLEL_FROM = 4\n"
        "root = sample.make_sample({'train': 4, 'validation': 2, 'test': 2}, image_size=32, seed=5)\n"
        "print(len(list(root.rglob('*.jpg'))))\n")
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                            timeout=240, env={**os.environ, "CATDOGKIT_CACHE": str(tmp_path / "cache")})
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split()[-1] == "16"
