"""Autograding time of each exercise: nbgrader grades a full-marks submission on a CPU.

For every assignment in ``solutions/``, in a temporary course folder (its own gradebook
and HOME; nothing is written into the repository): ``generate_assignment``, then
``autograde`` of one student who handed in the solution notebook, one assignment after
the other so that they never compete for the CPU. Target (issue 6): each assignment
autogrades in under 60 s. Grading time includes starting the kernel and importing
TensorFlow in it, as it does for an instructor.

    nice -n 10 .venv/bin/python benchmarks/grading.py [--only 03_feature_maps ...]

Last line: one JSON object with the figures (seconds of wall clock and of CPU, the
kernel's included, per assignment).
"""
import argparse
import json
import os
import resource
import shutil
import tempfile
import time
import warnings
from pathlib import Path

from catdogkit_dev.nbgrader_course import ASSIGNMENTS, REPO, grader, grades, new_course, use_home

TARGET_S = 60


def _cpu_seconds():
    """CPU time of this process and of its finished children (the grading kernels)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def grade_solution(assignment, work):
    """Generate ``assignment`` in a course under ``work`` and autograde its solution."""
    course = Path(work) / "course"
    config = new_course(course, assignment)
    api = grader(config)
    generated = api.generate_assignment(assignment)
    if not generated["success"]:
        raise SystemExit(f"generate_assignment {assignment} failed:\n{generated.get('error')}")
    submitted = course / "submitted" / "student" / assignment
    submitted.mkdir(parents=True)
    shutil.copy(course / "solutions" / assignment / f"{assignment}.ipynb", submitted)

    started, cpu_started = time.perf_counter(), _cpu_seconds()
    graded = api.autograde(assignment, "student")
    seconds, cpu = time.perf_counter() - started, _cpu_seconds() - cpu_started
    if not graded["success"]:
        raise SystemExit(f"autograde {assignment} failed:\n{graded.get('error')}\n{graded.get('log', '')[-3000:]}")
    parts = grades(config, assignment, "student").values()
    score, max_score = sum(score for score, _ in parts), sum(top for _, top in parts)
    if score != max_score:  # a slow but failing grading would be no figure at all
        raise SystemExit(f"{assignment}: the solution scored {score} of {max_score}")
    return {"seconds": round(seconds, 1), "cpu_seconds": round(cpu, 1), "score": score}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", nargs="+", choices=ASSIGNMENTS, default=ASSIGNMENTS,
                        help="grade only these assignments")
    args = parser.parse_args()

    os.environ.setdefault("CATDOGKIT_CACHE", str(REPO / ".cache" / "catdogkit"))
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    # nbgrader's own gradebook code trips these SQLAlchemy warnings; they are not ours.
    from sqlalchemy.exc import SAWarning
    warnings.filterwarnings("ignore", category=SAWarning)
    figures = {}
    with tempfile.TemporaryDirectory() as base:
        use_home(Path(base) / "home")
        for assignment in args.only:
            figures[assignment] = grade_solution(assignment, Path(base) / assignment)
            print(f"{assignment:24s} {figures[assignment]['seconds']:6.1f} s "
                  f"({figures[assignment]['cpu_seconds']:.1f} CPU-s), "
                  f"full marks: {figures[assignment]['score']:g}", flush=True)
    slowest = max(figures, key=lambda name: figures[name]["seconds"])
    print(json.dumps({"cpu_count": os.cpu_count(), "load_average": round(os.getloadavg()[0], 1),
                      "assignments": figures, "slowest": slowest,
                      "slowest_seconds": figures[slowest]["seconds"], "target_seconds": TARGET_S,
                      "met": figures[slowest]["seconds"] < TARGET_S}))


if __name__ == "__main__":
    main()
