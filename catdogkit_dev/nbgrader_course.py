"""A throwaway nbgrader course for one assignment, set up as an instructor's course is.

Shared by ``tests/test_nbgrader.py`` (the round trip of every exercise) and
``benchmarks/grading.py`` (autograding time), so both grade with the course's own
``nbgrader_config.py`` and never write into the repository. Works from a checkout
(``pip install -e .``): the course is the repository this package sits in.
"""
import os
import shutil
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
#: This environment's ``bin/``: nbgrader runs ``alembic`` from it when it creates a gradebook.
VENV_BIN = Path(sys.executable).parent
#: The English assignments; their Spanish twins (``<name>_es``) are graded in
#: tests/test_spanish_edition.py.
ASSIGNMENTS = sorted(p.name for p in (REPO / "solutions").iterdir()
                     if p.is_dir() and not p.name.startswith((".", "_")) and not p.name.endswith("_es"))


def use_home(home):
    """Give nbgrader and Jupyter a HOME of their own, and :data:`VENV_BIN` on PATH."""
    home = Path(home)
    home.mkdir(parents=True, exist_ok=True)
    os.environ["HOME"] = str(home)
    os.environ["JUPYTER_CONFIG_DIR"] = str(home / ".jupyter")
    os.environ["PATH"] = f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}"


def new_course(course, assignment):
    """A course folder at ``course`` with the course config and ``assignment``'s source.

    Returns the loaded config; its gradebook is ``course/gradebook.db``.
    """
    from traitlets.config.loader import PyFileConfigLoader

    course = Path(course)
    course.mkdir(parents=True)
    shutil.copy(REPO / "nbgrader_config.py", course / "nbgrader_config.py")
    shutil.copytree(REPO / "solutions" / assignment, course / "solutions" / assignment)
    # nbgrader_config.py makes its own folder the course root, here the copy.
    config = PyFileConfigLoader("nbgrader_config.py", path=str(course)).load_config()
    config.CourseDirectory.db_url = f"sqlite:///{course / 'gradebook.db'}"
    return config


def grader(config):
    """nbgrader's Python API on the course that ``config`` describes."""
    from nbgrader.apps.api import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory
    return NbGraderAPI(CourseDirectory(config=config), config=config)


def grades(config, assignment, student):
    """``{grade_id: (score, max_score)}`` of ``student``'s autograded ``assignment``."""
    from nbgrader.api import Gradebook
    with Gradebook(config.CourseDirectory.db_url) as gradebook:
        notebook = gradebook.find_submission_notebook(assignment, assignment, student)
        return {grade.name: (grade.score, grade.max_score) for grade in notebook.grades}
