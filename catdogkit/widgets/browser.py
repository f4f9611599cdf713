"""Data set browser: page through the photos of a split and class."""
import ipywidgets as W
import numpy as np

from catdogkit.data import check_photos, list_photos, load_photo
from catdogkit.i18n import _
from catdogkit.sample import make_sample
from catdogkit.visualize.plots import plot_images
from catdogkit.widgets._base import Explorer, image_widget, set_png


class DataBrowser(Explorer):
    """Page through the usable photos of a data set folder, by split and class.

    ``root`` is a data set folder (default: the embedded sample). Controls: ``.split``,
    ``.class_name`` (Dropdowns), ``.page`` (IntSlider, applied on release); outputs:
    ``.image`` (``per_page`` photos with their file names), ``.info``, ``.message``.

    Introduced in lesson 01 (utility functions).
    """

    name = "data-browser"

    def __init__(self, root=None, *, image_size=150, per_page=8,
                 splits=("train", "validation", "test"), class_names=None):
        super().__init__()
        self.root = root if root is not None else make_sample()
        class_names = class_names or check_photos(self.root).class_names
        self.image_size, self.per_page = image_size, per_page
        self.split = W.Dropdown(options=list(splits), value=splits[0], description=_("Split"))
        self.class_name = W.Dropdown(options=list(class_names), value=class_names[0],
                                     description=_("Class"))
        self.page = W.IntSlider(min=0, max=0, value=0, description=_("Page"),
                                continuous_update=False)
        self.image = image_widget("catdogkit-data-browser-image")
        self.info = W.Label()
        self.split.observe(self.callback(self._folder_changed), names="value")
        self.class_name.observe(self.callback(self._folder_changed), names="value")
        self.page.observe(self.callback(self.redraw), names="value")
        self._finish(W.HBox([self.split, self.class_name]), self.page, self.info, self.image)
        self.callback(self._folder_changed)()

    def _folder_changed(self, _change=None):
        self.paths = list_photos(self.root, self.split.value, self.class_name.value)
        with self.muted():
            self.page.max = max(0, (len(self.paths) - 1) // self.per_page)
            self.page.value = 0
        self.redraw()

    def redraw(self, _change=None):
        """Draw the current page of photos."""
        first = self.page.value * self.per_page
        paths = self.paths[first:first + self.per_page]
        where = f"{self.split.value}/{self.class_name.value}"
        if not paths:
            self.image.value = b""
            self.info.value = _("no usable photos in {where}").format(where=where)
            return
        photos = np.stack([load_photo(p, self.image_size) for p in paths])
        set_png(self.image, plot_images(photos, [p.name for p in paths], ncols=4))
        self.info.value = _("{where}: photos {first}-{last} of {total}").format(
            where=where, first=first + 1, last=first + len(paths), total=len(self.paths))
