"""The lessons as Voila pages, driven in Debian's Chromium through Playwright (issue 7).

One Voila server runs the real lessons/ folder for the whole session (with the
production voila.json, only the cull times shortened), and one more serves small
harness notebooks written here, which pin down what the harness itself relies on.
Pages are reused between tests; every wait is for a widget or kernel output, never
a fixed sleep. Screenshots, the server logs, the time to first widget and the
memory of every kernel go to <repo>/test-artifacts/.
"""
import json
import re
import shutil
import time
import urllib.error
import urllib.request
from pathlib import Path

import nbformat
import pytest

from catdogkit import course, kernel_pools
from catdogkit_dev import browser as bs
from catdogkit_dev.voila import VoilaServer

pytestmark = [pytest.mark.browser, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[1]
LESSONS = REPO / "lessons"
ARTIFACTS = REPO / "test-artifacts"
#: Short cull times for the tests (production: lessons/voila.json).
CULL_TIMEOUT_S, CULL_INTERVAL_S = 4, 1
LESSON_CULL_TIMEOUT_S = 30
#: How long after its timeout an idle kernel may take to go: a bound for a stuck culler,
#: generous because a loaded 2-core machine runs the culler's pass late.
CULL_DEADLINE_S = 120
#: Longest wait for a page: lessons 04 and 07 run for about 25 CPU seconds before their
#: widgets show, and far longer in wall time on a busy machine.
PAGE_TIMEOUT_S = 300

playwright_api = pytest.importorskip("playwright.sync_api")


def lesson_names():
    return sorted(p.stem for p in LESSONS.glob("*.ipynb") if course.LESSON_PATTERN.match(p.name))


def _write_notebook(path, *sources):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell(s[3:]) if s.startswith("md:")
                else nbformat.v4.new_code_cell(s) for s in sources]
    nb.metadata = {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                  "language": "python"}}
    nbformat.write(nb, path)


# ---------------------------------------------------------------------------------------
# Session fixtures: the browser, the servers


@pytest.fixture(scope="session")
def browser():
    if not bs.chromium_path():
        pytest.skip("Debian's chromium is not installed: apt-get install chromium "
                    "(bash dev.sh test does it when run as root)")
    with playwright_api.sync_playwright() as playwright:
        chromium = bs.launch(playwright)
        yield chromium
        chromium.close()


HARNESS_SLIDER = """\
# SOURCE-MARKER-7d1f: this line must never reach a visitor's page
import io
import ipywidgets as widgets
from PIL import Image as PILImage

def png(value):
    buffer = io.BytesIO()
    PILImage.new("RGB", (48, 48), (value * 25 % 256, 40, 200 - value * 10)).save(buffer, "PNG")
    return buffer.getvalue()

slider = widgets.IntSlider(value=1, min=0, max=10, description="layer", continuous_update=False)
label = widgets.Label("value 1")
image = widgets.Image(value=png(1), format="png")

def changed(change):
    label.value = f"value {change['new']}"
    image.value = png(change["new"])

slider.observe(changed, "value")
explorer = widgets.VBox([slider, label, image])
explorer.add_class("catdogkit-explorer")
explorer"""

HARNESS_UPLOAD = """\
import io
import ipywidgets as widgets
from PIL import Image as PILImage

upload = widgets.FileUpload(accept="image/*", multiple=False, description="Your photo")
answer = widgets.HTML("Upload a photo of a cat or a dog.")
answer.add_class("answer")

def uploaded(change):
    files = change["new"]
    if not files:
        return
    content = bytes(files[0]["content"])
    if not content:
        answer.value = "That file is empty: choose a photo (JPEG or PNG)."
        return
    try:
        PILImage.open(io.BytesIO(content)).verify()
    except Exception:
        answer.value = "That file is not a photo: choose a JPEG or PNG image."
        return
    answer.value = "dog 0.73"

upload.observe(uploaded, "value")
box = widgets.VBox([upload, answer])
box.add_class("catdogkit-explorer")
box"""

HARNESS_MONITOR = """\
import numpy as np
import keras
import ipywidgets as widgets
from catdogkit.widgets.monitor import TrainingMonitor

monitor = TrainingMonitor(min_interval=0)
model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, activation="sigmoid")])
model.compile(optimizer="sgd", loss="binary_crossentropy", metrics=["accuracy"])
x = np.random.default_rng(0).normal(size=(64, 4)).astype("float32")
y = (x[:, 0] > 0).astype("float32")
button = widgets.Button(description="Train 3 epochs")
button.on_click(lambda _: model.fit(x, y, epochs=3, batch_size=8, verbose=0,
                                    callbacks=[monitor]))
box = widgets.VBox([button, monitor.widget])
box"""

HARNESS_ERROR = """\
import sys
print("tensorflow-like noise on stderr", file=sys.stderr)
raise ValueError("hidden-detail-42")"""


@pytest.fixture(scope="session")
def harness_server(tmp_path_factory):
    """Voila on small notebooks written here, with the lessons' voila.json."""
    folder = tmp_path_factory.mktemp("voila-harness")
    shutil.copy(LESSONS / "voila.json", folder / "voila.json")
    _write_notebook(folder / "00_slider.ipynb", "md:# Harness: slider", HARNESS_SLIDER)
    _write_notebook(folder / "01_upload.ipynb", "md:# Harness: upload", HARNESS_UPLOAD)
    _write_notebook(folder / "03_monitor.ipynb", "md:# Harness: training monitor",
                    HARNESS_MONITOR)
    _write_notebook(folder / "02_error.ipynb", "md:# Harness: error", "x = 1", HARNESS_ERROR,
                    "print('never reached')")
    server = VoilaServer(
        folder, log_path=ARTIFACTS / "voila-harness.log",
        extra_args=[f"--MappingKernelManager.cull_idle_timeout={CULL_TIMEOUT_S}",
                    f"--MappingKernelManager.cull_interval={CULL_INTERVAL_S}"])
    with server:
        yield server


@pytest.fixture(scope="session")
def trained_models():
    """Train (or load from CATDOGKIT_CACHE) the lesson models before any page is timed."""
    training = pytest.importorskip("catdogkit.training")
    return {name: training.lesson_model(name) for name in ("original", "improved")}


@pytest.fixture(scope="session")
def voila_cache(tmp_path_factory, trained_models):
    """The cache the Voila kernels use: the session's cache (trained models, sample photos)
    linked in, and lesson 02's training run already finished.

    Lesson 02 trains the class network to EPOCHS + MORE_EPOCHS epochs in its run folder
    (runs/lesson02_original_cnn-<key of the photos>) when it runs, and only loads them
    when they are there.
    That finished run is made once from the cached lesson model (resumed to the
    lesson's epoch count) and kept in the cache, so no page of this session trains.
    """
    from catdogkit import runtime, training
    real = runtime.cache_dir()
    cache = tmp_path_factory.mktemp("voila-cache")
    for entry in real.iterdir():
        if entry.name != "runs":
            (cache / entry.name).symlink_to(entry)
    if (LESSONS / "02_building_a_cnn.ipynb").is_file():
        run = training.lesson02_run()  # what the lesson trains when its parameters say None
        finished = _finished_lesson02_run(real, training, run.epochs + run.more_epochs)
        if finished is not None:  # otherwise the page trains: a slow first widget, not wrong
            shutil.copytree(finished, cache / "runs" / run.folder.name)
    return cache


def _epochs_done(folder):
    try:
        return len(json.loads((folder / "history.json").read_text())["history"]["epoch"])
    except (OSError, ValueError, KeyError, TypeError):
        return 0


def _finished_lesson02_run(real, training, epochs):
    """A training folder of the class network with ``epochs`` epochs, kept in the cache.

    Made by ``lesson_model("original", epochs=epochs)``, which resumes from a copy of
    the most advanced run already in the cache (the lesson model, or lesson 02's own run
    from the notebook tests), so it trains only the epochs still missing, once per cache.
    """
    from catdogkit.sample import make_sample
    key_of = getattr(training, "_data_key", None)
    if key_of is None:
        return None
    stem = f"original-{key_of(make_sample())}"
    target = real / "models" / f"{stem}-e{epochs}-s150-seed{training.LESSON_SEED}"
    if _epochs_done(target) < epochs:
        sources = [*real.glob(f"models/{stem}-e*"), training.lesson02_run(make_sample()).folder]
        best = max(sources, key=_epochs_done, default=None)
        if best is not None and best != target and 0 < _epochs_done(best) <= epochs:
            shutil.rmtree(target, ignore_errors=True)
            shutil.copytree(best, target)
        training.lesson_model("original", epochs=epochs)
    return target if _epochs_done(target) >= epochs else None


@pytest.fixture(scope="session")
def lesson_server(voila_cache):
    if not lesson_names():
        pytest.skip("no lesson notebooks in lessons/ yet")
    server = VoilaServer(
        LESSONS, log_path=ARTIFACTS / "voila-lessons.log", preheat=kernel_pools.DEFAULT_PREHEAT,
        env={"CATDOGKIT_CACHE": str(voila_cache)},
        extra_args=[f"--MappingKernelManager.cull_idle_timeout={LESSON_CULL_TIMEOUT_S}",
                    "--MappingKernelManager.cull_interval=5"])
    with server:
        server.wait_for_pools()  # as `catdogkit serve` runs: every lesson already run once
        yield server


def close_page(page):
    """Leave the page (Voila's page then asks the server to shut its kernel down), close it."""
    try:
        page.goto("about:blank", timeout=10_000)
    finally:
        page.context.close()


class Pages:
    """Open pages by name, a few at a time: each holds a kernel (about 0.55 GB with TF)."""

    def __init__(self, browser, server, keep=3):
        self.browser, self.server, self.keep = browser, server, keep
        self.pages = {}
        self.first_widget_s = {}

    def get(self, name, ready=".catdogkit-explorer, " + bs.WIDGET):
        if name in self.pages:
            self.pages[name] = self.pages.pop(name)  # most recently used last
            return self.pages[name]
        while len(self.pages) >= self.keep:
            close_page(self.pages.pop(next(iter(self.pages))))
        page = bs.new_page(self.browser)
        self.first_widget_s[name] = bs.open_lesson(page, self.server.page(f"{name}.ipynb"),
                                                   ready=ready, timeout=PAGE_TIMEOUT_S)
        bs.wait_until_rendered(page, timeout=PAGE_TIMEOUT_S)
        self.pages[name] = page
        return page

    def close(self):
        for page in self.pages.values():
            close_page(page)
        self.pages.clear()


@pytest.fixture(scope="session")
def harness_pages(browser, harness_server):
    pages = Pages(browser, harness_server)
    yield pages
    pages.close()


@pytest.fixture(scope="session")
def lesson_pages(browser, lesson_server):
    pages = Pages(browser, lesson_server, keep=2)
    yield pages
    pages.close()
    if pages.first_widget_s:
        ARTIFACTS.mkdir(exist_ok=True)
        (ARTIFACTS / "voila_first_widget_tests.json").write_text(
            json.dumps({k: round(v, 2) for k, v in pages.first_widget_s.items()}, indent=2))


# ---------------------------------------------------------------------------------------
# The harness: what the lesson tests rely on, shown on small notebooks


def _move_harness_slider(page):
    """Press the right arrow on the harness slider; wait for the new picture and the
    kernel callback's label, and check that the picture really changed."""
    before_sources, before_digests = bs.image_sources(page), bs.image_digests(page)
    bs.press_slider(page, page.locator(".catdogkit-explorer"), "ArrowRight")
    bs.wait_for_new_picture(page, before_sources)
    assert bs.image_digests(page) != before_digests
    page.get_by_text("value 2").wait_for()  # the kernel callback ran


def test_harness_slider_moved_by_keyboard_changes_the_picture(harness_pages):
    page = harness_pages.get("00_slider", ready=".catdogkit-explorer")
    assert bs.visible_errors(page) == []
    _move_harness_slider(page)
    assert page.locator(".widget-readout").first.inner_text().strip() == "2"


def test_harness_preheated_page_is_live_at_once(tmp_path, browser):
    """A page served from a pre-heated kernel (how `catdogkit serve` runs) has working
    widgets: the notebook ran before the visit, the callbacks still answer. The kernel
    sat idle in its pool for longer than the idle timeout, so the culler, which checks
    every second here, would take it the moment it leaves the pool if nothing stopped it."""
    shutil.copy(LESSONS / "voila.json", tmp_path / "voila.json")
    _write_notebook(tmp_path / "00_slider.ipynb", "md:# Harness: slider", HARNESS_SLIDER)
    with VoilaServer(
            tmp_path, preheat=1, log_path=ARTIFACTS / "voila-preheat.log",
            extra_args=[f"--MappingKernelManager.cull_idle_timeout={CULL_TIMEOUT_S}",
                        f"--MappingKernelManager.cull_interval={CULL_INTERVAL_S}"]) as server:
        server.wait_for_pools(timeout=120)
        server.wait_until_idle(CULL_TIMEOUT_S + 2 * CULL_INTERVAL_S, timeout=120)
        page = bs.new_page(browser)
        try:
            bs.open_lesson(page, server.page("00_slider.ipynb"), ready=".catdogkit-explorer",
                           timeout=PAGE_TIMEOUT_S)
            assert "Using pre-heated kernel" in server.log_text()
            _move_harness_slider(page)
            assert "SOURCE-MARKER-7d1f" not in page.content()
            assert "Culling 'idle'" not in server.log_text()
        finally:
            close_page(page)


def test_harness_sources_are_stripped(harness_server):
    with urllib.request.urlopen(harness_server.page("00_slider.ipynb"), timeout=60) as answer:
        page = answer.read().decode()
    assert "SOURCE-MARKER-7d1f" not in page
    assert "def changed(change)" not in page


def test_harness_errors_are_hidden_from_visitors_and_logged(harness_pages, harness_server):
    page = harness_pages.get("02_error", ready="text=There was an error when executing cell")
    errors = bs.visible_errors(page)
    assert errors, "the harness must see Voila's error block"
    text = page.locator("body").inner_text()
    assert "hidden-detail-42" not in text and "Traceback" not in text
    assert "tensorflow-like noise" not in text  # stderr is not shown either
    assert "never reached" not in text
    deadline = time.monotonic() + 30
    while "hidden-detail-42" not in harness_server.log_text():
        assert time.monotonic() < deadline, "the error was not logged on the server"
        page.wait_for_timeout(200)


def _upload(page, name, content, mime):
    bs.upload_file(page, page.locator(".catdogkit-explorer .widget-upload"), name, content, mime)


def test_harness_upload(harness_pages, tmp_path):
    page = harness_pages.get("01_upload", ready=".catdogkit-explorer")
    answer = ".catdogkit-explorer .answer"
    before = page.locator(answer).inner_text()
    _upload(page, "notes.txt", b"just some text\n", "text/plain")
    text = bs.wait_for_text_change(page, answer, before)
    assert "not a photo" in text
    _upload(page, "empty.jpg", b"", "image/jpeg")
    assert "empty" in bs.wait_for_text_change(page, answer, text)


def test_harness_training_monitor_advances(harness_pages):
    """The kit's TrainingMonitor, live on a Voila page: the bar and the text move on."""
    page = harness_pages.get("03_monitor", ready=".catdogkit-training-monitor")
    monitor = ".catdogkit-training-monitor"
    assert "waiting for training" in page.locator(monitor).inner_text()
    page.get_by_role("button", name="Train 3 epochs").click()
    first = bs.wait_for_text(page, monitor, r"epoch 1/3")
    last = bs.wait_for_text(page, monitor, r"epoch 3/3")
    assert first != last
    bar = page.locator(f"{monitor} .progress-bar").first
    page.wait_for_function("e => e.style.width === '100%'", arg=bar.element_handle())
    assert bs.image_digests(page, ".catdogkit-training-curves-image")  # curves were drawn


def test_harness_idle_kernel_is_culled(harness_server):
    """A kernel nobody is connected to (a page fetched, then abandoned) is shut down."""
    before = {p.pid for p in harness_server.kernel_processes()}
    with urllib.request.urlopen(harness_server.page("00_slider.ipynb"), timeout=60) as answer:
        answer.read()
    started = time.monotonic()
    new = {p.pid for p in harness_server.kernel_processes()} - before
    assert len(new) == 1, "fetching a page starts one kernel"
    while new & {p.pid for p in harness_server.kernel_processes()}:
        assert time.monotonic() - started < CULL_TIMEOUT_S + CULL_DEADLINE_S, \
            "the idle kernel was not culled"
        time.sleep(CULL_INTERVAL_S / 2)  # polling the process table, not waiting blindly
    assert time.monotonic() - started >= CULL_TIMEOUT_S - 1
    assert re.search(r"Culling kernel|culling", harness_server.log_text(), re.I)


def test_harness_leaving_a_page_opened_by_its_link_shuts_its_kernel_down(harness_server,
                                                                        browser):
    """Voila's page asks for its kernel's shutdown on leaving; the catdogkit template makes
    that work for a visitor who never saw the index (voila-dashboards/voila#1458)."""
    page = bs.new_page(browser)
    try:
        before = {p.pid for p in harness_server.kernel_processes()}
        bs.open_lesson(page, harness_server.page("00_slider.ipynb"), ready=".catdogkit-explorer")
        mine = {p.pid for p in harness_server.kernel_processes()} - before
        assert len(mine) == 1
        page.wait_for_function("() => /(^|;\\s*)_xsrf=/.test(document.cookie)")
        page.goto("about:blank")
        deadline = time.monotonic() + 20
        while mine & {p.pid for p in harness_server.kernel_processes()}:
            assert time.monotonic() < deadline, "the kernel outlived its page"
            time.sleep(0.1)
        assert "_xsrf' argument missing" not in harness_server.log_text()
    finally:
        page.context.close()


def test_harness_nothing_outside_the_served_folder(harness_server):
    for path in ("voila/render/../voila.json", "voila/render/%2e%2e/etc/passwd",
                 "voila/files/00_slider.ipynb", "voila/files/voila.json"):
        try:
            with urllib.request.urlopen(harness_server.url + path, timeout=30) as answer:
                status, body = answer.status, answer.read().decode(errors="replace")
        except urllib.error.HTTPError as error:
            status, body = error.code, ""
        assert status in (403, 404) or "cull_idle_timeout" not in body, path


def test_harness_index_lists_titles_with_links(harness_server, browser):
    page = bs.new_page(browser)
    try:
        page.goto(harness_server.url)
        titles = page.locator(".catdogkit-index .catdogkit-lesson-title").all_inner_texts()
        assert titles == ["Harness: slider", "Harness: upload", "Harness: error",
                          "Harness: training monitor"]
        links = page.locator(".catdogkit-index .catdogkit-lesson a")
        hrefs = [links.nth(i).get_attribute("href") for i in range(links.count())]
        assert [h.split("?")[0] for h in hrefs] == [
            f"/voila/render/{name}.ipynb"
            for name in ("00_slider", "01_upload", "02_error", "03_monitor")]
    finally:
        page.context.close()


# ---------------------------------------------------------------------------------------
# The lessons
#
# What each lesson must show (its main widget: browser_support.MAIN_WIDGET) and the
# widgets the interaction tests drive. The kit's explorers carry the CSS class
# "catdogkit-explorer" and one naming the explorer ("catdogkit-feature-maps" …), their
# images "catdogkit-<name>-image", their message areas "catdogkit-message".

main_widget = bs.main_widget


def needs_lesson(name):
    if not (LESSONS / f"{name}.ipynb").is_file():
        pytest.skip(f"lessons/{name}.ipynb is not there yet")


def open_explorer(lesson_pages, name, css_class):
    """Lesson ``name``'s page and its first explorer of CSS class ``css_class``."""
    needs_lesson(name)
    page = lesson_pages.get(name, ready=main_widget(name))
    return page, page.locator(f".{css_class}").first


def explorer_messages(page):
    """Non-empty texts of the kit's message areas (errors from callbacks appear there)."""
    return [text for text in page.locator(".catdogkit-message").all_inner_texts() if text.strip()]


@pytest.mark.parametrize("name", lesson_names() or ["(no lessons yet)"])
def test_lesson_page_renders_its_main_widget_without_errors(name, lesson_pages):
    needs_lesson(name)
    page = lesson_pages.get(name, ready=main_widget(name))
    bs.screenshot(page, ARTIFACTS / "screenshots", name,
                  element=page.locator(main_widget(name)).filter(visible=True).last)
    assert bs.visible_errors(page) == [], f"{name}: error or stderr block on the page"
    assert explorer_messages(page) == [], f"{name}: a widget reports a problem"
    assert page.locator(main_widget(name)).first.is_visible()
    # No code reaches the page: Voila strips the sources (every lesson calls lesson.setup).
    assert "lesson.setup(" not in page.content()


def test_a_lesson_page_hides_what_only_a_notebook_needs(lesson_pages):
    """Colab badges, exercise links and "run the cells" instructions are for notebooks; in
    Voila their cells (tagged notebook-only) still run but show nothing."""
    name = "00_class_code_then_and_now"
    needs_lesson(name)
    page = lesson_pages.get(name, ready=main_widget(name))
    text = page.locator("body").inner_text()
    assert page.locator('img[src*="colab-badge.svg"]').count() == 0
    assert page.locator('a[href*="exercises/"]').count() == 0
    for words in ("run the cells from top to bottom", "You never need to change code"):
        assert words.lower() not in text.lower(), words
    tagged = [cell for cell in nbformat.read(LESSONS / f"{name}.ipynb", as_version=4).cells
              if "notebook-only" in cell.metadata.get("tags", [])]
    hidden = page.locator("div.catdogkit-notebook-only")
    assert tagged and hidden.count() == len(tagged)  # each tagged cell ran, and shows nothing
    assert not any(h.is_visible() for h in hidden.all())
    assert page.get_by_text("Lesson 00 · The class code, then and now").first.is_visible()
    assert page.get_by_text("Next: Lesson 01").first.is_visible()


def test_index_lists_every_lesson_by_title(lesson_server, browser):
    page = bs.new_page(browser)
    try:
        page.goto(lesson_server.url)
        shown = page.locator(".catdogkit-index .catdogkit-lesson-title").all_inner_texts()
        assert shown == [title for _, title in course.lesson_titles(LESSONS)]
        assert shown == [course.lesson_title(name) for name in course.lesson_names()]
        assert not any(title.startswith("Lesson") for title in shown)  # "03 · Lesson 03 · …"
        entries = page.locator(".catdogkit-index .catdogkit-lesson").all_inner_texts()
        assert "03 · Visualizing feature maps" in [" ".join(e.split()) for e in entries]
        bs.screenshot(page, ARTIFACTS / "screenshots", "index")
    finally:
        close_page(page)


def test_the_index_offers_the_spanish_lessons_by_their_spanish_titles(lesson_server, browser):
    if not (LESSONS / "es").is_dir():
        pytest.skip("no Spanish lessons in lessons/es/")
    page = bs.new_page(browser)
    try:
        page.goto(lesson_server.url)
        folders = page.locator(".catdogkit-index .catdogkit-language").all_inner_texts()
        assert [" ".join(f.split()) for f in folders] == ["Español · las lecciones en español"]
        assert "catalogue" not in page.locator(".catdogkit-index").inner_text()
        page.goto(f"{lesson_server.url}voila/tree/es")
        shown = page.locator(".catdogkit-index .catdogkit-lesson-title").all_inner_texts()
        assert shown == [title for _, title in course.lesson_titles(LESSONS / "es", "es")]
        assert "Visualizar mapas de características" in shown
        bs.screenshot(page, ARTIFACTS / "screenshots", "index-es")
    finally:
        close_page(page)


def test_data_browser_page_slider_changes_the_picture(lesson_pages):
    name = "01_utility_functions"
    page, browser = open_explorer(lesson_pages, name, "catdogkit-data-browser")
    before, after = bs.changed_picture(
        page, ".catdogkit-data-browser-image",
        lambda: bs.press_slider(page, bs.slider(browser, "Page"), "ArrowRight"))
    assert before != after


def test_feature_maps_layer_change_changes_the_picture(lesson_pages):
    name = "03_feature_maps"
    page, explorer = open_explorer(lesson_pages, name, "catdogkit-feature-maps")
    before, after = bs.changed_picture(
        page, ".catdogkit-feature-maps-image",
        lambda: bs.select_other(bs.dropdown(explorer, "Layer")))
    assert before != after
    assert explorer_messages(page) == []


def test_feature_maps_channel_range_by_keyboard(lesson_pages):
    name = "03_feature_maps"
    page, explorer = open_explorer(lesson_pages, name, "catdogkit-feature-maps")
    channels = bs.slider(explorer, "Channels")
    readout = channels.locator(".widget-readout").first.inner_text()
    before, after = bs.changed_picture(
        page, ".catdogkit-feature-maps-image",
        lambda: bs.press_slider(page, channels, "ArrowRight"))
    assert before != after
    assert channels.locator(".widget-readout").first.inner_text() != readout


@pytest.mark.parametrize("name, explorer_class", [
    ("03_feature_maps", "catdogkit-feature-maps"),
    ("05_layer_visualization", "catdogkit-layers"),
])
def test_another_photo_changes_the_picture(name, explorer_class, lesson_pages):
    page, explorer = open_explorer(lesson_pages, name, explorer_class)
    before, after = bs.changed_picture(
        page, f".{explorer_class}-image",
        lambda: bs.select_other(bs.dropdown(explorer, "Photo")))
    assert before != after


def test_filters_range_and_layer_change_the_picture(lesson_pages):
    name = "06_convnet_filters"
    page, explorer = open_explorer(lesson_pages, name, "catdogkit-filters")
    filters = bs.slider(explorer, "Filters")
    before, after = bs.changed_picture(
        page, ".catdogkit-filter-weights-image",
        lambda: bs.press_slider(page, filters, "ArrowRight"))
    assert before != after
    before, after = bs.changed_picture(
        page, ".catdogkit-filter-weights-image",
        lambda: bs.select_other(bs.dropdown(explorer, "Layer")))
    assert before != after


def _sample_photo_bytes():
    from catdogkit.data import list_photos
    from catdogkit.sample import make_sample
    return list_photos(make_sample(), "test", "cats")[0].read_bytes()


def test_upload_a_photo_gives_a_prediction_and_bad_files_a_message(lesson_pages):
    name = "07_improved_model"
    page, explorer = open_explorer(lesson_pages, name, "catdogkit-grad-cam")
    button = explorer.locator(".widget-upload").first
    bs.upload_file(page, button, "my_cat.jpg", _sample_photo_bytes(), "image/jpeg")
    said = bs.wait_for_text(page, ".catdogkit-grad-cam",
                            r"my_cat\.jpg: P\(dog\) = [01]\.\d\d, the network says (cat|dog)")
    assert "P(dog)" in said
    message = ".catdogkit-grad-cam .catdogkit-photo-picker .catdogkit-message"
    bs.upload_file(page, button, "notes.txt", b"not a photo at all\n", "text/plain")
    text = bs.wait_for_text(page, message, r"notes\.txt")
    assert "Traceback" not in text
    bs.upload_file(page, button, "empty.jpg", b"", "image/jpeg")
    assert "empty" in bs.wait_for_text(page, message, r"empty\.jpg")
    assert bs.visible_errors(page) == []
    bs.screenshot(page, ARTIFACTS / "screenshots", f"{name}-upload")


# ---------------------------------------------------------------------------------------
# Load


CONCURRENT_LESSON = "05_layer_visualization"  # an explorer on a trained model, a light page
CONCURRENT_VIEWS = 5


def test_five_concurrent_views_render_and_kernel_memory_is_reported(lesson_pages, lesson_server,
                                                                      browser):
    needs_lesson(CONCURRENT_LESSON)
    lesson_pages.close()
    others = {p.pid for p in lesson_server.kernel_processes()}  # kernels still shutting down
    ready = main_widget(CONCURRENT_LESSON)
    pages = [bs.new_page(browser) for _ in range(CONCURRENT_VIEWS)]
    try:
        start = time.perf_counter()
        for page in pages:  # all requests are in flight before any page is waited for
            page.goto(lesson_server.page(f"{CONCURRENT_LESSON}.ipynb"), wait_until="commit")
        rendered = []
        for page in pages:
            page.locator(ready).first.wait_for(state="visible", timeout=PAGE_TIMEOUT_S * 1000)
            rendered.append(round(time.perf_counter() - start, 2))
            assert bs.visible_errors(page) == []
        memory = [k for k in bs.memory_report(lesson_server) if k["pid"] not in others]
        report = {"lesson": CONCURRENT_LESSON, "views": CONCURRENT_VIEWS,
                  "rendered_after_s": rendered, "kernels": memory,
                  "total_rss_mb": round(sum(k["rss_mb"] for k in memory), 1)}
        ARTIFACTS.mkdir(exist_ok=True)
        (ARTIFACTS / "voila_concurrent_memory.json").write_text(json.dumps(report, indent=2))
        print(json.dumps(report))
        # one kernel per page view; the pre-heated ones were there before the views
        assert len(memory) >= CONCURRENT_VIEWS - lesson_server.preheat
        assert all(k["rss_mb"] > 0 for k in memory)
    finally:
        for page in pages:
            close_page(page)
