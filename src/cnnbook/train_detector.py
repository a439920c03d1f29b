"""Train the tiny YOLOv1 detector of chapter 6 on generated scenes, and load the shipped one.

Run ``python -m cnnbook.train_detector`` to retrain it from scratch: seeded and
deterministic on the same machine (another CPU rounds differently and gives slightly
different weights), a few minutes on two CPU cores. It writes the weights and a record
of the command, seed, versions, time and held-out mAP to ``cnnbook/weights/``.
:func:`load_detector` builds the model and loads those weights.
"""

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

from cnnbook import data, detection

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
WEIGHTS_PATH = WEIGHTS_DIR / "tiny_yolo.weights.h5"
RECORD_PATH = WEIGHTS_DIR / "tiny_yolo.json"

#: The detector's shape: 96x96 images, a 6x6 grid, 2 boxes per cell, 3 classes.
IMAGE_SIZE, GRID_SIZE, NUM_BOXES, NUM_CLASSES = 96, 6, 2, 3
#: Scenes: up to 4 objects. Training, validation and test scenes use different seeds.
MAX_OBJECTS = 4
TEST_SEED = 10_000


def _conv_block(x, filters, strides=1):
    """3x3 convolution, batch normalisation, leaky ReLU (as in YOLO)."""
    import keras

    x = keras.layers.Conv2D(filters, 3, strides=strides, padding="same", use_bias=False)(x)
    x = keras.layers.BatchNormalization()(x)
    return keras.layers.LeakyReLU(0.1)(x)


def build_model(image_size=IMAGE_SIZE, num_boxes=NUM_BOXES, num_classes=NUM_CLASSES, width=16):
    """Build a tiny YOLOv1: 3x3 convolutions down to one position per grid cell, then two 1x1 heads.

    The resolution is divided by 16 (a stride-2 convolution, then three 2x2
    max-pools), so a 96x96 image gives a 6x6 grid of 16-pixel cells. The box
    head squashes each cell's ``B`` boxes ``(x, y, w, h, confidence)`` into
    [0, 1] with a sigmoid; the class head gives each cell a softmax over the
    classes.

    Parameters
    ----------
    image_size : int, default 96
        A multiple of 16; the grid has ``image_size / 16`` cells per side.
    num_boxes : int, default 2
    num_classes : int, default 3
    width : int, default 16
        Filters of the first convolution; the later ones have 2, 4 and 8 times as many.

    Returns
    -------
    keras.Model
        From ``(N, image_size, image_size, 3)`` images to ``(N, S, S, B*5 + C)``.

    Examples
    --------
    >>> model = build_model()
    >>> model.output_shape
    (None, 6, 6, 13)
    """
    import keras

    if image_size % 16:
        raise ValueError(f"image_size must be a multiple of 16, got {image_size}")
    inputs = keras.Input((image_size, image_size, 3))
    x = _conv_block(inputs, width, strides=2)
    for filters in (2 * width, 4 * width, 8 * width):
        x = keras.layers.MaxPooling2D()(x)
        x = _conv_block(x, filters)
    x = _conv_block(x, 8 * width)
    boxes = keras.layers.Conv2D(num_boxes * 5, 1, activation="sigmoid", name="boxes")(x)
    classes = keras.layers.Conv2D(num_classes, 1, activation="softmax", name="classes")(x)
    outputs = keras.layers.Concatenate(name="yolo")([boxes, classes])
    return keras.Model(inputs, outputs, name="tiny_yolo")


def encode_all(boxes, labels):
    """Return the YOLOv1 targets of several images, as one float32 array.

    Parameters
    ----------
    boxes, labels : lists of ndarray
        Per image, corner boxes (K, 4) in pixels and their classes (K,).

    Returns
    -------
    ndarray of float32, shape (N, 6, 6, 13)

    Examples
    --------
    >>> encode_all([np.array([[0.0, 0.0, 8.0, 8.0]])], [np.array([1])]).shape
    (1, 6, 6, 13)
    """
    return np.stack([
        detection.encode_targets(b, lab, GRID_SIZE, NUM_BOXES, NUM_CLASSES, IMAGE_SIZE)
        for b, lab in zip(boxes, labels)
    ]).astype(np.float32)


def mirror_boxes(boxes, image_size=IMAGE_SIZE):
    """Return the corner boxes of a horizontally mirrored image.

    Parameters
    ----------
    boxes : ndarray, shape (K, 4)
    image_size : int, default 96

    Returns
    -------
    ndarray, shape (K, 4)

    Examples
    --------
    >>> mirror_boxes(np.array([[10.0, 5.0, 30.0, 25.0]]))
    array([[66.,  5., 86., 25.]])
    """
    mirrored = np.array(boxes, dtype=float)
    mirrored[:, [0, 2]] = image_size - mirrored[:, [2, 0]]
    return mirrored


def make_dataset(num_images, seed):
    """Generate scenes and their YOLOv1 targets.

    Parameters
    ----------
    num_images : int
    seed : int

    Returns
    -------
    images : ndarray, shape (num_images, 96, 96, 3)
    targets : ndarray, shape (num_images, 6, 6, 13)
    boxes, labels : lists of ndarray
        The ground truth of each image, as :func:`cnnbook.data.make_detection_scenes` gives it.

    Examples
    --------
    >>> images, targets, boxes, labels = make_dataset(2, seed=0)
    >>> targets.shape
    (2, 6, 6, 13)
    """
    images, boxes, labels = data.make_detection_scenes(
        num_images, IMAGE_SIZE, MAX_OBJECTS, NUM_CLASSES, seed=seed
    )
    return images, encode_all(boxes, labels), boxes, labels


def compile_model(model, learning_rate=2e-3, decay_steps=None):
    """Compile ``model`` with Adam (cosine decay over ``decay_steps``) and the YOLOv1 loss.

    Parameters
    ----------
    model : keras.Model
        From :func:`build_model`.
    learning_rate : float, default 2e-3
        Adam's step size, or the start of its cosine decay.
    decay_steps : int, optional
        Training steps over which the rate decays to 0; constant if omitted.

    Returns
    -------
    keras.Model
        ``model``, compiled.
    """
    import functools

    import keras

    if decay_steps:
        learning_rate = keras.optimizers.schedules.CosineDecay(learning_rate, decay_steps)
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss=functools.partial(detection.yolo_loss, num_boxes=NUM_BOXES),
    )
    return model


def train(num_train=4000, epochs=6, batch_size=32, learning_rate=2e-3, seed=0, width=16,
          validation=200):
    """Train a fresh tiny YOLO on generated scenes, deterministically for a given seed on one machine.

    Parameters
    ----------
    num_train : int, default 4000
        Training scenes (seed ``seed``); horizontal flips double them.
    epochs : int, default 6
    batch_size : int, default 32
    learning_rate : float, default 2e-3
        Start of a cosine decay to 0 over the whole run.
    seed : int, default 0
        Seeds the scenes, the weights and the shuffling.
    width : int, default 16
        As in :func:`build_model`.
    validation : int, default 200
        Validation scenes (seed ``seed + 1``), for the validation loss curve.

    Returns
    -------
    model : keras.Model
    history : dict of str to list of float
        ``"loss"`` and ``"val_loss"`` per epoch.
    """
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()
    images, targets, boxes, labels = make_dataset(num_train, seed)
    images = np.concatenate([images, images[:, :, ::-1]])
    targets = np.concatenate([targets, encode_all([mirror_boxes(b) for b in boxes], labels)])
    val_images, val_targets, _, _ = make_dataset(validation, seed + 1)
    model = compile_model(
        build_model(width=width), learning_rate,
        decay_steps=epochs * int(np.ceil(len(images) / batch_size)),
    )
    # tf.data pipelines of whole tensors, shuffled by tf.data with the seed. (Keras's own
    # pipeline for NumPy arrays maps over batches, and op determinism rewrites that map
    # with a C++ warning on stderr.)
    batches = tf.data.Dataset.from_tensor_slices((images, targets))
    batches = batches.shuffle(len(images), seed=seed, reshuffle_each_iteration=True)
    validation_batches = tf.data.Dataset.from_tensor_slices((val_images, val_targets))
    history = model.fit(
        batches.batch(batch_size), epochs=epochs, shuffle=False,
        validation_data=validation_batches.batch(batch_size), verbose=0,
    )
    return model, {name: [float(v) for v in values] for name, values in history.history.items()}


def predict(model, images, score_threshold=0.2, iou_threshold=0.5, batch_size=64):
    """Run the detector and return each image's boxes after per-class NMS.

    Parameters
    ----------
    model : keras.Model
    images : ndarray, shape (N, 96, 96, 3)
    score_threshold, iou_threshold : float
        As in :func:`cnnbook.detection.postprocess`.
    batch_size : int, default 64

    Returns
    -------
    list of (boxes, scores, classes)
        One triple per image, as :func:`cnnbook.detection.postprocess` returns it.
    """
    outputs = [  # direct calls: no tf.function to retrace for a last, smaller batch
        np.asarray(model(images[start : start + batch_size], training=False))
        for start in range(0, len(images), batch_size)
    ]
    outputs = np.concatenate(outputs) if outputs else np.zeros((0,) + model.output_shape[1:])
    return [
        detection.postprocess(output, NUM_BOXES, IMAGE_SIZE, score_threshold, iou_threshold)
        for output in outputs
    ]


def evaluate(model, num_test=500, seed=TEST_SEED):
    """Return mAP@0.5 and mAP@[0.5:0.95] of ``model`` on held-out scenes.

    Scores are kept down to 0.01 so that the precision-recall curve runs to its end.

    Parameters
    ----------
    model : keras.Model
    num_test : int, default 500
    seed : int, default TEST_SEED
        Scenes no training run uses.

    Returns
    -------
    dict
        ``"map50"``, ``"map50_95"``, ``"num_test"``, ``"num_objects"``.
    """
    images, _, boxes, labels = make_dataset(num_test, seed)
    found = predict(model, images, score_threshold=0.01)
    truth = list(zip(boxes, labels))
    return {
        "map50": detection.mean_average_precision(found, truth, 0.5),
        "map50_95": detection.mean_average_precision_coco(found, truth),
        "num_test": num_test,
        "num_objects": int(sum(len(b) for b in boxes)),
    }


def load_detector(path=WEIGHTS_PATH):
    """Build the tiny YOLO and load the weights shipped with the package.

    Parameters
    ----------
    path : str or Path, default WEIGHTS_PATH
        A ``.weights.h5`` file written by ``python -m cnnbook.train_detector``.

    Returns
    -------
    keras.Model
    """
    record = json.loads(Path(RECORD_PATH).read_text()) if Path(RECORD_PATH).exists() else {}
    model = build_model(width=record.get("arguments", {}).get("width", 16))
    model.load_weights(str(path))
    return model


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--num-train", type=int, default=4000)
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--learning-rate", type=float, default=2e-3)
    parser.add_argument("--width", type=int, default=16)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--num-test", type=int, default=500)
    parser.add_argument("--out", type=Path, default=WEIGHTS_DIR)
    args = parser.parse_args(argv)

    import keras
    import tensorflow as tf

    wall, cpu = time.perf_counter(), time.process_time()
    model, history = train(args.num_train, args.epochs, args.batch_size, args.learning_rate,
                           args.seed, args.width)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    scores = evaluate(model, args.num_test)
    args.out.mkdir(parents=True, exist_ok=True)
    shipped = build_model(width=args.width)  # the weights alone, without the optimizer's state
    shipped.set_weights(model.get_weights())
    shipped.save_weights(str(args.out / WEIGHTS_PATH.name))
    record = {
        "command": " ".join(["python -m cnnbook.train_detector", *(argv or sys.argv[1:])]),
        "arguments": {k: v for k, v in vars(args).items() if k != "out"},
        "seed": args.seed,
        "data": {"image_size": IMAGE_SIZE, "max_objects": MAX_OBJECTS, "num_classes": NUM_CLASSES,
                 "train_seed": args.seed, "validation_seed": args.seed + 1, "test_seed": TEST_SEED,
                 "train_images": 2 * args.num_train,
                 "note": "training scenes and their mirror images"},
        "versions": {"python": platform.python_version(), "numpy": np.__version__,
                     "tensorflow": tf.__version__, "keras": keras.__version__},
        "machine": {"processor": platform.machine(), "cpu_count": _cpu_count()},
        "training_seconds": {"wall": round(wall, 1), "cpu": round(cpu, 1)},
        "parameters": int(model.count_params()),
        "test": scores,
        "history": history,
    }
    (args.out / RECORD_PATH.name).write_text(json.dumps(record, indent=2) + "\n")
    print(json.dumps({k: record[k] for k in ("training_seconds", "parameters", "test")}, indent=2))


def _cpu_count():
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


if __name__ == "__main__":
    main()
