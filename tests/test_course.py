"""catdogkit.course: the lessons in order, their titles, links and the Colab install line."""
import re
from pathlib import Path

import pytest

from catdogkit import course
from catdogkit.errors import CatDogKitError

REPO = Path(__file__).resolve().parents[1]


def test_repository_is_written_in_one_place_and_everything_uses_it(monkeypatch):
    monkeypatch.setattr(course, "REPOSITORY", "someone/fork")
    monkeypatch.setattr(course, "BRANCH", "dev")
    assert course.repository_url() == "https://github.com/someone/fork"
    assert "git+https://github.com/someone/fork@dev" in course.install_command()
    assert course.colab_url("03_feature_maps") == (
        "https://colab.research.google.com/github/someone/fork/blob/dev/lessons/03_feature_maps.ipynb")
    # no other module of the kit writes the repository address itself
    for path in (REPO / "catdogkit").rglob("*.py"):
        if path.name != "course.py":
            text = path.read_text(encoding="utf-8")
            assert "colab.research.google.com/github" not in text, path
            assert f"github.com/{course.REPOSITORY}" not in text, path


def test_colab_install_line_leaves_tensorflow_and_ipywidgets_alone():
    command = course.install_command()
    assert command.startswith("%pip install -q ")
    assert f'"catdogkit @ git+{course.repository_url()}@{course.BRANCH}"' in command
    assert not re.search(r"tensorflow|ipywidgets|\[|--upgrade|-U\b|--force", command)


def test_colab_links_follow_colabs_address_pattern():
    url = course.colab_url("lessons/01_utility_functions.ipynb")
    assert url == course.colab_url("01_utility_functions")
    assert re.fullmatch(r"https://colab\.research\.google\.com/github/[^/]+/[^/]+/blob/[^/]+/"
                        r"lessons/01_utility_functions\.ipynb", url)
    assert course.colab_url("exercises/02_building_a_cnn/x.ipynb").endswith(
        "/exercises/02_building_a_cnn/x.ipynb")
    badge = course.colab_badge("01_utility_functions")
    assert badge == f"[![Open In Colab]({course.COLAB_BADGE_IMAGE})]({url})"


def test_navigation_links_previous_and_next_lessons():
    names = course.lesson_names()
    assert names == sorted(names) and names[0].startswith("00_") and names[-1].startswith("07_")
    first, middle, last = (course.navigation(n) for n in (names[0], names[3], names[-1]))
    assert "Previous" not in first and f"({names[1]}.ipynb)" in first
    assert f"({names[2]}.ipynb)" in middle and f"({names[4]}.ipynb)" in middle
    assert "Next" not in last and f"({names[-2]}.ipynb)" in last
    assert course.exercise_folder("03_feature_maps.ipynb") == "exercises/03_feature_maps"


def test_an_unknown_lesson_name_lists_the_lessons():
    with pytest.raises(CatDogKitError, match="01_utility_functions"):
        course.lesson_title("99_nothing")
