"""Time the autograding of exercise 7's solution, and score its kept wrong versions.

Usage: .venv/bin/python bench/bench_exercise07.py [--wrong]

Autogrades the solution of ``07_visualizing`` alone in a temporary course and
prints the wall time of ``nbgrader autograde`` and the score: the issue budgets
<= 60 s on the course's 2-core machine. With ``--wrong``, it then grades the
reference class (the solution, the untouched release and every kept wrong version
in ``tests/wrong/07_visualizing/``) in one course, as ``tests/test_autograde.py``
does, and prints each one's score and the test cells where it lost points.
The chapter is timed by bench/bench_chapter07.py.
"""

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

import course  # noqa: E402

ASSIGNMENT = "07_visualizing"


def autograde_seconds():
    """Autograde the solution alone; return (wall seconds, score, max score)."""
    with tempfile.TemporaryDirectory() as tmp:
        course_dir = course.make_course(Path(tmp), [ASSIGNMENT])
        course.submit(course_dir, ASSIGNMENT, "solution", course.solved_submission(course_dir, ASSIGNMENT))
        start = time.perf_counter()
        grades = course.autograde(course_dir, ASSIGNMENT)
        seconds = time.perf_counter() - start
    grade = grades["solution"]
    return seconds, grade.score, grade.max_score


def reference_class_scores():
    """Grade the solution, the release and every wrong version; return {student: grade}."""
    with tempfile.TemporaryDirectory() as tmp:
        course_dir = course.make_course(Path(tmp), [ASSIGNMENT])
        students, _ = course.reference_class(ASSIGNMENT, course_dir)
        for student, notebooks in students.items():
            course.submit(course_dir, ASSIGNMENT, student, notebooks)
        return course.autograde(course_dir, ASSIGNMENT)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wrong", action="store_true", help="also score every kept wrong version")
    args = parser.parse_args()
    print(f"python {platform.python_version()}, {os.cpu_count()} CPUs, "
          f"load average before: {os.getloadavg()[0]:.1f}\n")
    seconds, score, max_score = autograde_seconds()
    print("| what | wall time | budget |")
    print("|---|---|---|")
    print(f"| exercise 7 solution, nbgrader autograde ({score:g}/{max_score:g} points) "
          f"| {seconds:.0f} s | 60 s |", flush=True)
    if args.wrong:
        start = time.perf_counter()
        grades = reference_class_scores()
        print(f"\nreference class graded in {time.perf_counter() - start:.0f} s\n")
        print("| submission | score | test cells that lost points |")
        print("|---|---:|---|")
        for student, grade in sorted(grades.items()):
            lost = sorted(cell for cell, (got, top) in grade.cells.items() if (got or 0) < top)
            print(f"| {student} | {grade.score:g}/{grade.max_score:g} | {', '.join(lost) or '—'} |")
    print(f"\nload average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
