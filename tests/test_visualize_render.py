"""catdogkit.visualize.render: pictures from arrays, with fair scales."""
import io

import numpy as np
import pytest
from matplotlib import colormaps
from PIL import Image

from catdogkit.errors import CatDogKitError
from catdogkit.visualize import (
    colour_tiles, colour_tiles_png, image_png, plot_side_by_side, scale_each, scale_together)


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


def test_colour_tiles_scales_each_channel_and_leaves_white_gaps():
    maps = np.zeros((4, 4, 2), np.float32)
    maps[0, 0, 0], maps[1, 1, 1] = 1.0, 50.0  # very different ranges, both drawn at full colour
    rgb = colour_tiles(maps, ncols=2, min_width=1)
    assert rgb.dtype == np.uint8 and rgb.shape == (4, 9, 3)  # two 4x4 tiles and a 1-pixel gap
    viridis = colormaps["viridis"]
    assert (rgb[:, 4] == 255).all()  # the gap is white
    np.testing.assert_array_equal(rgb[0, 0], viridis(1.0, bytes=True)[:3])
    np.testing.assert_array_equal(rgb[1, 6], viridis(1.0, bytes=True)[:3])
    np.testing.assert_array_equal(rgb[3, 3], viridis(0.0, bytes=True)[:3])
    assert colour_tiles(maps, [1], min_width=12).shape == (12, 12, 3)  # enlarged 3x, nearest pixel


def test_colour_tiles_png_is_the_same_picture_as_colour_tiles():
    maps = np.random.default_rng(0).uniform(0, 3, (9, 9, 20)).astype(np.float32)
    png = colour_tiles_png(maps, range(3, 19), ncols=8)
    decoded = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))
    np.testing.assert_array_equal(decoded, colour_tiles(maps, range(3, 19), ncols=8))
    assert len(png) < len(image_png(decoded))  # one byte a pixel, not three


def test_colour_tiles_refuses_what_are_not_feature_maps():
    with pytest.raises(CatDogKitError, match="feature maps must be"):
        colour_tiles_png(np.zeros((4, 4)))
