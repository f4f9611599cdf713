"""Rendering arrays as pictures without matplotlib or TensorFlow: mosaics of tiles, coloured
feature-map mosaics, displayable patterns and PNG bytes. What widgets redraw on every change,
so it must stay fast and light; :mod:`catdogkit.visualize.plots` draws matplotlib figures.
"""
import functools
import io
import math

import numpy as np
from matplotlib import colormaps
from PIL import Image

from catdogkit.errors import CatDogKitError
from catdogkit.i18n import _


def scale_each(images):
    """Each image of ``images`` (``(N, ...)``) scaled to 0..1 on its own; flat images become 0."""
    images = np.asarray(images, dtype=np.float32)
    axes = tuple(range(1, images.ndim))
    low = images.min(axis=axes, keepdims=True)
    span = images.max(axis=axes, keepdims=True) - low
    return (images - low) / np.where(span > 0, span, 1.0)


def scale_together(*maps):
    """Feature maps ``(h, w, c)`` of several photos scaled to 0..1 per channel on ONE range.

    Channel ``k`` of every photo is mapped with the same low (0, or the lowest value when
    negative) and high (the highest over all the photos),
    so "bright for the dog, dark for the cat" can be read off the pictures, and a channel
    that stays at one value for every photo (a dead ReLU) is 0, drawn as dead. Returns a
    list of float32 arrays shaped like the inputs.
    """
    stack = np.stack([np.asarray(m, dtype=np.float32) for m in maps])
    if stack.ndim != 4:
        raise CatDogKitError(_("scale_together needs feature maps (h, w, channels), got {shape}").format(
            shape=stack.shape[1:]))
    # Zero stays the darkest colour of a ReLU map: a weak answer must not look like a strong one.
    low = np.minimum(stack.min(axis=(0, 1, 2), keepdims=True), 0.0)
    span = stack.max(axis=(0, 1, 2), keepdims=True) - low
    return list((stack - low) / np.where(span > 0, span, 1.0))


def tile(images, ncols=None, pad=1, normalize=False):
    """Images ``(N, h, w)`` or ``(N, h, w, 3)`` as one mosaic array, ``ncols`` per row.

    With ``normalize`` each image is scaled to 0..1 on its own (feature maps: each
    channel has its own range). Gaps of ``pad`` pixels are NaN (drawn blank). Returns
    float32 ``(rows*(h+pad)-pad, ncols*(w+pad)-pad[, 3])``.
    """
    images = np.asarray(images, dtype=np.float32)
    if images.ndim not in (3, 4) or len(images) == 0:
        raise CatDogKitError(_("tile needs images (N, h, w) or (N, h, w, 3), got shape {shape}").format(
            shape=images.shape))
    if normalize:
        images = scale_each(images)
    n, h, w = images.shape[:3]
    ncols = ncols or math.ceil(math.sqrt(n))
    rows = math.ceil(n / ncols)
    out = np.full((rows * (h + pad) - pad, ncols * (w + pad) - pad) + images.shape[3:], np.nan,
                  np.float32)
    for i, image in enumerate(images):
        r, c = divmod(i, ncols)
        out[r * (h + pad):r * (h + pad) + h, c * (w + pad):c * (w + pad) + w] = image
    return out


_GAP = 255  # the palette index of the white gaps between tiles
#: zlib level of every PNG the kit makes (widgets' pictures, figures in lessons): the
#: fastest. At the default level 6, encoding took about 40 % of the time lesson 03 spends
#: drawing its feature-map figures; level 1 costs about 11 % more bytes.
PNG_COMPRESSION = 1


@functools.lru_cache(maxsize=8)
def _palette(cmap):
    # 255 colours of ``cmap`` for 0..1, then white for the gaps.
    colours = colormaps[cmap](np.linspace(0.0, 1.0, _GAP), bytes=True)[:, :3]
    return np.vstack([colours, [[255, 255, 255]]]).astype(np.uint8)


def _tile_indices(maps, channels, ncols, min_width):
    maps = np.asarray(maps, dtype=np.float32)
    if maps.ndim != 3:
        raise CatDogKitError(_("feature maps must be (h, w, channels), got shape {shape}").format(shape=maps.shape))
    channels = list(range(maps.shape[-1]) if channels is None else channels)
    tiles = np.moveaxis(maps[..., channels], -1, 0)
    mosaic = tile(tiles, ncols, max(1, maps.shape[0] // 16), normalize=True)
    gaps = np.isnan(mosaic)
    indices = np.rint(np.where(gaps, 0.0, mosaic) * (_GAP - 1)).astype(np.uint8)
    indices[gaps] = _GAP
    factor = max(1, math.ceil(min_width / indices.shape[1]))
    return np.repeat(np.repeat(indices, factor, axis=0), factor, axis=1)


def colour_tiles(maps, channels=None, *, ncols=None, cmap="viridis", min_width=240):
    """Channels of feature maps ``(h, w, c)`` as one coloured mosaic: uint8 ``(H, W, 3)``.

    The quick path for widgets (no figure, a few milliseconds): each channel is scaled on
    its own and coloured with 255 levels of ``cmap``, gaps are white, and the mosaic is
    enlarged by a whole factor (nearest pixel) until it is at least ``min_width`` pixels
    wide: small enough to encode quickly, big enough that the browser's smoothing keeps
    pixels visible. :func:`colour_tiles_png` gives the same picture as PNG bytes.
    """
    return _palette(cmap)[_tile_indices(maps, channels, ncols, min_width)]


def colour_tiles_png(maps, channels=None, *, ncols=None, cmap="viridis", min_width=240):
    """:func:`colour_tiles` as PNG bytes, for the feature-map explorer's every redraw.

    Written as a paletted PNG (one byte a pixel instead of three): about a quarter of
    the encoding time of the RGB picture and under half its bytes, the same colours.
    """
    picture = Image.fromarray(_tile_indices(maps, channels, ncols, min_width), mode="P")
    picture.putpalette(_palette(cmap).tobytes())
    return _png_bytes(picture)


def image_png(rgb):
    """PNG bytes of an RGB image ``(H, W, 3)``, uint8 or floats in 0..255."""
    return _png_bytes(Image.fromarray(np.asarray(rgb, dtype=np.uint8)))


def _png_bytes(picture):
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG", compress_level=PNG_COMPRESSION)
    return buffer.getvalue()


def deprocess(patterns):
    """Patterns from :func:`filter_patterns` as displayable float32 images in 0..1.

    As the class code did: centre each image, scale its standard deviation to 0.1,
    shift to 0.5 and clip. Works on one image ``(H, W, 3)`` or a batch.
    """
    x = np.asarray(patterns, dtype=np.float32)
    axes = tuple(range(x.ndim - 3, x.ndim))
    x = x - x.mean(axis=axes, keepdims=True)
    x = x / (x.std(axis=axes, keepdims=True) + 1e-5) * 0.1 + 0.5
    return np.clip(x, 0.0, 1.0)
