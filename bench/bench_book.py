"""Time budget of the book (issue 14, section 6): notebooks, whole book, render, make test.

Usage: .venv/bin/python bench/bench_book.py                (every notebook, the render)
       .venv/bin/python bench/bench_book.py --make-test    (adds one full `make test`)

Measures, with the numerics `make notebooks` uses (TensorFlow's default threads, oneDNN
off), and prints Markdown for BENCHMARKS.md:

- the execution of every notebook, chapters and solutions alike, each in a fresh kernel in
  its own folder, outputs discarded (goal <= 120 s each);
- the whole book from scratch: every chapter executed one after the other, then a full
  render (`jupyter-book build --all`) (goal <= 10 min);
- the render from stored outputs alone (goal <= 60 s);
- with --make-test, `make test` (goal <= 30 min).
"""

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

import course  # noqa: E402


def execute_seconds(path):
    import nbformat
    from nbclient import NotebookClient

    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(notebook, timeout=900, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    start = time.perf_counter()
    client.execute()
    return time.perf_counter() - start


def render_seconds():
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        subprocess.run([str(course.BIN / "jupyter-book"), "build", str(ROOT), "--all", "-W",
                        "--keep-going", "--path-output", out], check=True, env=course.subprocess_env(),
                       capture_output=True)
        return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--make-test", action="store_true", help="also time one full `make test`")
    args = parser.parse_args()
    os.environ.update(course.subprocess_env())

    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"load {os.getloadavg()[0]:.1f} at the start\n")
    print("| notebook | execution | goal <= 120 s |")
    print("|---|---|---|")
    chapter_total = 0.0
    notebooks = [*course.chapters(), *(nb for a in course.assignments() for nb in course.source_notebooks(a))]
    for path in notebooks:
        seconds = execute_seconds(path)
        if path.parent.name == "book":
            chapter_total += seconds
        print(f"| `{path.relative_to(ROOT)}` | {seconds:.0f} s | {'met' if seconds <= 120 else 'MISSED'} |",
              flush=True)
    render = render_seconds()
    whole = chapter_total + render
    print(f"\n| measure | time | goal |\n|---|---|---|")
    print(f"| render from stored outputs (`jupyter-book build --all`) | {render:.0f} s | <= 60 s: "
          f"{'met' if render <= 60 else 'MISSED'} |")
    print(f"| whole book from scratch (every chapter executed, then the render) | {whole:.0f} s | "
          f"<= 600 s: {'met' if whole <= 600 else 'MISSED'} |", flush=True)
    if args.make_test:
        start = time.perf_counter()
        result = subprocess.run(["make", "test"], cwd=ROOT)
        seconds = time.perf_counter() - start
        print(f"| `make test` (exit {result.returncode}) | {seconds / 60:.1f} min | <= 30 min: "
              f"{'met' if seconds <= 1800 else 'MISSED'} |")
    print(f"\nload {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
