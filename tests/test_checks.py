"""Tests of cnnbook.checks: the assertions that exercises' test cells call."""

import json
import math
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from cnnbook import checks


# ------------------------------------------------------------------ assert_shape
def test_assert_shape_passes_on_equal_shapes():
    assert checks.assert_shape(np.zeros((2, 3)), (2, 3), "x") is None


def test_assert_shape_message_gives_both_shapes_and_hint():
    with pytest.raises(AssertionError) as error:
        checks.assert_shape(np.zeros((1, 3, 3, 8)), (1, 2, 2, 8), "the output", hint="stride")
    assert str(error.value) == "the output has shape (1, 3, 3, 8), expected (1, 2, 2, 8): stride"


def test_assert_shape_reports_none_as_missing_return():
    with pytest.raises(AssertionError, match="is None: does the function end with `return`"):
        checks.assert_shape(None, (2,), "x")


# ------------------------------------------------------------------ assert_close
def test_assert_close_passes_within_atol():
    checks.assert_close(np.ones((2, 2)) + 0.9e-5, np.ones((2, 2)), "z", atol=1e-5)


def test_assert_close_fails_beyond_atol():
    with pytest.raises(AssertionError, match="off by up to 2e-05"):
        checks.assert_close(np.ones((2, 2)) + 2e-5, np.ones((2, 2)), "z", atol=1e-5)


def test_assert_close_message_gives_error_index_count_and_hint():
    expected = np.arange(6.0).reshape(2, 3)
    actual = expected.copy()
    actual[1, 2] += 0.25
    actual[0, 0] -= 0.5
    with pytest.raises(AssertionError) as error:
        checks.assert_close(actual, expected, "Z", hint="check the bias")
    assert str(error.value) == (
        "Z is off by up to 0.5 (at index (0, 0); 2 of 6 values differ by more than 1e-05)"
        ": check the bias"
    )


def test_assert_close_message_never_shows_expected_values():
    expected = np.array([[123.456, 789.012]])
    with pytest.raises(AssertionError) as error:
        checks.assert_close(np.zeros((1, 2)), expected, "Z")
    assert "123.4" not in str(error.value) and "789.0" not in str(error.value)


def test_assert_close_rejects_negative_atol():
    with pytest.raises(ValueError, match="atol must be a non-negative number"):
        checks.assert_close([1.0], [1.0], "z", atol=-1e-5)


def test_assert_close_rejects_shape_that_would_broadcast():
    with pytest.raises(AssertionError, match=re.escape("has shape (1,), expected (3,)")):
        checks.assert_close([1.0], [1.0, 1.0, 1.0], "z")


def test_assert_close_reports_none_as_missing_return():
    with pytest.raises(AssertionError, match="is None: does the function end with `return`"):
        checks.assert_close(None, [1.0], "z")


def test_assert_close_rejects_non_numeric_result():
    with pytest.raises(AssertionError, match="not an array of numbers"):
        checks.assert_close({"a": 1}, [1.0], "z")


def test_assert_close_rejects_nan_with_its_index():
    with pytest.raises(AssertionError, match=re.escape("NaN or infinity (at index (1,))")):
        checks.assert_close([0.0, np.nan], [0.0, 0.0], "z")


def test_assert_close_message_for_a_number_gives_its_error_only():
    with pytest.raises(AssertionError) as error:
        checks.assert_close(3.0, 2.0, "z", hint="add the bias once")
    assert str(error.value) == "z is off by 1: add the bias once"


def test_assert_close_array_where_a_number_is_expected_says_so():
    with pytest.raises(AssertionError, match=re.escape("expected a single number, shape ()")):
        checks.assert_close([1.0, 2.0], 3.0, "z")


def test_assert_close_still_fails_after_numpy_checks_are_replaced(monkeypatch):
    # What a student might write in a notebook cell to make every test pass.
    always_true = lambda *args, **kwargs: True  # noqa: E731
    monkeypatch.setattr(np, "allclose", always_true)
    monkeypatch.setattr(np, "isclose", always_true)
    monkeypatch.setattr(np, "array_equal", always_true)
    monkeypatch.setattr(np, "abs", lambda x: 0 * x)
    monkeypatch.setattr(np, "max", lambda *args, **kwargs: 0.0)
    monkeypatch.setattr(np.testing, "assert_allclose", lambda *args, **kwargs: None)
    monkeypatch.setattr(np.testing, "assert_array_almost_equal", lambda *args, **kwargs: None)
    assert np.allclose(1, 2)  # the replacement is in force
    with pytest.raises(AssertionError, match="off by up to 1"):
        checks.assert_close(np.ones(3), np.zeros(3), "z")
    # monkeypatch restores every replaced function when the test ends


@settings(max_examples=50, deadline=None)
@given(
    expected=hnp.arrays(
        np.float64,
        hnp.array_shapes(min_dims=1, max_dims=4, max_side=5),
        elements=st.floats(-100, 100),
    ),
    position=st.integers(min_value=0),
    offset=st.floats(1e-3, 10),
)
def test_assert_close_reports_the_largest_error_and_its_index(expected, position, offset):
    position %= expected.size
    actual = expected.copy()
    actual.flat[position] += offset
    index = tuple(int(i) for i in np.unravel_index(position, expected.shape))
    with pytest.raises(AssertionError) as error:
        checks.assert_close(actual, expected, "z", atol=1e-5)
    reported = float(re.search(r"off by up to (\S+)", str(error.value)).group(1))
    assert math.isclose(reported, offset, rel_tol=1e-2)
    assert f"at index {index}" in str(error.value)


# ----------------------------------------------------------------- assert_number
@pytest.mark.parametrize("value", [2.5, 3, np.float64(2.5), np.float32(1.0), np.int64(4)])
def test_assert_number_accepts_python_and_numpy_scalars(value):
    checks.assert_number(value, "z")


def test_assert_number_rejects_an_array_and_names_its_shape():
    with pytest.raises(AssertionError, match=re.escape("array of shape (3,), expected a single")):
        checks.assert_number(np.ones(3), "z")


def test_assert_number_rejects_a_zero_d_array_and_says_how_to_convert_it():
    with pytest.raises(AssertionError, match=re.escape("is a 0-d array, expected a plain number")):
        checks.assert_number(np.array(1.0), "z")


@pytest.mark.parametrize("value", [True, None, "3", [1.0]])
def test_assert_number_rejects_non_numbers(value):
    with pytest.raises(AssertionError, match="expected a single number"):
        checks.assert_number(value, "z")


def test_assert_number_integer_rejects_a_float_of_integral_value():
    with pytest.raises(AssertionError, match=re.escape("n is 3.0 (float), expected an int")):
        checks.assert_number(3.0, "n", integer=True)


@pytest.mark.parametrize("value", [3, np.int32(3)])
def test_assert_number_integer_accepts_python_and_numpy_ints(value):
    checks.assert_number(value, "n", integer=True)


# ------------------------------------------------------------------ assert_equal
def test_assert_equal_passes_on_equal_tuples():
    checks.assert_equal((1, 2, 2, 3), (1, 2, 2, 3), "shape")


def test_assert_equal_message_gives_both_values_and_hint():
    with pytest.raises(AssertionError) as error:
        checks.assert_equal(2, 3, "size", hint="round up")
    assert str(error.value) == "size is 2, expected 3: round up"


def test_assert_equal_treats_an_array_of_several_values_as_different():
    with pytest.raises(AssertionError, match="expected 3"):
        checks.assert_equal(np.array([3, 3]), 3, "size")


# --------------------------------------------------------------------- forbidden
def test_forbidden_blocks_calls_inside_the_block():
    with checks.forbidden(math, ["sqrt"]), pytest.raises(AssertionError, match="math.sqrt"):
        math.sqrt(4.0)


def test_forbidden_message_uses_the_label():
    with checks.forbidden(math, ["sqrt"], label="m"), pytest.raises(AssertionError) as error:
        math.sqrt(4.0)
    assert str(error.value).startswith("your code calls m.sqrt,")


def test_forbidden_restores_the_functions_after_an_error():
    original = math.sqrt
    with pytest.raises(ZeroDivisionError), checks.forbidden(math, ["sqrt", "exp"]):
        1 / 0
    assert math.sqrt is original and math.exp(0.0) == 1.0


def test_forbidden_blocks_a_reference_used_inside_another_function():
    from cnnbook import ops

    def student_zero_pad(x, pad):
        return ops.zero_pad(x, pad)

    with checks.forbidden(ops, ["zero_pad"], label="ops"), pytest.raises(
        AssertionError, match="calls ops.zero_pad"
    ):
        student_zero_pad(np.zeros((1, 2, 2, 1)), 1)


def test_forbidden_undoes_what_the_wrapped_call_changed():
    """A student's function that disarms the checks while a test calls it gains nothing."""
    from cnnbook import ops

    original_close, original_shape = checks.assert_close, checks.assert_shape
    original_body = checks.assert_equal.__code__

    def cheating_zero_pad(X, pad):
        checks.assert_close = lambda *a, **k: None
        checks.assert_equal.__code__ = (lambda *a, **k: None).__code__
        ops.conv2d = lambda *a, **k: "fake"
        return X

    reference = ops.conv2d
    with checks.forbidden(ops, ["zero_pad"], label="ops"):
        cheating_zero_pad(np.zeros((1, 2, 2, 1)), 1)
    assert checks.assert_close is original_close and checks.assert_shape is original_shape
    assert checks.assert_equal.__code__ is original_body
    assert ops.conv2d is reference
    with pytest.raises(AssertionError):
        checks.assert_equal(1, 2, "x", "hint")


def test_no_calls_to_catches_an_alias_bound_before_the_block():
    import json

    alias = json.dumps
    with pytest.raises(AssertionError, match="your code calls json.dumps"):
        with checks.no_calls_to([json.dumps], "json.dumps"):
            alias({})


def test_no_calls_to_catches_a_keras_layer_class_and_other_routes():
    import keras
    import tensorflow as tf

    x = np.ones((2, 3), dtype="float32")
    blocked = [keras.layers.BatchNormalization, keras.ops.batch_normalization,
               tf.nn.batch_normalization]
    for call in (lambda: keras.layers.BatchNormalization()(x, training=True),
                 lambda: keras.ops.batch_normalization(x, 0.0, 1.0, axis=-1),
                 lambda: tf.nn.batch_normalization(x, 0.0, 1.0, 0.0, 1.0, 1e-3)):
        with pytest.raises(AssertionError, match="batch norm"):
            with checks.no_calls_to(blocked, "batch norm"):
                call()


def test_no_calls_to_lets_other_code_run_and_restores_the_profiler():
    import sys

    with checks.no_calls_to([np.linalg.norm], "norm"):
        total = np.sum([1, 2])
    assert total == 3
    assert sys.getprofile() is None


def test_no_calls_to_fails_a_block_that_removed_the_hook():
    import sys

    with pytest.raises(AssertionError, match="removed the grader's profile hook"):
        with checks.no_calls_to([np.linalg.norm], "norm"):
            sys.setprofile(None)
    assert sys.getprofile() is None


def test_no_calls_to_undoes_a_replaced_check():
    original = checks.assert_close
    with checks.no_calls_to([np.linalg.norm], "norm"):
        checks.assert_close = lambda *args, **kwargs: None
    assert checks.assert_close is original


def test_no_calls_to_survives_an_inner_forbidden_and_the_graders_restore():
    """The grader's restore (in _AFTER_CALL) resets the profile function when an inner
    forbidden() ends; the enclosing no_calls_to's hook must be back afterwards, not reported
    as removed by the student (exercise 3's batch normalisation tests nest them this way)."""
    import collections
    import json
    import sys

    def graders_restore():
        sys.setprofile(None)

    checks._AFTER_CALL.append(graders_restore)
    try:
        with checks.no_calls_to([json.dumps], "json.dumps"):
            with checks.forbidden(collections, ["OrderedDict"], "collections"):
                total = sum([1, 2])
        assert total == 3
        alias = json.dumps
        with pytest.raises(AssertionError, match="your code calls json.dumps"):
            with checks.no_calls_to([json.dumps], "json.dumps"):
                with checks.forbidden(collections, ["OrderedDict"], "collections"):
                    pass
                alias([1])  # after the inner block: still watched
    finally:
        checks._AFTER_CALL.remove(graders_restore)
    assert sys.getprofile() is None


def test_no_calls_to_inside_forbidden_keeps_both_watching():
    import json
    from cnnbook import ops

    alias = ops.conv2d
    x = np.ones((1, 3, 3, 1))
    w = np.ones((1, 1, 1, 1))
    with pytest.raises(AssertionError, match="cnnbook.ops.conv2d"):
        with checks.forbidden(ops, ["conv2d"], "cnnbook.ops"):
            with checks.no_calls_to([json.dumps], "json.dumps"):
                alias(x, w)


# ------------------------------------------- forbidden: blocked by every route (issue 13)
def _tf():
    import os
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    tf = pytest.importorskip("tensorflow")
    return tf


def _conv_inputs():
    rng = np.random.default_rng(0)
    return rng.standard_normal((1, 5, 5, 2)), rng.standard_normal((3, 3, 2, 4))


def test_forbidden_blocks_an_alias_bound_before():
    from cnnbook import ops

    alias = ops.conv2d
    x, w = _conv_inputs()
    with pytest.raises(AssertionError, match="cnnbook.ops.conv2d"):
        with checks.forbidden(ops, ["conv2d", "conv2d_naive"], "cnnbook.ops"):
            alias(x, w)
    assert ops.conv2d(x, w).shape == (1, 3, 3, 4)  # usable again after the block


@pytest.mark.parametrize("route", ["alias", "raw_ops", "convolution", "gen_nn_ops", "keras"])
def test_forbidden_blocks_every_route_to_tensorflow_convolution(route):
    tf = _tf()
    from tensorflow.python.ops import gen_nn_ops

    alias = tf.nn.conv2d
    x, w = (tf.constant(a, tf.float32) for a in _conv_inputs())
    calls = {
        "alias": lambda: alias(x, w, 1, "VALID"),
        "raw_ops": lambda: tf.raw_ops.Conv2D(input=x, filter=w, strides=[1, 1, 1, 1], padding="VALID"),
        "convolution": lambda: tf.nn.convolution(x, w),
        "gen_nn_ops": lambda: gen_nn_ops.conv2d(x, w, [1, 1, 1, 1], "VALID"),
        "keras": lambda: __import__("keras").ops.conv(x, w),
    }
    with pytest.raises(AssertionError, match="tf.nn.conv"):
        with checks.forbidden(tf.nn, ["conv2d", "convolution"], "tf.nn"):
            calls[route]()


def test_forbidden_fails_a_call_that_caught_the_error():
    tf = _tf()
    x, w = (tf.constant(a, tf.float32) for a in _conv_inputs())
    with pytest.raises(AssertionError, match="another name or route"):
        with checks.forbidden(tf.nn, ["conv2d", "convolution"], "tf.nn"):
            try:
                tf.raw_ops.Conv2D(input=x, filter=w, strides=[1, 1, 1, 1], padding="VALID")
            except BaseException:  # noqa: BLE001 - what a student would write
                pass


def test_forbidden_fails_a_call_that_removed_the_hook():
    import sys
    from cnnbook import ops

    with pytest.raises(AssertionError, match="removed the grader's profile hook"):
        with checks.forbidden(ops, ["conv2d"], "cnnbook.ops"):
            sys.setprofile(None)


def test_forbidden_lets_numpy_through():
    from numpy.lib.stride_tricks import sliding_window_view
    from cnnbook import ops

    tf = _tf()
    x, w = _conv_inputs()
    with checks.forbidden(ops, ["conv2d", "conv2d_naive", "zero_pad"], "cnnbook.ops"), \
            checks.forbidden(tf.nn, ["conv2d", "convolution"], "tf.nn"):
        padded = np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
        windows = sliding_window_view(padded, (3, 3), axis=(1, 2))
        z = np.einsum("mhwcij,ijck->mhwk", windows, w)
    np.testing.assert_allclose(z, ops.conv2d(x, w, padding=1), atol=1e-9)


def test_forbidden_blocks_pooling_routes():
    tf = _tf()
    x = tf.constant(np.random.default_rng(1).standard_normal((1, 4, 4, 2)), tf.float32)
    routes = [lambda: tf.raw_ops.MaxPool(input=x, ksize=[1, 2, 2, 1], strides=[1, 2, 2, 1],
                                         padding="VALID"),
              lambda: tf.nn.pool(x, (2, 2), "AVG", strides=(2, 2)),
              lambda: __import__("keras").ops.max_pool(x, 2)]
    for route in routes:
        with pytest.raises(AssertionError, match="tf.nn"):
            with checks.forbidden(tf.nn, ["max_pool2d", "avg_pool2d", "max_pool", "avg_pool",
                                          "pool"], "tf.nn"):
                route()


def test_forbidden_blocks_nms_routes():
    tf = _tf()
    from cnnbook import detection

    boxes = tf.constant([[0, 0, 1, 1], [0, 0, 1, 0.9]], tf.float32)
    scores = tf.constant([0.9, 0.8])
    blocked = ["non_max_suppression", "non_max_suppression_with_scores",
               "non_max_suppression_padded", "non_max_suppression_overlaps",
               "combined_non_max_suppression"]
    with pytest.raises(AssertionError, match="tf.image"):
        with checks.forbidden(tf.image, blocked, "tf.image"):
            tf.raw_ops.NonMaxSuppressionV3(boxes=boxes, scores=scores, max_output_size=2,
                                          iou_threshold=0.5, score_threshold=0.0)
    if hasattr(detection, "non_max_suppression"):
        alias = detection.non_max_suppression
        with pytest.raises(AssertionError, match="cnnbook.detection"):
            with checks.forbidden(detection, ["non_max_suppression"], "cnnbook.detection"):
                alias(np.array([[0, 0, 1, 1.0]]), np.array([0.9]), 0.5)


# ------------------------------------- reference_parts: one mistake costs one part (issue 13)
def _student_notebook():
    """A notebook's names: a wrong Part A, and a Part C that calls Parts A and B."""
    namespace = {"np": np}
    exec(
        "def zero_pad(X, pad):\n"
        "    return X  # wrong: forgets to pad\n"
        "def conv_single_step(a, W, b):\n"
        "    return float(np.sum(a * W) + b)\n"
        "def conv_forward(A, W, b, pad):\n"
        "    A = zero_pad(A, pad)\n"
        "    f = W.shape[0]\n"
        "    n = A.shape[1] - f + 1\n"
        "    Z = np.zeros((A.shape[0], n, n, W.shape[3]))\n"
        "    for i in range(A.shape[0]):\n"
        "        for h in range(n):\n"
        "            for w in range(n):\n"
        "                for c in range(W.shape[3]):\n"
        "                    Z[i, h, w, c] = conv_single_step(A[i, h:h + f, w:w + f], W[..., c], b[c])\n"
        "    return Z\n", namespace)
    return namespace


def _reference_step(a, W, b):
    """One window through cnnbook.ops.conv2d, as exercise 1's Part C tests do."""
    from cnnbook import ops
    return float(ops.conv2d(a[None], W[..., None], np.reshape(b, (1,)))[0, 0, 0, 0])


def test_reference_parts_puts_the_references_in_place_then_the_students_back():
    from cnnbook import ops

    namespace = _student_notebook()
    student_pad, student_step = namespace["zero_pad"], namespace["conv_single_step"]
    rng = np.random.default_rng(0)
    A, W, b = rng.standard_normal((1, 3, 3, 2)), rng.standard_normal((2, 2, 2, 3)), rng.standard_normal(3)
    assert namespace["conv_forward"](A, W, b, 1).shape == (1, 2, 2, 3)  # its own zero_pad: wrong
    with checks.reference_parts(namespace, zero_pad=ops.zero_pad, conv_single_step=_reference_step):
        Z = namespace["conv_forward"](A, W, b, 1)
    np.testing.assert_allclose(Z, ops.conv2d(A, W, b, padding=1), atol=1e-12)
    assert namespace["zero_pad"] is student_pad and namespace["conv_single_step"] is student_step


def test_reference_parts_removes_a_name_the_student_never_defined():
    namespace = {}
    with checks.reference_parts(namespace, helper=abs):
        assert namespace["helper"](-2) == 2
    assert "helper" not in namespace


def test_a_reference_may_call_what_forbidden_blocks():
    """Part C's reference conv_single_step runs cnnbook.ops.conv2d, which Part C's tests block."""
    from cnnbook import ops

    namespace = _student_notebook()
    rng = np.random.default_rng(1)
    A, W, b = rng.standard_normal((2, 4, 4, 1)), rng.standard_normal((3, 3, 1, 2)), rng.standard_normal(2)
    with checks.reference_parts(namespace, zero_pad=ops.zero_pad, conv_single_step=_reference_step), \
            checks.forbidden(ops, ["conv2d", "conv2d_naive"], "cnnbook.ops"):
        Z = namespace["conv_forward"](A, W, b, 0)
    np.testing.assert_allclose(Z, ops.conv2d(A, W, b), atol=1e-12)


def test_the_students_code_stays_blocked_inside_reference_parts():
    """Only the references are let through: not the student's call, not a call made through
    the machinery itself, not a reference the student's code adds during the call."""
    from cnnbook import ops

    x, w = _conv_inputs()
    alias = ops.conv2d
    attempts = [
        lambda: alias(x, w),
        lambda: ops.conv2d(x, w),
        lambda: checks._call_reference(alias, (x, w), {}),
    ]

    def adds_its_own():
        with checks.reference_parts({}, mine=alias):
            return checks._call_reference(alias, (x, w), {})

    for attempt in attempts + [adds_its_own]:
        with pytest.raises(AssertionError, match="cnnbook.ops.conv2d"):
            with checks.reference_parts({}, zero_pad=ops.zero_pad, conv_single_step=_reference_step), \
                    checks.forbidden(ops, ["conv2d", "conv2d_naive"], "cnnbook.ops"):
                attempt()
    assert checks._REFERENCES == ()


# ------------------------------------ blocked code recognised by what it is (issue 23, item 3)
def _copy_of(function, name):
    """A new function running ``function``'s code under another name, as a student could build it."""
    import types

    copy = types.FunctionType(function.__code__.replace(co_name=name), function.__globals__, name,
                              function.__defaults__, function.__closure__)
    copy.__kwdefaults__ = function.__kwdefaults__
    return copy


def test_forbidden_catches_a_renamed_copy_of_the_reference():
    from cnnbook import ops

    mine = _copy_of(ops.zero_pad, "my_pad")
    with pytest.raises(AssertionError, match="cnnbook.ops.zero_pad"):
        with checks.forbidden(ops, ["zero_pad"], "cnnbook.ops"):
            mine(np.zeros((1, 2, 2, 1)), 1)


def test_forbidden_catches_the_reference_compiled_again_from_its_source():
    """What runpy or exec of the module's file gives: a new code object with the same content."""
    import inspect
    import textwrap

    from cnnbook import ops

    namespace = dict(vars(ops))
    exec(compile(textwrap.dedent(inspect.getsource(ops.zero_pad)), "elsewhere.py", "exec"), namespace)
    assert namespace["zero_pad"].__code__ is not ops.zero_pad.__code__
    with pytest.raises(AssertionError, match="cnnbook.ops.zero_pad"):
        with checks.forbidden(ops, ["zero_pad"], "cnnbook.ops"):
            namespace["zero_pad"](np.zeros((1, 2, 2, 1)), 1)


def test_no_calls_to_catches_a_renamed_copy():
    import json

    mine = _copy_of(json.dumps, "mine")
    with pytest.raises(AssertionError, match="json.dumps"):
        with checks.no_calls_to([json.dumps], "json.dumps"):
            mine([1])


def test_forbidden_lets_a_different_function_of_the_same_name_run():
    from cnnbook import ops

    def zero_pad(X, pad):  # the student's own, named like the reference
        return np.pad(X, ((0, 0), (pad, pad), (pad, pad), (0, 0)))

    with checks.forbidden(ops, ["zero_pad"], "cnnbook.ops"):
        assert zero_pad(np.zeros((1, 2, 2, 1)), 1).shape == (1, 4, 4, 1)


# ------------------------------------------------------ plain data and observe (issue 23)
class _Lazy:
    """A result whose conversion to an array calls the reference, after the window if it can."""

    def __init__(self, compute):
        self.compute = compute

    def __array__(self, dtype=None, copy=None):
        return np.asarray(self.compute(), dtype=dtype)


def test_plain_keeps_numbers_arrays_and_containers():
    value = checks.plain((3, 2.5, "same", None, True, np.float32(1.5), np.arange(3),
                          [np.int64(2)], {"a": (1, 2)}))
    assert value[:5] == (3, 2.5, "same", None, True)
    assert type(value[5]) is np.float32 and type(value[7][0]) is np.int64
    assert value[6].tolist() == [0, 1, 2] and value[8] == {"a": (1, 2)}


def test_plain_copies_arrays():
    array = np.zeros(3)
    copy = checks.plain(array)
    array[0] = 1
    assert copy[0] == 0


@pytest.mark.parametrize("value, kind", [
    (type("Liar", (int,), {"__eq__": lambda self, other: True})(3), "Liar"),
    ((v for v in range(3)), "generator"),
    (_Lazy(lambda: [1.0]), "_Lazy"),
    (np.array(["a"], dtype=object), "array of object"),
    (type("MyArray", (np.ndarray,), {})((2,)), "MyArray"),
    ({1.5: 2}, "key of type float"),
])
def test_plain_refuses_what_could_lie(value, kind):
    with pytest.raises(checks.Refused, match=kind):
        checks.plain(value, "f(x)")


def test_a_tensor_crosses_as_its_values_and_comes_back_a_tensor():
    tf = _tf()
    value = checks.observe("f()", lambda: (tf.constant([1.0, 2.0]), tf.Variable(3.0)))
    assert all(isinstance(v, tf.Tensor) and not isinstance(v, np.ndarray) for v in value)
    assert value[0].numpy().tolist() == [1.0, 2.0] and float(value[1]) == 3.0
    back = checks._decode(json.loads(json.dumps(checks._encode(checks.plain(value)))))
    assert checks._materialize(back)[0].numpy().tolist() == [1.0, 2.0]


def test_observe_turns_a_lazy_result_into_data_inside_the_blocked_window():
    """Issue 23's lazy results: an object computing its array with the reference after the
    window closes is refused inside it, before anything of it runs."""
    from cnnbook import ops

    x = np.zeros((1, 2, 2, 1))
    with pytest.raises(checks.Refused, match="_Lazy"):
        with checks.forbidden(ops, ["zero_pad"], "cnnbook.ops"):
            checks.observe("zero_pad(x, 1)", lambda: _Lazy(lambda: ops.zero_pad(x, 1)))


def test_observe_returns_what_the_call_returns_and_its_cpu_time():
    value, seconds = checks.observe("f()", lambda: [1, 2], timed=True)
    assert value == [1, 2] and seconds >= 0


def test_encode_and_decode_round_trip_keep_types():
    value = (1, 2.5, float("nan"), "s", None, [np.int8(3), np.arange(4.0).reshape(2, 2)],
             {"k": True, 2: np.bool_(False)})
    back = checks._decode(json.loads(json.dumps(checks._encode(value))))
    assert back[:2] == (1, 2.5) and back[2] != back[2] and back[3:5] == ("s", None)
    assert type(back[5][0]) is np.int8 and back[5][1].tolist() == [[0.0, 1.0], [2.0, 3.0]]
    assert back[6] == {"k": True, 2: False} and type(back[6][2]) is np.bool_


def test_replaying_returns_the_records_in_order_without_calling():
    records = [{"what": "f(1)", "value": 2}, {"what": "f(2)", "value": {"tuple": [3, 4]}}]
    with checks.replaying(records) as replay:
        assert checks.observe("f(1)", lambda: 1 / 0) == 2
        assert checks.observe("f(2)", lambda: 1 / 0) == (3, 4)
    assert replay.used == 2 and not checks.in_judge()


def test_replaying_fails_a_test_whose_calls_do_not_match_the_record():
    with checks.replaying([{"what": "f(1)", "value": 2}], stopped="NameError: f"):
        with pytest.raises(AssertionError, match="expected f\\(2\\), the notebook recorded f\\(1\\)"):
            checks.observe("f(2)", lambda: 0)
        with pytest.raises(AssertionError, match="stopped in the notebook before it called f\\(3\\) "
                                                 "\\(NameError: f\\)"):
            checks.observe("f(3)", lambda: 0)


def test_replaying_raises_what_the_students_function_raised():
    records = [{"what": "size('full')", "error": {"type": "ValueError", "message": "bad padding"}},
               {"what": "size('x')", "error": {"type": "SystemExit", "message": "1"}}]
    with checks.replaying(records):
        with pytest.raises(ValueError, match="bad padding"):
            checks.observe("size('full')", lambda: 0)
        with pytest.raises(Exception, match="1") as error:
            checks.observe("size('x')", lambda: 0)
    assert type(error.value) is Exception  # never SystemExit in the judge


def test_replaying_fails_a_call_made_while_a_students_thread_ran():
    with checks.replaying([{"what": "f()", "value": 1, "threads": ["Thread-1 (patch)"]}]):
        with pytest.raises(AssertionError, match="thread started by your code \\(Thread-1"):
            checks.observe("f()", lambda: 1)


def test_held_out_is_the_fixed_seed_outside_the_judge_and_fresh_inside():
    assert checks.held_out(1) == 1
    with checks.replaying([]):
        seeds = {checks.held_out(1) for _ in range(3)}
    assert 1 not in seeds and len(seeds) == 3


def test_blocking_is_off_in_the_judge():
    from cnnbook import ops

    with checks.replaying([]), checks.forbidden(ops, ["zero_pad"], "cnnbook.ops"):
        assert ops.zero_pad(np.zeros((1, 1, 1, 1)), 1).shape == (1, 3, 3, 1)


def _saved(model):
    import os
    import tempfile

    path = os.path.join(tempfile.mkdtemp(), "m.keras")
    model.save(path)
    with open(path, "rb") as file:
        return file.read()


def test_a_model_crosses_as_a_keras_file_and_comes_back_equal():
    _tf()
    import keras

    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="relu")])
    back = checks.observe("build()", lambda: model)
    assert back is not model and isinstance(back, keras.Model)
    x = np.ones((2, 4), "float32")
    np.testing.assert_allclose(back(x), model(x), atol=1e-6)


def test_a_custom_layer_or_a_lambda_is_refused():
    _tf()
    import keras

    class Lookup(keras.layers.Layer):
        def call(self, x):
            return x

    custom = keras.Sequential([keras.Input((4,)), Lookup()])
    with pytest.raises(checks.Refused, match="Lookup, which is not one of Keras' own"):
        checks.load_model(_saved(custom))
    lam = keras.Sequential([keras.Input((4,)), keras.layers.Lambda(lambda x: x * 2)])
    with pytest.raises(checks.Refused, match="Lambda"):
        checks.load_model(_saved(lam))


def test_batches_reads_a_dataset_and_refuses_anything_else():
    tf = _tf()
    dataset = tf.data.Dataset.from_tensor_slices((np.arange(5.0), np.arange(5))).batch(2)
    found = checks.batches(dataset, "make_dataset(...)")
    assert [len(y) for _, y in found] == [2, 2, 1] and type(found[0][0]) is np.ndarray
    with pytest.raises(AssertionError, match="make_dataset\\(...\\) is a list, expected a tf.data.Dataset"):
        checks.batches([1, 2], "make_dataset(...)")


def test_observe_records_a_blocked_call_whose_error_the_student_caught(monkeypatch):
    """The window closes inside observe: what it finds then is part of the observation."""
    from cnnbook import ops

    alias = ops.zero_pad
    x = np.zeros((1, 2, 2, 1))

    def sneaky(x):
        try:
            return alias(x, 1)
        except AssertionError:
            return np.zeros((1, 4, 4, 1))

    emitted = []
    monkeypatch.setattr(checks, "_RECORD", True)
    monkeypatch.setattr(checks, "_emit", emitted.append)
    with pytest.raises(AssertionError, match="another name or route"):
        checks.observe("zero_pad(x, 1)", lambda: sneaky(x),
                       blocked=[checks.forbidden(ops, ["zero_pad"], "cnnbook.ops")])
    assert [e["what"] for e in emitted] == ["zero_pad(x, 1)"] and "error" in emitted[0]
    assert "another name or route" in emitted[0]["error"]["message"]


def test_observe_records_plain_data_a_judge_can_read(monkeypatch):
    emitted = []
    monkeypatch.setattr(checks, "_RECORD", True)
    monkeypatch.setattr(checks, "_emit", emitted.append)
    value = checks.observe("f()", lambda: (np.arange(3), 2))
    (record,) = json.loads(json.dumps(emitted))
    with checks.replaying([record]):
        back = checks.observe("f()", lambda: 1 / 0)
    assert back[0].tolist() == value[0].tolist() == [0, 1, 2] and back[1] == 2


# ---------------------------------------- the machinery reached from inside (issue 23, class 4)
def _hooks():
    """The profile hooks in place, innermost first, with their closures by name."""
    import sys

    found, hook = [], sys.getprofile()
    while hook is not None:
        cells = dict(zip(hook.__code__.co_freevars, [c.cell_contents for c in hook.__closure__ or ()]))
        found.append(cells)
        hook = cells.get("previous")
    return found


def test_emptying_the_watch_and_calling_the_reference_fails():
    from cnnbook import ops

    alias = ops.zero_pad

    def unblocking_pad(x, pad):
        for cells in _hooks():
            cells["watch"].blocked.clear()
        return alias(x, pad)

    with pytest.raises(AssertionError, match="changed the grader's blocking of cnnbook.ops"):
        with checks.forbidden(ops, ["zero_pad"], "cnnbook.ops"):
            unblocking_pad(np.zeros((1, 2, 2, 1)), 1)


def test_a_forged_verdict_in_the_watchs_cache_fails():
    from cnnbook import ops

    alias = ops.zero_pad

    def poisoning_pad(x, pad):
        for cells in _hooks():
            cells["watch"].seen[id(alias.__code__)] = (alias.__code__, None)
        return alias(x, pad)

    with pytest.raises(AssertionError, match="changed the grader's blocking"):
        with checks.forbidden(ops, ["zero_pad"], "cnnbook.ops"):
            poisoning_pad(np.zeros((1, 2, 2, 1)), 1)


def test_taking_the_blockers_saved_original_fails():
    from cnnbook import ops

    def original_of_blocker(x, pad):
        blocker = ops.zero_pad
        saved = next(c.cell_contents for c in blocker.__closure__ if isinstance(c.cell_contents, dict))
        real = saved["zero_pad"]
        import sys
        hook = sys.getprofile()  # and the hook's watch swapped for one that blocks nothing
        cell = hook.__closure__[hook.__code__.co_freevars.index("watch")]
        cell.cell_contents = type(cell.cell_contents)({})
        return real(x, pad)

    with pytest.raises(AssertionError, match="changed the grader's blocking"):
        with checks.forbidden(ops, ["zero_pad"], "cnnbook.ops"):
            original_of_blocker(np.zeros((1, 2, 2, 1)), 1)


def test_a_window_over_honest_code_computes_no_content_keys():
    """The blocked codes' content keys are computed only once another code with their names runs
    (issue 23, item 7: computing them at every window, for tf.nn's 27 generated convolution
    functions, cost most of exercise 1's test time); a renamed copy is still caught."""
    from cnnbook import ops

    watches = []

    def honest(x, pad):
        watches[:] = [cells["watch"] for cells in _hooks() if "watch" in cells]
        return np.pad(x, ((0, 0), (pad, pad), (pad, pad), (0, 0)))

    with checks.forbidden(ops, ["zero_pad"], "cnnbook.ops"):
        honest(np.zeros((1, 2, 2, 1)), 1)
    assert watches and not any(watch.keyed for watch in watches)
    mine = _copy_of(ops.zero_pad, "my_pad")

    def copying(x, pad):
        watches[:] = [cells["watch"] for cells in _hooks() if "watch" in cells]
        return mine(x, pad)

    with pytest.raises(AssertionError, match="cnnbook.ops.zero_pad"):
        with checks.forbidden(ops, ["zero_pad"], "cnnbook.ops"):
            copying(np.zeros((1, 2, 2, 1)), 1)
    assert watches and all(watch.keyed for watch in watches)


def test_removing_the_content_keys_once_computed_fails():
    from cnnbook import ops

    mine = _copy_of(ops.zero_pad, "my_pad")

    def forgetting(x, pad):
        for cells in _hooks():
            watch = cells.get("watch")
            if watch is not None:
                watch.verdict(_copy_of(ops.zero_pad, "other").__code__)  # the content keys, computed
                for key in [k for k in watch.blocked if k[0] != "code"]:
                    del watch.blocked[key]
        return mine(x, pad)

    with pytest.raises(AssertionError, match="changed the grader's blocking of cnnbook.ops"):
        with checks.forbidden(ops, ["zero_pad"], "cnnbook.ops"):
            forgetting(np.zeros((1, 2, 2, 1)), 1)


def test_a_method_of_the_watch_cannot_be_shadowed_on_it():
    from cnnbook import ops

    def shadowing(x, pad):
        for cells in _hooks():
            if "watch" in cells:
                cells["watch"].name = lambda code: None
        return ops.zero_pad(x, pad)

    with pytest.raises(AttributeError):
        with checks.forbidden(ops, ["zero_pad"], "cnnbook.ops"):
            shadowing(np.zeros((1, 2, 2, 1)), 1)


def test_no_calls_to_fails_when_its_watch_is_emptied():
    import json

    alias = json.dumps

    def unwatching():
        for cells in _hooks():
            cells["watch"].blocked.clear()
        return alias([1])

    with pytest.raises(AssertionError, match="changed the grader's watch of json.dumps"):
        with checks.no_calls_to([json.dumps], "json.dumps"):
            unwatching()


def test_nested_windows_with_the_graders_restore_raise_no_false_alarm():
    """Exercise 2's tests nest two forbidden windows; the grader's restore after the inner one puts
    the module's names back as they were before any student code: not a change of the blocking."""
    import sys

    from cnnbook import ops

    snapshot = dict(vars(ops))

    def graders_restore():
        for key, value in snapshot.items():
            if vars(ops).get(key) is not value:
                setattr(ops, key, value)
        sys.setprofile(None)

    checks._AFTER_CALL.append(graders_restore)
    try:
        value = checks.observe("pool", lambda: np.max(np.ones((2, 2))),
                               blocked=[checks.forbidden(ops, ["pool2d"], "cnnbook.ops"),
                                        checks.forbidden(ops, ["conv2d"], "cnnbook.ops")])
    finally:
        checks._AFTER_CALL.remove(graders_restore)
    assert value == 1.0


# ------------------------------- the tools the watch relies on, changed by the student's code
def _disguised_instructions(real):
    """dis.get_instructions that reads the copy ``my_pad`` one instruction short."""
    def disguised(code, **kwargs):
        found = list(real(code, **kwargs))
        return iter(found[:-1] if code.co_name == "my_pad" else found)

    return disguised


def _every_opcode_a_jump(real):
    """builtins.set that, called by _code_key on the copy ``my_pad``, makes every opcode a jump."""
    import sys

    def every_opcode_a_jump(*args):
        code = sys._getframe(1).f_locals.get("code")
        return real(range(256)) if getattr(code, "co_name", "") == "my_pad" else real(*args)

    return every_opcode_a_jump


@pytest.mark.parametrize("module, name, replace", [
    ("dis", "get_instructions", _disguised_instructions),
    ("builtins", "set", _every_opcode_a_jump),
])
def test_changing_the_tools_of_the_keys_does_not_hide_a_renamed_copy(module, name, replace):
    """The content keys come from ``dis`` and the builtins it and ``_code_key`` read: a student's
    function that changes one of them so that its copy of the reference reads differently, and
    leaves it changed, fails the test."""
    import importlib

    from cnnbook import ops

    tool = importlib.import_module(module)
    mine = _copy_of(ops.zero_pad, "my_pad")
    real = getattr(tool, name)

    def copying(x, pad):
        setattr(tool, name, replace(real))
        return mine(x, pad)

    try:
        with pytest.raises(AssertionError, match="changed the grader's blocking of cnnbook.ops"):
            with checks.forbidden(ops, ["zero_pad"], "cnnbook.ops"):
                copying(np.zeros((1, 2, 2, 1)), 1)
    finally:
        setattr(tool, name, real)


def test_the_tensorflow_kernels_table_cannot_be_emptied():
    """forbidden() finds the generated kernels behind tf.nn's names in a table: a student who
    empties it must not open tf.raw_ops to the blocked computation."""
    tf = _tf()
    x, w = (tf.constant(a, tf.float32) for a in _conv_inputs())
    try:
        checks._TF_KERNELS.clear()
    except (AttributeError, TypeError):
        pass
    with pytest.raises(AssertionError, match="tf.nn.conv"):
        with checks.forbidden(tf.nn, ["conv2d", "convolution"], "tf.nn"):
            tf.raw_ops.Conv2D(input=x, filter=w, strides=[1, 1, 1, 1], padding="VALID")
