"""Helpers for driving Voila pages in Debian's Chromium through Playwright (sync API).

Used by the browser tests and benchmarks/voila_first_widget.py. Nothing
here sleeps for a fixed time: every wait is for something the page or the kernel
produces (a widget's CSS class, kernel text, a changed image), with a deadline.
"""
import hashlib
import os
import re
import shutil
import time
from pathlib import Path

CHROMIUM = os.environ.get("CATDOGKIT_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--no-first-run", "--disable-quic", "--disable-sync",
    "--disable-dev-shm-usage",
    # Voila's template links fonts from a CDN; fail those look-ups at once (no network here).
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost",
]

#: What any rendered ipywidget carries (ipywidgets 8 and 7).
WIDGET = ".jupyter-widgets, .widget-box, .widget-inline-hbox, .widget-html, .widget-label"
#: Voila's marks for an error or a stderr output (a red block) on the page.
ERROR_SELECTORS = (
    '[data-mime-type="application/vnd.jupyter.stderr"]',
    ".jp-OutputArea-output.jp-mod-stderr",
    "text=There was an error when executing cell",
    "text=An exception occurred at the server",
    "text=Cell execution timed out",
)


#: The widget that shows a lesson is ready, per lesson (default: any kit explorer).
#: The kit's explorers carry "catdogkit-explorer" plus "catdogkit-<name>".
MAIN_WIDGET = {
    "00_class_code_then_and_now": WIDGET,  # the set-up box; the lesson has no explorer
    "01_utility_functions": ".catdogkit-data-browser",
    # The training monitor shows only while the page trains; with the run already in the
    # cache (as on a second visit) the page shows the set-up box, tables and curves.
    "02_building_a_cnn": WIDGET,
    "03_feature_maps": ".catdogkit-feature-maps",
    "04_dense_layers": ".catdogkit-dense",
    "05_layer_visualization": ".catdogkit-layers",
    "06_convnet_filters": ".catdogkit-filters",
    "07_improved_model": ".catdogkit-grad-cam",
}
DEFAULT_MAIN_WIDGET = ".catdogkit-explorer"


def main_widget(name):
    """The CSS selector of lesson ``name``'s main widget."""
    return MAIN_WIDGET.get(name, DEFAULT_MAIN_WIDGET)


def chromium_path():
    """Debian's chromium, or None (browser tests then skip with the install command)."""
    if os.path.exists(CHROMIUM):
        return CHROMIUM
    return shutil.which("chromium")


def launch(playwright):
    return playwright.chromium.launch(executable_path=chromium_path(), headless=True,
                                      args=CHROMIUM_ARGS)


def new_page(browser, viewport=(1280, 900)):
    context = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]})
    page = context.new_page()
    page.console_messages = []
    page.on("console", lambda message: page.console_messages.append(
        f"{message.type}: {message.text}"))
    return page


def open_lesson(page, url, *, ready=WIDGET, timeout=90):
    """Load ``url`` and wait until ``ready`` (a CSS selector) is visible.

    Returns the seconds from the request to the first visible match: the time to
    first widget when ``ready`` names a widget.
    """
    start = time.perf_counter()
    page.goto(url, wait_until="commit", timeout=timeout * 1000)
    page.locator(ready).first.wait_for(state="visible", timeout=timeout * 1000)
    return time.perf_counter() - start


def wait_until_rendered(page, timeout=90):
    """Wait until Voila has run every cell and shown the page (its spinner is gone)."""
    page.wait_for_function(
        """() => {
            const cells = document.querySelector('#rendered_cells');
            const spinner = document.querySelector('#loading');
            return cells && getComputedStyle(cells).display !== 'none'
                && (!spinner || getComputedStyle(spinner).display === 'none'
                    || spinner.offsetParent === null);
        }""", timeout=timeout * 1000)


def visible_errors(page):
    """Texts of visible error or stderr blocks (empty when the page is clean)."""
    found = []
    for selector in ERROR_SELECTORS:
        for element in page.locator(selector).all():
            if element.is_visible():
                found.append(element.inner_text()[:500])
    return found


_IMAGES_JS = """(root) => {
    const found = [];
    for (const scope of document.querySelectorAll(root)) {
        if (scope.matches('img, canvas')) found.push(scope);
        found.push(...scope.querySelectorAll('img, canvas'));
    }
    return found.filter(e => e.offsetParent !== null && (e.tagName === 'CANVAS' || e.src));
}"""


def image_digests(page, root="body"):
    """SHA-1 digests of the data of every visible ``<img>``/``<canvas>`` matching ``root``.

    ``root`` is a CSS selector: images it matches and images inside what it matches.
    ipywidgets ``Image`` shows a ``blob:`` URL, matplotlib output a ``data:`` URL;
    both are fetched in the page and hashed, so a digest changes when the picture does.
    """
    sources = page.evaluate(
        """async (root) => {
            const images = (%s)(root);
            const out = [];
            for (const image of images) {
                if (image.tagName === 'CANVAS') { out.push(image.toDataURL()); continue; }
                try {
                    const bytes = new Uint8Array(await (await fetch(image.src)).arrayBuffer());
                    let text = '';
                    for (let i = 0; i < bytes.length; i += 8192)
                        text += String.fromCharCode.apply(null, bytes.subarray(i, i + 8192));
                    out.push(text);
                } catch (e) { out.push('unreadable:' + image.src.slice(0, 200)); }
            }
            return out;
        }""" % _IMAGES_JS, root)
    return [hashlib.sha1(text.encode("latin-1", "replace")).hexdigest() for text in sources]


def image_sources(page, root="body"):
    """The ``src`` of every visible image matching ``root`` (a new URL for each new picture)."""
    return page.evaluate(
        "(root) => (%s)(root).map(e => e.src || e.toDataURL())" % _IMAGES_JS, root)


def wait_for_new_picture(page, before_sources, root="body", timeout=60):
    """Wait until the images matching ``root`` show other ``src`` than ``before_sources``."""
    page.wait_for_function(
        """([root, before]) => {
            const now = (%s)(root).map(e => e.src || e.toDataURL());
            return now.length > 0 && JSON.stringify(now) !== JSON.stringify(before);
        }""" % _IMAGES_JS, arg=[root, before_sources], timeout=timeout * 1000)


def changed_picture(page, root, action, timeout=60):
    """Do ``action()``, wait for the picture under ``root`` to change; returns
    ``(digests before, digests after)`` so a test can assert the image data differs."""
    before_sources, before = image_sources(page, root), image_digests(page, root)
    assert before_sources, f"no visible picture matches {root!r}"
    action()
    wait_for_new_picture(page, before_sources, root, timeout)
    return before, image_digests(page, root)


def wait_for_text_change(page, selector, before, timeout=60):
    """Wait until the text of ``selector`` differs from ``before``; returns the new text."""
    page.wait_for_function(
        """([selector, before]) => {
            const element = document.querySelector(selector);
            return element && element.innerText !== before;
        }""", arg=[selector, before], timeout=timeout * 1000)
    return page.locator(selector).first.inner_text()


def wait_for_text(page, selector, pattern, timeout=60):
    """Wait until the text of ``selector`` matches the regular expression ``pattern``."""
    page.wait_for_function(
        """([selector, pattern]) => {
            const element = document.querySelector(selector);
            return element && new RegExp(pattern).test(element.innerText);
        }""", arg=[selector, pattern], timeout=timeout * 1000)
    return page.locator(selector).first.inner_text()


def select_other(select):
    """Pick the next option of a ``<select>`` (a Dropdown); returns the new option's text."""
    options = select.locator("option").all_inner_texts()
    current = select.evaluate("s => s.selectedIndex")
    index = (current + 1) % len(options)
    select.select_option(index=index)
    return options[index]


def dropdown(scope, description):
    """The ``<select>`` of the Dropdown whose description is ``description`` inside ``scope``."""
    return scope.locator(".widget-dropdown").filter(
        has=scope.page.locator("label", has_text=description)).locator("select").first


def slider(scope, description):
    """The slider (Int/Float/IntRange) whose description is ``description`` inside ``scope``."""
    return scope.locator(".widget-slider").filter(
        has=scope.page.locator("label", has_text=description)).first


def press_slider(page, slider, key="ArrowRight", times=1):
    """Move a noUiSlider (ipywidgets 8) with the keyboard, as a visitor would."""
    handle = slider.locator(".noUi-handle").first
    handle.focus()
    for _ in range(times):
        handle.press(key)
    handle.blur()  # ends the keyboard interaction (continuous_update=False sliders send now)


def upload_file(page, button, name, content, mime="application/octet-stream"):
    """Upload ``content`` as file ``name`` through a FileUpload ``button``, as a visitor would.

    ipywidgets' FileUpload keeps its ``<input type=file>`` out of the page and opens
    the file chooser on click, so the chooser is answered instead.
    """
    with page.expect_file_chooser() as chooser:
        button.click()
    chooser.value.set_files(files=[{"name": name, "mimeType": mime, "buffer": content}])


def screenshot(page, folder, name, element=None):
    """Save the page (and, when given, one element scrolled into view) as PNG files."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{re.sub(r'[^A-Za-z0-9_.-]+', '_', name)}.png"
    page.screenshot(path=str(path), full_page=True)
    if element is not None:
        element.scroll_into_view_if_needed()
        element.screenshot(path=str(path.with_name(path.stem + "-widget.png")))
    return path


def memory_report(server):
    """``[{pid, rss_mb, notebook}]`` for every kernel the server runs now."""
    report = []
    for process in server.kernel_processes():
        try:
            rss = process.memory_info().rss
            cwd = process.cwd()
        except Exception:
            continue
        report.append({"pid": process.pid, "rss_mb": round(rss / 2 ** 20, 1), "cwd": cwd})
    return report
