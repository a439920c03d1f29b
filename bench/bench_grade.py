"""Throughput of the grading pipeline (tools/grade.py), against the floor.

    .venv/bin/python bench/bench_grade.py                    # every assignment, class of 100
    .venv/bin/python bench/bench_grade.py --class-size 0     # per-submission numbers only

For each assignment:

* **floor**: a fresh kernel that runs only the exercise's set-up cell (what every
  graded notebook imports), started and executed with nbclient; the median of 3.
* **per submission**: ``tools/grade.py --jobs 1`` on ``--per`` solution submissions,
  wall time divided by their number (one worker, so the ratio to the floor is
  what the grader adds: nbgrader, the tests, the guard).

Then a **class of ``--class-size``** generated students submitting the first
assignment (``tools/make_class.py``), graded with ``--jobs 2``: its wall time.
Prints a Markdown table for BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import course  # noqa: E402
import grade  # noqa: E402
import make_class  # noqa: E402


def floor(assignment, repeats=3):
    """Seconds to start a kernel and run the exercise's set-up cell (median of ``repeats``)."""
    from nbclient import NotebookClient

    os.environ.update(course.KERNEL_ENV)
    os.environ["PYTHONPATH"] = course.subprocess_env()["PYTHONPATH"]
    release = nbformat.read(next(iter(course.release_notebooks(None, assignment).values())), 4)
    setup = next(c for c in release.cells if c.cell_type == "code")
    times = []
    for _ in range(repeats):
        notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(setup.source)])
        start = time.perf_counter()
        NotebookClient(notebook, timeout=600, kernel_name="python3",
                       resources={"metadata": {"path": str(ROOT)}}).execute()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def per_submission(assignment, n, tmp):
    reference, _ = course.reference_class(assignment)
    solution = {name: make_class._bytes(nb) for name, nb in reference["solution"].items()}
    folder = make_class.write_class({f"s{i:02d}": solution for i in range(n)}, Path(tmp) / assignment)
    start = time.perf_counter()
    results = grade.run(folder, Path(tmp) / f"out-{assignment}", jobs=1,
                        assignment_names=[assignment], quiet=True)
    seconds = (time.perf_counter() - start) / n
    full = results["assignments"][assignment]["max_score"]
    assert all(s["score"] == full for s in results["submissions"]), "a solution lost points"
    return seconds


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assignments", nargs="*", default=None)
    parser.add_argument("--per", type=int, default=4, help="solutions graded per assignment")
    parser.add_argument("--class-size", type=int, default=100)
    args = parser.parse_args(argv)
    assignments = args.assignments or course.assignments()
    print(f"load average before: {os.getloadavg()[0]:.2f}, cores: {os.cpu_count()}")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for assignment in assignments:
            f = floor(assignment)
            s = per_submission(assignment, args.per, tmp)
            rows.append((assignment, f, s))
            print(f"{assignment}: floor {f:.1f} s, {s:.1f} s per submission ({s / f:.2f}x)",
                  flush=True)
        if args.class_size:
            students = make_class.demo_class(args.class_size, assignments[:1])
            folder = make_class.write_class(students, Path(tmp) / "class")
            start = time.perf_counter()
            results = grade.run(folder, Path(tmp) / "out-class", jobs=2,
                                assignment_names=assignments[:1], quiet=True)
            wall = time.perf_counter() - start
            print(f"class of {len(results['submissions'])} ({assignments[0]}), 2 workers: "
                  f"{wall / 60:.1f} min", flush=True)
    print()
    print("| assignment | floor (s) | per submission, 1 worker (s) | ratio |")
    print("|---|---:|---:|---:|")
    for assignment, f, s in rows:
        print(f"| {assignment} | {f:.1f} | {s:.1f} | {s / f:.2f}× |")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
