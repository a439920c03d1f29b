"""Looking inside a trained convnet: feature maps, receptive fields, saliency, Grad-CAM.

Chapter 7 and its exercise use these helpers on the course's own networks
(chapter 3's :func:`cnnbook.training.load_classic_convnet`, chapter 5's
:func:`cnnbook.models.load_pretrained_base`):

- :func:`activation_model`: a model that returns the feature maps of chosen layers;
- :func:`receptive_field`: the size, spacing and first centre of the input window
  that one unit of a layer sees, computed from the layers' kernels, strides,
  padding and dilation;
- :func:`last_conv_layer`, :func:`grad_cam` (Selvaraju et al. 2017) and its batch form
  :func:`grad_cams`, which place each map cell at its unit's receptive-field centre
  (:func:`place_on_image`); :func:`saliency_map` (Simonyan et al. 2014) and :func:`saliency_maps`;
- :func:`occlusion_maps` (Zeiler & Fergus 2014), which needs no gradient, and
  :func:`occlusion_image_change`, the same squares with no network (a baseline);
- :func:`peak_weights`, for the pointing game: each map's peak, ties shared evenly;
- :func:`max_activating_patches` (Zeiler & Fergus 2014) and
  :func:`filter_by_gradient_ascent` (Olah et al. 2017);
- :func:`plot_filters`, :func:`plot_feature_maps`.

The layers named must be layers of ``model`` itself (``model.get_layer``), not of
a model nested inside it: to look inside chapter 5's classifier, pass its base.
"""

import collections
import math

import numpy as np

from cnnbook import plot

ReceptiveField = collections.namedtuple("ReceptiveField", ["size", "jump", "start"])
ReceptiveField.__doc__ = """Receptive field of one unit of a layer, in input pixels.

size : side of the input window one unit sees.
jump : distance in input pixels between the centres of neighbouring units.
start : input coordinate (pixel centres at 0, 1, ...) of the centre of unit 0.
"""

Patches = collections.namedtuple("Patches", ["patches", "scores", "positions"])

_IDENTITY_LAYERS = ("InputLayer", "Rescaling", "Normalization", "BatchNormalization",
                    "LayerNormalization", "Activation", "ReLU", "LeakyReLU", "ELU", "PReLU",
                    "Softmax", "Dropout", "SpatialDropout2D", "GaussianNoise", "GaussianDropout")
_CONV_LAYERS = ("Conv2D", "DepthwiseConv2D", "SeparableConv2D")
_POOL_LAYERS = ("MaxPooling2D", "AveragePooling2D")


def _keras():
    import keras

    return keras


def _layer(model, layer_name):
    names = [layer.name for layer in model.layers]
    if layer_name not in names:
        raise ValueError(f"layer_name: no layer {layer_name!r} in model {model.name!r}; "
                         f"its layers are {names}")
    return model.get_layer(layer_name)


_LIST_MODEL = []


def _list_model_class():
    """A keras.Model that calls an inner model and returns its output in a one-element list."""
    if not _LIST_MODEL:
        keras = _keras()

        class ListModel(keras.Model):
            def __init__(self, inner, **kwargs):
                super().__init__(**kwargs)
                self.inner = inner

            def call(self, inputs, training=False):
                return [self.inner(inputs, training=training)]

        _LIST_MODEL.append(ListModel)
    return _LIST_MODEL[0]


def activation_model(model, layer_names):
    """Build a model from ``model``'s input to the outputs of the listed layers.

    Parameters
    ----------
    model : keras.Model
        A built functional or Sequential model.
    layer_names : sequence of str
        Names of layers of ``model``.

    Returns
    -------
    keras.Model
        Called on images ``(N, H, W, C)`` it returns a list with one array per
        name, in the order given (a list even for one name).

    Examples
    --------
    >>> import keras
    >>> inputs = keras.Input((8, 8, 1))
    >>> x = keras.layers.Conv2D(2, 3, name="conv")(inputs)
    >>> model = keras.Model(inputs, keras.layers.MaxPooling2D(name="pool")(x))
    >>> [tuple(o.shape) for o in activation_model(model, ["conv", "pool"]).outputs]
    [(None, 6, 6, 2), (None, 3, 3, 2)]
    """
    keras = _keras()
    if isinstance(layer_names, str):
        raise TypeError("layer_names: expected a list of layer names, got one string")
    outputs = [_layer(model, name).output for name in layer_names]
    if not outputs:
        raise ValueError("layer_names: expected at least one layer name")
    inputs = model.inputs[0] if len(model.inputs) == 1 else model.inputs
    if len(outputs) > 1:
        return keras.Model(inputs, outputs)
    # Keras unwraps a one-element output list: wrap the model so that it returns a list.
    return _list_model_class()(keras.Model(inputs, outputs[0]), name="activations")


def _pair(value):
    return tuple(value) if isinstance(value, (tuple, list)) else (value, value)


def _layer_geometry(layer):
    """(kernel, stride, dilation, padding) per axis of a conv or pool layer, or None if identity."""
    kind = type(layer).__name__
    if kind in _CONV_LAYERS:
        return (_pair(layer.kernel_size), _pair(layer.strides), _pair(layer.dilation_rate),
                layer.padding)
    if kind in _POOL_LAYERS:
        return _pair(layer.pool_size), _pair(layer.strides), (1, 1), layer.padding
    if kind in _IDENTITY_LAYERS:
        return None
    raise ValueError(f"layer {layer.name!r} ({kind}) has no receptive field: only "
                     "convolutions, poolings and layers that keep each pixel in place "
                     "(normalisation, activation, dropout) map input windows to units; "
                     "a Dense, Flatten or global pooling unit sees the whole input")


def receptive_field(model, layer_name):
    """Compute the receptive field of one unit of a layer, from the layers before it.

    Walking from the input, each convolution or pooling with effective kernel
    ``k = dilation * (kernel - 1) + 1``, stride ``s`` and left padding ``p``
    updates ``size += (k - 1) * jump``, ``start += ((k - 1) / 2 - p) * jump``,
    then ``jump *= s``. "same" padding pads ``max((out - 1) * s + k - n, 0)``
    pixels in total, the smaller half on the left (TensorFlow's rule).

    Parameters
    ----------
    model : keras.Model
        A chain of layers (each layer's input is the previous one's output).
    layer_name : str
        A convolution, pooling or element-wise layer of ``model``.

    Returns
    -------
    ReceptiveField
        ``(size, jump, start)``: ints, ints and a float when both axes agree,
        else ``(rows, columns)`` pairs.

    Raises
    ------
    ValueError
        If the layer or one before it is a Dense, Flatten, global pooling or
        other layer whose units have no local window.

    Examples
    --------
    >>> import keras
    >>> model = keras.Sequential([keras.Input((32, 32, 3)),
    ...     keras.layers.Conv2D(4, 3, padding="same", name="c1"),
    ...     keras.layers.MaxPooling2D(2, name="p1"),
    ...     keras.layers.Conv2D(4, 3, padding="same", name="c2")])
    >>> receptive_field(model, "c2")
    ReceptiveField(size=8, jump=2, start=0.5)
    """
    target = _layer(model, layer_name)
    axes = []
    for axis in range(2):
        size, jump, start = 1, 1, 0.0
        for layer in model.layers:
            geometry = _layer_geometry(layer)
            if geometry is not None:
                kernel, stride, dilation, padding = (g[axis] if isinstance(g, tuple) else g
                                                     for g in geometry)
                effective = dilation * (kernel - 1) + 1
                left = 0
                if padding == "same":
                    n = layer.input.shape[1 + axis]
                    out = math.ceil(n / stride)
                    left = max((out - 1) * stride + effective - n, 0) // 2
                size += (effective - 1) * jump
                start += ((effective - 1) / 2 - left) * jump
                jump *= stride
            if layer is target:
                break
        axes.append((size, jump, start))
    if axes[0] == axes[1]:
        return ReceptiveField(*axes[0])
    return ReceptiveField(*zip(*axes))


def last_conv_layer(model):
    """Return the name of the last convolution of ``model`` with a 4-D output.

    Parameters
    ----------
    model : keras.Model

    Returns
    -------
    str

    Raises
    ------
    ValueError
        If ``model`` has no such layer (nested models are not searched).

    Examples
    --------
    >>> import keras
    >>> model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Conv2D(2, 3, name="a"),
    ...     keras.layers.Conv2D(2, 3, name="b"), keras.layers.Flatten()])
    >>> last_conv_layer(model)
    'b'
    """
    for layer in reversed(model.layers):
        if type(layer).__name__ in _CONV_LAYERS and len(layer.output.shape) == 4:
            return layer.name
    raise ValueError(f"model {model.name!r} has no convolutional layer with a 4-D output "
                     "among its own layers; pass layer_name, or pass the nested model "
                     "that holds the convolutions")


def _score_model(model, layer_name=None):
    """A model returning (maps of layer_name or None, class scores before the softmax)."""
    keras = _keras()
    last = model.layers[-1]
    activation = getattr(last, "activation", None)
    if type(last).__name__ == "Softmax" or (
            type(last).__name__ == "Activation" and getattr(activation, "__name__", "") == "softmax"):
        scores, dense = last.input, None
    elif type(last).__name__ == "Dense" and getattr(activation, "__name__", "") == "softmax":
        scores, dense = last.input, last
    else:
        scores, dense = last.output, None
    outputs = [scores] if layer_name is None else [_layer(model, layer_name).output, scores]
    inputs = model.inputs[0] if len(model.inputs) == 1 else model.inputs
    return keras.Model(inputs, outputs), dense


def _class_score(outputs, dense, class_index):
    import tensorflow as tf

    scores = outputs[-1]
    if dense is not None:
        scores = tf.matmul(scores, dense.kernel) + (dense.bias if dense.use_bias else 0.0)
    return scores[:, class_index]


def _check_image(image):
    image = np.asarray(image, dtype="float32")
    if image.ndim != 3:
        raise ValueError(f"image: expected shape (H, W, C), got {image.shape}")
    return image


def place_on_image(maps, image_size, jump, start):
    """Resample a layer's maps to image pixels, each cell at its unit's receptive-field centre.

    Cell ``i`` of a map belongs to the unit whose receptive field is centred at
    input pixel ``start + jump * i`` (:func:`receptive_field`). Along each axis
    the value at a pixel is interpolated linearly between the two nearest
    cells; pixels before the first centre or after the last take the nearest
    cell's value (as :func:`numpy.interp` does). Rows and columns are
    interpolated one after the other, which is bilinear interpolation.

    ``tf.image.resize(..., method="bilinear")`` puts cell ``i`` at
    ``(i + 0.5) * H / h - 0.5`` instead: the same only when
    ``start == (jump - 1) / 2`` and ``H == h * jump``. With TensorFlow's
    "same" padding of an even kernel, which pads on the bottom and right only,
    the centres lie further down and to the right.

    Parameters
    ----------
    maps : ndarray, shape (h, w) or (N, h, w)
        One map, or a batch of maps.
    image_size : (int, int)
        ``(H, W)`` of the image.
    jump : int or (int, int)
        Input pixels between neighbouring units' centres (per axis).
    start : float or (float, float)
        Input coordinate of unit 0's centre, pixel centres at 0, 1, ... (per axis).

    Returns
    -------
    ndarray, shape (H, W) or (N, H, W), float32

    Examples
    --------
    >>> place_on_image(np.array([[0.0, 4.0]]), (1, 8), jump=4, start=2.0)
    array([[0., 0., 0., 1., 2., 3., 4., 4.]], dtype=float32)
    """
    maps = np.asarray(maps, dtype="float64")
    if maps.ndim not in (2, 3):
        raise ValueError(f"maps: expected shape (h, w) or (N, h, w), got {maps.shape}")
    image_size, jumps, starts = _pair(image_size), _pair(jump), _pair(start)
    weights = []
    for cells, pixels, step, first in zip(maps.shape[-2:], image_size, jumps, starts):
        centres = first + step * np.arange(cells)
        # Row p of the (pixels, cells) matrix: the interpolation weights of pixel p.
        weights.append(np.stack([np.interp(np.arange(pixels), centres, unit)
                                 for unit in np.eye(cells)], axis=1))
    rows, cols = weights
    return np.einsum("Hh,...hw,Ww->...HW", rows, maps, cols).astype("float32")


def grad_cam(model, image, class_index, layer_name=None):
    """Compute the Grad-CAM heatmap of one class for one image (Selvaraju et al. 2017).

    The class score is differentiated with respect to the feature maps
    ``A_k`` of ``layer_name``; the gradients averaged over space give one weight
    ``alpha_k`` per channel; the heatmap is ``ReLU(sum_k alpha_k A_k)``,
    placed on the image by :func:`place_on_image` (each cell at the centre of
    its unit's receptive field, linear interpolation between them) and divided
    by its maximum (a map that is zero everywhere stays zero). The score is the
    class's score before the softmax when the model ends with a softmax (a
    ``Dense`` with softmax activation, or a ``Softmax``/``Activation("softmax")``
    layer); otherwise it is the model's output for that class.

    Parameters
    ----------
    model : keras.Model
        A classifier from images to ``(N, num_classes)``.
    image : ndarray, shape (H, W, C)
        One image, in the range the model expects.
    class_index : int
        The class whose evidence to map.
    layer_name : str, optional
        A layer with 4-D output and a receptive field (:func:`receptive_field`:
        ``model`` a chain of layers up to it); default :func:`last_conv_layer`.

    Returns
    -------
    ndarray, shape (H, W), float32
        Values in [0, 1].

    Raises
    ------
    ValueError
        If the layer has no 4-D output or no receptive field.

    Examples
    --------
    >>> import keras
    >>> model = keras.Sequential([keras.Input((6, 6, 1)), keras.layers.Conv2D(2, 3, name="c"),
    ...     keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(3, activation="softmax")])
    >>> heatmap = grad_cam(model, np.ones((6, 6, 1)), class_index=1)
    >>> heatmap.shape, bool(heatmap.min() >= 0), bool(heatmap.max() <= 1)
    ((6, 6), True, True)
    """
    image = _check_image(image)
    return grad_cams(model, image[None], [class_index], layer_name)[0]


def grad_cam_cells(model, images, class_indices, layer_name=None):
    """Compute Grad-CAM's map at the layer's own resolution: one value per unit.

    ``ReLU(sum_k alpha_k A_k)`` of :func:`grad_cam`, before it is placed on
    the image and normalised: in score units, shape ``(h, w)`` of the layer's
    maps. Cell ``(i, j)`` belongs to the unit whose receptive field is centred
    at ``start + jump * (i, j)`` (:func:`receptive_field`).

    Parameters
    ----------
    model : keras.Model
    images : ndarray, shape (N, H, W, C)
    class_indices : sequence of int, length N
        The class to map for each image.
    layer_name : str, optional
        Default :func:`last_conv_layer`.

    Returns
    -------
    ndarray, shape (N, h, w), float32
        Non-negative.

    Examples
    --------
    >>> import keras
    >>> model = keras.Sequential([keras.Input((6, 6, 1)), keras.layers.Conv2D(2, 3, name="c"),
    ...     keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(3)])
    >>> grad_cam_cells(model, np.ones((4, 6, 6, 1)), [0, 1, 2, 0]).shape
    (4, 4, 4)
    """
    import tensorflow as tf

    images = np.asarray(images, dtype="float32")
    if images.ndim != 4:
        raise ValueError(f"images: expected shape (N, H, W, C), got {images.shape}")
    class_indices = np.asarray(class_indices, dtype="int64")
    if class_indices.shape != (len(images),):
        raise ValueError(f"class_indices: expected {len(images)} ints, got shape {class_indices.shape}")
    layer_name = last_conv_layer(model) if layer_name is None else layer_name
    if len(_layer(model, layer_name).output.shape) != 4:
        raise ValueError(f"layer_name: {layer_name!r} has output shape "
                         f"{_layer(model, layer_name).output.shape}, expected 4-D feature maps")
    score_model, dense = _score_model(model, layer_name)
    with tf.GradientTape() as tape:
        outputs = score_model(images, training=False)
        maps = outputs[0]
        scores = _class_score(outputs, dense, slice(None))
        # Each image's score depends only on its own maps: the gradient of the sum is per image.
        score = tf.reduce_sum(tf.gather(scores, class_indices, axis=1, batch_dims=1))
    gradients = tape.gradient(score, maps)
    weights = tf.reduce_mean(gradients, axis=(1, 2), keepdims=True)
    return tf.nn.relu(tf.reduce_sum(maps * weights, axis=-1)).numpy().astype("float32")


def grad_cams(model, images, class_indices, layer_name=None):
    """Compute :func:`grad_cam` for a batch of images in one pass.

    :func:`grad_cam_cells`, placed on the image by :func:`place_on_image` and
    divided by each map's maximum.

    Parameters
    ----------
    model : keras.Model
    images : ndarray, shape (N, H, W, C)
    class_indices : sequence of int, length N
        The class to map for each image.
    layer_name : str, optional
        Default :func:`last_conv_layer`.

    Returns
    -------
    ndarray, shape (N, H, W), float32
        Each heatmap in [0, 1], as :func:`grad_cam` computes it.

    Examples
    --------
    >>> import keras
    >>> model = keras.Sequential([keras.Input((6, 6, 1)), keras.layers.Conv2D(2, 3, name="c"),
    ...     keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(3)])
    >>> grad_cams(model, np.ones((4, 6, 6, 1)), [0, 1, 2, 0]).shape
    (4, 6, 6)
    """
    layer_name = last_conv_layer(model) if layer_name is None else layer_name
    cells = grad_cam_cells(model, images, class_indices, layer_name)
    field = receptive_field(model, layer_name)
    cams = place_on_image(cells, np.shape(images)[1:3], field.jump, field.start)
    peaks = cams.max(axis=(1, 2), keepdims=True)
    return np.where(peaks > 0, cams / np.where(peaks > 0, peaks, 1), 0).astype("float32")


def saliency_map(model, image, class_index):
    """Compute the saliency map of one class for one image (Simonyan et al. 2014).

    The class score (before the softmax, as in :func:`grad_cam`) is
    differentiated with respect to the input pixels; each pixel gets the largest
    absolute gradient over its channels.

    Parameters
    ----------
    model : keras.Model
    image : ndarray, shape (H, W, C)
    class_index : int

    Returns
    -------
    ndarray, shape (H, W), float32
        Not normalised: in score units per input unit.

    Examples
    --------
    >>> import keras
    >>> model = keras.Sequential([keras.Input((4, 4, 2)), keras.layers.Flatten(),
    ...     keras.layers.Dense(2)])
    >>> saliency_map(model, np.zeros((4, 4, 2)), 0).shape
    (4, 4)
    """
    return saliency_maps(model, _check_image(image)[None], [class_index])[0]


def saliency_maps(model, images, class_indices):
    """Compute :func:`saliency_map` for a batch of images in one pass.

    Parameters
    ----------
    model : keras.Model
    images : ndarray, shape (N, H, W, C)
    class_indices : sequence of int, length N

    Returns
    -------
    ndarray, shape (N, H, W), float32

    Examples
    --------
    >>> import keras
    >>> model = keras.Sequential([keras.Input((4, 4, 2)), keras.layers.Flatten(),
    ...     keras.layers.Dense(2)])
    >>> saliency_maps(model, np.zeros((3, 4, 4, 2)), [0, 1, 0]).shape
    (3, 4, 4)
    """
    import tensorflow as tf

    images = np.asarray(images, dtype="float32")
    if images.ndim != 4:
        raise ValueError(f"images: expected shape (N, H, W, C), got {images.shape}")
    class_indices = np.asarray(class_indices, dtype="int64")
    if class_indices.shape != (len(images),):
        raise ValueError(f"class_indices: expected {len(images)} ints, got shape {class_indices.shape}")
    images = tf.convert_to_tensor(images)
    score_model, dense = _score_model(model)
    with tf.GradientTape() as tape:
        tape.watch(images)
        scores = _class_score([score_model(images, training=False)], dense, slice(None))
        score = tf.reduce_sum(tf.gather(scores, class_indices, axis=1, batch_dims=1))
    gradients = tape.gradient(score, images)
    return tf.reduce_max(tf.abs(gradients), axis=-1).numpy().astype("float32")


def occlusion_maps(model, images, class_indices, patch_size=8, stride=4, fill=None,
                   images_per_batch=16):
    """Map how much hiding each part of an image lowers a class score (Zeiler & Fergus 2014).

    A square of ``patch_size`` pixels, filled with ``fill``, is slid over each
    image in steps of ``stride``, from ``patch_size - stride`` pixels before
    the top-left corner (squares are cut off at the border), and the class
    score (before the softmax, as in :func:`grad_cam`) is computed for every
    position. Each square gives the score's drop, ``score(image) -
    score(image with the square hidden)``, at the square's centre; the map is
    these drops placed on the image by :func:`place_on_image` (linear
    interpolation between the centres). Only the model's outputs are used, no
    gradient: one forward pass per square and image.

    Parameters
    ----------
    model : keras.Model
    images : ndarray, shape (N, H, W, C)
    class_indices : sequence of int, length N
    patch_size : int, default 8
    stride : int, default 4
        At most ``patch_size``, so that every pixel is covered.
    fill : float or sequence of C floats, optional
        Default: each image's mean colour.
    images_per_batch : int, default 16
        Images whose hidden copies go through the model together.

    Returns
    -------
    ndarray, shape (N, H, W), float32
        In score units: positive where hiding the pixels lowers the score.

    Raises
    ------
    ValueError
        If ``images`` is not 4-D, ``class_indices`` does not have one class per
        image, or ``stride`` is not between 1 and ``patch_size``.

    Examples
    --------
    >>> import keras
    >>> model_1x8 = keras.Sequential([keras.Input((1, 8, 1)), keras.layers.Flatten(),
    ...     keras.layers.Dense(1, kernel_initializer="ones")])
    >>> image = np.zeros((1, 1, 8, 1)); image[0, 0, 2] = 8.0
    >>> occlusion_maps(model_1x8, image, [0], patch_size=4, stride=2, fill=0.0)[0]
    array([[2., 6., 8., 8., 6., 2., 0., 0.]], dtype=float32)
    """
    images = _check_squares(images, patch_size, stride)
    class_indices = np.asarray(class_indices, dtype="int64")
    if class_indices.shape != (len(images),):
        raise ValueError(f"class_indices: expected {len(images)} ints, got shape {class_indices.shape}")
    count, height, width, _ = images.shape
    score_model, dense = _score_model(model)

    def scores(batch, classes):
        all_scores = _class_score([score_model(batch, training=False)], dense, slice(None))
        return np.asarray(all_scores)[np.arange(len(batch)), classes]

    rows, cols = _square_starts(height, patch_size, stride), _square_starts(width, patch_size, stride)
    drops = np.empty((count, len(rows), len(cols)), dtype="float32")
    for first in range(0, count, images_per_batch):
        chunk, classes = images[first:first + images_per_batch], class_indices[first:first + images_per_batch]
        hidden = _hide_squares(chunk, rows, cols, patch_size, fill)     # (n, squares, H, W, C)
        hidden_scores = scores(hidden.reshape((-1,) + chunk.shape[1:]),
                               np.repeat(classes, hidden.shape[1]))
        drops[first:first + len(chunk)] = (scores(chunk, classes)[:, None, None]
                                           - hidden_scores.reshape(len(chunk), len(rows), len(cols)))
    centre = stride - patch_size + (patch_size - 1) / 2        # of the first square
    return place_on_image(drops, (height, width), stride, centre)


def _check_squares(images, patch_size, stride):
    images = np.asarray(images, dtype="float32")
    if images.ndim != 4:
        raise ValueError(f"images: expected shape (N, H, W, C), got {images.shape}")
    if not 1 <= stride <= patch_size:
        raise ValueError(f"stride: expected 1 to patch_size={patch_size}, got {stride}")
    return images


def _square_starts(pixels, patch_size, stride):
    """First row (or column) of each square, from patch_size - stride before the image's edge."""
    return np.arange(stride - patch_size, pixels, stride)


def _hide_squares(images, rows, cols, patch_size, fill):
    """Copies of each image, one per square, with the square filled: shape (N, squares, H, W, C)."""
    colour = images.mean(axis=(1, 2)) if fill is None else np.broadcast_to(fill, images.shape[-1:])
    hidden = np.repeat(images[:, None], len(rows) * len(cols), axis=1)
    for index, (top, left) in enumerate((top, left) for top in rows for left in cols):
        hidden[:, index, max(top, 0):top + patch_size, max(left, 0):left + patch_size] = (
            np.reshape(colour, (-1, 1, 1, images.shape[-1])))
    return hidden


def occlusion_image_change(images, patch_size=8, stride=4, fill=None):
    """Map how much hiding each part of an image changes its pixels: occlusion without a network.

    The same squares as :func:`occlusion_maps`, filled and placed the same way,
    but each square's value is the Euclidean norm of the change it makes to
    the image's pixels, ``||image - image with the square hidden||``, instead
    of the drop of a class score. It involves no model: a baseline for
    occlusion's pointing rate, which tells how much of that rate the image
    alone explains (the edge-detector control of Adebayo et al. 2018, for
    occlusion).

    Parameters
    ----------
    images : ndarray, shape (N, H, W, C)
    patch_size : int, default 8
    stride : int, default 4
        At most ``patch_size``.
    fill : float or sequence of C floats, optional
        Default: each image's mean colour.

    Returns
    -------
    ndarray, shape (N, H, W), float32
        Non-negative; zero wherever hiding changes no pixel.

    Raises
    ------
    ValueError
        If ``images`` is not 4-D or ``stride`` is not between 1 and ``patch_size``.

    Examples
    --------
    >>> image = np.zeros((1, 1, 8, 1)); image[0, 0, 2] = 8.0
    >>> occlusion_image_change(image, patch_size=4, stride=2, fill=0.0)[0]
    array([[2., 6., 8., 8., 6., 2., 0., 0.]], dtype=float32)
    """
    images = _check_squares(images, patch_size, stride)
    count, height, width, _ = images.shape
    rows, cols = _square_starts(height, patch_size, stride), _square_starts(width, patch_size, stride)
    change = np.empty((count, len(rows) * len(cols)), dtype="float32")
    for first in range(0, count, 16):          # 16 images' hidden copies at a time
        chunk = images[first:first + 16]
        hidden = _hide_squares(chunk, rows, cols, patch_size, fill)
        change[first:first + len(chunk)] = np.sqrt(((hidden - chunk[:, None]) ** 2).sum(axis=(2, 3, 4)))
    centre = stride - patch_size + (patch_size - 1) / 2        # of the first square
    return place_on_image(change.reshape(count, len(rows), len(cols)), (height, width), stride, centre)


def peak_weights(maps):
    """Weigh each pixel by its share of its map's peak: pixels tied at the maximum share it evenly.

    The pointing game (Zhang et al. 2018) asks whether a map's highest pixel
    lies on the object. When ``k`` pixels share the highest value, as the
    pixels beyond a layer's outermost unit centres do after
    :func:`place_on_image`, each gets ``1 / k``. So ``(peak_weights(maps) *
    target).sum(axis=(1, 2))`` is the share of each map's peak inside a
    target: 1 or 0 when one pixel is highest, and otherwise what breaking the
    tie at random gives on average. No tied pixel is preferred to another. A
    map whose maximum is not positive (zero everywhere, say) points nowhere:
    all its weights are 0.

    Parameters
    ----------
    maps : ndarray, shape (N, H, W)

    Returns
    -------
    ndarray, shape (N, H, W), float64
        Each map's weights sum to 1, or to 0 if its maximum is not positive.

    Raises
    ------
    ValueError
        If ``maps`` is not 3-D.

    Examples
    --------
    >>> maps = np.array([[[1.0, 3.0], [3.0, 0.0]], [[0.0, 0.0], [0.0, 0.0]]])
    >>> peak_weights(maps)[0]
    array([[0. , 0.5],
           [0.5, 0. ]])
    >>> object_mask = np.array([[[False, True], [False, False]]] * 2)
    >>> (peak_weights(maps) * object_mask).sum(axis=(1, 2))
    array([0.5, 0. ])
    """
    maps = np.asarray(maps)
    if maps.ndim != 3:
        raise ValueError(f"maps: expected shape (N, H, W), got {maps.shape}")
    highest = maps.max(axis=(1, 2), keepdims=True)
    peak = (maps == highest) & (highest > 0)
    return peak / np.maximum(peak.sum(axis=(1, 2), keepdims=True), 1)


def _crop(image, top, left, size):
    """Crop image[top:top+size, left:left+size], zero-padded where it leaves the image."""
    height, width = image.shape[:2]
    patch = np.zeros((size, size) + image.shape[2:], dtype=image.dtype)
    rows = slice(max(top, 0), min(top + size, height))
    cols = slice(max(left, 0), min(left + size, width))
    patch[rows.start - top:rows.stop - top, cols.start - left:cols.stop - left] = image[rows, cols]
    return patch


def max_activating_patches(model, layer_name, images, filter_index, top_k=9, batch_size=256):
    """Find the input patches that excite one filter most (Zeiler & Fergus 2014).

    Each image contributes its strongest unit of the filter, so the ``top_k``
    patches come from ``top_k`` different images. Each patch is the unit's
    receptive field (:func:`receptive_field`), centred on the unit; where the
    field leaves the image the patch is filled with zeros.

    Parameters
    ----------
    model : keras.Model
    layer_name : str
        A convolution or pooling layer (one with a receptive field).
    images : ndarray, shape (N, H, W, C)
    filter_index : int or sequence of int
        Channel of the layer's output, or several channels: the images then go
        through the model once for all of them.
    top_k : int, default 9
    batch_size : int, default 256

    Returns
    -------
    Patches, or list of Patches (one per filter) if ``filter_index`` is a sequence
        ``patches`` (top_k, size, size, C) in the images' dtype, ``scores``
        (top_k,) the unit's activations, highest first, and ``positions``
        (top_k, 3) ints ``(image index, row, column)`` of the unit in the layer's map.

    Examples
    --------
    >>> import keras
    >>> model = keras.Sequential([keras.Input((6, 6, 1)), keras.layers.Conv2D(1, 3,
    ...     kernel_initializer="ones", name="c")])
    >>> images = np.zeros((2, 6, 6, 1)); images[1, 0, 0] = 1
    >>> found = max_activating_patches(model, "c", images, 0, top_k=1)
    >>> found.patches.shape, found.positions.tolist()
    ((1, 3, 3, 1), [[1, 0, 0]])
    """
    images = np.asarray(images)
    if images.ndim != 4:
        raise ValueError(f"images: expected shape (N, H, W, C), got {images.shape}")
    if not 1 <= top_k <= len(images):
        raise ValueError(f"top_k: expected 1 to {len(images)} (one patch per image), got {top_k}")
    field = receptive_field(model, layer_name)
    if not isinstance(field.size, int):
        raise ValueError(f"layer_name: {layer_name!r} has a non-square receptive field {field}")
    several = not isinstance(filter_index, (int, np.integer))
    filters = list(filter_index) if several else [filter_index]
    extractor = activation_model(model, [layer_name])
    maps = np.concatenate([
        np.asarray(extractor(images[start:start + batch_size].astype("float32"), training=False)[0])
        [..., filters] for start in range(0, len(images), batch_size)])
    found = []
    for index in range(len(filters)):
        flat = maps[..., index].reshape(len(maps), -1)
        best = flat.argmax(axis=1)
        values = flat[np.arange(len(flat)), best]
        order = np.argsort(-values, kind="stable")[:top_k]
        rows, cols = np.unravel_index(best[order], maps.shape[1:3])
        half = (field.size - 1) / 2
        patches = [_crop(images[i], int(round(field.start + field.jump * r - half)),
                         int(round(field.start + field.jump * c - half)), field.size)
                   for i, r, c in zip(order, rows, cols)]
        positions = np.stack([order, rows, cols], axis=1).astype(int)
        found.append(Patches(np.stack(patches), values[order], positions))
    return found if several else found[0]


def filter_by_gradient_ascent(model, layer_name, filter_index, steps=40, step_size=None,
                              value_range=(0.0, 255.0), seed=0):
    """Draw the input that a filter responds to most, by gradient ascent (Olah et al. 2017).

    Starting from grey plus a little noise, each step adds to the image the
    gradient of the filter's mean activation over all positions, scaled to
    ``step_size`` per pixel on average (root mean square), and clips the image
    to ``value_range``. A unit after a ReLU that is zero everywhere on the
    start image has zero gradient and never moves: ascend the layer before the
    ReLU (for example a batch normalisation's output) in that case.

    Parameters
    ----------
    model : keras.Model
    layer_name : str
        A layer with 4-D output.
    filter_index : int or sequence of int
        One filter, or several: then one image per filter, all ascended together
        (each image's gradient is that of its own filter).
    steps : int, default 40
    step_size : float, optional
        Default 2 % of the value range.
    value_range : (float, float), default (0, 255)
        Input range of the model (the course's models take raw pixels).
    seed : int, default 0
        Seeds the start image's noise.

    Returns
    -------
    ndarray, shape (H, W, C), or (K, H, W, C) for K filters, float32
        In ``value_range``.

    Examples
    --------
    >>> import keras
    >>> model = keras.Sequential([keras.Input((5, 5, 1)), keras.layers.Conv2D(1, 1,
    ...     kernel_initializer="ones", name="c")])
    >>> float(filter_by_gradient_ascent(model, "c", 0, steps=200).min())
    255.0
    """
    import tensorflow as tf

    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 0:
        raise ValueError(f"steps: expected a non-negative int, got {steps!r}")
    single = np.ndim(filter_index) == 0
    filters = np.atleast_1d(np.asarray(filter_index, dtype="int64"))
    low, high = value_range
    step_size = 0.02 * (high - low) if step_size is None else step_size
    extractor = activation_model(model, [layer_name])
    shape = tuple(model.inputs[0].shape[1:])
    rng = np.random.default_rng(seed)
    start = (low + high) / 2 + 0.05 * (high - low) * rng.standard_normal((1,) + shape)
    image = tf.Variable(np.repeat(start.clip(low, high), len(filters), axis=0).astype("float32"))

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            maps = extractor(image, training=False)[0]
            means = tf.reduce_mean(maps, axis=(1, 2))                      # (K, channels)
            objective = tf.reduce_sum(tf.gather(means, filters, axis=1, batch_dims=1))
        gradient = tape.gradient(objective, image)
        rms = tf.sqrt(tf.reduce_mean(tf.square(gradient), axis=(1, 2, 3), keepdims=True)) + 1e-12
        image.assign(tf.clip_by_value(image + step_size * gradient / rms, low, high))

    for _ in range(steps):
        step()
    result = image.numpy()
    return result[0] if single else result


def _unit_range(array):
    array = np.asarray(array, dtype="float32")
    low, high = array.min(), array.max()
    return (array - low) / (high - low) if high > low else np.zeros_like(array)


def plot_filters(model, layer_name=None, columns=8, size=0.9):
    """Draw the kernels of a convolution as small images, each scaled to [0, 1].

    Parameters
    ----------
    model : keras.Model
    layer_name : str, optional
        Default: the first convolution of ``model``.
    columns : int, default 8
    size : float, default 0.9
        Side of one panel in inches.

    Returns
    -------
    matplotlib.figure.Figure
        One panel per filter, RGB if the kernels have 3 input channels, else
        the mean over input channels in grey.
    """
    import matplotlib.pyplot as plt

    if layer_name is None:
        convs = [layer.name for layer in model.layers if type(layer).__name__ in _CONV_LAYERS]
        if not convs:
            raise ValueError(f"model {model.name!r} has no convolutional layer")
        layer_name = convs[0]
    kernel = np.asarray(_layer(model, layer_name).get_weights()[0])
    if kernel.ndim != 4:
        raise ValueError(f"layer_name: {layer_name!r} has no (kh, kw, in, out) kernel")
    count = kernel.shape[-1]
    rows = math.ceil(count / columns)
    fig, axes = plt.subplots(rows, columns, figsize=(columns * size, rows * size), squeeze=False)
    for index, ax in enumerate(axes.flat):
        ax.axis("off")
        if index < count:
            panel = kernel[..., index]
            panel = _unit_range(panel) if panel.shape[-1] == 3 else _unit_range(panel.mean(-1))
            ax.imshow(panel, cmap=None if panel.ndim == 3 else "gray", interpolation="nearest")
            ax.set_title(str(index), fontsize=7)
    return fig


def plot_feature_maps(model, image, layer_name, max_maps=16, columns=8, size=1.2):
    """Draw an image and the first ``max_maps`` feature maps of one layer for it.

    Parameters
    ----------
    model : keras.Model
    image : ndarray, shape (H, W, C)
    layer_name : str
    max_maps : int, default 16
    columns : int, default 8
    size : float, default 1.2

    Returns
    -------
    matplotlib.figure.Figure
        As :func:`cnnbook.plot.show_feature_maps` draws it.
    """
    image = _check_image(image)
    maps = activation_model(model, [layer_name])(image[None], training=False)[0][0]
    maps = np.asarray(maps)[..., :max_maps]
    shown = _unit_range(image) if image.shape[-1] == 3 else image[..., 0]
    fig = plot.show_feature_maps(shown, maps, titles=[f"{layer_name}:{k}" for k in
                                                      range(maps.shape[-1])],
                                 columns=columns, size=size)
    return fig
