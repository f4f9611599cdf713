"""Dense-unit explorer: which units of a dense layer fire for cats and which for dogs."""
import ipywidgets as W
import numpy as np

from catdogkit.constants import CLASS_NAMES
from catdogkit.i18n import _, format_number
from catdogkit.visualize.dense import (
    class_means, class_separation, dense_activations, head_parameter_cost, pca_2d)
from catdogkit.visualize.layers import check_layer
from catdogkit.visualize.plots import plot_dense_units, plot_pca
from catdogkit.widgets._base import Explorer, image_widget, set_png


class DenseExplorer(Explorer):
    """Mean activation of each unit of ``layer`` for cat photos and dog photos, and a PCA
    map of all photos in that layer's space.

    ``photos`` ``(N, H, W, 3)`` with ``labels`` ``(N,)``, or a ``tf.data.Dataset`` of
    ``(photos, labels)`` (then ``labels`` is None). Activations are computed once, here.
    Controls: ``.units`` (IntRangeSlider, applied on release), ``.order`` (ToggleButtons:
    by unit number, or most dog-minded first); outputs: ``.image`` (bars), ``.pca_image``,
    ``.info`` (head cost and class separation), ``.message``.

    Introduced in lesson 04 (dense layers).
    """

    name = "dense"

    def __init__(self, model, photos, labels=None, *, layer="dense", class_names=CLASS_NAMES,
                 max_units=64):
        super().__init__()
        self.class_names, self.max_units = class_names, max_units
        check_layer(model, layer, "vector")
        if labels is None:
            self.activations, self.labels = dense_activations(model, photos, layer)
        else:
            self.activations = dense_activations(model, photos, layer)
            self.labels = np.asarray(labels).reshape(-1).astype(int)
        self.means = class_means(self.activations, self.labels)
        self.points, self.explained = pca_2d(self.activations)
        units = self.activations.shape[1]
        self.units = W.IntRangeSlider(min=0, max=max(1, units - 1),
                                      value=(0, min(units, 32) - 1), description=_("Units"),
                                      continuous_update=False)
        self.order = W.ToggleButtons(options=[(_("unit number"), "index"),
                                              (_("dogs minus cats"), "difference")],
                                     value="index", description=_("Order"))
        self.image = image_widget("catdogkit-dense-units-image")
        self.pca_image = image_widget("catdogkit-dense-pca-image")
        cost = head_parameter_cost(model)
        separation = class_separation(self.points, self.labels)
        self.info = W.Label(_(
            "{layer}: {units} units. Flatten+Dense costs {dense} parameters, global pooling"
            " {pooling}. Class separation in the PCA map: {separation}").format(
            layer=layer, units=units, dense=format_number(cost["flatten_dense"]),
            pooling=format_number(cost["global_pooling"]), separation=format_number(separation, 2)))
        for control in (self.units, self.order):
            control.observe(self.callback(self.redraw), names="value")
        self._finish(W.HBox([self.units, self.order]), self.info, self.image, self.pca_image)
        set_png(self.pca_image, plot_pca(self.points, self.labels, class_names, self.explained))
        self.callback(self.redraw)()

    def shown_units(self):
        """Unit indices drawn now: the slider's range of the chosen order."""
        order = np.arange(self.means.shape[1])
        if self.order.value == "difference":
            order = np.argsort(-(self.means[1] - self.means[0]), kind="stable")
        low, high = self.units.value
        return order[low:min(high, low + self.max_units - 1) + 1]

    def redraw(self, _change=None):
        """Draw the class means of the shown units."""
        set_png(self.image, plot_dense_units(self.means, self.class_names, self.shown_units()))
