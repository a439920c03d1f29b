"""Time chapter 4 top to bottom and the autograding of exercise 4's solution.

Usage: .venv/bin/python bench/bench_chapter04.py

Executes a temporary copy of ``book/04_inception_resnet.ipynb`` (the stored one
is not touched) and prints its wall time, then autogrades the solution of
``04_inception_resnet`` alone in a temporary course and prints the wall time of
``nbgrader autograde`` and the score. Both are what the issue budgets (chapter
<= 120 s, solution autograde <= 60 s) on the course's 2-core machine.
"""

import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

import course  # noqa: E402

CHAPTER = ROOT / "book" / "04_inception_resnet.ipynb"
ASSIGNMENT = "04_inception_resnet"


def chapter_seconds():
    """Execute a copy of the chapter; return its wall time in seconds."""
    from nbclient import NotebookClient

    saved = dict(os.environ)
    os.environ.update(course.subprocess_env())
    try:
        with tempfile.TemporaryDirectory() as tmp:
            copy = Path(tmp) / CHAPTER.name
            shutil.copy(CHAPTER, copy)
            notebook = nbformat.read(copy, as_version=4)
            client = NotebookClient(notebook, timeout=1800, kernel_name="python3",
                                    resources={"metadata": {"path": str(CHAPTER.parent)}})
            start = time.perf_counter()
            client.execute()
            return time.perf_counter() - start
    finally:
        os.environ.clear()
        os.environ.update(saved)


def autograde_seconds():
    """Autograde the solution alone; return (seconds, score, max score)."""
    with tempfile.TemporaryDirectory() as tmp:
        course_dir = course.make_course(Path(tmp), [ASSIGNMENT])
        course.submit(course_dir, ASSIGNMENT, "solution", course.solved_submission(course_dir, ASSIGNMENT))
        start = time.perf_counter()
        grades = course.autograde(course_dir, ASSIGNMENT)
        seconds = time.perf_counter() - start
    grade = grades["solution"]
    return seconds, grade.score, grade.max_score


def main():
    print(f"python {platform.python_version()}, {os.cpu_count()} CPUs, "
          f"load average before: {os.getloadavg()[0]:.1f}\n")
    print("| what | wall time | budget |")
    print("|---|---|---|")
    print(f"| chapter 4, top to bottom | {chapter_seconds():.0f} s | 120 s |", flush=True)
    seconds, score, max_score = autograde_seconds()
    print(f"| exercise 4 solution, nbgrader autograde ({score:g}/{max_score:g} points) "
          f"| {seconds:.0f} s | 60 s |")
    print(f"\nload average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
