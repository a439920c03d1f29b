"""Train chapter 3's networks on the shapes and save them with their records: ``python -m cnnbook.train_classifier``.

Writes ``weights/<name>.weights.h5`` and ``weights/<name>.json`` for two networks,
both :func:`cnnbook.training.classic_convnet` (with dropout) trained on
``shapes_splits(20_000, 2_000, 2_000, seed=0)``:

- ``classic_convnet``: on the training images as they are;
- ``classic_convnet_augmented``: through :func:`cnnbook.training.augmentation`.

Each keeps the epoch of best validation accuracy (``ModelCheckpoint(save_best_only=True)``)
and records the command, settings, versions, CPU time (``time.process_time``, summed
over threads) and wall time of the training, the validation curve and the test accuracy.
Chapter 3 loads them (:func:`cnnbook.training.load_classic_convnet`) instead of
training for minutes; so can chapters 4, 5 and 7.

``--only small`` writes ``weights/small_runs.json`` instead: the learning curves of
chapter 3's small-set comparison (the network without dropout, with dropout, and
through the augmentation, each on 500 training images for 25 epochs, scored on all
2,000 validation images after every epoch, its best and its last epoch scored at
inference on the training, validation and test images) and of its batch normalisation
comparison (the loss of every batch of five epochs on 2,000 images, with and without).
Chapter 3
plots them (:func:`cnnbook.training.load_small_runs`) and trains live only a short
run.
"""

import argparse
import json
import os
import pathlib
import platform
import tempfile
import time

import numpy as np

from cnnbook import data, training

SETTINGS = {"num_train": 20_000, "num_validation": 2_000, "num_test": 2_000, "seed": 0,
            "epochs": 12, "batch_size": 64, "learning_rate": 1e-3}


def train(augmented, out_dir, settings=SETTINGS):
    """Train one network, keep its best epoch, save weights and record; return the record."""
    import keras
    import tensorflow as tf

    s = settings
    keras.utils.set_random_seed(s["seed"])
    tf.config.experimental.enable_op_determinism()
    (x_train, y_train), validation, (x_test, y_test) = data.shapes_splits(
        s["num_train"], s["num_validation"], s["num_test"], seed=s["seed"])
    model = training.classic_convnet()
    trainer = model
    if augmented:
        trainer = keras.Sequential([keras.Input(model.input_shape[1:]),
                                    training.augmentation(seed=s["seed"]), model])
    trainer.compile(optimizer=keras.optimizers.Adam(s["learning_rate"]),
                    loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    name = "classic_convnet_augmented" if augmented else "classic_convnet"
    with tempfile.TemporaryDirectory() as scratch:
        best = os.path.join(scratch, "best.weights.h5")
        checkpoint = keras.callbacks.ModelCheckpoint(best, monitor="val_accuracy",
                                                     save_best_only=True, save_weights_only=True)
        cpu, wall = time.process_time(), time.perf_counter()
        history = trainer.fit(x_train, y_train, validation_data=validation, epochs=s["epochs"],
                              batch_size=s["batch_size"], callbacks=[checkpoint], verbose=2)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        trainer.load_weights(best)
    out_dir = pathlib.Path(out_dir)
    shipped = training.classic_convnet()  # not compiled: the file holds no optimizer state
    shipped.set_weights(model.get_weights())
    shipped.save_weights(out_dir / f"{name}.weights.h5")
    test_accuracy = float((model.predict(x_test, verbose=0).argmax(axis=1) == y_test).mean())
    record = {
        "command": "python -m cnnbook.train_classifier",
        "name": name, "augmented": augmented, "settings": s,
        "versions": {"python": platform.python_version(), "numpy": np.__version__,
                     "tensorflow": tf.__version__, "keras": keras.__version__},
        "cpus": os.cpu_count(), "cpu_seconds": round(cpu, 1), "wall_seconds": round(wall, 1),
        "history": {key: [round(float(v), 4) for v in values]
                    for key, values in history.history.items()},
        "best_epoch": int(np.argmax(history.history["val_accuracy"])) + 1,
        "test_accuracy": test_accuracy,
    }
    (out_dir / f"{name}.json").write_text(json.dumps(record, indent=1) + "\n")
    return record


SMALL_SETTINGS = {"num_train": 20_000, "num_validation": 2_000, "num_test": 2_000,
                  "num_small": 500, "num_check": 2_000, "seed": 0, "epochs": 25,
                  "batch_size": 32, "learning_rate": 1e-3,
                  "batch_norm_images": 2_000, "batch_norm_epochs": 5}
SMALL_RUNS = ("no dropout, no augmentation", "dropout", "augmentation")


def _accuracy(model, images, labels):
    """Fraction of ``images`` whose highest output is the label (inference mode, batches of 500)."""
    outputs = np.concatenate([np.asarray(model(images[i : i + 500], training=False))
                              for i in range(0, len(images), 500)])
    return float((outputs.argmax(axis=1) == labels).mean())


def _rounded(history):
    return {key: [round(float(v), 4) for v in values] for key, values in history.items()}


def small_run(name, small, check, test, scratch, settings=SMALL_SETTINGS):
    """Train one network of chapter 3's small-set comparison, keep its best epoch; return its record.

    ``name`` is one of :data:`SMALL_RUNS`: the classic convnet without dropout, with
    dropout, or without dropout trained through :func:`cnnbook.training.augmentation`.
    One-hot labels and ``categorical_crossentropy``; ``validation_data`` is ``check``;
    ``ModelCheckpoint(save_best_only=True)`` on the validation accuracy. The last
    epoch is scored at inference on ``small``, ``check`` and ``test``, then the best
    epoch is loaded back and scored on the same images.
    """
    import keras

    if name not in SMALL_RUNS:
        raise ValueError(f"name must be one of {SMALL_RUNS}, got {name!r}")
    s = settings
    (x_small, y_small), (x_check, y_check) = small, check
    keras.utils.set_random_seed(s["seed"])
    network = training.classic_convnet(dropout=name == "dropout")
    trainer = network
    if name == "augmentation":  # the checkpoint saves the wrapper; its augmentation is the identity at inference
        trainer = keras.Sequential([keras.Input(network.input_shape[1:]),
                                    training.augmentation(seed=s["seed"]), network])
    trainer.compile(optimizer=keras.optimizers.Adam(s["learning_rate"]), loss="categorical_crossentropy",
                    metrics=["accuracy"])
    path = os.path.join(scratch, f"{SMALL_RUNS.index(name)}.keras")
    checkpoint = keras.callbacks.ModelCheckpoint(path, monitor="val_accuracy", save_best_only=True)
    cpu, wall = time.process_time(), time.perf_counter()
    history = trainer.fit(x_small, keras.utils.to_categorical(y_small, 10),
                          validation_data=(x_check, keras.utils.to_categorical(y_check, 10)),
                          epochs=s["epochs"], batch_size=s["batch_size"], callbacks=[checkpoint], verbose=0)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    best = keras.models.load_model(path)

    def scores(model):
        return {"training": _accuracy(model, x_small, y_small), "validation": _accuracy(model, x_check, y_check),
                "test": _accuracy(model, *test)}

    return {
        "history": _rounded(history.history),
        "best_epoch": int(np.argmax(history.history["val_accuracy"])) + 1,
        "last_epoch_accuracy": scores(trainer),
        "best_epoch_accuracy": scores(best),
        "cpu_seconds": round(cpu, 1), "wall_seconds": round(wall, 1),
    }


def batch_norm_run(batch_norm, images, labels, settings=SMALL_SETTINGS):
    """Train the classic convnet with or without batch normalisation; return the loss of every batch.

    Integer labels, ``sparse_categorical_crossentropy``, Adam, no validation. After
    each batch Keras reports the mean loss of the epoch so far, weighted by batch
    size; the loss of batch k is recovered from two of these running means:
    ``(m_k * n_k - m_(k-1) * n_(k-1)) / (n_k - n_(k-1))``, with ``n_k`` the images
    seen in the epoch after batch k.
    """
    import keras

    s = settings
    losses, seen = [], [0, 0.0]  # the images seen in this epoch, and their summed loss

    def record(batch, logs):
        if batch == 0:
            seen[:] = [0, 0.0]
        count = min((batch + 1) * s["batch_size"], len(images))
        total = logs["loss"] * count
        losses.append((total - seen[1]) / (count - seen[0]))
        seen[:] = [count, total]

    recorder = keras.callbacks.LambdaCallback(on_train_batch_end=record)
    keras.utils.set_random_seed(s["seed"])
    model = training.classic_convnet(batch_norm=batch_norm)
    model.compile(optimizer=keras.optimizers.Adam(s["learning_rate"]), loss="sparse_categorical_crossentropy")
    cpu = time.process_time()
    history = model.fit(images, labels, batch_size=s["batch_size"], epochs=s["batch_norm_epochs"],
                        callbacks=[recorder], verbose=0)
    return {"batch_losses": [round(float(v), 4) for v in losses],
            "epoch_losses": [round(float(v), 4) for v in history.history["loss"]],
            "cpu_seconds": round(time.process_time() - cpu, 1)}


def small_runs(out_dir, settings=SMALL_SETTINGS):
    """Run chapter 3's small-set and batch normalisation comparisons; write ``small_runs.json``; return it.

    The data are those of the chapter, ``shapes_splits(20_000, 2_000, 2_000, seed=0)``:
    the first 500 training images, the first 300 validation images and all 2,000 test
    images for the small-set runs, the first 2,000 training images for batch
    normalisation (``settings`` sets these numbers).
    """
    import keras
    import tensorflow as tf

    s = settings
    tf.config.experimental.enable_op_determinism()
    (x_train, y_train), (x_val, y_val), test = data.shapes_splits(
        s["num_train"], s["num_validation"], s["num_test"], seed=s["seed"])
    small = (x_train[: s["num_small"]], y_train[: s["num_small"]])
    check = (x_val[: s["num_check"]], y_val[: s["num_check"]])
    wall = time.perf_counter()
    with tempfile.TemporaryDirectory() as scratch:
        runs = {name: small_run(name, small, check, test, scratch, s) for name in SMALL_RUNS}
    images, labels = x_train[: s["batch_norm_images"]], y_train[: s["batch_norm_images"]]
    norm = {"without batch normalisation": batch_norm_run(False, images, labels, s),
            "with batch normalisation": batch_norm_run(True, images, labels, s)}
    record = {
        "command": "python -m cnnbook.train_classifier --only small",
        "settings": s,
        "numerics": {name: os.environ.get(name, "") for name in
                     ("TF_ENABLE_ONEDNN_OPTS", "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS")},
        "versions": {"python": platform.python_version(), "numpy": np.__version__,
                     "tensorflow": tf.__version__, "keras": keras.__version__},
        "cpus": os.cpu_count(), "wall_seconds": round(time.perf_counter() - wall, 1),
        "runs": runs, "batch_norm": norm,
    }
    pathlib.Path(out_dir, "small_runs.json").write_text(json.dumps(record, indent=1) + "\n")
    return record


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(training.WEIGHTS_DIR), help="folder to write into")
    parser.add_argument("--only", choices=["plain", "augmented", "small"],
                        help="train one network only, or only the small-set runs")
    args = parser.parse_args()
    if args.only in (None, "small"):
        record = small_runs(args.out)
        print(f"small_runs.json: {record['wall_seconds']:.0f} s wall; best epochs "
              + ", ".join(f"{name} {run['best_epoch']}" for name, run in record["runs"].items()), flush=True)
    for augmented in [False, True]:
        if args.only and args.only != ("augmented" if augmented else "plain"):
            continue
        record = train(augmented, args.out)
        print(f"{record['name']}: best epoch {record['best_epoch']}, test accuracy "
              f"{record['test_accuracy']:.1%}, {record['cpu_seconds']:.0f} s CPU, "
              f"{record['wall_seconds']:.0f} s wall", flush=True)


if __name__ == "__main__":
    main()
