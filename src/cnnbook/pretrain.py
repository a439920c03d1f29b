"""Pretrain the course's own base convnet on twenty generated shapes, and load it.

ImageNet weights cannot be downloaded offline, so chapter 5 transfers from a base that
the course trains itself, on a *source task* different from its targets: the twenty
shapes of ``cnnbook.shapes.SOURCE_SHAPES`` (hexagons, crescents, kites...), none of
which is one of the ten ``SHAPE_CLASSES`` of chapter 3. The images are 32x32 like the
targets, and more varied: smaller and larger objects, any rotation, and 0 to 3
distractors of clutter.

Run ``python -m cnnbook.pretrain`` to retrain it: seeded and deterministic on the same
machine (another CPU rounds differently and gives slightly different weights), about
15 minutes of CPU on two cores (871 s for the shipped run). It writes the weights and a
record of the command, seed, data, versions, time, load average and held-out source
accuracy to ``cnnbook/weights/``; ``--tiny --out FOLDER`` runs a seconds-long version elsewhere.
:func:`cnnbook.models.load_pretrained_base` builds the base and loads those weights.
"""

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

from cnnbook import data, shapes

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
WEIGHTS_PATH = WEIGHTS_DIR / "shapes_base.weights.h5"
RECORD_PATH = WEIGHTS_DIR / "shapes_base.json"

#: The source task: twenty shapes, none of them a target class of chapter 3.
SOURCE_CLASSES = shapes.SOURCE_SHAPES
IMAGE_SIZE = 32
#: How the source images vary beyond make_shapes' defaults (chunks cycle through the clutter).
SIZE_RANGE = (0.45, 0.95)
CLUTTER_LEVELS = (0, 1, 2, 3)
CHUNK = 500
#: Seed of the held-out source images; no training run uses it.
TEST_SEED = 20_000
#: Names of the blocks, first to last. Chapter 5 fine-tunes the last one, ``TOP_BLOCK``.
BLOCKS = ("block1", "block2", "block3")
TOP_BLOCK = "block3"
BASE_NAME = "shapes_base"


def build_base(width=16):
    """Build the base convnet: three blocks of convolutions with batch normalisation, then global average pooling.

    Each block is two 3x3 convolutions (no bias), each followed by batch
    normalisation and a ReLU; blocks 1 and 2 end with 2x2 max-pooling. The
    feature maps go from 32x32 to 16x16 to 8x8 while the depth doubles
    (``width``, ``2 * width``, ``4 * width``). Global average pooling of the last
    block gives the *bottleneck*: one number per feature map. Layers are named
    ``block<k>_conv<i>``, ``block<k>_bn<i>``, ``block<k>_relu<i>``, ``block<k>_pool``,
    then ``bottleneck``, so the top block is every layer whose name starts with
    ``TOP_BLOCK``. The input is raw pixel values in [0, 255]: the model rescales them.

    Parameters
    ----------
    width : int, default 16
        Filters of the first block.

    Returns
    -------
    keras.Model
        Named ``"shapes_base"``, from ``(N, 32, 32, 3)`` images to ``(N, 4 * width)`` features.

    Examples
    --------
    >>> base = build_base()
    >>> base.output_shape
    (None, 64)
    >>> sorted({layer.name.split("_")[0] for layer in base.layers})
    ['block1', 'block2', 'block3', 'bottleneck', 'image', 'rescale']
    """
    import keras

    layers = keras.layers
    inputs = keras.Input((IMAGE_SIZE, IMAGE_SIZE, 3), name="image")
    x = layers.Rescaling(1 / 255, name="rescale")(inputs)
    for index, block in enumerate(BLOCKS):
        filters = width * 2**index
        for i in (1, 2):
            x = layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"{block}_conv{i}")(x)
            x = layers.BatchNormalization(name=f"{block}_bn{i}")(x)
            x = layers.ReLU(name=f"{block}_relu{i}")(x)
        if block != BLOCKS[-1]:
            x = layers.MaxPooling2D(name=f"{block}_pool")(x)
    outputs = layers.GlobalAveragePooling2D(name="bottleneck")(x)
    return keras.Model(inputs, outputs, name=BASE_NAME)


def build_classifier(base, num_classes=len(SOURCE_CLASSES)):
    """Put a softmax layer on top of ``base``: the model that pretraining trains.

    Parameters
    ----------
    base : keras.Model
        From :func:`build_base`.
    num_classes : int, default 20

    Returns
    -------
    keras.Model
        ``base`` (as one layer, named ``"shapes_base"``) followed by ``Dense(num_classes)``
        named ``"source_classes"``.

    Examples
    --------
    >>> build_classifier(build_base()).output_shape
    (None, 20)
    """
    import keras

    inputs = keras.Input(base.input_shape[1:], name="image")
    outputs = keras.layers.Dense(num_classes, activation="softmax", name="source_classes")(base(inputs))
    return keras.Model(inputs, outputs, name="shapes_source_classifier")


def make_source_data(num_images, seed):
    """Draw source images: the twenty ``SOURCE_CLASSES``, in chunks of varying clutter.

    Chunk ``k`` of ``CHUNK`` images has ``CLUTTER_LEVELS[k % 4]`` distractors and
    its own seed spawned from ``seed``; sizes span ``SIZE_RANGE`` of the image and
    rotations any angle.

    Parameters
    ----------
    num_images : int
    seed : int

    Returns
    -------
    images : ndarray of uint8, shape (num_images, 32, 32, 3)
    labels : ndarray of int64, shape (num_images,)

    Examples
    --------
    >>> images, labels = make_source_data(30, seed=0)
    >>> images.shape, int(labels.max()) < 20
    ((30, 32, 32, 3), True)
    """
    sizes = [CHUNK] * (num_images // CHUNK) + ([num_images % CHUNK] if num_images % CHUNK else [])
    seeds = np.random.SeedSequence(seed).spawn(len(sizes))
    chunks = [
        data.make_shapes(size, IMAGE_SIZE, seed=child, classes=SOURCE_CLASSES,
                         clutter=CLUTTER_LEVELS[k % len(CLUTTER_LEVELS)], size_range=SIZE_RANGE)
        for k, (size, child) in enumerate(zip(sizes, seeds))
    ]
    return np.concatenate([c[0] for c in chunks]), np.concatenate([c[1] for c in chunks])


def train(num_train=40_000, epochs=10, batch_size=128, learning_rate=2e-3, seed=0, width=16):
    """Train a fresh base and its source softmax, deterministically for a given seed on one machine.

    Parameters
    ----------
    num_train : int, default 40000
        Source images (seed ``seed``), drawn once and shuffled every epoch.
    epochs : int, default 10
    batch_size : int, default 128
    learning_rate : float, default 2e-3
        Start of Adam's cosine decay to 0 over the whole run.
    seed : int, default 0
        Seeds the images, the weights and the shuffling.
    width : int, default 16
        As in :func:`build_base`.

    Returns
    -------
    model : keras.Model
        The classifier of :func:`build_classifier`; ``model.get_layer("shapes_base")`` is the base.
    history : dict of str to list of float
        ``"loss"`` and ``"accuracy"`` per epoch (on the training images).
    """
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()
    images, labels = make_source_data(num_train, seed)
    model = build_classifier(build_base(width))
    steps = epochs * int(np.ceil(num_train / batch_size))
    model.compile(
        optimizer=keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(learning_rate, steps)),
        loss="sparse_categorical_crossentropy", metrics=["accuracy"],
    )
    # A tf.data pipeline of whole tensors, shuffled with the seed (see cnnbook.train_detector).
    batches = tf.data.Dataset.from_tensor_slices((images, labels))
    batches = batches.shuffle(len(images), seed=seed, reshuffle_each_iteration=True)
    history = model.fit(batches.batch(batch_size), epochs=epochs, shuffle=False, verbose=0)
    return model, {name: [float(v) for v in values] for name, values in history.history.items()}


def evaluate(model, num_test=2_000, seed=TEST_SEED, batch_size=256):
    """Return the accuracy of a source classifier on held-out source images.

    Parameters
    ----------
    model : keras.Model
        From :func:`build_classifier` (or :func:`load_source_classifier`).
    num_test : int, default 2000
    seed : int, default TEST_SEED
        Images no training run uses.
    batch_size : int, default 256

    Returns
    -------
    dict
        ``"accuracy"`` (float) and ``"num_test"``.
    """
    images, labels = make_source_data(num_test, seed)
    probabilities = np.concatenate([
        np.asarray(model(images[start : start + batch_size], training=False))
        for start in range(0, len(images), batch_size)
    ])
    return {"accuracy": float(np.mean(probabilities.argmax(axis=1) == labels)), "num_test": num_test}


def load_source_classifier(path=WEIGHTS_PATH):
    """Build the pretrained base with its source softmax and load the shipped weights.

    Parameters
    ----------
    path : str or Path, default WEIGHTS_PATH
        A ``.weights.h5`` file written by ``python -m cnnbook.pretrain``.

    Returns
    -------
    keras.Model
        As :func:`build_classifier` builds it, with the weights of ``path``.
    """
    record_path = Path(path).with_name(Path(path).name.replace(".weights.h5", ".json"))
    record = json.loads(record_path.read_text()) if record_path.exists() else {}
    model = build_classifier(build_base(record.get("arguments", {}).get("width", 16)))
    model.load_weights(str(path))
    return model


TINY = {"num_train": 400, "epochs": 1, "batch_size": 64, "num_test": 100}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--num-train", type=int, default=40_000)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--learning-rate", type=float, default=2e-3)
    parser.add_argument("--width", type=int, default=16)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--num-test", type=int, default=2_000)
    parser.add_argument("--tiny", action="store_true",
                        help=f"a seconds-long run to check that the script works: {TINY}")
    parser.add_argument("--out", type=Path, default=WEIGHTS_DIR)
    args = parser.parse_args(argv)
    if args.tiny:
        if args.out.resolve() == WEIGHTS_DIR:
            parser.error("--tiny would overwrite the shipped weights: give --out another folder")
        for name, value in TINY.items():
            setattr(args, name, value)

    import keras
    import tensorflow as tf

    load_before = os.getloadavg()
    wall, cpu = time.perf_counter(), time.process_time()
    model, history = train(args.num_train, args.epochs, args.batch_size, args.learning_rate,
                           args.seed, args.width)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    load_after = os.getloadavg()
    scores = evaluate(model, args.num_test)
    args.out.mkdir(parents=True, exist_ok=True)
    shipped = build_classifier(build_base(args.width))  # the weights alone, no optimizer state
    shipped.set_weights(model.get_weights())
    shipped.save_weights(str(args.out / WEIGHTS_PATH.name))
    record = {
        "command": " ".join(["python -m cnnbook.pretrain", *(sys.argv[1:] if argv is None else argv)]),
        "arguments": {k: v for k, v in vars(args).items() if k not in ("out", "tiny")},
        "seed": args.seed,
        "data": {"classes": list(SOURCE_CLASSES), "image_size": IMAGE_SIZE,
                 "size_range": list(SIZE_RANGE), "clutter_levels": list(CLUTTER_LEVELS),
                 "chunk": CHUNK, "train_seed": args.seed, "train_images": args.num_train,
                 "test_seed": TEST_SEED,
                 "note": "cnnbook.pretrain.make_source_data: make_shapes in chunks, "
                         "chunk k with clutter CLUTTER_LEVELS[k % 4]"},
        "versions": {"python": platform.python_version(), "numpy": np.__version__,
                     "tensorflow": tf.__version__, "keras": keras.__version__},
        "machine": {"processor": platform.machine(), "cpu_count": _cpu_count(),
                    "nice": os.nice(0)},
        "training_seconds": {"wall": round(wall, 1), "cpu": round(cpu, 1)},
        "load_average": {"before": [round(v, 2) for v in load_before],
                         "after": [round(v, 2) for v in load_after]},
        "parameters": int(model.count_params()),
        "layers": [layer.name for layer in model.get_layer(BASE_NAME).layers],
        "weights_bytes": (args.out / WEIGHTS_PATH.name).stat().st_size,
        "test": scores,
        "history": history,
    }
    (args.out / RECORD_PATH.name).write_text(json.dumps(record, indent=2) + "\n")
    print(json.dumps({k: record[k] for k in ("training_seconds", "load_average", "parameters",
                                             "test")}, indent=2))


def _cpu_count():
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


if __name__ == "__main__":
    main()
