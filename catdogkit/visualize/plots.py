"""Drawing: every ``plot_*`` takes arrays (from the other ``visualize`` modules) and
``ax=None``, draws, and returns the matplotlib figure.

Figures are made with ``matplotlib.figure.Figure``, not ``pyplot``: nothing here changes
the notebook's backend or keeps figures alive in pyplot's registry. A notebook shows a
returned figure when it is a cell's last value (or with ``display(fig)``); widgets turn
it into PNG bytes with :func:`figure_png`.
"""
import functools
import io
import math

import numpy as np
from matplotlib import font_manager
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image, ImageDraw, ImageFont

from catdogkit.constants import CLASS_NAMES
from catdogkit.errors import CatDogKitError
from catdogkit.i18n import _, format_number, format_percent
from catdogkit.visualize.render import PNG_COMPRESSION, deprocess, scale_together, tile

CLASS_COLOURS = ("#e66101", "#5e3c99")


def figure_png(fig, dpi=72):
    """PNG bytes of ``fig``, rendered with Agg whatever the notebook's backend is.
    """
    FigureCanvasAgg(fig)  # attaches an Agg canvas to this figure only
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, pil_kwargs={"compress_level": PNG_COMPRESSION})
    return buffer.getvalue()


def _axes(ax, n=1, figsize=(6, 4)):
    """``n`` axes and their figure: new ones when ``ax`` is None, else the given ones."""
    if ax is None:
        fig = Figure(figsize=figsize)
        axes = fig.subplots(1, n, squeeze=False)[0]
        return fig, list(axes)
    axes = list(ax) if isinstance(ax, (list, tuple, np.ndarray)) else [ax]
    if len(axes) != n:
        raise CatDogKitError(_("this plot draws on {n} axes; got {given}").format(n=n, given=len(axes)))
    return axes[0].figure, axes


def _draw_tiles(ax, images, titles=None, ncols=None, cmap="viridis", normalize=False, limits=None):
    images = np.asarray(images, dtype=np.float32)
    n, h, w = images.shape[:3]
    ncols = min(ncols or math.ceil(math.sqrt(n)), n)
    pad = max(1, h // 16)
    mosaic = tile(images, ncols, pad, normalize)
    if mosaic.ndim == 3:  # RGB: blank gaps as white, not NaN
        mosaic = np.nan_to_num(mosaic, nan=1.0)
    vmin, vmax = limits or (None, None)
    ax.imshow(mosaic, cmap=cmap, interpolation="nearest", vmin=vmin, vmax=vmax)
    ax.set_axis_off()
    for i, text in enumerate(titles or []):
        r, c = divmod(i, ncols)
        ax.text(c * (w + pad) + 1, r * (h + pad) + 1, str(text), fontsize=7, va="top",
                color="white", bbox={"facecolor": "black", "alpha": 0.5, "pad": 1, "lw": 0})
    return ncols, pad


def _title_over_picture(axis, title, **options):
    """``axis``'s title, over a picture drawn without axes. Placed where matplotlib would put
    it, but said so: otherwise every draw measures the hidden axes' tick labels to place it
    (12 ms a title, drawn twice for each figure a notebook shows)."""
    axis.set_title(title, y=1.0, **options)


@functools.lru_cache(maxsize=8)
def _label_font(pixels):
    return ImageFont.truetype(font_manager.findfont(font_manager.FontProperties()), pixels)


def _draw_channel_numbers(ax, channels, tile_size, ncols, pad, fontsize=7):
    """Each tile's channel number, drawn as one transparent picture laid over the mosaic.

    One matplotlib text per tile cost 2-3 ms to lay out and draw: a 128-channel pair of
    mosaics took 0.49 CPU-s with them and 0.13 without, and lesson 03 draws eight such
    pairs on every page. The overlay has the mosaic's extent at the resolution of the
    figure's own dpi (what a notebook shows), so its numbers read as ``fontsize`` points,
    white on a half-black box; saved at another dpi, the overlay is resampled with it.
    """
    (height, width), (h, w) = ax.images[0].get_array().shape[:2], tile_size
    box = ax.get_window_extent()
    scale = max(1e-3, min(box.width / width, box.height / height))  # screen pixels per tile pixel
    overlay = Image.new("LA", (math.ceil(width * scale), math.ceil(height * scale)), (0, 0))
    draw = ImageDraw.Draw(overlay)
    font = _label_font(max(6, round(fontsize * ax.figure.dpi / 72)))
    for i, channel in enumerate(channels):
        r, c = divmod(i, ncols)
        x, y = round(c * (w + pad) * scale), round(r * (h + pad) * scale)
        right, bottom = draw.textbbox((x + 2, y + 1), str(channel), font=font, anchor="lt")[2:]
        draw.rectangle((x, y, right + 1, bottom + 1), fill=(0, 128))
        draw.text((x + 2, y + 1), str(channel), font=font, fill=(255, 255), anchor="lt")
    # Already at the figure's resolution: the nearest pixel is as sharp as a filter, and cheaper.
    ax.imshow(np.asarray(overlay.convert("RGBA")), extent=(-0.5, width - 0.5, height - 0.5, -0.5),
              interpolation="nearest")


def plot_feature_maps(maps, channels=None, *, ax=None, title=None, ncols=None, cmap="viridis"):
    """Channels of one layer's feature maps ``(h, w, c)`` as a grid, each channel scaled on its own.

    ``channels`` is an iterable of channel indices (default: all). Returns the figure.

    Introduced in lesson 03 (feature maps).
    """
    maps = np.asarray(maps, dtype=np.float32)
    if maps.ndim != 3:
        raise CatDogKitError(_("feature maps must be (h, w, channels), got shape {shape}").format(shape=maps.shape))
    channels = list(range(maps.shape[-1]) if channels is None else channels)
    fig, (axis,) = _axes(ax, 1, (7, 7))
    tiles = np.moveaxis(maps[..., channels], -1, 0)
    ncols, pad = _draw_tiles(axis, tiles, None, ncols, cmap, normalize=True)
    _draw_channel_numbers(axis, channels, tiles.shape[1:3], ncols, pad)
    if title:
        _title_over_picture(axis, title, fontsize=10)
    return fig


def plot_side_by_side(left, right, titles=CLASS_NAMES, channels=None, *, ax=None, cmap="viridis"):
    """The same layer's feature maps for two photos (a cat and a dog), side by side.

    ``left`` and ``right`` are ``(h, w, c)``; ``ax`` is None or a pair of axes. Each
    channel is drawn on one colour scale for both photos (:func:`scale_together`), so a
    channel brighter for the dog than for the cat looks brighter, and a dead one is dark
    in both.

    Introduced in lesson 03 (feature maps).
    """
    left, right = scale_together(left, right)
    channels = list(range(left.shape[-1]) if channels is None else channels)
    fig, axes = _axes(ax, 2, (10, 5))
    for axis, maps, title in zip(axes, (left, right), titles):
        tiles = np.moveaxis(maps[..., channels], -1, 0)
        ncols, pad = _draw_tiles(axis, tiles, None, None, cmap, limits=(0.0, 1.0))
        _draw_channel_numbers(axis, channels, tiles.shape[1:3], ncols, pad)
        if title:
            _title_over_picture(axis, title, fontsize=10)
    return fig


def plot_all_feature_maps(maps_by_layer, max_channels=16, *, ax=None, cmap="viridis"):
    """The first ``max_channels`` channels of several layers, one row of axes per layer.

    ``maps_by_layer`` is ``{name: (h, w, c)}`` (from ``all_feature_maps``); ``ax`` is None
    or one axis per layer.

    Introduced in lesson 03 (feature maps).
    """
    n = len(maps_by_layer)
    if ax is None:
        fig = Figure(figsize=(10, 1.35 * n))
        ax = list(fig.subplots(n, 1, squeeze=False)[:, 0])
    fig, axes = _axes(ax, n)
    for axis, (name, maps) in zip(axes, maps_by_layer.items()):
        shown = list(range(min(max_channels, maps.shape[-1])))
        _draw_tiles(axis, np.moveaxis(maps[..., shown], -1, 0), None, len(shown), cmap, True)
        _title_over_picture(axis, f"{name}  {maps.shape[0]}x{maps.shape[1]}x{maps.shape[2]}",
                       fontsize=9, loc="left")
    return fig


def plot_images(images, titles=None, *, ax=None, ncols=None, title=None):
    """A gallery of RGB images ``(N, H, W, 3)`` (0..1 floats or 0..255) with optional titles.

    Introduced in lesson 01 (utility functions: browsing photos).
    """
    images = np.asarray(images, dtype=np.float32)
    if images.ndim != 4 or images.shape[-1] != 3:
        raise CatDogKitError(_("images must be (N, H, W, 3), got shape {shape}").format(shape=images.shape))
    if images.max(initial=0) > 1.0:
        images = images / 255.0
    fig, (axis,) = _axes(ax, 1, (8, 8))
    _draw_tiles(axis, np.clip(images, 0, 1), titles, ncols)
    if title:
        _title_over_picture(axis, title, fontsize=10)
    return fig


def plot_layer_statistics(stats, *, ax=None):
    """Per-layer fraction of zero activations (bars) and mean activation (line), shapes as labels.

    ``stats`` is the list from ``layer_statistics``; ``ax`` is None or a pair of axes.

    Introduced in lesson 05 (layer visualization).
    """
    fig, (top, bottom) = _axes(ax, 2, (12, 4))
    names = [f"{s['name']}\n{'x'.join(map(str, s['shape']))}" for s in stats]
    x = np.arange(len(stats))
    top.bar(x, [s["zero_fraction"] for s in stats], color="#4d4d4d")
    top.set_ylim(0, 1)
    top.set_title(_("fraction of zeros"), fontsize=10)
    bottom.plot(x, [s["mean"] for s in stats], "o-")
    bottom.set_title(_("mean activation"), fontsize=10)
    for axis in (top, bottom):
        axis.set_xticks(x, names, rotation=90, fontsize=7)
    return fig


def plot_filter_patterns(patterns, filters=None, *, ax=None, ncols=None, title=None):
    """Patterns from ``filter_patterns`` ``(F, S, S, 3)`` as a gallery titled by filter index.

    Introduced in lesson 06 (visualizing convnet filters).
    """
    filters = range(len(patterns)) if filters is None else filters
    return plot_images(deprocess(patterns), [str(f) for f in filters], ax=ax, ncols=ncols,
                       title=title)


def plot_kernels(patches, *, ax=None, ncols=None, title=None):
    """First-layer kernels from ``first_layer_patches`` ``(F, kh, kw, 3)`` as RGB patches.

    Introduced in lesson 06 (visualizing convnet filters).
    """
    return plot_images(patches, [str(i) for i in range(len(patches))], ax=ax, ncols=ncols,
                       title=title)


def plot_grad_cam(overlaid, *, ax=None, title=None):
    """A photo with its Grad-CAM heatmap (``heatmaps.overlay``, ``(H, W, 3)`` in 0..1).

    Introduced in lesson 07 (the improved model).
    """
    fig, (axis,) = _axes(ax, 1, (4, 4))
    axis.imshow(np.clip(np.asarray(overlaid, np.float32), 0, 1))
    axis.set_axis_off()
    if title:
        _title_over_picture(axis, title, fontsize=10)
    return fig


def plot_dense_units(means, class_names=CLASS_NAMES, units=None, *, ax=None):
    """Mean activation per unit for each class (``dense.class_means`` output ``(2, units)``).

    ``units`` picks which units to show (default: all). Returns the figure.

    Introduced in lesson 04 (dense layers).
    """
    means = np.asarray(means, dtype=np.float32)
    units = np.arange(means.shape[1]) if units is None else np.asarray(list(units))
    fig, (axis,) = _axes(ax, 1, (10, 3))
    width = 0.8 / len(means)
    for c, row in enumerate(means):
        axis.bar(np.arange(len(units)) + c * width, row[units], width, label=class_names[c],
                 color=CLASS_COLOURS[c % 2])
    step = max(1, len(units) // 16)
    axis.set_xticks(np.arange(0, len(units), step), [str(u) for u in units[::step]], fontsize=7)
    axis.set_xlabel(_("unit"))
    axis.set_ylabel(_("mean activation"))
    axis.legend(fontsize=8)
    return fig


def plot_pca(points, labels, class_names=CLASS_NAMES, explained=None, *, ax=None):
    """A 2-D PCA projection ``(N, 2)`` (``dense.pca_2d``) as a scatter coloured by class.

    Introduced in lesson 04 (dense layers).
    """
    points = np.asarray(points)
    labels = np.asarray(labels).reshape(-1).astype(int)
    fig, (axis,) = _axes(ax, 1, (5, 5))
    for c, name in enumerate(class_names):
        chosen = points[labels == c]
        axis.scatter(chosen[:, 0], chosen[:, 1], s=12, alpha=0.7, label=name,
                     color=CLASS_COLOURS[c % 2])
    if explained is not None:
        axis.set_xlabel(_("PC 1 ({share} of variance)").format(share=format_percent(explained[0], 0)))
        axis.set_ylabel(_("PC 2 ({share} of variance)").format(share=format_percent(explained[1], 0)))
    axis.legend(fontsize=8)
    return fig


def plot_training_curves(history, *, ax=None):
    """Loss and accuracy per epoch, training and validation, from a Keras history dict.

    ``history`` maps metric names (``loss``, ``val_loss``, ``accuracy``, ``val_accuracy``)
    to per-epoch lists; ``ax`` is None or a pair of axes.

    Introduced in lesson 02 (building a CNN).
    """
    fig, axes = _axes(ax, 2, (10, 3.5))
    for axis, metric in zip(axes, ("loss", "accuracy")):
        for key, style in ((metric, "o-"), (f"val_{metric}", "s--")):
            # None: an epoch without that metric (no validation in an early phase).
            values = np.array([np.nan if v is None else v for v in history.get(key) or []], float)
            if np.isfinite(values).any():
                axis.plot(np.arange(1, len(values) + 1), values, style, label=key)
        axis.set_xlabel(_("epoch"))
        axis.set_title(_(metric), fontsize=10)
        if axis.lines:
            axis.legend(fontsize=8)
    return fig


def plot_confusion_matrix(matrix, class_names=CLASS_NAMES, *, ax=None):
    """A confusion matrix (``outcomes.confusion_matrix``) with counts in the cells.

    Introduced in lesson 07 (the improved model).
    """
    matrix = np.asarray(matrix)
    fig, (axis,) = _axes(ax, 1, (4, 4))
    axis.imshow(matrix, cmap="Blues")
    for (r, c), count in np.ndenumerate(matrix):
        axis.text(c, r, str(count), ha="center", va="center",
                  color="white" if count > matrix.max() / 2 else "black")
    ticks = np.arange(len(class_names))
    axis.set_xticks(ticks, class_names)
    axis.set_yticks(ticks, class_names)
    axis.set_xlabel(_("predicted"))
    axis.set_ylabel(_("true"))
    return fig


def plot_misclassified(photos, labels, scores, indices, class_names=CLASS_NAMES, *, ax=None,
                       ncols=None):
    """The photos at ``indices`` (``outcomes.misclassified``) titled with true class and P(dog).

    ``photos`` ``(N, H, W, 3)`` 0..255, ``labels`` ``(N,)``, ``scores`` ``(N,)``/``(N, 1)``.

    Introduced in lesson 07 (the improved model).
    """
    indices = list(indices)
    if not indices:
        fig, (axis,) = _axes(ax, 1, (4, 1))
        axis.text(0.5, 0.5, _("no misclassified photos"), ha="center", va="center")
        axis.set_axis_off()
        return fig
    scores = np.asarray(scores, dtype=np.float32).reshape(len(labels), -1)
    titles = [f"{class_names[int(labels[i])]} P(dog)={format_number(float(scores[i, 0]), 2)}" for i in indices]
    return plot_images(np.asarray(photos)[indices], titles, ax=ax, ncols=ncols)
