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
printing 100 MB, and (issue 13) releases that only add an attack: on the course's
files (``TAMPER``: appending no-op checks to cnnbook/checks.py, rewriting the other
students' notebooks) or on the kernel (``KERNEL_TAMPER``: input and AST transformers,
a custom exception handler, class-level traceback and session patches, sys hooks, an
event callback, and a hook installed from inside the function the tests call), and
(issue 22) a student reading the hidden tests by every route (``READ_HIDDEN``: paths
relative to the kernel's folder, from ``cnnbook.__file__``, the course's absolute path,
every notebook and gradebook it can list; with ``open``, NumPy and ``tf.io``).
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
# route a student has and prints every block it finds. Under bubblewrap it finds none
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
_found = 0

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
    add("bad-huge", solved(**{first: sources[first] + "\nprint('x' * 100_000_000)\n"}),
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
