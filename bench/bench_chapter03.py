"""Measure chapter 3 and exercise 3: the chapter's run time, the exercise's Part E, the solution's autograding.

Usage: .venv/bin/python bench/bench_chapter03.py [--skip-chapter] [--skip-grade] [--wrong]

Prints Markdown for BENCHMARKS.md:

- the shipped networks' records (``python -m cnnbook.train_classifier``: CPU and wall
  time of the training, best epoch, held-out accuracy);
- the wall time of executing a temporary copy of ``book/03_training.ipynb`` top to
  bottom (the stored notebook is not touched), and the figures it glues;
- the solution's ``train_shapes`` (Part E), three seeds (with ``--wrong``, its kept wrong
  versions too): CPU time (``time.process_time``), accuracy on the test's 1,000 held-out
  images and on the same images divided by 255, against the test's limits (40 s of CPU,
  at least 30 %, at most 25 %);
- the wall time of autograding the solution alone with nbgrader, in a temporary course.
"""

import argparse
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
sys.path.insert(0, str(ROOT / "bench"))

import course  # noqa: E402
from bench_chapter02 import glued_values  # noqa: E402

CHAPTER = ROOT / "book" / "03_training.ipynb"
ASSIGNMENT = "03_training"


def shipped_records():
    from cnnbook import training

    print("| network | trained | CPU | wall | best epoch | test accuracy (2,000) |\n|---|---|---|---|---|---|")
    for name in ("classic_convnet", "classic_convnet_augmented"):
        _, record = training.load_classic_convnet(name)
        s = record["settings"]
        print(f"| {name} | {s['epochs']} epochs, {s['num_train']:,} images | {record['cpu_seconds']:.0f} s "
              f"| {record['wall_seconds']:.0f} s | {record['best_epoch']} | {record['test_accuracy']:.1%} |")


def chapter():
    from nbclient import NotebookClient

    os.environ.update(course.subprocess_env())
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / CHAPTER.name
        shutil.copy(CHAPTER, copy)
        notebook = nbformat.read(copy, as_version=4)
        client = NotebookClient(notebook, timeout=1800, kernel_name="python3",
                                resources={"metadata": {"path": str(CHAPTER.parent)}})
        start = time.perf_counter()
        client.execute()
        seconds = time.perf_counter() - start
    glued = glued_values(notebook)
    print(f"\nchapter executed top to bottom: {seconds:.0f} s (goal <= 120 s)")
    print("glued:", ", ".join(f"{k}={v}" for k, v in glued.items() if not k.startswith("q_")))


def part_e(seeds=(0, 1, 2), wrong=False):
    import keras
    import numpy as np
    import tensorflow as tf
    from keras import layers

    from cnnbook import data

    versions = {"solution": course.solution_sources(ASSIGNMENT)["train_shapes"]}
    if wrong:
        for version in course.wrong_versions(ASSIGNMENT):
            if version.grade_id == "train_shapes":
                versions[version.name] = version.source
    (x_train, y_train), (x_val, y_val), (x_test, y_test) = data.shapes_splits(4_000, 500, 1_000, seed=1, image_size=24)
    print("\n| Part E, seed | CPU | test accuracy | on the test images divided by 255 |\n|---|---|---|---|")
    for name, source in versions.items():
        namespace = {"keras": keras, "layers": layers, "np": np, "tf": tf}
        exec("\n".join(line for line in source.splitlines() if "### " not in line), namespace)
        for seed in seeds:
            keras.utils.set_random_seed(seed)
            start = time.process_time()
            model = namespace["train_shapes"](x_train, y_train, x_val, y_val)
            cpu = time.process_time() - start
            accuracy = float((model.predict(x_test, verbose=0).argmax(axis=1) == y_test).mean())
            prescaled = model.predict(x_test.astype("float32") / 255, verbose=0)
            prescaled_accuracy = float((prescaled.argmax(axis=1) == y_test).mean())
            print(f"| {name}, {seed} | {cpu:.0f} s (limit 40 s) | {accuracy:.1%} (at least 30 %) "
                  f"| {prescaled_accuracy:.1%} (at most 25 %) |", flush=True)


def grade_solution():
    with tempfile.TemporaryDirectory() as tmp:
        course_dir = course.make_course(Path(tmp), [ASSIGNMENT])
        start = time.perf_counter()
        course.submit(course_dir, ASSIGNMENT, "solution", course.solved_submission(course_dir, ASSIGNMENT))
        grades = course.autograde(course_dir, ASSIGNMENT)
        seconds = time.perf_counter() - start
    solution = grades["solution"]
    print(f"\nautograde the solution: {seconds:.0f} s (goal <= 60 s), "
          f"score {solution.score:g} of {solution.max_score:g}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-chapter", action="store_true")
    parser.add_argument("--skip-grade", action="store_true")
    parser.add_argument("--wrong", action="store_true", help="also run Part E's kept wrong versions")
    args = parser.parse_args()
    print(f"python {platform.python_version()}, {os.cpu_count()} CPUs, "
          f"load average before: {os.getloadavg()[0]:.1f}\n")
    shipped_records()
    if not args.skip_chapter:
        chapter()
    part_e(wrong=args.wrong)
    if not args.skip_grade:
        grade_solution()
    print(f"\nload average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
