"""What a lesson's set-up cell calls, and where the lessons live on the web.

Every lesson starts with the same two cells: a parameters cell, then a set-up cell::

    import sys
    if "google.colab" in sys.modules:
        %pip install -q "catdogkit @ git+https://github.com/catdogkit/catdogkit@main"
    import catdogkit as cdk
    lesson = cdk.lesson.setup("01_utility_functions", data=DATA)

``setup`` says where the lesson runs (Colab, a JupyterHub or this computer), finds
the photos through :func:`catdogkit.data.find_data` and states on screen which
photos are used. In Colab it offers a button that mounts Google Drive and uses the
photos kept there: Drive is never mounted without the student asking.

The repository (owner/name and branch) is written in ONE place, :data:`REPOSITORY`
and :data:`BRANCH`. The "Open in Colab" badges and the install line of every lesson
are made from them; a test checks that the notebooks say the same.

Introduced in lesson 00.
"""
import html
import os

from catdogkit import runtime
from catdogkit.errors import CatDogKitError

#: GitHub owner/name of the repository that holds the lessons (the one place it is written).
REPOSITORY = "catdogkit/catdogkit"
#: The branch that badges and install lines point to.
BRANCH = "main"

#: The lessons in order: (notebook name without ``.ipynb``, title).
LESSONS = (
    ("00_class_code_then_and_now", "The class code, then and now"),
    ("01_utility_functions", "Utility functions: finding, checking and streaming the photos"),
    ("02_building_a_cnn", "Building a CNN"),
    ("03_feature_maps", "Visualizing feature maps"),
    ("04_dense_layers", "Dense layers"),
    ("05_layer_visualization", "Layer visualization"),
    ("06_convnet_filters", "Visualizing convnet filters"),
    ("07_improved_model", "The improved model"),
)

#: Lesson 02's training folder name (under ``catdogkit.training.runs_dir``) and its
#: default epochs (EPOCHS + MORE_EPOCHS in its parameters cell): what :func:`prepare` trains.
LESSON02_RUN = "lesson02_original_cnn"
LESSON02_EPOCHS = 6 + 2

COLAB_BADGE_IMAGE = "https://colab.research.google.com/assets/colab-badge.svg"

ENVIRONMENT_NAMES = {
    "colab": "Google Colab",
    "jupyterhub": "a JupyterHub",
    "local": "this computer",
}


def repository_url():
    """The repository's web address, e.g. ``https://github.com/catdogkit/catdogkit``."""
    return f"https://github.com/{REPOSITORY}"


def install_command():
    """The line a lesson runs in Colab to install the kit.

    It installs the kit and its small dependencies only. There is no TensorFlow extra,
    so pip never reinstalls Colab's TensorFlow; ipywidgets is accepted from 7.7, so
    Colab's ipywidgets 7.7.1 stays as it is.
    """
    return f'%pip install -q "catdogkit @ git+{repository_url()}@{BRANCH}"'


def colab_url(path):
    """The "Open in Colab" address of a notebook given by its path in the repository.

    ``path`` is e.g. ``"lessons/03_feature_maps.ipynb"`` or a lesson name
    (``"03_feature_maps"``), which means the lesson notebook.
    """
    path = _notebook_path(path)
    return f"https://colab.research.google.com/github/{REPOSITORY}/blob/{BRANCH}/{path}"


def colab_badge(path):
    """Markdown for the "Open in Colab" badge of a notebook (see :func:`colab_url`)."""
    return f"[![Open In Colab]({COLAB_BADGE_IMAGE})]({colab_url(path)})"


def lesson_names():
    """The lesson notebook names, in order."""
    return [name for name, _ in LESSONS]


def lesson_title(name):
    """The title of a lesson, e.g. ``"Visualizing feature maps"`` for ``"03_feature_maps"``."""
    return dict(LESSONS)[_lesson_name(name)]


def exercise_folder(name):
    """The exercise folder of a lesson, relative to the repository (``exercises/<lesson>``).

    Exercises are nbgrader assignments named after their lesson (lesson 01 and later).
    """
    return f"exercises/{_lesson_name(name)}"


def exercise_notebook(name):
    """The exercise notebook of a lesson: ``exercises/<lesson>/<lesson>.ipynb``."""
    name = _lesson_name(name)
    return f"exercises/{name}/{name}.ipynb"


def exercise_links(name):
    """Markdown: the lesson's exercise (a relative link and an "Open in Colab" link).

    Lesson 00 has no exercise; its line points to the first one (lesson 01).
    """
    name = _lesson_name(name)
    first = lesson_names()[1]
    target = first if name == lesson_names()[0] else name
    words = "Exercises start with lesson 01" if target != name else "Exercise"
    path = exercise_notebook(target)
    return f"{words}: [{target}](../{path}) ([open in Colab]({colab_url(path)}))"


def navigation(name):
    """Markdown links to the previous and next lessons (relative, so they work offline too)."""
    names = lesson_names()
    index = names.index(_lesson_name(name))
    parts = []
    if index > 0:
        before = names[index - 1]
        parts.append(f"← Previous: [{_label(before)}]({before}.ipynb)")
    if index + 1 < len(names):
        after = names[index + 1]
        parts.append(f"Next: [{_label(after)}]({after}.ipynb) →")
    return " · ".join(parts)


def environment():
    """Where this kernel runs: ``"colab"``, ``"jupyterhub"`` or ``"local"``."""
    if runtime.in_colab():
        return "colab"
    if runtime.on_jupyterhub():
        return "jupyterhub"
    return "local"


class Lesson:
    """What :func:`setup` returns: where the lesson runs and which photos it uses.

    ``data`` is the :class:`catdogkit.data.DataSource` in use and ``root`` its folder;
    ``widget`` is the box shown under the set-up cell (a message and, in Colab, the
    Drive button). After the Drive button is used, ``data`` and ``root`` point to the
    photos from Drive, so the cells below use them when they run again.
    """

    def __init__(self, name, data, where, widget, message, drive_button=None):
        self.name = name
        self.data = data
        self.environment = where
        self.widget = widget
        self.message = message
        self.drive_button = drive_button

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
        self.message.value = _describe(self, notes) + _html_note(
            "Photos from Google Drive are now in use. Run the cells below again "
            "(Runtime → Run after) to use them.")
        return self.data

    def photos(self, per_class=4, split="validation"):
        """``{label: path}`` of the first ``per_class`` photos of each class (for a PhotoPicker)."""
        from catdogkit.data import check_photos, list_photos

        names = check_photos(self.root).class_names
        return {f"{_singular(name)} {i + 1}": path for name in names
                for i, path in enumerate(list_photos(self.root, split, name)[:per_class])}

    def photo(self, class_name, index=0, split="validation", image_size=150):
        """One photo of ``class_name`` (e.g. ``"cats"``) as float32 ``(S, S, 3)``, values 0..255."""
        from catdogkit.data import list_photos, load_photo

        return load_photo(list_photos(self.root, split, class_name)[index], image_size)

    def _ipython_display_(self):  # shown when a lesson's last line is the lesson itself
        from IPython.display import display

        display(self.widget)

    def __repr__(self):
        return f"Lesson({self.name!r}, environment={self.environment!r}, root={str(self.root)!r})"


def setup(name=None, data=None, *, seed=0, show=True):
    """Start a lesson: say where it runs, find the photos, say which ones are used.

    ``name`` is the lesson notebook name (e.g. ``"03_feature_maps"``), ``data`` an
    optional folder of photos (otherwise ``CATDOGKIT_DATA``, a JupyterHub's shared
    folder, or the embedded sample; see :func:`catdogkit.data.find_data`). ``seed``
    makes the lesson's random choices repeatable. In Colab a button offers Google
    Drive; nothing is mounted until it is clicked.

    Returns a :class:`Lesson`. Introduced in lesson 00.
    """
    import ipywidgets as widgets

    from catdogkit import data as data_module

    _set_seed(seed)
    _show_figures()
    notes = []
    found = data_module.find_data(data, announce=notes.append)
    message = widgets.HTML()
    children = [message]
    lesson = Lesson(name and _lesson_name(name), found, environment(), None, message)
    if lesson.environment == "colab":
        lesson.drive_button = _drive_button(lesson)
        children.append(lesson.drive_button)
    lesson.widget = widgets.VBox(children)
    message.value = _describe(lesson, notes)
    if show:
        _display(lesson.widget)
    return lesson


def table(rows, columns=None, *, code=(), numbers="{:,}"):
    """Rows as an HTML table for a lesson (what ``display`` shows; plain text elsewhere).

    ``rows`` is a list of dicts (``columns`` picks and orders their keys, default: the
    first row's keys) or of tuples (``columns`` names them). Keys listed in ``code`` are
    shown as code; integers get thousands separators (``numbers``).

    Introduced in lesson 00.
    """
    from IPython.display import HTML

    rows = list(rows)
    if columns is None:
        columns = list(rows[0]) if rows and isinstance(rows[0], dict) else []
    rows = [row if isinstance(row, dict) else dict(zip(columns, row)) for row in rows]

    def cell(key, value):
        text = numbers.format(value) if isinstance(value, int) and not isinstance(value, bool) else str(value)
        text = html.escape(text)
        if key in code:
            text = f"<pre style='margin:0;white-space:pre-wrap'>{text}</pre>"
        return f"<td style='text-align:left;vertical-align:top'>{text}</td>"

    head = "".join(f"<th style='text-align:left'>{html.escape(str(c))}</th>" for c in columns)
    body = "".join("<tr>" + "".join(cell(c, row.get(c, "")) for c in columns) + "</tr>" for row in rows)
    return HTML(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")


def prepare(data=None, *, progress="auto"):
    """Train, once, everything the lessons train, so that every lesson opens quickly.

    The class network and the improved network of lessons 03-07
    (:func:`catdogkit.training.lesson_model`) and lesson 02's own training run, on
    ``data`` (default: what :func:`catdogkit.data.find_data` finds). What is already
    in the cache is loaded, not trained again. For servers (Voila pages, a JupyterHub)
    before students arrive. Returns ``{what: folder or model name}``.
    """
    from catdogkit import data as data_module
    from catdogkit import models, training

    root = data_module.find_data(data, announce=lambda _message: None).root
    done = {name: training.lesson_model(name, root, progress=progress).name
            for name in ("original", "improved")}
    run = training.runs_dir(LESSON02_RUN)
    training.train(models.original_cnn(), data_module.load_datasets(root), epochs=LESSON02_EPOCHS,
                   out=run, progress=progress)
    done["lesson 02"] = str(run)
    return done


def photos_and_labels(dataset, limit=None):
    """Photos and labels of a labelled ``tf.data`` dataset as NumPy arrays, at most ``limit``.

    For galleries and side-by-side comparisons on a few hundred photos (the validation
    split of the lesson sample): float32 ``(N, S, S, 3)`` 0..255 and int ``(N,)``.
    Never use it on a whole large data set: training streams instead.

    Introduced in lesson 07.
    """
    import numpy as np

    photos, labels, count = [], [], 0
    for images, batch_labels in dataset:
        photos.append(np.asarray(images, dtype=np.float32))
        labels.append(np.asarray(batch_labels).reshape(-1).astype(int))
        count += len(labels[-1])
        if limit is not None and count >= limit:
            break
    if not photos:
        raise CatDogKitError("the dataset holds no photos")
    return np.concatenate(photos)[:limit], np.concatenate(labels)[:limit]


_BROKEN_FILES = {
    "empty.jpg": "zero bytes",
    "notes.jpg": "a text file with a photo's name",
    "truncated.jpg": "the first part of a JPEG only",
    "really_a_png.jpg": "a PNG named .jpg (usable: converted)",
    "grey.jpg": "a grayscale photo (usable: converted)",
    ".DS_Store": "a hidden file a Mac leaves behind (ignored)",
}


def broken_photos_demo(source=None):
    """A small photo folder with the kinds of broken files public photo sets contain.

    A few good photos of each class copied from ``source`` (default: the embedded
    sample) plus the files in ``_BROKEN_FILES``, all in ``train/cats``. Made once in the
    cache, never in a user's folder. Returns its path. Introduced in lesson 01.
    """
    import shutil
    import tempfile
    from pathlib import Path

    folder = runtime.cache_dir("lessons") / "broken_photos_demo"
    if folder.is_dir():
        return folder
    work = Path(tempfile.mkdtemp(prefix=".broken-", dir=folder.parent))
    try:
        _fill_broken_demo(work, source)
        work.rename(folder)
    except OSError:
        if not folder.is_dir():
            raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return folder


def _fill_broken_demo(work, source):
    import shutil

    from PIL import Image

    from catdogkit.data import list_photos
    from catdogkit.sample import make_sample

    source = source or make_sample()
    for split, count in (("train", 6), ("validation", 3)):
        for name in ("cats", "dogs"):
            (work / split / name).mkdir(parents=True)
            for path in list_photos(source, split, name)[:count]:
                shutil.copy(path, work / split / name / path.name)
    cats = work / "train" / "cats"
    good = sorted(cats.glob("*.jpg"))[0]
    (cats / "empty.jpg").write_bytes(b"")
    (cats / "notes.jpg").write_text("These are my notes, not a photo.\n")
    (cats / "truncated.jpg").write_bytes(good.read_bytes()[: good.stat().st_size // 3])
    with Image.open(good) as image:
        image.save(cats / "really_a_png.jpg", format="PNG")
        image.convert("L").save(cats / "grey.jpg", format="JPEG")
    (cats / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")


def transfer_learning(root, *, epochs=3, fine_tune_epochs=2, image_size=160):
    """A button that trains the transfer network (pretrained MobileNetV2 + small head).

    Nothing runs until the button is clicked: the ImageNet weights must be downloaded
    (Colab can; an offline machine cannot, and the box says so) and a few epochs take
    minutes on a Colab GPU, far longer on a CPU. Training goes to
    ``catdogkit.training.runs_dir("transfer_cnn")``, so a disconnect loses nothing.
    Returns the box (a ``VBox``) to display. Introduced in lesson 07.
    """
    import ipywidgets as widgets

    button = widgets.Button(description="Train the transfer network", button_style="warning",
                            layout=widgets.Layout(width="auto"))
    status = widgets.HTML("Nothing is trained until you click. On a Colab GPU it takes a few "
                          "minutes; on a CPU it can take an hour.")
    output = widgets.Output()

    def clicked(_button):
        button.disabled = True
        try:
            with output:
                status.value = _html_note(_train_transfer(root, epochs, fine_tune_epochs, image_size))
        except CatDogKitError as error:
            status.value = _html_note(str(error), colour="#b00020")
        finally:
            button.disabled = False
    button.on_click(clicked)
    return widgets.VBox([button, status, output])


def _train_transfer(root, epochs, fine_tune_epochs, image_size):
    from catdogkit import data, models, training

    datasets = data.load_datasets(root, image_size=image_size)
    model = models.transfer_cnn(input_shape=(image_size, image_size, 3))
    out = training.runs_dir("transfer_cnn")
    training.train(model, datasets, epochs=epochs, out=out / "head")
    models.fine_tune(model)
    training.train(model, datasets, epochs=fine_tune_epochs, out=out / "fine_tuned")
    result = training.evaluate(model, datasets.validation, datasets.class_names)
    return (f"Transfer network: {result['accuracy']:.1%} of {result['n']} validation photos "
            "right, after training only the new head and then the top of the base.")


def _drive_button(lesson):
    import ipywidgets as widgets

    button = widgets.Button(description="Use my photos in Google Drive",
                            layout=widgets.Layout(width="auto"), button_style="info")

    def clicked(_button):
        button.disabled = True
        lesson.message.value += _html_note(
            "Mounting Google Drive and bringing the photos (the first time, a download of "
            "about 70 MB into your Drive)…", colour="#555555")
        try:
            lesson.use_drive()
        except Exception as error:  # a callback's error would otherwise vanish
            words = str(error) if isinstance(error, CatDogKitError) else f"{type(error).__name__}: {error}"
            lesson.message.value += _html_note(f"Google Drive: {words}", colour="#b00020")
        finally:
            button.disabled = False
    button.on_click(clicked)
    return button


def _describe(lesson, notes):
    """The HTML message under the set-up cell."""
    source = lesson.data
    lines = []
    if lesson.name:
        lines.append(f"<b>{html.escape(_label(lesson.name))}</b>")
    lines.append(f"Running on {ENVIRONMENT_NAMES[lesson.environment]} ({_compute()}).")
    lines.append(f"Photos: {html.escape(_source_words(source))} in "
                 f"<code>{html.escape(str(source.root))}</code> "
                 f"({html.escape(str(getattr(source, 'layout', '')))} layout).")
    reason = getattr(source, "reason", "")
    if reason:
        lines.append(f"Why these: {html.escape(str(reason))}.")
    for note in notes:  # what find_data said, except its own summary of the source
        note = str(note).strip()
        if note and not note.startswith("Photos:"):
            lines.append(html.escape(note).replace("\n", "<br>"))
    if lesson.environment == "colab" and getattr(source, "source", "") != "drive":
        lines.append("To use the real cats-and-dogs photos, click the button: it mounts your "
                     "Google Drive and keeps one copy of the photos there for next time.")
    return "<div style='line-height:1.5'>" + "<br>".join(lines) + "</div>"


_SOURCE_WORDS = {
    "explicit": "the photos you asked for",
    "env": "the photos named by CATDOGKIT_DATA",
    "drive": "photos from your Google Drive",
    "jupyterhub": "the course's shared photos",
    "sample": "the embedded sample (cats and dogs drawn by the kit, no download needed)",
}


def _source_words(source):
    return _SOURCE_WORDS.get(getattr(source, "source", ""), "photos")


def _compute():
    try:
        import tensorflow as tf

        gpus = tf.config.list_physical_devices("GPU")
    except Exception:  # pragma: no cover - TensorFlow missing or broken
        return "TensorFlow not available"
    return f"{len(gpus)} GPU" + ("s" if len(gpus) > 1 else "") if gpus else "CPU only"


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
    shell = get_ipython()
    if shell is not None:
        select_figure_formats(shell, {"png"}, bbox_inches="tight")


def _display(widget):
    try:
        from IPython.display import display
    except ImportError:  # pragma: no cover - IPython always comes with ipywidgets
        return
    display(widget)


def _html_note(text, colour="#1b5e20"):
    return f"<div style='color:{colour}'>{html.escape(text)}</div>"


def _notebook_path(path):
    path = str(path).replace(os.sep, "/")
    if "/" not in path:
        path = f"lessons/{path}"
    return path if path.endswith(".ipynb") else f"{path}.ipynb"


def _lesson_name(name):
    name = os.path.basename(str(name))
    name = name[:-len(".ipynb")] if name.endswith(".ipynb") else name
    if name not in dict(LESSONS):
        valid = ", ".join(lesson_names())
        raise CatDogKitError(f"There is no lesson named {name!r}. The lessons are: {valid}.")
    return name


def _singular(name):
    return name[:-1] if name.endswith("s") else name


def _label(name):
    number = name.split("_", 1)[0]
    return f"Lesson {number} · {dict(LESSONS)[name]}"
