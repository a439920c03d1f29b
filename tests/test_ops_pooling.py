"""Tests of cnnbook.ops.pool2d and global_average_pool: by hand, against TensorFlow, bad input."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cnnbook import ops

tf = pytest.importorskip("tensorflow")

# The chapter's 4x4 feature map: its top-left window [[1, 1], [5, 6]] pools to 6 (max).
FEATURE_MAP = np.array(
    [[1, 1, 2, 4], [5, 6, 7, 8], [3, 2, 1, 0], [1, 2, 3, 4]], dtype=float
).reshape(1, 4, 4, 1)
TF_POOL = {"max": tf.nn.max_pool2d, "avg": tf.nn.avg_pool2d}


@st.composite
def pooling_cases(draw):
    """A random (x, pool_size, stride, padding) whose window fits the padded input."""
    padding = draw(st.sampled_from(["valid", "same"]))
    pool_size = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    low = 1 if padding == "same" else None
    height = draw(st.integers(low or pool_size[0], 9))
    width = draw(st.integers(low or pool_size[1], 9))
    batch, channels = draw(st.integers(1, 2)), draw(st.integers(1, 3))
    seed = draw(st.integers(0, 2**16))
    x = np.random.default_rng(seed).standard_normal((batch, height, width, channels))
    return x.astype(np.float32), pool_size, stride, padding


def test_max_pool_of_the_classic_example():
    expected = np.array([[6, 8], [3, 4]], dtype=float)
    np.testing.assert_array_equal(ops.pool2d(FEATURE_MAP, 2)[0, :, :, 0], expected)


def test_average_pool_of_the_classic_example():
    expected = np.array([[13 / 4, 21 / 4], [8 / 4, 8 / 4]])
    np.testing.assert_allclose(ops.pool2d(FEATURE_MAP, 2, mode="avg")[0, :, :, 0], expected)


def test_stride_defaults_to_pool_size():
    x = np.random.default_rng(0).standard_normal((2, 6, 6, 3))
    np.testing.assert_array_equal(ops.pool2d(x, 3), ops.pool2d(x, 3, stride=3))


@settings(max_examples=60, deadline=None)
@given(case=pooling_cases(), mode=st.sampled_from(["max", "avg"]))
def test_pool2d_matches_tensorflow(case, mode):
    x, pool_size, stride, padding = case
    expected = TF_POOL[mode](x, ksize=pool_size, strides=stride, padding=padding.upper()).numpy()
    actual = ops.pool2d(x, pool_size, stride=stride, padding=padding, mode=mode)
    assert actual.shape == expected.shape
    np.testing.assert_allclose(actual, expected, rtol=1e-5, atol=1e-6)


def test_same_average_excludes_padding_from_the_count():
    # 3x3 of ones, 2x2 windows, stride 2, "same": the last row/column of windows
    # overlap the padding; TensorFlow divides by the cells inside the input only.
    x = np.ones((1, 3, 3, 1))
    pooled = ops.pool2d(x, 2, padding="same", mode="avg")
    np.testing.assert_array_equal(pooled, np.ones((1, 2, 2, 1)))


def test_same_max_pool_ignores_padding_of_negative_inputs():
    x = -np.ones((1, 3, 3, 1))
    np.testing.assert_array_equal(ops.pool2d(x, 2, padding="same"), -np.ones((1, 2, 2, 1)))


def test_integer_input_gives_float_output():
    assert ops.pool2d(np.arange(16).reshape(1, 4, 4, 1), 2, mode="avg").dtype.kind == "f"


@settings(max_examples=30, deadline=None)
@given(case=pooling_cases())
def test_global_average_pool_matches_keras_layer(case):
    x = case[0]
    expected = tf.keras.layers.GlobalAveragePooling2D()(x).numpy()
    np.testing.assert_allclose(ops.global_average_pool(x), expected, rtol=1e-5, atol=1e-6)


def test_global_average_pool_shape_is_batch_by_channels():
    assert ops.global_average_pool(np.zeros((5, 7, 3, 4))).shape == (5, 4)


@pytest.mark.parametrize("function", [ops.pool2d, ops.global_average_pool])
def test_non_4d_input_is_rejected(function):
    with pytest.raises(ValueError, match="x must be a 4-D array"):
        function(np.zeros((4, 4, 1)))


def test_window_larger_than_input_is_rejected():
    with pytest.raises(ValueError, match="pool_size height 5 is larger than the padded input"):
        ops.pool2d(np.zeros((1, 4, 4, 1)), 5)


def test_unknown_mode_is_rejected():
    with pytest.raises(ValueError, match="mode must be 'max' or 'avg'"):
        ops.pool2d(np.zeros((1, 4, 4, 1)), 2, mode="median")


def test_unknown_padding_word_is_rejected():
    with pytest.raises(ValueError, match="padding must be"):
        ops.pool2d(np.zeros((1, 4, 4, 1)), 2, padding="full")


def test_integer_padding_is_rejected():
    with pytest.raises(ValueError, match="padding must be 'valid' or 'same' for pooling"):
        ops.pool2d(np.zeros((1, 4, 4, 1)), 2, padding=1)


def test_non_positive_stride_is_rejected():
    with pytest.raises(ValueError, match="stride must be positive"):
        ops.pool2d(np.zeros((1, 4, 4, 1)), 2, stride=0)


def test_non_positive_pool_size_is_rejected():
    with pytest.raises(ValueError, match="pool_size must be positive"):
        ops.pool2d(np.zeros((1, 4, 4, 1)), (2, 0))
