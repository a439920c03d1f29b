"""Deep stacks, plain and residual, and chapter 4's record of its longer runs.

Chapter 4 asks three questions whose answers need more training than a chapter
can run in two minutes, over several seeds:

- Does a 16-layer plain stack fail because it is plain, or because of its
  initialisation? :func:`deep_stack` builds it plain or residual, with Glorot
  (Keras' default) or He initialisation, and its residual branches unnormalised,
  with batch normalisation, or with batch normalisation whose scale starts at 0.
- Do deeper plain networks train worse than shallower ones when initialisation
  and batch normalisation are right (He et al. 2016's *degradation*), and do
  residual ones not? :func:`cifar_style_net` builds He et al.'s CIFAR-10
  networks, plain or residual, at any depth.
- Why does the small Inception network of the chapter lose to the plain
  convnet? :func:`plain_convnet`, :func:`small_inception` and
  :func:`small_resnet` are the chapter's three small networks;
  :data:`INCEPTION_VARIANTS` changes one factor of the Inception network at a
  time; :func:`statistics_replacement` tells which of the stem's lagging
  moving averages, the mean or the variance, costs its accuracy.

``python -m cnnbook.deep_nets --record`` runs them all and writes
``cnnbook/weights/deep_nets.json``, which :func:`load_record` reads;
``--only SECTION`` runs one section and keeps the file's others;
``--only depth --resume`` adds the seeds that :data:`RECORD_SETTINGS` lists
and the depth section lacks, keeping the runs it has;
``--quick --out FILE`` is a seconds-long run of the same code. The shipped
record holds :data:`CHAPTER_SECTIONS`, the runs chapter 4 loads
(``--only stacks``, ``--only depth``, ``--only inception``); it may hold others.
"""

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

from cnnbook import data, models

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
RECORD_PATH = WEIGHTS_DIR / "deep_nets.json"

#: The stacks' layers and filters (chapter 4's 16-layer stack of 3×3 convolutions).
STACK_DEPTH = 16
STACK_FILTERS = 16
#: What :func:`deep_stack` can put after each residual branch's convolution.
BRANCH_NORMS = (None, "batch", "batch_zero")


def shapes_data(num_train=3000, num_validation=500, num_test=1000):
    """Return chapter 4's data: upright 16×16 shapes, pixel values scaled to [0, 1].

    Parameters
    ----------
    num_train, num_validation, num_test : int
        Sizes of the three sets (drawn by :func:`cnnbook.data.shapes_splits`
        with seed 4, ``image_size=16``, ``max_rotation=0``).

    Returns
    -------
    tuple
        ``(x_train, y_train), (x_val, y_val), (x_test, y_test)``; images
        float32 ``(n, 16, 16, 3)``, labels int64 ``(n,)``.

    Examples
    --------
    >>> (x_train, y_train), _, (x_test, _) = shapes_data(20, 5, 10)
    >>> x_train.shape, x_train.dtype, float(x_train.max()) <= 1.0, x_test.shape
    ((20, 16, 16, 3), dtype('float32'), True, (10, 16, 16, 3))
    """
    splits = data.shapes_splits(num_train, num_validation, num_test, seed=4, image_size=16,
                                max_rotation=0)
    return tuple((images.astype("float32") / 255, labels) for images, labels in splits)


def deep_stack(residual, kernel_initializer="glorot_uniform", depth=STACK_DEPTH,
               branch_norm=None, name=None):
    """Build chapter 4's deep stack of 3×3 convolutions, plain or residual.

    A stem (a 3×3 convolution with stride 2 and a ReLU: 16×16 images become
    8×8×16), then ``depth`` layers. Layer ``k`` computes
    ``F_k(x) = conv_k(relu(x))``, a 3×3 convolution of 16 filters applied to
    the rectified input (the order of pre-activation ResNets, He et al. 2016b).
    The plain stack passes ``x <- F_k(x)`` on; the residual one
    ``x <- x + F_k(x)``: nothing follows the addition, so the identity path
    carries the gradient unchanged. The head: global average pooling, batch
    normalisation of the 16 pooled values (so that the logits start at the
    same scale whatever the stack did), a dense layer of 10 logits.

    Parameters
    ----------
    residual : bool
        Add each layer's input to its output.
    kernel_initializer : str, default "glorot_uniform"
        Keras' default (Glorot) or e.g. ``"he_normal"`` (He et al. 2015), for
        every convolution.
    depth : int, default 16
        Number of layers after the stem.
    branch_norm : {None, "batch", "batch_zero"}
        Residual stacks only: after each branch's convolution, nothing, a
        batch normalisation, or a batch normalisation whose scale γ starts at
        0, so that every branch starts as zero (Goyal et al. 2017).
    name : str, optional
        The model's name (default ``"residual"`` or ``"plain"``).

    Returns
    -------
    keras.Model
        From ``(N, 16, 16, 3)`` images to ``(N, 10)`` logits. Layer ``k``'s
        output is the layer named ``f"add{k}"`` (residual) or ``f"conv{k}"``
        (plain); :func:`layer_outputs` collects them.

    Raises
    ------
    ValueError
        If ``branch_norm`` is unknown, or given for a plain stack.

    Examples
    --------
    >>> plain, residual = deep_stack(False, depth=3), deep_stack(True, depth=3)
    >>> plain.count_params() == residual.count_params(), residual.name
    (True, 'residual')
    """
    import keras  # deferred: no work at import time

    layers = keras.layers
    if branch_norm not in BRANCH_NORMS:
        raise ValueError(f"branch_norm must be one of {BRANCH_NORMS}, got {branch_norm!r}")
    if branch_norm is not None and not residual:
        raise ValueError("branch_norm normalises residual branches: use it with residual=True")
    inputs = keras.Input((16, 16, 3))
    x = layers.Conv2D(STACK_FILTERS, 3, strides=2, padding="same", activation="relu",
                      kernel_initializer=kernel_initializer, name="stem")(inputs)
    for k in range(1, depth + 1):
        y = layers.ReLU(name=f"relu{k}")(x)
        y = layers.Conv2D(STACK_FILTERS, 3, padding="same", kernel_initializer=kernel_initializer,
                          name=f"conv{k}")(y)
        if branch_norm is not None:
            gamma = "zeros" if branch_norm == "batch_zero" else "ones"
            y = layers.BatchNormalization(gamma_initializer=gamma, name=f"norm{k}")(y)
        x = layers.Add(name=f"add{k}")([x, y]) if residual else y
    x = layers.BatchNormalization(name="head_norm")(layers.GlobalAveragePooling2D(name="pool")(x))
    logits = layers.Dense(10, name="logits")(x)
    return keras.Model(inputs, logits, name=name or ("residual" if residual else "plain"))


def layer_outputs(stack):
    """Return a model from a :func:`deep_stack`'s input to ``[logits, x_1, ..., x_depth]``.

    ``x_k`` is the output of layer ``k`` (``x_0``, the stem's output, is not
    included). The returned model shares the stack's layers and weights.

    Parameters
    ----------
    stack : keras.Model
        Built by :func:`deep_stack`.

    Returns
    -------
    keras.Model

    Examples
    --------
    >>> probe = layer_outputs(deep_stack(True, depth=3))
    >>> [tuple(t.shape) for t in probe.outputs]
    [(None, 10), (None, 8, 8, 16), (None, 8, 8, 16), (None, 8, 8, 16)]
    """
    import keras  # deferred: no work at import time

    names = [layer.name for layer in stack.layers]
    prefix = "add" if "add1" in names else "conv"
    depth = sum(name.startswith("conv") for name in names)
    outputs = [stack.get_layer(f"{prefix}{k}").output for k in range(1, depth + 1)]
    return keras.Model(stack.input, [stack.output, *outputs])


def gradient_norms(stack, images, labels):
    """Return the norm of the loss's gradient at each layer's output, and the outputs' RMS.

    One forward and backward pass on ``images`` in training mode (batch
    normalisation uses the batch's statistics), before any training: the
    gradient with respect to ``x_k`` is what backpropagation hands down to
    layer ``k``.

    Parameters
    ----------
    stack : keras.Model
        Built by :func:`deep_stack`.
    images : ndarray, shape (N, 16, 16, 3)
    labels : ndarray of int, shape (N,)

    Returns
    -------
    gradients : ndarray, shape (depth,)
        ``||dL/dx_k||`` for ``k = 1 ... depth`` (L: mean cross-entropy).
    rms : ndarray, shape (depth,)
        ``sqrt(mean(x_k ** 2))``: the size of each layer's output.

    Examples
    --------
    >>> import keras
    >>> keras.utils.set_random_seed(0)
    >>> (x, y), _, _ = shapes_data(8, 1, 1)
    >>> gradients, rms = gradient_norms(deep_stack(False, depth=3), x, y)
    >>> gradients.shape, bool(np.all(gradients > 0)), rms.shape
    ((3,), True, (3,))
    """
    import keras  # deferred: no work at import time
    import tensorflow as tf

    probe = layer_outputs(stack)
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    with tf.GradientTape() as tape:
        logits, *outputs = probe(images, training=True)
        loss = loss_fn(labels, logits)
    gradients = tape.gradient(loss, outputs)
    return (np.array([float(tf.norm(g)) for g in gradients]),
            np.array([float(tf.sqrt(tf.reduce_mean(tf.square(x)))) for x in outputs]))


def plain_block(x, filters, stride=1, kernel_initializer="he_normal", name=None):
    """Apply :func:`cnnbook.models.residual_block`'s main path alone, without its shortcut.

    3×3 convolution (``stride``, no bias) → batch normalisation → ReLU → 3×3
    convolution → batch normalisation → ReLU: the block of a *plain* network in
    He et al. 2016's comparison.

    Parameters
    ----------
    x : KerasTensor, shape (N, H, W, C)
    filters : int
    stride : int, default 1
    kernel_initializer : str, default "he_normal"
    name : str, optional
        Prefix of the layer names.

    Returns
    -------
    KerasTensor, shape (N, ceil(H / stride), ceil(W / stride), filters)

    Examples
    --------
    >>> import keras
    >>> tuple(plain_block(keras.Input((8, 8, 16)), 32, stride=2).shape)
    (None, 4, 4, 32)
    """
    import keras  # deferred: no work at import time

    layers = keras.layers

    def named(suffix):
        return f"{name}_{suffix}" if name else None

    y = layers.Conv2D(filters, 3, strides=stride, padding="same", use_bias=False,
                      kernel_initializer=kernel_initializer, name=named("conv1"))(x)
    y = layers.ReLU(name=named("relu1"))(layers.BatchNormalization(name=named("bn1"))(y))
    y = layers.Conv2D(filters, 3, padding="same", use_bias=False,
                      kernel_initializer=kernel_initializer, name=named("conv2"))(y)
    return layers.ReLU(name=named("out"))(layers.BatchNormalization(name=named("bn2"))(y))


def cifar_style_net(blocks_per_stage, residual, width=16, name=None):
    """Build He et al. 2016's CIFAR-10 network for 16×16 images, plain or residual.

    A 3×3 convolution (batch normalisation, ReLU), three stages of
    ``blocks_per_stage`` blocks of two 3×3 convolutions with ``width``,
    ``2·width`` and ``4·width`` filters (the first block of stages 2 and 3 has
    stride 2: 16×16, 8×8, 4×4), global average pooling and a dense layer:
    ``6·blocks_per_stage + 2`` weight layers deep. Residual blocks are
    :func:`cnnbook.models.residual_block` (with a projection where the shape
    changes), plain ones :func:`plain_block`; every convolution is
    He-initialised and followed by batch normalisation.

    Parameters
    ----------
    blocks_per_stage : int
        ``n`` in the paper: 3 gives 20 layers, 9 gives 56.
    residual : bool
    width : int, default 16
    name : str, optional

    Returns
    -------
    keras.Model
        From ``(N, 16, 16, 3)`` images to ``(N, 10)`` logits.

    Examples
    --------
    >>> from cnnbook import models
    >>> net = cifar_style_net(1, residual=True)
    >>> models.weight_depth(net), net.output_shape
    (8, (None, 10))
    """
    import keras  # deferred: no work at import time

    layers = keras.layers
    if int(blocks_per_stage) < 1:
        raise ValueError(f"blocks_per_stage must be a positive int, got {blocks_per_stage!r}")
    inputs = keras.Input((16, 16, 3))
    x = layers.Conv2D(width, 3, padding="same", use_bias=False, kernel_initializer="he_normal")(inputs)
    x = layers.ReLU()(layers.BatchNormalization()(x))
    for stage, filters in enumerate((width, 2 * width, 4 * width)):
        for block in range(blocks_per_stage):
            stride = 2 if stage > 0 and block == 0 else 1
            if residual:
                x = models.residual_block(x, filters, stride, kernel_initializer="he_normal")
            else:
                x = plain_block(x, filters, stride)
    logits = layers.Dense(10)(layers.GlobalAveragePooling2D()(x))
    kind = "residual" if residual else "plain"
    return keras.Model(inputs, logits, name=name or f"{kind}_{6 * blocks_per_stage + 2}")


# --- The chapter's three small networks, and the Inception network's variants ---------------

def _stem(inputs, momentum=0.99):
    """The three networks' common start: 3×3 convolution, batch normalisation, ReLU, pooling."""
    import keras  # deferred: no work at import time

    layers = keras.layers
    x = layers.Conv2D(32, 3, padding="same", use_bias=False, name="stem_conv")(inputs)
    x = layers.BatchNormalization(momentum=momentum, name="stem_bn")(x)
    x = layers.ReLU(name="stem_relu")(x)
    return layers.MaxPooling2D(name="stem_pool")(x)  # 8×8×32


def _head(x):
    """Global average pooling and a dense layer of 10 logits."""
    import keras  # deferred: no work at import time

    pooled = keras.layers.GlobalAveragePooling2D(name="gap")(x)
    return keras.layers.Dense(10, name="logits")(pooled)


def plain_convnet():
    """Build the chapter's plain convnet for 16×16 images.

    The stem (3×3 convolution of 32, batch normalisation, ReLU, 2×2 pooling),
    a 3×3 convolution of 64 with a ReLU, 2×2 pooling, another of 64, then
    global average pooling and a dense layer.

    Returns
    -------
    keras.Model
        ``"plain_convnet"``, from ``(N, 16, 16, 3)`` to ``(N, 10)`` logits.

    Examples
    --------
    >>> plain_convnet().count_params()
    57066
    """
    import keras  # deferred: no work at import time

    layers = keras.layers
    inputs = keras.Input((16, 16, 3))
    x = layers.Conv2D(64, 3, padding="same", activation="relu", name="conv1")(_stem(inputs))
    x = layers.MaxPooling2D(name="pool1")(x)
    x = layers.Conv2D(64, 3, padding="same", activation="relu", name="conv2")(x)
    return keras.Model(inputs, _head(x), name="plain_convnet")


#: Filters of the small Inception network's two modules, in GoogLeNet's table order
#: (1×1, 3×3 reduce, 3×3, 5×5 reduce, 5×5, pool projection).
SMALL_INCEPTION_FILTERS = ((16, 24, 32, 8, 16, 16), (32, 32, 64, 8, 16, 16))


def small_inception(batch_norm=False, width=1.0, stem_momentum=0.99, name="small_inception"):
    """Build the chapter's small Inception network for 16×16 images.

    The stem, an Inception module (:func:`cnnbook.models.inception_module`,
    8×8×80 out), 2×2 pooling, a second module (4×4×128 out), then global
    average pooling and a dense layer.

    Parameters
    ----------
    batch_norm : bool, default False
        Batch normalisation after every convolution of the modules.
    width : float, default 1.0
        Multiplies every module's filters (rounded, at least 1).
    stem_momentum : float, default 0.99
        Momentum of the stem's batch normalisation (Keras' default, 0.99,
        averages its statistics over the last hundred or so batches).
    name : str, default "small_inception"

    Returns
    -------
    keras.Model

    Examples
    --------
    >>> small_inception().count_params(), small_inception().output_shape
    (43394, (None, 10))
    """
    import keras  # deferred: no work at import time

    if width <= 0:
        raise ValueError(f"width must be positive, got {width!r}")
    first, second = ([max(1, round(f * width)) for f in filters] for filters in SMALL_INCEPTION_FILTERS)
    inputs = keras.Input((16, 16, 3))
    x = models.inception_module(_stem(inputs, stem_momentum), *first, name="inception1",
                                batch_norm=batch_norm)
    x = keras.layers.MaxPooling2D(name="pool1")(x)
    x = models.inception_module(x, *second, name="inception2", batch_norm=batch_norm)
    return keras.Model(inputs, _head(x), name=name)


def small_resnet():
    """Build the chapter's small ResNet for 16×16 images.

    The stem, a residual block of 32 filters (:func:`cnnbook.models.residual_block`,
    identity shortcut), a block of 64 with stride 2 (projection shortcut),
    then global average pooling and a dense layer.

    Returns
    -------
    keras.Model
        ``"small_resnet"``, from ``(N, 16, 16, 3)`` to ``(N, 10)`` logits.

    Examples
    --------
    >>> small_resnet().count_params()
    78442
    """
    import keras  # deferred: no work at import time

    inputs = keras.Input((16, 16, 3))
    x = models.residual_block(_stem(inputs), 32, name="block1")       # 8×8×32
    x = models.residual_block(x, 64, stride=2, name="block2")        # 4×4×64, projection
    return keras.Model(inputs, _head(x), name="small_resnet")


def accuracy(model, images, labels, training=False, batch_size=500):
    """Return the share of ``images`` that ``model`` classifies as ``labels``.

    Parameters
    ----------
    model : keras.Model
        Outputs logits (or probabilities).
    images : ndarray, shape (N, H, W, C)
    labels : ndarray of int, shape (N,)
    training : bool, default False
        Call the model in training mode: batch normalisation then uses each
        batch's own statistics instead of its moving averages (and updates
        those averages).
    batch_size : int, default 500

    Returns
    -------
    float

    Examples
    --------
    >>> import keras
    >>> model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(2, use_bias=False)])
    >>> model.set_weights([np.eye(2, dtype="float32")])
    >>> accuracy(model, np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]]), np.array([0, 1, 1]))
    0.6666666666666666
    """
    if int(batch_size) < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    predictions = np.concatenate([
        np.asarray(model(images[start:start + batch_size], training=training)).argmax(axis=-1)
        for start in range(0, len(images), int(batch_size))])
    return float(np.mean(predictions == np.asarray(labels)))


def recalibrate_batch_norm(model, images):
    """Set every batch normalisation's moving mean and variance to their values on ``images``.

    During training, Keras' ``BatchNormalization`` keeps exponential moving
    averages of each batch's mean and variance (``momentum=0.99``: the last
    hundred or so batches count), and uses them at inference. After a short,
    fast-moving training run they still remember statistics of weights that
    have since changed. This replaces them by the statistics of ``images``
    computed with the final weights, in one pass in training mode (momentum
    set to 0 for that pass): the network then computes at inference what it
    computes in training mode on a batch of ``images``.

    Parameters
    ----------
    model : keras.Model
        Changed in place (its moving statistics only; no trained weight
        changes).
    images : ndarray, shape (N, H, W, C)
        Typically the training images (all of them: one batch).

    Returns
    -------
    keras.Model
        ``model`` itself.

    Examples
    --------
    >>> import keras
    >>> model = keras.Sequential([keras.Input((3,)), keras.layers.BatchNormalization()])
    >>> x = np.random.default_rng(0).normal(5.0, 2.0, size=(100, 3)).astype("float32")
    >>> moving_mean = recalibrate_batch_norm(model, x).layers[0].moving_mean
    >>> np.allclose(np.asarray(moving_mean), x.mean(axis=0), atol=1e-5)
    True
    """
    norms = [layer for layer in _all_layers(model) if type(layer).__name__ == "BatchNormalization"]
    momenta = [layer.momentum for layer in norms]
    try:
        for layer in norms:
            layer.momentum = 0.0
        model(images, training=True)
    finally:
        for layer, momentum in zip(norms, momenta):
            layer.momentum = momentum
    return model


def _all_layers(model):
    """Yield the layers of ``model``, entering nested models."""
    for layer in model.layers:
        if hasattr(layer, "layers"):
            yield from _all_layers(layer)
        else:
            yield layer


# --- Training, and the record: python -m cnnbook.deep_nets --record -------------------------

def train(model, train_set, epochs, learning_rate, batch_size=32, optimizer="adam",
          validation=None, test=None):
    """Compile and fit ``model`` with Adam (or SGD with momentum 0.9); return what it did.

    Parameters
    ----------
    model : keras.Model
        Outputs logits.
    train_set : tuple of ndarray
        ``(images, labels)``.
    epochs : int
    learning_rate : float
        Constant through the run.
    batch_size : int, default 32
    optimizer : {"adam", "sgd"}
    validation, test : tuple of ndarray, optional
        ``(images, labels)`` scored after every epoch (validation) or at the
        end, in inference mode (test).

    Returns
    -------
    dict
        ``loss`` and ``accuracy`` per epoch (training mode, averaged over the
        epoch's batches, as Keras reports them), ``val_accuracy`` per epoch
        if ``validation`` is given, ``test_accuracy`` if ``test`` is given,
        ``cpu_seconds`` of the fit.

    Examples
    --------
    >>> import keras
    >>> keras.utils.set_random_seed(0)
    >>> (x, y), _, test = shapes_data(64, 1, 32)
    >>> run = train(deep_stack(True, depth=2), (x, y), epochs=2, learning_rate=1e-3, test=test)
    >>> len(run["loss"]), 0 <= run["test_accuracy"] <= 1
    (2, True)
    """
    import keras  # deferred: no work at import time

    if optimizer == "adam":
        opt = keras.optimizers.Adam(learning_rate)
    elif optimizer == "sgd":
        opt = keras.optimizers.SGD(learning_rate, momentum=0.9)
    else:
        raise ValueError(f"optimizer must be 'adam' or 'sgd', got {optimizer!r}")
    model.compile(optimizer=opt, loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    cpu = time.process_time()
    history = model.fit(*train_set, validation_data=validation, epochs=epochs,
                        batch_size=batch_size, verbose=0).history
    run = {"loss": [round(float(v), 4) for v in history["loss"]],
           "accuracy": [round(float(v), 4) for v in history["accuracy"]]}
    if validation is not None:
        run["val_accuracy"] = [round(float(v), 4) for v in history["val_accuracy"]]
    run["cpu_seconds"] = round(time.process_time() - cpu, 1)
    if test is not None:
        run["test_accuracy"] = round(float(model.evaluate(*test, verbose=0, batch_size=250)[1]), 4)
    return run


#: Settings of the record (``python -m cnnbook.deep_nets --record``).
RECORD_SETTINGS = {
    "seeds": [0, 1, 2],
    "images": [3000, 500, 1000],  # shapes_data(): train, validation, test
    # the 16-layer stacks, trained as in the chapter but for 10 epochs (the chapter
    # trains 4: a run's first 4 epochs are the chapter's), over five seeds
    "stack_seeds": [0, 1, 2, 3, 4],
    "stack_train_images": 2000, "stack_epochs": 10, "stack_batch_size": 32,
    "stack_learning_rate": {"adam": 1e-3, "sgd": 0.01},  # SGD with momentum 0.9
    "stack_gradient_images": 256,
    # He et al.'s plain and residual networks at two depths (6n + 2 layers)
    "depth_blocks_per_stage": [1, 3], "depth_seeds": [0, 1, 2], "depth_epochs": 10,
    "depth_batch_size": 128, "depth_learning_rate": 0.1, "depth_optimizer": "sgd",
    # the chapter's three small networks, and the Inception network's variants
    "small_epochs": 6, "small_batch_size": 32, "small_learning_rate": 2e-3,
    # which stacks, depths' kinds, networks and variants to run: the chapter's three
    # stacks with its optimizer (:data:`STACKS` has more), every depth's kind, every
    # network and variant
    "stacks": {"sgd": ["plain, Glorot", "plain, He", "residual, Glorot"]},
    "depth_residual": [False, True],
    "networks": ["plain_convnet", "small_inception", "small_resnet"],
    "variants": ["twice the epochs", "half the learning rate", "1.5 times the filters",
                 "batch norm in the modules", "stem momentum 0.9"],
}

#: The stacks of the record: :func:`deep_stack`'s options.
STACKS = {
    "plain, Glorot": {"residual": False},
    "plain, He": {"residual": False, "kernel_initializer": "he_normal"},
    "residual, Glorot": {"residual": True},
    "residual, He": {"residual": True, "kernel_initializer": "he_normal"},
    "residual, batch norm": {"residual": True, "branch_norm": "batch"},
    "residual, batch norm from zero": {"residual": True, "branch_norm": "batch_zero"},
}

#: The small Inception network with one factor changed at a time: (builder options,
#: training options that differ from the chapter's).
INCEPTION_VARIANTS = {
    "twice the epochs": ({}, {"epochs": 12}),
    "half the learning rate": ({}, {"learning_rate": 1e-3}),
    "1.5 times the filters": ({"width": 1.5}, {}),
    "batch norm in the modules": ({"batch_norm": True}, {}),
    "stem momentum 0.9": ({"stem_momentum": 0.9}, {}),
}

SMALL_NETWORKS = {"plain_convnet": plain_convnet, "small_inception": small_inception,
                  "small_resnet": small_resnet}

SECTIONS = ("stacks", "depth", "inception")
#: The sections that chapter 4 loads from the shipped record (the others can be
#: recorded with ``--only``; the chapter cites the literature for them).
CHAPTER_SECTIONS = ("stacks", "depth", "inception")
#: The settings each section's runs depend on (a section's record stores all of
#: :data:`RECORD_SETTINGS`; only these describe its runs).
SECTION_SETTINGS = {
    "stacks": ("stack_seeds", "images", "stack_train_images", "stack_epochs", "stack_batch_size",
               "stack_learning_rate", "stack_gradient_images", "stacks"),
    "depth": ("images", "depth_blocks_per_stage", "depth_seeds", "depth_epochs", "depth_batch_size",
              "depth_learning_rate", "depth_optimizer", "depth_residual"),
    "inception": ("seeds", "images", "small_epochs", "small_batch_size", "small_learning_rate",
                  "networks", "variants"),
}


def section_settings(section, settings):
    """Return the part of ``settings`` that ``section``'s runs depend on.

    Parameters
    ----------
    section : {"stacks", "depth", "inception"}
    settings : dict
        Like :data:`RECORD_SETTINGS`.

    Returns
    -------
    dict

    Examples
    --------
    >>> section_settings("depth", RECORD_SETTINGS)["depth_epochs"]
    10
    >>> "small_epochs" in section_settings("depth", RECORD_SETTINGS)
    False
    """
    if section not in SECTION_SETTINGS:
        raise ValueError(f"section must be one of {SECTIONS}, got {section!r}")
    return {key: settings[key] for key in SECTION_SETTINGS[section]}


def resumable_runs(previous, settings, threads, versions):
    """Return the depth runs of an earlier record that a new run with ``settings`` may keep.

    An earlier depth section's runs are kept when everything they depend on
    is the same (the depth settings other than the seeds, TensorFlow's
    threads, the versions): only their seeds may differ. Runs of seeds that
    ``settings`` no longer lists are dropped.

    Parameters
    ----------
    previous : dict
        The earlier ``"depth"`` section of a record.
    settings : dict
        The settings of the new run.
    threads, versions : dict
        The new run's TensorFlow threads and versions, as the record stores them.

    Returns
    -------
    list of dict
        The runs to keep.

    Raises
    ------
    ValueError
        Naming what differs, when the earlier runs cannot be kept.

    Examples
    --------
    >>> old = {"settings": {**RECORD_SETTINGS, "depth_seeds": [0]}, "threads": {}, "versions": {},
    ...        "runs": [{"layers": 8, "residual": False, "seed": 0}]}
    >>> resumable_runs(old, {**RECORD_SETTINGS, "depth_seeds": [0, 1]}, {}, {})
    [{'layers': 8, 'residual': False, 'seed': 0}]
    >>> resumable_runs(old, {**RECORD_SETTINGS, "depth_epochs": 5}, {}, {})
    Traceback (most recent call last):
    ...
    ValueError: cannot resume: the earlier depth runs differ in depth_epochs
    """
    old, new = section_settings("depth", previous["settings"]), section_settings("depth", settings)
    differ = [key for key in new if key != "depth_seeds" and old[key] != new[key]]
    differ += [name for name, old_value, new_value in (("threads", previous["threads"], threads),
                                                      ("versions", previous["versions"], versions))
               if old_value != new_value]
    if differ:
        raise ValueError(f"cannot resume: the earlier depth runs differ in {', '.join(differ)}")
    return [run for run in previous["runs"] if run["seed"] in settings["depth_seeds"]]


def statistics_gap(model, images, layer="stem_bn"):
    """Return how far a batch normalisation's moving mean is from the mean on ``images``.

    The mean over channels of ``|moving mean - batch mean| / batch standard
    deviation``, the batch statistics being those of the layer's input on
    ``images`` with the model's current weights.

    Parameters
    ----------
    model : keras.Model
    images : ndarray, shape (N, H, W, C)
    layer : str, default "stem_bn"

    Returns
    -------
    float

    Examples
    --------
    >>> import keras
    >>> inputs = keras.Input((3,))
    >>> model = keras.Model(inputs, keras.layers.BatchNormalization(name="bn")(inputs))
    >>> x = np.random.default_rng(0).normal(2.0, 1.0, size=(1000, 3)).astype("float32")
    >>> round(statistics_gap(model, x, "bn"), 1)  # moving mean 0, batch mean 2, std 1
    2.0
    """
    import keras  # deferred: no work at import time

    norm = model.get_layer(layer)
    inputs = np.asarray(keras.Model(model.input, norm.input)(images, training=False))
    axes = tuple(range(inputs.ndim - 1))
    mean, std = inputs.mean(axis=axes), inputs.std(axis=axes)
    return float(np.mean(np.abs(np.asarray(norm.moving_mean) - mean) / (std + 1e-6)))


def statistics_replacement(model, images, test_images, test_labels, layer="stem_bn"):
    """Score ``model`` with one batch normalisation's moving mean, or variance, replaced.

    The moving statistics are replaced by the mean and variance of the layer's
    input on ``images`` (computed with the model's current weights), one at a
    time and both together; the model is scored on the test set each time and
    left as it was. This tells which of the two lagging averages costs the
    accuracy that :func:`recalibrate_batch_norm` recovers.

    Parameters
    ----------
    model : keras.Model
    images : ndarray, shape (N, H, W, C)
        Typically the training images.
    test_images : ndarray, shape (M, H, W, C)
    test_labels : ndarray of int, shape (M,)
    layer : str, default "stem_bn"

    Returns
    -------
    dict
        ``mean_only``, ``variance_only``, ``both``: test accuracies;
        ``variance_ratio``: ``median``, ``min`` and ``max`` over channels of
        the moving variance over the variance on ``images``.

    Examples
    --------
    >>> import keras
    >>> inputs = keras.Input((2,))
    >>> model = keras.Model(inputs, keras.layers.BatchNormalization(name="bn")(inputs))
    >>> x = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0], [0.0, 1.0]], dtype="float32")
    >>> _ = model.get_layer("bn").moving_variance.assign([4.0, 1.0])   # the data's: 0.25
    >>> result = statistics_replacement(model, x, x, np.array([0, 1, 0, 1]), "bn")
    >>> result["variance_ratio"], float(model.get_layer("bn").moving_variance[0])
    ({'median': 10.0, 'min': 4.0, 'max': 16.0}, 4.0)
    """
    import keras  # deferred: no work at import time

    norm = model.get_layer(layer)
    inputs = keras.Model(model.input, norm.input)(images, training=False)
    mean, variance = (np.asarray(v) for v in
                      keras.ops.moments(inputs, axes=list(range(len(inputs.shape) - 1))))
    moving_mean, moving_variance = np.asarray(norm.moving_mean), np.asarray(norm.moving_variance)
    result = {}
    try:
        for name, (new_mean, new_variance) in {"mean_only": (mean, moving_variance),
                                               "variance_only": (moving_mean, variance),
                                               "both": (mean, variance)}.items():
            norm.moving_mean.assign(new_mean)
            norm.moving_variance.assign(new_variance)
            result[name] = accuracy(model, test_images, test_labels)
    finally:
        norm.moving_mean.assign(moving_mean)
        norm.moving_variance.assign(moving_variance)
    ratio = moving_variance / variance
    result["variance_ratio"] = {"median": round(float(np.median(ratio)), 4),
                                "min": round(float(ratio.min()), 4), "max": round(float(ratio.max()), 4)}
    return result


def record_stacks(settings, log=print):
    """Train the stacks of :data:`STACKS` with each optimizer and seed; return losses and gradients.

    The result's ``runs[optimizer][stack]`` is a list of one dict per seed of
    ``settings["stack_seeds"]``: :func:`train`'s, with the seed, the gradient
    ratio of layer 1 to layer ``depth`` and the RMS of their outputs at
    initialisation. The gradients are taken first, as in the chapter (in
    training mode: they move only the head's moving averages, which training
    does not use).
    """
    import keras  # deferred: no work at import time

    (x_train, y_train), _, _ = shapes_data(*settings["images"])
    x_train, y_train = x_train[:settings["stack_train_images"]], y_train[:settings["stack_train_images"]]
    runs = {}
    for optimizer, names in settings["stacks"].items():
        runs[optimizer] = {}
        for name in names:
            runs[optimizer][name] = []
            for seed in settings["stack_seeds"]:
                keras.utils.set_random_seed(seed)
                stack = deep_stack(**STACKS[name])
                images = settings["stack_gradient_images"]
                gradients, rms = gradient_norms(stack, x_train[:images], y_train[:images])
                run = train(stack, (x_train, y_train), settings["stack_epochs"],
                            settings["stack_learning_rate"][optimizer], settings["stack_batch_size"],
                            optimizer)
                run.update(seed=seed, gradient_ratio=round(float(gradients[0] / gradients[-1]), 5),
                           rms_first=round(float(rms[0]), 5), rms_last=round(float(rms[-1]), 5))
                runs[optimizer][name].append(run)
                log("stacks", optimizer, name, run)
    return {"runs": runs}


def record_depth(settings, log=print, previous=()):
    """Train :func:`cifar_style_net`, plain and residual, at each depth and seed.

    ``previous`` holds runs recorded earlier with the same settings (another
    list of seeds): a run of the same depth, kind and seed is kept as it is,
    not trained again. Every run starts from ``keras.utils.set_random_seed``,
    so a run does not depend on the runs before it in the same process.
    """
    import keras  # deferred: no work at import time

    kept = {(run["layers"], run["residual"], run["seed"]): run for run in previous}
    train_set, _, test = shapes_data(*settings["images"])
    runs = []
    for blocks in settings["depth_blocks_per_stage"]:
        for residual in settings["depth_residual"]:
            for seed in settings["depth_seeds"]:
                if (6 * blocks + 2, residual, seed) in kept:
                    runs.append(kept[(6 * blocks + 2, residual, seed)])
                    continue
                keras.utils.set_random_seed(seed)
                net = cifar_style_net(blocks, residual)
                run = train(net, train_set, settings["depth_epochs"], settings["depth_learning_rate"],
                            settings["depth_batch_size"], settings["depth_optimizer"], test=test)
                run.update(layers=models.weight_depth(net), residual=residual, seed=seed,
                           parameters=int(net.count_params()),
                           train_accuracy_inference=round(accuracy(net, *train_set), 4))
                runs.append(run)
                log("depth", run)
    return {"runs": runs}


def _small_run(build, train_set, validation, test, epochs, learning_rate, batch_size):
    """Train one small network; score it as trained, with the stem's statistics replaced, recalibrated.

    :func:`statistics_replacement` on the stem gives
    ``test_accuracy_stem_replaced`` (mean only, variance only, both) and
    ``stem_variance_ratio``; then :func:`recalibrate_batch_norm` (every
    batch normalisation) gives ``test_accuracy_recalibrated``.
    """
    model = build()
    run = train(model, train_set, epochs, learning_rate, batch_size, validation=validation, test=test)
    run["parameters"] = int(model.count_params())
    run["multiply_adds"] = int(models.multiply_adds(model))
    run["train_accuracy_inference"] = round(accuracy(model, *train_set), 4)
    run["stem_statistics_gap"] = round(statistics_gap(model, train_set[0]), 4)
    replaced = statistics_replacement(model, train_set[0], *test)
    run["stem_variance_ratio"] = replaced.pop("variance_ratio")
    run["test_accuracy_stem_replaced"] = {name: round(value, 4) for name, value in replaced.items()}
    recalibrate_batch_norm(model, train_set[0])
    run["test_accuracy_recalibrated"] = round(accuracy(model, *test), 4)
    run["train_accuracy_recalibrated"] = round(accuracy(model, *train_set), 4)
    return run


def record_inception(settings, log=print):
    """Train the three small networks and the Inception variants for each seed."""
    import keras  # deferred: no work at import time

    train_set, validation, test = shapes_data(*settings["images"])
    base = {"epochs": settings["small_epochs"], "learning_rate": settings["small_learning_rate"],
            "batch_size": settings["small_batch_size"]}
    networks, variants = {}, {}
    for name in settings["networks"]:
        build = SMALL_NETWORKS[name]
        networks[name] = []
        for seed in settings["seeds"]:
            keras.utils.set_random_seed(seed)
            run = _small_run(build, train_set, validation, test, **base)
            networks[name].append({"seed": seed, **run})
            log("inception", name, networks[name][-1])
    for name in settings["variants"]:
        options, changes = INCEPTION_VARIANTS[name]
        variants[name] = []
        for seed in settings["seeds"]:
            keras.utils.set_random_seed(seed)
            run = _small_run(lambda: small_inception(**options), train_set, validation, test,
                             **{**base, **changes})
            variants[name].append({"seed": seed, "options": options, "training": changes, **run})
            log("inception", name, variants[name][-1])
    return {"networks": networks, "variants": variants}


def load_record():
    """Load chapter 4's record, written by ``python -m cnnbook.deep_nets --record``.

    Returns
    -------
    dict
        One entry per recorded section (``"stacks"``, ``"depth"``,
        ``"inception"``; the shipped record has :data:`CHAPTER_SECTIONS`), each
        with its ``settings``, ``command``, ``seconds`` (wall, CPU),
        ``load_average`` and ``versions``, and its runs (see
        :func:`record_stacks`, :func:`record_depth`, :func:`record_inception`).
        A depth section completed with ``--resume`` gives these for its last
        session (the runs it trained) and keeps the earlier sessions' in
        ``earlier_sessions``.

    Raises
    ------
    ValueError
        If the record is missing.

    Examples
    --------
    >>> record = load_record()
    >>> "inception" in record, record["inception"]["command"].split(" --out ")[0]
    (True, 'python -m cnnbook.deep_nets --record --only inception')
    """
    if not RECORD_PATH.exists():
        raise ValueError(f"no record {RECORD_PATH.name} in {RECORD_PATH.parent}: "
                         "run python -m cnnbook.deep_nets --record")
    return json.loads(RECORD_PATH.read_text())


QUICK_SETTINGS = {
    "seeds": [0], "stack_seeds": [0], "images": [64, 16, 32], "stack_train_images": 64, "stack_epochs": 1, "stack_gradient_images": 16,
    "depth_blocks_per_stage": [1], "depth_seeds": [0], "depth_epochs": 1, "small_epochs": 1,
    "stacks": {"sgd": ["residual, batch norm from zero"]}, "depth_residual": [True],
    "networks": ["small_inception"], "variants": ["stem momentum 0.9"],
}


def main(argv=None):
    """``python -m cnnbook.deep_nets --record [--only SECTION] [--out FILE] [--quick]``."""
    parser = argparse.ArgumentParser(description="Write chapter 4's record of longer runs.")
    parser.add_argument("--record", action="store_true", help="run the experiments, write the record")
    parser.add_argument("--only", choices=SECTIONS, action="append",
                        help="run only this section (repeatable); the file's other sections are kept")
    parser.add_argument("--out", type=Path, default=RECORD_PATH)
    parser.add_argument("--quick", action="store_true",
                        help="seconds-long: one seed, one epoch, few images (use --out)")
    parser.add_argument("--resume", action="store_true",
                        help="depth section only: keep the runs the file already holds with the "
                             "same settings but other seeds, and run only the missing seeds")
    args = parser.parse_args(argv)
    if not args.record:
        parser.error("nothing to do: pass --record")
    if args.resume and args.only != ["depth"]:
        parser.error("--resume works for the depth section alone: pass --only depth")
    settings = dict(RECORD_SETTINGS)
    if args.quick:
        if args.out.resolve() == RECORD_PATH.resolve():
            parser.error("--quick would overwrite the shipped record: give --out another file")
        settings.update(QUICK_SETTINGS)

    import keras
    import tensorflow as tf

    tf.config.experimental.enable_op_determinism()
    recorders = {"stacks": record_stacks, "depth": record_depth, "inception": record_inception}
    command = " ".join(["python -m cnnbook.deep_nets", *(sys.argv[1:] if argv is None else argv)])
    versions = {"python": platform.python_version(), "numpy": np.__version__,
                "tensorflow": tf.__version__, "keras": keras.__version__}
    threads = {name: os.environ.get(name) for name in
               ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS", "OMP_NUM_THREADS")}
    for section in args.only or SECTIONS:
        options, earlier = {}, []
        if args.resume:
            previous = json.loads(args.out.read_text()).get(section) if args.out.exists() else None
            if previous is None:
                parser.error(f"--resume: {args.out} has no {section} section to resume")
            try:
                options["previous"] = resumable_runs(previous, settings, threads, versions)
            except ValueError as error:
                parser.error(str(error))
            # what the earlier sessions ran, and how long they took, stays in the record
            earlier = [*previous.get("earlier_sessions", []),
                       {key: value for key, value in previous.items()
                        if key not in ("runs", "earlier_sessions")}]
        load_before = os.getloadavg()
        wall, cpu = time.perf_counter(), time.process_time()
        result = recorders[section](settings, **options)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        section_record = {
            "command": command,
            "settings": settings,
            "versions": versions,
            "threads": threads,
            "seconds": {"wall": round(wall, 1), "cpu": round(cpu, 1)},
            "load_average": {"before": [round(v, 2) for v in load_before],
                             "after": [round(v, 2) for v in os.getloadavg()]},
            **result,
        }
        if earlier:
            section_record["earlier_sessions"] = earlier
        # read again just before writing: another process may have written another section
        record = json.loads(args.out.read_text()) if args.out.exists() else {}
        record[section] = section_record
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(record, indent=1) + "\n")
        print(json.dumps({section: section_record["seconds"]}), flush=True)


if __name__ == "__main__":
    main()
