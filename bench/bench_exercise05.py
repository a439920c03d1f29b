"""Time the autograding of exercise 5's solution, and measure Part D's bars over seeds.

Usage: .venv/bin/python bench/bench_exercise05.py [--seeds 0 1 2] [--skip-autograde]

1. Autogrades the solution of ``05_transfer_learning`` alone in a temporary course and
   prints the wall time of ``nbgrader autograde`` and the score (budget: 60 s).
2. Runs Part D's test body outside the grader for the solution's ``train_transfer`` and
   for each kept wrong version of it, once per seed: the seed of ``keras.utils.set_random_seed``
   and, but for seed 0, of the 200 training images, 20 per class drawn with
   ``cnnbook.transfer.per_class`` from 100 per class of the similar target; seed 0 is the
   test's own set-up, ``similar_target(train_per_class=20, test_per_class=100)``),
   with two threads for the operations as the exercise sets them, and prints the CPU time
   (``time.process_time``) of the call and the accuracy on the 1,000 test images. The
   bars of the test (at least 45 %, at most 20 s of CPU) must hold for the solution with a
   2x margin: its lowest accuracy at least 2 x 45 %, its largest CPU time at most 20 s / 2.
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
sys.path.insert(0, str(ROOT / "src"))

import course  # noqa: E402

ASSIGNMENT = "05_transfer_learning"
PART_D = "train_transfer"


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


def part_d(seeds):
    """Print CPU time and test accuracy of train_transfer, solution and wrong versions, per seed."""
    os.environ.update(course.subprocess_env())
    import keras
    import numpy as np
    import tensorflow as tf

    from cnnbook import models, pretrain, transfer

    tf.config.threading.set_intra_op_parallelism_threads(2)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    sources = {"solution": course.solution_sources(ASSIGNMENT)[PART_D]}
    sources.update({v.name: v.source for v in course.wrong_versions(ASSIGNMENT) if v.grade_id == PART_D})
    (x_first, y_first), (x_test, y_test) = transfer.similar_target(train_per_class=20, test_per_class=100)
    (x_pool, y_pool), _ = transfer.similar_target(train_per_class=100, test_per_class=1)
    print("| version | seed | CPU | test accuracy |")
    print("|---|---|---|---|")
    for name, source in sources.items():
        namespace = {"keras": keras, "np": np, "tf": tf, "layers": keras.layers, "models": models,
                     "pretrain": pretrain, "build_transfer_model": transfer.build_transfer_model,
                     "bottleneck_features": transfer.bottleneck_features,
                     "unfreeze_top_block": transfer.unfreeze_top_block}
        exec(source.replace("### BEGIN SOLUTION", "").replace("### END SOLUTION", ""), namespace)
        for seed in seeds:
            if seed == 0:  # the test's own set-up
                x_train, y_train = x_first, y_first
            else:
                x_train, y_train = transfer.per_class(x_pool, y_pool, 20, seed=seed)
            keras.utils.set_random_seed(seed)
            base = models.load_pretrained_base()
            start = time.process_time()
            model = namespace[PART_D](base, x_train, y_train)
            cpu = time.process_time() - start
            accuracy = float((np.asarray(model.predict(x_test, verbose=0)).argmax(axis=1) == y_test).mean())
            print(f"| {name} | {seed} | {cpu:.1f} s | {accuracy:.1%} |", flush=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--skip-autograde", action="store_true")
    args = parser.parse_args(argv)
    print(f"python {platform.python_version()}, {os.cpu_count()} CPUs, "
          f"load average before: {os.getloadavg()[0]:.1f}\n")
    if not args.skip_autograde:
        seconds, score, max_score = autograde_seconds()
        print(f"exercise 5 solution, nbgrader autograde: {score:g}/{max_score:g} points in {seconds:.0f} s "
              f"(budget 60 s); load average {os.getloadavg()[0]:.1f}\n", flush=True)
    part_d(args.seeds)
    print(f"\nload average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
