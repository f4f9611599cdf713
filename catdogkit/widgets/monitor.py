"""Training monitor: a progress bar and live curves, as a Keras callback."""
import html
import time

import ipywidgets as W
import keras

from catdogkit.i18n import _
from catdogkit.visualize.plots import plot_training_curves
from catdogkit.widgets._base import CSS_CLASS, image_widget, set_png


class TrainingMonitor(keras.callbacks.Callback):
    """Shows training live in core widgets: ``.progress`` (IntProgress over all batches),
    ``.label`` (epoch and latest metrics), ``.image`` (loss and accuracy curves, redrawn
    after each epoch), ``.message`` (HTML: an error in the monitor appears here and
    training goes on). ``.widget`` is the VBox to display; ``.history`` the metrics so far.

    No ``clear_output`` and no print: it works in Colab (ipywidgets 7.7), JupyterLab and
    Voila. ``display(monitor)`` shows it; pass it to ``catdogkit.training.train(...,
    callbacks=[monitor])``, where it replaces the printed line per epoch.

    Introduced in lesson 02 (building a CNN).
    """

    def __init__(self, *, min_interval=0.25):
        super().__init__()
        self.min_interval = min_interval  # seconds between progress-bar messages
        self.progress = W.IntProgress(min=0, max=1, value=0, description=_("Training"))
        self.label = W.Label(_("waiting for training to start"))
        self.image = image_widget("catdogkit-training-curves-image")
        self.message = W.HTML()
        self.message.add_class("catdogkit-message")
        self.widget = W.VBox([self.progress, self.label, self.image, self.message])
        self.widget.add_class(CSS_CLASS)
        self.widget.add_class("catdogkit-training-monitor")
        self.history = {}
        self._epoch, self._steps, self._last = 0, None, 0.0

    def _ipython_display_(self):
        from IPython.display import display
        display(self.widget)

    def _shown(self, function, *args):
        # A bug in drawing must not stop an hour of training, nor vanish unseen.
        try:
            function(*args)
        except Exception as error:
            said = _("training monitor: {kind}: {error}").format(kind=type(error).__name__, error=error)
            self.message.value = f'<div style="color:#b71c1c">{html.escape(said)}</div>'

    def on_train_begin(self, logs=None):
        self._shown(self._begin)

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        self._shown(self._batch, batch)

    def on_epoch_end(self, epoch, logs=None):
        self._shown(self._epoch_end, epoch, logs or {})

    def on_train_end(self, logs=None):
        self._shown(self._end)

    def _begin(self):
        epochs = self.params.get("epochs") or 1
        self._steps = self.params.get("steps")
        self.progress.max = epochs * self._steps if self._steps else epochs
        self.progress.value = 0
        self.progress.bar_style = ""
        self.label.value = _("training for {epochs} epochs").format(epochs=epochs)

    def _batch(self, batch):
        now = time.monotonic()
        if not self._steps or now - self._last < self.min_interval:
            return
        self._last = now
        self.progress.value = min(self.progress.max, self._epoch * self._steps + batch + 1)

    def _epoch_end(self, epoch, logs):
        for key, value in logs.items():
            if hasattr(value, "__float__"):  # numbers and 0-d tensors, not strings
                self.history.setdefault(key, []).append(float(value))
        epochs = self.params.get("epochs") or epoch + 1
        self.progress.value = min(self.progress.max,
                                  (epoch + 1) * self._steps if self._steps else epoch + 1)
        shown = ", ".join(f"{k} {float(v):.3f}" for k, v in logs.items() if k in self.history)
        self.label.value = _("epoch {epoch}/{total}: {metrics}").format(
            epoch=epoch + 1, total=epochs, metrics=shown)
        set_png(self.image, plot_training_curves(self.history))

    def _end(self):
        self.progress.value = self.progress.max
        self.progress.bar_style = "success"
