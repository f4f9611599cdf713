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
