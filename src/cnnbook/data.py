"""Image data sets for the chapters: scikit-learn's digits offline, MNIST when online.

Both loaders return the same thing: a :class:`Splits` of ``(images, labels)``
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
