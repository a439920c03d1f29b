"""Tests of cnnbook.data: the digits split, resizing, and MNIST's offline failure."""

import socket

import numpy as np
import pytest
from skimage import transform
from sklearn import datasets

from cnnbook import data


@pytest.fixture(scope="module")
def digits():
    return data.load_digits()


def test_digits_images_are_float32_in_unit_interval(digits):
    for images, _ in digits:
        assert images.dtype == np.float32
        assert images.min() == 0.0 and images.max() == 1.0


def test_digits_split_sizes_are_fixed(digits):
    sizes = [(len(images), len(labels)) for images, labels in digits]
    assert sizes == [(1257, 1257), (180, 180), (360, 360)]


def test_digits_images_are_batches_of_8x8_single_channel(digits):
    assert [images.shape[1:] for images, _ in digits] == [(8, 8, 1)] * 3


def test_digits_split_is_stratified(digits):
    np.testing.assert_array_equal(np.bincount(digits.validation[1]), [18] * 10)
    assert set(np.bincount(digits.test[1])) <= {35, 36, 37}


def test_digits_split_is_the_same_every_call(digits):
    again = data.load_digits()
    for (images, labels), (images_again, labels_again) in zip(digits, again):
        np.testing.assert_array_equal(images, images_again)
        np.testing.assert_array_equal(labels, labels_again)


def test_digits_splits_partition_the_data_set(digits):
    # Together the three sets hold every scikit-learn digit exactly once.
    images, labels = datasets.load_digits(return_X_y=True)
    expected = np.column_stack([images / 16.0, labels])
    ours = np.concatenate(
        [np.column_stack([x.reshape(len(x), -1), y]) for x, y in digits]
    ).astype(np.float64)
    np.testing.assert_array_equal(np.unique(ours, axis=0), np.unique(expected, axis=0))
    assert len(ours) == len(expected)


def test_resize_gives_the_requested_shape_and_keeps_range():
    train_images = data.load_digits(size=(28, 20)).train[0]
    assert train_images.shape == (1257, 28, 20, 1)
    assert train_images.min() >= 0.0 and train_images.max() <= 1.0


def test_resize_treats_each_image_on_its_own(digits):
    # Interpolation must not blend neighbouring images of the batch.
    resized = data.load_digits(size=28).test[0]
    for index in (0, 1, 359):
        alone = transform.resize(digits.test[0][index, :, :, 0], (28, 28), order=1, mode="edge")
        np.testing.assert_allclose(resized[index, :, :, 0], alone, atol=1e-6)


@pytest.mark.parametrize("size", [0, -28, 2.5, (28,), "28"])
def test_bad_size_is_rejected(size):
    with pytest.raises(ValueError, match="size must be"):
        data.load_digits(size=size)


def test_load_mnist_offline_names_load_digits(tmp_path, monkeypatch):
    def no_network(*args, **kwargs):
        raise OSError("network unreachable (simulated by the test)")

    monkeypatch.setattr(socket, "create_connection", no_network)
    with pytest.raises(ConnectionError, match=r"load_digits\(size=28\)"):
        data.load_mnist(cache_dir=tmp_path, timeout=1.0)


def test_load_mnist_failed_download_names_load_digits(tmp_path, monkeypatch):
    keras = pytest.importorskip("keras")

    class Reachable:
        def close(self):
            pass

    def failed_download(*args, **kwargs):
        raise Exception("URL fetch failure (simulated by the test)")

    monkeypatch.setattr(socket, "create_connection", lambda *args, **kwargs: Reachable())
    monkeypatch.setattr(keras.utils, "get_file", failed_download)
    with pytest.raises(ConnectionError, match="load_digits"):
        data.load_mnist(cache_dir=tmp_path, timeout=1.0)
