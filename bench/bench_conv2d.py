"""Time cnnbook.ops.conv2d against tf.nn.conv2d (+ bias) on the same inputs, in one run.

Usage: make bench    (or: .venv/bin/python bench/bench_conv2d.py)

Prints a Markdown table for BENCHMARKS.md: median of repeated calls, after a warm-up,
for a few layer shapes typical of the course.
"""

import os
import platform
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from cnnbook import ops  # noqa: E402

CASES = [
    # (N, H, W, C), (kh, kw, C, K), stride, padding
    ((1, 32, 32, 3), (8, 8, 3, 20), 2, "same"),
    ((32, 28, 28, 1), (3, 3, 1, 32), 1, "valid"),
    ((32, 13, 13, 32), (3, 3, 32, 64), 1, "valid"),
    ((8, 64, 64, 16), (3, 3, 16, 32), 1, "same"),
    ((1, 300, 451, 1), (3, 3, 1, 4), 1, "same"),
]


def median_seconds(first, second, repeats):
    """Median seconds of two functions, called alternately so both see the same load."""
    first(), second()  # warm-up
    times = ([], [])
    for _ in range(repeats):
        for fn, bucket in zip((first, second), times):
            start = time.perf_counter()
            fn()
            bucket.append(time.perf_counter() - start)
    return float(np.median(times[0])), float(np.median(times[1]))


def main(repeats=21):
    rng = np.random.default_rng(0)
    print(f"numpy {np.__version__}, tensorflow {tf.__version__}, python {platform.python_version()}, "
          f"{os.cpu_count()} CPUs\n")
    print("| input | kernel | stride | padding | cnnbook.ops.conv2d | tf.nn.conv2d | ratio |")
    print("|---|---|---|---|---|---|---|")
    ratios = []
    for x_shape, w_shape, stride, padding in CASES:
        x = rng.normal(size=x_shape).astype(np.float32)
        w = rng.normal(size=w_shape).astype(np.float32)
        b = rng.normal(size=w_shape[-1]).astype(np.float32)
        xt, wt, bt = tf.constant(x), tf.constant(w), tf.constant(b)
        ours, theirs = median_seconds(
            lambda: ops.conv2d(x, w, b, stride=stride, padding=padding),
            lambda: tf.nn.bias_add(tf.nn.conv2d(xt, wt, stride, padding.upper()), bt).numpy(),
            repeats,
        )
        np.testing.assert_allclose(
            ops.conv2d(x, w, b, stride=stride, padding=padding),
            tf.nn.bias_add(tf.nn.conv2d(xt, wt, stride, padding.upper()), bt).numpy(),
            atol=1e-3, rtol=1e-4,
        )
        ratios.append(ours / theirs)
        print(f"| {x_shape} | {w_shape} | {stride} | {padding} | {ours * 1e3:.2f} ms "
              f"| {theirs * 1e3:.2f} ms | {ours / theirs:.1f}× |")
    print(f"\ngeometric mean ratio: {np.exp(np.mean(np.log(ratios))):.2f}×")


if __name__ == "__main__":
    main()
