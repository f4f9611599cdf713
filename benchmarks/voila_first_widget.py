"""Time to first widget of every lesson as a Voila page (median of 3), and kernel memory.

    .venv/bin/python benchmarks/voila_first_widget.py [--runs 3] [--preheat 1] [--lessons 03_feature_maps ...]

What it does: trains (or loads from the cache) the lesson models first, so no page
trains a model; starts one Voila server on lessons/ exactly as `catdogkit serve`
does (127.0.0.1, lessons/voila.json); opens every lesson once to warm the caches
(untimed); then opens each lesson --runs times, one view at a time, in a fresh
Chromium context, and times the request until the lesson's main widget is visible
(tests/browser_support.MAIN_WIDGET). Without pre-heating it records after each timed
view the RSS and the CPU seconds (user + system) of the kernel the page started, a
figure that depends less on what else the machine runs than the wall time. Then it
leaves the page (Voila shuts that kernel down).

With ``--preheat N`` (the default, as ``catdogkit serve``) Voila keeps N kernels per
lesson that have already run it; the benchmark waits until every pool is full and idle
before each view (a visitor who arrives after the server has warmed up), and reports
the time the pools took to fill and their memory. ``--preheat 0``: every view starts a
kernel that runs the lesson while the visitor waits.

Needs Debian's chromium and Playwright from PyPI (`bash dev.sh setup` + apt). The
last line printed is one JSON object with every figure.
"""
import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
os.environ.setdefault("CATDOGKIT_CACHE", str(REPO / ".cache" / "catdogkit"))

from catdogkit import serve as serve_module  # noqa: E402
from catdogkit_dev import browser as bs  # noqa: E402
from catdogkit_dev.voila import VoilaServer  # noqa: E402

TARGET_S = 8.0


def lesson_names():
    return sorted(p.stem for p in (REPO / "lessons").glob("*.ipynb")
                  if serve_module.LESSON_PATTERN.match(p.name))


def view(browser, server, name, timeout, *, own_kernel):
    """One page view: seconds to the main widget, errors seen, the kernel's RSS and CPU.

    ``own_kernel``: the page starts a kernel of its own (no pre-heating), whose RSS in MB
    and CPU seconds are measured. A pre-heated page takes a kernel from the pool while the
    pool starts its replacement, so there is no kernel of the page's own to measure: RSS
    and CPU are None (see :func:`pool_memory`).
    """
    kernels_before = {p.pid for p in server.kernel_processes()} if own_kernel else set()
    page = bs.new_page(browser)
    try:
        seconds = bs.open_lesson(page, server.page(f"{name}.ipynb"),
                                 ready=bs.main_widget(name), timeout=timeout)
        bs.wait_until_rendered(page, timeout=timeout)
        errors = bs.visible_errors(page)
        mine = [p for p in server.kernel_processes() if p.pid not in kernels_before] if own_kernel else []
        if not mine:
            return seconds, errors, None, None
        cpu = mine[0].cpu_times()
        return seconds, errors, round(mine[0].memory_info().rss / 2 ** 20), round(cpu.user + cpu.system, 1)
    finally:
        try:
            page.goto("about:blank", timeout=10_000)  # Voila shuts the kernel down
        finally:
            page.context.close()


def page_cache(epochs_for_lesson02=8):
    """A cache for the pages: the real one linked in, lesson 02's run already finished.

    Lesson 02 trains the class network to EPOCHS + MORE_EPOCHS (8) epochs in
    runs/lesson02_original_cnn and only loads them when they are there; the finished
    run the browser tests keep in models/ (tests/test_voila_browser.py) is copied in,
    so the benchmark times a visitor who finds the run done. Without it, lesson 02's
    page trains and its figure says so.
    """
    import shutil
    import tempfile
    from catdogkit import runtime, training
    real = runtime.cache_dir()
    cache = Path(tempfile.mkdtemp(prefix="catdogkit-voila-cache-"))
    for entry in real.iterdir():
        if entry.name != "runs":
            (cache / entry.name).symlink_to(entry)
    from catdogkit.sample import make_sample
    key = training._data_key(make_sample())
    finished = real / "models" / f"original-{key}-e{epochs_for_lesson02}-s150-seed{training.LESSON_SEED}"
    if (finished / "history.json").is_file():
        shutil.copytree(finished, cache / "runs" / "lesson02_original_cnn")
    return cache


def pool_memory(server):
    """RSS in MB of every kernel the server holds (the pools, when nobody visits)."""
    return round(sum(p.memory_info().rss for p in server.kernel_processes()) / 2 ** 20)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--lessons", nargs="*", default=None)
    parser.add_argument("--timeout", type=float, default=300)
    parser.add_argument("--no-warm-up", action="store_true")
    parser.add_argument("--preheat", type=int, default=serve_module.DEFAULT_PREHEAT,
                        help="pre-heated kernels per lesson, as `catdogkit serve --preheat` "
                             f"(default {serve_module.DEFAULT_PREHEAT}; 0: every view starts a kernel)")
    parser.add_argument("--no-pretrain", action="store_true",
                        help="do not train/load the lesson models first (lessons 00-02 need none)")
    args = parser.parse_args(argv)
    names = args.lessons or lesson_names()
    if not bs.chromium_path():
        sys.exit("chromium is not installed (apt-get install chromium)")

    started = time.perf_counter()
    if not args.no_pretrain:
        from catdogkit.training import lesson_model
        for model in ("original", "improved"):
            lesson_model(model)
    pretrain_s = time.perf_counter() - started

    from playwright.sync_api import sync_playwright
    results = {}
    log = REPO / "test-artifacts" / "voila-benchmark.log"
    cache = page_cache()
    pool_fill_s = pool_rss_mb = None
    with VoilaServer(REPO / "lessons", log_path=log, preheat=args.preheat,
                                  env={"CATDOGKIT_CACHE": str(cache)}) as server, \
            sync_playwright() as playwright:
        browser = bs.launch(playwright)
        if args.preheat:
            pool_fill_s = round(server.wait_for_pools(), 1)
            pool_rss_mb = pool_memory(server)
            print(f"{server.pool_size()} pre-heated kernels ready after {pool_fill_s} s, {pool_rss_mb} MB",
                  file=sys.stderr, flush=True)
        if not args.no_warm_up:
            for name in names:
                seconds, errors, _, _ = view(browser, server, name, args.timeout,
                                             own_kernel=not args.preheat)
                print(f"warm-up {name}: {seconds:.1f} s", file=sys.stderr, flush=True)
                server.wait_for_pools()
        for name in names:
            times, memory, cpu, problems = [], [], [], []
            for _ in range(args.runs):
                seconds, errors, rss, cpu_s = view(browser, server, name, args.timeout,
                                                   own_kernel=not args.preheat)
                times.append(round(seconds, 2))
                memory.append(rss)
                cpu.append(cpu_s)
                problems.extend(errors)
                server.wait_for_pools()
            median = statistics.median(times)
            results[name] = {"first_widget_s": times, "median_s": round(median, 2),
                             "within_target": median <= TARGET_S,
                             "kernel_rss_mb": memory, "kernel_cpu_s": cpu,
                             "errors": problems[:3]}
            print(f"{name}: median {median:.2f} s {times}, kernel RSS {memory} MB, "
                  f"kernel CPU {cpu} s",
                  file=sys.stderr, flush=True)
        browser.close()
    summary = {
        "benchmark": "voila_first_widget",
        "runs": args.runs,
        "target_s": TARGET_S,
        "machine": f"{platform.node()} {os.cpu_count()} CPUs",
        "load_average": [round(x, 1) for x in os.getloadavg()],
        "pretrain_or_load_s": round(pretrain_s, 1),
        "preheat": args.preheat,
        "pool_kernels": server.pool_size(),
        "pool_fill_s": pool_fill_s,
        "pool_rss_mb": pool_rss_mb,
        "lesson02_run_seeded": (cache / "runs" / "lesson02_original_cnn").is_dir(),
        "lessons": results,
        "all_within_target": all(r["within_target"] for r in results.values()),
    }
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
