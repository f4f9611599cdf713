"""catdogkit.i18n: the kit's own words and numbers in Spanish, English staying the default."""
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from catdogkit import i18n, lesson
from catdogkit.errors import CatDogKitError

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def english(monkeypatch):
    """No language chosen by anyone: the kit's default. Leaves the default behind it."""
    for name in (i18n.LANG_ENV, "JPY_SESSION_NAME"):
        monkeypatch.delenv(name, raising=False)
    i18n.set_language(None)
    yield
    i18n.set_language(None)


@pytest.fixture
def spanish(english):
    i18n.set_language("es")
    yield


def test_english_is_the_default_and_messages_stay_as_written(english):
    assert i18n.language() == "en"
    assert i18n._("Layer") == "Layer"
    assert i18n.format_number(1234567.891, 2) == "1,234,567.89"
    assert i18n.format_percent(0.853) == "85.3%"


@pytest.mark.parametrize("how", ["set_language", "environment", "notebook"])
def test_spanish_is_chosen_by_the_call_the_environment_or_the_notebook(english, monkeypatch, tmp_path, how):
    if how == "set_language":
        i18n.set_language("es_ES.UTF-8")
    elif how == "environment":
        monkeypatch.setenv(i18n.LANG_ENV, "es")
    else:
        notebook = tmp_path / "03_feature_maps.ipynb"
        notebook.write_text(json.dumps({"metadata": {"catdogkit": {"lang": "es"}}, "cells": []}))
        monkeypatch.setenv("JPY_SESSION_NAME", str(notebook))
    assert i18n.language() == "es"
    assert i18n._("Layer") == "Capa"
    assert i18n.ngettext("{n} GPU", "{n} GPUs", 2) == "{n} GPU"


def test_an_unknown_language_is_a_clear_error(english):
    with pytest.raises(CatDogKitError, match="not 'fr'"):
        i18n.set_language("fr")


def test_a_notebook_without_a_language_says_nothing(tmp_path):
    plain = tmp_path / "plain.ipynb"
    plain.write_text(json.dumps({"metadata": {}, "cells": []}))
    assert i18n.notebook_language(plain) is None
    assert i18n.notebook_language(tmp_path / "missing.ipynb") is None
    assert i18n.notebook_language(None) is None


def test_spanish_numbers_follow_the_cldr_es_rules(spanish):
    assert i18n.format_number(1234567.891, 2) == "1.234.567,89"
    assert i18n.format_number(12345) == "12.345"
    assert i18n.format_number(1234) == "1234"  # CLDR es: no grouping below five digits
    assert i18n.format_number(-0.5, 1) == "-0,5"
    assert i18n.format_percent(0.853) == "85,3\u00a0%"


def test_spanish_numbers_agree_with_babel_where_babel_applies_the_same_rule(spanish):
    babel_numbers = pytest.importorskip("babel.numbers")
    for value in (12345.678, 3453121.0, 99999.5, 100000.25):
        assert i18n.format_number(value, 2) == babel_numbers.format_decimal(
            value, format="#,##0.00", locale="es")


def test_the_compiled_catalogue_is_the_po_file_and_covers_every_marked_message():
    pytest.importorskip("babel")
    from catdogkit_dev import translate_messages

    catalog = translate_messages.read_po()
    assert translate_messages.missing(catalog) == [], "messages marked with _() but not translated"
    assert translate_messages.MO.read_bytes() == translate_messages.compiled(catalog), (
        "catdogkit.mo is stale: run python -m catdogkit_dev.translate messages")


#: A str.format placeholder, with its conversion and format spec (``{name}``, ``{layer!r}``).
PLACEHOLDER = r"\{\w*(?:![rsa])?(?::[^{}]*)?\}"


def test_every_translation_keeps_the_placeholders_of_its_message():
    import re

    pytest.importorskip("babel")
    from catdogkit_dev import translate_messages

    wrong = []
    for message in translate_messages.read_po():
        if not message.id:
            continue
        ids = [message.id] if isinstance(message.id, str) else list(message.id)
        strings = [message.string] if isinstance(message.string, str) else list(message.string)
        wanted = set(re.findall(PLACEHOLDER, ids[0]))
        wrong += [ids[0] for text in strings if set(re.findall(PLACEHOLDER, text)) != wanted]
    assert not wrong, f"translations that lose or add a {{placeholder}}: {wrong}"


def test_setup_in_spanish_says_where_the_photos_come_from_in_spanish(english, tiny_sample, monkeypatch):
    for name in ("CATDOGKIT_DATA", "JUPYTERHUB_USER", "JUPYTERHUB_API_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    started = lesson.setup("03_feature_maps", data=tiny_sample, show=False, lang="es")
    text = started.message.value
    assert "Lección 03 · Visualizar mapas de características" in text
    assert "Se ejecuta en este ordenador" in text and "Fotos: las fotos que has pedido en" in text
    assert i18n.language() == "es"


def test_widgets_and_plots_speak_spanish(spanish, tiny_sample):
    from catdogkit.visualize.plots import plot_training_curves
    from catdogkit.widgets import DataBrowser, PhotoPicker

    picker = PhotoPicker({"gato 1": np.zeros((32, 32, 3), "float32")}, image_size=32)
    assert (picker.choice.description, picker.upload.description) == ("Foto", "Tu foto")
    browser = DataBrowser(tiny_sample, image_size=32, per_page=4)
    assert (browser.split.description, browser.class_name.description) == ("Partición", "Clase")
    assert browser.info.value.startswith("train/cats: fotos 1-4 de ")
    figure = plot_training_curves({"loss": [0.7, 0.6], "val_loss": [0.7, 0.65]})
    assert [axis.get_xlabel() for axis in figure.axes] == ["época", "época"]
    assert figure.axes[0].get_title() == "pérdida"


def test_the_data_check_report_speaks_spanish_and_names_the_classes(spanish, tiny_sample):
    from catdogkit.data import check_photos

    summary = check_photos(tiny_sample).summary()
    assert "utilizables: 160, descartadas: 0" in summary
    assert "entrenamiento" in summary and "validación" in summary


def _gatos_y_perros(root):
    """Class folders gatos/ and perros/ with a few small photos, and one broken file."""
    for name, colour in (("gatos", (200, 120, 40)), ("perros", (60, 90, 200))):
        folder = root / name
        folder.mkdir(parents=True)
        for index in range(10):
            Image.new("RGB", (24, 24), tuple(c - 3 * index for c in colour)).save(folder / f"{index}.jpg")
    (root / "perros" / "roto.jpg").write_bytes(b"")
    return root


def test_data_check_on_the_command_line_reports_in_spanish(tmp_path):
    folder = _gatos_y_perros(tmp_path / "mis_fotos")
    environment = {**os.environ, i18n.LANG_ENV: "es", "CATDOGKIT_CACHE": str(tmp_path / "cache")}
    done = subprocess.run([sys.executable, "-m", "catdogkit", "data", "check", str(folder)],
                          capture_output=True, text=True, env=environment, cwd=REPO, timeout=300)
    assert done.returncode == 1, done.stdout + done.stderr  # one photo left out
    report = done.stdout
    assert "gatos" in report and "perros" in report, report
    assert "utilizables: 20, descartadas: 1" in report, report
    assert "archivo vacío (0 bytes)" in report and "roto.jpg" in report, report
    assert "división hecha por el kit: 80 % entrenamiento / 20 % validación" in report, report


def test_the_command_line_help_speaks_spanish(tmp_path):
    environment = {**os.environ, i18n.LANG_ENV: "es"}
    done = subprocess.run([sys.executable, "-m", "catdogkit", "--help"], capture_output=True, text=True,
                          env=environment, cwd=REPO, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "Aprende cómo ve gatos y perros una red convolucional." in done.stdout


def test_training_progress_and_the_explorers_speak_spanish(spanish, capsys):
    from catdogkit import training
    from catdogkit.grading import tiny_cnn
    from catdogkit.widgets import FilterExplorer, TrainingMonitor, transfer_learning

    line = training._EpochLine(3)
    line.on_epoch_begin(0)
    line.on_epoch_end(0, {"loss": 0.5})
    assert capsys.readouterr().out.startswith("época 1/3  loss 0.5000  (")
    monitor = TrainingMonitor()
    assert (monitor.progress.description, monitor.label.value) == (
        "Entrenamiento", "esperando a que empiece el entrenamiento")
    explorer = FilterExplorer(tiny_cnn())
    assert (explorer.layer.description, explorer.filters.description, explorer.compute.description) == (
        "Capa", "Filtros", "Ver patrones")
    assert "filtros de 3x3x3" in explorer.info.value
    box = transfer_learning("unused")
    assert box.children[0].description == "Entrenar la red de transferencia"


def test_no_message_is_marked_for_translation_as_an_f_string():
    """An f-string's text changes with its values, so the catalogue can never hold it."""
    import ast

    from catdogkit_dev import translate_messages

    wrong = []
    for relative in translate_messages.MODULES:
        tree = ast.parse((REPO / relative).read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if (isinstance(node, ast.Call) and translate_messages._name(node.func) in ("_", "_N_", "ngettext")
                    and any(isinstance(argument, ast.JoinedStr) for argument in node.args[:2])):
                wrong.append(f"{relative}:{node.lineno}")
    assert not wrong, f"use _('... {{name}} ...').format(name=...) instead: {wrong}"


def test_every_improvement_lesson_07_shows_has_its_spanish(english):
    """Checked on the table itself, so an entry added or reworded without its translation fails here."""
    from catdogkit import measured

    spanish = i18n.translations("es")
    texts = [text for entry in measured.IMPROVEMENTS.items() for text in entry]
    texts += [measured.ABLATION_BUDGET] + [rung[key] for rung in measured.LADDER for key in ("rung", "how")]
    untranslated = [text for text in texts if spanish.gettext(text) == text]
    assert not untranslated, ("mark them with _N_ and translate them in catdogkit.po "
                              f"(python -m catdogkit_dev.translate messages): {untranslated}")
    i18n.set_language("es")
    assert i18n._("batch normalization") == "normalización por lotes (batch normalization)"


def test_the_migration_table_explains_in_spanish_and_keeps_keras_words(spanish):
    from catdogkit import legacy

    call = legacy.OLD_CALLS[0]
    ran = {"name": call["name"], "old": call["old"], "new": call["new"], "why": call["why"], "outcome": "ran"}
    warned = {**ran, "outcome": "warning", "message": "`input_shape` is deprecated"}
    rows = legacy.migration_table([ran, warned])
    assert rows[0]["why"].startswith("Keras 3 sacó los generadores de NumPy de keras.preprocessing")
    assert [row["now"] for row in rows] == ["funciona", "aviso: `input_shape` is deprecated"]
    assert rows[0]["new"] == call["new"], "code stays code"


#: Modules whose every error and announced line a student reads must go through _().
FULLY_TRANSLATED = sorted({*(str(p.relative_to(REPO)) for p in (REPO / "catdogkit" / "visualize").glob("*.py")),
                           "catdogkit/training.py", "catdogkit/models.py", "catdogkit/data/checks.py",
                           "catdogkit/widgets/filters.py"})


@pytest.mark.parametrize("relative", FULLY_TRANSLATED)
def test_every_error_and_announcement_of_these_modules_is_translated(relative):
    """A CatDogKitError or announce() given literal text (or an f-string) would stay English."""
    import ast

    wrong = []
    for node in ast.walk(ast.parse((REPO / relative).read_text(encoding="utf-8"))):
        name = isinstance(node, ast.Call) and getattr(node.func, "id", None)
        if name in ("CatDogKitError", "announce", "print") and node.args and (
                isinstance(node.args[0], ast.JoinedStr)
                or isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
            wrong.append(node.lineno)
    assert not wrong, f"{relative}: pass these lines' text through _('...').format(...): {wrong}"


def test_errors_of_the_views_training_and_networks_speak_spanish(english, monkeypatch):
    from catdogkit import models, training
    from catdogkit.visualize.basics import conv_output_size
    from catdogkit.visualize.layers import as_batch

    monkeypatch.setenv(i18n.LANG_ENV, "es")
    with pytest.raises(CatDogKitError, match=r"un núcleo \(kernel\) de 5 píxeles no cabe en 3 píxeles"):
        conv_output_size(3, 5)
    with pytest.raises(CatDogKitError, match="una foto debe ser una matriz numérica"):
        as_batch(None, np.array([["a"]]))
    with pytest.raises(CatDogKitError, match="modelo de lección desconocido 'bigger'"):
        training.lesson_model("bigger")
    with pytest.raises(CatDogKitError, match="red desconocida 'bigger': usa una de original"):
        models.build("bigger")


def _odd_photos(root):
    """One truncated JPEG and one photo over a (lowered) pixel limit, in one class folder."""
    folder = root / "gatos"
    folder.mkdir(parents=True)
    Image.new("RGB", (200, 100), (120, 80, 40)).save(folder / "grande.jpg")
    whole = io.BytesIO()
    Image.new("RGB", (64, 64), (10, 200, 90)).save(whole, "JPEG")
    (folder / "cortada.jpg").write_bytes(whole.getvalue()[:300])
    return root


def test_cached_check_reasons_are_translated_when_shown_with_their_numbers(english, tmp_path, monkeypatch):
    """The check cache keeps a reason's template and values: a report made in English then
    read from the cache in Spanish is Spanish, its number written the Spanish way."""
    from catdogkit.data import checks

    monkeypatch.setattr(checks, "MAX_PIXELS", 12345)
    root = _odd_photos(tmp_path / "fotos")
    english_reasons = {path.name: reason for path, reason in checks.check_photos(root).unusable}
    assert english_reasons["grande.jpg"].startswith("200x100 pixels is over the 12,345-pixel limit")
    assert english_reasons["cortada.jpg"].startswith("truncated or corrupt image data (")
    monkeypatch.setattr(checks, "inspect_photo", lambda path: pytest.fail("the cache was not used"))
    i18n.set_language("es")
    report = checks.check_photos(root)
    shown = {path.name: reason.shown() for path, reason in report.unusable}
    assert shown["grande.jpg"].startswith("200x100 píxeles supera el límite de 12.345 píxeles")
    assert shown["cortada.jpg"].startswith("datos de imagen truncados o dañados (")
    assert "supera el límite de 12.345 píxeles" in report.summary()
    assert "datos de imagen truncados" in report.as_dict()["unusable"][0]["reason"] + \
        report.as_dict()["unusable"][1]["reason"]


def test_a_check_cache_of_the_old_format_is_checked_again(english, tmp_path):
    """Version 1 kept English text filled in; such entries are recomputed, not shown as they are."""
    from catdogkit.data import checks

    root = _odd_photos(tmp_path / "fotos")
    stamps = {str(p): [p.stat().st_size, p.stat().st_mtime_ns] for p in (root / "gatos").iterdir()}
    checks._cache_file(root).parent.mkdir(parents=True, exist_ok=True)
    checks._cache_file(root).write_text(json.dumps({"version": 1, "files": {
        path: stamp + ["an old English reason", False, ""] for path, stamp in stamps.items()}}))
    i18n.set_language("es")
    reasons = [reason.shown() for _path, reason in checks.check_photos(root).unusable]
    assert reasons == [r for r in reasons if "old English" not in r] and any("truncados" in r for r in reasons)


def test_a_converted_photo_notes_both_changes_in_spanish(english, tmp_path):
    from catdogkit.data import checks

    path = tmp_path / "gris.jpg"
    Image.new("L", (16, 16), 90).save(path, "PNG")
    note = checks.inspect_photo(path).note
    assert note == "L converted to RGB; PNG named .jpg"
    i18n.set_language("es")
    assert note.shown() == "L convertido a RGB; PNG con extensión .jpg"


def test_an_unknown_language_is_refused_in_both_languages():
    with pytest.raises(CatDogKitError, match=r"not 'fr'.*/ El kit habla en y es, no 'fr'"):
        i18n.set_language("fr")
