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

import builtins as _builtins
import contextlib
import dis as _dis
import opcode as _opcode
import sys as _sys
import threading as _threading
import warnings
from types import CodeType as _CodeType
from types import FunctionType as _FunctionType

import numpy as np

# Bound once, at import, for forbidden(): what a student's code rebinds later does not
# reach these. The autograder appends its restore function to _AFTER_CALL.
_getattr, _setattr, _dict, _list, _isinstance = getattr, setattr, dict, list, isinstance
_getprofile, _setprofile, _thread_setprofile = _sys.getprofile, _sys.setprofile, \
    _threading.setprofile
_modules = _sys.modules
_getframe, _any, _tuple, _type, _id, _sorted = _sys._getframe, any, tuple, type, id, sorted
_str, _len, _all = str, len, all
_zip, _containers, _dict_type, _type_type = zip, (list, set, frozenset, tuple), dict, type

# Where TensorFlow finally runs what a blocked name of tf.nn or tf.image computes: the
# generated op wrappers (tensorflow.python.ops.gen_*_ops). tf.raw_ops.Conv2D, keras.ops.conv,
# tf.nn.convolution and a name bound before the test all end in one of these functions, so
# :func:`forbidden` blocks their code objects, whatever name reaches them.
# A tuple of pairs, not a dict: nothing a student's code does can change what it holds.
_TF_KERNELS = (
    ("conv", ("gen_nn_ops", ("conv2d", "conv3d", "depthwise_conv2d"))),
    ("convolution", ("gen_nn_ops", ("conv2d", "conv3d", "depthwise_conv2d"))),
    ("max_pool", ("gen_nn_ops", ("max_pool",))),
    ("avg_pool", ("gen_nn_ops", ("avg_pool",))),
    ("pool", ("gen_nn_ops", ("max_pool", "avg_pool"))),
    ("non_max_suppression", ("gen_image_ops", ("non_max_suppression",))),
    ("combined_non_max_suppression", ("gen_image_ops", ("combined_non_max_suppression",))),
)


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
            found = next((entry for k, entry in _TF_KERNELS if key == k or key.startswith(k + "_")), None)
            if found is None:
                continue
            generated, prefixes = found
            kernels = _modules.get("tensorflow.python.ops." + generated)
            for attr, value in _dict(_getattr(kernels, "__dict__", {})).items():
                if attr.startswith(prefixes) and _isinstance(value, _FunctionType):
                    codes[value.__code__] = name
    return codes


# Instructions that differ between two compilations of the same source in another context
# (a function compiled alone, or inside its module): left out, or read as one kind.
_SKIPPED_OPS = frozenset({"CACHE", "NOP", "RESUME", "EXTENDED_ARG", "PRECALL", "PUSH_NULL",
                          "COPY_FREE_VARS", "MAKE_CELL"})
_SAME_OPS = {"LOAD_METHOD": "LOAD_ATTR", "CALL_METHOD": "CALL",
             "JUMP_BACKWARD_NO_INTERRUPT": "JUMP_BACKWARD"}


def _code_key(code):
    """What a code object computes, whatever it is called: its instructions, constants and names.

    Two code objects with the same key run the same instructions on the same constants
    and names: a copy renamed with ``code.replace(co_name=...)``, a function rebuilt from
    ``__code__``, or the same source compiled again (``runpy``, ``exec``, alone or in its
    module) has the key of the original. Nested code objects (inner functions,
    comprehensions) count by their own keys; the name, file and line numbers do not count,
    nor the few instructions a compiler adds or spells otherwise in another context.

    Examples
    --------
    >>> def f(x):
    ...     return [v * 2 for v in x]
    >>> g = f.__code__.replace(co_name="g")
    >>> _code_key(g) == _code_key(f.__code__)
    True
    >>> _code_key((lambda x: x + 1).__code__) == _code_key((lambda x: x + 2).__code__)
    False
    """
    kept = [i for i in _dis.get_instructions(code) if i.opname not in _SKIPPED_OPS]
    position = {}
    for number, instruction in reversed(_list(enumerate(kept))):
        position[instruction.offset] = number
    jumps = set(_dis.hasjrel) | set(_dis.hasjabs)
    offsets = _sorted(position)
    steps = []
    for instruction in kept:
        value = instruction.argval
        if instruction.opcode in jumps:  # by the instruction it jumps to, not by byte offset
            value = position.get(value, next((position[o] for o in offsets if o >= value), None))
        elif _isinstance(value, _CodeType):
            value = _code_key(value)
        elif _type(value) in (tuple, frozenset):
            value = (_type(value), _tuple(_code_key(v) if _isinstance(v, _CodeType) else v for v in value))
        else:
            try:
                hash(value)
                value = (_type(value), value)
            except TypeError:
                value = repr(value)
        steps.append((_SAME_OPS.get(instruction.opname, instruction.opname), value))
    return (_tuple(steps), code.co_names)


def _parts_of(value):
    """The objects that say what ``value`` does: a function's code, defaults and closure; a class's
    attributes (and theirs); a list's, set's or dict's items. Compared by identity."""
    if _isinstance(value, _FunctionType):
        cells = _getattr(value, "__closure__", None) or ()
        return (value.__code__, value.__defaults__, value.__kwdefaults__,
                *(cell.cell_contents for cell in cells))
    if _isinstance(value, _type_type):
        found = []
        for key, attribute in _list(_dict(_getattr(value, "__dict__", {})).items()):
            found += [key, attribute, *(_parts_of(attribute) if _isinstance(attribute, _FunctionType) else ())]
        return _tuple(found)
    if _type(value) in _containers:
        return _tuple(value)
    if _type(value) is _dict_type:
        return _tuple(x for item in value.items() for x in item)
    return ()


def _names_of(code):
    """The global names ``code`` and the code objects nested in it read."""
    found = set(code.co_names)
    for constant in code.co_consts:
        if _isinstance(constant, _CodeType):
            found |= _names_of(constant)
    return found


def _tools_state():
    """What :func:`_code_key` relies on besides its own code, as a flat list of objects: the
    ``dis`` and ``opcode`` modules' names and what they hold, the builtins that their functions
    and :func:`_code_key` read, and this module's tables of instructions. A student's function
    that changes any of them while a blocked window is open (so that a copy of a blocked
    function reads differently from the original) is found by :meth:`_Watch.intact`."""
    found = []
    for module in (_dis, _opcode):
        for key, value in _list(_dict(_getattr(module, "__dict__", {})).items()):
            if key != "__builtins__":  # the builtins that count are below (C extensions add others)
                found += [key, value, *_parts_of(value)]
    builtins = _dict(_getattr(_builtins, "__dict__", {}))
    for name in _TOOL_BUILTINS:
        value = builtins.get(name)
        found += [name, value, *_parts_of(value)]
    for name in ("_code_key", "_SKIPPED_OPS", "_SAME_OPS", "_TF_KERNELS", "_dis", "_opcode"):
        value = _CHECKS.get(name)
        found += [name, value, *_parts_of(value)]
    return found


def _tools_intact():
    """True when everything :func:`_tools_state` lists is what it was when this module was imported."""
    now = _tools_state()
    return _len(now) == _len(_TOOLS) and _all(a is b for a, b in _zip(now, _TOOLS))


def _tool_builtins():
    """The builtins read by :func:`_code_key` and by the functions and methods of ``dis`` and
    ``opcode``: the ones :func:`_tools_state` watches (computed once, at import)."""
    functions = [_code_key]
    for module in (_dis, _opcode):
        for value in vars(module).values():
            if _isinstance(value, _FunctionType):
                functions.append(value)
            elif _isinstance(value, type):  # a class's methods (dis.Bytecode, dis.Instruction)
                functions += [f for f in vars(value).values() if _isinstance(f, _FunctionType)]
    names = set().union(*(_names_of(f.__code__) for f in functions))
    return _tuple(_sorted(names & set(vars(_builtins))))


def _fingerprint(functions, watch, mappings=()):
    """A number that changes when the blocking machinery is changed: the hooks' code and closure
    contents, what the watch blocks, the blockers' saved originals, and the functions they call.
    (The content keys the watch adds to ``blocked`` once it needs them are checked by
    ``_Watch.intact``.)"""
    methods = [_Watch.__dict__.get(name) for name in ("name", "verdict", "intact")]
    parts = [(_id(_code_key.__code__), _id(_CHECKS.get("_code_key")),
              _tuple(_id(m) for m in methods), _tuple(_id(_getattr(m, "__code__", None)) for m in methods))]
    for function in functions:
        cells = _getattr(function, "__closure__", None) or ()
        parts.append((_id(function.__code__), _id(function.__defaults__),
                      _tuple(_id(cell.cell_contents) for cell in cells)))
    parts.append((_id(_type(watch)), _id(watch.blocked), _id(watch.codes), _id(watch.names), _id(watch.seen)))
    parts.append(frozenset(watch.codes.items()))
    parts.append(watch.names)
    for mapping in mappings:
        parts.append(frozenset((key, _id(value)) for key, value in mapping.items()))
    return hash(_tuple(parts))


class _Watch:
    """Recognise the code objects of blocked functions, by identity or else by content.

    A blocked function's own code object is recognised by identity. Any other code object
    with the same names is compared by content (:func:`_code_key`); the blocked codes' own
    keys are computed the first time that happens, not when the window opens (``dis`` over
    the 27 generated functions behind ``tf.nn.conv2d`` costs tens of milliseconds, and an
    honest answer seldom runs code with the names of a blocked function). Each code seen is
    cached with its verdict.

    ``blocked`` is what the hooks read: ``("code", id)`` of each blocked code object from
    the start, and the content keys once computed. :meth:`intact` checks, when the window
    closes, that it holds exactly that and that no cached verdict was forged.
    """

    # No instance dict: a method cannot be shadowed on the instance (``watch.name = ...``).
    __slots__ = ("codes", "blocked", "keyed", "names", "seen", "tampered")

    def __init__(self, codes):
        self.codes = {_id(code): (code, name) for code, name in codes.items()}  # the code kept: its id stays its own
        self.blocked = {("code", _id(code)): name for code, name in codes.items()}
        self.keyed = False  # the content keys of the blocked codes are in ``blocked``
        self.names = frozenset(code.co_names for code in codes)  # a cheap first test: the same names
        self.seen = {}  # id(code) -> (code, name or None); the code is kept so its id stays its own
        self.tampered = False  # the tools of the content keys (dis, ...) were found changed

    def verdict(self, code):
        """The blocked function's name if ``code`` is one or computes what one computes, else None."""
        own = self.codes.get(_id(code))
        if own is not None and own[0] is code:
            return self.blocked.get(("code", _id(code)))
        if not _tools_intact():  # a key read with changed tools proves nothing: intact() fails
            self.tampered = True
            return None
        if not self.keyed:
            self.keyed = True
            for blocked, name in _list(self.codes.values()):
                self.blocked[_code_key(blocked)] = name
        return self.blocked.get(_code_key(code))

    def intact(self):
        """True when what the hooks read still says what it said: ``blocked`` holds what it should
        (by identity, and by content once computed), no cached verdict was forged, and the tools
        of the content keys (:func:`_tools_state`) are as they were."""
        if self.tampered or (self.keyed and not _tools_intact()):  # no key computed: the tools never ran
            return False
        for code, name in _list(self.seen.values()):
            found = self.verdict(code)
            if not ((found is None and name is None) or (_type(name) is str and found == name)):
                return False
        expected = {("code", key): name for key, (code, name) in self.codes.items()}
        if self.keyed:
            expected.update({_code_key(code): name for code, name in self.codes.values()})
        return _len(self.blocked) == _len(expected) and _all(
            _type(self.blocked.get(key)) is str and self.blocked.get(key) == name
            for key, name in expected.items())

    def name(self, code):
        """The blocked function's name if ``code`` computes what it computes, else None (cached)."""
        if code.co_names not in self.names:
            return None
        found = self.seen.get(_id(code))
        if found is None or found[0] is not code:
            found = (code, self.verdict(code))
            self.seen[_id(code)] = found
        return found[1]


_CHECKS = globals()
# The builtins that dis's functions and _code_key read, and what they were at import (before any
# student code runs, when the grader imports this module).
_TOOL_BUILTINS = _tool_builtins()
_TOOLS = _tools_state()
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
    if _REPLAY is not None:  # the judge (tools/judge.py): no student code runs in the block
        yield
        return
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
    if _REPLAY is not None:  # the judge (tools/judge.py): no student code runs in the block
        yield
        return
    label = label or module.__name__
    saved = {name: _getattr(module, name) for name in names}
    # Whatever the block changes in ``module`` or in this module (a student's function
    # replacing ``checks.assert_close`` while a test calls it) is undone on exit; the
    # builtins used for that were bound when this module was imported.
    saved_module, saved_checks = _dict(module.__dict__), _dict(_CHECKS)
    saved_code = [(f, f.__code__) for f in saved_checks.values() if _isinstance(f, _FunctionType)]
    hooks = _list(_AFTER_CALL)

    codes, seen = _blocked_code(module, names), []
    watch = _Watch(codes)
    previous = _getprofile()
    allowed = _REFERENCES  # read now, before the student's code runs

    def hook(frame, event, arg):
        if event == "call":
            blocked = watch.name(frame.f_code)
            if blocked is not None and not (allowed and _from_reference(frame, allowed)):
                seen.append(blocked)
                raise AssertionError(
                    f"your code calls {label}.{blocked} (by another name or route), "
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

    blockers = {name: blocker(name) for name in names}
    fingerprint = _fingerprint([hook, *blockers.values()], watch, [saved])
    try:
        for name, function in blockers.items():
            _setattr(module, name, function)
        if codes:
            _setprofile(hook)
            _thread_setprofile(hook)
        yield
        removed = codes and _getprofile() is not hook
        # (The module's names are not compared: the grader's restore after an inner window puts
        # the originals back, and the hook recognises them by content whatever their name.)
        changed = fingerprint != _fingerprint([hook, *blockers.values()], watch, [saved]) or \
            not watch.intact()
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
    if changed:
        raise AssertionError(f"your code changed the grader's blocking of {label} while it ran: "
                             "the test does not count")


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
    if _REPLAY is not None:  # the judge (tools/judge.py): no student code runs in the block
        yield
        return
    watch = _Watch({code: "" for code in (_code_of(f) for f in functions) if code is not None})
    seen = []
    previous = _getprofile()
    # As in forbidden(): what the block changes in this module is undone on exit.
    saved_checks = _dict(_CHECKS)
    saved_code = [(f, f.__code__) for f in saved_checks.values() if _isinstance(f, _FunctionType)]
    hooks = _list(_AFTER_CALL)

    def profile(frame, event, arg):
        if event == "call" and watch.name(frame.f_code) is not None:
            seen.append(frame.f_code.co_name)
        if previous is not None:  # a hook already in place (forbidden's) keeps watching
            previous(frame, event, arg)

    fingerprint = _fingerprint([profile], watch)
    _setprofile(profile)
    _thread_setprofile(profile)
    try:
        yield
        removed = _getprofile() is not profile
        changed = fingerprint != _fingerprint([profile], watch) or not watch.intact()
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
    if changed:
        raise AssertionError(f"your code changed the grader's watch of {label} while it ran: "
                             "the test does not count")


# ---------------------------------------------------------------- observations (issue 23)
# A test cell calls the student's function through observe(), which turns the result into
# plain data inside the blocked window. In JupyterLab observe() returns that data and the
# cell's own checks run on it. When the grader runs the notebook (tools/nbgrader_plugins.py)
# the kernel also records each observation in an output of the MIME type below, and a judge
# process that never runs student code (tools/judge.py) runs the course's own copy of the test
# cells, where observe() returns the recorded data instead of calling anything: the verdict is
# the judge's.
MIME = "application/vnd.cnnbook.observation+json"
_RECORD = False    # set by the grader's guard in the kernel: emit every observation
_REPLAY = None     # set by the judge: the observations to return, in order
_THREADS = None    # set by the grader's guard: the thread ids alive before any student code
_MODEL_LIMIT = 64 * 2 ** 20   # bytes of a saved model
_ARRAY_LIMIT = 64 * 2 ** 20   # bytes of the arrays of one observation
_PLAIN = (type(None), bool, int, float, str)
_NUMERIC_KINDS = "biuf"
_process_time = __import__("time").process_time


class Refused(AssertionError):
    """A result the grader cannot read as plain data, or a model it will not load."""


def _describe(value):
    return _type(value).__name__


def _tensor_types():
    """TensorFlow's and Keras' own tensor and variable classes (their exact types), if imported."""
    found = []
    for module, name in (("tensorflow.python.framework.ops", "EagerTensor"),
                         ("tensorflow.python.ops.resource_variable_ops", "ResourceVariable"),
                         ("keras.src.backend.tensorflow.core", "Variable")):
        value = _getattr(_modules.get(module), name, None)
        if value is not None:
            found.append(value)
    return _tuple(found)


def _keras_model_type():
    keras = _modules.get("keras")
    return _getattr(keras, "Model", None) if keras is not None else None


class _Tensor:
    """A TensorFlow tensor as the NumPy array of its values (a tensor again when materialized)."""

    __slots__ = ("array",)

    def __init__(self, array):
        self.array = array


class _Model:
    """A Keras model as the bytes of its ``.keras`` file: how a model crosses to the judge."""

    __slots__ = ("data",)

    def __init__(self, data):
        self.data = data


def _save_model(model, what):
    import os
    import tempfile

    folder = tempfile.mkdtemp(prefix="cnnbook-model-")
    path = os.path.join(folder, "model.keras")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Keras' notices on stderr say nothing of the answer
            model.save(path)
        size = os.path.getsize(path)
        if size > _MODEL_LIMIT:
            raise Refused(f"{what} is a model of {size / 2 ** 20:.0f} MB, more than the grader reads "
                          f"({_MODEL_LIMIT // 2 ** 20} MB)")
        with open(path, "rb") as file:
            return _Model(file.read())
    finally:
        import shutil
        shutil.rmtree(folder, ignore_errors=True)


def plain(value, what="the result"):
    """Return ``value`` as plain data, or raise :class:`Refused` saying what was expected.

    Plain data is what the grader can check without running the student's code: ``None``,
    ``bool``, ``int``, ``float``, ``str`` and ``bytes`` of exactly these types, NumPy arrays (copied)
    and scalars of numeric types, TensorFlow tensors and variables (their values, a tensor
    again when read back), Keras models (the bytes of their ``.keras`` file, read back by
    :func:`load_model`), and tuples, lists and dicts of these. A subclass of ``int`` whose ``==`` always answers ``True``, an
    object computing its array lazily (``__array__``), a generator: each is refused.

    Parameters
    ----------
    value : object
        What the student's function returned.
    what : str, optional
        How a message names it.

    Returns
    -------
    object
        The plain copy (a tensor is held as its values, a model as its ``.keras`` file;
        :func:`observe` turns them back into a tensor and a model).

    Raises
    ------
    Refused
        For anything else, with a message naming the type found.

    Examples
    --------
    >>> plain((3, np.arange(2), {"a": [1.5, None]}))
    (3, array([0, 1]), {'a': [1.5, None]})
    >>> class Liar(int):
    ...     def __eq__(self, other):
    ...         return True
    >>> plain(Liar(3), "conv_output_size(5, 3, 1, 'valid')")
    Traceback (most recent call last):
    cnnbook.checks.Refused: conv_output_size(5, 3, 1, 'valid') is a Liar, which the grader cannot read: return an int, a float, a str, a NumPy array or a tensor, a Keras model, or a tuple, list or dict of these
    """
    budget = [_ARRAY_LIMIT]
    return _plain(value, what, budget, 0)


def _plain(value, what, budget, depth):
    kind = _type(value)
    if kind in _PLAIN:
        return value
    if kind is bytes:  # the bytes of a file (a checkpoint): read by the judge as data only
        budget[0] -= _len(value)
        if budget[0] < 0:
            raise Refused(f"{what} holds more than {_ARRAY_LIMIT // 2 ** 20} MB")
        return value
    if depth > 20:
        raise Refused(f"{what} is nested more than 20 levels deep")
    if kind is tuple or kind is list:
        return kind(_plain(v, what, budget, depth + 1) for v in value)
    if kind is dict:
        out = {}
        for key, v in _list(value.items()):
            if _type(key) not in (str, int):
                raise Refused(f"{what} has a key of type {_describe(key)}: keys must be str or int")
            out[key] = _plain(v, what, budget, depth + 1)
        return out
    if kind in _tensor_types():  # a tensor stays a tensor, of the same values
        return _Tensor(_plain(_asarray(value.numpy()), what, budget, depth + 1))
    if kind is _ndarray:
        if value.dtype.kind not in _NUMERIC_KINDS:
            raise Refused(f"{what} is an array of {value.dtype}, expected numbers")
        budget[0] -= value.nbytes
        if budget[0] < 0:
            raise Refused(f"{what} holds more than {_ARRAY_LIMIT // 2 ** 20} MB of arrays")
        return np.array(value, dtype=value.dtype, copy=True)
    if _isinstance(value, np.generic) and kind.__module__ == "numpy" and \
            np.dtype(kind).kind in _NUMERIC_KINDS:
        return value
    model = _keras_model_type()
    if model is not None and _isinstance(value, model):
        return _save_model(value, what)
    raise Refused(f"{what} is a {_describe(value)}, which the grader cannot read: return an int, a "
                  "float, a str, a NumPy array or a tensor, a Keras model, or a tuple, list or dict "
                  "of these")


# ----- the wire format: JSON with tags for what JSON lacks
def _encode(value):
    import base64
    import io

    kind = _type(value)
    if kind in _PLAIN:
        if kind is float and (value != value or value in (float("inf"), float("-inf"))):
            return {"float": repr(value)}
        return value
    if kind is bytes:
        return {"bytes": base64.b64encode(value).decode("ascii")}
    if kind is tuple or kind is list:
        return {kind.__name__: [_encode(v) for v in value]}
    if kind is dict:
        return {"dict": [[k, _encode(v)] for k, v in value.items()]}
    if kind is _ndarray:
        buffer = io.BytesIO()
        np.save(buffer, value, allow_pickle=False)
        return {"array": base64.b64encode(buffer.getvalue()).decode("ascii")}
    if kind is _Model:
        return {"model": base64.b64encode(value.data).decode("ascii")}
    if kind is _Tensor:
        return {"tensor": _encode(value.array)}
    return {"scalar": np.dtype(kind).str, "value": _encode(value.item())}


def _decode(data):
    import base64
    import io

    kind = _type(data)
    if kind in _PLAIN:
        return data
    if kind is not dict or _len(data) not in (1, 2):
        raise ValueError("not an observation")
    if "float" in data:
        return float(data["float"])
    if "bytes" in data:
        return base64.b64decode(data["bytes"])
    if "tuple" in data:
        return _tuple(_decode(v) for v in data["tuple"])
    if "list" in data:
        return [_decode(v) for v in data["list"]]
    if "dict" in data:
        return {k: _decode(v) for k, v in data["dict"]}
    if "array" in data:
        array = np.load(io.BytesIO(base64.b64decode(data["array"])), allow_pickle=False)
        if array.dtype.kind not in _NUMERIC_KINDS:
            raise ValueError("not an array of numbers")
        return array
    if "model" in data:
        return _Model(base64.b64decode(data["model"]))
    if "tensor" in data:
        array = _decode(data["tensor"])
        if _type(array) is not _ndarray:
            raise ValueError("not a tensor")
        return _Tensor(array)
    if "scalar" not in data:
        raise ValueError("not an observation")
    dtype = np.dtype(data["scalar"])
    if dtype.kind not in _NUMERIC_KINDS:
        raise ValueError("not a number")
    return dtype.type(_decode(data["value"]))


def _materialize(value):
    """Load the models of a plain value (saved as bytes) as Keras models."""
    kind = _type(value)
    if kind is _Model:
        return load_model(value.data)
    if kind is _Tensor:
        import tensorflow as tf
        return tf.constant(value.array)
    if kind is tuple or kind is list:
        return kind(_materialize(v) for v in value)
    if kind is dict:
        return {k: _materialize(v) for k, v in value.items()}
    return value


def _foreign_code(config, found):
    """Collect the classes and functions of a Keras config that are not Keras' own."""
    if _isinstance(config, dict):
        if "class_name" in config:
            module = config.get("module")
            registered = config.get("registered_name")
            own = module is None or module == "keras" or _str(module).startswith("keras.") or (
                module == "builtins" and config.get("class_name") == "function")
            if not own or (registered not in (None, config.get("class_name")) and
                           not _str(registered).startswith("keras")):
                found.append(_str(config.get("class_name")))
        for value in config.values():
            _foreign_code(value, found)
    elif _isinstance(config, list):
        for value in config:
            _foreign_code(value, found)
    return found


def load_model(data):
    """Load a Keras model from the bytes of its ``.keras`` file, refusing anything not Keras' own.

    The model's configuration is read first: every layer, loss and function it names must
    be one of Keras' built-in ones. Then Keras loads it with ``safe_mode=True`` (which
    also refuses a ``Lambda`` layer's code). So loading runs no code of the student's.

    Parameters
    ----------
    data : bytes
        The ``.keras`` file.

    Returns
    -------
    keras.Model

    Raises
    ------
    Refused
        If the model uses a layer, loss or function that is not Keras' own, or cannot be
        loaded.
    """
    import json
    import os
    import shutil
    import tempfile
    import zipfile

    import keras

    folder = tempfile.mkdtemp(prefix="cnnbook-model-")
    path = os.path.join(folder, "model.keras")
    try:
        with open(path, "wb") as file:
            file.write(data)
        try:
            with zipfile.ZipFile(path) as archive:
                config = json.loads(archive.read("config.json"))
        except (zipfile.BadZipFile, KeyError, ValueError):
            raise Refused("the model could not be read back from its .keras file") from None
        foreign = _foreign_code(config, [])
        if foreign:
            raise Refused(f"the model uses {', '.join(_sorted(set(foreign)))}, which is not one of "
                          "Keras' own layers or functions: build it from keras.layers only (the "
                          "grader loads models with Keras' safe mode)")
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # e.g. an optimizer not yet built: nothing to say
                return keras.models.load_model(path, safe_mode=True)
        except Exception as error:  # noqa: BLE001 - any failure is the model's
            text = _str(error).splitlines()[0][:300] if _str(error) else _describe(error)
            raise Refused(f"the model could not be loaded with Keras' own layers only ({text}): "
                          "build it from keras.layers, without Lambda layers") from None
    finally:
        shutil.rmtree(folder, ignore_errors=True)


# ----- the kernel side
def _error_record(error):
    """A student's exception as plain data: the nearest builtin exception class, and its message."""
    import builtins

    name = "Exception"
    for cls in _type(error).__mro__:
        if _getattr(builtins, cls.__name__, None) is cls:
            name = cls.__name__
            break
    try:
        message = _str(error)
    except Exception:  # noqa: BLE001 - a student's __str__ may fail
        message = ""
    return {"type": name, "message": message[:2000]}


def _running_threads():
    """Names of the threads alive now that were not alive before any student code ran."""
    import threading

    if _THREADS is None:
        return []
    names = {t.ident: t.name for t in threading.enumerate()}
    return _sorted(names.get(ident, f"thread {ident}") for ident in _sys._current_frames()
                   if ident not in _THREADS)


def _emit(record):
    from IPython import get_ipython

    shell = get_ipython()
    if shell is not None:
        shell.display_pub.publish(data={MIME: record}, metadata={})


def observe(what, call, timed=False, blocked=()):
    """Call the student's function through ``call`` and return its result as plain data.

    Test cells call every student function this way. The call runs inside ``blocked``,
    the window where the course's references are blocked (:func:`forbidden`,
    :func:`no_calls_to`, with :func:`reference_parts`), and the result is turned into
    plain data (:func:`plain`) before the window closes, so nothing the student wrote runs
    after it (a lazy ``__array__``, a generator), and what the window finds when it closes
    (a blocked call whose error the student's code caught) is part of the observation. A
    Keras model is saved and loaded back with Keras' own layers only (:func:`load_model`),
    as the grader will load it.

    In JupyterLab this returns the data and the test cell's checks run on it. While the
    grader runs the notebook it also records the observation; the grader's judge then runs
    the course's copy of the test cells, where ``observe`` returns the recorded data
    without calling anything, and decides the test.

    Parameters
    ----------
    what : str
        The call as a message names it, e.g. ``"zero_pad(X, 2)"``. It also labels the
        observation: the judge checks that the calls come in the same order.
    call : callable
        Calls the student's function, e.g. ``lambda: zero_pad(X, 2)``.
    timed : bool, default False
        Also return the CPU seconds the call took (``time.process_time``).
    blocked : sequence of context managers, optional
        Entered in order around the call and its conversion, e.g.
        ``[checks.forbidden(ops, ["conv2d"], "cnnbook.ops")]``. The judge enters none.

    Returns
    -------
    object, or (object, float) if ``timed``

    Raises
    ------
    Refused
        If the result is not plain data.
    Exception
        What the student's function raised.

    Examples
    --------
    >>> observe("sum of squares", lambda: np.square(np.arange(3)).sum())
    np.int64(5)
    >>> observe("squares()", lambda: (v * v for v in range(3)))
    Traceback (most recent call last):
    cnnbook.checks.Refused: squares() is a generator, which the grader cannot read: return an int, a float, a str, a NumPy array or a tensor, a Keras model, or a tuple, list or dict of these
    """
    if _REPLAY is not None:
        return _REPLAY.next(what, timed)
    record = _RECORD
    if record:
        threads, trace = _running_threads(), _sys.gettrace()
    start = _process_time()
    try:
        with contextlib.ExitStack() as window:
            for context in blocked:
                window.enter_context(context)
            value = plain(call(), what)
        seconds = _process_time() - start
        if record:
            encoded = _encode(value)
        result = _materialize(value)
    except BaseException as error:
        if record:
            _emit({"what": what, "error": _error_record(error)})
        raise
    if record:
        entry = {"what": what, "value": encoded, "cpu": seconds}
        after = _running_threads()
        if threads or after:
            entry["threads"] = _sorted(set(threads) | set(after))
        if trace is not None or _sys.gettrace() is not None:
            entry["trace"] = True
        _emit(entry)
    return (result, seconds) if timed else result


def held_out(seed):
    """Return the seed of held-out data: ``seed`` in JupyterLab, fresh entropy in the judge.

    A test that scores a trained model draws its held-out data from this seed. In the
    kernel (JupyterLab, ``nbgrader validate``, and the kernel while it is graded) it is the
    fixed ``seed`` written in the test; in the judge it is drawn from :mod:`secrets` when
    the test runs, so that no seed a notebook could know is involved.

    Parameters
    ----------
    seed : int

    Returns
    -------
    int

    Examples
    --------
    >>> held_out(7)
    7
    """
    if _REPLAY is not None:
        import secrets
        return secrets.randbits(63)
    return seed


def in_judge():
    """True while the judge runs the course's test cells (tools/judge.py), else False.

    >>> in_judge()
    False
    """
    return _REPLAY is not None


class _Replay:
    """The judge's side of :func:`observe`: one test cell's recorded observations, in order."""

    def __init__(self, records, stopped=None):
        self.records = _list(records)
        self.stopped = stopped  # the kernel's error in this cell, if any: said when records run out
        self.used = 0

    def next(self, what, timed):
        if self.used >= _len(self.records):
            why = f" ({self.stopped})" if self.stopped else ""
            raise AssertionError(f"the test stopped in the notebook before it called {what}{why}")
        record = self.records[self.used]
        self.used += 1
        if _type(record) is not dict or record.get("what") != what:
            got = record.get("what") if _type(record) is dict else record
            raise AssertionError(f"the grader's record of this test does not match its calls: it "
                                 f"expected {what}, the notebook recorded {_str(got)[:200]}")
        threads = record.get("threads")
        if threads:
            raise AssertionError(f"a thread started by your code ({', '.join(map(_str, threads[:3]))}) "
                                 f"was still running when the test called {what}: stop every thread "
                                 "your code starts; the test does not count")
        if record.get("trace"):
            raise AssertionError(f"a trace function set by your code was in place when the test "
                                 f"called {what}: the test does not count")
        if "error" in record:
            import builtins

            error = record["error"]
            cls = _getattr(builtins, _str(error.get("type")), None)
            if not (_isinstance(cls, _type) and issubclass(cls, BaseException)) or \
                    issubclass(cls, (SystemExit, KeyboardInterrupt, GeneratorExit)):
                cls = Exception
            raise cls(_str(error.get("message", "")))
        try:
            value = _decode(record.get("value"))
        except (ValueError, TypeError, KeyError, OSError):
            raise AssertionError(f"the grader could not read the notebook's record of {what}") from None
        value = _materialize(value)
        if timed:
            seconds = record.get("cpu")
            if _type(seconds) not in (int, float):
                raise AssertionError("the grader's record has no CPU time for this call")
            return value, float(seconds)
        return value


@contextlib.contextmanager
def replaying(records, stopped=None):
    """Make :func:`observe` return ``records`` in order while the block runs (the judge's mode).

    Parameters
    ----------
    records : list of dict
        The observations the kernel recorded in one test cell.
    stopped : str, optional
        Why the cell stopped in the kernel, for the message when the records run out.

    Yields
    ------
    object
        The replay; its ``used`` attribute counts the observations returned.

    Examples
    --------
    >>> with replaying([{"what": "f(2)", "value": 4}]):
    ...     observe("f(2)", lambda: 1 / 0)
    4
    """
    global _REPLAY
    before = _REPLAY
    _REPLAY = _Replay(records, stopped)
    try:
        yield _REPLAY
    finally:
        _REPLAY = before


def batches(dataset, what="the dataset", limit=10_000):
    """Return a ``tf.data.Dataset`` of ``(x, y)`` pairs as a list of pairs of NumPy arrays.

    For :func:`observe`: a test that receives a dataset calls this inside its blocked
    window, so the pipeline runs there and only its batches leave it.

    Parameters
    ----------
    dataset : tf.data.Dataset
    what : str, optional
        How a message names it.
    limit : int, default 10000
        Most batches read (a dataset that repeats forever is cut there).

    Returns
    -------
    list of (ndarray, ndarray)

    Raises
    ------
    AssertionError
        If ``dataset`` is not a ``tf.data.Dataset`` of pairs.
    """
    import tensorflow as tf

    if not _isinstance(dataset, tf.data.Dataset):
        raise AssertionError(f"{what} is a {_describe(dataset)}, expected a tf.data.Dataset")
    found = []
    for element in dataset:
        if _type(element) not in (tuple, list) or _len(element) != 2:
            raise AssertionError(f"{what} yields {_describe(element)}s, expected (images, labels) pairs")
        parts = [_plain(part, what, [_ARRAY_LIMIT], 0) for part in element]
        found.append(_tuple(p.array if _type(p) is _Tensor else p for p in parts))
        if _len(found) >= limit:
            break
    return found


def layers_within(model):
    """Return every layer of a model, the layers of nested models included, depth first.

    Parameters
    ----------
    model : keras.Model

    Returns
    -------
    list of keras.layers.Layer

    Examples
    --------
    >>> import keras
    >>> branch = keras.Sequential([keras.layers.Dense(2), keras.layers.ReLU()])
    >>> model = keras.Sequential([keras.Input((3,)), branch, keras.layers.Dense(1)])
    >>> [type(layer).__name__ for layer in layers_within(model)]
    ['Sequential', 'Dense', 'ReLU', 'Dense']
    """
    found = []
    for layer in _getattr(model, "layers", []):
        found.append(layer)
        if _getattr(layer, "layers", None):
            found.extend(layers_within(layer))
    return found


def canonical_weights(model, seed=0):
    """Give every weight of a model values that depend only on its kind, its shape and ``seed``.

    Two models whose layers compute the same functions of weights of the same shapes
    then compute the same thing, however their layers are arranged in nested models or
    named: this compares what a student's network computes with the course's, without
    asking that their layer graphs look alike. Kernels and biases get values of a normal
    draw scaled by the weight's fan-in; batch normalisation's scales and variances get
    positive values.

    Parameters
    ----------
    model : keras.Model
    seed : int, default 0

    Returns
    -------
    keras.Model
        ``model`` itself, its weights set.

    Examples
    --------
    >>> import keras
    >>> a = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2), keras.layers.Dense(2)])
    >>> inputs = keras.Input((3,))
    >>> nested = keras.Sequential([keras.layers.Dense(2)])
    >>> b = keras.Model(inputs, keras.layers.Dense(2)(nested(inputs)))
    >>> x = np.ones((1, 3), "float32")
    >>> bool(np.allclose(canonical_weights(a)(x), canonical_weights(b)(x)))
    True
    """
    for layer in layers_within(model):
        if _getattr(layer, "layers", None):
            continue  # a nested model: its layers are set one by one
        for number, weight in enumerate(layer.weights):
            shape = _tuple(int(n) for n in weight.shape)
            name = _str(_getattr(weight, "name", ""))
            rng = np.random.default_rng([seed, number, _len(shape), *shape])
            if name in ("gamma", "moving_variance"):
                value = rng.uniform(0.5, 1.5, shape)
            else:
                fan_in = max(1, int(np.prod(shape[:-1]))) if _len(shape) > 1 else 1
                value = rng.standard_normal(shape) / np.sqrt(fan_in)
            weight.assign(value.astype(_str(weight.dtype)))
    return model
