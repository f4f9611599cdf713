"""The lesson notebooks: static checks on the committed files, then every lesson executed.

Static checks (fast): no outputs in git, kernelspec ``python3``, a header with title,
goals, run times, previous/next links, and, in a cell tagged ``notebook-only`` (hidden in
Voila pages by the catdogkit template), the "Open in Colab" badge made from
``catdogkit.course.REPOSITORY`` and the exercise link; every notebook-only sentence tagged;
a parameters cell and the standard set-up cell; a summary and "try this" questions at the
end; no function longer than 10 lines; no class-name literals (the data names the classes).

Execution (slow): every lesson runs top to bottom with nbclient in a fresh kernel on
the embedded sample, two at a time, with shorter trainings set through its parameters
cell (never by skipping cells). Any error output or any stderr output fails the lesson,
including output captured inside ``Output`` widgets. Per-lesson times are written to
``test-artifacts/lesson_timings.json`` (a record, not a limit: timings belong in
benchmarks) and the executed notebooks to ``test-artifacts/lessons/``.
"""
import ast
import json
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
import pytest

from catdogkit import course

REPO = Path(__file__).resolve().parents[1]
LESSONS_DIR = REPO / "lessons"
ARTIFACTS = REPO / "test-artifacts"
LESSONS = course.lesson_names()
MAX_FUNCTION_LINES = 10
#: nbclient's cell timeout: a guard against a hung kernel, not a speed target.
CELL_TIMEOUT_S = 420
#: The same guard for the whole executed set (pytest-timeout).
RUN_TIMEOUT_S = 1800
#: The tag of cells that only make sense in a notebook (hidden in Voila pages).
NOTEBOOK_ONLY = "notebook-only"
#: Text that only makes sense in a notebook (Jupyter, Colab), never on a Voila page.
NOTEBOOK_ONLY_TEXT = ("run the cells", "never need to change code", "colab-badge.svg",
                      "open in colab", "../exercises/", "## set-up", "run the notebook again",
                      "run section")

#: A smaller embedded sample (150x150 like the lessons' own) for the lessons that train:
#: the lessons run exactly as written, on fewer photos.
TEST_SAMPLE = {"train": 60, "validation": 30, "test": 10}
#: Parameters the tests set in each lesson (injected right after its parameters cell);
#: "DATA" set to None here means: the small test sample above.
TEST_PARAMETERS = {
    "02_building_a_cnn": {"DATA": None, "EPOCHS": 2, "MORE_EPOCHS": 1, "FRESH": True},
    "03_feature_maps": {"DATA": None},
    "04_dense_layers": {"DATA": None},
    "05_layer_visualization": {"DATA": None},
    "06_convnet_filters": {"DATA": None, "STEPS": 10, "FILTERS": 8},
    "07_improved_model": {"DATA": None},
}
#: Lessons that use the cached lesson models (trained once, before those lessons run).
MODEL_LESSONS = {
    "03_feature_maps": ("original",),
    "04_dense_layers": ("original", "improved"),
    "05_layer_visualization": ("original",),
    "06_convnet_filters": ("original", "improved"),
    "07_improved_model": ("original", "improved"),
}


def read(name):
    return nbformat.read(LESSONS_DIR / f"{name}.ipynb", as_version=4)


def code_cells(nb):
    return [cell for cell in nb.cells if cell.cell_type == "code"]


def markdown_cells(nb):
    return [cell for cell in nb.cells if cell.cell_type == "markdown"]


def python_source(cell_source):
    """A code cell as plain Python (IPython magics turned into calls)."""
    from IPython.core.inputtransformer2 import TransformerManager

    return TransformerManager().transform_cell(cell_source)


# ---------------------------------------------------------------- static checks


def test_the_lessons_folder_holds_exactly_the_kits_lessons():
    on_disk = sorted(path.stem for path in LESSONS_DIR.glob("*.ipynb"))
    assert on_disk == sorted(LESSONS), "lessons/ and catdogkit.course.LESSONS disagree"
    for name in LESSONS:
        assert re.fullmatch(r"\d\d_[a-z0-9_]+", name), name


@pytest.mark.parametrize("name", LESSONS)
def test_committed_lesson_is_valid_and_has_no_outputs(name):
    nb = read(name)
    nbformat.validate(nb)
    assert nb.metadata.get("kernelspec", {}).get("name") == "python3"
    for index, cell in enumerate(code_cells(nb)):
        assert cell.outputs == [], f"{name}: code cell {index} has outputs; strip them before committing"
        assert cell.execution_count is None, f"{name}: code cell {index} has an execution count"
    assert "widgets" not in nb.metadata, f"{name}: saved widget state; strip it before committing"


def header_cells(nb):
    """The Markdown cells before the first code cell."""
    first_code = next(i for i, cell in enumerate(nb.cells) if cell.cell_type == "code")
    return [cell for cell in nb.cells[:first_code] if cell.cell_type == "markdown"]


def is_notebook_only(cell):
    return NOTEBOOK_ONLY in cell.metadata.get("tags", [])


@pytest.mark.parametrize("name", LESSONS)
def test_lesson_header_has_title_goals_run_times_badge_and_links(name):
    cells = header_cells(read(name))
    header = cells[0].source
    number = name[:2]
    title = course.lesson_title(name)
    # The Voila index shows "03 · Visualizing feature maps": the number, then this title.
    assert header.startswith(f"# Lesson {number} · {title}\n"), f"{name}: title line"
    assert not is_notebook_only(cells[0]), f"{name}: the title shows in Voila too"
    assert course.navigation(name) in header, f"{name}: previous/next links missing or stale"
    assert re.search(r"you will learn", header, re.I), f"{name}: what the student learns"
    run_time = re.search(r"run time[^\n]*", header, re.I)
    assert run_time and "CPU" in run_time.group(0) and "GPU" in run_time.group(0), \
        f"{name}: expected run time on a CPU and on a Colab GPU"
    notebook_only = "\n".join(cell.source for cell in cells if is_notebook_only(cell))
    assert course.colab_badge(name) in notebook_only, f"{name}: Open-in-Colab badge missing or stale"
    assert course.COLAB_BADGE_IMAGE in notebook_only
    assert course.exercise_links(name) in notebook_only, f"{name}: link to the exercise"


@pytest.mark.parametrize("name", LESSONS)
def test_notebook_only_text_is_tagged_for_voila(name):
    """What only makes sense in a notebook sits in cells the Voila template hides."""
    for index, cell in enumerate(read(name).cells):
        if cell.cell_type != "markdown" or is_notebook_only(cell):
            continue
        found = [text for text in NOTEBOOK_ONLY_TEXT if text in cell.source.lower()]
        assert not found, (f"{name}: cell {index} ({cell.get('id')}) says {found} but is not "
                           f"tagged {NOTEBOOK_ONLY!r}")


def test_the_voila_template_hides_notebook_only_cells():
    template = (REPO / "catdogkit" / "voila_templates" / "voila" / "templates" / "catdogkit"
                / "index.html.j2").read_text(encoding="utf-8")
    assert "block any_cell" in template and f"'{NOTEBOOK_ONLY}'" in template


@pytest.mark.parametrize("name", LESSONS)
def test_lessons_name_classes_through_the_data(name):
    code = "\n".join(cell.source for cell in code_cells(read(name)))
    literal = re.search(r"""photos?\(\s*["'](cats|dogs)["']""", code)
    assert not literal, f"{name}: {literal.group(0)}: use lesson.photo(0) / lesson.class_names"


@pytest.mark.parametrize("name", LESSONS)
def test_header_links_point_to_existing_files(name):
    header = markdown_cells(read(name))[0].source
    for target in re.findall(r"\]\(([^)\s]+)\)", header):
        if target.startswith("http"):
            continue
        path = (LESSONS_DIR / target.split("#")[0]).resolve()
        assert path.exists(), f"{name}: the header links to {target}, which does not exist"


@pytest.mark.parametrize("name", LESSONS)
def test_lesson_starts_with_parameters_then_the_standard_setup_cell(name):
    cells = code_cells(read(name))
    parameters, setup = cells[0], cells[1]
    assert "parameters" in parameters.metadata.get("tags", []), f"{name}: first code cell must be tagged 'parameters'"
    tree = ast.parse(parameters.source)
    assert all(isinstance(node, ast.Assign) for node in tree.body), \
        f"{name}: the parameters cell holds plain assignments only"
    assert course.install_command() in setup.source, f"{name}: Colab install line missing or stale"
    assert 'if "google.colab" in sys.modules:' in setup.source
    assert "import catdogkit as cdk" in setup.source
    assert f'cdk.lesson.setup("{name}"' in setup.source
    for cell in cells[:1]:
        assert "import" not in cell.source


@pytest.mark.parametrize("name", LESSONS)
def test_lesson_ends_with_summary_and_try_this(name):
    tail = "\n".join(cell.source for cell in markdown_cells(read(name))[-2:])
    assert re.search(r"^#+ .*summary", tail, re.I | re.M), f"{name}: a summary at the end"
    assert re.search(r"^#+ .*try this", tail, re.I | re.M), f"{name}: 'try this' questions at the end"


@pytest.mark.parametrize("name", LESSONS)
def test_lesson_defines_no_long_function_and_needs_no_typing(name):
    for index, cell in enumerate(code_cells(read(name))):
        tree = ast.parse(python_source(cell.source))
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                length = node.end_lineno - node.lineno + 1
                assert length <= MAX_FUNCTION_LINES, (
                    f"{name}: code cell {index} defines {node.name} with {length} lines; "
                    "reusable logic belongs in catdogkit")
            if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "input":
                pytest.fail(f"{name}: code cell {index} calls input(); use a widget")
        assert "drive.mount" not in cell.source, f"{name}: never mount Drive at the top level"


@pytest.mark.parametrize("name", LESSONS[1:])
def test_explorations_use_the_kits_widgets(name):
    code = "\n".join(cell.source for cell in code_cells(read(name)))
    # cdk.training.train shows catdogkit.widgets.TrainingMonitor in a notebook
    assert "cdk.widgets." in code or "cdk.training.train(" in code, \
        f"{name}: explorations use catdogkit.widgets"


@pytest.mark.parametrize("name", sorted(MODEL_LESSONS))
def test_model_lessons_use_the_cached_lesson_models(name):
    code = "\n".join(cell.source for cell in code_cells(read(name)))
    for model in MODEL_LESSONS[name]:
        assert f'lesson_model("{model}"' in code, f"{name}: use cdk.training.lesson_model({model!r})"


# ---------------------------------------------------------------- execution


def with_parameters(nb, parameters):
    """Insert a cell that sets ``parameters`` right after the parameters cell (as papermill does)."""
    if not parameters:
        return nb
    index = next(i for i, cell in enumerate(nb.cells) if "parameters" in cell.metadata.get("tags", []))
    source = "\n".join(f"{key} = {value!r}" for key, value in parameters.items())
    injected = nbformat.v4.new_code_cell(source, metadata={"tags": ["injected-parameters"]})
    nb.cells.insert(index + 1, injected)
    return nb


def problems_in(outputs, where):
    found = []
    for output in outputs:
        if output.get("output_type") == "error":
            found.append(f"{where}: error {output.get('ename')}: {output.get('evalue')}")
        elif output.get("output_type") == "stream" and output.get("name") == "stderr":
            found.append(f"{where}: stderr: {output.get('text', '')[:500]!r}")
        elif (output.get("data", {}).get("text/plain", "").startswith("<Figure")
              and "image/png" not in output.get("data", {})):
            found.append(f"{where}: a figure shown as text, not as a picture")
    return found


def problems_in_widgets(nb):
    """Errors that widgets caught while the lesson ran: output captured by ``Output``
    widgets, and the message areas where the kit's explorers show callback errors."""
    state = nb.metadata.get("widgets", {}).get("application/vnd.jupyter.widget-state+json", {})
    found = []
    for model_id, model in state.get("state", {}).items():
        widget = model.get("state", {})
        found += problems_in(widget.get("outputs") or [], f"Output widget {model_id}")
        value = widget.get("value")
        if isinstance(value, str) and ("Something went wrong" in value or "#b71c1c" in value):
            found.append(f"widget {model_id} shows an error: {value[:300]!r}")
    return found


def small_sample():
    from catdogkit.sample import make_sample

    return make_sample(TEST_SAMPLE, image_size=150, seed=0)


def parameters_for(name):
    parameters = dict(TEST_PARAMETERS.get(name, {}))
    if "DATA" in parameters:
        parameters["DATA"] = str(small_sample())
    return parameters


def execute(name):
    from nbclient import NotebookClient

    nb = with_parameters(read(name), parameters_for(name))
    client = NotebookClient(nb, timeout=CELL_TIMEOUT_S, kernel_name="python3",
                            store_widget_state=True, allow_errors=True,
                            resources={"metadata": {"path": str(LESSONS_DIR)}})
    started = time.monotonic()
    client.execute()
    seconds = time.monotonic() - started
    (ARTIFACTS / "lessons").mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, ARTIFACTS / "lessons" / f"{name}.ipynb")  # executed copy, for reading
    problems = []
    for index, cell in enumerate(code_cells(nb)):
        problems += problems_in(cell.get("outputs", []), f"code cell {index}")
    problems += problems_in_widgets(nb)
    return {"seconds": seconds, "problems": problems}


def warm_lesson_models(names):
    """Train (or load from the test cache) the models the selected lessons share, once."""
    from catdogkit import training

    wanted = sorted({model for name in names for model in MODEL_LESSONS.get(name, ())})
    for model in wanted:
        training.lesson_model(model, small_sample(), callbacks=[])
    return wanted


@pytest.fixture(scope="module")
def executed(request):
    """Run the selected lessons, two at a time; lessons without shared models go first."""
    selected = [item.callspec.params["name"] for item in request.session.items
                if item.originalname == "test_lesson_executes_cleanly"]
    plain = [name for name in selected if name not in MODEL_LESSONS]
    modelled = [name for name in selected if name in MODEL_LESSONS]
    results, lock = {}, threading.Lock()

    def run(name):
        try:
            outcome = execute(name)
        except Exception as error:  # a kernel that died or a cell that timed out
            outcome = {"seconds": None, "problems": [f"{type(error).__name__}: {error}"]}
        with lock:
            results[name] = outcome

    started = time.monotonic()
    small_sample()
    timing = {}

    def warm():
        warmed = time.monotonic()
        warm_lesson_models(modelled)
        timing["warm"] = time.monotonic() - warmed

    def run_after_warm(name):
        warming.result()  # the shared lesson models are ready (trained or loaded) first
        run(name)

    # Two at a time (2 CPU cores): this process trains or loads the shared lesson models
    # while a kernel runs the lessons that need none (the longest, 02, first); the lessons
    # that use the models queue behind them.
    plain.sort(key=lambda name: name != "02_building_a_cnn")
    with ThreadPoolExecutor(max_workers=2) as pool:
        warming = pool.submit(warm)
        futures = [pool.submit(run, name) for name in plain]
        futures += [pool.submit(run_after_warm, name) for name in modelled]
        for future in [warming, *futures]:
            future.result()
    warm_seconds = timing["warm"]
    total = time.monotonic() - started
    ARTIFACTS.mkdir(exist_ok=True)
    report = {"total_seconds": round(total, 1), "lesson_models_seconds": round(warm_seconds, 1),
              "lessons": {name: results[name]["seconds"] and round(results[name]["seconds"], 1)
                          for name in selected}}
    (ARTIFACTS / "lesson_timings.json").write_text(json.dumps(report, indent=2))
    return {"results": results, "total": total}


@pytest.mark.slow
@pytest.mark.timeout(RUN_TIMEOUT_S)
@pytest.mark.parametrize("name", LESSONS)
def test_lesson_executes_cleanly(name, executed):
    outcome = executed["results"][name]
    assert not outcome["problems"], f"{name}:\n" + "\n".join(outcome["problems"])


def test_lesson02_trains_what_prepare_trains():
    """``cdk.training.prepare_lessons()`` pre-trains lesson 02's run: the lesson asks the kit
    for the same folder and epochs (``lesson02_run``) unless a user overrides them."""
    cells = code_cells(read("02_building_a_cnn"))
    parameters = {}
    exec(cells[0].source, {}, parameters)
    assert parameters["EPOCHS"] is None and parameters["MORE_EPOCHS"] is None, \
        "by default lesson 02 trains the kit's epochs (what prepare_lessons trained)"
    code = "\n".join(cell.source for cell in cells)
    assert "run = cdk.training.lesson02_run(lesson.root)" in code
    assert "run.epochs if EPOCHS is None else EPOCHS" in code
    assert "run.more_epochs if MORE_EPOCHS is None else MORE_EPOCHS" in code
    trainings = re.findall(r"cdk\.training\.train\(.*?\)\n", code, re.S)
    assert len(trainings) == 2
    for call in trainings:
        assert "out=run.folder" in call and "callbacks=[" in call, call


BASICS_CELLS = {
    "03_feature_maps": {
        "03-selectivity-table": "cdk.visualize.channel_selectivity(model, datasets.validation",
        "03-selective-views-code": "cdk.visualize.top_patches(",
        "03-untrained-code": 'cdk.models.build("original", seed=0)',
        "03-one-number-code": "cdk.widgets.ConvolutionStepExplorer(",
        "03-padding-code": "cdk.widgets.PaddingStrideExplorer(",
        "03-receptive-code": "cdk.widgets.ReceptiveFieldExplorer(",
    },
    "04_dense_layers": {
        "04-pooling-code": "cdk.visualize.without_pooling(",
        "04-efficiency-code": "cdk.visualize.layer_costs(",
        "04-speed-code": "cdk.visualize.photos_per_second(",
        "04-gap-cam-code": "cdk.visualize.class_activation_map(",
    },
}


@pytest.mark.parametrize("name", sorted(BASICS_CELLS))
def test_the_basics_and_class_level_views_are_computed_by_the_kit(name):
    """The class-level views, the untrained control and the CNN basics (issues 12 and 13)
    are code cells that call the kit, before the summary."""
    cells = {cell.get("id"): (index, cell) for index, cell in enumerate(read(name).cells)}
    summary = max(index for index, cell in cells.values()
                  if cell.cell_type == "markdown" and "## Summary" in cell.source)
    for cell_id, call in BASICS_CELLS[name].items():
        assert cell_id in cells, f"{name}: cell {cell_id} is missing"
        index, cell = cells[cell_id]
        assert cell.cell_type == "code" and call in cell.source, f"{name}: {cell_id} calls {call}"
        assert index < summary, f"{name}: {cell_id} comes after the summary"


def test_lesson04_explains_the_improved_networks_parts_where_they_first_appear():
    cells = read("04_dense_layers").cells
    first = next(i for i, cell in enumerate(cells)
                 if cell.cell_type == "code" and 'lesson_model("improved"' in cell.source)
    text = cells[first + 1].source
    assert cells[first + 1].cell_type == "markdown"
    assert "Batch normalization" in text and "running averages" in text and "added" in text
