"""catdogkit.visualize.selectivity: channels that prefer cats or dogs over many photos."""
import keras
import numpy as np
import pytest

from catdogkit import models
from catdogkit.errors import CatDogKitError
from catdogkit.visualize import channel_selectivity, most_selective, receptive_field, top_patches


def colour_detector():
    """conv answers to red (channel 0), to blue (channel 1), and never (channel 2)."""
    photo = keras.Input((12, 12, 3))
    conv = keras.layers.Conv2D(3, 1, use_bias=False, activation="relu", name="conv")
    pooled = keras.layers.MaxPooling2D(2, name="pool")(conv(photo))
    model = keras.Model(photo, keras.layers.Dense(1)(keras.layers.Flatten()(pooled)))
    kernel = np.zeros((1, 1, 3, 3), np.float32)
    kernel[0, 0, 0, 0] = kernel[0, 0, 2, 1] = 1.0
    conv.set_weights([kernel])
    return model


def red_cats_blue_dogs(n=6, seed=0):
    rng = np.random.default_rng(seed)
    photos = rng.uniform(0, 40, (2 * n, 12, 12, 3)).astype(np.float32)
    photos[:n, 3:9, 3:9, 0] += 200  # a red square on every "cat"
    photos[n:, 2:6, 6:10, 2] += 200  # a blue square on every "dog"
    return photos, np.array([0] * n + [1] * n)


def test_the_red_channel_prefers_cats_and_the_blue_one_dogs(tmp_path, monkeypatch):
    monkeypatch.setenv("CATDOGKIT_CACHE", str(tmp_path))
    photos, labels = red_cats_blue_dogs()
    found = channel_selectivity(colour_detector(), photos, "conv", labels=labels)
    assert found["selectivity"][0] < -2 and found["selectivity"][1] > 2
    assert found["selectivity"][2] == 0 and found["mean"][:, 2].tolist() == [0, 0]  # dead
    assert found["mean"].shape == found["std"].shape == (2, 3) and found["n"].tolist() == [6, 6]
    assert most_selective(found["selectivity"], k=1) == {"cats": [0], "dogs": [1]}


def test_top_patches_are_the_receptive_fields_where_the_channel_peaks(tmp_path, monkeypatch):
    monkeypatch.setenv("CATDOGKIT_CACHE", str(tmp_path))
    photos, labels = red_cats_blue_dogs()
    patches, strength, indices = top_patches(colour_detector(), photos, "pool", 1, k=3, labels=labels)
    assert patches.shape == (3, 2, 2, 3) and list(strength) == sorted(strength, reverse=True)
    assert all(i >= 6 for i in indices)  # the blue channel's best photos are dogs
    assert (patches[..., 2] > 200).any(axis=(1, 2)).all()  # each patch holds the blue square
    with pytest.raises(CatDogKitError, match="3 channels"):
        top_patches(colour_detector(), photos, "pool", 7, labels=labels)


def test_receptive_fields_of_the_class_network():
    model = models.original_cnn()
    sizes = {name: receptive_field(model, name)[0] for name in ("conv1", "conv2", "conv3", "conv4")}
    assert sizes == {"conv1": 3, "conv2": 8, "conv3": 18, "conv4": 38}
    assert receptive_field(model, "pool4") == (46, 16)


def test_selectivity_needs_both_classes(tmp_path, monkeypatch):
    monkeypatch.setenv("CATDOGKIT_CACHE", str(tmp_path))
    photos, _labels = red_cats_blue_dogs()
    with pytest.raises(CatDogKitError, match="both classes"):
        channel_selectivity(colour_detector(), photos, "conv", labels=np.zeros(12))


class CountedPasses:
    """Labelled batches of ``photos`` that count how many times they are walked."""

    def __init__(self, photos, labels, batch):
        self.batches = [(photos[i:i + batch], labels[i:i + batch]) for i in range(0, len(photos), batch)]
        self.passes = 0

    def __iter__(self):
        self.passes += 1
        return iter(self.batches)


def test_top_patches_walks_a_stream_once_and_finds_what_the_whole_array_gives(tmp_path, monkeypatch):
    monkeypatch.setenv("CATDOGKIT_CACHE", str(tmp_path))
    photos, labels = red_cats_blue_dogs()
    model = colour_detector()
    for channel in (1, 2):  # channel 2 never fires: its equal peaks rank in photo order
        stream = CountedPasses(photos, labels, batch=5)  # the dogs' photos span two batches
        streamed = top_patches(model, stream, "pool", channel, k=3)
        whole = top_patches(model, photos, "pool", channel, k=3, labels=labels)
        assert stream.passes == 1
        for part, expected in zip(streamed, whole):
            np.testing.assert_array_equal(part, expected)
    assert whole[2].tolist() == [0, 1, 2]
    with pytest.raises(CatDogKitError, match="at least one photo"):
        top_patches(model, CountedPasses(photos[:0], labels[:0], batch=5), "pool", 1)
