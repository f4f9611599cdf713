"""Layer explorer: one photo followed through every layer at once."""
import html

import ipywidgets as W

from catdogkit.i18n import _, format_number, format_percent
from catdogkit.visualize.activations import layer_statistics
from catdogkit.visualize.layers import check_layer, layer_names, photo_digest
from catdogkit.visualize.plots import plot_all_feature_maps
from catdogkit.widgets._base import Explorer, OutputCache, image_widget, set_png
from catdogkit.widgets.photos import PhotoPicker


def statistics_table(stats):
    """Per-layer statistics (``layer_statistics``) as an HTML table.
    """
    rows = "".join(
        f"<tr><td>{html.escape(s['name'])}</td><td>{html.escape(s['kind'])}</td>"
        f"<td>{' x '.join(map(str, s['shape']))}</td><td>{format_number(s['size'])}</td>"
        f"<td>{format_percent(s['zero_fraction'], 0)}</td><td>{s['mean']:.3g}</td></tr>" for s in stats)
    head = "".join(f"<th>{html.escape(_(name))}</th>"
                   for name in ("layer", "type", "output shape", "values", "zeros", "mean"))
    return f'<table class="catdogkit-layer-table"><tr>{head}</tr>{rows}</table>'


class LayerExplorer(Explorer):
    """The chosen photo through every layer: a table of shape, share of zeros and mean
    activation per layer, and the first channels of every conv and pooling layer.

    Controls: ``.picker``, ``.channels`` (IntSlider: channels drawn per layer, applied on
    release); ``layers`` defaults to the conv and pooling layers. Outputs: ``.table``
    (HTML), ``.image`` (PNG), ``.message``. Outputs are
    cached per photo, so the slider never re-runs the network.

    Introduced in lesson 05 (layer visualization).
    """

    name = "layers"

    def __init__(self, model, photos=None, *, layers=None, channels=8):
        super().__init__()
        self.model = model
        if layers is None:  # conv and pooling layers: where size and depth change
            convs = layer_names(model, "conv")
            layers = [n for n in layer_names(model, "spatial")
                      if n in convs or "Pooling" in type(model.get_layer(n)).__name__]
        for name in layers:
            check_layer(model, name, "spatial")
        self.cache = OutputCache(model, layers)
        self._stats = {}
        self.picker = photos if isinstance(photos, PhotoPicker) else PhotoPicker(photos)
        self.channels = W.IntSlider(min=1, max=32, value=channels, description=_("Channels"),
                                    continuous_update=False)
        self.table = W.HTML()
        self.image = image_widget("catdogkit-layers-image")
        self.channels.observe(self.callback(self.redraw), names="value")
        self.picker.on_change(self.callback(self.redraw))
        self._finish(self.picker.widget, self.table, self.channels, self.image)
        self.callback(self.redraw)()

    def redraw(self, _change=None):
        """Fill the table and draw the first channels of every layer for the chosen photo."""
        photo = self.picker.value
        key = photo_digest(photo)
        if key not in self._stats:
            self._stats[key] = layer_statistics(self.model, photo)
        self.table.value = statistics_table(self._stats[key])
        maps = self.cache.get(photo)
        set_png(self.image, plot_all_feature_maps(maps, self.channels.value))
