"""Image data sets for the chapters, made or loaded without a network connection.

scikit-learn's digits offline, MNIST when online (:func:`load_digits`,
:func:`load_mnist`); generated colour images of ten classes of shapes, the
course's stand-in for CIFAR-10 (:func:`make_shapes`, :func:`shapes_splits`),
and CIFAR-10 itself when online (:func:`load_cifar10`); generated detection
scenes (:func:`make_detection_scenes`).

The digit loaders return the same thing: a :class:`Splits` of ``(images, labels)``
pairs, images as float32 in [0, 1] laid out ``(N, H, W, 1)`` as Keras expects,
labels as int64 class numbers 0-9.
"""

import collections
import os
import socket

import numpy as np

Splits = collections.namedtuple("Splits", ["train", "validation", "test"])
Splits.__doc__ = """Train, validation and test sets, each an ``(images, labels)`` pair."""

DIGITS_TEST_SIZE = 360
DIGITS_VALIDATION_SIZE = 180
SPLIT_SEED = 0

MNIST_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"
MNIST_SHA256 = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"
MNIST_VALIDATION_SIZE = 10_000


def load_digits(size=None):
    """Load scikit-learn's 1,797 handwritten digits, split into train, validation and test.

    The images are 8x8 scans with 17 grey levels (0-16), divided by 16 so they lie
    in [0, 1]. The split is fixed and stratified (every digit in the same
    proportion in each set): 360 test images, 180 validation images and the
    remaining 1,257 for training, drawn with ``random_state=0``.

    Parameters
    ----------
    size : int or (int, int), optional
        Resize every image to this height and width (e.g. 28 for the MNIST-shaped
        models) with bilinear interpolation (``skimage.transform.resize``, order 1,
        edges repeated). Values stay in [0, 1]. Default: keep 8x8.

    Returns
    -------
    Splits
        ``train``, ``validation``, ``test``: each ``(images, labels)`` with images
        float32 of shape (n, H, W, 1) and labels int64 of shape (n,).

    Raises
    ------
    ValueError
        If ``size`` is not a positive int or pair of positive ints.

    Examples
    --------
    >>> (x_train, y_train), validation, (x_test, y_test) = load_digits()
    >>> x_train.shape, x_test.shape, y_test[:5]
    ((1257, 8, 8, 1), (360, 8, 8, 1), array([7, 6, 3, 7, 7]))
    >>> load_digits(size=28).train[0].shape
    (1257, 28, 28, 1)
    """
    from sklearn import datasets, model_selection

    images, labels = datasets.load_digits(return_X_y=True)
    images = (images / 16.0).reshape(-1, 8, 8, 1).astype(np.float32)
    if size is not None:
        images = _resize(images, size)
    labels = labels.astype(np.int64)
    rest_x, x_test, rest_y, y_test = model_selection.train_test_split(
        images, labels, test_size=DIGITS_TEST_SIZE, stratify=labels, random_state=SPLIT_SEED
    )
    x_train, x_val, y_train, y_val = model_selection.train_test_split(
        rest_x, rest_y, test_size=DIGITS_VALIDATION_SIZE, stratify=rest_y, random_state=SPLIT_SEED
    )
    return Splits((x_train, y_train), (x_val, y_val), (x_test, y_test))


def _resize(images, size):
    """Resize (N, h, w, 1) images to (N, H, W, 1), bilinear, clipped to [0, 1]."""
    from skimage import transform

    from cnnbook import ops

    height, width = ops._pair(size, "size")
    stacked = images[..., 0].transpose(1, 2, 0)  # (h, w, N): each image is one "channel"
    resized = transform.resize(stacked, (height, width), order=1, mode="edge")
    return np.clip(resized.transpose(2, 0, 1)[..., None], 0.0, 1.0).astype(np.float32)


def load_mnist(cache_dir=None, timeout=5.0):
    """Load MNIST (70,000 digits of 28x28) with Keras' downloader; needs the internet once.

    Fetches the file that ``keras.datasets.mnist.load_data`` fetches (same URL,
    same SHA-256 check, same cache ``~/.keras/datasets``), so it is downloaded
    once and read from the cache afterwards. The last 10,000 of the 60,000
    training images are held out for validation; the 10,000 test images are
    MNIST's own test set.

    Parameters
    ----------
    cache_dir : str or path, optional
        Keras' cache folder (default: ``$KERAS_HOME`` or ``~/.keras``).
    timeout : float, default 5.0
        Seconds to wait for the server before giving up, when the file is not
        cached yet.

    Returns
    -------
    Splits
        ``train`` (50,000), ``validation`` (10,000), ``test`` (10,000): each
        ``(images, labels)``, images float32 (n, 28, 28, 1) in [0, 1], labels int64.

    Raises
    ------
    ConnectionError
        If the file is not cached and cannot be downloaded; the message points
        to :func:`load_digits`, which works offline.
    """
    import keras

    cache_dir = os.path.expanduser(cache_dir or os.environ.get("KERAS_HOME", "~/.keras"))
    if not os.path.exists(os.path.join(cache_dir, "datasets", "mnist.npz")):
        _check_reachable(MNIST_URL, timeout, _offline_message)
    try:
        path = keras.utils.get_file(
            "mnist.npz", origin=MNIST_URL, file_hash=MNIST_SHA256, cache_dir=cache_dir
        )
    except Exception as error:  # Keras raises a bare Exception on a failed download
        raise ConnectionError(_offline_message(error)) from error
    with np.load(path, allow_pickle=False) as arrays:
        x_train, y_train = arrays["x_train"], arrays["y_train"]
        x_test, y_test = arrays["x_test"], arrays["y_test"]

    def prepare(x, y):
        return (x[..., None] / np.float32(255)).astype(np.float32), y.astype(np.int64)

    cut = len(x_train) - MNIST_VALIDATION_SIZE
    return Splits(
        prepare(x_train[:cut], y_train[:cut]),
        prepare(x_train[cut:], y_train[cut:]),
        prepare(x_test, y_test),
    )


def _check_reachable(url, timeout, message):
    """Raise ConnectionError(message(error)) unless url's host accepts a connection in time."""
    host = url.split("/")[2]
    try:
        socket.create_connection((host, 443), timeout=timeout).close()
    except OSError as error:
        raise ConnectionError(message(error)) from error


def _offline_message(error):
    return (
        f"could not download MNIST from {MNIST_URL} ({error}). Offline? "
        "Use cnnbook.data.load_digits(size=28) instead: scikit-learn's digits, "
        "shipped with scikit-learn, resized to MNIST's 28x28."
    )


# ---------------------------------------------------------- detection scenes
SHAPE_NAMES = ("ellipse", "rectangle", "triangle")


def _shape_mask(shape, left, top, width, height):
    """Return a filled shape as a mask of the pixels under its box, and that box's top-left pixel."""
    row0, col0 = int(np.floor(top)), int(np.floor(left))
    rows, cols = np.mgrid[row0 : int(np.ceil(top + height)), col0 : int(np.ceil(left + width))]
    u = (cols + 0.5 - left) / width  # pixel centres, 0 to 1 across the box
    v = (rows + 0.5 - top) / height  # 0 to 1 down the box
    if shape == 0:  # ellipse
        mask = (u - 0.5) ** 2 + (v - 0.5) ** 2 <= 0.25
    elif shape == 1:  # rectangle
        mask = (u >= 0) & (u <= 1) & (v >= 0) & (v <= 1)
    else:  # triangle, apex at the top
        mask = (v >= 0) & (v <= 1) & (np.abs(u - 0.5) <= v / 2)
    return mask, row0, col0


def _mask_box(mask, row0, col0):
    """Return the tight corner box (x1, y1, x2, y2) of a mask's pixels, in image pixels."""
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    return np.array([cols[0], rows[0], cols[-1] + 1, rows[-1] + 1], dtype=float) + [col0, row0] * 2


def _covered(box, boxes):
    """Return the largest fraction of either box that ``box`` and a box of ``boxes`` share."""
    if not boxes:
        return 0.0
    others = np.array(boxes)
    overlap = np.clip(
        np.minimum(box[2:], others[:, 2:]) - np.maximum(box[:2], others[:, :2]), 0, None
    ).prod(axis=1)
    areas = np.minimum((box[2:] - box[:2]).prod(), (others[:, 2:] - others[:, :2]).prod(axis=1))
    return float(np.max(overlap / areas))


def _scene(rng, image_size, max_objects, num_classes, size_range, max_covered):
    """Draw one scene: return its image (H, W, 3), boxes (K, 4) and labels (K,)."""
    ramp = np.linspace(0, 1, image_size, dtype=np.float32)
    gradient = rng.uniform(-0.1, 0.1, size=(2, 3)).astype(np.float32)
    image = (
        rng.uniform(0.0, 0.35, size=3).astype(np.float32)
        + ramp[:, None, None] * gradient[0]  # down the rows
        + ramp[None, :, None] * gradient[1]  # across the columns
    )
    boxes, labels = [], []
    for _ in range(rng.integers(1, max_objects + 1)):
        for _attempt in range(50):
            size = rng.uniform(*size_range) * image_size
            aspect = np.sqrt(rng.uniform(0.7, 1.4))
            width, height = size * aspect, size / aspect
            left = rng.uniform(0, image_size - width)
            top = rng.uniform(0, image_size - height)
            shape = int(rng.integers(num_classes))
            mask, row0, col0 = _shape_mask(shape, left, top, width, height)
            if mask.any() and _covered(_mask_box(mask, row0, col0), boxes) <= max_covered:
                break
        else:
            continue  # no room left for this object
        window = image[row0 : row0 + mask.shape[0], col0 : col0 + mask.shape[1]]
        colour = rng.uniform(0.3, 1.0, size=3)
        colour[rng.integers(3)] = 1.0  # one full channel: always brighter than the background
        window[mask] = colour
        boxes.append(_mask_box(mask, row0, col0))
        labels.append(shape)
    image += 0.03 * rng.standard_normal(image.shape, dtype=np.float32)
    return np.clip(image, 0, 1), np.array(boxes).reshape(-1, 4), np.array(labels, dtype=int)


def make_detection_scenes(
    num_images,
    image_size=96,
    max_objects=4,
    num_classes=3,
    seed=0,
    size_range=(0.12, 0.4),
    max_covered=0.4,
):
    """Make images of coloured shapes on shaded backgrounds, with their boxes and classes.

    Each image holds 1 to ``max_objects`` filled shapes (class 0 ellipse,
    1 rectangle, 2 triangle; see ``SHAPE_NAMES``) in random bright colours,
    sizes, aspect ratios and places, over a darker colour gradient, plus a
    little Gaussian noise (standard deviation 0.03).
    Shapes may overlap: a later one is drawn over an earlier one, but no two
    boxes share more than ``max_covered`` of the smaller one's area. Each box is
    the tight box of the shape's pixels before anything is drawn over it.

    Parameters
    ----------
    num_images : int
        How many scenes.
    image_size : int, default 96
        Side of each square image in pixels.
    max_objects : int, default 4
        Most objects in one scene.
    num_classes : int, default 3
        Use the first ``num_classes`` shapes (1 to 3).
    seed : int, default 0
        The same seed gives the same scenes.
    size_range : (float, float), default (0.12, 0.4)
        Smallest and largest object size as a fraction of ``image_size``.
    max_covered : float, default 0.4
        Most of a box's area that another box may cover.

    Returns
    -------
    images : ndarray of float32, shape (num_images, image_size, image_size, 3)
        Values in [0, 1].
    boxes : list of ndarray, shape (K_i, 4)
        Corner boxes ``(x1, y1, x2, y2)`` in pixels, one array per image.
    labels : list of ndarray of int, shape (K_i,)
        Class of each box.

    Raises
    ------
    ValueError
        If a count is not a positive int, ``num_classes`` is above 3 or
        ``size_range`` is not within (0, 1].

    Examples
    --------
    >>> images, boxes, labels = make_detection_scenes(2, image_size=32, seed=1)
    >>> images.shape, images.dtype
    ((2, 32, 32, 3), dtype('float32'))
    >>> boxes[0].shape[1], len(boxes[0]) == len(labels[0])
    (4, True)
    """
    for value, name in [(num_images, "num_images"), (image_size, "image_size"),
                        (max_objects, "max_objects"), (num_classes, "num_classes")]:
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be a positive int, got {value!r}")
    if num_classes > len(SHAPE_NAMES):
        raise ValueError(f"num_classes must be at most {len(SHAPE_NAMES)}, got {num_classes}")
    low, high = size_range
    if not 0 < low <= high <= 1:
        raise ValueError(f"size_range must satisfy 0 < low <= high <= 1, got {size_range!r}")
    rng = np.random.default_rng(seed)
    scenes = [
        _scene(rng, image_size, max_objects, num_classes, size_range, max_covered)
        for _ in range(num_images)
    ]
    images = np.stack([image for image, _, _ in scenes]).astype(np.float32)
    return images, [b for _, b, _ in scenes], [lab for _, _, lab in scenes]


# ------------------------------------------------------------------ CIFAR-10
CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer",
                   "dog", "frog", "horse", "ship", "truck")
CIFAR10_VALIDATION_SIZE = 5_000


def load_cifar10(timeout=5.0):
    """Load CIFAR-10 (60,000 colour photos of 32x32, ten classes) with Keras; needs the internet once.

    Calls ``keras.datasets.cifar10.load_data()``, which downloads 163 MB once
    into Keras' cache (``~/.keras/datasets``) and reads it from there afterwards.
    The last 5,000 of the 50,000 training images are held out for validation;
    the 10,000 test images are CIFAR-10's own test set. Images stay uint8 in
    [0, 255], as :func:`make_shapes` gives them; labels are flattened to (n,)
    (Keras gives (n, 1)). Class ``k`` is ``CIFAR10_CLASSES[k]``.

    Parameters
    ----------
    timeout : float, default 5.0
        Seconds to wait for the server before giving up, when the data set is
        not cached yet.

    Returns
    -------
    Splits
        ``train`` (45,000), ``validation`` (5,000), ``test`` (10,000): each
        ``(images, labels)``, images uint8 (n, 32, 32, 3), labels int64 (n,).

    Raises
    ------
    ConnectionError
        If the data set is not cached and cannot be downloaded; the message
        points to :func:`make_shapes`, which works offline.
    """
    import keras

    cache = os.path.join(os.path.expanduser(os.environ.get("KERAS_HOME", "~/.keras")),
                         "datasets", "cifar-10-batches-py-target")
    if not os.path.exists(cache):
        _check_reachable(CIFAR10_URL, timeout, _cifar10_offline_message)
    try:
        (x_train, y_train), (x_test, y_test) = keras.datasets.cifar10.load_data()
    except Exception as error:  # Keras raises a bare Exception on a failed download
        raise ConnectionError(_cifar10_offline_message(error)) from error
    y_train, y_test = y_train.reshape(-1).astype(np.int64), y_test.reshape(-1).astype(np.int64)
    cut = len(x_train) - CIFAR10_VALIDATION_SIZE
    return Splits((x_train[:cut], y_train[:cut]), (x_train[cut:], y_train[cut:]), (x_test, y_test))


def _cifar10_offline_message(error):
    return (
        f"could not download CIFAR-10 from {CIFAR10_URL} ({error}). Offline? "
        "Use cnnbook.data.make_shapes (or shapes_splits) instead: colour images of "
        "ten classes of shapes, 32x32 uint8 like CIFAR-10, generated on the spot."
    )


# ------------------------------------------------------------------ shapes
SHAPE_CLASSES = ("circle", "square", "triangle", "star", "cross",
                 "ring", "ellipse", "pentagon", "arrow", "heart")
SHAPES_CHUNK = 128  # images drawn at once: small arrays stay in the CPU's cache


def make_shapes(num_images, image_size=32, seed=0, classes=SHAPE_CLASSES, clutter=0,
                size_range=(0.55, 0.95), max_rotation=180.0, noise=0.06,
                return_boxes=False, move=(0, 0), turn=0.0):
    """Draw colour images of shapes, one object per image: the course's CIFAR-10.

    Each image holds one filled shape of a random colour, size, rotation, slight
    stretch (up to 10 % along each axis) and position, over a textured background
    (a colour gradient, blotches of low-frequency noise and faint stripes, each of
    random strength), with grey Gaussian pixel noise on top. Optional clutter adds small distractors (short
    lines and dots) under the object. The object's colour always differs clearly
    from the background's mean colour, so every image can be classified. The
    classes are balanced: class ``k`` is drawn ``num_images // len(classes)`` or
    one more times, in a random order.

    The format is that of ``keras.datasets.cifar10.load_data()``: uint8 images
    (N, H, W, 3) in [0, 255] and integer labels, here a flat int64 array (N,)
    (CIFAR-10's labels come as (N, 1)).

    Parameters
    ----------
    num_images : int
        How many images.
    image_size : int, default 32
        Side of each square image in pixels (CIFAR-10's is 32).
    seed : int or numpy.random.SeedSequence, default 0
        The same seed gives the same images, labels and boxes.
    classes : sequence of str, default SHAPE_CLASSES
        Names of the shapes; label ``k`` is ``classes[k]``. Any of
        ``cnnbook.shapes.ALL_SHAPES``: ``SHAPE_CLASSES`` (the ten) or
        ``cnnbook.shapes.SOURCE_SHAPES`` (twenty others, for pretraining).
    clutter : int, default 0
        Distractors drawn under the object in each image.
    size_range : (float, float), default (0.55, 0.95)
        Smallest and largest diameter of the object's enclosing circle, as a
        fraction of ``image_size``.
    max_rotation : float, default 180
        Rotations are drawn uniformly in ``[-max_rotation, max_rotation]``
        degrees; 0 draws every shape upright (the arrow points right).
    noise : float, default 0.06
        Largest standard deviation of the pixel noise, in [0, 1] units; each
        image draws its own between 0.2 and 1 times this.
    return_boxes : bool, default False
        Also return each object's box and mask.
    move : (float, float), default (0, 0)
        Pixels to move every object down and right after its position is
        drawn, over the same background: the same seed with another ``move``
        gives the same images with the objects elsewhere, cut by the frame
        where they cross it (no border is filled in). Every random draw is
        unchanged, so ``(0, 0)`` gives the images as drawn.
    turn : float, default 0
        Degrees to turn every object counter-clockwise (as displayed) about its
        own centre after its angle is drawn, over the same background.

    Returns
    -------
    images : ndarray of uint8, shape (num_images, image_size, image_size, 3)
    labels : ndarray of int64, shape (num_images,)
    boxes : ndarray of float64, shape (num_images, 4)
        Only with ``return_boxes``: the tight corner box ``(x1, y1, x2, y2)`` of
        the object's pixels, in pixels (as ``cnnbook.detection`` uses them).
    masks : ndarray of bool, shape (num_images, image_size, image_size)
        Only with ``return_boxes``: the object's pixels (at least half covered).

    Raises
    ------
    ValueError
        If a count is not a non-negative int (``num_images`` and ``image_size``
        positive), a class name is unknown or repeated, or a range is out of bounds.

    Examples
    --------
    >>> images, labels = make_shapes(20, seed=1)
    >>> images.shape, images.dtype, labels.dtype
    ((20, 32, 32, 3), dtype('uint8'), dtype('int64'))
    >>> [SHAPE_CLASSES[k] for k in labels[:3]]
    ['square', 'circle', 'arrow']
    >>> images, labels, boxes, masks = make_shapes(2, return_boxes=True)
    >>> boxes.shape, masks.shape
    ((2, 4), (2, 32, 32))
    >>> boxes
    array([[ 1.,  9., 21., 30.],
           [15., 10., 29., 25.]])
    >>> make_shapes(2, move=(2, -1), return_boxes=True)[2]  # 2 pixels down, 1 to the left
    array([[ 0., 11., 20., 32.],
           [14., 12., 28., 27.]])
    >>> make_shapes(2, move=(2, -2), return_boxes=True)[2][0]  # the first object is cut by the frame
    array([ 0., 11., 19., 32.])
    """
    from cnnbook import shapes

    for value, name, low in [(num_images, "num_images", 1), (image_size, "image_size", 8),
                             (clutter, "clutter", 0)]:
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
            raise ValueError(f"{name} must be an int of at least {low}, got {value!r}")
    classes = tuple(classes)
    unknown = [name for name in classes if name not in shapes.ALL_SHAPES]
    if unknown or not classes or len(set(classes)) != len(classes):
        raise ValueError(f"classes must be distinct names of cnnbook.shapes.ALL_SHAPES, got {classes!r}")
    low, high = size_range
    if not 0 < low <= high <= 1:
        raise ValueError(f"size_range must satisfy 0 < low <= high <= 1, got {size_range!r}")
    if not 0 <= max_rotation <= 180:
        raise ValueError(f"max_rotation must be in [0, 180] degrees, got {max_rotation!r}")
    if not 0 <= noise <= 1:
        raise ValueError(f"noise must be in [0, 1], got {noise!r}")
    try:
        move_rows, move_cols = (float(value) for value in move)
    except (TypeError, ValueError):
        raise ValueError(f"move must be a pair of numbers (rows down, columns right), got {move!r}") from None
    if isinstance(turn, bool) or not isinstance(turn, (int, float, np.integer, np.floating)):
        raise ValueError(f"turn must be a number of degrees, got {turn!r}")

    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.arange(num_images) % len(classes)).astype(np.int64)
    params = _shape_params(rng, num_images, image_size, size_range, max_rotation, noise, clutter)
    if move_rows or move_cols:  # centres are (x, y): column first
        params["centre"] = params["centre"] + np.float32([move_cols, move_rows])
    if turn:  # angles turn the frame clockwise as displayed (rows point down)
        params["angle"] = params["angle"] - np.float32(np.deg2rad(turn))
    images = np.empty((num_images, image_size, image_size, 3), dtype=np.uint8)
    masks = np.empty((num_images, image_size, image_size), dtype=bool)
    for start in range(0, num_images, SHAPES_CHUNK):
        part = slice(start, min(start + SHAPES_CHUNK, num_images))
        chunk = {key: value[part] for key, value in params.items()}
        chunk["pixel_noise"] = rng.standard_normal(
            (len(labels[part]), 1, image_size, image_size), dtype=np.float32)
        images[part], masks[part] = _draw_shapes(labels[part], classes, chunk, image_size)
    if not return_boxes:
        return images, labels
    return images, labels, _mask_boxes(masks), masks


def shape_circles(num_images, image_size=32, seed=0, classes=SHAPE_CLASSES, size_range=(0.55, 0.95)):
    """Return the enclosing circles that ``make_shapes`` draws its objects in.

    ``make_shapes`` places each object in a circle of random radius whose centre
    is drawn where the circle fits inside the frame. This repeats its first
    random draws, so with the same arguments it returns the circles of the same
    images (before any ``move``). A moved object lies where the data never put
    one when its moved circle no longer fits.

    Parameters
    ----------
    num_images, image_size, seed, classes, size_range
        As for ``make_shapes``.

    Returns
    -------
    centres : ndarray, shape (num_images, 2)
        Each circle's centre (x, y) in pixels: column first.
    radii : ndarray, shape (num_images,)
        Each circle's radius in pixels.

    Examples
    --------
    >>> centres, radii = shape_circles(2)
    >>> centres.round(1), radii.round(1)
    (array([[10.7, 19.4],
           [21.7, 17.5]], dtype=float32), array([10.5,  9.1], dtype=float32))
    >>> bool(((centres - radii[:, None] >= 0) & (centres + radii[:, None] <= 32)).all())
    True
    """
    if isinstance(num_images, bool) or not isinstance(num_images, (int, np.integer)) or num_images < 1:
        raise ValueError(f"num_images must be an int of at least 1, got {num_images!r}")
    make_shapes(1, image_size, seed, classes, size_range=size_range)  # make_shapes' checks of the other arguments
    rng = np.random.default_rng(seed)
    rng.permutation(np.arange(num_images) % len(tuple(classes)))  # the labels, drawn first
    radius = rng.uniform(*size_range, num_images) * image_size / 2
    centre = rng.uniform(radius[:, None], image_size - radius[:, None], (num_images, 2))
    return centre.astype(np.float32), radius.astype(np.float32)


def _shape_params(rng, count, size, size_range, max_rotation, noise, clutter):
    """Draw every random choice of ``count`` images at once, in a fixed order."""
    radius = rng.uniform(*size_range, count) * size / 2
    params = {
        "radius": radius,
        "centre": rng.uniform(radius[:, None], size - radius[:, None], (count, 2)),
        "angle": np.deg2rad(rng.uniform(-max_rotation, max_rotation, count)),
        "stretch": rng.uniform(0.9, 1.1, (count, 2)),
        "base": rng.uniform(0, 1, (count, 3)),
        "gradient": rng.uniform(-0.3, 0.3, (count, 2, 3)),
        "blotches": rng.uniform(-1, 1, (count, 4, 4, 3)) * rng.uniform(0, 0.25, (count, 1, 1, 1)),
        "stripes": rng.uniform(0, 0.12, count),
        "stripe_wave": rng.uniform([0, 2, 0], [np.pi, 6, 2 * np.pi], (count, 3)),
        "colours": rng.uniform(0, 1, (count, 8, 3)),
        "shading": rng.uniform(-0.15, 0.15, (count, 2)),
        "noise": rng.uniform(0.2, 1.0, count) * noise,
        "clutter_kind": rng.integers(0, 2, (count, clutter)),
        "clutter_ends": rng.uniform(0, size, (count, clutter, 2, 2)),
        "clutter_colour": rng.uniform(0, 1, (count, clutter, 3)),
        "clutter_size": rng.uniform(0.6, 1.8, (count, clutter)),
    }
    return {key: value.astype(np.float32) if value.dtype == np.float64 else value
            for key, value in params.items()}


def _draw_shapes(labels, classes, p, size):
    """Draw one chunk of images from its parameters: return uint8 images and bool masks."""
    from cnnbook import shapes

    count = len(labels)
    centres = np.arange(size, dtype=np.float32) + 0.5
    x, y = centres[None, None, :], centres[None, :, None]  # pixel centres, (1, 1, W), (1, H, 1)

    # Background, channels first (n, 3, H, W): base colour, gradient and blotches live
    # on a 4 x 4 grid that is resized bilinearly; then faint grey stripes.
    ramp = np.linspace(-0.5, 0.5, 4, dtype=np.float32)
    grid = (p["base"][:, :, None, None] + p["blotches"].transpose(0, 3, 1, 2)
            + ramp[:, None] * p["gradient"][:, 0, :, None, None]
            + ramp[None, :] * p["gradient"][:, 1, :, None, None])
    upsample = _bilinear_matrix(4, size)
    image = upsample @ grid @ upsample.T
    direction, cycles, phase = (p["stripe_wave"][:, k] for k in range(3))
    # sin(a x + b y + c) = sin(a x) cos(b y + c) + cos(a x) sin(b y + c): no sine per pixel.
    a = (2 * np.pi * cycles * np.cos(direction) / size)[:, None] * centres
    b = (2 * np.pi * cycles * np.sin(direction) / size)[:, None] * centres + phase[:, None]
    stripes = (np.cos(b)[:, :, None] * np.sin(a)[:, None, :]
               + np.sin(b)[:, :, None] * np.cos(a)[:, None, :]) * p["stripes"][:, None, None]
    image += stripes[:, None]
    background = image.mean(axis=(2, 3))

    # Clutter: short lines and dots, under the object.
    for k in range(p["clutter_kind"].shape[1]):
        ends = p["clutter_ends"][:, k]
        start = ends[:, 0, :, None, None]
        end = np.where(p["clutter_kind"][:, k, None] == 1, ends[:, 1], ends[:, 0])[..., None, None]
        half_width = np.where(p["clutter_kind"][:, k] == 1, 0.6, p["clutter_size"][:, k])
        hit = _segment_distance(x, y, start, end) <= half_width[:, None, None]
        np.copyto(image, p["clutter_colour"][:, k, :, None, None], where=hit[:, None])

    # The object: every pixel centre mapped into the shape's own frame.
    dx = x - p["centre"][:, 0, None, None]
    dy = y - p["centre"][:, 1, None, None]
    cos, sin = np.cos(p["angle"])[:, None, None], np.sin(p["angle"])[:, None, None]
    scale = p["radius"][:, None, None]
    u = (cos * dx + sin * dy) / (scale * p["stretch"][:, 0, None, None])
    v = (-sin * dx + cos * dy) / (scale * p["stretch"][:, 1, None, None])
    mask = np.zeros((count, size, size), dtype=bool)
    for label, name in enumerate(classes):
        rows = np.flatnonzero(labels == label)
        if rows.size:
            mask[rows] = shapes.inside(name, u[rows], v[rows])
    colour = _contrasting(p["colours"], background)
    shade = u * p["shading"][:, 0, None, None] + v * p["shading"][:, 1, None, None]
    np.copyto(image, colour[:, :, None, None] + shade[:, None], where=mask[:, None])

    image += p["noise"][:, None, None, None] * p["pixel_noise"]
    np.clip(image, 0, 1, out=image)
    image *= 255
    image += 0.5
    return image.astype(np.uint8).transpose(0, 2, 3, 1), mask


def _bilinear_matrix(small, large):
    """Return the (large, small) matrix that resizes a length-``small`` signal bilinearly."""
    position = np.clip((np.arange(large) + 0.5) * small / large - 0.5, 0, small - 1)
    low = np.minimum(position.astype(int), small - 2)
    weight = position - low
    matrix = np.zeros((large, small), dtype=np.float32)
    matrix[np.arange(large), low] = 1 - weight
    matrix[np.arange(large), low + 1] = weight
    return matrix


def _segment_distance(x, y, start, end):
    """Return the distance of every pixel centre to the segments start-end (dots when equal)."""
    direction = end - start
    length2 = np.maximum((direction ** 2).sum(axis=1, keepdims=True), 1e-9)
    t = np.clip(((x - start[:, 0]) * direction[:, 0] + (y - start[:, 1]) * direction[:, 1])
                / length2[:, 0], 0, 1)
    return np.hypot(x - start[:, 0] - t * direction[:, 0], y - start[:, 1] - t * direction[:, 1])


def _contrasting(candidates, background, min_distance=0.45):
    """Return, per image, the first candidate colour far enough from the background's mean."""
    distance = np.linalg.norm(candidates - background[:, None, :], axis=2)
    far = distance >= min_distance
    choice = np.where(far.any(axis=1), far.argmax(axis=1), distance.argmax(axis=1))
    return candidates[np.arange(len(candidates)), choice]


def _mask_boxes(masks):
    """Return the tight corner boxes (N, 4) of masks (N, H, W); all zeros for an empty mask."""
    rows, cols = masks.any(axis=2), masks.any(axis=1)
    height, width = masks.shape[1:]
    boxes = np.stack([
        cols.argmax(axis=1), rows.argmax(axis=1),
        width - cols[:, ::-1].argmax(axis=1), height - rows[:, ::-1].argmax(axis=1),
    ], axis=1).astype(np.float64)
    boxes[~rows.any(axis=1)] = 0.0
    return boxes


def shapes_splits(num_train=20_000, num_validation=2_000, num_test=2_000, seed=0, **options):
    """Draw train, validation and test sets of :func:`make_shapes`, independent of each other.

    The three sets come from three seeds spawned from ``seed``
    (``numpy.random.SeedSequence``), so no image is shared between them and
    each set is the same on every call.

    Parameters
    ----------
    num_train, num_validation, num_test : int
        Sizes of the three sets.
    seed : int, default 0
        The seed the three sets' seeds are spawned from.
    **options
        Passed on to :func:`make_shapes` (``image_size``, ``classes``,
        ``clutter``...), except ``return_boxes``.

    Returns
    -------
    Splits
        ``train``, ``validation``, ``test``: each ``(images, labels)``, images
        uint8 (n, H, W, 3), labels int64 (n,).

    Examples
    --------
    >>> (x_train, y_train), _, (x_test, y_test) = shapes_splits(100, 10, 50)
    >>> x_train.shape, x_test.shape, x_test.dtype
    ((100, 32, 32, 3), (50, 32, 32, 3), dtype('uint8'))
    """
    if "return_boxes" in options:
        raise ValueError("shapes_splits returns no boxes: call make_shapes(..., return_boxes=True)")
    seeds = np.random.SeedSequence(seed).spawn(3)
    sizes = (num_train, num_validation, num_test)
    return Splits(*(make_shapes(size, seed=child, **options) for size, child in zip(sizes, seeds)))
