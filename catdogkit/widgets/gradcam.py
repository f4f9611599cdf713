"""Grad-CAM explorer: where the network looks in the chosen photo, for cats or for dogs."""
import ipywidgets as W
import numpy as np

from catdogkit.i18n import _, format_number
from catdogkit.visualize.heatmaps import default_cam_layer, grad_cam, overlay
from catdogkit.visualize.layers import as_batch, layer_names, photo_digest
from catdogkit.visualize.render import image_png
from catdogkit.widgets._base import Explorer, image_widget
from catdogkit.widgets.photos import PhotoPicker


class GradCamExplorer(Explorer):
    """Pick a photo, a conv layer and a class; see the Grad-CAM heatmap over the photo.

    Controls: ``.picker``, ``.layer`` (Dropdown of conv layers, default the last),
    ``.class_index`` (ToggleButtons cat=0 / dog=1), ``.alpha`` (FloatSlider, heatmap
    opacity, applied on release); outputs: ``.image``, ``.info`` (the prediction),
    ``.message``. Heatmaps and predictions are cached per (photo, layer, class).
    Several explorers can share one ``PhotoPicker``; ``show_picker=False`` leaves it out
    of all but one, so the page shows it once and it drives them all.

    Introduced in lesson 07 (the improved model).
    """

    name = "grad-cam"

    def __init__(self, model, photos=None, *, class_names=("cat", "dog"), show_picker=True):
        super().__init__()
        self.model, self.class_names = model, class_names
        self._heatmaps, self._predictions = {}, {}
        self.picker = photos if isinstance(photos, PhotoPicker) else PhotoPicker(photos)
        self.layer = W.Dropdown(options=layer_names(model, "conv"), value=default_cam_layer(model),
                                description=_("Layer"))
        self.class_index = W.ToggleButtons(options=[(class_names[0], 0), (class_names[1], 1)],
                                           value=1, description=_("Class"))
        self.alpha = W.FloatSlider(min=0.0, max=1.0, step=0.05, value=0.4, description=_("Heatmap"),
                                   continuous_update=False)
        self.image = image_widget("catdogkit-grad-cam-image")
        self.image.width = 300
        self.info = W.Label()
        for control in (self.layer, self.class_index, self.alpha):
            control.observe(self.callback(self.redraw), names="value")
        self.picker.on_change(self.callback(self.redraw))
        self._finish(*([self.picker.widget] if show_picker else []),
                     W.HBox([self.layer, self.class_index]), self.alpha, self.info, self.image)
        self.callback(self.redraw)()

    def heatmap(self):
        """The Grad-CAM heatmap ``(h, w)`` 0..1 for the current choices (cached)."""
        photo = self.picker.value
        key = (photo_digest(photo), self.layer.value, self.class_index.value)
        if key not in self._heatmaps:
            self._heatmaps[key] = grad_cam(self.model, photo, self.layer.value,
                                           self.class_index.value)
        return self._heatmaps[key]

    def prediction(self):
        """P(dog) for the chosen photo (cached)."""
        photo = self.picker.value
        key = photo_digest(photo)
        if key not in self._predictions:
            out = self.model(as_batch(self.model, photo), training=False)
            self._predictions[key] = float(np.asarray(out).reshape(-1)[0])
        return self._predictions[key]

    def redraw(self, _change=None):
        """Draw the heatmap over the photo and state the prediction."""
        photo = as_batch(self.model, self.picker.value)[0]
        heat = self.heatmap()
        p_dog = self.prediction()
        said = self.class_names[int(p_dog >= 0.5)]
        shown = self.class_names[self.class_index.value]
        self.image.value = image_png(overlay(photo, heat, self.alpha.value) * 255)
        self.info.value = (_("{photo}: P(dog) = {p}, the network says {said}. Heatmap: where it sees a"
                             " {shown}.").format(photo=self.picker.label, p=format_number(p_dog, 2),
                                                 said=said, shown=shown)
                           + ("" if heat.max() > 0 else _(" Nothing here speaks for {shown}.").format(
                               shown=shown)))
