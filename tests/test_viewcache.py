"""catdogkit.viewcache: expensive views computed once per weights and inputs, kept on disk."""
import os
from pathlib import Path

import numpy as np
import pytest

from catdogkit import viewcache
from catdogkit.data import load_datasets
from catdogkit.grading import tiny_cnn
from catdogkit.visualize import dense_activations
from catdogkit.visualize import dense as dense_module


@pytest.fixture
def views(tmp_path, monkeypatch):
    monkeypatch.setenv("CATDOGKIT_CACHE", str(tmp_path))
    monkeypatch.delenv(viewcache.VIEW_CACHE_ENV, raising=False)
    return tmp_path / "views"


def counting(result):
    calls = []

    def compute():
        calls.append(1)
        return result
    return compute, calls


@pytest.mark.parametrize("result", [np.arange(6.0).reshape(2, 3),
                                    (np.ones(3, np.float32), np.array([0, 1, 1])),
                                    {"accuracy": 0.75, "per_class": {"cats": {"n": 4}}}])
def test_a_view_is_computed_once_and_read_back_the_same(views, result):
    compute, calls = counting(result)
    first = viewcache.remember("demo", compute, "key", 3)
    again = viewcache.remember("demo", compute, "key", 3)
    assert len(calls) == 1
    if isinstance(result, dict):
        assert again == result
    else:
        for got, want in zip(np.atleast_1d(again) if isinstance(result, np.ndarray) else again,
                             np.atleast_1d(result) if isinstance(result, np.ndarray) else result):
            np.testing.assert_array_equal(got, want)
    assert first is result  # the first call returns what was computed


def test_another_key_or_the_switch_off_computes_again(views, monkeypatch):
    compute, calls = counting(np.zeros(2))
    viewcache.remember("demo", compute, "a")
    viewcache.remember("demo", compute, "b")
    monkeypatch.setenv(viewcache.VIEW_CACHE_ENV, "0")
    viewcache.remember("demo", compute, "a")
    assert len(calls) == 3


def test_retraining_a_network_invalidates_its_views(views):
    model = tiny_cnn()
    photos = np.random.default_rng(0).uniform(0, 255, (4, 32, 32, 3)).astype("float32")
    before = viewcache.fingerprint(model, photos)
    assert viewcache.fingerprint(tiny_cnn(), photos) == before  # same weights, same key
    model.get_layer("dense").kernel.assign(model.get_layer("dense").kernel * 0.5)
    assert viewcache.fingerprint(model, photos) != before
    assert viewcache.fingerprint(model, photos[:3]) != viewcache.fingerprint(model, photos)


def test_dense_activations_of_a_kit_dataset_are_reused_and_follow_the_weights(views, tiny_sample):
    datasets = load_datasets(tiny_sample, image_size=32, batch_size=16)
    model = tiny_cnn()
    first, labels = dense_activations(model, datasets.validation, "dense")
    stored = sorted((views / "dense_activations").glob("*.npz"))
    assert len(stored) == 1
    again, again_labels = dense_activations(model, datasets.validation, "dense")
    np.testing.assert_array_equal(first, again)
    np.testing.assert_array_equal(labels, again_labels)
    assert sorted((views / "dense_activations").glob("*.npz")) == stored  # read, not written
    model.get_layer("dense").kernel.assign(model.get_layer("dense").kernel * 0.0)
    retrained, _ = dense_activations(model, datasets.validation, "dense")
    assert not np.allclose(retrained, first)
    assert len(list((views / "dense_activations").glob("*.npz"))) == 2


def test_a_stream_the_kit_did_not_make_is_computed_not_kept(views, tiny_sample):
    datasets = load_datasets(tiny_sample, image_size=32, batch_size=16)
    acts, _ = dense_activations(tiny_cnn(), datasets.validation.take(1), "dense")
    assert acts.shape == (16, 16)
    assert not (views / "dense_activations").exists() or not any((views / "dense_activations").iterdir())


def test_a_damaged_entry_is_computed_again(views):
    compute, calls = counting(np.ones(3))
    viewcache.remember("demo", compute, "k")
    for entry in (views / "demo").glob("*.npz"):
        entry.write_bytes(b"not a zip")
    np.testing.assert_array_equal(viewcache.remember("demo", compute, "k"), np.ones(3))
    assert len(calls) == 2


def test_clear_removes_the_kept_views(views):
    viewcache.remember("demo", lambda: np.ones(1), "k")
    assert viewcache.clear() == 1
    assert not (views / "demo").exists()


def test_evaluate_and_predict_ask_the_network_once_per_weights(views, tiny_sample, monkeypatch):
    from catdogkit import models, training

    datasets = load_datasets(tiny_sample, image_size=32, batch_size=16)
    model = tiny_cnn()
    calls = []
    real = models.predict_batch
    monkeypatch.setattr(models, "predict_batch", lambda *a, **k: calls.append(1) or real(*a, **k))
    first = training.evaluate(model, datasets.validation, datasets.class_names)
    asked = len(calls)
    assert asked > 0 and training.evaluate(model, datasets.validation, datasets.class_names) == first
    assert len(calls) == asked  # the second evaluation was read from the cache
    photos = np.zeros((3, 32, 32, 3), np.float32)
    np.testing.assert_array_equal(models.predict(model, photos), models.predict(model, photos))
    assert len(calls) == asked + 1
    model.get_layer("prediction").bias.assign([5.0])  # "retrained": new weights, new figures
    assert training.evaluate(model, datasets.validation, datasets.class_names) != first
    assert len(calls) > asked + 1


def test_in_colab_with_drive_the_views_are_kept_on_drive_for_the_next_session(
        views, tmp_path, tiny_sample, monkeypatch):
    from catdogkit import runtime
    drive = tmp_path / "MyDrive"  # stands in for the mounted Google Drive
    drive.mkdir()
    monkeypatch.setattr(runtime, "DRIVE", drive)
    monkeypatch.setattr(runtime, "in_colab", lambda: True)
    model = tiny_cnn()
    first, _labels = dense_activations(
        model, load_datasets(tiny_sample, image_size=32, batch_size=16).validation, "dense")
    assert len(list((drive / "catdogkit" / "views" / "dense_activations").glob("*.npz"))) == 1
    assert not views.exists()  # nothing in the VM's cache, which the session throws away
    # The next session: a fresh VM cache, the same photos drawn again (new dates).
    monkeypatch.setenv("CATDOGKIT_CACHE", str(tmp_path / "next-session"))
    for photo in Path(tiny_sample).rglob("*.jpg"):
        os.utime(photo)
    monkeypatch.setattr(dense_module, "_dense_activations", lambda *a, **k: pytest.fail("computed again"))
    again, _labels = dense_activations(
        model, load_datasets(tiny_sample, image_size=32, batch_size=16).validation, "dense")
    np.testing.assert_array_equal(again, first)
    assert viewcache.clear() == 1 and not (drive / "catdogkit" / "views" / "dense_activations").exists()
    monkeypatch.setattr(runtime, "in_colab", lambda: False)  # outside Colab: the local cache
    assert viewcache.views_dir() == tmp_path / "next-session" / "views"
