"""What a lesson's set-up cell calls: where the lesson runs, which photos it uses, tables.

Every lesson starts with the same two cells: a parameters cell, then a set-up cell::

    import sys
    if "google.colab" in sys.modules:
        %pip install -q "catdogkit @ git+https://github.com/catdogkit/catdogkit@main"
    import catdogkit as cdk
    lesson = cdk.lesson.setup("01_utility_functions", data=DATA)

``setup`` says where the lesson runs (Colab, a JupyterHub or this computer), finds
the photos through :func:`catdogkit.data.find_data` and states on screen which
photos are used. In Colab it offers a button that mounts Google Drive and uses the
photos kept there: Drive is never mounted without the student asking. The course
catalogue (titles, links, the install line) is :mod:`catdogkit.course`.

Introduced in lesson 00.
"""
import html

from catdogkit import course, i18n, runtime
from catdogkit.i18n import _
from catdogkit.widgets.messages import error_html, note_html

_N_ = str  # marks a message for the catalogue; it is translated where it is shown
ENVIRONMENT_NAMES = {
    "colab": "Google Colab",
    "jupyterhub": _N_("a JupyterHub"),
    "local": _N_("this computer"),
}


class Lesson:
    """What :func:`setup` returns: where the lesson runs and which photos it uses.

    ``data`` is the :class:`catdogkit.data.DataSource` in use and ``root`` its folder;
    ``widget`` is the box shown under the set-up cell (a message and, in Colab, the
    Drive button). After the Drive button is used, ``data`` and ``root`` point to the
    photos from Drive, so the cells below use them when they run again.

    Introduced in lesson 00 (the class code, then and now).
    """

    def __init__(self, name, data, where, widget, message, drive_button=None):
        self.name = name
        self.data = data
        self.environment = where
        self.widget = widget
        self.message = message
        self.drive_button = drive_button
        self._listed = {}  # (folder, split, class) -> its photos; see photo()

    @property
    def root(self):
        """The folder of the photos this lesson uses."""
        return self.data.root

    def use_drive(self, **options):
        """Mount Google Drive (Colab only) and use the photos kept there.

        What the Drive button does; ``options`` go to :func:`catdogkit.data.use_drive`.
        """
        from catdogkit import data as data_module

        notes = []
        self.data = data_module.use_drive(announce=notes.append, **options)
        self.message.value = _describe(self, notes) + note_html(_(
            "Photos from Google Drive are now in use. Run the cells below again "
            "(Runtime → Run after) to use them."))
        return self.data

    @property
    def class_names(self):
        """The class folders of the photos in use, in label order (e.g. ``["cats", "dogs"]``)."""
        return list(self._photo_list(None, None))

    def photos(self, per_class=4, split="validation"):
        """``{label: path}`` of the first ``per_class`` photos of each class (for a PhotoPicker)."""
        from catdogkit.data import first_photos

        return first_photos(self.root, split, per_class)

    def photo(self, which, index=0, split="validation", image_size=150):
        """Photo ``index`` of a class as float32 ``(S, S, 3)``, values 0..255.

        ``which`` is a class name (``"cats"``) or its label (``0`` is the first class of
        :attr:`class_names`), so a lesson works whatever the class folders are called.
        The folder is checked once per split and class of a lesson (a check of 2,500
        photos takes 60 ms, a photo 1 ms): photos added later show after the set-up cell
        runs again.
        """
        from catdogkit.data import load_photo

        name = self.class_names[which] if isinstance(which, int) else which
        return load_photo(self._photo_list(split, name)[index], image_size)

    def _photo_list(self, split, name):
        """The photos of one split and class of the folder in use, listed once (split None:
        the class names)."""
        from catdogkit.data import check_photos, list_photos

        key = (self.root, split, name)
        if key not in self._listed:
            self._listed[key] = (check_photos(self.root).class_names if split is None
                                 else list_photos(self.root, split, name))
        return self._listed[key]

    def _ipython_display_(self):  # shown when a lesson's last line is the lesson itself
        from IPython.display import display

        display(self.widget)

    def __repr__(self):
        return f"Lesson({self.name!r}, environment={self.environment!r}, root={str(self.root)!r})"


def setup(name=None, data=None, *, seed=0, show=True, lang=None):
    """Start a lesson: say where it runs, find the photos, say which ones are used.

    ``name`` is the lesson notebook name (e.g. ``"03_feature_maps"``), ``data`` an
    optional folder of photos (otherwise ``CATDOGKIT_DATA``, a JupyterHub's shared
    folder, or the embedded sample; see :func:`catdogkit.data.find_data`). ``seed``
    makes the lesson's random choices repeatable. In Colab a button offers Google
    Drive; nothing is mounted until it is clicked. ``lang`` (``"en"`` or ``"es"``)
    is the language of the kit's messages, widgets and plots from here on (default:
    ``CATDOGKIT_LANG``, the notebook's own language, else English; see :mod:`catdogkit.i18n`).

    Returns a :class:`Lesson`. Introduced in lesson 00.
    """
    import ipywidgets as widgets

    from catdogkit import data as data_module

    if lang is not None:
        i18n.set_language(lang)
    _set_seed(seed)
    _show_figures()
    notes = []
    found = data_module.find_data(data, announce=notes.append)
    message = widgets.HTML()
    children = [message]
    lesson = Lesson(name and course.lesson_name(name), found, runtime.environment(), None, message)
    if lesson.environment == "colab":
        lesson.drive_button = _drive_button(lesson)
        children.append(lesson.drive_button)
    lesson.widget = widgets.VBox(children)
    message.value = _describe(lesson, notes)
    if show:
        _display(lesson.widget)
    return lesson


def table(rows, columns=None, *, code=(), numbers=None):
    """Rows as an HTML table for a lesson (what ``display`` shows; plain text elsewhere).

    ``rows`` is a list of dicts (``columns`` picks and orders their keys, default: the
    first row's keys) or of tuples (``columns`` names them). Keys listed in ``code`` are
    shown as code; integers get thousands separators as the kit's language writes them
    (``numbers``, a format string, replaces that, e.g. ``"{:,}"``).

    Introduced in lesson 00.
    """
    from IPython.display import HTML

    rows = list(rows)
    if columns is None:
        columns = list(rows[0]) if rows and isinstance(rows[0], dict) else []
    rows = [row if isinstance(row, dict) else dict(zip(columns, row)) for row in rows]

    def cell(key, value):
        if isinstance(value, int) and not isinstance(value, bool):
            text = numbers.format(value) if numbers else i18n.format_number(value)
        else:
            text = str(value)
        text = html.escape(text)
        if key in code:
            text = f"<pre style='margin:0;white-space:pre-wrap'>{text}</pre>"
        return f"<td style='text-align:left;vertical-align:top'>{text}</td>"

    head = "".join(f"<th style='text-align:left'>{html.escape(str(c))}</th>" for c in columns)
    body = "".join("<tr>" + "".join(cell(c, row.get(c, "")) for c in columns) + "</tr>" for row in rows)
    return HTML(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")


def _drive_button(lesson):
    import ipywidgets as widgets

    button = widgets.Button(description=_("Use my photos in Google Drive"),
                            layout=widgets.Layout(width="auto"), button_style="info")

    def clicked(_button):
        button.disabled = True
        lesson.message.value += note_html(_(
            "Mounting Google Drive and bringing the photos (the first time, a download of "
            "about 70 MB into your Drive)…"), "info")
        try:
            lesson.use_drive()
        except Exception as error:  # a callback's error would otherwise vanish
            lesson.message.value += error_html(error, "Google Drive")
        finally:
            button.disabled = False
    button.on_click(clicked)
    return button


def _describe(lesson, notes):
    """The HTML message under the set-up cell."""
    source = lesson.data
    lines = []
    if lesson.name:
        lines.append(f"<b>{html.escape(_lesson_label(lesson.name))}</b>")
    lines.append(_("Running on {where} ({compute}).").format(
        where=_(ENVIRONMENT_NAMES[lesson.environment]), compute=_compute()))
    lines.append(_("Photos: {what} in {folder} ({layout} layout).").format(
        what=html.escape(_source_words(source)), folder=f"<code>{html.escape(str(source.root))}</code>",
        layout=html.escape(str(getattr(source, "layout", "")))))
    reason = getattr(source, "reason", "")
    if reason:
        lines.append(_("Why these: {reason}.").format(reason=html.escape(str(reason))))
    for note in notes:  # what find_data said, except its own summary of the source
        note = str(note).strip()
        if note and not note.startswith("Photos:"):
            lines.append(html.escape(note).replace("\n", "<br>"))
    if lesson.environment == "colab" and getattr(source, "source", "") != "drive":
        lines.append(_("To use the real cats-and-dogs photos, click the button: it mounts your "
                       "Google Drive and keeps one copy of the photos there for next time."))
    if runtime.drive_mounted():
        lines.append(_("With Google Drive mounted, the lesson networks and the views computed from "
                       "them are kept in your Drive ({folder}), so your next session reuses them.")
                     .format(folder=f"<code>{html.escape(str(runtime.DRIVE / 'catdogkit'))}</code>"))
    return "<div style='line-height:1.5'>" + "<br>".join(lines) + "</div>"


_SOURCE_WORDS = {
    "explicit": _N_("the photos you asked for"),
    "env": _N_("the photos named by CATDOGKIT_DATA"),
    "drive": _N_("photos from your Google Drive"),
    "jupyterhub": _N_("the course's shared photos"),
    "sample": _N_("the embedded sample (cats and dogs drawn by the kit, no download needed)"),
}


def _source_words(source):
    return _(_SOURCE_WORDS.get(getattr(source, "source", ""), _N_("photos")))


def _lesson_label(name):
    """The lesson's heading in the kit's language (the course catalogue holds the English)."""
    number = name.split("_", 1)[0]
    return _("Lesson {number} · {title}").format(number=number, title=_(course.lesson_title(name)))


def _compute():
    try:
        import tensorflow as tf

        gpus = tf.config.list_physical_devices("GPU")
    except Exception:  # pragma: no cover - TensorFlow missing or broken
        return _("TensorFlow not available")
    return i18n.ngettext("{n} GPU", "{n} GPUs", len(gpus)).format(n=len(gpus)) if gpus else _("CPU only")


def _set_seed(seed):
    if seed is None:
        return
    import keras

    keras.utils.set_random_seed(seed)


def _show_figures():
    """Show a matplotlib ``Figure`` that is a cell's value as a PNG picture.

    The kit draws on ``matplotlib.figure.Figure`` without pyplot, so the notebook's
    inline backend never registers its picture formatter; without this, a figure would
    show as the text ``<Figure size 600x400 with 1 Axes>``.
    """
    try:
        from IPython import get_ipython
        from IPython.core.pylabtools import select_figure_formats
    except ImportError:  # pragma: no cover - IPython always comes with ipywidgets
        return
    from catdogkit.visualize.render import PNG_COMPRESSION

    shell = get_ipython()
    if shell is not None:
        select_figure_formats(shell, {"png"}, bbox_inches="tight",
                              pil_kwargs={"compress_level": PNG_COMPRESSION})


def _display(widget):
    try:
        from IPython.display import display
    except ImportError:  # pragma: no cover - IPython always comes with ipywidgets
        return
    display(widget)
