"""Measure cnnbook.data.make_shapes: how fast it draws, and how hard its images are for a linear model.

Usage: .venv/bin/python bench/bench_shapes.py [--skip-linear]

Prints a Markdown table for BENCHMARKS.md:

- images per second (median of 5 runs of 10,000 images, after a warm-up), with the
  defaults, with clutter, and with boxes and masks returned;
- a linear classifier on raw pixels (scikit-learn's LogisticRegression, L2, C=0.01,
  300 iterations of lbfgs) trained on 10,000 images and scored on 2,000 others:
  the data set must not be easy for it (the goal is at most 50 % test accuracy).
"""

import argparse
import os
import platform
import time

import numpy as np

from cnnbook import data


def images_per_second(count=10_000, repeats=5, **options):
    """Median images per second of make_shapes(count, **options) over ``repeats`` runs."""
    data.make_shapes(256, **options)  # warm-up
    seconds = []
    for seed in range(repeats):
        start = time.perf_counter()
        data.make_shapes(count, seed=seed, **options)
        seconds.append(time.perf_counter() - start)
    return count / float(np.median(seconds))


def linear_accuracy(num_train=10_000, num_test=2_000):
    """Train and test accuracy of logistic regression on raw pixels."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression

    (x_train, y_train), _, (x_test, y_test) = data.shapes_splits(num_train, 1, num_test, seed=0)
    flat = lambda x: x.reshape(len(x), -1) / 255.0  # noqa: E731
    model = LogisticRegression(C=0.01, max_iter=300)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(flat(x_train), y_train)
    return model.score(flat(x_train), y_train), model.score(flat(x_test), y_test)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-linear", action="store_true", help="only time the generator")
    args = parser.parse_args()
    print(f"numpy {np.__version__}, python {platform.python_version()}, "
          f"{os.cpu_count()} CPUs, load average before: {os.getloadavg()[0]:.1f}\n")
    print("| make_shapes call | images per second |\n|---|---|")
    for label, options in [("defaults", {}), ("clutter=3", {"clutter": 3}),
                           ("clutter=3, return_boxes=True", {"clutter": 3, "return_boxes": True})]:
        print(f"| {label} | {images_per_second(**options):,.0f} |")
    if not args.skip_linear:
        train, test = linear_accuracy()
        print("\n| linear classifier on pixels (10,000 train, 2,000 test) | accuracy |\n|---|---|")
        print(f"| training set | {train:.1%} |\n| held-out test set | {test:.1%} |")
        print(f"\nheld-out accuracy <= 50 %: {test <= 0.5}")


if __name__ == "__main__":
    main()
