"""Filter explorer: a conv layer's kernel weights and the patterns its filters answer to."""
import math

import ipywidgets as W
import numpy as np
from matplotlib import colormaps

from catdogkit.i18n import _, format_number
from catdogkit.visualize.filters import (
    STEPS, filter_patterns, first_layer_patches, kernel_weights, pattern_layer, scaled_steps,
    signed_kernels)
from catdogkit.visualize.layers import layer_names
from catdogkit.visualize.plots import plot_filter_patterns, plot_kernels
from catdogkit.visualize.render import image_png, tile
from catdogkit.widgets._base import Explorer, image_widget, set_png


def signed_rows_png(kernels, min_width=480):
    """PNG of :func:`~catdogkit.visualize.filters.signed_kernels` output ``(F, in, kh, kw)``:
    one row per filter, one ``kh x kw`` square per input map, red positive, blue negative,
    white zero, dark grey gaps between squares."""
    count, depth, kh, kw = kernels.shape
    mosaic = tile(kernels.reshape(count * depth, kh, kw), ncols=depth, pad=1)
    rgb = colormaps["RdBu_r"]((np.nan_to_num(mosaic) + 1) / 2, bytes=True)[..., :3]
    rgb[np.isnan(mosaic)] = 70
    factor = max(1, math.ceil(min_width / rgb.shape[1]))
    return image_png(np.repeat(np.repeat(rgb, factor, axis=0), factor, axis=1))


class FilterExplorer(Explorer):
    """Pick a conv layer and a range of filters; see their weights at once and, on a click,
    the input pattern each answers to most (:func:`filter_patterns` with its defaults: coarse
    to fine on the model's own canvas, so two networks' patterns are drawn alike).

    Controls: ``.layer`` (Dropdown of conv layers), ``.filters`` (IntRangeSlider, at most
    ``max_filters`` at once, applied on release), ``.steps`` (IntSlider: steps on the
    smallest canvas; the larger canvases get proportionally fewer, see
    :func:`~catdogkit.visualize.filters.scaled_steps`), ``.compute`` (Button); outputs:
    ``.weights_image`` (first layer: RGB patches; deeper layers: every weight, one row per
    filter and one square per input map, on a signed colour scale), ``.image`` (patterns),
    ``.info``, ``.message``. Patterns are cached per (layer, filters, steps).

    Introduced in lesson 06 (visualizing convnet filters).
    """

    name = "filters"

    def __init__(self, model, *, steps=STEPS[0], max_filters=16, seed=0):
        super().__init__()
        self.model, self.max_filters, self.seed = model, max_filters, seed
        self._patterns = {}
        convs = layer_names(model, "conv")
        self.layer = W.Dropdown(options=convs, value=convs[0], description=_("Layer"))
        self.filters = W.IntRangeSlider(min=0, max=1, value=(0, 1), description=_("Filters"),
                                        continuous_update=False)
        self.steps = W.IntSlider(min=1, max=40, value=steps, description=_("Steps"),
                                 continuous_update=False)
        self.compute = W.Button(description=_("Show patterns"), icon="search")
        self.weights_image = image_widget("catdogkit-filter-weights-image")
        self.image = image_widget("catdogkit-filter-patterns-image")
        self.info = W.Label()
        self.layer.observe(self.callback(self._layer_changed), names="value")
        self.filters.observe(self.callback(self.draw_weights), names="value")
        self.compute.on_click(self.callback(self.draw_patterns))
        self._finish(W.HBox([self.layer, self.filters]), W.HBox([self.steps, self.compute]),
                     self.info, self.weights_image, self.image)
        self.callback(self._layer_changed)()

    def chosen(self):
        """The chosen filter indices (at most ``max_filters``)."""
        low, high = self.filters.value
        return list(range(low, min(high, low + self.max_filters - 1) + 1))

    def _layer_changed(self, _change=None):
        count = kernel_weights(self.model, self.layer.value).shape[-1]
        with self.muted():
            self.filters.max = count - 1
            self.filters.value = (0, min(count, self.max_filters) - 1)
        self.image.value = b""
        self.draw_weights()

    def draw_weights(self, _change=None):
        """Draw the chosen filters' kernels."""
        chosen = self.chosen()
        kh, kw, depth, count = kernel_weights(self.model, self.layer.value).shape
        if depth == 3:
            set_png(self.weights_image,
                    plot_kernels(first_layer_patches(self.model, self.layer.value)[chosen]))
            how = _("as colour patches")
        else:
            self.weights_image.value = signed_rows_png(
                signed_kernels(self.model, self.layer.value, chosen))
            how = _("one row per filter, one {kh}x{kw} square per input map "
                    "(red adds, blue subtracts)").format(kh=kh, kw=kw)
        self.info.value = _("{layer}: {count} filters of {kh}x{kw}x{depth}; showing "
                            "{first}-{last} {how}").format(
            layer=self.layer.value, count=count, kh=kh, kw=kw, depth=depth,
            first=chosen[0], last=chosen[-1], how=how)

    def draw_patterns(self, _button=None):
        """Compute (or reuse) and draw the chosen filters' patterns."""
        chosen = self.chosen()
        key = (self.layer.value, tuple(chosen), self.steps.value)
        if key not in self._patterns:
            self.info.value = _("computing {count} patterns…").format(count=len(chosen))
            self._patterns[key] = filter_patterns(self.model, self.layer.value, chosen,
                                                  steps=scaled_steps(self.steps.value),
                                                  seed=self.seed)
        patterns, scores = self._patterns[key]
        set_png(self.image, plot_filter_patterns(patterns, chosen))
        measured = pattern_layer(self.model, self.layer.value)
        after = _(" (measured after {layer})").format(layer=measured) if measured != self.layer.value else ""
        self.info.value = _("{layer}{after}: patterns of filters {first}-{last}, mean activation "
                            "reached {reached}").format(
            layer=self.layer.value, after=after, first=chosen[0], last=chosen[-1],
            reached=format_number(float(np.mean(scores)), 3))
