"""The course catalogue: the lessons in order, their titles, and where they live on the web.

Pure data and string building, no TensorFlow or widgets: lessons, tests, the Voila index
and ``catdogkit serve`` all read the course from here.

The repository (owner/name and branch) is written in ONE place, :data:`REPOSITORY`
and :data:`BRANCH`. The "Open in Colab" badges and the install line of every lesson
are made from them; a test checks that the notebooks say the same.
"""
import os
import re
from pathlib import Path

from catdogkit.errors import CatDogKitError
from catdogkit.i18n import _, translations

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

#: A lesson notebook: two digits, an underscore, a name.
LESSON_PATTERN = re.compile(r"^\d\d_.+\.ipynb$")

COLAB_BADGE_IMAGE = "https://colab.research.google.com/assets/colab-badge.svg"


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
    return dict(LESSONS)[lesson_name(name)]


def exercise_folder(name):
    """The exercise folder of a lesson, relative to the repository (``exercises/<lesson>``).

    Exercises are nbgrader assignments named after their lesson (lesson 01 and later).
    """
    return f"exercises/{lesson_name(name)}"


def exercise_notebook(name):
    """The exercise notebook of a lesson: ``exercises/<lesson>/<lesson>.ipynb``."""
    name = lesson_name(name)
    return f"exercises/{name}/{name}.ipynb"


def exercise_links(name):
    """Markdown: the lesson's exercise (a relative link and an "Open in Colab" link).

    Lesson 00 has no exercise; its line points to the first one (lesson 01).
    """
    name = lesson_name(name)
    first = lesson_names()[1]
    target = first if name == lesson_names()[0] else name
    words = "Exercises start with lesson 01" if target != name else "Exercise"
    path = exercise_notebook(target)
    return f"{words}: [{target}](../{path}) ([open in Colab]({colab_url(path)}))"


def navigation(name):
    """Markdown links to the previous and next lessons (relative, so they work offline too)."""
    names = lesson_names()
    index = names.index(lesson_name(name))
    parts = []
    if index > 0:
        before = names[index - 1]
        parts.append(f"← Previous: [{label(before)}]({before}.ipynb)")
    if index + 1 < len(names):
        after = names[index + 1]
        parts.append(f"Next: [{label(after)}]({after}.ipynb) →")
    return " · ".join(parts)


def _notebook_path(path):
    path = str(path).replace(os.sep, "/")
    if "/" not in path:
        path = f"lessons/{path}"
    return path if path.endswith(".ipynb") else f"{path}.ipynb"


def lesson_name(name):
    """The lesson name of ``name`` (a notebook path or name); a clear error for an unknown one."""
    name = os.path.basename(str(name))
    name = name[:-len(".ipynb")] if name.endswith(".ipynb") else name
    if name not in dict(LESSONS):
        valid = ", ".join(lesson_names())
        raise CatDogKitError(_("There is no lesson named {name}. The lessons are: {valid}.").format(
            name=repr(name), valid=valid))
    return name


def label(name):
    """A lesson's heading, e.g. ``"Lesson 03 · Visualizing feature maps"``."""
    number = name.split("_", 1)[0]
    return f"Lesson {number} · {dict(LESSONS)[name]}"


def notebook_title(path, lang="en"):
    """The title the index shows for a notebook: the course's title for a lesson
    (:func:`lesson_title`, in ``lang``), else the notebook's first
    Markdown heading without its "Lesson NN ·" prefix, else the file name."""
    import nbformat  # comes with Voila; `catdogkit --help` must not need it

    path = Path(path)
    if path.stem in dict(LESSONS):
        return translations(lang).gettext(lesson_title(path.stem))
    try:
        notebook = nbformat.read(path, as_version=4)
    except (OSError, ValueError, nbformat.reader.NotJSONError):
        notebook = nbformat.v4.new_notebook()
    for cell in notebook.cells[:6]:
        heading = _first_heading(cell.source) if cell.cell_type == "markdown" else None
        if heading:
            return heading
    return path.stem[3:].replace("_", " ").capitalize()


def _first_heading(markdown):
    for line in markdown.splitlines():
        if line.lstrip().startswith("#"):
            title = line.strip().strip("#").strip()
            title = re.sub(r"^Lesson \d+\s*·\s*", "", title)
            title = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", title)  # a link keeps its text
            return re.sub(r"[*_`]|<[^>]+>", "", title).strip() or None
    return None


def lesson_titles(lessons_dir, lang="en"):
    """``[(file name, title), …]`` for the lesson notebooks (``NN_name.ipynb``) of the folder
    ``lessons_dir``, in order, titled in ``lang`` (the index page of ``catdogkit serve``)."""
    folder = Path(lessons_dir)
    return [(path.name, notebook_title(path, lang))
            for path in sorted(folder.glob("*.ipynb")) if LESSON_PATTERN.match(path.name)]
