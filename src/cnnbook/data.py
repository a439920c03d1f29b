"""Image data sets for the chapters, made or loaded without a network connection.

scikit-learn's digits offline, MNIST when online (:func:`load_digits`,
:func:`load_mnist`), and generated detection scenes (:func:`make_detection_scenes`).

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
        host = MNIST_URL.split("/")[2]
        try:
            socket.create_connection((host, 443), timeout=timeout).close()
        except OSError as error:
            raise ConnectionError(_offline_message(error)) from error
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
