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
chapter 3's small-set comparison (the network without dropout, with dropout, through
the augmentation, and with both, each on 500 training images for 25 epochs with five
seeds, scored on all 2,000 validation images after every epoch, its best and its last
epoch scored at inference on the training, validation and test images) and of its
batch normalisation comparison (the loss of every batch of five epochs on 2,000
images, with and without, three seeds). Chapter 3 plots them
(:func:`cnnbook.training.load_small_runs`) and trains live only a short run.

``--only invariance`` writes ``weights/invariance_runs.json``: the network trained as
``classic_convnet`` is, with no augmentation and with the chapter's augmentation, three
seeds each, every one scored on the test images
with their objects moved over their own background (``make_shapes(move=...)``: no
filled border), shifted with the edge pixels repeated (``training.shift_images``), and
turned in place (``make_shapes(turn=...)``) (:func:`cnnbook.training.load_invariance_runs`).

``--quick`` runs the same code on a few dozen images for one or two epochs, in
seconds, into another folder (``--out``): a test runs it.
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


def fit_classic(train_set, validation, augment, seed, settings=SETTINGS, verbose=2):
    """Train :func:`cnnbook.training.classic_convnet` (with dropout) as ``classic_convnet`` is trained.

    ``keras.utils.set_random_seed(seed)``, then the network, wrapped in
    ``training.augmentation(seed=seed, **augment)`` unless ``augment`` is None;
    Adam, sparse labels, ``settings["epochs"]`` epochs of ``settings["batch_size"]``;
    the epoch of best validation accuracy kept by ``ModelCheckpoint`` and loaded back.
    Return the network (without the augmentation), the Keras history, and the CPU
    and wall seconds of ``fit``.
    """
    import keras

    s = settings
    keras.utils.set_random_seed(seed)
    model = training.classic_convnet()
    trainer = model
    if augment is not None:
        trainer = keras.Sequential([keras.Input(model.input_shape[1:]),
                                    training.augmentation(seed=seed, **augment), model])
    trainer.compile(optimizer=keras.optimizers.Adam(s["learning_rate"]),
                    loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    with tempfile.TemporaryDirectory() as scratch:
        best = os.path.join(scratch, "best.weights.h5")
        checkpoint = keras.callbacks.ModelCheckpoint(best, monitor="val_accuracy",
                                                     save_best_only=True, save_weights_only=True)
        cpu, wall = time.process_time(), time.perf_counter()
        history = trainer.fit(*train_set, validation_data=validation, epochs=s["epochs"],
                              batch_size=s["batch_size"], callbacks=[checkpoint], verbose=verbose)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        trainer.load_weights(best)
    return model, history, cpu, wall


def train(augmented, out_dir, settings=SETTINGS, command="python -m cnnbook.train_classifier"):
    """Train one network, keep its best epoch, save weights and record; return the record."""
    import keras
    import tensorflow as tf

    s = settings
    tf.config.experimental.enable_op_determinism()
    train_set, validation, (x_test, y_test) = data.shapes_splits(
        s["num_train"], s["num_validation"], s["num_test"], seed=s["seed"])
    name = "classic_convnet_augmented" if augmented else "classic_convnet"
    model, history, cpu, wall = fit_classic(train_set, validation, {} if augmented else None, s["seed"], s)
    out_dir = pathlib.Path(out_dir)
    shipped = training.classic_convnet()  # not compiled: the file holds no optimizer state
    shipped.set_weights(model.get_weights())
    shipped.save_weights(out_dir / f"{name}.weights.h5")
    test_accuracy = float((model.predict(x_test, verbose=0).argmax(axis=1) == y_test).mean())
    record = {
        "command": command,
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
                  "batch_norm_images": 2_000, "batch_norm_epochs": 5,
                  "seeds": [0, 1, 2, 3, 4], "batch_norm_seeds": [0, 1, 2]}
SMALL_RUNS = ("no dropout, no augmentation", "dropout", "augmentation", "dropout and augmentation")


def _predicted(model, images):
    """The class of highest output for each image (the model called in inference mode, batches of 500)."""
    outputs = np.concatenate([np.asarray(model(images[i : i + 500], training=False))
                              for i in range(0, len(images), 500)])
    return outputs.argmax(axis=1)


def _accuracy(model, images, labels):
    """Fraction of ``images`` whose highest output is the label (inference mode, batches of 500)."""
    return float((_predicted(model, images) == labels).mean())


def _rounded(history):
    return {key: [round(float(v), 4) for v in values] for key, values in history.items()}


def _environment():
    """The numerics and versions a record was made with."""
    import keras
    import tensorflow as tf

    return {
        "numerics": {name: os.environ.get(name, "") for name in
                     ("TF_ENABLE_ONEDNN_OPTS", "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS")},
        "versions": {"python": platform.python_version(), "numpy": np.__version__,
                     "tensorflow": tf.__version__, "keras": keras.__version__},
        "cpus": os.cpu_count(),
    }


def small_run(name, small, check, test, scratch, settings=SMALL_SETTINGS, seed=None):
    """Train one network of chapter 3's small-set comparison, keep its best epoch; return its record.

    ``name`` is one of :data:`SMALL_RUNS`: the classic convnet without dropout, with
    dropout, without dropout trained through :func:`cnnbook.training.augmentation`, or
    with dropout and through the augmentation. One-hot labels and
    ``categorical_crossentropy``; ``validation_data`` is ``check``;
    ``ModelCheckpoint(save_best_only=True)`` on the validation accuracy. The last
    epoch is scored at inference on ``small``, ``check`` and ``test``, then the best
    epoch is loaded back and scored on the same images. ``seed`` (default
    ``settings["seed"]``) seeds the weights, the batches, dropout and the augmentation.
    """
    import keras

    if name not in SMALL_RUNS:
        raise ValueError(f"name must be one of {SMALL_RUNS}, got {name!r}")
    s = settings
    seed = s["seed"] if seed is None else seed
    (x_small, y_small), (x_check, y_check) = small, check
    keras.utils.set_random_seed(seed)
    with_dropout, with_augmentation = name in SMALL_RUNS[1::2], name in SMALL_RUNS[2:]
    network = training.classic_convnet(dropout=with_dropout)
    trainer = network
    if with_augmentation:  # the checkpoint saves the wrapper; its augmentation is the identity at inference
        trainer = keras.Sequential([keras.Input(network.input_shape[1:]),
                                    training.augmentation(seed=seed), network])
    trainer.compile(optimizer=keras.optimizers.Adam(s["learning_rate"]), loss="categorical_crossentropy",
                    metrics=["accuracy"])
    path = os.path.join(scratch, f"{SMALL_RUNS.index(name)}-{seed}.keras")
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
        "seed": seed,
        "history": _rounded(history.history),
        "best_epoch": int(np.argmax(history.history["val_accuracy"])) + 1,
        "last_epoch_accuracy": scores(trainer),
        "best_epoch_accuracy": scores(best),
        "cpu_seconds": round(cpu, 1), "wall_seconds": round(wall, 1),
    }


def batch_norm_run(batch_norm, images, labels, settings=SMALL_SETTINGS, seed=None):
    """Train the classic convnet with or without batch normalisation; return the loss of every batch.

    Integer labels, ``sparse_categorical_crossentropy``, Adam, no validation. After
    each batch Keras reports the mean loss of the epoch so far, weighted by batch
    size; the loss of batch k is recovered from two of these running means:
    ``(m_k * n_k - m_(k-1) * n_(k-1)) / (n_k - n_(k-1))``, with ``n_k`` the images
    seen in the epoch after batch k. ``seed`` defaults to ``settings["seed"]``.
    """
    import keras

    s = settings
    seed = s["seed"] if seed is None else seed
    losses, seen = [], [0, 0.0]  # the images seen in this epoch, and their summed loss

    def record(batch, logs):
        if batch == 0:
            seen[:] = [0, 0.0]
        count = min((batch + 1) * s["batch_size"], len(images))
        total = logs["loss"] * count
        losses.append((total - seen[1]) / (count - seen[0]))
        seen[:] = [count, total]

    recorder = keras.callbacks.LambdaCallback(on_train_batch_end=record)
    keras.utils.set_random_seed(seed)
    model = training.classic_convnet(batch_norm=batch_norm)
    model.compile(optimizer=keras.optimizers.Adam(s["learning_rate"]), loss="sparse_categorical_crossentropy")
    cpu = time.process_time()
    history = model.fit(images, labels, batch_size=s["batch_size"], epochs=s["batch_norm_epochs"],
                        callbacks=[recorder], verbose=0)
    return {"seed": seed,
            "batch_losses": [round(float(v), 4) for v in losses],
            "epoch_losses": [round(float(v), 4) for v in history.history["loss"]],
            "cpu_seconds": round(time.process_time() - cpu, 1)}


def small_runs(out_dir, settings=SMALL_SETTINGS, command="python -m cnnbook.train_classifier --only small"):
    """Run chapter 3's small-set and batch normalisation comparisons; write ``small_runs.json``; return it.

    The data are those of the chapter, ``shapes_splits(20_000, 2_000, 2_000, seed=0)``:
    the first 500 training images, the first 2,000 validation images and all 2,000
    test images for the small-set runs, the first 2,000 training images for batch
    normalisation (``settings`` sets these numbers). Every run of :data:`SMALL_RUNS` is
    trained once per seed of ``settings["seeds"]``, the batch normalisation comparison
    once per seed of ``settings["batch_norm_seeds"]``; the images are the same for
    every seed. ``runs[name]`` and ``batch_norm[name]`` are lists in the order of the seeds.
    """
    import tensorflow as tf

    s = settings
    tf.config.experimental.enable_op_determinism()
    (x_train, y_train), (x_val, y_val), test = data.shapes_splits(
        s["num_train"], s["num_validation"], s["num_test"], seed=s["seed"])
    small = (x_train[: s["num_small"]], y_train[: s["num_small"]])
    check = (x_val[: s["num_check"]], y_val[: s["num_check"]])
    wall = time.perf_counter()
    with tempfile.TemporaryDirectory() as scratch:
        runs = {name: [small_run(name, small, check, test, scratch, s, seed) for seed in s["seeds"]]
                for name in SMALL_RUNS}
    images, labels = x_train[: s["batch_norm_images"]], y_train[: s["batch_norm_images"]]
    norm = {label: [batch_norm_run(flag, images, labels, s, seed) for seed in s["batch_norm_seeds"]]
            for label, flag in (("without batch normalisation", False), ("with batch normalisation", True))}
    record = {"command": command, "settings": s, **_environment(),
              "wall_seconds": round(time.perf_counter() - wall, 1), "runs": runs, "batch_norm": norm}
    pathlib.Path(out_dir, "small_runs.json").write_text(json.dumps(record, indent=1) + "\n")
    return record


INVARIANCE_SETTINGS = dict(SETTINGS, seeds=[0, 1, 2], moves=[0, 2, 4, 6, 8, 10, 12],
                           turns=[0, 30, 60, 90, 135, 180])
# The augmentations compared, as arguments of training.augmentation (None: trained without).
AUGMENTATIONS = {
    "none": None,
    "the chapter's: flips, shifts, rotations, zooms": {},
}


def _moved_test_sets(settings):
    """The test images with their objects moved, shifted with edge fill, and turned; which objects are cut."""
    s = settings
    test_seed = np.random.SeedSequence(s["seed"]).spawn(3)[2]  # the test set of shapes_splits
    images, labels, boxes, masks = data.make_shapes(s["num_test"], seed=test_seed, return_boxes=True)
    size = images.shape[1]
    area = masks.sum(axis=(1, 2))
    moved, edge_filled, cut, visible = {}, {}, {}, {}
    for step in s["moves"]:
        moved[step], _, _, moved_masks = data.make_shapes(s["num_test"], seed=test_seed, move=(step, step),
                                                          return_boxes=True)
        edge_filled[step] = training.shift_images(images, step, step)
        cut[step] = (boxes[:, 2:] + step > size).any(axis=1)  # part of the object beyond the frame
        visible[step] = moved_masks.sum(axis=(1, 2)) / area
    turned = {angle: data.make_shapes(s["num_test"], seed=test_seed, turn=angle)[0] for angle in s["turns"]}
    return labels, moved, edge_filled, turned, cut, visible


def invariance_run(augment, seed, splits, test_sets, settings=INVARIANCE_SETTINGS):
    """Train one network of the invariance comparison; score it on moved, shifted and turned test images."""
    s = settings
    train_set, validation, (x_test, y_test) = splits
    labels, moved, edge_filled, turned, cut, _ = test_sets
    model, history, cpu, wall = fit_classic(train_set, validation, augment, seed, s, verbose=0)

    right = {"moved": [], "edge_filled": [], "turned": []}

    def split_scores(kind, images_by_step):
        scores = {"all": [], "inside": [], "cut": []}
        for step, images in images_by_step.items():
            hits = _predicted(model, images) == labels
            right[kind].append(np.packbits(hits).tobytes().hex())
            scores["all"].append(float(hits.mean()))
            scores["inside"].append(float(hits[~cut[step]].mean()) if not cut[step].all() else None)
            scores["cut"].append(float(hits[cut[step]].mean()) if cut[step].any() else None)
        return scores

    record = {
        "augmentation": augment, "seed": seed,
        "history": _rounded(history.history),
        "best_epoch": int(np.argmax(history.history["val_accuracy"])) + 1,
        "test_accuracy": _accuracy(model, x_test, y_test),
        "moved": split_scores("moved", moved),
        "edge_filled": split_scores("edge_filled", edge_filled),
        "turned": [],
        "cpu_seconds": round(cpu, 1), "wall_seconds": round(wall, 1),
    }
    for angle in s["turns"]:
        hits = _predicted(model, turned[angle]) == labels
        right["turned"].append(np.packbits(hits).tobytes().hex())
        record["turned"].append(float(hits.mean()))
    record["right"] = right  # which test images it got right: packed bits, one hex string per move or angle
    return record


def invariance_runs(out_dir, settings=INVARIANCE_SETTINGS,
                    command="python -m cnnbook.train_classifier --only invariance", parts=None):
    """Train every network of :data:`AUGMENTATIONS` with every seed; write ``invariance_runs.json``; return it.

    Each is :func:`fit_classic` on ``shapes_splits(num_train, num_validation, num_test,
    seed)`` (the images of the shipped networks), then scored on the test images with
    every object moved by ``(m, m)`` pixels over its own background, for each ``m`` in
    ``settings["moves"]`` (``make_shapes(move=...)``), on the same images shifted by
    ``training.shift_images`` (edge pixels repeated into the border), and with every
    object turned in place by each angle of ``settings["turns"]``. Moved and shifted
    scores are given for all images, for those whose object stays inside the frame, and
    for those whose object is cut by it.

    ``parts`` (a folder) makes the work resumable and shareable: each finished network's
    record is kept there as a file, a network another process is training is marked by
    a lock file and skipped, and the record is written by whichever process finds every
    part done (it returns None otherwise). Each network's run depends only on its
    augmentation and seed, not on the process or the order that trains it.
    """
    import tensorflow as tf

    s = settings
    tf.config.experimental.enable_op_determinism()
    splits = data.shapes_splits(s["num_train"], s["num_validation"], s["num_test"], seed=s["seed"])
    test_sets = _moved_test_sets(s)
    wall = time.perf_counter()
    if parts is not None:
        parts = pathlib.Path(parts)
        parts.mkdir(parents=True, exist_ok=True)
    runs = {}
    for number, (name, augment) in enumerate(AUGMENTATIONS.items()):
        runs[name] = []
        for seed in s["seeds"]:
            part = parts / f"{number}-{seed}.json" if parts is not None else None
            if part is not None and part.exists():
                runs[name].append(json.loads(part.read_text()))
                continue
            if part is not None:
                try:
                    part.with_suffix(".lock").open("x").close()  # fails if another process holds it
                except FileExistsError:
                    runs[name].append(None)
                    continue
            run = invariance_run(augment, seed, splits, test_sets, s)
            if part is not None:
                part.write_text(json.dumps(run) + "\n")
                part.with_suffix(".lock").unlink()
            runs[name].append(run)
            print(f"{name}, seed {seed}: test {run['test_accuracy']:.1%}, {run['wall_seconds']:.0f} s", flush=True)
    if parts is not None:  # parts that other processes finished meanwhile
        runs = {name: [run if run is not None or not (parts / f"{number}-{seed}.json").exists()
                       else json.loads((parts / f"{number}-{seed}.json").read_text())
                       for run, seed in zip(runs[name], s["seeds"])]
                for number, name in enumerate(AUGMENTATIONS)}
        if any(run is None for seeds in runs.values() for run in seeds):
            print("other processes are still training some networks: the last to finish writes the record")
            return None
    _, _, _, _, cut, visible = test_sets
    record = {"command": command, "settings": s, **_environment(),
              "wall_seconds": round(time.perf_counter() - wall, 1),
              "cut": [int(cut[step].sum()) for step in s["moves"]],
              "visible_fraction_of_cut": [float(visible[step][cut[step]].mean()) if cut[step].any() else None
                                          for step in s["moves"]],
              "runs": runs}
    pathlib.Path(out_dir, "invariance_runs.json").write_text(json.dumps(record, indent=1) + "\n")
    return record


# A few dozen images and one or two epochs: the same code in seconds (--quick).
QUICK = {"num_train": 64, "num_validation": 32, "num_test": 40, "epochs": 2, "batch_size": 16}
QUICK_SMALL = dict(SMALL_SETTINGS, **QUICK, num_small=40, num_check=32, seeds=[0, 1],
                   batch_norm_images=48, batch_norm_epochs=2, batch_norm_seeds=[0])
QUICK_INVARIANCE = dict(INVARIANCE_SETTINGS, **QUICK, seeds=[0], moves=[0, 6], turns=[0, 90])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(training.WEIGHTS_DIR), help="folder to write into")
    parser.add_argument("--only", choices=["plain", "augmented", "small", "invariance"],
                        help="train one network only, or only the small-set runs, or only the invariance runs")
    parser.add_argument("--quick", action="store_true",
                        help="a few dozen images, one or two epochs: seconds (needs --out another folder)")
    parser.add_argument("--parts", help="folder that keeps each finished invariance network: the run can be "
                                        "resumed, and shared by processes started with the same --parts")
    args = parser.parse_args(argv)
    if args.quick and pathlib.Path(args.out).resolve() == training.WEIGHTS_DIR.resolve():
        parser.error("--quick would overwrite the shipped records: give --out another folder")
    command = "python -m cnnbook.train_classifier" + "".join(
        f" {flag}" for flag, on in ((f"--only {args.only}", args.only), ("--quick", args.quick),
                                    (f"--out {args.out}", args.quick)) if on)
    if args.only in (None, "small"):
        record = small_runs(args.out, QUICK_SMALL if args.quick else SMALL_SETTINGS, command)
        print(f"small_runs.json: {record['wall_seconds']:.0f} s wall", flush=True)
    if args.only in (None, "invariance"):
        record = invariance_runs(args.out, QUICK_INVARIANCE if args.quick else INVARIANCE_SETTINGS, command,
                                 args.parts)
        if record is not None:
            print(f"invariance_runs.json: {record['wall_seconds']:.0f} s wall", flush=True)
    for augmented in [False, True]:
        if args.only and args.only != ("augmented" if augmented else "plain"):
            continue
        record = train(augmented, args.out, dict(SETTINGS, **QUICK) if args.quick else SETTINGS, command)
        print(f"{record['name']}: best epoch {record['best_epoch']}, test accuracy "
              f"{record['test_accuracy']:.1%}, {record['cpu_seconds']:.0f} s CPU, "
              f"{record['wall_seconds']:.0f} s wall", flush=True)


if __name__ == "__main__":
    main()
