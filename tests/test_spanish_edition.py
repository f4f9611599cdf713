"""The Spanish edition: generated from the English notebooks, and in step with them.

Fast: every cell of every lesson and exercise is translated from the English it has now
(the drift test names each untranslated or stale cell), the committed Spanish notebooks are
what the generator makes now, they ask for Spanish and link to Spanish notebooks, and the
exercise twins keep the English grading. Slow: the twins round-trip through nbgrader (full
marks for the solution, zero for the release) and Spanish lessons run headless.
"""
import copy
import re
import shutil
from pathlib import Path

import nbformat
import pytest

from catdogkit import course
from catdogkit_dev import translate

REPO = Path(__file__).resolve().parents[1]
LESSONS_ES = REPO / "lessons" / "es"
TWINS = [f"{name}{translate.SUFFIX}" for name in translate.english_assignments()]


def _drift(targets):
    results, changed = translate.build(targets, write=False)
    return [p for result in results for p in result.problems], changed


@pytest.mark.parametrize("kind", ["lessons", "exercises"])
def test_every_cell_is_translated_from_the_english_it_has_now(kind):
    targets = translate.lesson_targets() if kind == "lessons" else translate.exercise_targets()
    problems, changed = _drift(targets)
    assert not problems, (f"the Spanish {kind} are behind the English (translate these cells, then "
                          f"`python -m catdogkit_dev.translate stamp CATALOGUE CELL_ID`):\n" + "\n".join(problems))
    assert not changed, (f"committed Spanish {kind} differ from what the generator makes now "
                         f"(run `python -m catdogkit_dev.translate {kind}`): "
                         + ", ".join(str(p.relative_to(REPO)) for p in changed))


def _spanish_notebooks():
    return sorted(LESSONS_ES.glob("*.ipynb")) + [REPO / "solutions" / t / f"{t}.ipynb" for t in TWINS]


@pytest.mark.parametrize("path", _spanish_notebooks(), ids=lambda path: path.stem)
def test_every_spanish_code_cell_is_valid_python(path):
    from IPython.core.inputtransformer2 import TransformerManager

    ipython = TransformerManager()  # %pip lines become Python, as in a kernel
    for cell in nbformat.read(path, 4).cells:
        if cell.cell_type == "code":
            compile(ipython.transform_cell(cell.source), f"{path.name} [{cell.id}]", "exec")


def _english_and_catalogue(tmp_path, cells, entries):
    notebook = nbformat.v4.new_notebook(cells=cells)
    english = tmp_path / "en.ipynb"
    nbformat.write(notebook, english)
    catalogue = tmp_path / "catalogue.yaml"
    translate.write_catalogue(catalogue, {"cells": entries})
    return translate.Target(english, tmp_path / "es.ipynb", catalogue, "lessons/es/x.ipynb")


def test_the_drift_check_names_stale_untranslated_and_code_changing_cells(tmp_path):
    cells = [nbformat.v4.new_markdown_cell("A cat.", id="prose"),
             nbformat.v4.new_markdown_cell("A dog.", id="new"),
             nbformat.v4.new_code_cell('print("cats")  # the cats', id="code"),
             nbformat.v4.new_code_cell('x = 1  # one', id="sneaky")]
    target = _english_and_catalogue(tmp_path, cells, {
        "prose": {"source": translate.source_hash("A kitten."), "text": "Un gatito."},
        "code": {"source": translate.source_hash(cells[2].source),
                 "strings": [{"en": "# the cats", "es": "# los gatos"}, {"en": '"cats"', "es": '"gatos"'}]},
        "sneaky": {"source": translate.source_hash(cells[3].source),
                   "strings": [{"en": "x = 1", "es": "x = 2"}]},
    })
    result = translate.translate_notebook(target)
    problems = "\n".join(result.problems)
    assert "[prose]: stale" in problems and "[new]: untranslated markdown cell" in problems
    assert "[sneaky]: the translation changes code" in problems
    assert "[code]" not in problems
    sources = {cell.id: cell.source for cell in result.notebook.cells}
    assert sources["code"] == 'print("gatos")  # los gatos'
    assert sources["sneaky"] == cells[3].source, "a translation that changes code is not used"
    assert result.translated == 1


def test_stamp_records_the_english_a_cell_was_translated_from(tmp_path):
    cells = [nbformat.v4.new_markdown_cell("A cat.", id="prose")]
    target = _english_and_catalogue(tmp_path, cells, {"prose": {"text": "Un gato."}})
    assert "[prose]: stale" in "\n".join(translate.translate_notebook(target).problems)
    translate.stamp(target.catalogue, target.english)
    assert translate.translate_notebook(target).problems == []


def _read(path):
    return nbformat.read(path, 4)


@pytest.mark.parametrize("name", course.lesson_names())
def test_a_spanish_lesson_asks_for_spanish_and_links_to_spanish_notebooks(name):
    spanish = _read(LESSONS_ES / f"{name}.ipynb")
    assert spanish.metadata["catdogkit"]["lang"] == "es"
    assert spanish.metadata["kernelspec"]["name"] == "python3"
    assert all(not cell.get("outputs") for cell in spanish.cells if cell.cell_type == "code")
    code = "\n".join(cell.source for cell in spanish.cells if cell.cell_type == "code")
    assert f'cdk.lesson.setup("{name}", data=DATA, lang="es")' in code
    assert 'photo("cats")' not in code and 'photo("dogs")' not in code
    markdown = "\n".join(cell.source for cell in spanish.cells if cell.cell_type == "markdown")
    assert course.colab_badge(f"lessons/es/{name}.ipynb") in markdown
    assert "{{" not in markdown, "a header placeholder was left unfilled"
    for target in re.findall(r"\]\(([^)\s]+)\)", markdown):
        if not target.startswith("http"):
            assert (LESSONS_ES / target).exists(), f"{name}: the Spanish lesson links to {target}, which does not exist"


def test_lesson_00_keeps_keras_errors_in_english_and_explains_them_in_spanish():
    prose = "\n".join(c.source for c in _read(LESSONS_ES / "00_class_code_then_and_now.ipynb").cells
                      if c.cell_type == "markdown")
    for term in ("mapa de características (feature map)", "sobreajuste", "aumento de datos",
                 "ascenso de gradiente", "campo receptivo", "capa densa", "Argument(s) not recognized"):
        assert term in prose, f"lesson 00 should say {term!r}"


def _grading(notebook):
    return [(cell.cell_type, cell.id, cell.metadata.get("nbgrader")) for cell in notebook.cells]


@pytest.mark.parametrize("twin", TWINS)
def test_a_twin_keeps_the_grading_of_its_english_exercise(twin):
    name = twin[:-len(translate.SUFFIX)]
    english = _read(REPO / "solutions" / name / f"{name}.ipynb")
    spanish = _read(REPO / "solutions" / twin / f"{twin}.ipynb")
    assert _grading(spanish) == _grading(english), "grade_ids, points and locks must be the English ones"
    assert course.colab_badge(f"exercises/{twin}/{twin}.ipynb") in spanish.cells[0].source
    assert (REPO / "exercises" / twin / f"{twin}.ipynb").is_file(), "the release is generated and committed"


# ---------------------------------------------------------------- slow: nbgrader and execution


def _autograde(config, api, course_dir, assignment, student, notebook):
    from catdogkit_dev.nbgrader_course import grades

    folder = course_dir / "submitted" / student / assignment
    folder.mkdir(parents=True)
    nbformat.write(notebook, folder / f"{assignment}.ipynb")
    result = api.autograde(assignment, student)
    assert result["success"], result.get("log")
    return grades(config, assignment, student)


@pytest.mark.slow
@pytest.mark.parametrize("twin", TWINS)
def test_a_twin_gives_full_marks_to_its_solution_and_zero_to_its_release(twin, tmp_path, monkeypatch):
    from catdogkit_dev.nbgrader_course import grader, new_course, use_home

    for name in ("HOME", "JUPYTER_CONFIG_DIR", "PATH"):
        monkeypatch.setenv(name, __import__("os").environ.get(name, ""))
    use_home(tmp_path / "home")
    course_dir = tmp_path / "course"
    config = new_course(course_dir, twin)
    api = grader(config)
    generated = api.generate_assignment(twin)
    assert generated["success"], generated.get("log")
    release_path = course_dir / "exercises" / twin / f"{twin}.ipynb"
    assert release_path.read_text() == (REPO / "exercises" / twin / f"{twin}.ipynb").read_text(), (
        "the committed Spanish release is not what nbgrader generates: run "
        "`python -m catdogkit_dev.translate exercises`")
    solution = _read(REPO / "solutions" / twin / f"{twin}.ipynb")
    solved = _autograde(config, api, course_dir, twin, "resuelto", copy.deepcopy(solution))
    assert all(score == top for score, top in solved.values()), f"the solution loses points: {solved}"
    untouched = _autograde(config, api, course_dir, twin, "sin_tocar", _read(release_path))
    assert sum(score for score, _top in untouched.values()) == 0, f"the release scores: {untouched}"
    assert sum(top for _s, top in solved.values()) == sum(top for _s, top in untouched.values()) > 0


@pytest.mark.slow
@pytest.mark.parametrize("name,spanish_words", [
    ("01_utility_functions", ("utilizables", "código de salida", "fotos por segundo")),
    ("03_feature_maps", ("capas de convolución:", "mapas de características de", "correlación de las medias")),
])
def test_a_spanish_lesson_runs_headless_and_speaks_spanish(name, spanish_words, tiny_sample, tmp_path):
    from nbclient import NotebookClient

    notebook = _read(LESSONS_ES / f"{name}.ipynb")
    parameters = next(cell for cell in notebook.cells if "parameters" in cell.metadata.get("tags", []))
    parameters.source = re.sub(r"^DATA = None", f"DATA = {str(tiny_sample)!r}", parameters.source, flags=re.M)
    work = tmp_path / "es"
    shutil.copytree(LESSONS_ES, work, ignore=shutil.ignore_patterns("catalogue"))
    NotebookClient(notebook, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(work)}}).execute()
    outputs = [output for cell in notebook.cells for output in cell.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"], "a cell raised"
    text = "\n".join(str(o.get("text", "")) + str(o.get("data", {}).get("text/html", "")) for o in outputs)
    for words in spanish_words:
        assert words in text, f"the executed lesson {name} should say {words!r}"


@pytest.mark.browser
def test_a_spanish_lesson_in_voila_shows_spanish_widget_labels(tiny_sample, tmp_path):
    from catdogkit_dev import browser
    from catdogkit_dev.voila import VoilaServer

    if not browser.chromium_path():
        pytest.skip("Chromium is missing: apt-get install chromium")
    sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright
    with VoilaServer(REPO / "lessons", data=tiny_sample, log_path=tmp_path / "voila.log") as server, \
            sync_playwright() as playwright:
        chromium = browser.launch(playwright)
        try:
            page = browser.new_page(chromium)
            browser.open_lesson(page, server.page("es/01_utility_functions.ipynb"),
                                ready=".catdogkit-data-browser", timeout=300)
            browser.wait_until_rendered(page, timeout=300)
            labels = page.locator(".catdogkit-data-browser .widget-label").all_inner_texts()
            text = page.inner_text("body")
            assert browser.visible_errors(page) == []
        finally:
            chromium.close()
    assert {"Partición", "Clase", "Página"} <= set(labels), labels
    assert any(label.startswith("train/cats: fotos 1-") for label in labels), labels
    assert "Se ejecuta en este ordenador" in text and "utilizables" in text
