"""A real course on a real JupyterHub, end to end (issue 17).

One JupyterHub (PyPI ``jupyterhub``, npm ``configurable-http-proxy``) on 127.0.0.1, the
SharedPasswordAuthenticator, the standard LocalProcessSpawner, and three system
users made for this test (an instructor, two students; ``catdogkit_dev.hub_classroom``):

* each student logs in in Chromium, runs lesson 01 in JupyterLab and opens it as a Voila
  page under their own server; on both the lesson says it uses the hub's shared photo
  folder, and moving the photo browser's slider changes the picture;
* the instructor releases an assignment through nbgrader's exchange; both students fetch
  it, one solves it and one makes a mistake, both submit; the instructor collects,
  autogrades and releases feedback; the students fetch it; the gradebook holds the scores;
* a student reaches neither the other student's files nor the instructor's ``solutions/``,
  through the hub or from her own processes;
* stopping the hub stops everything it started; the users are deleted afterwards.

Everything waits by bounded polls. Logs and screenshots go to <repo>/test-artifacts/hub/.
"""
import json
import re
import sys
import urllib.parse
from pathlib import Path

import jsonschema
import nbformat
import psutil
import pytest
import yaml

from catdogkit_dev.hub import why_no_hub
from catdogkit_dev.hub_classroom import SERVER_CONFIG, Classroom
from catdogkit_dev.hub_python import why_no_user_python
from catdogkit_dev.hub_users import why_users_cannot_be_made

try:
    from catdogkit_dev import browser as bs
except ImportError:  # before the browser helpers moved into catdogkit_dev (contract 6)
    sys.path.insert(0, str(Path(__file__).resolve().parent))  # --import-mode=importlib
    import browser_support as bs

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "test-artifacts" / "hub"
DEPLOY = REPO / "deploy"
LESSON = "01_utility_functions"
ASSIGNMENT = "01_utility_functions"
#: A busy two-core machine: a lesson kernel imports TensorFlow and reads the photos.
PAGE_TIMEOUT_S = 300
#: The mistake of the second student: photo names in capitals are not counted.
WRONG_ANSWER = ("is_photo_name", '''
def is_photo_name(name):
    return not name.startswith(".") and name.endswith((".jpg", ".jpeg", ".png"))
''')

@pytest.fixture(scope="module")
def classroom():
    reason = (why_users_cannot_be_made() or why_no_hub() or why_no_user_python()
              or (None if bs.chromium_path() else "Debian's chromium is not installed"))
    if reason:
        pytest.skip(reason)
    room = Classroom(ARTIFACTS)
    try:
        room.open()
        yield room
    finally:
        room.close()


@pytest.fixture(scope="module")
def browser(classroom):
    playwright_api = pytest.importorskip("playwright.sync_api")
    with playwright_api.sync_playwright() as playwright:
        chromium = bs.launch(playwright)
        yield chromium
        chromium.close()


def log_in(browser, hub, name):
    """A new browser context logged in as ``name`` through the hub's login form."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(hub.url + "hub/login", timeout=PAGE_TIMEOUT_S * 1000)
    page.fill("#username_input", name)
    page.fill("#password_input", hub.password)
    page.click("#login_submit")
    page.wait_for_url(re.compile(rf"/user/{name}/"), timeout=PAGE_TIMEOUT_S * 1000)
    return page


def says_shared_photos(page, classroom):
    """Wait for the set-up message: on a JupyterHub, the course's shared photos, and where."""
    message = page.get_by_text("the course's shared photos").first
    message.wait_for(timeout=PAGE_TIMEOUT_S * 1000)
    text = page.locator("body").inner_text()
    assert str(classroom.photos) in text
    assert "Running on a JupyterHub" in text


def move_photo_browser(page):
    """Press the right arrow on the photo browser's Page slider; the picture must change."""
    browser = page.locator(".catdogkit-data-browser").first
    browser.scroll_into_view_if_needed()
    before, after = bs.changed_picture(
        page, ".catdogkit-data-browser-image",
        lambda: bs.press_slider(page, bs.slider(browser, "Page"), "ArrowRight"))
    assert before != after


RUN_ALL = """async () => {
    const panel = window.jupyterapp.shell.currentWidget;
    await panel.context.ready;
    await panel.sessionContext.ready;
    window.jupyterapp.commands.execute('notebook:run-all-cells');
}"""


def start_in_jupyterlab(page, hub, name):
    """Open the lesson in JupyterLab and press "Run all" (returns while it runs)."""
    page.goto(f"{hub.url}user/{name}/lab/tree/lessons/{LESSON}.ipynb", timeout=PAGE_TIMEOUT_S * 1000)
    page.wait_for_function(
        "() => window.jupyterapp && window.jupyterapp.shell.currentWidget"
        " && window.jupyterapp.shell.currentWidget.sessionContext", timeout=PAGE_TIMEOUT_S * 1000)
    page.evaluate(RUN_ALL)


def shut_kernels_down(hub, name, token):
    """Free the memory of a student's kernels (a lesson kernel holds about 0.6 GB)."""
    status, kernels = hub.request("GET", f"user/{name}/api/kernels", token=token)
    assert status == 200
    for kernel in kernels:
        hub.request("DELETE", f"user/{name}/api/kernels/{kernel['id']}", token=token)


@pytest.mark.slow
@pytest.mark.browser
def memory_of(classroom, name):
    """``[(what, resident MiB)]`` of ``name``'s processes now: their server, kernels, others."""
    uid, report = classroom.users.uid(name), []
    for process in classroom.users.processes():
        try:
            if process.uids().real != uid:
                continue
            command = " ".join(process.cmdline())
            what = ("kernel" if "ipykernel" in command else
                    "server" if "jupyterhub-singleuser" in command else process.name())
            report.append((what, round(process.memory_info().rss / 2 ** 20, 1)))
        except psutil.Error:
            continue
    return report


@pytest.mark.slow
@pytest.mark.browser
def test_students_run_a_lesson_in_jupyterlab_and_as_a_voila_page(classroom, browser):
    """Both students work at once, as in a class: their lessons run side by side."""
    hub, memory = classroom.hub, {}
    pages = {name: log_in(browser, hub, name) for name in classroom.students}
    try:
        for name, page in pages.items():
            start_in_jupyterlab(page, hub, name)
        for name, page in pages.items():
            page.locator(".jp-OutputArea .catdogkit-data-browser").first.wait_for(
                state="visible", timeout=PAGE_TIMEOUT_S * 1000)
            says_shared_photos(page, classroom)
            move_photo_browser(page)
            assert bs.visible_errors(page) == []
            bs.screenshot(page, ARTIFACTS, f"{classroom.users.role(name)}-jupyterlab")
            memory[classroom.users.role(name)] = memory_of(classroom, name)  # docs/deploy.md quotes it
            shut_kernels_down(hub, name, hub.user_token(name))
        voilas = {name: page.context.new_page() for name, page in pages.items()}
        for name, voila in voilas.items():
            voila.goto(f"{hub.url}user/{name}/voila/render/lessons/{LESSON}.ipynb",
                       wait_until="commit", timeout=PAGE_TIMEOUT_S * 1000)
        for name, voila in voilas.items():
            voila.locator(bs.main_widget(LESSON)).first.wait_for(state="visible",
                                                                 timeout=PAGE_TIMEOUT_S * 1000)
            bs.wait_until_rendered(voila, timeout=PAGE_TIMEOUT_S)
            says_shared_photos(voila, classroom)
            move_photo_browser(voila)
            assert bs.visible_errors(voila) == []
            assert "lesson.setup(" not in voila.content()  # Voila strips the sources
            bs.screenshot(voila, ARTIFACTS, f"{classroom.users.role(name)}-voila")
            voila.goto("about:blank")  # Voila's page shuts its kernel down when left
    finally:
        for page in pages.values():
            page.context.close()
    (ARTIFACTS / "memory_after_lesson.json").write_text(json.dumps(memory, indent=2))


# ---------------------------------------------------------------------------------------
# nbgrader's exchange


def _answers(solution, wrong=None):
    """``{grade_id: source}`` of the answer cells typed into the release: the solutions
    without nbgrader's markers, and ``wrong`` (a ``(grade_id, source)``) instead of one."""
    answers = {}
    for cell in solution.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution") and not meta.get("grade"):
            lines = [line for line in cell.source.splitlines()
                     if "### BEGIN SOLUTION" not in line and "### END SOLUTION" not in line]
            answers[meta["grade_id"]] = "\n".join(lines)
    if wrong:
        answers[wrong[0]] = wrong[1].strip()
    return answers


def _points(solution, grade_id=None):
    return sum(cell.metadata["nbgrader"].get("points", 0) for cell in solution.cells
               if cell.metadata.get("nbgrader", {}).get("grade")
               and (grade_id is None or cell.metadata["nbgrader"]["grade_id"] == grade_id))


def solve_through_the_hub(hub, name, token, answers):
    """The student's own server reads the fetched notebook and saves their answers."""
    path = f"user/{name}/api/contents/{ASSIGNMENT}/{ASSIGNMENT}.ipynb"
    status, model = hub.request("GET", path, token=token)
    assert status == 200, f"{name} did not fetch the assignment: {status} {model}"
    notebook = nbformat.from_dict(model["content"])
    typed = 0
    for cell in notebook.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in answers:
            cell.source, typed = answers[grade_id], typed + 1
    assert typed == len(answers)
    status, saved = hub.request("PUT", path, token=token,
                                body={"type": "notebook", "format": "json", "content": notebook})
    assert status == 200, f"saving {name}'s answers: {status} {saved}"


def feedback_through_the_hub(hub, name, token):
    """The HTML feedback that ``nbgrader fetch_feedback`` put into the student's folder."""
    status, folder = hub.request("GET", f"user/{name}/api/contents/{ASSIGNMENT}/feedback", token=token)
    assert status == 200, f"{name} has no feedback folder: {status} {folder}"
    (attempt,) = [entry["path"] for entry in folder["content"] if entry["type"] == "directory"]
    # nbgrader names the folder by the time it was released: "2026-12-01 22:49:22.961406 UTC"
    status, page = hub.request("GET", f"user/{name}/files/{urllib.parse.quote(attempt)}/{ASSIGNMENT}.html",
                               token=token, raw=True)
    assert status == 200
    return page


@pytest.mark.slow
@pytest.mark.browser
def test_an_assignment_goes_round_nbgraders_exchange(classroom):
    from nbgrader.api import Gradebook

    hub, teacher = classroom.hub, classroom.instructor
    solver, mistaken = classroom.students
    solution = nbformat.read(REPO / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    classroom.nbgrader(teacher, "generate_assignment", ASSIGNMENT, cwd=classroom.course)
    classroom.nbgrader(teacher, "release_assignment", ASSIGNMENT, cwd=classroom.course)
    tokens = {name: hub.user_token(name) for name in classroom.students}
    for name, wrong in ((solver, None), (mistaken, WRONG_ANSWER)):
        classroom.nbgrader(name, "fetch_assignment", ASSIGNMENT)
        solve_through_the_hub(hub, name, tokens[name], _answers(solution, wrong))
        classroom.nbgrader(name, "submit", ASSIGNMENT)
    for step in ("collect", "autograde", "generate_feedback", "release_feedback"):
        classroom.nbgrader(teacher, step, ASSIGNMENT, cwd=classroom.course)

    full, lost = _points(solution), _points(solution, "test_" + WRONG_ANSWER[0])
    assert 0 < lost < full
    with Gradebook(f"sqlite:///{classroom.course / 'gradebook.db'}") as gradebook:
        scores = {name: (gradebook.find_submission(ASSIGNMENT, name).score,
                         gradebook.find_submission(ASSIGNMENT, name).max_score)
                  for name in classroom.students}
    assert scores == {solver: (full, full), mistaken: (full - lost, full)}

    for name in classroom.students:
        classroom.nbgrader(name, "fetch_feedback", ASSIGNMENT)
        feedback = feedback_through_the_hub(hub, name, tokens[name])
        score, max_score = scores[name]
        assert re.search(rf"\b{score:g}(\.0+)?\s*/\s*{max_score:g}(\.0+)?\b", feedback), (
            f"{name}'s feedback does not show the score {score:g} / {max_score:g}")


# ---------------------------------------------------------------------------------------
# Isolation


@pytest.mark.slow
@pytest.mark.browser
def test_a_student_reaches_neither_another_students_files_nor_the_solutions(classroom, browser):
    hub, teacher = classroom.hub, classroom.instructor
    ana, ben = classroom.students
    token = hub.user_token(ana)
    solutions = f"course/solutions/{ASSIGNMENT}/{ASSIGNMENT}.ipynb"
    # through the hub, with her own token: the other servers refuse her
    for path in (f"user/{ben}/api/contents/lessons", f"user/{ben}/files/lessons/{LESSON}.ipynb",
                 f"user/{teacher}/api/contents/{solutions}", f"user/{teacher}/files/{solutions}",
                 f"hub/api/users/{ben}"):
        status, _ = hub.request("GET", path, token=token)
        assert status in (403, 404), f"{ana} got {status} for {path}"
    # her own server serves her home only
    for outside in (f"../{ben}/lessons", f"../{teacher}/{solutions}"):
        status, _ = hub.request("GET", f"user/{ana}/api/contents/{urllib.parse.quote(outside)}",
                                token=token)
        assert status in (400, 403, 404), f"{ana}'s server served {outside}: {status}"
    # in the browser, logged in as her: the other student's JupyterLab is refused
    page = log_in(browser, hub, ana)
    try:
        answer = page.goto(f"{hub.url}user/{ben}/lab", timeout=PAGE_TIMEOUT_S * 1000)
        assert answer.status == 403
    finally:
        page.context.close()
    # her processes (a terminal, a kernel) cannot read them either, nor change the photos
    homes = classroom.users
    for path in (homes.home(ben) / "lessons" / f"{LESSON}.ipynb", homes.home(teacher) / solutions):
        done = classroom.run_as(ana, "cat", path)
        assert done.returncode != 0 and "Permission denied" in done.stderr, path
    done = classroom.run_as(ana, "touch", classroom.photos / "train" / "mine.jpg")
    assert done.returncode != 0 and "Permission denied" in done.stderr


@pytest.mark.slow
@pytest.mark.browser
def test_stopping_the_hub_stops_everything_it_started(classroom):
    uids = {classroom.users.uid(name) for name in classroom.everyone}
    hub_pid = classroom.hub.process.pid
    leftovers = classroom.close()
    assert leftovers == [], f"still running after the hub stopped: {leftovers}"
    running = [p for p in psutil.process_iter(["uids"]) if p.info["uids"] and p.info["uids"].real in uids]
    assert running == []
    assert not psutil.pid_exists(hub_pid) or psutil.Process(hub_pid).status() == psutil.STATUS_ZOMBIE


# ---------------------------------------------------------------------------------------
# The Kubernetes deployment's values file (fast: no hub, no cluster)


def _values():
    return yaml.safe_load((DEPLOY / "z2jh-values.yaml").read_text())


def test_helm_values_follow_the_charts_schema():
    schema = yaml.safe_load((DEPLOY / "z2jh-schema-subset.yaml").read_text())
    jsonschema.Draft7Validator.check_schema(schema)
    jsonschema.validate(_values(), schema, cls=jsonschema.Draft7Validator)


def test_the_schema_subset_refuses_a_misplaced_key():
    schema = yaml.safe_load((DEPLOY / "z2jh-schema-subset.yaml").read_text())
    values = _values()
    values["singleuser"]["memory"]["limits"] = values["singleuser"]["memory"].pop("limit")
    with pytest.raises(jsonschema.ValidationError, match="limits"):
        jsonschema.validate(values, schema, cls=jsonschema.Draft7Validator)


def test_helm_values_mount_what_the_kit_and_nbgrader_look_for():
    singleuser = _values()["singleuser"]
    mounts = {m["mountPath"]: m for m in singleuser["storage"]["extraVolumeMounts"]}
    photos = singleuser["extraEnv"]["CATDOGKIT_HUB_DATA"]
    assert mounts[photos].get("readOnly") is True
    claims = {v["name"]: v["persistentVolumeClaim"] for v in singleuser["storage"]["extraVolumes"]}
    assert claims[mounts[photos]["name"]].get("readOnly") is True
    nbgrader = singleuser["extraFiles"]["nbgrader-config"]["stringData"]
    (root,) = re.findall(r'c\.Exchange\.root = "([^"]+)"', nbgrader)
    assert root in mounts and not mounts[root].get("readOnly")
    server = singleuser["extraFiles"]["jupyter-server-config"]["data"]
    assert server["ServerApp"] == SERVER_CONFIG["ServerApp"]  # what the hub test runs
    assert server["MappingKernelManager"]["cull_idle_timeout"] > 0
