"""benchmarks/voila_first_widget.py: the visitors who ask for a page at once with no browser."""
import http.server
import threading
from types import SimpleNamespace

import pytest


@pytest.fixture(scope="module")
def voila_benchmark(benchmark_script):
    return benchmark_script("voila_first_widget")


@pytest.fixture
def pages(voila_benchmark):
    """A loopback server of three pages that answers only once ``views`` requests are in
    flight together (a barrier), so a test passes only if the requests were simultaneous."""
    views = 4
    together = threading.Barrier(views, timeout=20)
    bodies = {"/lesson": f"<script type='{voila_benchmark.WIDGET_VIEW}'>{{}}</script>",
              "/failed": "<div data-mime-type=\"application/vnd.jupyter.stderr\">There was an error when "
                         "executing cell [3].</div>",
              "/plain": "<p>no widget here</p>"}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            together.wait()
            body = bodies[self.path].encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", views
    server.shutdown()
    server.server_close()


def test_simultaneous_requests_each_get_their_seconds_and_a_page_with_a_widget(voila_benchmark, pages):
    url, views = pages
    outcomes = voila_benchmark.served_views(f"{url}/lesson", views, timeout=30)
    assert len(outcomes) == views
    assert all(seconds is not None and seconds >= 0 and problem is None for seconds, problem in outcomes)


def test_a_page_with_an_error_mark_or_no_widget_is_not_counted_as_served(voila_benchmark, pages):
    url, views = pages
    failed = voila_benchmark.served_views(f"{url}/failed", views, timeout=30)
    assert {problem for _seconds, problem in failed} == {"the page holds 'data-mime-type=\"application/vnd.jupyter.stderr\"'"}
    plain = voila_benchmark.served_views(f"{url}/plain", views, timeout=30)
    assert {problem for _seconds, problem in plain} == {"the page holds no widget"}


def test_a_server_that_does_not_answer_gives_no_seconds_and_says_why(voila_benchmark):
    with http.server.HTTPServer(("127.0.0.1", 0), http.server.BaseHTTPRequestHandler) as closed:
        url = f"http://127.0.0.1:{closed.server_port}/lesson"
    ((seconds, problem),) = voila_benchmark.served_views(url, 1, timeout=5)
    assert seconds is None and problem.startswith("URLError")


def test_the_pages_cache_links_the_real_one_and_leaves_nothing_behind(voila_benchmark, tmp_path, monkeypatch):
    """Check that the benchmark's cache for the pages holds the real cache's entries and a
    copy of lesson 02's finished run, and that afterwards it is gone and the real cache
    is as it was."""
    real = tmp_path / "real"
    (real / "views").mkdir(parents=True)
    (real / "views" / "entry.npz").write_bytes(b"view")
    run = real / "runs" / "lesson02_original_cnn-key"
    run.mkdir(parents=True)
    (run / "history.json").write_text("{}")
    monkeypatch.setenv("CATDOGKIT_CACHE", str(real))
    monkeypatch.setattr(voila_benchmark.training, "lesson02_run", lambda: SimpleNamespace(folder=run))
    with voila_benchmark.page_cache() as cache:
        assert (cache / "views").is_symlink() and (cache / "views" / "entry.npz").read_bytes() == b"view"
        copied = cache / "runs" / run.name / "history.json"
        assert copied.is_file() and not (cache / "runs").is_symlink(), "the pages could change the real run"
        (cache / "views" / "new.npz").write_bytes(b"new")  # a page fills the view cache
    assert not cache.exists(), f"the benchmark left {cache} behind"
    assert sorted(p.name for p in (real / "views").iterdir()) == ["entry.npz", "new.npz"]
    assert (run / "history.json").read_text() == "{}"
