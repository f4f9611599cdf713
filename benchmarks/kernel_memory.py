"""Memory of one lesson kernel: what a hub must give each student (docs/deploy.md).

Runs each lesson top to bottom in a fresh ``python3`` kernel (nbclient, as a student's
"Run all" does), then reads the kernel process's resident memory (RSS) and its peak
(``VmHWM``) before shutting it down. The lessons' models come from the kit's cache
(``CATDOGKIT_CACHE``), as on a hub where the instructor prepared them once.

Usage: python benchmarks/kernel_memory.py [LESSON ...]
(default: 01_utility_functions 03_feature_maps 05_layer_visualization)
The last line printed is one JSON object.
"""
import json
import sys
import time
from pathlib import Path

import nbformat
import psutil
from nbclient import NotebookClient

REPO = Path(__file__).resolve().parents[1]
LESSONS = REPO / "lessons"
DEFAULT = ("01_utility_functions", "03_feature_maps", "05_layer_visualization")


def _peak_mb(pid):
    """The process's peak resident memory (Linux ``VmHWM``), in MiB; None elsewhere."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return None


def measure(name):
    notebook = nbformat.read(LESSONS / f"{name}.ipynb", as_version=4)
    client = NotebookClient(notebook, kernel_name="python3", timeout=1800,
                            resources={"metadata": {"path": str(LESSONS)}})
    start = time.perf_counter()
    with client.setup_kernel():
        for index, cell in enumerate(notebook.cells):
            client.execute_cell(cell, index)
        seconds = time.perf_counter() - start
        pid = client.km.provisioner.process.pid
        rss = psutil.Process(pid).memory_info().rss / 2 ** 20
        peak = _peak_mb(pid)
    return {"lesson": name, "rss_mb": round(rss, 1), "peak_rss_mb": peak, "run_s": round(seconds, 1)}


def main(names):
    import catdogkit  # noqa: F401  (TensorFlow's log switches, inherited by the kernels)
    results = []
    for name in names:
        result = measure(name)
        print(f"{name}: {result['rss_mb']:.0f} MiB resident after the run, "
              f"peak {result['peak_rss_mb']} MiB ({result['run_s']} s)", flush=True)
        results.append(result)
    print(json.dumps({"benchmark": "kernel_memory", "kernels": results,
                      "max_peak_rss_mb": max((r["peak_rss_mb"] or r["rss_mb"]) for r in results),
                      "cpus": psutil.cpu_count()}))


if __name__ == "__main__":
    main(sys.argv[1:] or DEFAULT)
