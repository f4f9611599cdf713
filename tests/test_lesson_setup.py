"""catdogkit.lesson: the set-up cell every lesson runs and the tables lessons show."""
import sys
import types
from pathlib import Path

import pytest

from catdogkit import lesson
from catdogkit.errors import CatDogKitError

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def plain_machine(monkeypatch):
    """Neither Colab nor a JupyterHub, and no CATDOGKIT_DATA: the embedded sample is used."""
    for name in ("CATDOGKIT_DATA", "JUPYTERHUB_USER", "JUPYTERHUB_API_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)


@pytest.fixture
def fake_colab(monkeypatch, plain_machine):
    """A stand-in for Colab: ``google.colab`` importable, its ``drive.mount`` recorded."""
    mounts = []
    colab = types.ModuleType("google.colab")
    colab.drive = types.SimpleNamespace(mount=lambda where, **kw: mounts.append(where))
    google = sys.modules.get("google") or types.ModuleType("google")
    monkeypatch.setitem(sys.modules, "google", google)
    monkeypatch.setitem(sys.modules, "google.colab", colab)
    return mounts


# ---------------------------------------------------------------- setup()


def test_setup_on_a_plain_machine_uses_the_embedded_sample_and_says_so(plain_machine, lesson_sample):
    started = lesson.setup("01_utility_functions", show=False)
    assert started.environment == "local"
    assert started.data.source == "sample"
    assert Path(started.root) == Path(lesson_sample)
    text = started.message.value
    assert "this computer" in text and "embedded sample" in text and str(started.root) in text
    assert started.drive_button is None
    assert started.widget.children == (started.message,)


def test_setup_with_an_explicit_folder_uses_it(plain_machine, tiny_sample):
    started = lesson.setup("02_building_a_cnn", data=tiny_sample, show=False)
    assert started.data.source == "explicit"
    assert Path(started.root) == Path(tiny_sample)
    assert "the photos you asked for" in started.message.value


def test_setup_names_a_jupyterhub(plain_machine, monkeypatch, tiny_sample):
    monkeypatch.setenv("JUPYTERHUB_USER", "student")
    started = lesson.setup(data=tiny_sample, show=False)
    assert started.environment == "jupyterhub"
    assert "JupyterHub" in started.message.value


def test_setup_in_colab_offers_drive_but_never_mounts_it_by_itself(fake_colab, monkeypatch, tiny_sample):
    from catdogkit import data

    calls = []

    def fake_use_drive(**options):
        calls.append(options)
        return data.find_data(tiny_sample, announce=options.get("announce", print))

    monkeypatch.setattr(data, "use_drive", fake_use_drive)
    started = lesson.setup("03_feature_maps", show=False)
    assert started.environment == "colab"
    assert fake_colab == [] and calls == [], "Drive must not be mounted before the student asks"
    assert started.drive_button in started.widget.children
    assert "Google Drive" in started.message.value

    started.drive_button.click()
    assert len(calls) == 1
    assert Path(started.root) == Path(tiny_sample)
    assert "Run the cells below again" in started.message.value


def test_setup_with_drive_mounted_says_the_lesson_models_and_views_are_kept_there(
        fake_colab, monkeypatch, tmp_path, tiny_sample):
    from catdogkit import runtime

    monkeypatch.setattr(runtime, "DRIVE", tmp_path / "MyDrive")
    assert "kept in your Drive" not in lesson.setup("03_feature_maps", data=tiny_sample,
                                                    show=False).message.value
    (tmp_path / "MyDrive").mkdir()
    message = lesson.setup("03_feature_maps", data=tiny_sample, show=False).message.value
    assert "kept in your Drive" in message and str(tmp_path / "MyDrive" / "catdogkit") in message
    assert not (tmp_path / "MyDrive" / "catdogkit").exists(), "saying so must not create the folder"


def test_a_failing_drive_shows_its_message_in_the_widget(fake_colab, monkeypatch):
    from catdogkit import data

    def broken_use_drive(**options):
        raise CatDogKitError("Drive could not be mounted: no permission")

    monkeypatch.setattr(data, "use_drive", broken_use_drive)
    started = lesson.setup("03_feature_maps", show=False)
    before = started.root
    started.drive_button.click()  # no exception escapes the button
    assert "no permission" in started.message.value
    assert started.root == before


def test_setup_displays_its_widget_in_a_notebook(plain_machine, monkeypatch, tiny_sample):
    shown = []
    monkeypatch.setattr(lesson, "_display", shown.append)
    started = lesson.setup(data=tiny_sample)
    assert shown == [started.widget]


# ---------------------------------------------------------------- lesson helpers


def test_lesson_photos_offer_both_classes_for_a_picker(plain_machine, tiny_sample):
    started = lesson.setup(data=tiny_sample, show=False)
    photos = started.photos(per_class=2)
    assert list(photos) == ["cat 1", "cat 2", "dog 1", "dog 2"]
    assert all(Path(path).is_file() for path in photos.values())
    assert "cats" in Path(photos["cat 1"]).parts and "dogs" in Path(photos["dog 2"]).parts
    photo = started.photo("dogs", 1, image_size=64)
    assert photo.shape == (64, 64, 3) and photo.dtype.name == "float32" and photo.max() <= 255
    assert started.class_names == ["cats", "dogs"]
    assert (started.photo(1, 1, image_size=64) == photo).all()  # a label picks the class too


def test_a_lesson_checks_its_folder_once_per_class_and_again_for_another_folder(
        plain_machine, tiny_sample, tmp_path, monkeypatch):
    """Lesson 00 takes 40 photos one by one: each used to check the whole folder twice."""
    import shutil

    from catdogkit import data
    from catdogkit.data import pipeline

    checked = []
    for module in (data, pipeline):
        monkeypatch.setattr(module, "check_photos", lambda root, _real=module.check_photos, **kw:
                            checked.append(Path(root)) or _real(root, **kw))
    started = lesson.setup(data=tiny_sample, show=False)
    checked.clear()
    first = [started.photo(label, index=i, image_size=32) for label in (0, 1) for i in range(5)]
    assert started.class_names == ["cats", "dogs"]
    assert len(checked) == 3  # the class names, then each class's photos
    other = tmp_path / "other"
    shutil.copytree(tiny_sample, other)  # what use_drive does: another folder in use
    started.data = data.find_data(other, announce=lambda _message: None)
    assert (started.photo(1, index=4, image_size=32) == first[-1]).all()
    assert len(checked) == 5 and checked[-1] == Path(started.root)


def test_a_lesson_works_with_class_folders_of_any_name(plain_machine, tmp_path, tiny_sample):
    import shutil
    for split in ("train", "validation"):
        for old, new in (("cats", "gatos"), ("dogs", "perros")):
            shutil.copytree(Path(tiny_sample) / split / old, tmp_path / split / new)
    started = lesson.setup(data=tmp_path, show=False)
    assert started.class_names == ["gatos", "perros"]
    assert list(started.photos(per_class=1)) == ["gato 1", "perro 1"]
    assert started.photo(0, image_size=32).shape == (32, 32, 3)


def test_table_renders_rows_as_html_with_escaping():
    shown = lesson.table([{"old": "a < b", "n": 1234567}, {"old": "x", "n": 2}], code=("old",))
    assert "<th style='text-align:left'>old</th>" in shown.data
    assert "a &lt; b" in shown.data and "<pre" in shown.data and "1,234,567" in shown.data
    assert "<tbody></tbody>" in lesson.table([], ["a", "b"]).data
    assert "<td" in lesson.table([("cat", 3)], ["class", "count"]).data


def test_a_figure_that_ends_a_cell_shows_as_a_quickly_encoded_png():
    import base64

    import numpy as np
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.core.pylabtools import print_figure

    from catdogkit.visualize import plot_feature_maps

    shell = InteractiveShell.instance()
    try:
        lesson._show_figures()
        fig = plot_feature_maps(np.random.default_rng(0).random((16, 16, 8)))
        shown = shell.display_formatter.formatters["image/png"](fig)
        shown = base64.b64decode(shown) if isinstance(shown, str) else shown  # IPython's versions differ
        assert shown.startswith(b"\x89PNG")
        # zlib's fastest level: a little bigger than matplotlib's default level, for less time.
        assert len(shown) > len(print_figure(fig, "png", bbox_inches="tight"))
    finally:
        InteractiveShell.clear_instance()
