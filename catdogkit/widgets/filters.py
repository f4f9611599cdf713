"""Filter explorer: a conv layer's kernel weights and the patterns its filters answer to."""
import ipywidgets as W
import numpy as np

from catdogkit.visualize.filters import filter_patterns, first_layer_patches, kernel_weights
from catdogkit.visualize.layers import layer_names
from catdogkit.visualize.plots import plot_feature_maps, plot_filter_patterns, plot_kernels
from catdogkit.widgets._base import Explorer, image_widget, set_png


class FilterExplorer(Explorer):
    """Pick a conv layer and a range of filters; see their weights at once and, on a click,
    the input pattern each answers to most (batched gradient ascent, ``.steps`` steps).

    Controls: ``.layer`` (Dropdown of conv layers), ``.filters`` (IntRangeSlider, at most
    ``max_filters`` at once, applied on release), ``.steps`` (IntSlider), ``.compute``
    (Button); outputs: ``.weights_image`` (first layer: RGB patches; deeper layers: each
    kernel averaged over its input channels), ``.image`` (patterns), ``.info``,
    ``.message``. Patterns are cached per (layer, filters, steps).

    Introduced in lesson 06 (visualizing convnet filters).
    """

    name = "filters"

    def __init__(self, model, *, steps=20, max_filters=16, seed=0):
        super().__init__()
        self.model, self.max_filters, self.seed = model, max_filters, seed
        self._patterns = {}
        convs = layer_names(model, "conv")
        self.layer = W.Dropdown(options=convs, value=convs[0], description="Layer")
        self.filters = W.IntRangeSlider(min=0, max=1, value=(0, 1), description="Filters",
                                        continuous_update=False)
        self.steps = W.IntSlider(min=1, max=100, value=steps, description="Steps",
                                 continuous_update=False)
        self.compute = W.Button(description="Show patterns", icon="search")
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
        kernels = kernel_weights(self.model, self.layer.value)
        if kernels.shape[2] == 3:
            fig = plot_kernels(first_layer_patches(self.model, self.layer.value)[chosen])
        else:
            fig = plot_feature_maps(np.mean(kernels, axis=2), chosen,
                                    cmap="gray")
        set_png(self.weights_image, fig)
        kh, kw, depth, count = kernels.shape
        self.info.value = (f"{self.layer.value}: {count} filters of {kh}x{kw}x{depth}; "
                           f"showing {chosen[0]}-{chosen[-1]}")

    def draw_patterns(self, _button=None):
        """Compute (or reuse) and draw the chosen filters' patterns."""
        chosen = self.chosen()
        key = (self.layer.value, tuple(chosen), self.steps.value)
        if key not in self._patterns:
            self.info.value = f"computing {len(chosen)} patterns, {self.steps.value} steps…"
            self._patterns[key] = filter_patterns(self.model, self.layer.value, chosen,
                                                  steps=self.steps.value, seed=self.seed)
        patterns, scores = self._patterns[key]
        set_png(self.image, plot_filter_patterns(patterns, chosen))
        self.info.value = (f"{self.layer.value}: patterns of filters {chosen[0]}-{chosen[-1]}, "
                           f"mean activation reached {float(np.mean(scores)):.3g}")
