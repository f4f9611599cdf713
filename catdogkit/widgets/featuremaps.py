"""Feature-map explorer: every channel of a conv or pooling layer for the chosen photo."""
import ipywidgets as W

from catdogkit.i18n import _
from catdogkit.visualize.layers import check_layer, layer_names
from catdogkit.visualize.render import colour_tiles_png
from catdogkit.widgets._base import Explorer, OutputCache, image_widget
from catdogkit.widgets.photos import PhotoPicker


class FeatureMapExplorer(Explorer):
    """Pick a photo, a layer and a range of channels; see those feature maps as a grid.

    ``photos`` is a :class:`PhotoPicker` (shared with other explorers) or what
    ``PhotoPicker`` takes. ``layers`` defaults to every conv and pooling layer. Controls:
    ``.picker``, ``.layer`` (Dropdown), ``.channels`` (IntRangeSlider, applied on release);
    outputs: ``.image`` (PNG), ``.info`` (Label), ``.message``. At most ``max_channels``
    channels are drawn at once. One forward pass per photo fills ``.cache`` with every
    layer's maps, so moving the controls never re-runs the network.

    Introduced in lesson 03 (feature maps).
    """

    name = "feature-maps"

    def __init__(self, model, photos=None, *, layers=None, max_channels=32):
        super().__init__()
        self.model, self.max_channels = model, max_channels
        names = layer_names(model, "spatial") if layers is None else list(layers)
        for name in names:
            check_layer(model, name, "spatial")
        self.cache = OutputCache(model, names)
        self.picker = photos if isinstance(photos, PhotoPicker) else PhotoPicker(photos)
        convs = [name for name in names if name in layer_names(model, "conv")]
        self.layer = W.Dropdown(options=names, value=(convs or names)[0], description=_("Layer"))
        self.channels = W.IntRangeSlider(min=0, max=1, value=(0, 1), description=_("Channels"),
                                         continuous_update=False)
        self.image = image_widget("catdogkit-feature-maps-image")
        self.image.width = 480  # the browser enlarges the small PNG: quicker than sending a big one
        self.info = W.Label()
        self.layer.observe(self.callback(self._layer_changed), names="value")
        self.channels.observe(self.callback(self.redraw), names="value")
        self.picker.on_change(self.callback(self.redraw))
        self._finish(self.picker.widget, W.HBox([self.layer, self.channels]), self.info,
                     self.image)
        self.callback(self._layer_changed)()

    def _layer_changed(self, _change=None):
        channels = self.cache.get(self.picker.value)[self.layer.value].shape[-1]
        with self.muted():
            self.channels.max = max(1, channels - 1)
            self.channels.min = 0
            self.channels.value = (0, min(channels, 16) - 1)
        self.redraw()

    def redraw(self, _change=None):
        """Draw the chosen channels of the chosen layer for the chosen photo."""
        maps = self.cache.get(self.picker.value)[self.layer.value]
        low, high = self.channels.value
        high = min(high, maps.shape[-1] - 1, low + self.max_channels - 1)
        shown = range(low, high + 1)
        self.image.value = colour_tiles_png(maps, shown, ncols=8 if len(shown) > 16 else None)
        h, w, c = maps.shape
        clipped = "" if high == self.channels.value[1] else _(" (at most {n} at once)").format(
            n=self.max_channels)
        self.info.value = _("{photo} · {layer}: {h}x{w} maps, {c} channels; showing {low}-{high}").format(
            photo=self.picker.label, layer=self.layer.value, h=h, w=w, c=c, low=low, high=high) + clipped
