"""Measure the chapter 6 detector: held-out mAP of the shipped weights, inference and NMS speed.

Usage: .venv/bin/python bench/bench_detector.py            (about a minute)
       .venv/bin/python bench/bench_detector.py --retrain  (adds a full training run, ~5 min of CPU)

Prints Markdown for BENCHMARKS.md. With --retrain it trains from scratch with the
default settings of ``python -m cnnbook.train_detector`` into a temporary folder
and checks that the weights come out identical to the shipped ones (the training
is seeded and deterministic on the same machine and thread count).
"""

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from cnnbook import detection, train_detector  # noqa: E402


def median_seconds(fn, repeats):
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def bench_map():
    model = train_detector.load_detector()
    scores = train_detector.evaluate(model, num_test=500)
    print("| held-out scenes | objects | mAP@0.5 | mAP@[0.5:0.95] |")
    print("|---|---|---|---|")
    print(f"| {scores['num_test']} (seed {train_detector.TEST_SEED}) | {scores['num_objects']} "
          f"| {scores['map50']:.3f} | {scores['map50_95']:.3f} |\n")
    return model


def bench_inference(model, repeats=10):
    images, _, _, _ = train_detector.make_dataset(64, seed=1)
    network = median_seconds(lambda: model.predict(images, batch_size=64, verbose=0), repeats)
    outputs = model.predict(images, verbose=0)
    post = median_seconds(
        lambda: [detection.postprocess(o, train_detector.NUM_BOXES, train_detector.IMAGE_SIZE)
                 for o in outputs], repeats)
    print("| batch of 64 images | network (model.predict) | decode + per-class NMS |")
    print("|---|---|---|")
    print(f"| per image | {network / 64 * 1e3:.2f} ms | {post / 64 * 1e3:.2f} ms |\n")


def bench_nms(repeats=20):
    rng = np.random.default_rng(0)
    print("| boxes | detection.non_max_suppression | tf.image.non_max_suppression | same indices |")
    print("|---|---|---|---|")
    for count in (72, 500, 2000):
        boxes = detection.xywh_to_corners(
            np.c_[rng.uniform(0, 96, (count, 2)), rng.uniform(4, 40, (count, 2))]).astype(np.float32)
        scores = rng.permutation(count).astype(np.float32) / count
        ours = median_seconds(lambda: detection.non_max_suppression(boxes, scores, 0.5), repeats)
        theirs = median_seconds(
            lambda: tf.image.non_max_suppression(boxes, scores, count, 0.5).numpy(), repeats)
        same = np.array_equal(detection.non_max_suppression(boxes, scores, 0.5),
                              tf.image.non_max_suppression(boxes, scores, count, 0.5).numpy())
        print(f"| {count} | {ours * 1e3:.2f} ms | {theirs * 1e3:.2f} ms | {same} |")
    print()


def bench_retrain():
    with tempfile.TemporaryDirectory() as folder:
        train_detector.main(["--out", folder])
        record = json.loads((Path(folder) / train_detector.RECORD_PATH.name).read_text())
        fresh = train_detector.build_model()
        fresh.load_weights(str(Path(folder) / train_detector.WEIGHTS_PATH.name))
    shipped = train_detector.load_detector()
    same = all(np.array_equal(a, b) for a, b in zip(fresh.get_weights(), shipped.get_weights()))
    seconds = record["training_seconds"]
    print("| training run | CPU | wall clock | mAP@0.5 | mAP@[0.5:0.95] | weights identical to shipped |")
    print("|---|---|---|---|---|---|")
    print(f"| `{record['command']}` | {seconds['cpu']:.0f} s | {seconds['wall']:.0f} s "
          f"| {record['test']['map50']:.3f} | {record['test']['map50_95']:.3f} | {same} |\n")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--retrain", action="store_true", help="also train from scratch (~5 min CPU)")
    args = parser.parse_args(argv)
    print(f"numpy {np.__version__}, tensorflow {tf.__version__}, python {platform.python_version()}, "
          f"{os.cpu_count()} CPUs\n")
    model = bench_map()
    bench_inference(model)
    bench_nms()
    if args.retrain:
        bench_retrain()


if __name__ == "__main__":
    main()
