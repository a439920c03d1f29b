"""What a Keras model costs (parameters, multiply-adds) and two building blocks of chapter 4.

Keras' ``model.summary()`` prints the counts; :func:`parameter_rows` says why,
layer by layer, and checks every number against Keras itself:

- ``Conv2D``: ``f·f·C·K + K`` (``K`` kernels of ``f x f x C`` weights, one bias each);
- ``Dense``: ``(in + 1)·out`` (a weight per input and a bias, for each output);
- ``BatchNormalization``: ``2·C + 2·C`` (a learned scale γ and shift β per
  channel, then the moving mean and variance it keeps for inference, which are
  weights that training does not update by gradient);
- pooling, ``Flatten``, ``Dropout``, activations: no weights at all.

:func:`multiply_adds` counts the forward pass's multiply-adds and
:func:`weight_depth` the weight layers on the longest path through a network.
"""

import collections

LayerParameters = collections.namedtuple(
    "LayerParameters", ["name", "kind", "output_shape", "formula", "count"]
)
LayerParameters.__doc__ = """One layer: its name, class, output shape without the batch axis,
the formula with its numbers filled in, and the count it gives."""

WEIGHTLESS = (
    "InputLayer",
    "Rescaling",
    "MaxPooling2D",
    "AveragePooling2D",
    "GlobalMaxPooling2D",
    "GlobalAveragePooling2D",
    "Flatten",
    "Dropout",
    "Activation",
    "ReLU",
    "Concatenate",
    "Add",
)


def layer_formula(layer):
    """Return ``(formula, count)`` for one built Keras layer.

    Parameters
    ----------
    layer : keras.layers.Layer
        A ``Conv2D``, ``Dense``, ``BatchNormalization`` or weightless layer (see
        ``WEIGHTLESS``) of a built model.

    Returns
    -------
    formula : str
        E.g. ``"3·3·1·32 + 32"`` for a Conv2D, ``"(576 + 1)·64"`` for a Dense,
        ``"2·32 + 2·32"`` for a BatchNormalization of 32 channels (γ and β,
        then the moving mean and variance; ``"1·32 + 2·32"`` without γ or β).
    count : int
        The value of the formula.

    Raises
    ------
    ValueError
        If the layer is of another kind (its formula is not known here) or is a
        grouped convolution.

    Examples
    --------
    >>> import keras
    >>> model = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Conv2D(32, 3)])
    >>> layer_formula(model.layers[0])
    ('3·3·1·32 + 32', 320)
    >>> model = keras.Sequential([keras.Input((8, 8, 32)), keras.layers.BatchNormalization()])
    >>> layer_formula(model.layers[0])
    ('2·32 + 2·32', 128)
    """
    kind = type(layer).__name__
    if kind == "Conv2D":
        if layer.groups != 1:
            raise ValueError(f"layer {layer.name!r}: grouped convolutions are not covered")
        (kh, kw), channels, filters = layer.kernel_size, layer.input.shape[-1], layer.filters
        bias = f" + {filters}" if layer.use_bias else ""
        count = (kh * kw * channels + int(layer.use_bias)) * filters
        return f"{kh}·{kw}·{channels}·{filters}{bias}", count
    if kind == "Dense":
        inputs, units = layer.input.shape[-1], layer.units
        if layer.use_bias:
            return f"({inputs} + 1)·{units}", (inputs + 1) * units
        return f"{inputs}·{units}", inputs * units
    if kind == "BatchNormalization":
        channels = layer.input.shape[layer.axis if isinstance(layer.axis, int) else layer.axis[0]]
        learned = int(layer.scale) + int(layer.center)  # γ, β
        return f"{learned}·{channels} + 2·{channels}", (learned + 2) * channels
    if kind in WEIGHTLESS:
        return "no weights", 0
    raise ValueError(
        f"layer {layer.name!r} is a {kind}: no formula for it here "
        f"(known: Conv2D, Dense, BatchNormalization, {', '.join(WEIGHTLESS)})"
    )


def parameter_rows(model):
    """Explain a built Keras model's parameters layer by layer, checked against Keras.

    Parameters
    ----------
    model : keras.Model
        A built model (give it an input shape, e.g. start it with ``keras.Input``).

    Returns
    -------
    list of LayerParameters
        One row per layer, in order.

    Raises
    ------
    ValueError
        If the model is not built, a layer has no known formula, or a formula
        disagrees with ``layer.count_params()`` or the total with
        ``model.count_params()``.

    Examples
    --------
    >>> import keras
    >>> model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Conv2D(4, 3),
    ...                           keras.layers.Flatten(), keras.layers.Dense(10)])
    >>> [(row.formula, row.count) for row in parameter_rows(model)]
    [('3·3·1·4 + 4', 40), ('no weights', 0), ('(144 + 1)·10', 1450)]
    """
    if not model.built:
        raise ValueError("model must be built: give it an input shape (keras.Input(...)) first")
    rows = []
    for layer in model.layers:
        formula, count = layer_formula(layer)
        if count != layer.count_params():
            raise ValueError(
                f"layer {layer.name!r}: the formula gives {count} but Keras counts "
                f"{layer.count_params()}"
            )
        shape = tuple(layer.output.shape[1:])
        rows.append(LayerParameters(layer.name, type(layer).__name__, shape, formula, count))
    total = sum(row.count for row in rows)
    if total != model.count_params():
        raise ValueError(
            f"layers add up to {total} but model.count_params() is {model.count_params()}"
        )
    return rows


def parameter_table(model):
    """Return :func:`parameter_rows` as a text table, with the checked total.

    Parameters
    ----------
    model : keras.Model
        A built model.

    Returns
    -------
    str
        One line per layer (name, output shape, formula, count) and a total line.

    Examples
    --------
    >>> import keras
    >>> model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, name="dense")])
    >>> print(parameter_table(model))
    layer   output shape   formula       parameters
    dense   (3,)           (4 + 1)·3              15
    total (= model.count_params())                15
    """
    rows = parameter_rows(model)
    lines = [[row.name, str(row.output_shape), row.formula, f"{row.count:,}"] for row in rows]
    header = ["layer", "output shape", "formula", "parameters"]
    widths = [max(len(line[i]) for line in [header, *lines]) for i in range(4)]

    def join(cells):  # three left-aligned columns, the count right-aligned
        left = [cell.ljust(width) for cell, width in zip(cells[:3], widths)]
        return "   ".join([*left, cells[3].rjust(widths[3])])

    text = [join(cells) for cells in [header, *lines]]
    total = f"{sum(row.count for row in rows):,}"
    label = "total (= model.count_params())"
    text.append(label + total.rjust(len(text[0]) - len(label)))
    return "\n".join(line.rstrip() for line in text)


def _layers_of(model):
    """Yield the layers of ``model``, entering nested models."""
    for layer in model.layers:
        if hasattr(layer, "layers"):  # a model used as a layer
            yield from _layers_of(layer)
        else:
            yield layer


def layer_multiply_adds(layer):
    """Count the multiply-adds of one built layer's forward pass, for one input.

    ``Conv2D`` and ``DepthwiseConv2D`` use :func:`cnnbook.ops.conv_multiply_adds`
    (a depthwise convolution is one single-channel convolution per input
    channel); ``Dense`` costs ``inputs * units`` per position (a ``Dense``
    applied to an H×W×C tensor works at every pixel). Other layers count 0: their
    work (pooling, normalisation, adding) is small next to these. Bias adds are
    not counted.

    Parameters
    ----------
    layer : keras.layers.Layer
        A layer of a built model.

    Returns
    -------
    int

    Raises
    ------
    ValueError
        If the layer is a grouped convolution.

    Examples
    --------
    >>> import keras
    >>> model = keras.Sequential([keras.Input((28, 28, 3)), keras.layers.Conv2D(8, 5)])
    >>> layer_multiply_adds(model.layers[0])  # 24·24 outputs · 5·5·3 weights · 8 filters
    345600
    """
    from cnnbook import ops  # deferred: no work at import time

    kind = type(layer).__name__
    if kind in ("Conv2D", "DepthwiseConv2D"):
        if getattr(layer, "groups", 1) != 1:
            raise ValueError(f"layer {layer.name!r}: grouped convolutions are not covered")
        out_h, out_w, filters = layer.output.shape[1:]
        channels = layer.input.shape[-1]
        if kind == "DepthwiseConv2D":  # each output channel sees one input channel
            channels = 1
        return ops.conv_multiply_adds((out_h, out_w), layer.kernel_size, channels, filters)
    if kind == "Dense":
        positions = 1
        for size in layer.input.shape[1:-1]:
            positions *= size
        return positions * layer.input.shape[-1] * layer.units
    return 0


def multiply_adds(model):
    """Count the multiply-adds of a built model's forward pass, for one input.

    The sum of :func:`layer_multiply_adds` over every ``Conv2D``,
    ``DepthwiseConv2D`` and ``Dense`` layer (nested models included).

    Parameters
    ----------
    model : keras.Model
        A built model.

    Returns
    -------
    int

    Raises
    ------
    ValueError
        If the model is not built.

    Examples
    --------
    >>> import keras
    >>> model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Conv2D(4, 3),
    ...                           keras.layers.Flatten(), keras.layers.Dense(10)])
    >>> multiply_adds(model)  # 6·6·3·3·1·4 + 144·10
    2736
    """
    if not model.built:
        raise ValueError("model must be built: give it an input shape (keras.Input(...)) first")
    return sum(layer_multiply_adds(layer) for layer in _layers_of(model))


#: The layers that :func:`weight_depth` counts: those with weights that transform
#: the signal (batch normalisation, which only rescales each channel, is not one).
WEIGHT_LAYERS = ("Conv2D", "DepthwiseConv2D", "SeparableConv2D", "Dense")


def weight_depth(model):
    """Count the weight layers on the longest path from a model's input to its output.

    This is how papers give a network's depth: VGG16 has 16 weight layers in
    a row; GoogLeNet "is 22 layers deep when counting only layers with
    parameters" (Szegedy et al. 2015), although it has many more convolutions
    side by side in its Inception modules; ResNet50's 50 do not count the
    projection shortcuts, which run beside the main path. Weight layers are
    those in ``WEIGHT_LAYERS``; pooling, batch normalisation, activations,
    additions and concatenations add no depth.

    Parameters
    ----------
    model : keras.Model
        A built Sequential or functional model whose layers are each called
        once (no shared layers); a nested model counts as the depth of its
        own longest path.

    Returns
    -------
    int

    Raises
    ------
    ValueError
        If the model is not built.

    Examples
    --------
    >>> import keras
    >>> inputs = keras.Input((8, 8, 3))
    >>> left = keras.layers.Conv2D(4, 3, padding="same")(inputs)                 # 1 deep
    >>> right = keras.layers.Conv2D(4, 1)(keras.layers.Conv2D(4, 1)(inputs))    # 2 deep
    >>> x = keras.layers.Concatenate()([left, right])
    >>> outputs = keras.layers.Dense(2)(keras.layers.GlobalAveragePooling2D()(x))
    >>> model = keras.Model(inputs, outputs)
    >>> weight_depth(model), sum(type(l).__name__ in WEIGHT_LAYERS for l in model.layers)
    (3, 4)
    """
    if not model.built:
        raise ValueError("model must be built: give it an input shape (keras.Input(...)) first")
    depth = {}  # layer name -> weight layers on the longest path ending at its output
    for layer in model.layers:  # in graph order: parents come first
        kind = type(layer).__name__
        if kind == "InputLayer":
            depth[layer.name] = 0
            continue
        inputs = layer.input if isinstance(layer.input, (list, tuple)) else [layer.input]
        before = max((depth.get(tensor._keras_history.operation.name, 0) for tensor in inputs),
                     default=0)
        if hasattr(layer, "layers"):  # a nested model
            own = weight_depth(layer)
        else:
            own = int(kind in WEIGHT_LAYERS)
        depth[layer.name] = before + own
    return max(depth[tensor._keras_history.operation.name] for tensor in model.outputs)


def inception_module(x, filters_1x1, filters_3x3_reduce, filters_3x3,
                     filters_5x5_reduce, filters_5x5, filters_pool_proj, name=None,
                     batch_norm=False):
    """Apply an Inception module (GoogLeNet's, Szegedy et al. 2015) to a stack of feature maps.

    Four branches see the same input and their outputs are stacked on depth:

    1. a 1×1 convolution (``filters_1x1``);
    2. a 1×1 reduction (``filters_3x3_reduce``), then a 3×3 convolution (``filters_3x3``);
    3. a 1×1 reduction (``filters_5x5_reduce``), then a 5×5 convolution (``filters_5x5``);
    4. a 3×3 max-pool with stride 1, then a 1×1 projection (``filters_pool_proj``).

    Every convolution has ``padding="same"`` and a ReLU, and the pool has
    ``padding="same"``, so all branches keep the input's height and width.
    With ``batch_norm=True`` every convolution (then without bias) is followed
    by batch normalisation before its ReLU, as in the Inception networks after
    GoogLeNet (Ioffe & Szegedy 2015; Szegedy et al. 2016).

    Parameters
    ----------
    x : KerasTensor, shape (N, H, W, C)
        The input, an H×W×C tensor of C feature maps (functional API).
    filters_1x1, filters_3x3_reduce, filters_3x3, filters_5x5_reduce, filters_5x5, filters_pool_proj : int
        Filters of each convolution, in GoogLeNet's table order.
    name : str, optional
        Prefix of the layer names (``name + "_3x3"`` ...).
    batch_norm : bool, default False
        Normalise every convolution's output (GoogLeNet itself does not).

    Returns
    -------
    KerasTensor, shape (N, H, W, filters_1x1 + filters_3x3 + filters_5x5 + filters_pool_proj)

    Examples
    --------
    >>> import keras
    >>> inputs = keras.Input((28, 28, 192))
    >>> outputs = inception_module(inputs, 64, 96, 128, 16, 32, 32)  # GoogLeNet's 3a
    >>> tuple(outputs.shape)
    (None, 28, 28, 256)
    >>> keras.Model(inputs, outputs).count_params()
    163696
    """
    import keras  # deferred: no work at import time

    def conv(tensor, filters, size, suffix):
        layer_name = f"{name}_{suffix}" if name else None
        if not batch_norm:
            return keras.layers.Conv2D(filters, size, padding="same", activation="relu",
                                       name=layer_name)(tensor)
        tensor = keras.layers.Conv2D(filters, size, padding="same", use_bias=False,
                                     name=layer_name)(tensor)
        tensor = keras.layers.BatchNormalization(name=f"{layer_name}_bn" if name else None)(tensor)
        return keras.layers.ReLU(name=f"{layer_name}_relu" if name else None)(tensor)

    branch_1 = conv(x, filters_1x1, 1, "1x1")
    branch_3 = conv(conv(x, filters_3x3_reduce, 1, "3x3_reduce"), filters_3x3, 3, "3x3")
    branch_5 = conv(conv(x, filters_5x5_reduce, 1, "5x5_reduce"), filters_5x5, 5, "5x5")
    pooled = keras.layers.MaxPooling2D(3, strides=1, padding="same",
                                       name=f"{name}_pool" if name else None)(x)
    branch_pool = conv(pooled, filters_pool_proj, 1, "pool_proj")
    return keras.layers.Concatenate(axis=-1, name=f"{name}_concat" if name else None)(
        [branch_1, branch_3, branch_5, branch_pool]
    )


def residual_block(x, filters, stride=1, name=None, kernel_initializer="glorot_uniform"):
    """Apply a basic residual block (He et al. 2016) to a stack of feature maps.

    Main path: 3×3 convolution (``stride``) → batch normalisation → ReLU → 3×3
    convolution → batch normalisation (the convolutions have no bias: batch
    normalisation's shift takes its place). Shortcut: the input itself, or, when
    the shape changes (``stride != 1`` or ``filters`` differs from the input's
    depth), a 1×1 convolution with ``stride`` and batch normalisation (a
    projection). The two are **added**, then a ReLU: the original ResNet block
    ("v1"). Because of that last ReLU, the gradient reaches ``x`` through the
    shortcut only where the sum is positive; pre-activation blocks (He et al.
    2016b), which put batch normalisation and ReLU before each convolution and
    nothing after the addition, pass it through unchanged.

    Parameters
    ----------
    x : KerasTensor, shape (N, H, W, C)
        The input, an H×W×C tensor of C feature maps (functional API).
    filters : int
        Depth of the output.
    stride : int, default 1
        Stride of the first convolution (and of the projection).
    name : str, optional
        Prefix of the layer names.
    kernel_initializer : str, default "glorot_uniform"
        Of every convolution: Keras' default, or e.g. ``"he_normal"`` as in
        He et al.'s networks.

    Returns
    -------
    KerasTensor, shape (N, ceil(H / stride), ceil(W / stride), filters)

    Examples
    --------
    >>> import keras
    >>> inputs = keras.Input((16, 16, 32))
    >>> tuple(residual_block(inputs, 32).shape), tuple(residual_block(inputs, 64, 2).shape)
    ((None, 16, 16, 32), (None, 8, 8, 64))
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
    y = layers.BatchNormalization(name=named("bn2"))(y)
    shortcut = x
    if stride != 1 or x.shape[-1] != filters:
        shortcut = layers.Conv2D(filters, 1, strides=stride, use_bias=False,
                                 kernel_initializer=kernel_initializer, name=named("projection"))(x)
        shortcut = layers.BatchNormalization(name=named("projection_bn"))(shortcut)
    return layers.ReLU(name=named("out"))(layers.Add(name=named("add"))([y, shortcut]))


def load_pretrained_base(trainable=False):
    """Build the course's pretrained base convnet and load its shipped weights (offline).

    The base is :func:`cnnbook.pretrain.build_base`: three blocks of 3×3
    convolutions with batch normalisation (``block1``, ``block2``, ``block3``),
    then global average pooling, the *bottleneck*. ``python -m cnnbook.pretrain``
    trained it on twenty generated shapes (``cnnbook.shapes.SOURCE_SHAPES``), none
    of them a class of chapter 3, and wrote its weights and their record to
    ``cnnbook/weights/shapes_base.*``. It takes raw pixel values in [0, 255]
    (it rescales them itself).

    Parameters
    ----------
    trainable : bool, default False
        Sets ``base.trainable``. Keep it ``False`` to use the base as a frozen
        feature extractor; to fine-tune the top block, set ``trainable`` on the
        layers whose names start with ``cnnbook.pretrain.TOP_BLOCK``.

    Returns
    -------
    keras.Model
        Named ``"shapes_base"``, from ``(N, 32, 32, 3)`` images to ``(N, 64)``
        bottleneck features.

    Examples
    --------
    >>> base = load_pretrained_base()
    >>> base.output_shape, base.trainable, len(base.trainable_weights)
    ((None, 64), False, 0)
    >>> [layer.name for layer in base.layers if layer.name.startswith("block3_conv")]
    ['block3_conv1', 'block3_conv2']
    """
    from cnnbook import pretrain  # deferred: no work at import time

    classifier = pretrain.load_source_classifier()
    pretrained = classifier.get_layer(pretrain.BASE_NAME)
    base = pretrain.build_base(pretrained.get_layer("block1_conv1").filters)
    base.set_weights(pretrained.get_weights())
    base.trainable = trainable
    return base
