"""Train the classic CIFAR-10 convnet on the shapes and save it with its record: ``python -m cnnbook.train_classifier``.

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


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(training.WEIGHTS_DIR), help="folder to write into")
    parser.add_argument("--only", choices=["plain", "augmented"], help="train one network only")
    args = parser.parse_args()
    for augmented in [False, True]:
        if args.only and args.only != ("augmented" if augmented else "plain"):
            continue
        record = train(augmented, args.out)
        print(f"{record['name']}: best epoch {record['best_epoch']}, test accuracy "
              f"{record['test_accuracy']:.1%}, {record['cpu_seconds']:.0f} s CPU, "
              f"{record['wall_seconds']:.0f} s wall", flush=True)


if __name__ == "__main__":
    main()
