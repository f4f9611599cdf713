"""Where a lesson's cold page time goes: each cell of a lesson timed in a fresh kernel.

    nice -n 5 .venv/bin/python benchmarks/lesson_cell_times.py [--lessons 00_class_code_then_and_now ...]

What a Voila page without a pre-heated kernel does, without the browser: start a kernel
with the environment ``catdogkit serve`` gives its kernels, in lessons/, then run the
lesson's cells one by one, timing each (wall seconds and the kernel's CPU seconds).
Before the lesson, one cell imports TensorFlow and Keras, so their import (a floor for
every page) is counted apart from the set-up cell that would otherwise pay it. Uses the
cache in ``$CATDOGKIT_CACHE`` (default: the repository's .cache/catdogkit) as it is: run
``catdogkit serve`` or ``benchmarks/voila_first_widget.py`` once first, so the lesson
models and the view cache are filled, and lesson 02's run is finished (a page that finds
it unfinished trains).

Prints, per lesson, the kernel start, the import and the cells that took 0.3 s or more;
the last line is one JSON object with every figure.
"""
import argparse
import json
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
os.environ.setdefault("CATDOGKIT_CACHE", str(REPO / ".cache" / "catdogkit"))

import nbformat  # noqa: E402
import psutil  # noqa: E402
from nbclient import NotebookClient  # noqa: E402

from catdogkit import course, serve  # noqa: E402

IMPORT_CELL = "import tensorflow, keras"
SHOWN_S = 0.3


def kernel_cpu(client):
    process = psutil.Process(client.km.provisioner.pid)
    times = process.cpu_times()
    return times.user + times.system + times.children_user + times.children_system


def time_lesson(name):
    """``{"kernel_start_s", "import_tf_s", "cells": [{"index", "first_line", "s", "cpu_s"}], "total_s", "cpu_s"}``."""
    nb = nbformat.read(REPO / "lessons" / f"{name}.ipynb", as_version=4)
    nb.cells.insert(0, nbformat.v4.new_code_cell(IMPORT_CELL))
    env = serve.build_env()
    client = NotebookClient(nb, timeout=600, kernel_name="python3", allow_errors=False,
                            resources={"metadata": {"path": str(REPO / "lessons")}})
    started = time.perf_counter()
    cells = []
    with client.setup_kernel(env=env, cwd=str(REPO / "lessons")):
        kernel_start = time.perf_counter() - started
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            cpu_before, wall_before = kernel_cpu(client), time.perf_counter()
            client.execute_cell(cell, index)
            cells.append({"index": index - 1, "first_line": cell.source.splitlines()[0][:70],
                          "s": round(time.perf_counter() - wall_before, 2),
                          "cpu_s": round(kernel_cpu(client) - cpu_before, 2)})
        cpu = kernel_cpu(client)
    total = time.perf_counter() - started
    return {"kernel_start_s": round(kernel_start, 2), "import_tf_s": cells[0]["s"],
            "cells": cells[1:], "total_s": round(total, 2), "cpu_s": round(cpu, 1)}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lessons", nargs="*", default=None)
    args = parser.parse_args(argv)
    results = {}
    for name in args.lessons or course.lesson_names():
        result = results[name] = time_lesson(name)
        print(f"{name}: {result['total_s']} s in all ({result['cpu_s']} CPU-s); kernel start "
              f"{result['kernel_start_s']} s, import TF+Keras {result['import_tf_s']} s", file=sys.stderr)
        for cell in result["cells"]:
            if cell["s"] >= SHOWN_S:
                print(f"  cell {cell['index']:2d}: {cell['s']:6.2f} s ({cell['cpu_s']:5.2f} CPU-s)  "
                      f"{cell['first_line']}", file=sys.stderr)
    print(json.dumps({"benchmark": "lesson_cell_times", "load_average": [round(x, 1) for x in os.getloadavg()],
                      "lessons": results}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
