"""catdogkit.visualize.render: pictures from arrays, with fair scales."""
import numpy as np
import pytest

from catdogkit.errors import CatDogKitError
from catdogkit.visualize import plot_side_by_side, scale_each, scale_together


def test_scale_together_keeps_one_range_per_channel_across_photos():
    cat = np.zeros((4, 4, 3), np.float32)
    dog = np.zeros((4, 4, 3), np.float32)
    cat[0, :, 0], dog[0, :, 0] = 1.0, 4.0  # channel 0 answers four times more to the dog
    cat[0, 0, 1], dog[0, 0, 1] = 2.0, 2.0
    scaled_cat, scaled_dog = scale_together(cat, dog)
    assert scaled_dog[..., 0].max() == 1.0 and scaled_cat[..., 0].max() == pytest.approx(0.25)
    assert scaled_cat[0, 0, 1] == scaled_dog[0, 0, 1] == 1.0
    assert not scaled_cat[..., 2].any() and not scaled_dog[..., 2].any()  # dead: dark in both
    # scaled on its own, the cat's channel 0 would look as bright as the dog's
    assert scale_each(np.moveaxis(cat, -1, 0))[0].max() == 1.0
    assert scaled_cat[1:, :, 0].max() == 0.0  # no answer stays dark


def test_scale_together_refuses_what_are_not_feature_maps():
    with pytest.raises(CatDogKitError, match="feature maps"):
        scale_together(np.zeros((4, 4)), np.zeros((4, 4)))


def test_side_by_side_draws_both_photos_on_the_same_colour_scale():
    cat = np.zeros((6, 6, 2), np.float32)
    dog = np.zeros((6, 6, 2), np.float32)
    cat[..., 0], dog[..., 0] = 1.0, 3.0
    fig = plot_side_by_side(cat, dog, titles=("cat", "dog"))
    left, right = (axis.images[0] for axis in fig.axes)
    assert left.get_clim() == right.get_clim() == (0.0, 1.0)
    left_tiles, right_tiles = left.get_array(), right.get_array()
    assert np.nanmax(right_tiles) == 1.0 and np.nanmax(left_tiles) == pytest.approx(1 / 3)
    assert [axis.get_title() for axis in fig.axes] == ["cat", "dog"]
