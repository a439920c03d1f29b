"""Checks for exercises: assertions whose messages teach, and that replaced NumPy cannot fool.

The test cells of the exercises call these instead of ``assert np.allclose(...)``
for two reasons.

- **The message teaches.** A failed check says what is wrong (a shape, the
  largest error and where it is, a wrong type) and adds a hint, but never prints
  the expected array: the student learns where to look, not the answer.
- **A replaced NumPy function changes nothing.** The NumPy functions used here
  are bound to private module names when this module is imported, which an
  exercise does in its first, locked cell, before any student code runs. A
  notebook that later rebinds ``np.allclose``, ``np.abs`` or
  ``np.testing.assert_allclose`` does not change what these checks accept.
  :func:`forbidden` makes the references the tests compare with (``cnnbook.ops``,
  ``tf.nn.conv2d``) unusable inside the student's function while it is checked.

This stops the quick tricks, not a student set on rewriting the course's own
modules from a notebook: the grader runs the tests in the student's kernel.

Every check returns ``None`` when it passes and raises :class:`AssertionError`
when it does not, so nbgrader scores the test cell that calls it.
"""

import contextlib
import sys as _sys
import threading as _threading
from types import FunctionType as _FunctionType

import numpy as np

# Bound once, at import, for forbidden(): what a student's code rebinds later does not
# reach these. The autograder appends its restore function to _AFTER_CALL.
_getattr, _setattr, _dict, _list, _isinstance = getattr, setattr, dict, list, isinstance
_getprofile, _setprofile, _thread_setprofile = _sys.getprofile, _sys.setprofile, \
    _threading.setprofile
_modules = _sys.modules
_getframe, _any, _tuple = _sys._getframe, any, tuple

# Where TensorFlow finally runs what a blocked name of tf.nn or tf.image computes: the
# generated op wrappers (tensorflow.python.ops.gen_*_ops). tf.raw_ops.Conv2D, keras.ops.conv,
# tf.nn.convolution and a name bound before the test all end in one of these functions, so
# :func:`forbidden` blocks their code objects, whatever name reaches them.
_TF_KERNELS = {
    "conv": ("gen_nn_ops", ("conv2d", "conv3d", "depthwise_conv2d")),
    "convolution": ("gen_nn_ops", ("conv2d", "conv3d", "depthwise_conv2d")),
    "max_pool": ("gen_nn_ops", ("max_pool",)),
    "avg_pool": ("gen_nn_ops", ("avg_pool",)),
    "pool": ("gen_nn_ops", ("max_pool", "avg_pool")),
    "non_max_suppression": ("gen_image_ops", ("non_max_suppression",)),
    "combined_non_max_suppression": ("gen_image_ops", ("combined_non_max_suppression",)),
}


def _blocked_code(module, names):
    """The code objects whose run means a blocked computation ran, with their public names."""
    codes = {}
    for name in names:
        function = _getattr(module, name, None)
        code = _getattr(function, "__code__", None)
        if code is not None:  # the reference itself, under any name
            codes[code] = name
    if _getattr(module, "__name__", "").startswith("tensorflow"):
        for name in names:
            key = name[:-2] if name.endswith("2d") else name
            key = next((k for k in _TF_KERNELS if key == k or key.startswith(k + "_")), key)
            if key not in _TF_KERNELS:
                continue
            generated, prefixes = _TF_KERNELS[key]
            kernels = _modules.get("tensorflow.python.ops." + generated)
            for attr, value in _dict(_getattr(kernels, "__dict__", {})).items():
                if attr.startswith(prefixes) and _isinstance(value, _FunctionType):
                    codes[value.__code__] = name
    return codes

_CHECKS = globals()
_AFTER_CALL = []
# The references reference_parts() has put in place, which forbidden() lets call what it
# blocks. A tuple, rebound (never changed in place): the grader's restore of this module
# before every test cell puts back the empty one, whatever a student's cell bound here.
_REFERENCES = ()


def _call_reference(function, args, kwargs):
    """Run one of the references that reference_parts() put in place (see _from_reference)."""
    return function(*args, **kwargs)


_REFERENCE_CODE = _call_reference.__code__


def _from_reference(frame, allowed):
    """True when ``frame`` runs inside one of the ``allowed`` references, called as put in place."""
    while frame is not None:
        if frame.f_code is _REFERENCE_CODE:
            function = frame.f_locals.get("function")
            if _any(function is f for f in allowed):
                return True
        frame = frame.f_back
    return False


@contextlib.contextmanager
def reference_parts(namespace, **references):
    """Put reference versions of earlier parts in place of the student's while the block runs.

    A later part's tests call the student's function with the course's versions of the
    earlier functions it builds on, so one mistake costs one part: a wrong ``zero_pad``
    fails Part A's tests, not also those of ``conv_forward``, which pads with it. The
    student's functions are put back on exit. Inside a reference, what :func:`forbidden`
    blocks may run: the reference is the course's code, not the student's.

    Parameters
    ----------
    namespace : dict
        The notebook's global names (``globals()`` in a test cell), where the student's
        later function looks up the earlier ones.
    **references : callable
        For each earlier function's name, its reference version (same arguments).

    Yields
    ------
    None

    Examples
    --------
    >>> def double(x):  # the student's Part A, wrong
    ...     return x + x + 1
    >>> def quadruple(x):  # the student's Part B, built on Part A
    ...     return double(double(x))
    >>> with reference_parts(globals(), double=lambda x: 2 * x):
    ...     quadruple(3)
    12
    >>> quadruple(3)
    15
    """
    global _REFERENCES
    missing = object()
    saved = {name: namespace.get(name, missing) for name in references}
    before = _REFERENCES

    def put_in_place(function):
        def reference(*args, **kwargs):
            return _call_reference(function, args, kwargs)

        reference.__name__ = _getattr(function, "__name__", "reference")
        return reference

    try:
        _REFERENCES = _tuple(references.values())
        for name, function in references.items():
            namespace[name] = put_in_place(function)
        yield
    finally:
        for name, value in saved.items():
            if value is missing:
                namespace.pop(name, None)
            else:
                namespace[name] = value
        _REFERENCES = before

# Bound once, at import: rebinding np.<name> afterwards does not reach these.
_asarray = np.asarray
_abs = np.abs
_argmax = np.argmax
_count_nonzero = np.count_nonzero
_isfinite = np.isfinite
_unravel_index = np.unravel_index
_ndarray = np.ndarray
_integer = np.integer
_number = np.number
_float64 = np.float64


def _fail(message, hint):
    """Raise AssertionError with ``message``, then ``: hint`` if there is one."""
    raise AssertionError(f"{message}: {hint}" if hint else message)


def _as_float_array(value, what):
    """Return ``value`` as a float64 ndarray or raise an AssertionError naming ``what``."""
    if value is None:
        raise AssertionError(f"{what} is None: does the function end with `return`?")
    try:
        return _asarray(value, dtype=_float64)
    except (TypeError, ValueError):
        raise AssertionError(
            f"{what} is not an array of numbers (got {type(value).__name__})"
        ) from None


def assert_shape(actual, expected, what, hint=""):
    """Check that an array has the expected shape.

    Parameters
    ----------
    actual : array_like
        The student's result.
    expected : tuple of int
        The shape it must have.
    what : str
        What ``actual`` is, as the message should name it, e.g.
        ``"conv_forward(A_prev, W, b, stride=2, pad=0)"``.
    hint : str, optional
        Where to look when the shapes differ.

    Raises
    ------
    AssertionError
        If the shapes differ; the message gives both shapes and the hint.

    Examples
    --------
    >>> assert_shape(np.zeros((1, 2, 2, 8)), (1, 2, 2, 8), "the output")
    >>> assert_shape(np.zeros((1, 3, 3, 8)), (1, 2, 2, 8), "the output",
    ...              hint="check how stride shrinks the output")
    Traceback (most recent call last):
    AssertionError: the output has shape (1, 3, 3, 8), expected (1, 2, 2, 8): check how stride shrinks the output
    """
    if actual is None:
        raise AssertionError(f"{what} is None: does the function end with `return`?")
    shape = tuple(_asarray(actual).shape)
    expected = tuple(int(n) for n in expected)
    if shape != expected:
        wanted = "a single number, shape ()" if expected == () else str(expected)
        _fail(f"{what} has shape {shape}, expected {wanted}", hint)


def assert_close(actual, expected, what, hint="", atol=1e-5):
    """Check that an array equals the expected one within an absolute tolerance.

    The shapes must match exactly (no broadcasting). The message on failure gives
    the largest absolute error, where it is and how many values are off, never
    the expected values.

    Parameters
    ----------
    actual : array_like
        The student's result (a number is a 0-d array).
    expected : array_like
        The reference, computed by code the student did not write.
    what : str
        What ``actual`` is, as the message should name it.
    hint : str, optional
        Where to look when the values differ.
    atol : float, default 1e-5
        Largest absolute difference accepted at any position.

    Raises
    ------
    AssertionError
        If ``actual`` is None, not numeric, of another shape, not finite, or
        farther than ``atol`` from ``expected`` anywhere.
    ValueError
        If ``atol`` is negative.

    Examples
    --------
    >>> assert_close([1.0, 2.0], [1.0, 2.000001], "z")
    >>> assert_close(3.5, 2.0, "z")
    Traceback (most recent call last):
    AssertionError: z is off by 1.5
    >>> assert_close([[1.0, 2.0], [3.0, 4.5]], [[1.0, 2.0], [3.0, 4.0]], "z",
    ...              hint="did you add the bias?")
    Traceback (most recent call last):
    AssertionError: z is off by up to 0.5 (at index (1, 1); 1 of 4 values differ by more than 1e-05): did you add the bias?
    """
    if not atol >= 0:
        raise ValueError(f"atol must be a non-negative number, got {atol!r}")
    actual = _as_float_array(actual, what)
    expected = _asarray(expected, dtype=_float64)
    assert_shape(actual, expected.shape, what, hint)
    finite = _isfinite(actual)
    if not finite.all():
        where = f" (at index {_index(~finite)})" if actual.ndim else ""
        _fail(f"{what} contains NaN or infinity{where}", hint)
    error = _abs(actual - expected)
    worst = float(error.max()) if error.size else 0.0
    if worst <= atol:
        return
    if actual.ndim == 0:
        _fail(f"{what} is off by {worst:.3g}", hint)
    wrong = int(_count_nonzero(error > atol))
    detail = f"at index {_index(error)}; {wrong} of {error.size} values differ by more than {atol:g}"
    _fail(f"{what} is off by up to {worst:.3g} ({detail})", hint)


def _index(score):
    """Return the index, a tuple of ints, of the largest entry of ``score``."""
    flat = int(_argmax(score))
    return tuple(int(i) for i in _unravel_index(flat, score.shape))


def assert_number(actual, what, hint="", integer=False):
    """Check that a value is one real number (or one integer), not an array.

    Parameters
    ----------
    actual : object
        The student's result.
    what : str
        What ``actual`` is, as the message should name it.
    hint : str, optional
        Where to look when it is not.
    integer : bool, default False
        Require an integer (``int`` or a NumPy integer); ``3.0`` is then rejected.

    Raises
    ------
    AssertionError
        If ``actual`` is an array, a bool, not a number, or not an integer when
        ``integer`` is True.

    Examples
    --------
    >>> assert_number(2.5, "z")
    >>> assert_number(np.array([2.5, 1.0]), "z", hint="sum over every axis")
    Traceback (most recent call last):
    AssertionError: z is an array of shape (2,), expected a single number: sum over every axis
    >>> assert_number(np.array(2.5), "z")
    Traceback (most recent call last):
    AssertionError: z is a 0-d array, expected a plain number: float(...) turns it into one
    >>> assert_number(3.0, "n_H", integer=True)
    Traceback (most recent call last):
    AssertionError: n_H is 3.0 (float), expected an int
    """
    if isinstance(actual, _ndarray) and actual.ndim == 0:
        raise AssertionError(
            f"{what} is a 0-d array, expected a plain number: float(...) turns it into one"
        )
    if isinstance(actual, _ndarray):
        _fail(f"{what} is an array of shape {actual.shape}, expected a single number", hint)
    is_number = isinstance(actual, (int, float, _number)) and not isinstance(actual, bool)
    if not is_number or (integer and not isinstance(actual, (int, _integer))):
        kind = "an int" if integer else "a single number"
        _fail(f"{what} is {actual!r} ({type(actual).__name__}), expected {kind}", hint)


def assert_equal(actual, expected, what, hint=""):
    """Check that a small value (an int, a tuple, a word) equals the expected one.

    Use it where showing the expected value teaches and gives nothing away,
    such as the size of an output.

    Parameters
    ----------
    actual : object
        The student's result.
    expected : object
        The value it must equal.
    what : str
        What ``actual`` is, as the message should name it.
    hint : str, optional
        Where to look when they differ.

    Raises
    ------
    AssertionError
        If ``actual != expected``; the message gives both.

    Examples
    --------
    >>> assert_equal(3, 3, "conv_output_size(5, 3, 1, 'valid')")
    >>> assert_equal(2, 3, "conv_output_size(5, 3, 2, 'same')", hint="round up")
    Traceback (most recent call last):
    AssertionError: conv_output_size(5, 3, 2, 'same') is 2, expected 3: round up
    """
    try:
        same = bool(actual == expected)
    except (TypeError, ValueError):  # e.g. an array of several values against an int
        same = False
    if not same:
        _fail(f"{what} is {actual!r}, expected {expected!r}", hint)


@contextlib.contextmanager
def forbidden(module, names, label=None):
    """Make calls to ``module.<name>`` fail while the block runs, then restore them.

    Tests wrap the call of the student's function in it, so that an answer
    which calls the very reference it is compared with fails with a clear
    message instead of passing.

    Parameters
    ----------
    module : module
        Where the functions live, e.g. ``cnnbook.ops`` or ``tf.nn``.
    names : sequence of str
        Names of the functions to block.
    label : str, optional
        How the message spells the module (default ``module.__name__``).

    Yields
    ------
    None

    Examples
    --------
    >>> import math
    >>> with forbidden(math, ["sqrt"]):
    ...     math.sqrt(4.0)
    Traceback (most recent call last):
    AssertionError: your code calls math.sqrt, which the tests compare it with: write the computation yourself
    >>> math.sqrt(4.0)
    2.0
    """
    label = label or module.__name__
    saved = {name: _getattr(module, name) for name in names}
    # Whatever the block changes in ``module`` or in this module (a student's function
    # replacing ``checks.assert_close`` while a test calls it) is undone on exit; the
    # builtins used for that were bound when this module was imported.
    saved_module, saved_checks = _dict(module.__dict__), _dict(_CHECKS)
    saved_code = [(f, f.__code__) for f in saved_checks.values() if _isinstance(f, _FunctionType)]
    hooks = _list(_AFTER_CALL)

    codes, seen = _blocked_code(module, names), []
    previous = _getprofile()
    allowed = _REFERENCES  # read now, before the student's code runs

    def hook(frame, event, arg):
        if event == "call" and frame.f_code in codes and not (
                allowed and _from_reference(frame, allowed)):
            seen.append(codes[frame.f_code])
            raise AssertionError(
                f"your code calls {label}.{codes[frame.f_code]} (by another name or route), "
                "which the tests compare it with: write the computation yourself")
        if previous is not None:
            previous(frame, event, arg)

    def blocker(name):
        def blocked(*args, **kwargs):
            if allowed and _from_reference(_getframe(1), allowed):  # a reference_parts() one
                return saved[name](*args, **kwargs)
            raise AssertionError(
                f"your code calls {label}.{name}, which the tests compare it with: "
                "write the computation yourself"
            )

        return blocked

    try:
        for name in names:
            setattr(module, name, blocker(name))
        if codes:
            _setprofile(hook)
            _thread_setprofile(hook)
        yield
        removed = codes and _getprofile() is not hook
    finally:
        for name, function in saved.items():
            _setattr(module, name, function)
        for namespace, snapshot in ((module.__dict__, saved_module), (_CHECKS, saved_checks)):
            for key, value in snapshot.items():
                if namespace.get(key, snapshot) is not value:
                    namespace[key] = value
        for function, code in saved_code:
            function.__code__ = code
        for restore in hooks:  # the autograder's own restore (tools/nbgrader_plugins.py)
            restore()
        # After the restore, which puts back the profile function of the snapshot: the one
        # in place when the block began comes back, so the hook of an enclosing check
        # (no_calls_to, another forbidden) keeps watching.
        _setprofile(previous)
        if codes:
            _thread_setprofile(None)
    if seen:  # caught even where the student's code caught the error
        raise AssertionError(f"your code calls {label}.{seen[0]} (by another name or route), "
                             "which the tests compare it with: write the computation yourself")
    if removed:
        raise AssertionError("your code removed the grader's profile hook while it was checked")


_set, _id = set, id


def _code_of(function):
    """Return the code object behind a Python function, method or Keras layer class (its ``call``)."""
    for candidate in (function, _getattr(function, "call", None), _getattr(function, "__func__", None),
                      _getattr(function, "__wrapped__", None)):
        code = _getattr(candidate, "__code__", None)
        if code is not None:
            return code
    return None


@contextlib.contextmanager
def no_calls_to(functions, label):
    """Fail the block if it called any of ``functions``, by whatever name it reached them.

    :func:`forbidden` replaces names in a module, which misses a function bound
    to another name beforehand (``bn = keras.layers.BatchNormalization``) or
    reached by another module (``keras.ops``, ``tf.raw_ops``). This one watches
    the calls themselves (``sys.setprofile``): every Python function whose code
    is one of ``functions``' is recorded, whatever name called it, and the block
    fails when it ends if any was.

    Parameters
    ----------
    functions : sequence of callables
        Python functions, methods, or Keras layer classes (their ``call`` method
        is watched).
    label : str
        What the message calls them, e.g. ``"Keras' batch normalisation"``.

    Yields
    ------
    None

    Raises
    ------
    AssertionError
        After the block, if it called one of them.

    Examples
    --------
    >>> import json
    >>> dumps = json.dumps
    >>> with no_calls_to([json.dumps], "json.dumps"):
    ...     dumps([1])
    Traceback (most recent call last):
    AssertionError: your code calls json.dumps, which the tests compare it with: write the computation yourself
    >>> with no_calls_to([json.dumps], "json.dumps"):
    ...     _ = json.loads("[1]")
    """
    watched = _set()
    for function in functions:
        code = _code_of(function)
        if code is not None:
            watched.add(_id(code))
    seen = []
    previous = _getprofile()
    # As in forbidden(): what the block changes in this module is undone on exit.
    saved_checks = _dict(_CHECKS)
    saved_code = [(f, f.__code__) for f in saved_checks.values() if _isinstance(f, _FunctionType)]
    hooks = _list(_AFTER_CALL)

    def profile(frame, event, arg):
        if event == "call" and _id(frame.f_code) in watched:
            seen.append(frame.f_code.co_name)
        if previous is not None:  # a hook already in place (forbidden's) keeps watching
            previous(frame, event, arg)

    _setprofile(profile)
    _thread_setprofile(profile)
    try:
        yield
        removed = _getprofile() is not profile
    finally:
        for key, value in saved_checks.items():
            if _CHECKS.get(key, saved_checks) is not value:
                _CHECKS[key] = value
        for function, code in saved_code:
            function.__code__ = code
        for restore in hooks:  # the autograder's own restore (tools/nbgrader_plugins.py)
            restore()
        _setprofile(previous)
        _thread_setprofile(None)
    if seen:  # caught even where the student's code caught an error
        raise AssertionError(
            f"your code calls {label}, which the tests compare it with: write the computation yourself"
        )
    if removed:
        raise AssertionError("your code removed the grader's profile hook while it was checked")
