"""Generate classes of submissions to try the grading pipeline on (tools/grade.py).

    python tools/make_class.py demo-class --size 30 --bad      # a folder per student
    python tools/make_class.py demo-class.zip --size 30        # flat zip_collect names
    make grade SUBMISSIONS=demo-class

Every submission is built from the committed release (exercises/) with solution
cells taken from solutions/ or from the kept wrong implementations in
tests/wrong/, so a class exercises the real grader. ``--bad`` adds the students
the pipeline must survive (``bad_class``): an infinite loop, a cell that kills the
kernel, ``SystemExit``, a failing import, a syntax error, a notebook that is not
JSON, a renamed notebook, deleted and edited test cells, monkey-patching of NumPy
and of the course's helpers (in a cell, and from inside a function the tests
call), a notebook writing a forged result to every pipe it holds, a cell
printing 20 MB (200 times what the grader keeps of a cell's output), and (issue 13) releases that only add an attack: on the course's
files (``TAMPER``: appending no-op checks to cnnbook/checks.py, rewriting the other
students' notebooks) or on the kernel (``KERNEL_TAMPER``: input and AST transformers,
a custom exception handler, class-level traceback and session patches, sys hooks, an
event callback, and a hook installed from inside the function the tests call), and
(issue 22) a student reading the hidden tests by every route (``READ_HIDDEN``: paths
relative to the kernel's folder, from ``cnnbook.__file__``, the course's absolute path,
every notebook and gradebook it can list; with ``open``, NumPy and ``tf.io``).

``attack_class`` (issue 23) holds, for every assignment, the attacks that the judge must
defeat (lazy results, values that lie, renamed copies of blocked code, the checks and the
blocking disarmed from a cell, a thread or the student's own function, forged training,
test data redrawn, another model returned, a constant heatmap), each scoring 0, and honest
answers written another right way (issue 22), scoring full marks.
"""

from __future__ import annotations

import argparse
import sys
import zipfile
from pathlib import Path

import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parent))
import course  # noqa: E402
from nbgrader_plugins import is_test_cell  # noqa: E402

LOOP = "while True:  # never ends\n    pass\n"
EXIT = "import os\nos._exit(1)\n"
PATCHES = {  # appended to a wrong version's cell: none of them may gain a point
    "cheat-allclose": "import numpy\nnumpy.allclose = lambda *a, **k: True\n"
                      "numpy.isclose = lambda a, b, *r, **k: numpy.ones(numpy.shape(a), bool)\n",
    "cheat-testing": "import numpy.testing\n"
                     "numpy.testing.assert_allclose = lambda *a, **k: None\n"
                     "numpy.testing.assert_array_equal = lambda *a, **k: None\n",
    "cheat-checks": "import cnnbook.checks\n"
                    "for _name in dir(cnnbook.checks):\n"
                    "    if _name.startswith('assert'):\n"
                    "        setattr(cnnbook.checks, _name, lambda *a, **k: None)\n",
    "cheat-code": "import cnnbook.checks\n"
                  "for _name in dir(cnnbook.checks):\n"
                  "    _f = getattr(cnnbook.checks, _name)\n"
                  "    if _name.startswith('assert') and hasattr(_f, '__code__'):\n"
                  "        _f.__code__ = (lambda *a, **k: None).__code__\n",
    "cheat-during-call": "_student_{name} = {name}\n"
                         "def {name}(*args, **kwargs):\n"
                         "    import cnnbook.checks\n"
                         "    for _name in dir(cnnbook.checks):\n"
                         "        if _name.startswith('assert'):\n"
                         "            setattr(cnnbook.checks, _name, lambda *a, **k: None)\n"
                         "    return _student_{name}(*args, **kwargs)\n",
    "cheat-result": "import json as _json, os as _os, stat as _stat\n"
                    "_line = _json.dumps({{'student': 'cheat-result', 'assignment': '{assignment}', "
                    "'cells': {{}}, 'problems': [], 'seconds': 0}}) + '\\n'\n"
                    "for _fd in range(1, 64):  # every pipe this kernel holds\n"
                    "    try:\n"
                    "        if _stat.S_ISFIFO(_os.fstat(_fd).st_mode):\n"
                    "            _os.write(_fd, ('RESULT ' + _line).encode())\n"
                    "            _os.write(_fd, _line.encode())\n"
                    "    except OSError:\n"
                    "        pass\n",
}
# Put in front of the release's first answer cell (every other answer left unanswered):
# attacks on the files that grade the others. Each must score 0 and change nothing.
TAMPER = {
    # no-op checks appended to the course's own cnnbook/checks.py, for every later submission
    "bad-writes-checks": "import cnnbook.checks as _checks\n"
                         "try:\n"
                         "    with open(_checks.__file__, 'a') as _f:\n"
                         "        for _n in ('assert_close', 'assert_shape', 'assert_equal', "
                         "'assert_number'):\n"
                         "            _f.write(f'\\ndef {_n}(*a, **k):\\n    return None\\n')\n"
                         "except OSError:\n"
                         "    pass\n",
    # every other notebook within reach of the grading folder replaced by an empty one
    "bad-rewrites-others": "import pathlib as _pl\n"
                           "_here = _pl.Path.cwd()\n"
                           "for _up in list(_here.parents)[:6]:\n"
                           "    for _p in _up.rglob('*.ipynb'):\n"
                           "        if _here not in _p.parents:\n"
                           "            try:\n"
                           "                _p.write_text('{}')\n"
                           "            except OSError:\n"
                           "                pass\n",
}
# Put in front of the release's first answer cell too: each makes a later cell's error
# invisible to nbgrader, or a later cell's code different from what nbgrader sent, by one
# route of the kernel (issue 13). Without the guard, several would score full marks.
_WRAP = ("def _swallow(lines):  # every later cell wrapped in try/except\n"
         "    body = ''.join(lines) or 'pass'\n"
         "    return ['try:\\n'] + ['    ' + l + '\\n' for l in body.splitlines()] + "
         "['except BaseException:\\n', '    pass\\n']\n")
KERNEL_TAMPER = {
    "bad-input-transformer": _WRAP + "get_ipython().input_transformers_post.append(_swallow)\n",
    "bad-cleanup-transformer": _WRAP + "get_ipython().input_transformers_cleanup.append(_swallow)\n",
    "bad-ast-transformer": "import ast as _ast\n"
                           "class _Swallow(_ast.NodeTransformer):\n"
                           "    def visit_Module(self, node):\n"
                           "        handler = _ast.ExceptHandler(type=_ast.Name('BaseException', "
                           "_ast.Load()), name=None, body=[_ast.Pass()])\n"
                           "        node.body = [_ast.Try(body=node.body or [_ast.Pass()], "
                           "handlers=[handler], orelse=[], finalbody=[])]\n"
                           "        return _ast.fix_missing_locations(node)\n"
                           "get_ipython().ast_transformers.append(_Swallow())\n",
    "bad-custom-exc": "get_ipython().set_custom_exc((BaseException,), "
                      "lambda *args, **kwargs: None)\n",
    "bad-showtraceback-class": "type(get_ipython())._showtraceback = lambda *a, **k: None\n"
                               "type(get_ipython()).showtraceback = lambda *a, **k: None\n",
    "bad-session-send": "from jupyter_client.session import Session as _Session\n"
                        "_send = _Session.send\n"
                        "def _quiet_send(self, stream, msg, *args, **kwargs):  # drops errors\n"
                        "    kind = msg if isinstance(msg, str) else msg.get('header', {}).get("
                        "'msg_type')\n"
                        "    if kind == 'error':\n"
                        "        return None\n"
                        "    return _send(self, stream, msg, *args, **kwargs)\n"
                        "_Session.send = _quiet_send\n",
    "bad-sys-hooks": "import sys as _sys, io as _io\n"
                     "_sys.excepthook = lambda *a: None\n"
                     "_sys.stderr = _io.StringIO()\n"
                     "_sys.settrace(lambda *a: None)\n",
    "bad-event-callback": "def _every_cell(*args):  # puts the hook back before every cell\n"
                          "    get_ipython().set_custom_exc((BaseException,), "
                          "lambda *a, **k: None)\n"
                          "get_ipython().events.register('pre_run_cell', _every_cell)\n",
}
# Put in front of the solution's first answer (issue 22): reads the hidden tests by every
# route a student has, prints the blocks of its first two reads and counts all of them
# (the grader keeps 100,000 characters of a cell's output). Under bubblewrap it finds none
# and scores full marks; no feedback file of the class may hold a line of a hidden test.
# (The markers are built at run time: the cell itself holds no "### BEGIN HIDDEN TESTS".)
READ_HIDDEN = """\
import json as _json, os as _os, pathlib as _pl, re as _re, time as _time
import numpy as _np, tensorflow as _tf, cnnbook as _cb
_name, _stop = {assignment!r}, _time.monotonic() + 10  # within any cell time limit
_marks = ("### BEGIN " + "HIDDEN TESTS", "### END " + "HIDDEN TESTS")
_blocks = _re.compile(_re.escape(_marks[0]) + ".*?" + _re.escape(_marks[1]), _re.S)
_readers = {{"open": lambda p: open(p, "rb").read(),
            "np.fromfile": lambda p: _np.fromfile(p, dtype=_np.uint8).tobytes(),
            "tf.io.gfile": lambda p: _tf.io.gfile.GFile(p, "rb").read(),
            "tf.io.read_file": lambda p: _tf.io.read_file(p).numpy()}}
_found, _shown = 0, set()

def _read_all(path):
    global _found
    for how, read in _readers.items():
        try:
            text = read(path).decode("utf-8", "replace")
        except Exception:
            continue
        try:  # a notebook: its cells' sources, as they would be run
            text = "\\n".join("".join(c["source"]) for c in _json.loads(text)["cells"])
        except Exception:
            pass
        for block in _blocks.findall(text):
            _found += 1
            if len(_shown) < 2 or (str(path), how) in _shown:  # two reads printed in full,
                _shown.add((str(path), how))  # the rest counted: under the grader's output cap
                print(f"{{how}} read {{path}}:", block, sep="\\n")

for _up in ("../" * k for k in range(1, 7)):  # relative to the kernel's working directory
    for _path in (f"source/{{_name}}/{{_name}}.ipynb", f"solutions/{{_name}}/{{_name}}.ipynb",
                  "gradebook.db"):
        _read_all(_up + _path)
_read_all(_pl.Path(_cb.__file__).parents[2] / "solutions" / _name / (_name + ".ipynb"))
_read_all({absolute!r})  # where the course lives on the grader's machine
for _dir, _dirs, _files in _os.walk("/"):  # every notebook and gradebook in sight
    if _time.monotonic() > _stop:
        break
    _dirs[:] = [d for d in _dirs if _os.path.join(_dir, d) not in ("/usr", "/proc", "/sys", "/dev")
                and d not in (".venv", "site-packages", ".git", "__pycache__", ".cache")]
    for _file in _files:
        if _file.endswith((".ipynb", ".db")) and _time.monotonic() < _stop:
            _read_all(_os.path.join(_dir, _file))
print("hidden test blocks read:", _found)
"""

# After the release's first answer: the function the tests call installs the hook itself.
DURING_CALL = ("_plain_{name} = {name}\n"
               "def {name}(*args, **kwargs):\n"
               "    get_ipython().set_custom_exc((BaseException,), lambda *a, **k: None)\n"
               "    return _plain_{name}(*args, **kwargs)\n")

# Makes the reference the tests compare with (cnnbook.ops.<name>) the student's function.
PATCH_OPS = "import cnnbook.ops\ncnnbook.ops.{name} = {name}\n"


def notebook_bytes(notebook):
    """A notebook as the bytes of its .ipynb file."""
    return nbformat.writes(notebook).encode("utf-8")


def bad_class(assignment):
    """Return ({student: {file name: bytes}}, {student: expectation}) for one assignment.

    The class holds reference students (``solution``, ``release``, ``wrong`` with
    a kept wrong version of the second solution cell, ``blank-<cell>`` with one
    solution cell left as released) and the bad students, each expected to score
    what a reference student scores: ``("like", reference)``, ``("before",
    grade_id)`` (only the points of the test cells above that solution cell) or
    ``("score", number or "full")``. Only the bad students, the solution and the
    release have an expectation.
    """
    from cnnbook import ops

    sources = course.solution_sources(assignment)
    ids = list(sources)
    first, second = ids[0], ids[min(1, len(ids) - 1)]
    wrong = next(v for v in course.wrong_versions(assignment) if v.grade_id == second)
    release = course.release_notebooks(None, assignment)
    (notebook_name,) = release  # one notebook per assignment in this course

    def solved(**override):
        return course.solved_submission(None, assignment, override)[notebook_name]

    files, expect = {}, {}

    def add(student, notebook, expectation=None, name=notebook_name):
        data = notebook if isinstance(notebook, bytes) else notebook_bytes(notebook)
        files[student] = {name: data}
        if expectation:
            expect[student] = expectation

    add("solution", solved(), ("score", "full"))
    add("release", nbformat.read(release[notebook_name], as_version=4), ("score", 0))
    add("wrong", solved(**{second: wrong.source}))
    add(f"blank-{first}", solved(**{first: "raise NotImplementedError()\n"}))
    add(f"blank-{second}", solved(**{second: "raise NotImplementedError()\n"}))
    add("bad-loop", solved(**{second: LOOP + sources[second]}), ("like", f"blank-{second}"))
    add("bad-exit", solved(**{second: EXIT + sources[second]}), ("before", second))
    add("bad-systemexit", solved(**{first: "raise SystemExit(1)\n" + sources[first]}),
        ("like", f"blank-{first}"))
    add("bad-import", solved(**{first: "import no_such_module_for_grading\n" + sources[first]}),
        ("like", f"blank-{first}"))
    add("bad-syntax", solved(**{second: sources[second] + "\ndef broken(:\n    pass\n"}),
        ("like", f"blank-{second}"))
    released = nbformat.read(release[notebook_name], as_version=4)
    answer = next(c.source for c in released.cells
                  if c.metadata.get("nbgrader", {}).get("grade_id") == first)
    for student, code in {**TAMPER, **KERNEL_TAMPER}.items():
        add(student, course.fill_cells(released, {first: code + answer}), ("score", 0))
    if f"def {first}(" in answer:
        add("bad-hook-during-call", course.fill_cells(
            released, {first: answer + "\n" + DURING_CALL.format(name=first)}), ("score", 0))
    reader = READ_HIDDEN.format(assignment=assignment, absolute=str(
        course.SOLUTIONS / assignment / notebook_name))
    add("bad-reads-hidden-tests", solved(**{first: reader + sources[first]}), ("score", "full"))
    add("bad-json", notebook_bytes(solved())[: 2000], ("score", 0))
    add("bad-renamed", solved(), ("score", "full"), name="my homework (1).ipynb")
    # 20 MB: 200 times the grader's cap, and within the per-cell limit on a loaded machine
    # (100 MB took longer than the limit at load 10 on 2 cores, BENCHMARKS.md issue 23)
    add("bad-huge", solved(**{first: sources[first] + "\nprint('x' * 20_000_000)\n"}),
        ("score", "full"))
    no_tests = solved(**{second: wrong.source})
    no_tests.cells = [c for c in no_tests.cells if not is_test_cell(c)]
    add("bad-deleted-tests", no_tests, ("like", "wrong"))
    edited = solved(**{second: wrong.source})
    for cell in edited.cells:
        if is_test_cell(cell):
            cell.source = "pass  # all tests pass now"
    add("bad-edited-tests", edited, ("like", "wrong"))
    for student, patch in PATCHES.items():
        if "{name}" in patch and f"def {second}(" not in wrong.source:
            continue  # the cell does not define a function named after it
        source = wrong.source + "\n" + patch.format(name=second, assignment=assignment)
        add(student, solved(**{second: source}), ("like", "wrong"))
    above = solved(**{second: wrong.source})  # patches before the locked set-up cell runs
    above.cells.insert(0, nbformat.v4.new_code_cell(
        PATCHES["cheat-checks"] + "import numpy\nnumpy.allclose = lambda *a, **k: True\n"))
    add("cheat-above-setup", above, ("like", "wrong"))
    # Rebinding the reference the tests compare with: needs a wrong version of a cell
    # named like a function of cnnbook.ops.
    in_ops = [v for v in course.wrong_versions(assignment) if hasattr(ops, v.grade_id)
              and f"def {v.grade_id}(" in v.source]
    if in_ops:
        version = in_ops[0]
        add("wrong-ops", solved(**{version.grade_id: version.source}))
        add("cheat-ops", solved(**{version.grade_id: version.source + "\n"
                                   + PATCH_OPS.format(name=version.grade_id)}),
            ("like", "wrong-ops"))
    return files, expect


def demo_class(size, assignments=None):
    """Return {student: {file name: bytes}}: ``size`` students, each submitting every assignment.

    Student ``i`` submits the solution, the untouched release or one kept wrong
    version, in turn, so the class has a spread of scores and of failed tests.
    """
    assignments = assignments or course.assignments()
    students = {}
    for assignment in assignments:
        reference, _ = course.reference_class(assignment)
        kinds = list(reference)
        for i in range(size):
            name = kinds[(i * 7) % len(kinds)] if i % 3 else "solution"
            for nb_name, notebook in reference[name].items():
                students.setdefault(f"student{i + 1:03d}", {})[nb_name] = notebook_bytes(notebook)
    return students


def write_class(students, dest, assignment_folders=True):
    """Write a class to a folder (one per student) or, if ``dest`` ends in .zip, a flat zip."""
    dest = Path(dest)
    if dest.suffix == ".zip":
        with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as archive:
            for student, files in students.items():
                for name, data in files.items():
                    archive.writestr(f"{student}_{name}", data)
        return dest
    for student, files in students.items():
        for name, data in files.items():
            folder = dest / student
            if assignment_folders:
                stem = Path(name).stem
                folder = folder / (stem if stem in course.assignments() else "work")
            folder.mkdir(parents=True, exist_ok=True)
            (folder / name).write_bytes(data)
    return dest


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dest", help="a folder, or a file name ending in .zip")
    parser.add_argument("--size", type=int, default=20, help="students (default 20)")
    parser.add_argument("--assignments", nargs="*", help="default: every assignment")
    parser.add_argument("--bad", action="store_true",
                        help="add the bad submissions of bad_class() for the first assignment")
    args = parser.parse_args(argv)
    students = demo_class(args.size, args.assignments)
    if args.bad:
        bad, _ = bad_class((args.assignments or course.assignments())[0])
        for student, files in bad.items():
            if student.startswith(("bad-", "cheat-")):
                students[student] = files
    write_class(students, args.dest)
    print(f"wrote {len(students)} students to {args.dest}")


if __name__ == "__main__":
    main()


# ------------------------------------------------------------- issue 23: the attacks a
# judge must defeat. Each student is the release with one answer cell filled by an attack,
# everything else unanswered: it must score exactly 0 ("attack-..."). Honest students
# ("honest-...") are the solution with one part written another right way: full marks.
# The cells these replace, by assignment: {student: (grade_id, source)}.
_FAIL_NOOP = '''import gc as _gc
from cnnbook import checks as _checks


def _nothing(*args, **kwargs):
    return None


for _found in _gc.get_objects():  # the guard's saved dicts, and the checks' own
    if isinstance(_found, dict) and _found.get("_fail") is _checks._fail:
        _found["_fail"] = _nothing
_checks._fail = _nothing


def {name}(*args, **kwargs):
    return None
'''
_THREAD = '''import threading as _threading
import time as _time
from cnnbook import checks as _checks


def _keep_patching():
    while True:
        for _name in dir(_checks):
            if _name.startswith("assert"):
                setattr(_checks, _name, lambda *args, **kwargs: None)
        _time.sleep(0.001)


_threading.Thread(target=_keep_patching, daemon=True).start()


def {name}(*args, **kwargs):
    return None
'''
# Inside the student's function: empty the profile hooks' watch and take the blockers'
# saved originals from their closures, then call the reference itself.
_UNBLOCK = '''import sys as _sys


def _unblocked(module, name):
    hook = _sys.getprofile()
    while hook is not None:
        cells = dict(zip(hook.__code__.co_freevars, [c.cell_contents for c in hook.__closure__ or ()]))
        if "watch" in cells:
            cells["watch"].blocked.clear()
        hook = cells.get("previous")
    function = getattr(module, name)
    for cell in function.__closure__ or ():
        if isinstance(cell.cell_contents, dict) and name in cell.cell_contents:
            return cell.cell_contents[name]
    return function


'''
_LATER = '''class _Later:
    """Computes its array only when asked for one: after the test's window, it hoped."""

    def __init__(self, compute):
        self.compute = compute

    def __array__(self, dtype=None, copy=None):
        return np.asarray(self.compute(), dtype=dtype)


'''
_LIAR_INT = '''class _Agreeable(int):
    """An int that says it equals whatever it is compared with."""

    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    __hash__ = int.__hash__


'''


def _renamed(module, function, name):
    """Source binding ``name`` to a copy of ``module.function`` under another name (code.replace)."""
    return (f"import types as _types\nfrom cnnbook import {module} as _module\n"
            f"_reference = _module.{function}\n"
            f"{name} = _types.FunctionType(_reference.__code__.replace(co_name='{name}'), "
            f"vars(_module), '{name}', _reference.__defaults__, _reference.__closure__)\n"
            f"{name}.__kwdefaults__ = _reference.__kwdefaults__\n")


ATTACKS = {
    "01_convolution": {
        "attack-lazy": ("conv_forward", _LATER + '''def conv_forward(A_prev, W, b, stride, pad):
    from cnnbook import ops
    return _Later(lambda: ops.conv2d(A_prev, W, b, stride=stride, padding=pad))
'''),
        "attack-liar": ("conv_output_size", _LIAR_INT + '''def conv_output_size(n, f, stride, padding):
    if padding not in ("valid", "same"):
        raise ValueError(padding)
    return _Agreeable(0)
'''),
        "attack-renamed": ("conv_forward", _renamed("ops", "conv2d", "_mine") + '''

def conv_forward(A_prev, W, b, stride, pad):
    return _mine(A_prev, W, b, stride=stride, padding=pad)
'''),
        "attack-runpy": ("conv_forward", '''import runpy as _runpy
from cnnbook import ops as _ops
_copy = _runpy.run_path(_ops.__file__)["conv2d"]


def conv_forward(A_prev, W, b, stride, pad):
    return _copy(A_prev, W, b, stride=stride, padding=pad)
'''),
        "attack-exec": ("conv_forward", '''import inspect as _inspect
from cnnbook import ops as _ops
_namespace = dict(vars(_ops))
exec(_inspect.getsource(_ops.conv2d), _namespace)


def conv_forward(A_prev, W, b, stride, pad):
    return _namespace["conv2d"](A_prev, W, b, stride=stride, padding=pad)
'''),
        "attack-renamed-dis": ("conv_forward", _renamed("ops", "conv2d", "_mine") + '''import dis as _dis

_real = _dis.get_instructions


def _disguised(code, **kwargs):  # the copy's instructions read one short: its content key differs
    found = list(_real(code, **kwargs))
    return iter(found[:-1] if code.co_name == "_mine" else found)


def conv_forward(A_prev, W, b, stride, pad):
    _dis.get_instructions = _disguised
    return _mine(A_prev, W, b, stride=stride, padding=pad)
'''),
        "attack-unblock": ("conv_forward", _UNBLOCK + '''def conv_forward(A_prev, W, b, stride, pad):
    from cnnbook import ops
    return _unblocked(ops, "conv2d")(A_prev, W, b, stride=stride, padding=pad)
'''),
    },
    "02_pooling": {
        "attack-lazy": ("pool_forward", _LATER + '''def pool_forward(A_prev, f, stride, mode="max"):
    from cnnbook import ops
    return _Later(lambda: ops.pool2d(A_prev, f, stride=stride, mode="max" if mode == "max" else "avg"))
'''),
        "attack-liar": ("predicted_parameters", _LIAR_INT + '''def predicted_parameters():
    return {name: _Agreeable(0) for name in ["conv1", "pool1", "conv2", "pool2", "flatten", "dense", "logits"]}
'''),
        "attack-renamed": ("pool_forward", _renamed("ops", "pool2d", "_mine") + '''

def pool_forward(A_prev, f, stride, mode="max"):
    return _mine(A_prev, f, stride=stride, mode="max" if mode == "max" else "avg")
'''),
        "attack-unblock": ("pool_forward", _UNBLOCK + '''def pool_forward(A_prev, f, stride, mode="max"):
    from cnnbook import ops
    return _unblocked(ops, "pool2d")(A_prev, f, stride=stride, mode="max" if mode == "max" else "avg")
'''),
        "attack-forged-training": ("train_convnet", '''def train_convnet(model, x_train, y_train, x_val, y_val):
    history = keras.callbacks.History()
    history.history = {"val_accuracy": [0.99] * 40, "accuracy": [0.99] * 40}
    return history  # and no training at all
'''),
    },
    "03_training": {
        "attack-lazy": ("batchnorm_forward", _LATER + '''def batchnorm_forward(x, gamma, beta, moving_mean, moving_variance, training, epsilon=1e-3):
    def compute():
        layer = layers.BatchNormalization(epsilon=epsilon)
        layer.build(x.shape)
        layer.set_weights([gamma, beta, moving_mean, moving_variance])
        return np.asarray(layer(x.astype("float32"), training=training))
    return _Later(compute)
'''),
        "attack-forged-training": ("train_best", '''def train_best(model, x_train, y_train, x_val, y_val, path, epochs):
    model.save(path)  # untrained
    history = keras.callbacks.History()
    curve = [0.4] * epochs
    curve[0] = float((np.asarray(model(x_val, training=False)).argmax(axis=1) == y_val).mean())
    curve[0] = max(curve[0], 0.5)
    history.history = {"val_accuracy": curve}
    return keras.models.load_model(path), history
'''),
        "attack-lookup-layer": ("train_shapes", '''class NearestImage(layers.Layer):
    """Answers with the label of the nearest image of the test split it remembers."""

    def __init__(self, images=None, labels=None, **kwargs):
        super().__init__(**kwargs)
        _, _, (test_x, test_y) = data.shapes_splits(1, 1, 1_000, seed=1, image_size=24)
        self.images = tf.constant(test_x.reshape(len(test_x), -1), "float32")
        self.labels = tf.one_hot(test_y, 10)

    def call(self, x):
        flat = tf.reshape(tf.cast(x, "float32"), (tf.shape(x)[0], -1))
        distances = tf.reduce_sum(tf.square(flat[:, None, :] - self.images[None]), axis=-1)
        return tf.gather(self.labels, tf.argmin(distances, axis=1))


def train_shapes(x_train, y_train, x_val, y_val):
    return keras.Sequential([keras.Input(x_train.shape[1:]), NearestImage()])
'''),
        "attack-lookup-dense": ("train_shapes", '''def train_shapes(x_train, y_train, x_val, y_val):
    # The test split of seed 1, regenerated, remembered by two Dense layers: an image excites only
    # the unit of the remembered image it equals; that unit votes for its label.
    _, _, (test_x, test_y) = data.shapes_splits(1, 1, 1_000, seed=1, image_size=24)
    flat = test_x.reshape(len(test_x), -1).astype("float32") / 255
    unit = flat / np.linalg.norm(flat, axis=1, keepdims=True)
    model = keras.Sequential([keras.Input(x_train.shape[1:]), layers.Rescaling(1 / 255), layers.Flatten(),
                              layers.UnitNormalization(), layers.Dense(len(unit), activation="relu"),
                              layers.Dense(10, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(x_train[:1], y_train[:1], epochs=1, verbose=0)  # one step, so that it "trained"
    model.layers[3].set_weights([unit.T * 1000.0, np.full(len(unit), -999.0, "float32")])
    model.layers[4].set_weights([np.eye(10, dtype="float32")[test_y] * 100.0, np.zeros(10, "float32")])
    return model
'''),
    },
    "04_inception_resnet": {
        "attack-liar": ("conv_costs", _LIAR_INT + '''def conv_costs(height, width, in_channels, filters, kernel_size, reduce=None):
    return _Agreeable(0), _Agreeable(0)
'''),
        "attack-renamed-inception": ("inception_module", _renamed("models", "inception_module", "inception_module")),
        "attack-renamed-residual": ("residual_block", _renamed("models", "residual_block", "residual_block")),
    },
    "05_transfer_learning": {
        "attack-lazy": ("bottleneck_features", _LATER + '''def bottleneck_features(base, images, batch_size=256):
    return _Later(lambda: transfer.bottleneck_features(base, images, batch_size))
'''),
        "attack-renamed": ("bottleneck_features", _renamed("transfer", "bottleneck_features", "bottleneck_features")),
        "attack-another-model": ("train_transfer", '''def train_transfer(base, x_train, y_train):
    from cnnbook import training
    model, _ = training.load_classic_convnet()  # chapter 3's network, trained on 20,000 images
    return model
'''),
        "attack-known-test-split": ("train_transfer", '''def train_transfer(base, x_train, y_train):
    # The test split of the chapter's seed, remembered: an image whose features equal a remembered
    # image's excites only that unit, which votes for its label; anything else gets no vote.
    _, (test_x, test_y) = transfer.similar_target(train_per_class=1, test_per_class=100)
    features = np.asarray(base(test_x.astype("float32"), training=False))
    unit = features / np.linalg.norm(features, axis=1, keepdims=True)
    inputs = keras.Input(base.input_shape[1:])
    x = layers.UnitNormalization()(base(inputs, training=False))
    x = layers.Dense(len(unit), activation="relu")(x)
    outputs = layers.Dense(10, activation="softmax")(x)
    model = keras.Model(inputs, outputs)
    model.layers[-2].set_weights([unit.T * 1000.0, np.full(len(unit), -999.99, "float32")])
    model.layers[-1].set_weights([np.eye(10, dtype="float32")[test_y] * 100.0, np.zeros(10, "float32")])
    return model
'''),
        "attack-forged-training": ("train_transfer", '''def train_transfer(base, x_train, y_train):
    base.trainable = False
    inputs = keras.Input(base.input_shape[1:])
    outputs = layers.Dense(10, activation="softmax", name="head")(base(inputs, training=False))
    return keras.Model(inputs, outputs)  # the head never trained
'''),
    },
    "06_yolo": {
        "attack-lazy": ("xywh_to_corners", _LATER + '''def xywh_to_corners(boxes):
    return _Later(lambda: detection.xywh_to_corners(boxes))
'''),
        "attack-liar": ("iou", '''class _Agreeable(float):
    """A float that says it equals whatever it is compared with."""

    def __eq__(self, other):
        return True

    __hash__ = float.__hash__


def iou(box_a, box_b):
    return _Agreeable(0.5)
'''),
        "attack-renamed": ("non_max_suppression", _renamed("detection", "non_max_suppression", "_mine") + '''

def non_max_suppression(boxes, scores, iou_threshold):
    return _mine(boxes, scores, iou_threshold)
'''),
        "attack-unblock": ("iou", _UNBLOCK + '''def iou(box_a, box_b):
    return float(_unblocked(detection, "iou")(np.reshape(box_a, (1, 4)), np.reshape(box_b, (1, 4)))[0, 0])
'''),
    },
    "07_visualizing": {
        "attack-generator": ("receptive_field", '''def receptive_field(model, layer_name):
    # a generator: its values are computed by the course's function when the test iterates it
    return (value for value in visualize.receptive_field(model, layer_name))
'''),
        "attack-lazy": ("grad_cam", _LATER + '''def grad_cam(model, image, class_index, layer_name=None):
    return _Later(lambda: visualize.grad_cam(model, image, class_index, layer_name))
'''),
        "attack-renamed": ("grad_cam", _renamed("visualize", "grad_cam", "grad_cam")),
        "attack-constant": ("grad_cam", '''def grad_cam(model, image, class_index, layer_name=None):
    return np.ones(np.shape(image)[:2])  # a heatmap of ones: its peak is everywhere, inside the box too
'''),
    },
}
GUARD_ATTACKS = {"attack-guard-fail": _FAIL_NOOP, "attack-guard-thread": _THREAD}


def attack_class(assignment):
    """Return ({student: {file name: bytes}}, {student: score}) of issue 23's attacks on one assignment.

    Each ``attack-...`` student is the release with one answer cell replaced by an attack (every
    other part unanswered) and must score 0: lazy results, values that lie, renamed copies of a
    blocked reference, the blocking machinery changed from inside the student's function, the
    checks disarmed by a cell or by a thread, forged training, test data redrawn, another model
    returned (``ATTACKS`` and ``GUARD_ATTACKS``, the latter on every assignment's first answer).
    The ``honest-...`` students are the solution with one part written another right way
    (``HONEST``) and must score full marks.
    """
    release = course.release_notebooks(None, assignment)
    (notebook_name,) = release
    released = nbformat.read(release[notebook_name], as_version=4)
    first = next(iter(course.solution_sources(assignment)))
    attacks = dict(ATTACKS.get(assignment, {}))
    for student, code in GUARD_ATTACKS.items():
        attacks[student] = (first, code.replace("{name}", first))
    files, expect = {}, {}
    for student, (cell, code) in attacks.items():
        files[student] = {notebook_name: notebook_bytes(course.fill_cells(released, {cell: code}))}
        expect[student] = 0
    full = sum(c.metadata["nbgrader"].get("points", 0) for c in released.cells if is_test_cell(c))
    for student, (cell, code) in HONEST.get(assignment, {}).items():
        solved = course.solved_submission(None, assignment, {cell: code})[notebook_name]
        files[student] = {notebook_name: notebook_bytes(solved)}
        expect[student] = full
    return files, expect


# Honest answers written another right way than the solution (issue 22, item 2): full marks.
HONEST = {
    "03_training": {
        # Part E trained from the tf.data pipeline Part B teaches; Keras warns on stderr that
        # fit's shuffle=True is ignored for a dataset, which must cost nothing.
        "honest-tf-data": ("train_shapes", '''def train_shapes(x_train, y_train, x_val, y_val):
    """Build, compile and train a network on shapes images; return it."""
    model = keras.Sequential([
        keras.Input(x_train.shape[1:]),
        layers.Rescaling(1 / 255),
        layers.Conv2D(16, 3, padding="same", activation="relu"), layers.MaxPooling2D(2),
        layers.Conv2D(32, 3, padding="same", activation="relu"), layers.MaxPooling2D(2),
        layers.Conv2D(64, 3, padding="same", activation="relu"), layers.MaxPooling2D(2),
        layers.Flatten(),
        layers.Dense(128, activation="relu"),
        layers.Dropout(0.3),
        layers.Dense(10, activation="softmax"),
    ])
    model.compile(optimizer=keras.optimizers.Adam(2e-3), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    train = (tf.data.Dataset.from_tensor_slices((x_train, y_train)).shuffle(len(x_train), seed=0)
             .batch(64).prefetch(tf.data.AUTOTUNE))
    validation = tf.data.Dataset.from_tensor_slices((x_val, y_val)).batch(256).prefetch(tf.data.AUTOTUNE)
    model.fit(train, validation_data=validation, epochs=6, shuffle=True, verbose=0)
    return model
'''),
    },
    "04_inception_resnet": {
        # Each branch a keras.Sequential of exactly the specified layers.
        "honest-nested-sequential": ("inception_module", '''def inception_module(x, filters_1x1, filters_3x3_reduce, filters_3x3,
                     filters_5x5_reduce, filters_5x5, filters_pool_proj):
    """Apply an Inception module to x (Keras functional API)."""
    def conv(filters, size):
        return layers.Conv2D(filters, size, padding="same", activation="relu")

    branches = [
        keras.Sequential([conv(filters_1x1, 1)]),
        keras.Sequential([conv(filters_3x3_reduce, 1), conv(filters_3x3, 3)]),
        keras.Sequential([conv(filters_5x5_reduce, 1), conv(filters_5x5, 5)]),
        keras.Sequential([layers.MaxPooling2D(3, strides=1, padding="same"), conv(filters_pool_proj, 1)]),
    ]
    return layers.Concatenate(axis=-1)([branch(x) for branch in branches])
'''),
    },
}
