"""catdogkit.lesson: the set-up cell every lesson runs, its links and its install line."""
import re
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


# ---------------------------------------------------------------- links and install line


def test_repository_is_written_in_one_place_and_everything_uses_it(monkeypatch):
    monkeypatch.setattr(lesson, "REPOSITORY", "someone/fork")
    monkeypatch.setattr(lesson, "BRANCH", "dev")
    assert lesson.repository_url() == "https://github.com/someone/fork"
    assert "git+https://github.com/someone/fork@dev" in lesson.install_command()
    assert lesson.colab_url("03_feature_maps") == (
        "https://colab.research.google.com/github/someone/fork/blob/dev/lessons/03_feature_maps.ipynb")
    # no other module of the kit writes the repository address itself
    for path in (REPO / "catdogkit").rglob("*.py"):
        if path.name != "lesson.py":
            text = path.read_text(encoding="utf-8")
            assert "colab.research.google.com/github" not in text, path
            assert f"github.com/{lesson.REPOSITORY}" not in text, path


def test_colab_install_line_leaves_tensorflow_and_ipywidgets_alone():
    command = lesson.install_command()
    assert command.startswith("%pip install -q ")
    assert f'"catdogkit @ git+{lesson.repository_url()}@{lesson.BRANCH}"' in command
    assert not re.search(r"tensorflow|ipywidgets|\[|--upgrade|-U\b|--force", command)


def test_colab_links_follow_colabs_address_pattern():
    url = lesson.colab_url("lessons/01_utility_functions.ipynb")
    assert url == lesson.colab_url("01_utility_functions")
    assert re.fullmatch(r"https://colab\.research\.google\.com/github/[^/]+/[^/]+/blob/[^/]+/"
                        r"lessons/01_utility_functions\.ipynb", url)
    assert lesson.colab_url("exercises/02_building_a_cnn/x.ipynb").endswith(
        "/exercises/02_building_a_cnn/x.ipynb")
    badge = lesson.colab_badge("01_utility_functions")
    assert badge == f"[![Open In Colab]({lesson.COLAB_BADGE_IMAGE})]({url})"


def test_navigation_links_previous_and_next_lessons():
    names = lesson.lesson_names()
    assert names == sorted(names) and names[0].startswith("00_") and names[-1].startswith("07_")
    first, middle, last = (lesson.navigation(n) for n in (names[0], names[3], names[-1]))
    assert "Previous" not in first and f"({names[1]}.ipynb)" in first
    assert f"({names[2]}.ipynb)" in middle and f"({names[4]}.ipynb)" in middle
    assert "Next" not in last and f"({names[-2]}.ipynb)" in last
    assert lesson.exercise_folder("03_feature_maps.ipynb") == "exercises/03_feature_maps"


def test_an_unknown_lesson_name_lists_the_lessons():
    with pytest.raises(CatDogKitError, match="01_utility_functions"):
        lesson.lesson_title("99_nothing")


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


def test_table_renders_rows_as_html_with_escaping():
    shown = lesson.table([{"old": "a < b", "n": 1234567}, {"old": "x", "n": 2}], code=("old",))
    assert "<th style='text-align:left'>old</th>" in shown.data
    assert "a &lt; b" in shown.data and "<pre" in shown.data and "1,234,567" in shown.data
    assert "<tbody></tbody>" in lesson.table([], ["a", "b"]).data
    assert "<td" in lesson.table([("cat", 3)], ["class", "count"]).data


def test_photos_and_labels_collects_a_dataset_up_to_a_limit(tiny_sample):
    from catdogkit.data import load_datasets

    datasets = load_datasets(tiny_sample, image_size=64, batch_size=16)
    photos, labels = lesson.photos_and_labels(datasets.validation)
    assert photos.shape == (40, 64, 64, 3) and labels.shape == (40,)
    assert sorted(set(labels.tolist())) == [0, 1]
    few, few_labels = lesson.photos_and_labels(datasets.validation, limit=20)
    assert few.shape[0] == 20 == few_labels.shape[0]


def test_broken_photos_demo_holds_the_usual_broken_files():
    from catdogkit.data import check_photos

    folder = lesson.broken_photos_demo()
    assert folder == lesson.broken_photos_demo()  # made once, reused
    report = check_photos(folder)
    unusable = {Path(path).name for path, _reason in report.unusable}
    assert unusable == {"empty.jpg", "notes.jpg", "truncated.jpg"}
    assert report.hidden == 1 and report.exit_code == 1
    assert len(report.converted) >= 1  # the PNG named .jpg (and the grey photo) are read, converted


def test_transfer_learning_button_trains_nothing_until_clicked_and_explains_failures(monkeypatch, tiny_sample):
    from catdogkit import models

    built = []

    def offline(*args, **kwargs):
        built.append(args)
        raise CatDogKitError("could not fetch the 'imagenet' weights for mobilenet_v2")

    monkeypatch.setattr(models, "transfer_cnn", offline)
    box = lesson.transfer_learning(tiny_sample)
    button, status = box.children[0], box.children[1]
    assert built == [] and "Nothing is trained until you click" in status.value
    button.click()
    assert len(built) == 1
    assert "could not fetch" in status.value and not button.disabled


def test_prepare_trains_the_lesson_models_and_lesson02s_run(plain_machine, monkeypatch, tiny_sample):
    import types as _types

    from catdogkit import data, training

    asked, trained = [], []
    monkeypatch.setattr(training, "lesson_model",
                        lambda name, root, progress="auto": asked.append((name, Path(root)))
                        or _types.SimpleNamespace(name=f"{name}_cnn"))
    monkeypatch.setattr(training, "train",
                        lambda model, datasets, *, epochs, out, progress: trained.append((model.name, epochs, out)))
    monkeypatch.setattr(data, "load_datasets", lambda root: root)
    done = lesson.prepare(tiny_sample)
    assert asked == [("original", Path(tiny_sample)), ("improved", Path(tiny_sample))]
    assert trained == [("original_cnn", lesson.LESSON02_EPOCHS, training.runs_dir(lesson.LESSON02_RUN))]
    assert set(done) == {"original", "improved", "lesson 02"}
