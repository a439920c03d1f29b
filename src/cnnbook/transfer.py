"""Transfer learning with the course's pretrained base: bottleneck features, a new head, fine-tuning.

Chapter 5 transfers :func:`cnnbook.models.load_pretrained_base` (pretrained by
``python -m cnnbook.pretrain`` on twenty source shapes) to three targets:

- :func:`similar_target`: new classes of the same kind of images, chapter 3's ten
  ``cnnbook.data.SHAPE_CLASSES`` (the base never saw them);
- :func:`middle_target`: the same ten shapes restyled with patches of photographs
  (:func:`textured_shapes`), images unlike any the base saw;
- :func:`different_target`: scikit-learn's handwritten digits, upscaled to 32x32 and
  put in three channels.

Three strategies: *feature extraction* (:func:`bottleneck_features`, cached by
:func:`cached_bottleneck_features`, with a small classifier on top); a *frozen base
with a new head* (:func:`build_transfer_model`); and *fine-tuning* its top block
after the head has converged (:func:`unfreeze_top_block`; the head can also start
as the fitted classifier of feature extraction, :func:`head_from_classifier`).
:func:`per_class` draws the small labelled sets of the experiments. Two records:
``python -m cnnbook.transfer --record`` (:func:`load_curves`) and
``python -m cnnbook.transfer --record --lp-ft`` (:func:`load_lp_ft`).
"""

import argparse
import functools
import hashlib
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

from cnnbook import data, pretrain

#: Seed of the similar target's images (chapter 3 draws its shapes with seed 0).
SIMILAR_SEED = 5
#: Images per class of the similar target: training set ("all") and test set.
SIMILAR_TRAIN_PER_CLASS = 200
SIMILAR_TEST_PER_CLASS = 100


def bottleneck_features(base, images, batch_size=256):
    """Compute the base's bottleneck features of ``images``, with the base in inference mode.

    The base is called as ``base(batch, training=False)``: batch normalisation
    uses its moving statistics and dropout (if any) is off, so an image's
    features do not depend on the rest of its batch.

    Parameters
    ----------
    base : keras.Model
        From images ``(N, H, W, C)`` to features ``(N, D)``, e.g.
        :func:`cnnbook.models.load_pretrained_base`.
    images : array_like, shape (N, H, W, C)
        Raw pixel values as the base expects them (for the course's base, uint8
        or float in [0, 255]).
    batch_size : int, default 256
        Images per call (memory only: the result does not depend on it).

    Returns
    -------
    ndarray of float32, shape (N, D)

    Examples
    --------
    >>> from cnnbook import models
    >>> images, _ = data.make_shapes(6, seed=0)
    >>> features = bottleneck_features(models.load_pretrained_base(), images, batch_size=4)
    >>> features.shape, features.dtype
    ((6, 64), dtype('float32'))
    """
    if int(batch_size) < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    images = np.asarray(images)
    batches = [np.asarray(base(images[start:start + batch_size].astype(np.float32), training=False))
               for start in range(0, len(images), int(batch_size))]
    if not batches:
        return np.zeros((0, base.output_shape[-1]), np.float32)
    return np.concatenate(batches).astype(np.float32)


def fingerprint(base, images):
    """Return a SHA-256 hex digest of ``images`` and the base's weights: the cache key.

    Parameters
    ----------
    base : keras.Model
    images : array_like

    Returns
    -------
    str
        64 hex digits; it changes when any pixel, the images' shape or dtype, or
        any weight (trainable or not, e.g. batch normalisation's moving mean) changes.

    Examples
    --------
    >>> from cnnbook import pretrain
    >>> base = pretrain.build_base(width=2)
    >>> images = np.zeros((2, 32, 32, 3), np.uint8)
    >>> fingerprint(base, images) == fingerprint(base, images.copy())
    True
    >>> fingerprint(base, images) == fingerprint(base, images + 1)
    False
    """
    digest = hashlib.sha256()
    images = np.ascontiguousarray(images)
    digest.update(f"{images.shape}{images.dtype}".encode())
    digest.update(images.tobytes())
    for weight in base.weights:
        value = np.ascontiguousarray(np.asarray(weight))
        digest.update(f"{weight.path}{value.shape}{value.dtype}".encode())
        digest.update(value.tobytes())
    return digest.hexdigest()


def cached_bottleneck_features(base, images, path):
    """Compute the bottleneck features once, store them in ``path``, and reload them afterwards.

    The ``.npz`` file holds the features and :func:`fingerprint` of the images
    and weights. If the file exists with the same fingerprint, the features are
    loaded, not computed; otherwise (no file, other images or other weights)
    they are computed with :func:`bottleneck_features` and the file is
    (over)written.

    Parameters
    ----------
    base : keras.Model
    images : array_like, shape (N, H, W, C)
    path : str or pathlib.Path
        The ``.npz`` file; its folder is created if needed.

    Returns
    -------
    ndarray of float32, shape (N, D)

    Examples
    --------
    >>> import tempfile
    >>> from cnnbook import models
    >>> base = models.load_pretrained_base()
    >>> images, _ = data.make_shapes(4, seed=0)
    >>> path = Path(tempfile.mkdtemp()) / "features.npz"
    >>> first = cached_bottleneck_features(base, images, path)
    >>> bool(np.array_equal(cached_bottleneck_features(base, images, path), first))
    True
    """
    path = Path(path)
    key = fingerprint(base, images)
    if path.exists():
        with np.load(path) as stored:
            if "key" in stored and str(stored["key"]) == key:
                return stored["features"].astype(np.float32)
    features = bottleneck_features(base, images)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as file:  # a file object: np.savez would append .npz to a bare name
        np.savez(file, features=features, key=np.array(key))
    return features


def build_transfer_model(base, num_classes, dropout=0.3, augment=None, standardize=None):
    """Put a new softmax head on a frozen ``base``, compiled for training the head.

    The model is: input -> ``augment`` (if given) -> ``base(x, training=False)``
    -> ``Dropout(dropout)`` -> ``Dense(num_classes, softmax)`` named ``"head"``.
    ``base.trainable`` is set to ``False``, so only the head trains, and its
    batch normalisation runs in inference mode (moving statistics, never
    updated): Keras 3 runs a frozen ``BatchNormalization`` layer in inference
    mode, and the base is called with ``training=False`` as well (but see
    :func:`unfreeze_top_block`: in Keras 3 that flag alone does not hold during
    ``fit``). Compiled with Adam (learning rate 1e-3),
    sparse categorical cross-entropy and the accuracy metric.

    Parameters
    ----------
    base : keras.Model
        From images to features, e.g. :func:`cnnbook.models.load_pretrained_base`.
    num_classes : int
    dropout : float, default 0.3
        Rate of the dropout before the head; 0 for none.
    augment : keras.layers.Layer, optional
        Random transformations, e.g. :func:`cnnbook.training.augmentation`; they act
        in training only.
    standardize : ndarray, shape (N, D), optional
        Bottleneck features of the training images: if given, a
        ``Normalization`` layer adapted on them (named ``"head_standardize"``,
        no trainable weights) standardises the features before the head, as the
        ``StandardScaler`` of :func:`feature_classifier` does.

    Returns
    -------
    keras.Model
        Named ``"transfer_model"``.

    Examples
    --------
    >>> from cnnbook import models
    >>> model = build_transfer_model(models.load_pretrained_base(), 10)
    >>> model.output_shape, [w.path for w in model.trainable_weights]
    ((None, 10), ['head/kernel', 'head/bias'])
    >>> round(float(model.optimizer.learning_rate), 8)
    0.001
    """
    import keras

    if not 0 <= dropout < 1:
        raise ValueError(f"dropout must be in [0, 1), got {dropout!r}")
    base.trainable = False
    inputs = keras.Input(base.input_shape[1:], name="image")
    x = augment(inputs) if augment is not None else inputs
    x = base(x, training=False)
    if standardize is not None:
        normalization = keras.layers.Normalization(axis=-1, name="head_standardize")
        normalization.adapt(np.asarray(standardize, np.float32))
        x = normalization(x)
    if dropout:
        x = keras.layers.Dropout(dropout, name="head_dropout")(x)
    outputs = keras.layers.Dense(num_classes, activation="softmax", name="head")(x)
    model = keras.Model(inputs, outputs, name="transfer_model")
    model.compile(optimizer=keras.optimizers.Adam(1e-3),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def _nested_base(model, prefix):
    """The one layer of ``model`` that is a model with layers named ``prefix...``."""
    import keras

    found = [layer for layer in model.layers if isinstance(layer, keras.Model)
             and any(inner.name.startswith(prefix) for inner in layer.layers)]
    if len(found) != 1:
        raise ValueError(f"expected one base with layers named {prefix!r}... in "
                         f"{model.name!r}, found {len(found)}")
    return found[0]


def unfreeze_top_block(model, learning_rate=1e-4, prefix=pretrain.TOP_BLOCK, batch_norm=False):
    """Make the base's top block trainable and recompile with a lower learning rate: fine-tuning.

    Call it after the head has been trained (:func:`build_transfer_model` then
    ``fit``, until its training loss levels off): the base becomes trainable in the layers whose names start with
    ``prefix`` only, the rest stay frozen, the head stays trainable. A model
    that has already trained keeps the training step Keras built for it (the
    weights that were trainable then, and their optimizer) until it is
    compiled again, so the model is recompiled with ``Adam(learning_rate)``,
    the same loss and metric.

    The block's batch normalisation layers stay frozen unless ``batch_norm``
    is true, and that is what keeps them in inference mode. In Keras 3 the
    ``training=False`` written in :func:`build_transfer_model`'s graph does not
    survive ``fit``: the model's ``training=True`` reaches every layer of the
    nested base (``keras.src.models.functional.operation_fn``). A frozen
    ``BatchNormalization`` layer always runs in inference mode (moving
    statistics, never updated); a trainable one inside ``fit`` normalises with
    each batch's statistics and updates its moving ones.

    Parameters
    ----------
    model : keras.Model
        From :func:`build_transfer_model`.
    learning_rate : float, default 1e-4
        Ten times lower than the head's 1e-3, the rate chapter 5 uses: at 1e-3
        the top block's features move far and the source task's accuracy drops.
    prefix : str, default ``cnnbook.pretrain.TOP_BLOCK`` ("block3")
    batch_norm : bool, default False
        Also make the block's batch normalisation layers trainable (they then
        run in training mode inside ``fit``: the mistake the chapter measures).

    Returns
    -------
    keras.Model
        ``model`` itself, recompiled.

    Examples
    --------
    >>> from cnnbook import models
    >>> model = unfreeze_top_block(build_transfer_model(models.load_pretrained_base(), 10))
    >>> sorted({w.path.split("/")[0] for w in model.trainable_weights})
    ['block3_conv1', 'block3_conv2', 'head']
    >>> round(float(model.optimizer.learning_rate), 10)
    0.0001
    """
    import keras

    base = _nested_base(model, prefix)
    base.trainable = True
    for layer in base.layers:
        is_batch_norm = isinstance(layer, keras.layers.BatchNormalization)
        layer.trainable = layer.name.startswith(prefix) and (batch_norm or not is_batch_norm)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def per_class(images, labels, n, seed):
    """Keep the first ``n`` examples of each class after a seeded shuffle: a small labelled set.

    Parameters
    ----------
    images : ndarray, shape (N, ...)
    labels : ndarray of int, shape (N,)
    n : int or None
        Examples per class; None keeps them all (shuffled).
    seed : int
        Seed of the shuffle (``numpy.random.default_rng``).

    Returns
    -------
    images, labels : ndarray
        The kept examples, in the shuffled order.

    Raises
    ------
    ValueError
        If a class has fewer than ``n`` examples, or ``n`` is not positive.

    Examples
    --------
    >>> labels = np.array([0, 0, 0, 1, 1, 1, 2, 2])
    >>> x, y = per_class(np.arange(8), labels, 2, seed=0)
    >>> np.bincount(y).tolist(), bool(np.all(labels[x] == y))
    ([2, 2, 2], True)
    """
    images, labels = np.asarray(images), np.asarray(labels)
    order = np.random.default_rng(seed).permutation(len(labels))
    if n is None:
        return images[order], labels[order]
    if int(n) != n or n < 1:
        raise ValueError(f"n must be a positive int or None, got {n!r}")
    shuffled = labels[order]
    keep = np.zeros(len(order), bool)
    for label in np.unique(labels):
        where = np.flatnonzero(shuffled == label)
        if len(where) < n:
            raise ValueError(f"class {label} has {len(where)} examples, fewer than n={n}")
        keep[where[:n]] = True
    kept = order[keep]
    return images[kept], labels[kept]


def similar_target(train_per_class=SIMILAR_TRAIN_PER_CLASS, test_per_class=SIMILAR_TEST_PER_CLASS,
                   seed=SIMILAR_SEED):
    """The similar target: chapter 3's ten shapes, new classes of the same kind of images as the source.

    Drawn by ``cnnbook.data.make_shapes`` with its defaults (the ten
    ``SHAPE_CLASSES``, no clutter), the training and test images from two seeds
    spawned from ``seed``. The base was pretrained on twenty other shapes
    (``cnnbook.pretrain.SOURCE_CLASSES``) and never saw these classes.

    Parameters
    ----------
    train_per_class, test_per_class : int, default 200 and 100
    seed : int, default ``SIMILAR_SEED``

    Returns
    -------
    (x_train, y_train), (x_test, y_test)
        uint8 images (N, 32, 32, 3) in [0, 255] and int64 labels (N,) in 0..9,
        ``train_per_class`` (``test_per_class``) of each class.

    Examples
    --------
    >>> (x_train, y_train), (x_test, y_test) = similar_target(2, 1)
    >>> x_train.shape, x_train.dtype, np.bincount(y_train).tolist(), x_test.shape
    ((20, 32, 32, 3), dtype('uint8'), [2, 2, 2, 2, 2, 2, 2, 2, 2, 2], (10, 32, 32, 3))
    """
    classes = len(data.SHAPE_CLASSES)
    train_seed, test_seed = np.random.SeedSequence(seed).spawn(2)
    train = data.make_shapes(train_per_class * classes, pretrain.IMAGE_SIZE, seed=train_seed)
    test = data.make_shapes(test_per_class * classes, pretrain.IMAGE_SIZE, seed=test_seed)
    return train, test


def digits_to_colour(images):
    """Turn digit images in [0, 1] of shape (N, H, W, 1) into uint8 RGB images: grey in three channels.

    Parameters
    ----------
    images : ndarray of float, shape (N, H, W, 1), values in [0, 1]

    Returns
    -------
    ndarray of uint8, shape (N, H, W, 3)
        ``round(255 * value)`` in each of the three channels.

    Examples
    --------
    >>> digits_to_colour(np.array([[[[0.0], [0.5], [1.0]]]]))[0, 0].tolist()
    [[0, 0, 0], [128, 128, 128], [255, 255, 255]]
    """
    grey = np.rint(np.clip(np.asarray(images, np.float64), 0, 1) * 255).astype(np.uint8)
    return np.repeat(grey, 3, axis=-1)


def different_target():
    """The different target: scikit-learn's 8x8 digits, upscaled to 32x32, as three-channel uint8 images.

    ``cnnbook.data.load_digits(size=32)``'s fixed split: its 1,257 training
    images (the 180 validation images are not used) and 360 test images, made
    into (N, 32, 32, 3) uint8 by :func:`digits_to_colour`. Light strokes on a
    black background, nothing like the source's coloured shapes on textured
    backgrounds.

    Returns
    -------
    (x_train, y_train), (x_test, y_test)
        uint8 images (N, 32, 32, 3) and int64 labels (N,) in 0..9.

    Examples
    --------
    >>> (x_train, y_train), (x_test, y_test) = different_target()
    >>> x_train.shape, x_test.shape, x_train.dtype, int(y_train.max())
    ((1257, 32, 32, 3), (360, 32, 32, 3), dtype('uint8'), 9)
    """
    splits = data.load_digits(size=pretrain.IMAGE_SIZE)
    (x_train, y_train), (x_test, y_test) = splits.train, splits.test
    return (digits_to_colour(x_train), y_train), (digits_to_colour(x_test), y_test)


#: Seed of the middle target's images.
MIDDLE_SEED = 6
#: scikit-image's sample photographs (shipped with it, no download) whose patches restyle the
#: middle target's shapes; the base never saw a photograph.
PHOTOGRAPHS = ("astronaut", "brick", "camera", "chelsea", "coffee", "coins", "grass", "gravel",
               "hubble_deep_field", "immunohistochemistry", "moon", "retina", "rocket", "text")
#: Each patch is a window of a photograph shrunk by one of these factors (block means); only
#: the shrunk photographs at least ``MIN_PHOTO_SIDE`` pixels high and wide are used.
PHOTO_SCALES = (2, 3, 4, 6)
MIN_PHOTO_SIDE = 64


@functools.lru_cache(maxsize=1)
def _photographs():
    """Every PHOTOGRAPHS shrunk by every PHOTO_SCALES, float32 RGB in [0, 1], if big enough."""
    from skimage import data as samples, transform

    shrunk = []
    for name in PHOTOGRAPHS:
        photo = np.asarray(getattr(samples, name)(), np.float32) / 255
        photo = np.repeat(photo[..., None], 3, axis=-1) if photo.ndim == 2 else photo[..., :3]
        for factor in PHOTO_SCALES:
            small = transform.downscale_local_mean(photo, (factor, factor, 1)).astype(np.float32)
            if min(small.shape[:2]) >= MIN_PHOTO_SIDE:
                shrunk.append(small)
    return tuple(shrunk)


def photo_patches(num_patches, size, rng):
    """Cut ``num_patches`` random square patches out of scikit-image's sample photographs.

    Each patch is a random ``size`` x ``size`` window of one of the
    ``PHOTOGRAPHS`` shrunk by one of the ``PHOTO_SCALES`` (drawn at random among
    the shrunk photographs at least ``MIN_PHOTO_SIDE`` pixels on each side),
    turned by a random multiple of 90 degrees.

    Parameters
    ----------
    num_patches : int
    size : int
        At most ``MIN_PHOTO_SIDE``.
    rng : numpy.random.Generator

    Returns
    -------
    ndarray of float32, shape (num_patches, size, size, 3), values in [0, 1]

    Raises
    ------
    ValueError
        If ``size`` is larger than ``MIN_PHOTO_SIDE``.

    Examples
    --------
    >>> patches = photo_patches(3, 32, np.random.default_rng(0))
    >>> patches.shape, patches.dtype, bool(0 <= patches.min() <= patches.max() <= 1)
    ((3, 32, 32, 3), dtype('float32'), True)
    """
    if not 1 <= size <= MIN_PHOTO_SIDE:
        raise ValueError(f"size must be between 1 and MIN_PHOTO_SIDE={MIN_PHOTO_SIDE}, got {size!r}")
    photos = _photographs()
    which = rng.integers(len(photos), size=num_patches)
    corner, turns = rng.uniform(size=(num_patches, 2)), rng.integers(4, size=num_patches)
    patches = np.empty((num_patches, size, size, 3), np.float32)
    for k in range(num_patches):
        photo = photos[which[k]]
        row, col = (corner[k] * (np.array(photo.shape[:2]) - size + 1)).astype(int)
        patches[k] = np.rot90(photo[row:row + size, col:col + size], turns[k])
    return patches


def textured_shapes(num_images, seed, image_size=pretrain.IMAGE_SIZE):
    """Draw the ten ``SHAPE_CLASSES`` restyled with photographs: the middle target's images.

    The objects' outlines are those of :func:`cnnbook.data.make_shapes` (its
    defaults: size, rotation, stretch, position); everything else comes from
    photographs (:func:`photo_patches`): the object's pixels are filled with
    one patch and the background with another. For contrast, one of the two
    patches has its values stretched to [0.45, 1] and the other to [0, 0.55]
    (which one is light is drawn at random), so the outline is a strong
    light-dark edge. Only the outline says the class; what differs from the
    source is the fill: photographic textures (grey wherever the photograph
    is) instead of the source's coloured shapes.

    Parameters
    ----------
    num_images : int
    seed : int or numpy.random.SeedSequence
    image_size : int, default 32

    Returns
    -------
    images : ndarray of uint8, shape (num_images, image_size, image_size, 3)
    labels : ndarray of int64, shape (num_images,)
        Balanced over the ten classes, as in ``make_shapes``.

    Examples
    --------
    >>> images, labels = textured_shapes(20, seed=0)
    >>> images.shape, images.dtype, np.bincount(labels).tolist()
    ((20, 32, 32, 3), dtype('uint8'), [2, 2, 2, 2, 2, 2, 2, 2, 2, 2])
    """
    seed = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    shape_seed, texture_seed = seed.spawn(2)
    _, labels, _, masks = data.make_shapes(num_images, image_size, seed=shape_seed, return_boxes=True)
    rng = np.random.default_rng(texture_seed)
    objects, backgrounds = (photo_patches(num_images, image_size, rng) for _ in range(2))
    light = (rng.random(num_images) < 0.5)[:, None, None, None]

    def stretch(patches, low, high):
        smallest = patches.min(axis=(1, 2, 3), keepdims=True)
        spread = np.maximum(patches.max(axis=(1, 2, 3), keepdims=True) - smallest, 1e-6)
        return low + (high - low) * (patches - smallest) / spread

    objects = np.where(light, stretch(objects, 0.45, 1.0), stretch(objects, 0.0, 0.55))
    backgrounds = np.where(light, stretch(backgrounds, 0.0, 0.55), stretch(backgrounds, 0.45, 1.0))
    images = np.where(masks[..., None], objects, backgrounds)
    return (images * 255 + 0.5).astype(np.uint8), labels


def middle_target(train_per_class=SIMILAR_TRAIN_PER_CLASS, test_per_class=SIMILAR_TEST_PER_CLASS,
                  seed=MIDDLE_SEED):
    """The middle target: chapter 3's ten shapes restyled with photographs (:func:`textured_shapes`).

    Between the similar target (the same kind of images as the source) and the
    digits (nothing like it): the classes are shapes, as in the source, but the
    images look like nothing the base was trained on. The training and test
    images come from two seeds spawned from ``seed``.

    Parameters
    ----------
    train_per_class, test_per_class : int, default 200 and 100
    seed : int, default ``MIDDLE_SEED``

    Returns
    -------
    (x_train, y_train), (x_test, y_test)
        As :func:`similar_target`.

    Examples
    --------
    >>> (x_train, y_train), (x_test, y_test) = middle_target(2, 1)
    >>> x_train.shape, x_test.shape, np.bincount(y_test).tolist()
    ((20, 32, 32, 3), (10, 32, 32, 3), [1, 1, 1, 1, 1, 1, 1, 1, 1, 1])
    """
    classes = len(data.SHAPE_CLASSES)
    train_seed, test_seed = np.random.SeedSequence(seed).spawn(2)
    return (textured_shapes(train_per_class * classes, train_seed),
            textured_shapes(test_per_class * classes, test_seed))



# --- The record of chapter 5's curves: python -m cnnbook.transfer --record -------------------

CURVES_PATH = pretrain.WEIGHTS_DIR / "transfer_curves.json"
#: Labelled examples per class of the curves (None: the whole training set).
SIZES = (5, 20, 100, None)
#: Settings of the record. Scratch, the fine-tuned model (head then top block), the
#: head-only control and the standardised head each take 400 optimizer steps; the
#: "head" column is the head after its first 200; "features" is a logistic
#: regression fitted to convergence.
RECORD_SETTINGS = {
    "batch_size": 32,
    "scratch_steps": 400,         # from scratch: all steps at 1e-3
    "head_steps": 200,            # transfer: the head on the frozen base at 1e-3 ...
    "fine_tune_steps": 200,       # ... then the top block and the head at fine_tune_rate
                                  # (control: the head alone for these steps too)
    "head_rate": 1e-3,
    "fine_tune_rate": 1e-4,
    "dropout": 0.3,
    "augmentation": {"shift": 0.1, "rotation": 0.5, "zoom": 0.1, "flip": "horizontal_and_vertical"},
    "augmentation_digits": {"shift": 0.1, "rotation": 0.03, "zoom": 0.1, "flip": None},
    "seeds": [0],
    "scratch_batch_norm_momentum": 0.9,
    "source_test_images": 1000,
}


def build_scratch_model(num_classes, dropout=0.3, augment=None, width=16, batch_norm_momentum=0.9):
    """Build the transfer model's architecture with random weights, all trainable: the scratch baseline.

    Input -> ``augment`` -> a fresh :func:`cnnbook.pretrain.build_base` (batch
    normalisation in training mode inside ``fit``, as when training any network
    from scratch) -> ``Dropout`` -> ``Dense(num_classes, softmax)`` named
    ``"head"``; compiled like :func:`build_transfer_model` (Adam 1e-3).

    Its batch normalisation layers use momentum 0.9 instead of Keras' 0.99. In a
    run of a few hundred steps the default moving statistics lag behind the
    weights, and the network scores far worse in inference mode than in training
    mode: measured once (similar target, 100 images per class, 400 steps),
    19.5 % of its own training images right in inference mode against 44.5 % in
    training mode, and 22.7 % of the test images; with 0.9, 35.3 % and 38.4 %.
    (``bench/bench_transfer.py`` found the same at 5 images per class.)

    Parameters
    ----------
    num_classes : int
    dropout : float, default 0.3
    augment : keras.layers.Layer, optional
    width : int, default 16
        Filters of the first block, as in the pretrained base.
    batch_norm_momentum : float, default 0.9

    Returns
    -------
    keras.Model

    Examples
    --------
    >>> from cnnbook import models
    >>> model = build_scratch_model(10)
    >>> model.count_params() == models.load_pretrained_base().count_params() + 65 * 10
    True
    """
    import keras

    base = pretrain.build_base(width)
    for layer in base.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.momentum = batch_norm_momentum
    inputs = keras.Input(base.input_shape[1:], name="image")
    x = augment(inputs) if augment is not None else inputs
    x = base(x)
    if dropout:
        x = keras.layers.Dropout(dropout, name="head_dropout")(x)
    outputs = keras.layers.Dense(num_classes, activation="softmax", name="head")(x)
    model = keras.Model(inputs, outputs, name="scratch_model")
    model.compile(optimizer=keras.optimizers.Adam(1e-3),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def fit_steps(model, images, labels, steps, batch_size, seed, callbacks=None):
    """Train ``model`` for exactly ``steps`` batches, whatever the size of the training set.

    The training set is repeated in seeded shuffles, cut into ``steps`` batches of
    ``min(batch_size, N)`` examples, and fitted as one epoch: a set of 50 images
    and one of 2,000 get the same number of updates.

    Parameters
    ----------
    model : keras.Model
        Compiled.
    images, labels : ndarray, N examples
    steps, batch_size, seed : int
    callbacks : list of keras.callbacks.Callback, optional
        Passed to ``fit``, e.g. :func:`step_size_recorder`.

    Returns
    -------
    float
        The mean training loss over the steps, as Keras reports it.

    Examples
    --------
    >>> model = build_scratch_model(2, dropout=0)
    >>> images = np.zeros((3, 32, 32, 3), np.uint8)
    >>> loss = fit_steps(model, images, np.array([0, 1, 0]), steps=2, batch_size=2, seed=0)
    >>> isinstance(loss, float)
    True
    """
    batch = min(int(batch_size), len(labels))
    rng = np.random.default_rng(seed)
    repeats = -(-steps * batch // len(labels))
    order = np.concatenate([rng.permutation(len(labels)) for _ in range(repeats)])[:steps * batch]
    history = model.fit(images[order], labels[order], batch_size=batch, epochs=1, shuffle=False,
                        verbose=0, callbacks=callbacks)
    return float(history.history["loss"][-1])


def step_size_recorder(variables):
    """Return a Keras callback that measures how far ``variables`` move at each training step.

    After every batch of ``fit`` it appends to its ``steps`` list the mean
    absolute change of all the variables' values since the previous step;
    ``displacement()`` gives the mean absolute change since the start of
    training (the net distance, shorter than the path when steps go back and
    forth). Under Adam only the first step has a size set by the learning rate
    alone: every value moves by the rate (its update is
    ``rate * m / (sqrt(v) + epsilon)`` with ``m = g`` and ``v = g**2`` after
    bias correction); later steps are smaller where the gradient's sign changes
    from step to step, or where the gradient shrinks relative to its earlier
    values (``v`` remembers the large early gradients).

    Parameters
    ----------
    variables : list of keras.Variable
        E.g. the kernels of the top block.

    Returns
    -------
    keras.callbacks.Callback
        With ``steps`` (list of float) and ``displacement()`` (float).

    Examples
    --------
    >>> import keras
    >>> model = build_scratch_model(2, dropout=0)
    >>> model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy")
    >>> recorder = step_size_recorder([model.get_layer("head").kernel])
    >>> images, labels = data.make_shapes(8, seed=0, classes=("circle", "square"))
    >>> _ = fit_steps(model, images, labels, 3, 4, seed=0, callbacks=[recorder])
    >>> len(recorder.steps), round(recorder.steps[0] / 1e-3, 2)
    (3, 1.0)
    """
    import keras

    class StepSizes(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.start = self.previous = np.concatenate([np.ravel(v) for v in variables])
            self.steps = []

        def on_train_batch_end(self, batch, logs=None):
            current = np.concatenate([np.ravel(v) for v in variables])
            self.steps.append(float(np.mean(np.abs(current - self.previous))))
            self.previous = current

        def displacement(self):
            return float(np.mean(np.abs(self.previous - self.start)))

    return StepSizes()


def accuracy(model, images, labels):
    """Return the fraction of ``images`` that ``model`` classifies as ``labels`` (inference mode).

    Examples
    --------
    >>> model = build_scratch_model(3, dropout=0)
    >>> 0 <= accuracy(model, np.zeros((4, 32, 32, 3), np.uint8), np.array([0, 1, 2, 0])) <= 1
    True
    """
    predicted = np.argmax(model.predict(images, batch_size=500, verbose=0), axis=1)
    return float(np.mean(predicted == np.asarray(labels)))


def feature_classifier(train_features, train_labels, seed=0):
    """Fit the small classifier of feature extraction: logistic regression on standardised bottleneck features.

    Parameters
    ----------
    train_features : ndarray, shape (N, D)
    train_labels : ndarray, shape (N,)
    seed : int, default 0

    Returns
    -------
    sklearn.pipeline.Pipeline
        ``StandardScaler`` then ``LogisticRegression`` (L2, C=1); ``.score(features, labels)``
        gives the accuracy.

    Examples
    --------
    >>> features = np.array([[0.0, 1.0], [0.1, 0.9], [1.0, 0.0], [0.9, 0.2]])
    >>> feature_classifier(features, np.array([0, 0, 1, 1])).score(features, [0, 0, 1, 1])
    1.0
    """
    from sklearn import linear_model, pipeline, preprocessing

    classifier = pipeline.make_pipeline(
        preprocessing.StandardScaler(),
        linear_model.LogisticRegression(C=1.0, max_iter=2000, random_state=seed))
    return classifier.fit(train_features, train_labels)


def head_from_classifier(model, classifier):
    """Give ``model``'s head the weights of a fitted :func:`feature_classifier`: a trained head, at once.

    Linear probing, then fine-tuning (LP-FT, Kumar et al. 2022): fit the
    logistic regression on the bottleneck features to convergence, copy it into
    the softmax head, and only then unfreeze the base. The classifier
    standardises each feature (``(x - mean) / scale``) and then computes
    ``softmax(x_std @ coef.T + intercept)``; both steps fold into one dense
    layer, with kernel ``(coef / scale).T`` and bias
    ``intercept - coef @ (mean / scale)``. In inference mode the model then
    gives the classifier's probabilities (``predict_proba``) on the base's
    features.

    Parameters
    ----------
    model : keras.Model
        From :func:`build_transfer_model`, without ``standardize``.
    classifier : sklearn.pipeline.Pipeline
        From :func:`feature_classifier`, fitted on the base's features with
        the model's number of classes.

    Returns
    -------
    keras.Model
        ``model`` itself, its head's weights replaced (nothing is recompiled).

    Raises
    ------
    ValueError
        If the model standardises its features itself, or the classifier's
        shape does not match the head's.

    Examples
    --------
    >>> from cnnbook import models
    >>> base = models.load_pretrained_base()
    >>> images, labels = data.make_shapes(30, seed=0)
    >>> classifier = feature_classifier(bottleneck_features(base, images), labels)
    >>> model = head_from_classifier(build_transfer_model(base, 10), classifier)
    >>> bool(np.all(model.predict(images, verbose=0).argmax(axis=1) == classifier.predict(
    ...     bottleneck_features(base, images))))
    True
    """
    if any(layer.name == "head_standardize" for layer in model.layers):
        raise ValueError("the model standardises its features already: build it without standardize")
    scaler, regression = classifier[0], classifier[-1]
    kernel = regression.coef_ / scaler.scale_                   # (classes, features)
    bias = regression.intercept_ - kernel @ scaler.mean_
    head = model.get_layer("head")
    if head.kernel.shape != kernel.T.shape:
        raise ValueError(f"the classifier has {kernel.shape[0]} classes and {kernel.shape[1]} features, "
                         f"the head expects {head.kernel.shape[1]} and {head.kernel.shape[0]}")
    head.set_weights([kernel.T.astype(np.float32), bias.astype(np.float32)])
    return model


def source_accuracy(base, num_test=1000):
    """Return the source task's accuracy of the pretrained source head on ``base``'s current features.

    The shipped source classifier (:func:`cnnbook.pretrain.load_source_classifier`)
    gets ``base``'s weights in place of its own: if fine-tuning changed the base's
    features, its source head no longer reads them as before. Held-out source
    images as in :func:`cnnbook.pretrain.evaluate`.

    Examples
    --------
    >>> from cnnbook import models
    >>> source_accuracy(models.load_pretrained_base(), num_test=100) > 0.8
    True
    """
    classifier = pretrain.load_source_classifier()
    classifier.get_layer(pretrain.BASE_NAME).set_weights(base.get_weights())
    return float(pretrain.evaluate(classifier, num_test)["accuracy"])


def _augmentation(options, seed):
    from cnnbook import training

    return training.augmentation(seed=seed, **options)


def _targets():
    return {"similar": similar_target(), "different": different_target()}


def top_block_gradient_norm(model, images, labels, prefix=pretrain.TOP_BLOCK):
    """Return the norm of the loss gradient with respect to the top block's convolution kernels.

    The gradient that fine-tuning's first step would follow: the mean
    cross-entropy of ``model`` (called in inference mode) on one batch,
    differentiated with respect to the kernels of the base's layers named
    ``prefix...``, whether or not they are trainable yet.

    Parameters
    ----------
    model : keras.Model
        From :func:`build_transfer_model`.
    images : ndarray, shape (N, 32, 32, 3)
    labels : ndarray of int, shape (N,)
    prefix : str, default ``cnnbook.pretrain.TOP_BLOCK``

    Returns
    -------
    float
        The Euclidean norm of all those gradients together.

    Examples
    --------
    >>> from cnnbook import models
    >>> model = build_transfer_model(models.load_pretrained_base(), 10)
    >>> images, labels = data.make_shapes(8, seed=0)
    >>> top_block_gradient_norm(model, images, labels) > 0
    True
    """
    import keras
    import tensorflow as tf

    base = _nested_base(model, prefix)
    kernels = [layer.kernel for layer in base.layers
               if layer.name.startswith(prefix) and isinstance(layer, keras.layers.Conv2D)]
    with tf.GradientTape() as tape:
        probabilities = model(images.astype(np.float32), training=False)
        loss = keras.losses.sparse_categorical_crossentropy(labels, probabilities)
        loss = tf.reduce_mean(loss)
    gradients = tape.gradient(loss, kernels)
    return float(tf.sqrt(sum(tf.reduce_sum(g**2) for g in gradients)))


def _train_head(model, train, settings, seed, steps, chunk=100):
    """Fit the head ``steps`` steps in chunks of ``chunk``; the training loss (inference mode) after each."""
    chunk = min(chunk, steps)
    losses = []
    for k in range(steps // chunk):
        fit_steps(model, *train, chunk, settings["batch_size"], 1000 * seed + len(losses))
        losses.append(float(model.evaluate(*train, batch_size=500, verbose=0)[0]))
    return losses


def _transfer_run(train, test, settings, seed, augment_options, fine_tune_rate=None,
                  random_head=False, batch_norm=False, head_control=False):
    """The transfer model: head on the frozen base, then the top block; scores of both phases.

    With ``head_control``, the head also trains on alone after its ``head_steps``
    until it has had as many steps as the fine-tuned model
    (``head_steps + fine_tune_steps``); fine-tuning starts from the head after
    ``head_steps``.
    """
    import keras

    from cnnbook import models

    keras.utils.set_random_seed(seed)
    base = models.load_pretrained_base()
    model = build_transfer_model(base, 10, settings["dropout"], _augmentation(augment_options, seed))
    out = {}
    if not random_head:
        out["head_train_loss"] = _train_head(model, train, settings, seed, settings["head_steps"])
        out["head_accuracy"] = accuracy(model, *test)
        if head_control:
            snapshot = model.get_weights()
            out["head_train_loss"] += _train_head(model, train, settings, seed + 7,
                                                  settings["fine_tune_steps"])
            out["head_control_accuracy"] = accuracy(model, *test)
            model.set_weights(snapshot)
    before = bottleneck_features(base, test[0][:500])
    out["gradient_norm"] = top_block_gradient_norm(model, train[0][:settings["batch_size"]],
                                          train[1][:settings["batch_size"]])
    unfreeze_top_block(model, fine_tune_rate or settings["fine_tune_rate"], batch_norm=batch_norm)
    fit_steps(model, *train, settings["fine_tune_steps"], settings["batch_size"], seed + 1)
    out["fine_tuned_accuracy"] = accuracy(model, *test)
    after = bottleneck_features(base, test[0][:500])
    out["feature_change"] = float(np.linalg.norm(after - before) / np.linalg.norm(before))
    out["source_accuracy"] = source_accuracy(base, settings["source_test_images"])
    return out


def _standardized_head_run(train, train_features, test, settings, seed, augment_options):
    """The head on standardised features (a ``Normalization`` adapted on ``train_features``), head steps only."""
    import keras

    from cnnbook import models

    keras.utils.set_random_seed(seed)
    model = build_transfer_model(models.load_pretrained_base(), 10, settings["dropout"],
                                 _augmentation(augment_options, seed), standardize=train_features)
    steps = settings["head_steps"] + settings["fine_tune_steps"]
    losses = _train_head(model, train, settings, seed, settings["head_steps"])
    at_head_steps = accuracy(model, *test)
    losses += _train_head(model, train, settings, seed + 7, steps - settings["head_steps"])
    return {"train_loss": losses, "accuracy_head_steps": at_head_steps,
            "accuracy": accuracy(model, *test)}


def record_curves(settings=RECORD_SETTINGS, sizes=SIZES, log=print):
    """Run every experiment of chapter 5's record and return it as a dict (see :func:`load_curves`)."""
    import keras

    from cnnbook import models

    targets = _targets()
    base = models.load_pretrained_base()
    curves, timing = {}, {}
    for name, (train, test) in targets.items():
        augment = settings["augmentation_digits" if name == "different" else "augmentation"]
        test_features = bottleneck_features(base, test[0])
        all_features = bottleneck_features(base, train[0])
        rows = []
        for n in sizes:
            for seed in settings["seeds"]:
                cpu = time.process_time()
                x, y = per_class(*train, n, seed)
                picked = per_class(np.arange(len(train[1])), train[1], n, seed)[0]
                row = {"per_class": n if n is not None else int(np.bincount(train[1]).min()),
                       "all": n is None, "train_images": int(len(y)), "seed": seed}
                row["features"] = float(feature_classifier(all_features[picked], y, seed)
                                        .score(test_features, test[1]))
                keras.utils.set_random_seed(seed)
                scratch = build_scratch_model(10, settings["dropout"], _augmentation(augment, seed),
                                              batch_norm_momentum=settings["scratch_batch_norm_momentum"])
                fit_steps(scratch, x, y, settings["scratch_steps"], settings["batch_size"], seed)
                row["scratch"] = accuracy(scratch, *test)
                run = _transfer_run((x, y), test, settings, seed, augment, head_control=True)
                row["head"], row["fine_tuned"] = run["head_accuracy"], run["fine_tuned_accuracy"]
                row["head_control"] = run["head_control_accuracy"]
                row["head_train_loss"] = run["head_train_loss"]
                if name == "different":
                    standardized = _standardized_head_run((x, y), all_features[picked], test,
                                                          settings, seed, augment)
                    row["head_standardized"] = standardized["accuracy"]
                    row["head_standardized_head_steps"] = standardized["accuracy_head_steps"]
                    row["head_standardized_train_loss"] = standardized["train_loss"]
                row["source_accuracy_after_fine_tuning"] = run["source_accuracy"]
                row["cpu_seconds"] = round(time.process_time() - cpu, 1)
                rows.append(row)
                log(name, row)
        curves[name] = rows
    # fine-tuning done wrong, on the similar target at 20 examples per class
    train, test = targets["similar"]
    x, y = per_class(*train, 20, 0)
    augment = settings["augmentation"]
    cpu = time.process_time()
    ways = {
        "head first, then top block at fine_tune_rate": {},
        "head first, then top block at the head's rate": {"fine_tune_rate": settings["head_rate"]},
        "random head, top block at the head's rate": {"random_head": True,
                                                      "fine_tune_rate": settings["head_rate"]},
        "random head, top block at fine_tune_rate": {"random_head": True},
        "head first, then top block with batch norm in training mode": {"batch_norm": True},
    }
    fine_tuning = {}
    for way, options in ways.items():
        fine_tuning[way] = _transfer_run((x, y), test, settings, 0, augment, **options)
        log(way, fine_tuning[way])
    timing["fine_tuning_cpu_seconds"] = round(time.process_time() - cpu, 1)
    return {"curves": curves, "fine_tuning": {"per_class": 20, "target": "similar", "seed": 0,
                                              "runs": fine_tuning},
            "timing": timing}


# --- The second record: linear probe, then fine-tuning, against like-for-like controls --------
# python -m cnnbook.transfer --record --lp-ft [--jobs N]

LP_FT_PATH = pretrain.WEIGHTS_DIR / "transfer_lp_ft.json"
#: Settings of the LP-FT record. Every arm starts from the same head, the logistic regression
#: of feature extraction fitted to convergence (:func:`head_from_classifier`), and then takes
#: ``lp_ft_steps`` steps at ``fine_tune_rate`` with a fresh Adam, the same batches and the
#: same augmentation; only what trains differs. ``scratch`` (the middle target only: the
#: other two have it in ``transfer_curves.json``) trains the same architecture from random
#: weights for as many steps at ``head_rate``. Only 20 labelled images per class: the whole
#: training sets (size None) are supported but were not run for the shipped record, which
#: had to fit in the CPU time a loaded machine gave it.
LP_FT_SETTINGS = {
    "batch_size": 32,
    "lp_ft_steps": 500,
    "head_rate": 1e-3,
    "fine_tune_rate": 1e-4,
    "dropout": 0.3,
    "augmentation": RECORD_SETTINGS["augmentation"],
    "augmentation_digits": RECORD_SETTINGS["augmentation_digits"],
    "scratch_batch_norm_momentum": 0.9,
    "targets": ["middle", "different"],
    "sizes": [20],                # labelled examples per class (None: the whole training set)
    "seeds": [0, 1, 2, 3, 4],
    "scratch_targets": ["middle"],
}


_TARGETS = {}


def _target(name):
    """A target's ``(train, test)``, made once per process."""
    if name not in _TARGETS:
        _TARGETS[name] = {"similar": similar_target, "middle": middle_target,
                          "different": different_target}[name]()
    return _TARGETS[name]


def _lp_ft_run(train, test, settings, seed, augment_options, scratch=False):
    """Linear probe, then fine-tuning, against a like-for-like control: test accuracies.

    The logistic regression of feature extraction (:func:`feature_classifier`)
    becomes the head (:func:`head_from_classifier`); then, for ``lp_ft_steps``
    steps at ``fine_tune_rate`` with a fresh Adam, each arm from a fresh copy of
    the pretrained base, with the same seed, batches and augmentation:
    ``control`` trains the head alone, ``top_block`` the top block's
    convolutions and the head (batch normalisation frozen). ``features`` is the
    logistic regression itself, ``start`` the model with its head before any
    step (in inference mode it computes the same function). With ``scratch``,
    the same architecture trained from random weights for as many steps at
    ``head_rate``.
    """
    import keras

    from cnnbook import models

    features = bottleneck_features(models.load_pretrained_base(), train[0])
    classifier = feature_classifier(features, train[1], seed)
    test_features = bottleneck_features(models.load_pretrained_base(), test[0])
    out = {"features": float(classifier.score(test_features, test[1]))}
    for arm, prefix in [("control", None), ("top_block", pretrain.TOP_BLOCK)]:
        keras.utils.set_random_seed(seed)
        model = build_transfer_model(models.load_pretrained_base(), 10, settings["dropout"],
                                     _augmentation(augment_options, seed))
        head_from_classifier(model, classifier)
        if arm == "control":
            out["start"] = accuracy(model, *test)
        if prefix:
            unfreeze_top_block(model, settings["fine_tune_rate"], prefix=prefix)
        else:
            model.compile(optimizer=keras.optimizers.Adam(settings["fine_tune_rate"]),
                          loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        out[f"{arm}_train_loss_start"] = float(model.evaluate(*train, batch_size=500, verbose=0)[0])
        fit_steps(model, *train, settings["lp_ft_steps"], settings["batch_size"], seed + 1)
        out[f"{arm}_train_loss"] = float(model.evaluate(*train, batch_size=500, verbose=0)[0])
        out[arm] = accuracy(model, *test)
    if scratch:
        keras.utils.set_random_seed(seed)
        model = build_scratch_model(10, settings["dropout"], _augmentation(augment_options, seed),
                                    batch_norm_momentum=settings["scratch_batch_norm_momentum"])
        fit_steps(model, *train, settings["lp_ft_steps"], settings["batch_size"], seed + 1)
        out["scratch"] = accuracy(model, *test)
    return out


def _lp_ft_job(name, n, seed, settings):
    """One row of the LP-FT record: target ``name``, ``n`` examples per class drawn with ``seed``."""
    import tensorflow as tf

    tf.config.experimental.enable_op_determinism()
    cpu = time.process_time()
    train, test = _target(name)
    x, y = per_class(*train, n, seed)
    row = {"target": name, "per_class": n if n is not None else int(np.bincount(train[1]).min()),
           "all": n is None, "train_images": int(len(y)), "seed": seed}
    augment = settings["augmentation_digits" if name == "different" else "augmentation"]
    row.update(_lp_ft_run((x, y), test, settings, seed, augment,
                          scratch=name in settings["scratch_targets"]))
    row["cpu_seconds"] = round(time.process_time() - cpu, 1)
    return row


def record_lp_ft(settings=LP_FT_SETTINGS, log=print, jobs=1, cache=None):
    """Run the LP-FT record's rows (see :func:`load_lp_ft`), shared out between ``jobs`` processes.

    Every row seeds itself, so the result does not depend on the order of the
    rows or the process they ran in; each worker starts its own TensorFlow
    (set ``TF_NUM_INTRAOP_THREADS`` and friends to 1 to give each one core).
    The rows with 20 examples per class start first, then the larger sets.

    Parameters
    ----------
    settings : dict, default ``LP_FT_SETTINGS``
    log : callable, default print
        Called with each row as it finishes.
    jobs : int, default 1
    cache : str or pathlib.Path, optional
        A JSON-lines file: every finished row is appended to it with the
        settings it ran with, and a later call reuses the rows whose target,
        size, seed and settings are the same instead of running them again (an
        interrupted record resumes; fewer seeds or sizes reuse what was run).

    Returns
    -------
    rows : list of dict
        One row per target, size and seed, in that order.
    cached : int
        How many of them came from ``cache``.
    """
    plan = [(name, n, seed) for name in settings["targets"] for n in settings["sizes"]
            for seed in settings["seeds"]]
    row_settings = {k: v for k, v in settings.items()          # what a row's numbers depend on
                    if k not in ("targets", "sizes", "seeds", "scratch_targets")}
    key_of = {key: json.dumps([*key, key[0] in settings["scratch_targets"], row_settings], sort_keys=True)
              for key in plan}
    results = {}
    if cache is not None and Path(cache).exists():
        stored = {}
        for line in Path(cache).read_text().splitlines():
            entry = json.loads(line)
            stored[entry["key"]] = entry["row"]
        results = {key: stored[key_of[key]] for key in plan if key_of[key] in stored}
    cached = len(results)

    def finished(key, row):
        results[key] = row
        if cache is not None:
            with open(cache, "a") as file:
                file.write(json.dumps({"key": key_of[key], "row": row}) + "\n")
        log(row)

    todo = sorted((key for key in plan if key not in results),
                  key=lambda key: (settings["sizes"].index(key[1]), plan.index(key)))
    if jobs == 1:
        for key in todo:
            finished(key, _lp_ft_job(*key, settings))
    elif todo:
        import concurrent.futures
        import multiprocessing

        context = multiprocessing.get_context("spawn")
        with concurrent.futures.ProcessPoolExecutor(jobs, mp_context=context) as pool:
            futures = {pool.submit(_lp_ft_job, *key, settings): key for key in todo}
            for future in concurrent.futures.as_completed(futures):
                finished(futures[future], future.result())
    return [results[key] for key in plan], cached


def load_lp_ft():
    """Load the LP-FT record of chapter 5, written by ``python -m cnnbook.transfer --record --lp-ft``.

    Returns
    -------
    dict
        ``settings``; ``rows``: one per target (``"middle"``, ``"different"``),
        size and seed, with the test accuracy of ``"features"`` (the logistic
        regression on the bottleneck features), ``"start"`` (the transfer model
        with that regression as its head, before any step), ``"control"`` (then
        the head alone) and ``"top_block"`` (then the top block and the head),
        the training loss (inference mode) before and after each, and on the
        middle target ``"scratch"``; the command, versions, CPU time and load
        average.

    Raises
    ------
    ValueError
        If the record is missing.

    Examples
    --------
    >>> record = load_lp_ft()
    >>> sorted({row["target"] for row in record["rows"]})
    ['different', 'middle']
    """
    if not LP_FT_PATH.exists():
        raise ValueError(f"no record {LP_FT_PATH.name} in {LP_FT_PATH.parent}: "
                         "run python -m cnnbook.transfer --record --lp-ft")
    return json.loads(LP_FT_PATH.read_text())


def load_curves():
    """Load the record of chapter 5, written by ``python -m cnnbook.transfer --record``.

    Returns
    -------
    dict
        ``settings``; ``curves``: for the ``"similar"`` and ``"different"``
        targets, one row per size and seed with the test accuracy of
        ``"scratch"``, ``"features"`` (logistic regression on the bottleneck
        features), ``"head"`` (the frozen base with a new head) and
        ``"fine_tuned"`` (then the top block), ``"head_control"`` (the head
        alone for as many steps as the fine-tuned model), ``"head_train_loss"``
        (the head's training loss, inference mode, every 100 steps), on the
        digits ``"head_standardized"`` (the head on standardised features), and
        the source accuracy after fine-tuning; ``fine_tuning``: five ways of
        fine-tuning on the similar target (gradient norm, accuracy, change of
        the features, source accuracy); the command, seeds, versions, CPU time
        and load average.

    Raises
    ------
    ValueError
        If the record is missing.

    Examples
    --------
    >>> record = load_curves()
    >>> sorted(record["curves"])
    ['different', 'similar']
    """
    if not CURVES_PATH.exists():
        raise ValueError(f"no record {CURVES_PATH.name} in {CURVES_PATH.parent}: "
                         "run python -m cnnbook.transfer --record")
    return json.loads(CURVES_PATH.read_text())


def main(argv=None):
    """``python -m cnnbook.transfer --record [--out FILE] [--quick]``: write chapter 5's record."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--record", action="store_true", help="run the experiments, write the record")
    parser.add_argument("--out", type=Path, default=CURVES_PATH)
    parser.add_argument("--quick", action="store_true",
                        help="a short run with few steps and sizes, to check the script (use --out)")
    parser.add_argument("--lp-ft", action="store_true",
                        help="write the LP-FT record (transfer_lp_ft.json) instead of the curves")
    parser.add_argument("--cache", type=Path, default=None,
                        help="--lp-ft: a JSON-lines file of finished rows, reused by a later run")
    parser.add_argument("--jobs", type=int, default=1,
                        help="worker processes for --lp-ft (each its own TensorFlow); "
                             "the result does not depend on it")
    args = parser.parse_args(argv)
    if not args.record:
        parser.error("nothing to do: pass --record")
    if args.lp_ft:
        return _main_lp_ft(args, argv)
    settings, sizes = dict(RECORD_SETTINGS), SIZES
    if args.quick:
        if args.out.resolve() == CURVES_PATH:
            parser.error("--quick would overwrite the shipped record: give --out another file")
        settings.update(scratch_steps=4, head_steps=2, fine_tune_steps=2, source_test_images=100)
        sizes = (5,)

    import keras
    import tensorflow as tf

    tf.config.experimental.enable_op_determinism()
    load_before = os.getloadavg()
    wall, cpu = time.perf_counter(), time.process_time()
    result = record_curves(settings, sizes)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    record = {
        "command": " ".join(["python -m cnnbook.transfer", *(sys.argv[1:] if argv is None else argv)]),
        "settings": settings,
        "sizes": [n for n in sizes],
        "seeds": settings["seeds"],
        "targets": {"similar": "similar_target(): make_shapes, SHAPE_CLASSES, "
                               f"{SIMILAR_TRAIN_PER_CLASS} train / {SIMILAR_TEST_PER_CLASS} test "
                               f"per class, seed {SIMILAR_SEED}",
                    "different": "different_target(): load_digits(size=32), grey in 3 channels, "
                                 "1257 train / 360 test"},
        "base": {"record": pretrain.RECORD_PATH.name,
                 "source_accuracy": json.loads(pretrain.RECORD_PATH.read_text())["test"]["accuracy"]},
        "versions": {"python": platform.python_version(), "numpy": np.__version__,
                     "tensorflow": tf.__version__, "keras": keras.__version__},
        "machine": {"processor": platform.machine(), "cpu_count": pretrain._cpu_count(),
                    "nice": os.nice(0)},
        "seconds": {"wall": round(wall, 1), "cpu": round(cpu, 1)},
        "load_average": {"before": [round(v, 2) for v in load_before],
                         "after": [round(v, 2) for v in os.getloadavg()]},
        **result,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record, indent=2) + "\n")
    print(json.dumps({k: record[k] for k in ("seconds", "load_average")}))


def _main_lp_ft(args, argv):
    """``--record --lp-ft``: run :func:`record_lp_ft` and write its record."""
    out = LP_FT_PATH if args.out.resolve() == CURVES_PATH else args.out
    settings = dict(LP_FT_SETTINGS)
    if args.quick:
        if out.resolve() == LP_FT_PATH:
            raise SystemExit("--quick would overwrite the shipped record: give --out another file")
        settings.update(lp_ft_steps=2, sizes=[5], seeds=[0])

    import resource
    from importlib import metadata

    load_before = os.getloadavg()
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    wall, cpu = time.perf_counter(), time.process_time()
    rows, cached = record_lp_ft(settings, jobs=args.jobs, cache=args.cache)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    wall = time.perf_counter() - wall
    cpu = (time.process_time() - cpu + after.ru_utime - children.ru_utime
           + after.ru_stime - children.ru_stime)           # this process and its workers
    record = {
        "command": " ".join(["python -m cnnbook.transfer", *(sys.argv[1:] if argv is None else argv)]),
        "settings": settings,
        "targets": {"middle": "middle_target(): textured_shapes, SHAPE_CLASSES restyled with "
                              f"photographs, {SIMILAR_TRAIN_PER_CLASS} train / {SIMILAR_TEST_PER_CLASS} "
                              f"test per class, seed {MIDDLE_SEED}",
                    "different": "different_target(): load_digits(size=32), grey in 3 channels, "
                                 "1257 train / 360 test"},
        "base": {"record": pretrain.RECORD_PATH.name},
        "versions": {"python": platform.python_version(), "numpy": np.__version__,
                     "tensorflow": metadata.version("tensorflow-cpu") if _installed("tensorflow-cpu")
                     else metadata.version("tensorflow"), "keras": metadata.version("keras")},
        "machine": {"processor": platform.machine(), "cpu_count": pretrain._cpu_count(),
                    "nice": os.nice(0), "jobs": args.jobs,
                    "tensorflow_threads": os.environ.get("TF_NUM_INTRAOP_THREADS", "default")},
        # wall and cpu time this command, i.e. only the rows it ran (None when every row came
        # from the cache); cpu_rows adds up every row's own CPU time, cached rows included
        "seconds": {"wall": round(wall, 1) if cached < len(rows) else None,
                    "cpu": round(cpu, 1) if cached < len(rows) else None,
                    "cpu_rows": round(sum(row["cpu_seconds"] for row in rows), 1),
                    "rows_run": len(rows) - cached},
        "rows_from_cache": cached,
        "load_average": {"before": [round(v, 2) for v in load_before],
                         "after": [round(v, 2) for v in os.getloadavg()]},
        "rows": rows,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(record, indent=2) + "\n")
    print(json.dumps({k: record[k] for k in ("seconds", "load_average")}))


def _installed(distribution):
    from importlib import metadata

    try:
        metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return False
    return True


if __name__ == "__main__":
    main()
