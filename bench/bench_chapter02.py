"""Run chapter 2 top to bottom with 1 and with 2 TensorFlow threads; report what it measures.

Usage: .venv/bin/python bench/bench_chapter02.py

The chapter trains its convnet twice (Keras `fit`, then a hand-written
`tf.GradientTape` loop) and glues the training times and test accuracies into its
prose. This script executes a temporary copy of the notebook (the stored one is not
touched) once per thread setting and prints a Markdown table for BENCHMARKS.md: the
whole notebook's wall time, each training's wall time and each test accuracy, read
from the values the chapter glues.
"""

import ast
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

CHAPTER = ROOT / "book" / "02_pooling.ipynb"
GLUED = ["keras_seconds", "keras_accuracy", "low_level_seconds", "low_level_accuracy"]


def glued_values(notebook):
    """Return {name: value} of every value the notebook glued."""
    values = {}
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            name = output.get("metadata", {}).get("scrapbook", {}).get("name")
            text = output.get("data", {}).get("application/papermill.record/text/plain")
            if name and text is not None:
                values[name] = ast.literal_eval(text)
    return values


def run(threads):
    """Execute a copy of the chapter with ``threads`` TensorFlow threads; return (seconds, glued)."""
    from nbclient import NotebookClient

    saved = dict(os.environ)
    os.environ.update(course.subprocess_env(threads=threads))
    try:
        with tempfile.TemporaryDirectory() as tmp:
            copy = Path(tmp) / "book" / CHAPTER.name
            copy.parent.mkdir()
            shutil.copy(CHAPTER, copy)
            notebook = nbformat.read(copy, as_version=4)
            client = NotebookClient(notebook, timeout=1800, kernel_name="python3",
                                    resources={"metadata": {"path": str(CHAPTER.parent)}})
            start = time.perf_counter()
            client.execute()
            seconds = time.perf_counter() - start
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return seconds, glued_values(notebook)


def main():
    print(f"python {platform.python_version()}, {os.cpu_count()} CPUs, "
          f"load average before: {os.getloadavg()[0]:.1f}\n")
    print("| TF threads | whole chapter | Keras fit | Keras test accuracy "
          "| GradientTape loop | loop test accuracy |")
    print("|---|---|---|---|---|---|")
    for threads in (1, 2):
        seconds, glued = run(threads)
        missing = [name for name in GLUED if name not in glued]
        if missing:
            raise SystemExit(f"the chapter no longer glues {missing}")
        print(f"| {threads} | {seconds:.0f} s | {glued['keras_seconds']} s | {glued['keras_accuracy']} "
              f"| {glued['low_level_seconds']} s | {glued['low_level_accuracy']} |", flush=True)


if __name__ == "__main__":
    main()
