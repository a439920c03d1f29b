"""Throughput of the grading pipeline (tools/grade.py), against the floor.

    .venv/bin/python bench/bench_grade.py                    # every assignment, class of 100
    .venv/bin/python bench/bench_grade.py --class-size 0     # per-submission numbers only

For each assignment:

* **floor**: a fresh kernel that runs only the exercise's set-up cell (what every
  graded notebook imports), started and executed with nbclient; the median of 3.
* **plain run**: the solved notebook (solutions and tests) run by nbclient, no
  nbgrader: what the tests themselves cost (exercise 2's tests train a model).
* **graded, per submission**: ``tools/grade.py --jobs 1`` on ``--per`` solution
  submissions; the mean time one submission spends in its worker (nbgrader's
  autograde with the plugins, and its feedback), and the run's wall time divided
  by ``--per`` (which also carries the run's fixed cost: course set-up, export,
  report).

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


def _execute(cells, repeats):
    """Median seconds to start a kernel and run ``cells`` with nbclient."""
    from nbclient import NotebookClient

    os.environ.update(course.KERNEL_ENV)
    os.environ["PYTHONPATH"] = course.subprocess_env()["PYTHONPATH"]
    times = []
    for _ in range(repeats):
        notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
        start = time.perf_counter()
        NotebookClient(notebook, timeout=600, kernel_name="python3",
                       resources={"metadata": {"path": str(ROOT)}}).execute()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def floor(assignment, repeats=3):
    """Seconds to start a kernel and run the exercise's set-up cell (median of ``repeats``)."""
    release = nbformat.read(next(iter(course.release_notebooks(None, assignment).values())), 4)
    setup = next(c for c in release.cells if c.cell_type == "code")
    return _execute([setup.source], repeats)


def plain_run(assignment, repeats=1):
    """Seconds to run the solved notebook (solutions and tests) with nbclient, no nbgrader."""
    reference, _ = course.reference_class(assignment)
    (notebook,) = reference["solution"].values()
    return _execute([c.source for c in notebook.cells if c.cell_type == "code"], repeats)


def per_submission(assignment, n, tmp):
    """(wall seconds / n, mean seconds of one submission inside its worker) for n solutions."""
    reference, _ = course.reference_class(assignment)
    solution = {name: make_class.notebook_bytes(nb) for name, nb in reference["solution"].items()}
    folder = make_class.write_class({f"s{i:02d}": solution for i in range(n)}, Path(tmp) / assignment)
    start = time.perf_counter()
    results = grade.run(folder, Path(tmp) / f"out-{assignment}", jobs=1,
                        assignment_names=[assignment], quiet=True)
    wall = (time.perf_counter() - start) / n
    full = results["assignments"][assignment]["max_score"]
    assert all(s["score"] == full for s in results["submissions"]), "a solution lost points"
    return wall, statistics.mean(s["seconds"] for s in results["submissions"])


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
            f, plain = floor(assignment), plain_run(assignment)
            wall, inside = per_submission(assignment, args.per, tmp)
            rows.append((assignment, f, plain, inside, wall))
            print(f"{assignment}: floor {f:.1f} s, plain run {plain:.1f} s, graded {inside:.1f} s "
                  f"per submission in its worker ({inside / f:.2f}x floor), "
                  f"{wall:.1f} s of wall time each over {args.per}", flush=True)
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
    print("| assignment | floor: kernel + set-up cell (s) | solved notebook, plain nbclient (s) "
          "| graded, per submission (s) | graded / floor | wall time per submission, "
          f"{args.per} in one run (s) |")
    print("|---|---:|---:|---:|---:|---:|")
    for assignment, f, plain, inside, wall in rows:
        print(f"| {assignment} | {f:.1f} | {plain:.1f} | {inside:.1f} | {inside / f:.2f}× "
              f"| {wall:.1f} |")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
