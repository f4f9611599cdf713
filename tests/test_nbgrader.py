"""The nbgrader round trip of every exercise, through nbgrader's Python API.

For each assignment in ``solutions/``, in a temporary course folder with its own
gradebook and HOME (nothing is written into the repository):

* ``generate_assignment`` from ``solutions/`` works, and its release equals the committed
  ``exercises/`` copy;
* five students hand in: ``solved`` (the solutions typed into the release) gets full
  marks; ``untouched`` (the release as it is) gets 0 and grading does not crash;
  ``wrong`` (one realistic mistake) loses exactly that part's points; ``bad`` (one answer
  raises, one writes to stderr, one loops forever) scores 0 on those three parts and full
  marks on the rest, so grading went on past them; ``shortcut`` answers every part that
  has a twin in the kit (a kit function of the same name, or one of :data:`KIT_TWINS`)
  with a one-line call to it, and scores 0 on exactly those parts;
* the ``bad`` student also deleted a test cell: nbgrader restores it and grades it;
* ``Validator`` passes on the solution notebook and fails (``invert=True``) on the release;
* every command of ``docs/instructors.md`` runs (in one more child process), from
  setting up a course to exporting the grades.

Only the assignments that the selected tests name are graded (``-k 02_building`` grades
one). The assignments are graded in parallel child processes (this file run as a script), each
with its own course folder, so the SQLite gradebooks never compete. A student's endless
loop costs :data:`LOOP_TIMEOUT` seconds: the test gives that one test cell a short
timeout (``Execute.timeout_func``), every other cell keeps the course's own.
"""
import ast
import copy
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from catdogkit_dev.nbgrader_course import (
    ASSIGNMENTS, REPO, VENV_BIN, grader, grades, new_course, use_home)

#: The slowest assignments start first, so that the parallel workers finish together.
ORDER = sorted(ASSIGNMENTS, key=lambda name: (name not in ("07_improved_model", "06_convnet_filters",
                                                          "03_feature_maps"), name))
LOOP_TIMEOUT = 5
WORKERS = int(os.environ.get("CATDOGKIT_GRADING_WORKERS", "3"))

#: One realistic mistake per assignment: (answer cell's grade_id, the student's answer).
WRONG = {
    "01_utility_functions": ("is_photo_name", '''
def is_photo_name(name):
    # forgets capital letters: DOG.12.JPG is not counted
    return not name.startswith(".") and name.endswith((".jpg", ".jpeg", ".png"))
'''),
    "02_building_a_cnn": ("class_network", '''
def class_network(input_shape=(150, 150, 3)):
    # padding="same" keeps the maps larger: far more parameters than the class network
    photo = keras.Input(shape=input_shape)
    x = layers.Rescaling(1.0 / 255)(photo)
    for filters in (32, 64, 128, 128):
        x = layers.Conv2D(filters, 3, activation="relu", padding="same")(x)
        x = layers.MaxPooling2D(2)(x)
    x = layers.Flatten()(x)
    x = layers.Dense(512, activation="relu")(x)
    return keras.Model(photo, layers.Dense(1, activation="sigmoid")(x))
'''),
    "03_feature_maps": ("to_image", '''
def to_image(channel):
    # truncates instead of rounding
    channel = np.asarray(channel, dtype="float64")
    low, high = channel.min(), channel.max()
    if high == low:
        return np.zeros(channel.shape, dtype=np.uint8)
    return ((channel - low) / (high - low) * 255).astype(np.uint8)
'''),
    "04_dense_layers": ("flatten_dense_params", '''
def flatten_dense_params(feature_shape, units):
    # forgets the biases
    height, width, channels = feature_shape
    return height * width * channels * units
'''),
    "05_layer_visualization": ("activation_stats", '''
def activation_stats(activation):
    # counts the zeros instead of their fraction
    values = np.asarray(activation, dtype="float64")
    return {"mean": float(values.mean()), "max": float(values.max()),
            "zero_fraction": float(np.sum(values == 0))}
'''),
    "06_convnet_filters": ("gradient_ascent_step", '''
def gradient_ascent_step(extractor, image, filter_index, learning_rate):
    # forgets to normalise the gradient
    image = tf.convert_to_tensor(image, dtype=tf.float32)
    with tf.GradientTape() as tape:
        tape.watch(image)
        loss = tf.reduce_mean(extractor(image)[:, 2:-2, 2:-2, filter_index])
    return loss, image + learning_rate * tape.gradient(loss, image)
'''),
    "07_improved_model": ("improved_network", '''
def improved_network(input_shape=(150, 150, 3)):
    # keeps Flatten + a big Dense layer: over the parameter budget
    photo = keras.Input(shape=input_shape)
    x = layers.Rescaling(1.0 / 255)(photo)
    for filters in (32, 64, 128):
        x = layers.Conv2D(filters, 3, activation="relu")(x)
        x = layers.MaxPooling2D(2)(x)
    x = layers.Flatten()(x)
    x = layers.Dropout(0.5)(x)
    x = layers.Dense(256, activation="relu")(x)
    model = keras.Model(photo, layers.Dense(1, activation="sigmoid")(x))
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    return model
'''),
}

#: Answers whose kit twin has another name: (answer function, the kit function that does its job).
KIT_TWINS = {
    "class_network": "models.original_cnn",
    "improved_network": "models.improved_cnn",
    "grad_cam_map": "visualize.grad_cam",
    "receptive_fields": "visualize.receptive_field",
}
#: Kit modules that no exercise answer could call (command line, servers).
NOT_TWINS = ("catdogkit.__main__", "catdogkit.cli", "catdogkit.serve", "catdogkit.voila", "catdogkit.grading")


def kit_functions():
    """{function name: its shortest public path under ``cdk``} for every public kit function."""
    import importlib
    import inspect
    import pkgutil

    import catdogkit
    found = {}
    for info in pkgutil.walk_packages(catdogkit.__path__, "catdogkit."):
        if info.name.startswith(NOT_TWINS) or "._" in info.name:
            continue
        module = importlib.import_module(info.name)
        for name, value in vars(module).items():
            if (inspect.isfunction(value) and not name.startswith("_")
                    and value.__module__.startswith("catdogkit")):
                path = f"{info.name[len('catdogkit.'):]}.{name}"
                if name not in found or len(path) < len(found[name]):
                    found[name] = path
    return found


def shortcuts(solution):
    """{answer grade_id: the kit function a shortcut answer hands the work to}."""
    kit = kit_functions()
    found = {}
    for cell in solution.cells:
        if _nbgrader(cell).get("solution"):
            name = _function_name(_without_markers(cell.source))
            twin = KIT_TWINS.get(name) or kit.get(name)
            if twin:
                found[_nbgrader(cell)["grade_id"]] = twin
    return found


def shortcut_answer(source, twin):
    """The answer that only calls ``cdk.<twin>`` with the same arguments."""
    name = _function_name(_without_markers(source))
    return f"def {name}(*args, **kwargs):\n    return cdk.{twin}(*args, **kwargs)\n"


#: Which answer (1-based, in notebook order) the ``bad`` student breaks, and how. The loop
#: goes in a function that no ungraded demo cell calls (a demo cell that called it would
#: wait for the course's full cell timeout, as it would in a real course).
BAD_PARTS = {"raises": 1, "stderr": 2, "loops": 3}
BAD_OVERRIDES = {
    "03_feature_maps": {"loops": 1, "raises": 2, "stderr": 3},
    "04_dense_layers": {"loops": 1, "raises": 2, "stderr": 3},
}

BREAKERS = {
    "raises": '''
def {name}(*args, **kwargs):
    raise ValueError("a bug in the student's code")
''',
    "stderr": '''
_right_{name} = {name}
def {name}(*args, **kwargs):
    import sys
    print("debugging output", file=sys.stderr)
    return _right_{name}(*args, **kwargs)
''',
    # sleeps in the loop so that the test machine's CPU is not spent on it
    "loops": '''
def {name}(*args, **kwargs):
    import time
    while True:
        time.sleep(0.05)
''',
}


# ---------------------------------------------------------------------------------------
# The child process: one assignment, one temporary course
# ---------------------------------------------------------------------------------------

def _read(path):
    import nbformat
    return nbformat.read(str(path), as_version=4)


def _write(nb, path):
    import nbformat
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(path))


def _nbgrader(cell):
    return cell.get("metadata", {}).get("nbgrader", {})


def _without_markers(source):
    return "\n".join(line for line in source.splitlines()
                     if line.strip() not in ("### BEGIN SOLUTION", "### END SOLUTION"))


def _answers(nb):
    """The answer cells' grade_ids in notebook order."""
    return [_nbgrader(c)["grade_id"] for c in nb.cells
            if _nbgrader(c).get("solution") and not _nbgrader(c).get("grade")]


def _function_name(source):
    names = [n.name for n in ast.parse(source).body if isinstance(n, ast.FunctionDef)]
    assert len(names) == 1, f"an answer cell should define one function, found {names}"
    return names[0]


def _submission(release, solution, replace=None):
    """The release with the solutions typed in; ``replace`` maps grade_id -> new source."""
    answers = {_nbgrader(c)["grade_id"]: _without_markers(c.source)
               for c in solution.cells if _nbgrader(c).get("solution")}
    nb = copy.deepcopy(release)
    for cell in nb.cells:
        gid = _nbgrader(cell).get("grade_id")
        if _nbgrader(cell).get("solution"):
            cell.source = answers[gid]
            if replace and gid in replace:
                cell.source = replace[gid]
    return nb


def grade_one(assignment, work):
    """Run the whole round trip of one assignment in ``work``; return a JSON-able report."""
    from nbgrader.validator import Validator

    work = Path(work)
    course = work / "course"
    use_home(work / "home")
    cfg = new_course(course, assignment)
    os.chdir(course)
    report = {"assignment": assignment, "root": cfg.CourseDirectory.root}

    source_path = course / "solutions" / assignment / f"{assignment}.ipynb"
    solution = _read(source_path)
    answers = _answers(solution)
    points = {_nbgrader(c)["grade_id"]: float(_nbgrader(c)["points"])
              for c in solution.cells if _nbgrader(c).get("grade")}
    report["points"] = points

    bad = dict(BAD_PARTS, **BAD_OVERRIDES.get(assignment, {}))
    bad_ids = {how: answers[index - 1] for how, index in bad.items()}
    loop_test = f"test_{bad_ids['loops']}"

    def timeout_func(cell):
        return LOOP_TIMEOUT if _nbgrader(cell).get("grade_id") == loop_test else cfg.Execute.timeout

    api = grader(cfg)
    # Only the bad student's endless loop gets the short timeout; everyone else's cells
    # keep the course's own, so a slow machine never fails a right answer.
    bad_cfg = copy.deepcopy(cfg)
    bad_cfg.Execute.timeout_func = timeout_func
    bad_api = grader(bad_cfg)

    result = api.generate_assignment(assignment)
    report["generate"] = {"success": result["success"], "error": result.get("error")}
    if not result["success"]:
        return report
    release_path = course / "exercises" / assignment / f"{assignment}.ipynb"
    release = _read(release_path)
    committed = REPO / "exercises" / assignment / f"{assignment}.ipynb"
    report["release_matches_committed"] = (
        committed.is_file() and json.loads(committed.read_text()) == json.loads(release_path.read_text()))

    wrong_id, wrong_source = WRONG[assignment]
    breaks = {gid: BREAKERS[how].format(name=_function_name(_without_markers(
        next(c.source for c in solution.cells if _nbgrader(c).get("grade_id") == gid))))
        for how, gid in bad_ids.items()}
    students = {
        "solved": _submission(release, solution),
        "untouched": release,
        "wrong": _submission(release, solution, {wrong_id: wrong_source.strip()}),
        "bad": _submission(release, solution, {
            gid: _without_markers(next(c.source for c in solution.cells
                                       if _nbgrader(c).get("grade_id") == gid)) + "\n" + code
            for gid, code in breaks.items()}),
    }
    twins = shortcuts(solution)
    report["shortcuts"] = twins
    if twins:
        students["shortcut"] = _submission(release, solution, {
            gid: shortcut_answer(next(c.source for c in solution.cells if _nbgrader(c).get("grade_id") == gid), twin)
            for gid, twin in twins.items()})
    # The bad student also deleted the last test cell (Colab does not lock cells); nbgrader
    # puts it back (OverwriteCells.add_missing_cells), so that part is still graded.
    deleted = f"test_{answers[-1]}"
    students["bad"].cells = [c for c in students["bad"].cells if _nbgrader(c).get("grade_id") != deleted]
    report["deleted_test"] = deleted
    report["wrong_part"] = wrong_id
    report["bad_parts"] = bad_ids
    report["students"] = {}
    for student, nb in students.items():
        _write(nb, course / "submitted" / student / assignment / f"{assignment}.ipynb")
        start = time.monotonic()
        result = (bad_api if student == "bad" else api).autograde(assignment, student)
        seconds = time.monotonic() - start
        entry = {"success": result["success"], "seconds": round(seconds, 2),
                 "error": result.get("error"), "log": (result.get("log") or "")[-3000:]}
        if result["success"]:
            entry["scores"] = {gid: score for gid, (score, _) in grades(cfg, assignment, student).items()}
        report["students"][student] = entry

    start = time.monotonic()
    report["validate_solution"] = Validator(config=cfg).validate(str(source_path))
    report["validate_release"] = Validator(config=cfg, invert=True).validate(str(release_path))
    report["validate_seconds"] = round(time.monotonic() - start, 2)
    return report


def _child_main(assignment, work, out):
    try:
        report = grade_one(assignment, work)
    except BaseException as error:  # report it to the parent instead of dying silently
        import traceback
        report = {"assignment": assignment, "crash": traceback.format_exc(), "error": repr(error)}
    Path(out).write_text(json.dumps(report, default=str))


# ---------------------------------------------------------------------------------------
# The tests
# ---------------------------------------------------------------------------------------

import pytest  # noqa: E402

pytestmark = pytest.mark.slow


GUIDE = REPO / "docs" / "instructors.md"
GUIDE_ASSIGNMENT = "01_utility_functions"


def guide_blocks(text=None):
    """The guide's ```bash blocks, in order."""
    import re
    text = GUIDE.read_text() if text is None else text
    return re.findall(r"^```bash\n(.*?)^```", text, flags=re.S | re.M)


def _start_guide(base, env):
    """Run every command of docs/instructors.md in a temporary copy of the repository.

    Offline stand-ins: ``git clone`` copies the working tree, ``pip`` does nothing. Between
    the release and the collection, a student (``bruno``) fetches the assignment from the
    exchange, solves it and submits it; ``alice`` hands in a notebook with one mistake
    through ~/Downloads. Returns the running process and the folders the test checks.
    """
    base = Path(base)
    origin, work, home = base / "origin", base / "work", base / "home"
    exchange, student = base / "exchange", base / "student"
    ignore = shutil.ignore_patterns(".git", ".venv*", ".cache", "__pycache__", "submitted",
                                    "autograded", "feedback", "gradebook.db", "*.egg-info")
    shutil.copytree(REPO, origin, ignore=ignore)
    for folder in (work, home / ".jupyter", exchange, student, home / "Downloads" / "alice"):
        folder.mkdir(parents=True)
    (home / ".jupyter" / "nbgrader_config.py").write_text(
        f"c = get_config()\nc.Exchange.root = {str(exchange)!r}\n")
    nb_name = f"{GUIDE_ASSIGNMENT}.ipynb"
    release = _read(REPO / "exercises" / GUIDE_ASSIGNMENT / nb_name)
    solution = _read(REPO / "solutions" / GUIDE_ASSIGNMENT / nb_name)
    wrong_id, wrong_source = WRONG[GUIDE_ASSIGNMENT]
    _write(_submission(release, solution, {wrong_id: wrong_source.strip()}),
           home / "Downloads" / "alice" / nb_name)
    _write(_submission(release, solution), base / "bruno.ipynb")
    student_turn = (
        f'(cd {student}'
        f' && nbgrader fetch_assignment {GUIDE_ASSIGNMENT} --course catdogkit'
        f' && cp {base / "bruno.ipynb"} {GUIDE_ASSIGNMENT}/{nb_name}'
        f' && nbgrader submit {GUIDE_ASSIGNMENT} --course catdogkit --student bruno)\n')
    script = [
        "set -euo pipefail",
        'git() { if [ "$1" = clone ]; then cp -r "$GUIDE_ORIGIN" "$3"; else command git "$@"; fi; }',
        'pip() { echo "(guide test: offline, skipped: pip $*)"; }',
        f"cd {work}",
    ]
    for block in guide_blocks():
        if "nbgrader collect" in block:
            script.append(student_turn)
        script.append(f"echo '>>> guide block {len(script)}'")
        script.append(block)
    guide_env = dict(env, HOME=str(home), GUIDE_ORIGIN=str(origin),
                     JUPYTER_CONFIG_DIR=str(home / ".jupyter"),
                     PATH=f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}")
    (base / "guide.sh").write_text("\n".join(script) + "\n")
    log = open(base / "guide.log", "w")
    proc = subprocess.Popen(["bash", str(base / "guide.sh")], env=guide_env, cwd=work,
                            stdout=log, stderr=subprocess.STDOUT)
    return proc, {"log": base / "guide.log", "course": work / "catdogkit-course",
                  "students_copy": work / "catdogkit-students"}


def _selected(request):
    """The assignments the selected tests ask for, and whether the guide test is selected."""
    names = {item.callspec.params.get("assignment") for item in request.session.items
             if hasattr(item, "callspec")}
    guide = any(item.name == "test_instructor_guide" for item in request.session.items)
    return [name for name in ORDER if name in names or (guide and name == GUIDE_ASSIGNMENT)], guide


@pytest.fixture(scope="module")
def graded(tmp_path_factory, request):
    """The selected assignments' round-trip reports, graded in parallel child processes."""
    base = tmp_path_factory.mktemp("nbgrader")
    selected, run_guide = _selected(request)
    env = dict(os.environ)
    env.setdefault("CATDOGKIT_CACHE", str(REPO / ".cache" / "catdogkit"))
    env["MPLCONFIGDIR"] = str(REPO / ".cache" / "matplotlib")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    pending, running, reports = list(selected), [], {}
    start = time.monotonic()
    guide_proc, guide = _start_guide(base / "guide", env) if run_guide else (None, {})
    guide_running = (lambda: guide_proc is not None and guide_proc.poll() is None)
    while pending or running:
        while pending and len(running) < WORKERS - guide_running():
            name = pending.pop(0)
            out = base / f"{name}.json"
            proc = subprocess.Popen(
                [sys.executable, __file__, name, str(base / name), str(out)], env=env,
                stdout=subprocess.DEVNULL, stderr=open(base / f"{name}.log", "w"))
            running.append((name, proc, out))
        time.sleep(0.2)
        for item in list(running):
            name, proc, out = item
            if proc.poll() is not None:
                running.remove(item)
                reports[name] = (json.loads(out.read_text()) if out.is_file()
                                 else {"crash": (base / f"{name}.log").read_text()[-3000:]})
    if run_guide:
        guide["returncode"] = guide_proc.wait()
        print(f"\ninstructor guide commands: done after {time.monotonic() - start:.1f} s")
    reports["_guide"] = guide
    reports["_seconds"] = round(time.monotonic() - start, 1)
    print(f"\nnbgrader round trip of {len(selected)} assignments: {reports['_seconds']} s")
    for name in selected:
        students = reports[name].get("students", {})
        print(f"  {name}: " + ", ".join(f"{s} {v['seconds']} s" for s, v in students.items())
              + f"; Validator (solution + release) {reports[name].get('validate_seconds')} s")
    return reports


def _report(graded, assignment):
    report = graded[assignment]
    assert "crash" not in report, report["crash"]
    assert report["generate"]["success"], report["generate"]["error"]
    return report


def _student(report, student):
    entry = report["students"][student]
    assert entry["success"], f"autograding {student} failed:\n{entry['error']}\n{entry['log']}"
    return entry


#: The English assignments; each may have a Spanish twin named ``<assignment>_es``.
ENGLISH = [name for name in ASSIGNMENTS if not name.endswith("_es")]


def _graded_parts(assignment):
    cells = _read(REPO / "solutions" / assignment / f"{assignment}.ipynb").cells
    return [(_nbgrader(c)["grade_id"], float(_nbgrader(c)["points"])) for c in cells if _nbgrader(c).get("grade")]


def test_assignments_exist():
    """One assignment per lesson 01-07, named after the lesson; Spanish twins grade the same parts."""
    from catdogkit.course import lesson_names
    assert ENGLISH == lesson_names()[1:]
    for twin in sorted(set(ASSIGNMENTS) - set(ENGLISH)):
        assert twin[:-len("_es")] in ENGLISH, twin
        assert _graded_parts(twin) == _graded_parts(twin[:-len("_es")]), f"{twin} grades other parts or points"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_release_equals_committed_exercises(graded, assignment):
    report = _report(graded, assignment)
    assert report["release_matches_committed"], (
        f"exercises/{assignment} differs from what nbgrader generates from solutions/: run "
        f"`nbgrader generate_assignment {assignment} --force` at the repository root")


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_solution_gets_full_marks(graded, assignment):
    report = _report(graded, assignment)
    scores = _student(report, "solved")["scores"]
    assert scores == report["points"]


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_untouched_release_gets_zero(graded, assignment):
    report = _report(graded, assignment)
    scores = _student(report, "untouched")["scores"]
    assert scores == {gid: 0.0 for gid in report["points"]}


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_one_wrong_answer_loses_exactly_its_part(graded, assignment):
    report = _report(graded, assignment)
    scores = _student(report, "wrong")["scores"]
    expected = dict(report["points"], **{f"test_{report['wrong_part']}": 0.0})
    assert scores == expected


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_raising_noisy_and_endless_answers_score_zero_and_grading_goes_on(graded, assignment):
    report = _report(graded, assignment)
    entry = _student(report, "bad")
    broken = {f"test_{gid}" for gid in report["bad_parts"].values()}
    expected = {gid: 0.0 if gid in broken else points for gid, points in report["points"].items()}
    assert entry["scores"] == expected
    assert len(report["points"]) > len(broken), "a part after the broken ones shows that grading went on"
    assert report["deleted_test"] not in broken and expected[report["deleted_test"]] > 0


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_answers_that_only_call_the_kit_score_zero(graded, assignment):
    """Issue 13: a part answered by handing the work to the kit's own function earns nothing."""
    report = _report(graded, assignment)
    twins = report["shortcuts"]
    if not twins:
        pytest.skip(f"no answer of {assignment} has a twin in the kit")
    scores = _student(report, "shortcut")["scores"]
    expected = {gid: 0.0 if gid[len("test_"):] in twins else points for gid, points in report["points"].items()}
    assert scores == expected, f"shortcuts through {twins} earned points"


def test_shortcut_finder_knows_the_kit_twins():
    """The finder sees the twins named in issue 13, so the shortcut test above is not empty."""
    found = {}
    for assignment in ASSIGNMENTS:
        found.update(shortcuts(_read(REPO / "solutions" / assignment / f"{assignment}.ipynb")))
    assert found["class_network"] == "models.original_cnn"
    assert found["activation_model"].endswith(".activation_model")
    assert found["feature_maps"].endswith(".feature_maps")
    assert found["deprocess"].endswith(".deprocess")


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_validator_passes_solution_and_fails_release(graded, assignment):
    report = _report(graded, assignment)
    assert report["validate_solution"] == {}, report["validate_solution"]
    release = report["validate_release"]
    assert "passed" not in release and "changed" not in release, release


def test_instructor_guide(graded):
    """Every command of docs/instructors.md runs, and the grades come out right."""
    import csv
    guide = graded["_guide"]
    log = guide["log"].read_text()
    assert guide["returncode"] == 0, log[-5000:]
    course = guide["course"]
    rows = {row["student_id"]: row for row in csv.DictReader(open(course / "grades.csv"))
            if row["assignment"] == GUIDE_ASSIGNMENT}
    points = sum(float(_nbgrader(c)["points"]) for c in _read(
        REPO / "solutions" / GUIDE_ASSIGNMENT / f"{GUIDE_ASSIGNMENT}.ipynb").cells if _nbgrader(c).get("grade"))
    assert float(rows["bruno"]["score"]) == points, rows          # solved, via the exchange
    assert float(rows["alice"]["score"]) == points - 1, rows      # one mistake, via ~/Downloads
    assert (course / "feedback" / "bruno" / GUIDE_ASSIGNMENT / f"{GUIDE_ASSIGNMENT}.html").is_file()
    copy_ = guide["students_copy"]
    assert (copy_ / "exercises" / GUIDE_ASSIGNMENT).is_dir() and not (copy_ / "solutions").exists()
    assert not (copy_ / "gradebook.db").exists()
    assert "git-pull?repo=https%3A%2F%2Fgithub.com%2Fcatdogkit%2Fcatdogkit" in log


def test_guide_covers_the_workflow():
    commands = "\n".join(guide_blocks())
    for step in ["generate_assignment", "validate", "release_assignment", "collect", "autograde",
                 "generate_feedback", "release_feedback", "export", "git-pull"]:
        assert step in commands, f"the instructor guide has no command for {step}"
    text = GUIDE.read_text()
    assert "hidden tests" in text and "private" in text


# ---------------------------------------------------------------------------------------
# The notebooks' own rules (no nbgrader run needed)
# ---------------------------------------------------------------------------------------

def _cells(path):
    return json.loads(Path(path).read_text())["cells"]


def _code(cell):
    source = cell["source"]
    return "".join(source) if isinstance(source, list) else source


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_notebook_follows_the_course_rules(assignment):
    from catdogkit.course import colab_url
    path = REPO / "solutions" / assignment / f"{assignment}.ipynb"
    nb = json.loads(path.read_text())
    assert nb["metadata"]["kernelspec"]["name"] == "python3"
    cells = nb["cells"]
    ids = [c["metadata"]["nbgrader"]["grade_id"] for c in cells if "nbgrader" in c["metadata"]]
    assert len(ids) == len(set(ids)), "grade_ids must be unique"
    assert all(__import__("re").fullmatch(r"[A-Za-z0-9_-]+", i) for i in ids)
    assert all(c["metadata"]["nbgrader"]["schema_version"] == 3 for c in cells if "nbgrader" in c["metadata"])
    code = [c for c in cells if c["cell_type"] == "code"]
    assert all(not c["outputs"] and c["execution_count"] is None for c in code), "commit without outputs"
    first = _code(code[0])
    assert "import catdogkit" in first and "tensorflow" not in first.split("import catdogkit")[0]
    assert 'if "google.colab" in sys.modules:' in first and "%pip install" in first
    assert "nbgrader" not in first and "tensorflow" not in first.split("import catdogkit")[0]
    from catdogkit.course import install_command
    assert install_command() in first, "the Colab set-up cell installs the kit as the lessons do"
    assert f"({colab_url('exercises/' + assignment + '/' + assignment + '.ipynb')})" in _code(cells[0])
    tests = [c for c in cells if c["metadata"].get("nbgrader", {}).get("grade")]
    answers = [c for c in cells if c["metadata"].get("nbgrader", {}).get("solution")]
    assert 3 <= len(tests) <= 6 and len(answers) == len(tests)
    for cell in tests:
        meta = cell["metadata"]["nbgrader"]
        source = _code(cell)
        assert meta["locked"] and meta["points"] > 0 and not meta["solution"]
        assert source.startswith("# Comprueba que" if assignment.endswith("_es") else "# Check that"), meta["grade_id"]
        visible = source.split("### BEGIN HIDDEN TESTS")[0]
        assert "### BEGIN HIDDEN TESTS" in source and "### END HIDDEN TESTS" in source
        for part in (visible, "\n".join(l for l in source.splitlines() if not l.startswith("###"))):
            assert isinstance(ast.parse(part).body[-1], ast.Assert), f"{meta['grade_id']} must end with an assert"
    for cell in answers:
        source = _code(cell)
        assert "### BEGIN SOLUTION" in source and "### END SOLUTION" in source
        tree = ast.parse(_without_markers(source))
        assert [type(n).__name__ for n in tree.body] == ["FunctionDef"], "an answer is one function"
        assert "widgets" not in source, "widgets only in ungraded cells"
        assert f"test_{cell['metadata']['nbgrader']['grade_id']}" in ids, "each answer has its test cell"


def test_guide_lists_every_part_with_its_points():
    """The guide's table of parts says what the notebooks grade."""
    import re
    table = {}
    for line in GUIDE.read_text().splitlines():
        match = re.match(r"\| `(\d\d_\w+)` \| (.*) \|$", line)
        if match:
            table[match.group(1)] = re.findall(r"`(\w+)`[^`(]*\((\d+)\)", match.group(2))
    assert sorted(table) == ENGLISH
    for assignment in ENGLISH:
        cells = _read(REPO / "solutions" / assignment / f"{assignment}.ipynb").cells
        parts = [(_nbgrader(c)["grade_id"][len("test_"):], str(int(_nbgrader(c)["points"])))
                 for c in cells if _nbgrader(c).get("grade")]
        assert table[assignment] == parts, assignment


def _solution_function(assignment, grade_id, namespace):
    """Define the solution of one answer cell in ``namespace`` and return the function."""
    cell = next(c for c in _read(REPO / "solutions" / assignment / f"{assignment}.ipynb").cells
                if _nbgrader(c).get("grade_id") == grade_id)
    exec(_without_markers(cell.source), namespace)
    return namespace[_function_name(_without_markers(cell.source))]


def test_exercise_04_says_what_the_two_networks_cost():
    """The figures that exercise 04 states are what its own layer_cost finds in the kit's networks."""
    import re

    import keras
    from keras import layers

    import catdogkit as cdk
    layer_cost = _solution_function("04_dense_layers", "layer_cost", {"layers": layers, "keras": keras})
    text = next(c.source for c in _read(REPO / "solutions" / "04_dense_layers" / "04_dense_layers.ipynb").cells
                if c.get("id") == "intro-layer-cost")
    text = re.sub(r"\s+", " ", text)
    costs = {}
    for network in (cdk.models.original_cnn(), cdk.models.improved_cnn()):
        parts = [layer_cost(layer) for layer in network.layers]
        costs[network.name] = (sum(p for p, _ in parts), sum(m for _, m in parts))
    (class_params, class_macs), (improved_params, improved_macs) = costs["original_cnn"], costs["improved_cnn"]
    assert f"{improved_params:,} parameters" in text and f"{class_params:,}" in text
    assert f"about {round(improved_macs / 1e6)} million multiply-adds per photo against {round(class_macs / 1e6)} million" in text
    assert f"about {improved_macs / class_macs:.1f} times as many" in text
    assert "about a third" in text and 0.3 < improved_params / class_params < 0.4


def test_exercises_mean_what_the_kit_means():
    """Receptive field (03), channel selectivity (05) and deprocess (06) are the kit's own ideas."""
    import keras
    import numpy as np

    import catdogkit as cdk
    from catdogkit import grading
    namespace = {"keras": keras, "np": np}
    receptive_fields = _solution_function("03_feature_maps", "receptive_fields", namespace)
    channel_selectivity = _solution_function("05_layer_visualization", "channel_selectivity", namespace)
    deprocess = _solution_function("06_convnet_filters", "deprocess", namespace)
    for model in (cdk.models.original_cnn(), cdk.models.improved_cnn((64, 64, 3))):
        fields = receptive_fields(model)
        assert fields and all(size == cdk.visualize.receptive_field(model, name)[0] for name, size in fields.items())
    tiny = grading.tiny_cnn()
    photos, labels = grading.sample_batch(8, image_size=32)
    maps = grading.call(keras.Model(tiny.inputs, tiny.get_layer("conv2").output), photos)
    kit = cdk.visualize.channel_selectivity(tiny, photos, "conv2", labels)["selectivity"]
    assert np.allclose(channel_selectivity(maps, labels), kit, rtol=1e-3, atol=1e-4)
    pattern = np.random.default_rng(0).normal(0, 40, (16, 16, 3))
    assert np.abs(deprocess(pattern).astype(int) - cdk.visualize.deprocess(pattern) * 255).max() <= 1


def test_grading_config():
    """The course config: folders, timeout, TF log lines ignored, deleted cells restored."""
    import re
    from traitlets.config.loader import PyFileConfigLoader
    cfg = PyFileConfigLoader("nbgrader_config.py", path=str(REPO)).load_config()
    assert cfg.CourseDirectory.root == str(REPO)
    assert cfg.CourseDirectory.source_directory == "solutions"
    assert cfg.CourseDirectory.release_directory == "exercises"
    assert cfg.CourseDirectory.course_id
    assert 60 <= cfg.Execute.timeout <= 300
    assert cfg.IgnorePattern.enabled is True
    assert cfg.OverwriteCells.add_missing_cells is True
    pattern = re.compile(cfg.IgnorePattern.pattern)
    for line in [
        "I0000 00:00:1795553784.160149    5363 port.cc:153] oneDNN custom operations are on.",
        "2026-11-24 20:57:54.1: I tensorflow/core/util/port.cc:153] oneDNN custom operations are on.",
        "W0000 00:00:1795553784.1 5363 cpu_feature_guard.cc:227] This TensorFlow binary is optimized",
        "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
    ]:
        assert pattern.search(line), line
    for line in ["debugging output", "Traceback (most recent call last):", "UserWarning: shuffle"]:
        assert not pattern.search(line), line


if __name__ == "__main__":
    _child_main(*sys.argv[1:4])
