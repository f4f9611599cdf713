"""The photo picker: sample photos of both classes, or the student's own photo by upload."""
import html
from pathlib import Path

import ipywidgets as W
import numpy as np

from catdogkit.data import first_photos, load_photo
from catdogkit.constants import MAX_UPLOAD_BYTES
from catdogkit.errors import CatDogKitError
from catdogkit.i18n import _, format_number
from catdogkit.sample import make_sample
from catdogkit.visualize.render import image_png
from catdogkit.widgets._base import Explorer, image_widget
from catdogkit.widgets._compat import clear_upload, uploaded_files


class PhotoPicker(Explorer):
    """Choose a sample photo of a cat or a dog, or upload your own.

    ``photos`` is ``{label: photo array (H, W, 3) 0..255 or path}`` (default: ``per_class``
    validation photos of each class from the embedded sample). Controls: ``.choice``
    (Dropdown of labels), ``.upload`` (FileUpload, images only), ``.preview`` (Image),
    ``.message`` (HTML). ``.value`` is the chosen photo, float32 ``(S, S, 3)`` 0..255,
    ``.label`` its label; ``on_change(function)`` calls ``function()`` after each change.
    An empty, unreadable or too large upload (over ``max_bytes``) gives a message, not
    a traceback, and leaves the current photo chosen.

    Introduced in lesson 03 (visualizing feature maps) and used again in lesson 07 (your own photo).
    """

    name = "photo-picker"

    def __init__(self, photos=None, *, image_size=150, max_bytes=MAX_UPLOAD_BYTES, per_class=4):
        super().__init__()
        self.image_size, self.max_bytes = image_size, max_bytes
        self._sources = dict(photos) if photos is not None else first_photos(make_sample(), per_class=per_class)
        if not self._sources:
            raise CatDogKitError(_("the photo picker got no photos to offer"))
        self._loaded = {}
        self._listeners = []
        self.choice = W.Dropdown(options=list(self._sources), description=_("Photo"))
        self.upload = W.FileUpload(accept="image/*", multiple=False,
                                   description=_("Your photo"))
        self.preview = image_widget("catdogkit-photo-preview")
        self.preview.width = 150
        self.choice.observe(self.callback(self._chosen), names="value")
        self.upload.observe(self.callback(self._uploaded), names="value")
        self._finish(W.HBox([self.choice, self.upload]), self.preview)
        self._chosen()

    @property
    def label(self):
        return self.choice.value

    @property
    def value(self):
        return self._photo(self.choice.value)

    def on_change(self, function):
        """Call ``function()`` after the chosen photo changes."""
        self._listeners.append(function)

    def _photo(self, label):
        if label not in self._loaded:
            source = self._sources[label]
            if isinstance(source, (str, Path, bytes)):
                photo = load_photo(source, self.image_size)
            else:
                photo = np.asarray(source, dtype=np.float32)
            self._loaded[label] = photo
        return self._loaded[label]

    def _chosen(self, _change=None):
        photo = self.value
        self.preview.value = image_png(np.clip(photo, 0, 255))
        for function in self._listeners:
            function()

    def _uploaded(self, _change):
        files = uploaded_files(self.upload)
        if not files:
            return
        clear_upload(self.upload)
        name, content = files[0]
        label = _("your photo: {name}").format(name=name)
        self._sources[label] = self._loaded[label] = self._decode(name, content)
        self.choice.options = list(self._sources)
        if self.choice.value == label:  # the same file again: no value change to react to
            self._chosen()
        self.choice.value = label
        self.message.value = _("Using your photo {name}.").format(name=html.escape(name))

    def _decode(self, name, content):
        if not content:
            raise CatDogKitError(_("{name} is empty (0 bytes): choose a photo file (JPEG or PNG).").format(
                name=name))
        if len(content) > self.max_bytes:
            raise CatDogKitError(_(
                "{name} is too big ({size} MB; the limit is {limit} MB). Save a smaller copy "
                "(e.g. 800 pixels wide) and upload that. In Colab, keep uploads under 1 MB.").format(
                name=name, size=format_number(len(content) / 2**20, 1),
                limit=format_number(self.max_bytes / 2**20, 0)))
        try:
            return load_photo(content, self.image_size)
        except CatDogKitError as error:
            raise CatDogKitError(f"{name}: {error}") from error
