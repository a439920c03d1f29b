"""Where a Keras model's parameters come from: each layer's count derived from its formula.

Keras' ``model.summary()`` prints the counts; :func:`parameter_rows` says why,
layer by layer, and checks every number against Keras itself:

- ``Conv2D``: ``f·f·C·K + K`` (``K`` kernels of ``f x f x C`` weights, one bias each);
- ``Dense``: ``(in + 1)·out`` (a weight per input and a bias, for each output);
- pooling, ``Flatten``, ``Dropout``, activations: no weights at all.
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
)


def layer_formula(layer):
    """Return ``(formula, count)`` for one built Keras layer.

    Parameters
    ----------
    layer : keras.layers.Layer
        A ``Conv2D``, ``Dense`` or weightless layer (see ``WEIGHTLESS``) of a
        built model.

    Returns
    -------
    formula : str
        E.g. ``"3·3·1·32 + 32"`` for a Conv2D, ``"(576 + 1)·64"`` for a Dense.
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
    if kind in WEIGHTLESS:
        return "no weights", 0
    raise ValueError(
        f"layer {layer.name!r} is a {kind}: no formula for it here "
        f"(known: Conv2D, Dense, {', '.join(WEIGHTLESS)})"
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
