"""The sample knows where each animal is: the truth Grad-CAM is measured against."""
import numpy as np
from PIL import Image

from catdogkit import sample


def test_the_mask_comes_with_the_very_same_photo():
    for class_index, name in enumerate(sample.CLASSES):
        plain = sample.draw_photo(name, sample.photo_rng(0, "validation", class_index, 3), 64)
        photo, mask = sample.draw_photo(name, sample.photo_rng(0, "validation", class_index, 3), 64,
                                        with_mask=True)
        np.testing.assert_array_equal(plain, photo)
        assert mask.shape == (64, 64) and mask.dtype == bool
        assert 0.05 < mask.mean() < 0.8, f"{name}: the animal covers {mask.mean():.0%} of the photo"


def test_the_animal_differs_from_its_background_inside_the_mask():
    photo, mask = sample.draw_photo("dogs", sample.photo_rng(0, "validation", 1, 0), 96, with_mask=True)
    inside, outside = photo[mask].mean(axis=0), photo[~mask].mean(axis=0)
    assert np.abs(inside - outside).max() > 5  # the mask follows the drawn animal, not noise


def test_photo_rng_redraws_a_saved_sample_photo(tiny_sample):
    saved = np.asarray(Image.open(tiny_sample / "validation" / "dogs" / "dog.2.jpg"), dtype=float)
    redrawn = sample.draw_photo("dogs", sample.photo_rng(0, "validation", 1, 2), 64).astype(float)
    assert np.abs(saved - redrawn).mean() < 4  # JPEG at quality 90, nothing more


def _unlit_photo_and_background(monkeypatch, name, class_index, index, size):
    """The photo without lighting and noise, its mask, and its background alone (same draws)."""
    clutter_counts = []
    draw_clutter = sample._clutter

    def counted_clutter(draw, rng, size, count):
        clutter_counts.append(count)
        draw_clutter(draw, rng, size, count)

    monkeypatch.setattr(sample, "_clutter", counted_clutter)
    monkeypatch.setattr(sample, "_light_and_noise", lambda rng, image, size: np.asarray(image))
    photo, mask = sample.draw_photo(name, sample.photo_rng(0, "validation", class_index, index), size,
                                    with_mask=True)
    # The background is the first thing drawn, so the same generator draws it again alone.
    background = sample._background(sample.photo_rng(0, "validation", class_index, index), size * 2)
    last_clutter = clutter_counts[1]  # [0]: the background's, [1]: the shapes over the animal
    return photo, mask, np.asarray(background.reduce(2)), last_clutter


def test_everything_drawn_for_the_animal_is_in_its_mask(monkeypatch):
    # A dog's drooping ears, a cat's whiskers and the ink line reach past the head: a
    # Grad-CAM peak on them is on the animal. Before they were in the mask, 1-5 % of each
    # photo was animal outside it; what remains is edge pixels the 2x supersampling blends.
    checked = 0
    for class_index, name in enumerate(sample.CLASSES):
        for index in range(5):
            photo, mask, background, last_clutter = _unlit_photo_and_background(
                monkeypatch, name, class_index, index, 96)
            if last_clutter:
                continue  # a shape drawn over the photo at the end is background, not animal
            drawn = np.abs(photo.astype(int) - background).max(axis=-1) > 30
            assert (drawn & ~mask).mean() < 0.01, f"{name} {index}: animal pixels outside the mask"
            checked += 1
    assert checked >= 8
