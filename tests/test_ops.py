"""Tests of cnnbook.ops: convolution, padding, output sizes and parameter counts."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cnnbook import ops

tf = pytest.importorskip("tensorflow")

ATOL = 1e-5


# ------------------------------------------------------------------ worked quiz
def test_quiz_output_size_with_padding_one():
    assert ops.conv_output_size(32, 8, stride=2, padding=1) == 14


def test_quiz_output_size_same():
    assert ops.conv_output_size(32, 8, stride=2, padding="same") == 16


def test_quiz_output_size_valid():
    assert ops.conv_output_size(32, 8, stride=2, padding="valid") == 13


def test_quiz_shapes_from_conv2d():
    x = np.zeros((1, 32, 32, 3))
    w = np.zeros((8, 8, 3, 20))
    assert ops.conv2d(x, w, stride=2, padding=1).shape == (1, 14, 14, 20)
    assert ops.conv2d(x, w, stride=2, padding="same").shape == (1, 16, 16, 20)
    assert ops.conv2d(x, w, stride=2, padding="valid").shape == (1, 13, 13, 20)


def test_quiz_parameters_with_sharing():
    assert ops.conv_params(8, 3, 20) == 3_860


def test_quiz_parameters_without_sharing():
    assert ops.conv_params(8, 3, 20, shared=False, output_hw=(14, 14)) == 756_560


def test_conv_params_without_bias():
    assert ops.conv_params((3, 5), 2, 4, bias=False) == 3 * 5 * 2 * 4


def test_conv_params_unshared_requires_output_hw():
    with pytest.raises(ValueError, match="output_hw"):
        ops.conv_params(3, 1, 1, shared=False)


def test_conv_params_matches_keras_conv2d():
    import keras

    layer = keras.layers.Conv2D(20, 8, strides=2)
    layer.build((None, 32, 32, 3))
    assert layer.count_params() == ops.conv_params(8, 3, 20)


# -------------------------------------------------------------- output sizes
@given(
    n=st.integers(1, 40),
    f=st.integers(1, 9),
    s=st.integers(1, 5),
    padding=st.sampled_from(["valid", "same", 0, 1, 2, 3]),
)
def test_output_size_formulas(n, f, s, padding):
    pad = 0 if padding in ("valid", "same") else padding
    if padding != "same" and f > n + 2 * pad:
        with pytest.raises(ValueError, match="kernel_size"):
            ops.conv_output_size(n, f, s, padding)
        return
    expected = {
        "valid": int(np.ceil((n - f + 1) / s)),
        "same": int(np.ceil(n / s)),
    }.get(padding, (n - f + 2 * pad) // s + 1)
    assert ops.conv_output_size(n, f, s, padding) == expected


def test_same_padding_puts_the_odd_zero_after():
    assert ops.same_padding(4, 2) == (0, 1)
    assert ops.same_padding(6, 4) == (1, 2)


def test_same_padding_is_zero_when_stride_covers_the_input():
    assert ops.same_padding(8, 2, stride=2) == (0, 0)


# ------------------------------------------------------------------ zero_pad
def test_zero_pad_pads_only_height_and_width():
    x = np.ones((2, 3, 4, 5))
    out = ops.zero_pad(x, 2)
    assert out.shape == (2, 7, 8, 5)
    assert out[:, 2:5, 2:6, :].sum() == x.sum()
    assert out.sum() == x.sum()


def test_zero_pad_per_side():
    out = ops.zero_pad(np.ones((1, 2, 2, 1)), ((0, 1), (2, 0)))
    assert out.shape == (1, 3, 4, 1)
    np.testing.assert_array_equal(out[0, :, :, 0], [[0, 0, 1, 1], [0, 0, 1, 1], [0, 0, 0, 0]])


def test_zero_pad_rejects_negative_pad():
    with pytest.raises(ValueError, match="pad"):
        ops.zero_pad(np.ones((1, 2, 2, 1)), -1)


def test_zero_pad_rejects_non_4d():
    with pytest.raises(ValueError, match="x must be a 4-D"):
        ops.zero_pad(np.ones((2, 2)), 1)


# ------------------------------------------------------------------- conv2d
def test_conv2d_hand_example():
    x = np.arange(16.0).reshape(1, 4, 4, 1)
    w = np.array([[1.0, 0.0], [0.0, -1.0]]).reshape(2, 2, 1, 1)
    # each output is x[i, j] - x[i + 1, j + 1] = -5
    np.testing.assert_array_equal(ops.conv2d(x, w)[0, :, :, 0], np.full((3, 3), -5.0))


def test_conv2d_adds_bias_per_filter():
    x = np.ones((1, 3, 3, 2))
    w = np.ones((3, 3, 2, 2))
    out = ops.conv2d(x, w, b=np.array([1.0, -1.0]))
    np.testing.assert_array_equal(out.ravel(), [19.0, 17.0])


def test_conv2d_does_not_flip_the_kernel():
    from scipy import signal

    rng = np.random.default_rng(0)
    image, kernel = rng.normal(size=(6, 7)), rng.normal(size=(3, 2))
    ours = ops.conv2d(image[None, :, :, None], kernel[:, :, None, None])[0, :, :, 0]
    np.testing.assert_allclose(ours, signal.correlate2d(image, kernel, mode="valid"), atol=ATOL)


def _tf_conv(x, w, b, stride, padding):
    strides = [1, *stride, 1] if isinstance(stride, tuple) else [1, stride, stride, 1]
    if isinstance(padding, int):
        tf_padding = [[0, 0], [padding, padding], [padding, padding], [0, 0]]
    else:
        tf_padding = padding.upper()
    out = tf.nn.conv2d(x.astype(np.float32), w.astype(np.float32), strides, tf_padding)
    return tf.nn.bias_add(out, b.astype(np.float32)).numpy()


@st.composite
def conv_cases(draw):
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    padding = draw(st.sampled_from(["valid", "same", 0, 1, 2]))
    pad = padding if isinstance(padding, int) else 0
    height = draw(st.integers(max(1, kh - 2 * pad), 9))
    width = draw(st.integers(max(1, kw - 2 * pad), 9))
    stride = draw(st.one_of(st.integers(1, 3), st.tuples(st.integers(1, 3), st.integers(1, 3))))
    shapes = dict(
        n=draw(st.integers(1, 3)),
        c=draw(st.integers(1, 3)),
        k=draw(st.integers(1, 4)),
        seed=draw(st.integers(0, 2**16)),
    )
    return height, width, kh, kw, stride, padding, shapes


@settings(max_examples=60, deadline=None)
@given(conv_cases())
def test_conv2d_matches_tensorflow(case):
    height, width, kh, kw, stride, padding, s = case
    rng = np.random.default_rng(s["seed"])
    x = rng.normal(size=(s["n"], height, width, s["c"])).astype(np.float32)
    w = rng.normal(size=(kh, kw, s["c"], s["k"])).astype(np.float32)
    b = rng.normal(size=s["k"]).astype(np.float32)
    ours = ops.conv2d(x, w, b, stride=stride, padding=padding)
    expected = _tf_conv(x, w, b, stride, padding)
    assert ours.shape == expected.shape
    np.testing.assert_allclose(ours, expected, atol=ATOL)


@settings(max_examples=30, deadline=None)
@given(conv_cases())
def test_conv2d_naive_equals_conv2d(case):
    height, width, kh, kw, stride, padding, s = case
    rng = np.random.default_rng(s["seed"])
    x = rng.normal(size=(s["n"], height, width, s["c"]))
    w = rng.normal(size=(kh, kw, s["c"], s["k"]))
    b = rng.normal(size=s["k"])
    np.testing.assert_allclose(
        ops.conv2d_naive(x, w, b, stride=stride, padding=padding),
        ops.conv2d(x, w, b, stride=stride, padding=padding),
        atol=1e-10,
    )


def test_conv2d_same_odd_padding_matches_tensorflow():
    # total padding 1 (odd): TensorFlow puts it at the bottom/right
    rng = np.random.default_rng(1)
    x = rng.normal(size=(1, 4, 4, 1)).astype(np.float32)
    w = rng.normal(size=(2, 2, 1, 1)).astype(np.float32)
    b = np.zeros(1, np.float32)
    np.testing.assert_allclose(
        ops.conv2d(x, w, padding="same"), _tf_conv(x, w, b, 1, "same"), atol=ATOL
    )


# ------------------------------------------------------------- bad arguments
@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(x=np.ones((1, 5, 5, 3)), w=np.ones((3, 3, 2, 1))), "channels differ"),
        (dict(x=np.ones((1, 5, 5, 1)), w=np.ones((3, 3, 1, 1)), stride=0), "stride"),
        (dict(x=np.ones((1, 5, 5, 1)), w=np.ones((3, 3, 1, 1)), stride=(1, -2)), "stride"),
        (dict(x=np.ones((1, 5, 5, 1)), w=np.ones((3, 3, 1, 1)), padding="full"), "padding"),
        (dict(x=np.ones((1, 5, 5, 1)), w=np.ones((3, 3, 1, 1)), padding=-1), "padding"),
        (dict(x=np.ones((1, 2, 5, 1)), w=np.ones((3, 3, 1, 1))), "kernel height"),
        (dict(x=np.ones((1, 5, 2, 1)), w=np.ones((3, 3, 1, 1)), padding=0), "kernel width"),
        (dict(x=np.ones((5, 5, 1)), w=np.ones((3, 3, 1, 1))), "x must be a 4-D"),
        (dict(x=np.ones((1, 5, 5, 1)), w=np.ones((3, 3, 1))), "w must be a 4-D"),
        (dict(x=np.ones((1, 5, 5, 1)), w=np.ones((3, 3, 1, 2)), b=np.ones(3)), "b must have"),
    ],
)
def test_conv2d_rejects_bad_arguments(kwargs, match):
    for conv in (ops.conv2d, ops.conv2d_naive):
        with pytest.raises(ValueError, match=match):
            conv(**kwargs)


def test_kernel_fits_once_padded():
    # a 3x3 kernel on a 2x2 input is fine with one zero on each side
    assert ops.conv2d(np.ones((1, 2, 2, 1)), np.ones((3, 3, 1, 1)), padding=1).shape == (1, 2, 2, 1)


def test_conv_multiply_adds_counts_one_dot_product_per_output():
    x = np.ones((1, 6, 7, 2))
    w = np.ones((3, 2, 2, 4))
    out = ops.conv2d(x, w)
    # with all-ones inputs every output is the number of products it summed
    assert ops.conv_multiply_adds(out.shape[1:3], (3, 2), 2, 4) == out.sum()


def test_conv_multiply_adds_rejects_bad_sizes():
    with pytest.raises(ValueError, match="output_hw"):
        ops.conv_multiply_adds((0, 4), 3, 1, 1)
