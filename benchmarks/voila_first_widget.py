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

``--cold`` measures what a class meets (issue 16): every lesson with ``--preheat 0``
(median of ``--runs`` views, as under JupyterHub's Voila extension, which has no pools),
then ``--concurrent-views`` (10) simultaneous first views of ``--concurrent-lesson``
(lesson 07, the heaviest) on a server with the default settings of `catdogkit serve`,
with the memory of every kernel while they are all open. Its JSON holds
``cold_first_widget_s``, ``concurrent`` and ``concurrent_served`` (below;
``--concurrent-views 0``: the cold pages only).
``--concurrent-pool N`` gives that lesson a pool of N kernels for the simultaneous views,
as ``catdogkit serve --preheat-lesson 07=N`` does for a class.

Kernels are forked from one process that has imported TensorFlow, as `catdogkit serve`
does (``--no-kernel-forks``: each started from scratch); that process's own memory and
CPU are reported beside the kernels', and each kernel's USS (the memory only it holds).
For the simultaneous views, the CPU seconds spent until all had rendered are split into
the server's side (Voila, the fork server, the kernels) and the browser's (Chromium,
which shares this machine here but runs on the students' computers in a class). Then, on
a fresh server with the same settings, the same number of visitors ask for the page at
once with no browser (``concurrent_served``): the seconds until each page had arrived
whole, its lesson run by its kernel and rendered by Voila, which is what the server owes
a class whose browsers run on the students' own computers.

Needs Debian's chromium and Playwright from PyPI (`bash dev.sh setup` + apt). The
last line printed is one JSON object with every figure.
"""
import argparse
import contextlib
import json
import os
import platform
import statistics
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parents[1]
os.environ.setdefault("CATDOGKIT_CACHE", str(REPO / ".cache" / "catdogkit"))

from catdogkit import course, kernel_pools  # noqa: E402
from catdogkit import training  # noqa: E402
from catdogkit_dev import browser as bs  # noqa: E402
from catdogkit_dev.voila import VoilaServer  # noqa: E402

TARGET_S = 8.0
#: Slowest of the simultaneous first views (issue 16).
CONCURRENT_TARGET_S = 30.0


def lesson_names():
    return sorted(p.stem for p in (REPO / "lessons").glob("*.ipynb")
                  if course.LESSON_PATTERN.match(p.name))


def view(browser, server, name, timeout, *, own_kernel):
    """One page view: seconds to the main widget, errors seen, the kernel's RSS, CPU and USS.

    ``own_kernel``: the page starts a kernel of its own (no pre-heating), whose RSS in MB,
    CPU seconds and USS in MB (the memory only it holds: a kernel forked from the fork
    server shares the libraries' pages with it) are measured. A pre-heated page takes a
    kernel from the pool while the pool starts its replacement, so there is no kernel of
    the page's own to measure: those are None (see :func:`pool_memory`).
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
            return seconds, errors, None, None, None
        cpu, memory = mine[0].cpu_times(), mine[0].memory_full_info()
        return (seconds, errors, round(memory.rss / 2 ** 20), round(cpu.user + cpu.system, 1),
                round(memory.uss / 2 ** 20))
    finally:
        try:
            page.goto("about:blank", timeout=10_000)  # Voila shuts the kernel down
        finally:
            page.context.close()


@contextlib.contextmanager
def page_cache():
    """A cache for the pages, removed afterwards: the real one linked in, lesson 02's run
    already finished.

    Lesson 02 trains the class network in its run folder (runs/lesson02_original_cnn-<key
    of the photos>) and only loads it when the run is there; the finished run
    (``catdogkit.training.prepare_lessons``, which the benchmark calls first) is copied
    in, so the benchmark times a visitor who finds the run done and cannot change it.
    Without it, lesson 02's page trains. What the pages add to the linked entries (the
    view cache) stays in the real cache; removing the links leaves what they point to.
    """
    import shutil
    import tempfile
    from catdogkit import runtime
    real = runtime.cache_dir()
    cache = Path(tempfile.mkdtemp(prefix="catdogkit-voila-cache-"))
    try:
        for entry in real.iterdir():
            if entry.name != "runs":
                (cache / entry.name).symlink_to(entry)
        finished = training.lesson02_run().folder  # the run of the photos the pages find
        if (finished / "history.json").is_file():
            shutil.copytree(finished, cache / "runs" / finished.name)
        yield cache
    finally:
        shutil.rmtree(cache)


def pool_memory(server):
    """RSS in MB of every kernel the server holds (the pools, when nobody visits)."""
    return round(sum(p.memory_info().rss for p in server.kernel_processes()) / 2 ** 20)


async def _concurrent_view(browser, url, ready, timeout):
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    start = time.perf_counter()
    try:
        await page.goto(url, wait_until="commit", timeout=timeout * 1000)
        await page.locator(ready).first.wait_for(state="visible", timeout=timeout * 1000)
        seconds = time.perf_counter() - start
        errors = [await e.inner_text() for selector in bs.ERROR_SELECTORS
                  for e in await page.locator(selector).all() if await e.is_visible()]
        return seconds, errors, (context, page)
    except Exception as error:  # a page that never rendered is a result, not a crash
        return None, [f"{type(error).__name__}: {str(error)[:200]}"], (context, page)


def concurrent_views(server, name, views, timeout):
    """``views`` visitors open lesson ``name`` at the same moment; each one's seconds to
    the main widget (None: never), errors, and every kernel's RSS while all are open."""
    import asyncio

    from playwright.async_api import async_playwright

    async def run():
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(
                executable_path=bs.chromium_path(), headless=True, args=bs.CHROMIUM_ARGS)
            before = cpu_by_side(server)
            outcomes = await asyncio.gather(*[
                _concurrent_view(browser, server.page(f"{name}.ipynb"), bs.main_widget(name), timeout)
                for _ in range(views)])
            spent = {side: round(sum(cpu - before[side].get(pid, 0.0) for pid, cpu in used.items()), 1)
                     for side, used in cpu_by_side(server).items()}
            kernels = [p.memory_full_info() for p in server.kernel_processes()]
            rss = sorted(round(m.rss / 2 ** 20) for m in kernels)
            uss = sorted(round(m.uss / 2 ** 20) for m in kernels)
            for _seconds, _errors, (context, page) in outcomes:
                await page.goto("about:blank")  # Voila shuts that kernel down
                await context.close()
            await browser.close()
            return outcomes, rss, uss, spent

    outcomes, rss, uss, spent = asyncio.run(run())
    seconds = [None if s is None else round(s, 2) for s, _e, _p in outcomes]
    rendered = [s for s, errors, _p in outcomes if s is not None and not errors]
    return {"lesson": name, "views": views, "rendered": len(rendered),
            "first_widget_s": seconds,
            "max_first_widget_s": max(rendered) if rendered else None,
            "within_30_s": len(rendered) == views and max(rendered) <= CONCURRENT_TARGET_S,
            "preheat": server.preheat,
            "lesson_pool": server.pools.get(f"{name}.ipynb"),
            "kernel_rss_mb": {"each": rss, "total": sum(rss)},
            "kernel_uss_mb": {"each": uss, "total": sum(uss)},
            "fork_server": fork_server(server),
            "cpu_s_until_all_rendered": spent,
            "errors": [e for _s, errors, _p in outcomes for e in errors][:3]}


#: What a served page holds when its lesson ran: a live widget's view.
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
#: What Voila writes into a page whose lesson failed or did not finish.
SERVED_ERRORS = ('data-mime-type="application/vnd.jupyter.stderr"', "jp-mod-stderr",
                 "There was an error when executing cell",
                 "An exception occurred at the server", "Cell execution timed out")


def served_views(url, views, timeout):
    """``views`` requests of ``url`` at the same moment, with no browser: for each, the
    seconds until the whole page had arrived and what was wrong with it (None: a page
    with a live widget and no error mark; the seconds are None when no page came)."""
    def one(_):
        start = time.perf_counter()
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response:
                page = response.read().decode("utf-8", "replace")
        except (urllib.error.URLError, OSError) as error:
            return None, f"{type(error).__name__}: {str(error)[:200]}"
        seconds = round(time.perf_counter() - start, 2)
        marks = [mark for mark in SERVED_ERRORS if mark in page]
        if marks:
            return seconds, f"the page holds {marks[0]!r}"
        return seconds, None if WIDGET_VIEW in page else "the page holds no widget"

    with ThreadPoolExecutor(views) as requests:
        return list(requests.map(one, range(views)))


def concurrent_served(server, name, views, timeout):
    """:func:`served_views` of lesson ``name`` on ``server``, with the server's CPU seconds
    until the last page had arrived and every kernel's RSS then."""
    before = cpu_by_side(server)["server"]
    outcomes = served_views(server.page(f"{name}.ipynb"), views, timeout)
    spent = round(sum(cpu - before.get(pid, 0.0) for pid, cpu in cpu_by_side(server)["server"].items()), 1)
    rss = sorted(round(p.memory_info().rss / 2 ** 20) for p in server.kernel_processes())
    served = [seconds for seconds, problem in outcomes if seconds is not None and problem is None]
    return {"lesson": name, "views": views, "served": len(served),
            "served_s": [seconds for seconds, _problem in outcomes],
            "max_served_s": max(served) if served else None,
            "within_30_s": len(served) == views and max(served) <= CONCURRENT_TARGET_S,
            "preheat": server.preheat, "lesson_pool": server.pools.get(f"{name}.ipynb"),
            "server_cpu_s": spent, "kernel_rss_mb": {"each": rss, "total": sum(rss)},
            "errors": [problem for _seconds, problem in outcomes if problem][:3]}


def cpu_by_side(server):
    """CPU seconds used so far by each live process, ``{"server": {pid: s}, "browser": {pid: s}}``:
    the server side is Voila, the fork server and every kernel; the browser side is
    Chromium (and Playwright's driver), which a real class runs on its own computers."""
    def tree(pid):
        with contextlib.suppress(psutil.Error):
            root = psutil.Process(pid)
            return [root, *root.children(recursive=True)]
        return []

    def used(processes):
        seconds = {}
        for process in processes:
            with contextlib.suppress(psutil.Error):
                cpu = process.cpu_times()
                seconds[process.pid] = cpu.user + cpu.system
        return seconds

    serving = tree(server.process.pid) + (tree(server.forks.process.pid) if server.forks else [])
    serving_pids = {p.pid for p in serving}
    browsing = [p for p in tree(os.getpid())[1:] if p.pid not in serving_pids]
    return {"server": used(serving), "browser": used(browsing)}


def fork_server(server):
    """The fork server's own RSS (MB) and CPU seconds, paid once for all kernels (None: none)."""
    if server.forks is None or server.forks.process.poll() is not None:
        return None
    process = psutil.Process(server.forks.process.pid)
    cpu = process.cpu_times()
    return {"rss_mb": round(process.memory_info().rss / 2 ** 20), "cpu_s": round(cpu.user + cpu.system, 1)}


def on_a_class_server(args, cache, log_name, measure):
    """``measure(server)`` on a fresh server with `catdogkit serve`'s default pools (and
    ``--concurrent-pool`` for the concurrent lesson), once every pool is ready."""
    pools = [f"{args.concurrent_lesson}={args.concurrent_pool}"] if args.concurrent_pool else []
    with VoilaServer(REPO / "lessons", log_path=REPO / "test-artifacts" / log_name,
                     preheat=kernel_pools.default_preheat(), preheat_lessons=pools,
                     env={"CATDOGKIT_CACHE": str(cache)}, fork_kernels=args.forks) as server:
        if server.pool_size():
            server.wait_for_pools()
        return measure(server)


def cold(args, names, cache):
    """Every lesson with no pre-heated kernel, then the concurrent views (see the docstring)."""
    from playwright.sync_api import sync_playwright
    cold_s, cpu_s, rss_mb, uss_mb = {}, {}, {}, {}
    log = REPO / "test-artifacts" / "voila-benchmark-cold.log"
    with VoilaServer(REPO / "lessons", log_path=log, preheat=0, env={"CATDOGKIT_CACHE": str(cache)},
                     fork_kernels=args.forks) as server, sync_playwright() as playwright:
        browser = bs.launch(playwright)
        for name in names:
            view(browser, server, name, args.timeout, own_kernel=True)  # fills the view cache
            server.wait_for_pools()
            runs = [view(browser, server, name, args.timeout, own_kernel=True) for _ in range(args.runs)]
            cold_s[name] = round(statistics.median(r[0] for r in runs), 2)
            rss_mb[name] = [r[2] for r in runs]
            cpu_s[name] = [r[3] for r in runs]
            uss_mb[name] = [r[4] for r in runs]
            print(f"cold {name}: median {cold_s[name]} s, RSS {rss_mb[name]} MB, USS {uss_mb[name]} MB, "
                  f"CPU {cpu_s[name]} s",
                  file=sys.stderr, flush=True)
            server.wait_for_pools()
        forks = fork_server(server)
        browser.close()
    cold_figures = {"kernel_forks": args.forks, "cold_first_widget_s": cold_s, "cold_kernel_cpu_s": cpu_s,
                    "cold_kernel_rss_mb": rss_mb, "cold_kernel_uss_mb": uss_mb, "cold_fork_server": forks,
                    "cold_within_target": all(v <= TARGET_S for v in cold_s.values())}
    if not args.concurrent_views:
        return cold_figures
    together = on_a_class_server(args, cache, "voila-benchmark-concurrent.log", lambda server: concurrent_views(
        server, args.concurrent_lesson, args.concurrent_views, args.timeout))
    print(f"{together['views']} views of {together['lesson']} at once: {together['rendered']} rendered, "
          f"slowest {together['max_first_widget_s']} s", file=sys.stderr, flush=True)
    served = on_a_class_server(args, cache, "voila-benchmark-served.log", lambda server: concurrent_served(
        server, args.concurrent_lesson, args.concurrent_views, args.timeout))
    print(f"{served['views']} requests of {served['lesson']} at once, no browser: {served['served']} served, "
          f"slowest {served['max_served_s']} s", file=sys.stderr, flush=True)
    return {**cold_figures, "concurrent": together, "concurrent_served": served}


def preheated(args, names, cache, pretrain_s):
    """Every lesson's first widget with ``args.preheat`` pre-heated kernels (see the docstring)."""
    from playwright.sync_api import sync_playwright
    results = {}
    log = REPO / "test-artifacts" / "voila-benchmark.log"
    pool_fill_s = pool_rss_mb = None
    with VoilaServer(REPO / "lessons", log_path=log, preheat=args.preheat,
                     env={"CATDOGKIT_CACHE": str(cache)}, fork_kernels=args.forks) as server, \
            sync_playwright() as playwright:
        browser = bs.launch(playwright)
        if args.preheat:
            pool_fill_s = round(server.wait_for_pools(), 1)
            pool_rss_mb = pool_memory(server)
            print(f"{server.pool_size()} pre-heated kernels ready after {pool_fill_s} s, {pool_rss_mb} MB",
                  file=sys.stderr, flush=True)
        if not args.no_warm_up:
            for name in names:
                seconds, errors, *_ = view(browser, server, name, args.timeout,
                                             own_kernel=not args.preheat)
                print(f"warm-up {name}: {seconds:.1f} s", file=sys.stderr, flush=True)
                server.wait_for_pools()
        for name in names:
            times, memory, cpu, problems = [], [], [], []
            for _ in range(args.runs):
                seconds, errors, rss, cpu_s, _uss = view(browser, server, name, args.timeout,
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
    return {
        "benchmark": "voila_first_widget",
        "runs": args.runs,
        "target_s": TARGET_S,
        "machine": f"{platform.node()} {os.cpu_count()} CPUs",
        "load_average": [round(x, 1) for x in os.getloadavg()],
        "pretrain_or_load_s": round(pretrain_s, 1),
        "preheat": args.preheat,
        "kernel_forks": args.forks,
        "pool_kernels": server.pool_size(),
        "pool_fill_s": pool_fill_s,
        "pool_rss_mb": pool_rss_mb,
        "lesson02_run_seeded": any((cache / "runs").glob(f"{training.LESSON02_RUN}-*")),
        "lessons": results,
        "all_within_target": all(r["within_target"] for r in results.values()),
    }



def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--lessons", nargs="*", default=None)
    parser.add_argument("--timeout", type=float, default=300)
    parser.add_argument("--no-warm-up", action="store_true")
    parser.add_argument("--preheat", type=int, default=kernel_pools.DEFAULT_PREHEAT,
                        help="pre-heated kernels per lesson, as `catdogkit serve --preheat` "
                             f"(default {kernel_pools.DEFAULT_PREHEAT}; 0: every view starts a kernel)")
    parser.add_argument("--cold", action="store_true",
                        help="pages without pre-heated kernels, then simultaneous views (issue 16)")
    parser.add_argument("--concurrent-views", type=int, default=10,
                        help="simultaneous views after --cold (0: none, only the cold pages)")
    parser.add_argument("--concurrent-lesson", default="07_improved_model")
    parser.add_argument("--concurrent-pool", type=int, default=0, metavar="N",
                        help="for the simultaneous views, that lesson keeps N kernels ready "
                             "(`catdogkit serve --preheat-lesson LESSON=N`; default: serve's defaults)")
    parser.add_argument("--no-kernel-forks", dest="forks", action="store_false",
                        help="start every kernel from scratch, as `catdogkit serve --no-kernel-forks`")
    parser.add_argument("--no-pretrain", action="store_true",
                        help="do not train/load the lesson models first (lessons 00-02 need none)")
    args = parser.parse_args(argv)
    names = args.lessons or lesson_names()
    if not bs.chromium_path():
        sys.exit("chromium is not installed (apt-get install chromium)")

    started = time.perf_counter()
    if not args.no_pretrain:
        training.prepare_lessons()
    pretrain_s = time.perf_counter() - started

    with page_cache() as cache:
        if args.cold:
            summary = {"benchmark": "voila_first_widget --cold", "runs": args.runs, "target_s": TARGET_S,
                       "concurrent_target_s": CONCURRENT_TARGET_S,
                       "machine": f"{platform.node()} {os.cpu_count()} CPUs",
                       "pretrain_or_load_s": round(pretrain_s, 1), **cold(args, names, cache),
                       "load_average": [round(x, 1) for x in os.getloadavg()]}
        else:
            summary = preheated(args, names, cache, pretrain_s)
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
