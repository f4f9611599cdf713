"""Explorers for the CNN basics: one output number of a convolution, padding and stride,
and the receptive field of a unit. They only wire controls to
:mod:`catdogkit.visualize.basics`; every number shown is computed there."""
import html

import ipywidgets as W
import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from catdogkit.i18n import _, format_number
from catdogkit.visualize.activations import layer_outputs
from catdogkit.visualize.basics import (
    conv_output_size, convolution_at, convolve, layer_input, unit_box)
from catdogkit.visualize.layers import layer_names
from catdogkit.visualize.selectivity import receptive_field
from catdogkit.widgets._base import Explorer, image_widget, set_png


def _slider(description, maximum, value=0):
    return W.IntSlider(min=0, max=maximum, value=min(value, maximum), description=description,
                       continuous_update=False)


def _grid(values):
    """A small HTML table of a 2-D array (one channel of a 3 x 3 patch, kernel or products)."""
    rows = "".join("<tr>" + "".join(f"<td style='padding:0 6px;text-align:right'>{format_number(float(v), 3)}</td>"
                                    for v in row) + "</tr>" for row in values)
    return f"<table style='font-family:monospace'>{rows}</table>"


class ConvolutionStepExplorer(Explorer):
    """One output number of a convolution, computed in front of the student.

    Pick a map position (``.row``, ``.col``) and a filter (``.filter``) of ``layer``; see
    where the filter sits on the photo and that patch enlarged (``.image``), and in ``.steps`` (HTML) the patch,
    the kernel and their products per colour channel, their sum, the bias, the ReLU, and
    the value the layer itself computed there (they agree).

    Introduced in lesson 03 (feature maps).
    """

    name = "convolution-step"

    def __init__(self, model, photo, layer="conv1"):
        super().__init__()
        self.model, self.photo, self.layer = model, np.asarray(photo, np.float32), layer
        height, width = layer_outputs(model, self.photo, [layer])[layer].shape[1:3]
        filters = model.get_layer(layer).filters
        self.row = _slider(_("Row"), height - 1, height // 2)
        self.col = _slider(_("Column"), width - 1, width // 2)
        self.filter = _slider(_("Filter"), filters - 1)
        self.image = image_widget("catdogkit-convolution-step-image")
        self.steps = W.HTML()
        self.result = {}
        for control in (self.row, self.col, self.filter):
            control.observe(self.callback(self.redraw), names="value")
        self._finish(W.HBox([self.row, self.col, self.filter]), W.HBox([self.image, self.steps]))
        self.callback(self.redraw)()

    def redraw(self, _change=None):
        """Recompute the chosen output value and redraw the patch and the steps."""
        self.result = convolution_at(self.model, self.photo, self.layer, self.row.value,
                                     self.col.value, self.filter.value)
        self.steps.value = self._steps_html(self.result)
        top, left, size = unit_box(self.model, self.layer, self.row.value, self.col.value)
        fig = Figure(figsize=(5, 2.6))
        photo_ax, patch_ax = fig.subplots(1, 2)
        photo_ax.imshow(np.clip(self.photo / 255.0, 0, 1))
        photo_ax.add_patch(Rectangle((left - 0.5, top - 0.5), size, size, fill=False,
                                     color="red", lw=2))
        patch = self.result["patch"]
        patch_ax.imshow(np.clip(patch, 0, 1) if patch.shape[-1] == 3 else patch.mean(axis=-1),
                        interpolation="nearest")
        patch_ax.set_title(_("the {size} x {size} patch, enlarged").format(size=size))
        for ax in (photo_ax, patch_ax):
            ax.set_axis_off()
        set_png(self.image, fig)

    def _steps_html(self, r):
        colours = (_("red"), _("green"), _("blue"))
        parts = []
        for c in range(r["patch"].shape[-1]):
            name = colours[c] if r["patch"].shape[-1] == 3 else _("channel {c}").format(c=c)
            parts.append(_("{name}: patch {patch} × kernel {kernel} = products {products}").format(
                name=f"<b>{html.escape(name)}</b>", patch=_grid(r["patch"][..., c]),
                kernel=_grid(r["kernel"][..., c]), products=_grid(r["products"][..., c])))
        shown = {key: format_number(float(r[key]), 4) for key in ("total", "bias", "before", "after", "actual")}
        shown["after"], shown["actual"] = f"<b>{shown['after']}</b>", f"<b>{shown['actual']}</b>"
        parts.append(_("sum of the {n} products = {total}; + bias {bias} = {before}; ReLU → {after}; the "
                       "layer's own output there: {actual}").format(n=r["products"].size, **shown))
        return "<br>".join(parts)


class PaddingStrideExplorer(Explorer):
    """One filter of ``layer`` slid over the photo with the padding and stride you choose.

    Controls: ``.padding`` (Dropdown ``valid``/``same``), ``.stride`` (1–4), ``.filter``;
    outputs: ``.info`` (the output size, from :func:`conv_output_size`, and the map's real
    shape) and ``.image`` (the map). No bias or ReLU: the plain sliding sum.

    Introduced in lesson 03 (feature maps).
    """

    name = "padding-stride"

    def __init__(self, model, photo, layer="conv1"):
        super().__init__()
        self.model, self.layer = model, layer
        self.inputs = layer_input(model, photo, layer)
        self.kernels = np.asarray(model.get_layer(layer).kernel)
        self.padding = W.Dropdown(options=["valid", "same"], value="valid", description=_("Padding"))
        self.stride = _slider(_("Stride"), 4, 1)
        self.stride.min = 1
        self.filter = _slider(_("Filter"), self.kernels.shape[-1] - 1)
        self.info = W.Label()
        self.image = image_widget("catdogkit-padding-stride-image")
        self.map = None
        for control in (self.padding, self.stride, self.filter):
            control.observe(self.callback(self.redraw), names="value")
        self._finish(W.HBox([self.padding, self.stride, self.filter]), self.info, self.image)
        self.callback(self.redraw)()

    def redraw(self, _change=None):
        """Slide the chosen filter with the chosen padding and stride; show size and map."""
        size, kernel = self.inputs.shape[0], self.kernels.shape[0]
        expected = conv_output_size(size, kernel, self.padding.value, self.stride.value)
        self.map = convolve(self.inputs, self.kernels[..., self.filter.value],
                            self.padding.value, self.stride.value)
        self.info.value = _("input {size} x {size}, kernel {kernel} x {kernel}, padding {padding}, stride "
                            "{stride} → output {expected} x {expected} (the map below is {rows} x {cols})").format(
            size=size, kernel=kernel, padding=self.padding.value, stride=self.stride.value,
            expected=expected, rows=self.map.shape[0], cols=self.map.shape[1])
        fig = Figure(figsize=(3, 3))
        ax = fig.subplots()
        ax.imshow(self.map, cmap="viridis", extent=(0, size, size, 0))
        ax.set_title(f"{self.map.shape[0]} x {self.map.shape[1]}")
        ax.set_axis_off()
        set_png(self.image, fig)


def _windowed_layers(model):
    """The conv and pooling layers (those with a window), not rescaling or normalization."""
    return [name for name in layer_names(model, "spatial")
            if any(hasattr(model.get_layer(name), a) for a in ("kernel_size", "pool_size"))]


class ReceptiveFieldExplorer(Explorer):
    """Where in the photo one unit of a layer looks.

    Controls: ``.layer`` (Dropdown of conv and pooling layers), ``.row`` and ``.col`` (the
    unit's position in that layer's map, applied on release). ``.image`` shows the photo
    with the unit's receptive field as a square and the layer's map (channel of strongest
    mean) with the unit marked; ``.info`` says the size ("a conv4 unit sees 38 x 38 px").

    Introduced in lesson 03 (feature maps).
    """

    name = "receptive-field"

    def __init__(self, model, photo, layers=None):
        super().__init__()
        self.model, self.photo = model, np.asarray(photo, np.float32)
        names = _windowed_layers(model) if layers is None else list(layers)
        self.maps = {n: m[0] for n, m in layer_outputs(model, self.photo, names).items()}
        self.layer = W.Dropdown(options=names, value=names[0], description=_("Layer"))
        self.row = _slider(_("Row"), 1)
        self.col = _slider(_("Column"), 1)
        self.info = W.Label()
        self.image = image_widget("catdogkit-receptive-field-image")
        self.box = None
        self.layer.observe(self.callback(self._layer_changed), names="value")
        for control in (self.row, self.col):
            control.observe(self.callback(self.redraw), names="value")
        self._finish(W.HBox([self.layer, self.row, self.col]), self.info, self.image)
        self.callback(self._layer_changed)()

    def _layer_changed(self, _change=None):
        height, width = self.maps[self.layer.value].shape[:2]
        with self.muted():
            self.row.max, self.col.max = height - 1, width - 1
            self.row.value, self.col.value = height // 2, width // 2
        self.redraw()

    def redraw(self, _change=None):
        """Draw the chosen unit's receptive field on the photo and the unit on its map."""
        layer = self.layer.value
        self.box = unit_box(self.model, layer, self.row.value, self.col.value)
        top, left, size = self.box
        _size, stride = receptive_field(self.model, layer)
        maps = self.maps[layer]
        self.info.value = _("a {layer} unit sees {size} x {size} px of the photo; its neighbour looks "
                            "{stride} px further; the map is {rows} x {cols}").format(
            layer=layer, size=size, stride=stride, rows=maps.shape[0], cols=maps.shape[1])
        fig = Figure(figsize=(7, 3.4))
        photo_ax, map_ax = fig.subplots(1, 2)
        photo_ax.imshow(np.clip(self.photo / 255.0, 0, 1))
        photo_ax.add_patch(Rectangle((left - 0.5, top - 0.5), size, size, fill=False,
                                     color="red", lw=2))
        photo_ax.set_title(_("what the unit sees: {size} x {size} px").format(size=size))
        channel = int(maps.mean(axis=(0, 1)).argmax())
        map_ax.imshow(maps[..., channel], cmap="viridis")
        map_ax.add_patch(Rectangle((self.col.value - 0.5, self.row.value - 0.5), 1, 1,
                                   fill=False, color="red", lw=2))
        map_ax.set_title(_("{layer}, channel {channel}: the unit").format(layer=layer, channel=channel))
        for ax in (photo_ax, map_ax):
            ax.set_axis_off()
        set_png(self.image, fig)
