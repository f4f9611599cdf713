"""What every explorer shares: a message area that shows errors from callbacks, muting
while several controls change together, PNG rendering, and a per-photo output cache."""
import contextlib
import functools
from collections import OrderedDict

import ipywidgets as W

from catdogkit.visualize.activations import layer_outputs
from catdogkit.visualize.layers import photo_digest
from catdogkit.visualize.plots import figure_png
from catdogkit.widgets.messages import error_html

CSS_CLASS = "catdogkit-explorer"


def image_widget(css_class):
    """An empty PNG ``Image`` widget with a stable CSS class (browser tests find it by that)."""
    image = W.Image(format="png")
    image.add_class("catdogkit-image")
    image.add_class(css_class)
    return image


class OutputCache:
    """Outputs of some layers of ``model`` per photo, computed in one forward pass and kept.

    Moving a slider redraws from here instead of re-running the network. ``misses``
    counts the forward passes actually run (tests check that sliders cause none).
    """

    def __init__(self, model, names, max_photos=16):
        self.model, self.names, self.max_photos = model, list(names), max_photos
        self._store = OrderedDict()
        self.misses = 0

    def get(self, photo):
        key = photo_digest(photo)
        if key in self._store:
            self._store.move_to_end(key)
        else:
            self.misses += 1
            outputs = layer_outputs(self.model, photo, self.names)
            self._store[key] = {name: out[0] for name, out in outputs.items()}
            if len(self._store) > self.max_photos:
                self._store.popitem(last=False)
        return self._store[key]


class Explorer:
    """Base of the explorers: ``.widget`` (a VBox with CSS class ``catdogkit-explorer``),
    ``.message`` (an HTML area where errors from callbacks appear), and notebook display."""

    name = "explorer"

    def __init__(self):
        self.message = W.HTML(value="")
        self.message.add_class("catdogkit-message")
        self._muted = False

    def _finish(self, *children):
        self.widget = W.VBox([*children, self.message])
        self.widget.add_class(CSS_CLASS)
        self.widget.add_class(f"catdogkit-{self.name}")

    def _ipython_display_(self):
        from IPython.display import display
        display(self.widget)

    def show_error(self, error):
        """Show ``error`` in the message area (see :func:`catdogkit.widgets.messages.error_html`)."""
        self.message.value = error_html(error)

    def callback(self, function):
        """``function`` wrapped for use as an observer or click handler: it does nothing
        while the explorer is muted, clears the message area, and shows any error there
        (ipywidgets would otherwise drop it into the log where nobody sees it)."""
        @functools.wraps(function)
        def guarded(*args, **kwargs):
            if self._muted:
                return None
            self.message.value = ""
            try:
                return function(*args, **kwargs)
            except Exception as error:  # shown in the widget, never lost
                self.show_error(error)
                return None
        return guarded

    @contextlib.contextmanager
    def muted(self):
        """Change several controls without each change triggering a redraw."""
        previous, self._muted = self._muted, True
        try:
            yield
        finally:
            self._muted = previous


def set_png(image, fig, dpi=72):
    """Render ``fig`` into the Image widget ``image`` (Agg, PNG bytes)."""
    image.value = figure_png(fig, dpi=dpi)
