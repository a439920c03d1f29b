"""Time chapter 7 top to bottom, and the cnnbook.visualize helpers it calls.

Usage: .venv/bin/python bench/bench_chapter07.py

Executes a temporary copy of ``book/07_visualizing.ipynb`` (the stored one is not
touched) and prints its wall time and the CPU time of its kernel (user + system,
summed over threads: less inflated by other jobs than the wall time). Then, in
this process, times each helper on the shipped networks and chapter 3's 2,000
test images, in CPU seconds (``time.process_time``) and wall seconds. The
chapter's budget is 120 s on the course's 2-core machine. Exercise 7 is timed by
its own author.
"""

import os
import platform
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

import course  # noqa: E402

CHAPTER = ROOT / "book" / "07_visualizing.ipynb"


def chapter_seconds():
    """Execute a copy of the chapter; return (wall seconds, kernel CPU seconds)."""
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
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            start = time.perf_counter()
            client.execute()       # starts the kernel as a child, runs it, shuts it down
            wall = time.perf_counter() - start
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
            return wall, cpu
    finally:
        os.environ.clear()
        os.environ.update(saved)


def timed(function):
    cpu, wall = time.process_time(), time.perf_counter()
    function()
    return time.process_time() - cpu, time.perf_counter() - wall


def helper_rows():
    os.environ.update(course.KERNEL_ENV)
    import numpy as np

    from cnnbook import data, models, training, visualize

    classic, _ = training.load_classic_convnet()
    base = models.load_pretrained_base()
    seed = np.random.SeedSequence(0).spawn(3)[2]
    x_test, y_test = data.make_shapes(2000, seed=seed)
    visualize.grad_cam(classic, x_test[0], int(y_test[0]))     # warm-up: first TensorFlow calls
    return [
        ("grad_cam, one image", timed(lambda: visualize.grad_cam(classic, x_test[1], int(y_test[1])))),
        ("grad_cams, 2,000 images (one batch)", timed(lambda: visualize.grad_cams(classic, x_test, y_test))),
        ("grad_cam_cells, 2,000 images (one batch)",
         timed(lambda: visualize.grad_cam_cells(classic, x_test, y_test))),
        ("saliency_maps, 2,000 images (one batch)",
         timed(lambda: visualize.saliency_maps(classic, x_test, y_test))),
        ("occlusion_maps, 200 images (8×8 squares, stride 4: 81 per image)",
         timed(lambda: visualize.occlusion_maps(classic, x_test[:200], y_test[:200]))),
        ("max_activating_patches, base block3_relu2, 2,000 images, one filter",
         timed(lambda: visualize.max_activating_patches(base, "block3_relu2", x_test, 0, top_k=6))),
        ("filter_by_gradient_ascent, base block3_bn2, 8 filters, 40 steps",
         timed(lambda: visualize.filter_by_gradient_ascent(base, "block3_bn2", list(range(8)), steps=40))),
    ]


def main():
    print(f"python {platform.python_version()}, {os.cpu_count()} CPUs, "
          f"load average before: {os.getloadavg()[0]:.1f}\n")
    wall, cpu = chapter_seconds()
    print("| what | wall time | CPU time | budget |")
    print("|---|---|---|---|")
    print(f"| chapter 7, top to bottom | {wall:.0f} s | {cpu:.0f} s (kernel) | 120 s |", flush=True)
    for name, (cpu, wall) in helper_rows():
        print(f"| {name} | {wall:.2f} s | {cpu:.2f} s | |")
    print(f"\nload average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
