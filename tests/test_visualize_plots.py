"""Drawing functions: arrays in, a figure out, on new axes or the caller's."""
import numpy as np
import pytest
from matplotlib.figure import Figure

from catdogkit.errors import CatDogKitError
from catdogkit.visualize import (
    confusion_matrix, figure_png, misclassified, plot_all_feature_maps, plot_confusion_matrix,
    plot_feature_maps, plot_images, plot_layer_statistics, plot_misclassified, plot_side_by_side,
    plot_training_curves, tile)


def test_tile_places_images_and_normalizes():
    images = np.arange(4 * 2 * 2, dtype=float).reshape(4, 2, 2)
    mosaic = tile(images, ncols=2, pad=1)
    assert mosaic.shape == (5, 5) and np.isnan(mosaic[2]).all()
    np.testing.assert_array_equal(mosaic[3:5, 3:5], images[3])
    assert np.nanmax(tile(images, normalize=True)) == 1.0


def test_channel_numbers_lie_over_the_tiles_as_one_picture():
    maps = np.random.default_rng(0).random((8, 8, 5))
    for axis in plot_feature_maps(maps, [0, 2, 4]).axes + plot_side_by_side(maps, maps, channels=[0, 2, 4]).axes:
        mosaic, numbers = axis.images
        assert not axis.texts  # one picture, not a text artist per tile (2-3 ms each to draw)
        height, width = mosaic.get_array().shape
        assert numbers.get_extent() == [-0.5, width - 0.5, height - 0.5, -0.5]
        alpha = np.asarray(numbers.get_array())[..., 3]
        scale = alpha.shape[1] / width  # about the screen's pixels per mosaic pixel
        assert abs(alpha.shape[0] - height * scale) < 1 and scale > 10
        side = round(4 * scale)  # half a tile
        corners = [alpha[round(r * 9 * scale):][:side, round(c * 9 * scale):][:, :side]
                   for r, c in ((0, 0), (0, 1), (1, 0), (1, 1))]  # 3 tiles in 2 columns, then none
        assert all(corner[0, 0] == 128 and corner.max() > 200 for corner in corners[:3])  # box, digits
        assert not corners[3].any() and not (corners[0] == corners[2]).all()  # "0" is not "4"


def test_plots_return_their_figure_and_use_given_axes():
    maps = np.random.default_rng(0).random((6, 6, 5))
    fig = plot_feature_maps(maps, [0, 2])
    assert isinstance(fig, Figure) and figure_png(fig).startswith(b"\x89PNG")
    own = Figure()
    ax = own.subplots()
    assert plot_feature_maps(maps, ax=ax) is own
    pair = plot_side_by_side(maps, maps * 2)
    assert [axis.get_title() for axis in pair.axes] == ["cats", "dogs"]
    # one colour scale per channel for both photos: twice the maps draw twice as bright
    np.testing.assert_allclose(2 * pair.axes[0].images[0].get_array(),
                               pair.axes[1].images[0].get_array(), rtol=1e-5)
    layers = plot_all_feature_maps({"a": maps, "b": maps[:3, :3]})
    assert [axis.get_title(loc="left") for axis in layers.axes] == ["a  6x6x5", "b  3x3x5"]
    history = {"loss": [0.7, 0.5], "val_loss": [0.72, 0.6], "accuracy": [0.5, 0.7]}
    assert len(plot_training_curves(history).axes[0].lines) == 2
    # Epochs without validation (the early phases of a progressive plan) leave a gap.
    phased = plot_training_curves({"loss": [0.7, 0.5, 0.4], "val_loss": [None, None, 0.6]})
    val_line = phased.axes[0].lines[1]
    assert np.isnan(val_line.get_ydata()[:2]).all() and val_line.get_ydata()[2] == 0.6
    assert len(plot_training_curves({"loss": [0.7], "val_loss": [None]}).axes[0].lines) == 1
    stats = [{"name": "conv1", "shape": (4, 4, 2), "zero_fraction": 0.5, "mean": 1.0}]
    top, bottom = plot_layer_statistics(stats).axes
    assert [bar.get_height() for bar in top.patches] == [0.5]
    assert list(bottom.lines[0].get_ydata()) == [1.0]
    with pytest.raises(CatDogKitError, match="2 axes"):
        plot_side_by_side(maps, maps, ax=ax)
    with pytest.raises(CatDogKitError, match="feature maps"):
        plot_feature_maps(maps[0])


def test_confusion_matrix_and_misclassified_gallery():
    labels = np.array([0, 0, 1, 1, 1])
    scores = np.array([[0.1], [0.8], [0.9], [0.4], [0.05]])
    np.testing.assert_array_equal(confusion_matrix(labels, scores), [[1, 1], [2, 1]])
    wrong = misclassified(labels, scores)
    np.testing.assert_array_equal(wrong, [4, 1, 3])  # most confidently wrong first
    (matrix_axis,) = plot_confusion_matrix(confusion_matrix(labels, scores)).axes
    np.testing.assert_array_equal(matrix_axis.images[0].get_array(), [[1, 1], [2, 1]])
    assert [t.get_text() for t in matrix_axis.texts] == ["1", "1", "2", "1"]
    photos = np.zeros((5, 8, 8, 3))
    fig = plot_misclassified(photos, labels, scores, wrong)
    assert "dogs P(dog)=0.05" in [t.get_text() for t in fig.axes[0].texts]
    (empty,) = plot_misclassified(photos, labels, scores, []).axes
    assert [t.get_text() for t in empty.texts] == ["no misclassified photos"] and not empty.images
    black_and_white = np.stack([np.zeros((8, 8, 3)), np.full((8, 8, 3), 255.0)])
    (gallery,) = plot_images(black_and_white, ["a", "b"]).axes
    mosaic = np.asarray(gallery.images[0].get_array())
    assert mosaic.shape[0] == 8 and (mosaic[:, :8] == 0).all() and (mosaic[:, -8:] == 1).all()
    assert [t.get_text() for t in gallery.texts] == ["a", "b"]
