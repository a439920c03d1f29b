"""Grade a class: from a folder or zip of submissions to grades, feedback and a report.

    make grade SUBMISSIONS=path/to/submissions.zip          # or a folder
    python tools/grade.py SUBMISSIONS [--out grading] [--jobs 2] [--timeout 120]
    python tools/grade.py SUBMISSIONS --scheduler tcp://HOST:8786   # on a Dask cluster

Submissions may come as one folder per student (``alice/01_convolution/01_convolution.ipynb``
or ``alice/01_convolution.ipynb``) or as flat files named like nbgrader's
``zip_collect`` output, ``<student_id>_<file_id>.ipynb`` (change the pattern with
``--named-regexp``, whose groups are ``student_id`` and ``file_id`` as in nbgrader's
``FileNameCollector``). A notebook is matched to its assignment by the grade ids of
its cells, so a renamed notebook is still graded; a file that is not a valid notebook
is matched by its name and scores 0 with the reason in the report.

Writes, under ``--out`` (default ``grading/``):

``grades.csv``
    ``nbgrader export`` of the gradebook.
``feedback/<student>/<assignment>/<notebook>.html``
    nbgrader feedback: visible tests' messages, hidden tests' code removed.
``report.html``
    score distribution per assignment and, first, every test cell with the share
    of students failing it; submissions that need a look.
``results.json``
    everything the report shows, for scripts; ``"sandbox"`` says how the kernels ran
    (tools/sandbox.py: ``bubblewrap``, or the fallback ``unprivileged user``, or ``none``,
    as each worker stated it; ``mixed`` when the workers differed).
``course/``
    the nbgrader course (``gradebook.db``, ``submitted/``, ``autograded/``,
    ``feedback/``): open it with nbgrader's formgrader for manual grading.

Students are graded in parallel by the workers of a Dask cluster (tools/dispatch.py):
a LocalCluster of ``--jobs`` processes on this machine, or the cluster whose scheduler
``--scheduler`` names. Each worker has its own copy of the course and gradebook and one
grading process (``Worker``: nbgrader and one kernel at a time); a task sends a
submission's bytes and brings back its grades, autograded notebook and feedback. This
process alone writes the course's gradebook. A submission is done once its grades are
committed together with its row in the ``cnnbook_graded`` table (a digest of its
notebooks, and the worker that graded it). A run that is interrupted (Ctrl-C, a crash)
resumes where it stopped: a done submission whose notebooks are unchanged is not graded
again, one the grader failed on is. A change of the grader (solutions, plugins,
cnnbook, timeout) stops the run until ``--regrade``. Local workers and grading
processes kill themselves when the run dies. Nothing in ``SUBMISSIONS`` is modified.

Testing hook: ``CNNBOOK_GRADE_KILL_AFTER=N`` makes the run kill itself (SIGKILL)
right after merging its N-th submission.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import hashlib
import json
import os
import queue
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parent))
import course  # noqa: E402
import nbgrader_plugins  # noqa: E402
import report  # noqa: E402

COURSE_ID = "cnn-course"
MARKS = "cnnbook_graded"  # table in the gradebook: which submissions are merged, and from what
FALLBACK_REGEXP = r"(?P<student_id>[^_/]+)_(?P<file_id>.+)"
SKIP_PARTS = {"__MACOSX", ".ipynb_checkpoints"}
RETRY = "retry"  # the digest recorded for a submission whose grading failed: graded again next run
# Everything that changes grades besides the submissions: a change means --regrade.
GRADER_FILES = ("nbgrader_config.py", "tools/nbgrader_plugins.py", "tools/judge.py", "tools/course.py",
                "src/cnnbook/*.py", "requirements.lock")


# Everything a kernel could change to change how another submission is graded, checked
# before and after every submission and put back when it changed (FileGuard): the package
# the kernels import (with any file added under src/, such as a sitecustomize.py, and its
# __pycache__), the course's config and tools, the source and release notebooks.
GUARDED = ("nbgrader_config.py", "requirements.lock", "src", "tools", "solutions", "exercises")
# A worker's gradebook tables that define the assignments (what SaveAutoGrades scores against).
DEFINITIONS = ("assignment", "notebook", "base_cell", "grade_cells", "solution_cells",
               "task_cells", "source_cell")


class FileGuard:
    """A snapshot of files, in memory; ``check`` puts back what changed and names it.

    ``roots`` maps a label (how the report names a place) to a folder; ``names`` are
    the files and folders under each root to guard (everything under a folder, files
    added later included). ``saved`` is a snapshot taken earlier ({path: (label, bytes)}),
    instead of the files as they are now.
    """

    def __init__(self, roots, names, saved=None):
        self.places = [(label, Path(root), names) for label, root in roots.items()]
        self.saved = self._read() if saved is None else saved

    def _read(self):
        found = {}
        for label, root, names in self.places:
            for name in names:
                path = root / name
                paths = [path] if path.is_file() else sorted(
                    p for p in path.rglob("*") if p.is_file()) if path.is_dir() else []
                for file in paths:
                    found[file] = (label, file.read_bytes())
        return found

    def check(self):
        """Restore every changed, deleted or added file; return what changed ("label: path")."""
        now, changed = self._read(), []
        for file, (label, data) in self.saved.items():
            if now.get(file, (label, None))[1] != data:
                file.parent.mkdir(parents=True, exist_ok=True)
                if file.is_symlink() or file.is_dir():
                    shutil.rmtree(file, ignore_errors=True) if file.is_dir() else file.unlink()
                file.write_bytes(data)
                changed.append(f"{label}: {self._name(file)}")
        for file, (label, _) in now.items():
            if file not in self.saved:
                file.unlink(missing_ok=True)
                changed.append(f"{label}: {self._name(file)} (added)")
        return changed

    def _name(self, file):
        for _, root, _ in self.places:
            if file.is_relative_to(root):
                return str(file.relative_to(root))
        return str(file)


def definitions(db_path):
    """The rows of a gradebook's tables that define the assignments, for comparison."""
    import sqlite3

    with contextlib.closing(sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)) as db:
        return {table: sorted(map(repr, db.execute(f"SELECT * FROM {table}")))
                for table in DEFINITIONS}


# ------------------------------------------------------------------- collection
@dataclass
class Submission:
    """One student's files for one assignment, as collected (nothing graded yet)."""

    student: str
    assignment: str
    notebooks: dict = field(default_factory=dict)  # release notebook name -> bytes
    problems: list = field(default_factory=list)
    exact: set = field(default_factory=set)  # notebooks submitted under their own name

    def digest(self):
        h = hashlib.sha256()
        for name in sorted(self.notebooks):
            h.update(name.encode() + b"\0" + self.notebooks[name] + b"\0")
        return h.hexdigest()


def _grade_id(cell):
    """A cell's nbgrader grade id, or None (also for malformed metadata)."""
    meta = cell.get("metadata", {}).get("nbgrader") if isinstance(cell, dict) else None
    grade_id = meta.get("grade_id") if isinstance(meta, dict) else None
    return grade_id if isinstance(grade_id, str) else None


def assignment_notebooks(assignment_names):
    """Return {(assignment, notebook name): set of grade ids} of the source notebooks."""
    return {
        (assignment, path.name): {_grade_id(c) for c in nbformat.read(path, 4).cells} - {None}
        for assignment in assignment_names for path in course.source_notebooks(assignment)
    }


def default_regexp(spec):
    """zip_collect names ``<student_id>_<file_id>``, where file_id starts with a notebook's name."""
    stems = sorted({Path(nb).stem for _, nb in spec} | {a for a, _ in spec}, key=len, reverse=True)
    alternatives = "|".join(re.escape(stem) for stem in stems)
    return rf"(?P<student_id>.+?)_(?P<file_id>(?:{alternatives}).*)"


def _match_by_name(path, spec):
    """Match a file to (assignment, notebook) by the names in its path, or None."""
    text = "/".join(path.parts).lower()
    for (assignment, notebook) in spec:
        if Path(notebook).stem.lower() in text or assignment.lower() in text:
            return assignment, notebook
    return None


def _match_by_cells(notebook, spec):
    """Match a valid notebook to (assignment, notebook) by its cells' grade ids, or None."""
    ids = {_grade_id(c) for c in notebook.cells} - {None}
    best = max(spec, key=lambda key: len(ids & spec[key]), default=None)
    if best is None or not ids & spec[best]:
        return None
    return best


def _read_notebook(data):
    """Return (notebook, None) if ``data`` is a valid notebook, else (None, why not)."""
    try:
        notebook = nbformat.reads(data.decode("utf-8"), as_version=4)
        nbformat.validate(notebook)
        for cell in notebook.cells:  # nbgrader reads these; the schema does not check them
            meta = cell.metadata.get("nbgrader", {})
            if not isinstance(meta, dict) or not isinstance(meta.get("grade_id", ""), str):
                raise ValueError("a cell's nbgrader metadata is malformed")
    except Exception as error:  # noqa: BLE001 - any reason makes it ungradable
        text = str(error).splitlines()[0][:200] if str(error) else ""
        return None, f"{type(error).__name__}: {text}"
    return notebook, None


def _safe_id(student):
    """True for a student id that is safe as a folder name."""
    return bool(student) and not student.startswith(".") and "/" not in student \
        and "\\" not in student and student == student.strip()


def _read_files(source):
    """Return {relative path: bytes} of the notebooks in a folder or zip."""
    source = Path(source)
    files = {}
    if source.is_file() and zipfile.is_zipfile(source):
        with zipfile.ZipFile(source) as archive:
            for info in archive.infolist():
                path = Path(info.filename)
                if info.is_dir() or path.suffix != ".ipynb" or path.is_absolute() \
                        or ".." in path.parts:
                    continue
                files[path] = archive.read(info)
    elif source.is_dir():
        for path in sorted(source.rglob("*.ipynb")):
            files[path.relative_to(source)] = path.read_bytes()
    else:
        raise SystemExit(f"{source}: not a folder or a zip file of submissions")
    return files


def _strip_container(files, spec):
    """Look inside a folder or zip that holds one folder of the whole class.

    ``class/alice/...`` or ``class/bob_01_convolution.ipynb`` become ``alice/...``
    and ``bob_01_convolution.ipynb``; not when the one folder is a student's, that is
    when the names inside it are those of assignments or notebooks.
    """
    if not files or any(len(p.parts) < 2 for p in files) or len({p.parts[0] for p in files}) > 1:
        return files
    names = {a.lower() for a, _ in spec} | {Path(nb).stem.lower() for _, nb in spec}
    if any(Path(p.parts[1]).stem.lower() in names for p in files):
        return files
    return {Path(*p.parts[1:]): data for p, data in files.items()}


def _flat_students(paths, patterns, named):
    """Return {path: (student, file name, guessed)} for flat files, or None where none fits.

    With the default patterns, a name that does not start with a notebook's name
    after the student id (a renamed notebook) takes the longest student id already
    seen in the class that prefixes it, else the part before the first underscore
    (``guessed``).
    """
    found = {}
    for path in paths:
        match = patterns[0].fullmatch(path.stem)
        found[path] = (match.group("student_id"), match.group("file_id") + ".ipynb", False) \
            if match else None
    if named:
        return found
    known = sorted({v[0] for v in found.values() if v}, key=len, reverse=True)
    for path, value in found.items():
        if value is None:
            prefix = next((k for k in known if path.stem.startswith(k + "_")), None)
            if prefix:
                found[path] = (prefix, path.stem[len(prefix) + 1:] + ".ipynb", False)
            elif (match := patterns[1].fullmatch(path.stem)):
                found[path] = (match.group("student_id"), match.group("file_id") + ".ipynb", True)
    return found


def collect(source, assignment_names, named_regexp=None, with_students=False):
    """Read a folder or zip of submissions; return ({(student, assignment): Submission}, [skipped]).

    With ``with_students``, also return every student id seen, including students
    none of whose files is a notebook of an assignment. The files are only read:
    ``source`` is never modified.
    """
    spec = assignment_notebooks(assignment_names)
    patterns = [re.compile(named_regexp)] if named_regexp else [
        re.compile(default_regexp(spec)), re.compile(FALLBACK_REGEXP)]
    submissions, unmatched, seen = {}, [], set()
    files = _strip_container(_read_files(source), spec)
    files = {rel: data for rel, data in files.items()
             if not (SKIP_PARTS & set(rel.parts) or rel.name.startswith("."))}
    flat = _flat_students([rel for rel in files if len(rel.parts) == 1], patterns,
                          named=bool(named_regexp))
    for rel, data in sorted(files.items()):
        guessed = False
        if len(rel.parts) > 1:
            student, inner = rel.parts[0], Path(*rel.parts[1:])
        elif flat[rel] is None:
            unmatched.append(f"{rel}: its name does not match <student_id>_<file_id>")
            continue
        else:
            student, name, guessed = flat[rel]
            inner = Path(name)
        if not _safe_id(student):
            unmatched.append(f"{rel}: {student!r} cannot be a student id")
            continue
        seen.add(student)
        notebook, broken = _read_notebook(data)
        key = (_match_by_cells(notebook, spec) if notebook else None) or _match_by_name(inner, spec)
        if key is None:
            unmatched.append(f"{rel}: not a notebook of any assignment")
            continue
        assignment, name = key
        sub = submissions.setdefault((student, assignment), Submission(student, assignment))
        if guessed:
            sub.problems.append(f"the student id {student!r} was guessed from the file name {rel}")
        if broken:
            sub.problems.append(f"{inner} is not a valid notebook ({broken}): it scores 0")
            continue
        exact = inner.name == name
        if name in sub.notebooks:
            if name in sub.exact or not exact:  # keep the file with the notebook's own name
                sub.problems.append(f"more than one file for {name}: {inner} was not graded")
                continue
            sub.problems.append(f"more than one file for {name}: graded {inner}")
        elif not exact:
            sub.problems.append(f"{inner} was graded as {name} (recognised by its cells)")
        sub.notebooks[name] = data
        if exact:
            sub.exact.add(name)
    for (student, assignment), sub in submissions.items():
        for (a, name) in spec:
            if a == assignment and name not in sub.notebooks and not any(
                    "not a valid" in p for p in sub.problems):
                sub.problems.append(f"{name} is missing: it scores 0")
    if with_students:
        return submissions, unmatched, sorted(seen)
    return submissions, unmatched


def tampering(sub, release_dir):
    """Return notes on test cells the student edited or deleted (nbgrader restores them)."""
    notes = []
    for name, data in sub.notebooks.items():
        release = release_dir / sub.assignment / name
        if not release.exists():
            continue
        tests = {_grade_id(c): c.source for c in nbformat.read(release, as_version=4).cells
                 if nbgrader_plugins.is_test_cell(c)}
        submitted = {_grade_id(c): c.source
                     for c in nbformat.reads(data.decode("utf-8"), as_version=4).cells}
        edited = sorted(k for k in tests if k in submitted and submitted[k] != tests[k])
        deleted = sorted(k for k in tests if k not in submitted)
        if edited:
            notes.append(f"test cells edited, graded as released: {', '.join(edited)}")
        if deleted:
            notes.append(f"test cells deleted, put back before grading: {', '.join(deleted)}")
    return notes


# What no guard stops is flagged for a person: answer code that reaches for the kernel,
# the grader, the machinery of the checks or files. Read from the syntax tree, so comments
# and strings do not count (issue 23, item 5).
REACHING_NAMES = {"get_ipython", "inspect", "gc", "ctypes", "builtins", "__builtins__",
                  "subprocess", "os", "pathlib", "shutil", "open", "setattr", "delattr",
                  "globals", "vars", "__import__", "importlib", "threading", "_thread", "signal",
                  "exec", "eval", "compile", "runpy", "__file__", "io", "codecs", "glob",
                  "fileinput", "mmap", "socket", "urllib", "multiprocessing", "concurrent",
                  "atexit", "weakref", "sysconfig", "site", "marshal", "pickle", "dill", "zmq",
                  "ipykernel", "jupyter_client", "dis", "opcode", "types"}
REACHING_ATTRIBUTES = {"_getframe", "settrace", "setprofile", "__code__", "__subclasses__",
                       "__globals__", "__builtins__", "__dict__", "f_back", "f_globals",
                       "f_locals", "gi_frame", "tb_frame", "__mro__", "__bases__", "__closure__",
                       "cell_contents", "co_code", "co_consts", "co_names", "__func__",
                       "__wrapped__", "__self__", "__file__", "__loader__", "__spec__",
                       "_current_frames", "settrace_all_threads", "setprofile_all_threads",
                       "getprofile", "gettrace",
                       "monitoring", "read_text", "read_bytes", "gfile", "read_file",
                       "fromfile", "loadtxt", "genfromtxt", "memmap", "fromregex", "open"}
# NumPy's and TensorFlow's readers of files, reached as an attribute of the module.
READERS = {"np": {"load"}, "numpy": {"load"}, "tf": {"io"}, "tensorflow": {"io"}}
# A class defining one of these makes objects that can answer a test falsely or lazily.
LYING_METHODS = {"__eq__", "__ne__", "__array__", "__array_interface__", "__array_ufunc__",
                 "__array_function__", "__iter__", "__next__", "__index__", "__float__",
                 "__int__", "__bool__", "__instancecheck__", "__class_getitem__"}


def _is_dunder_or_computed(node):
    """True unless ``node`` is a string constant that is not a dunder name."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value.startswith("__") or node.value.startswith("co_")
    return True


def reaching_lines(source):
    """Return [(line number, why)] of the lines of ``source`` that reach beyond the answer."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            imported |= {(a.asname or a.name).split(".")[0] for a in node.names}
            if isinstance(node, ast.ImportFrom) and node.module:
                imported.add(node.module.split(".")[0])
    found = []
    for node in ast.walk(tree):
        why = None
        if isinstance(node, ast.Name) and node.id in REACHING_NAMES:
            why = node.id
        elif isinstance(node, ast.alias) and node.name.split(".")[0] in REACHING_NAMES | {"sys"}:
            why = f"import {node.name}"
        elif isinstance(node, ast.ImportFrom) and node.module and \
                node.module.split(".")[0] in REACHING_NAMES | {"sys"}:
            why = f"from {node.module} import"
        elif isinstance(node, ast.Attribute) and node.attr in REACHING_ATTRIBUTES:
            why = node.attr
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and \
                node.attr in READERS.get(node.value.id, ()):
            why = f"{node.value.id}.{node.attr}"
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, (ast.Store, ast.Del)):
            base = node.value
            while isinstance(base, ast.Attribute):
                base = base.value
            if isinstance(base, ast.Name) and (base.id in imported or base.id[:1].isupper()
                                                 or base.id in ("np", "tf", "keras")):
                why = f"sets {ast.unparse(node)}"
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and \
                node.func.id in ("getattr", "hasattr") and len(node.args) >= 2 and \
                _is_dunder_or_computed(node.args[1]):
            why = f"{node.func.id} with a computed or special name"
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and \
                node.func.attr == "replace" and any((k.arg or "").startswith("co_") for k in node.keywords):
            why = "code.replace"
        elif isinstance(node, ast.ClassDef):
            methods = sorted(n.name for n in node.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))
                             and n.name in LYING_METHODS)
            if methods:
                why = f"a class defining {', '.join(methods)}"
        if why and hasattr(node, "lineno"):
            found.append((node.lineno, why))
    return sorted(set(found))


def release_lines(release_dir, assignment):
    """Every line of an assignment's released notebooks, stripped (the course's own code)."""
    return {line.strip() for path in sorted((Path(release_dir) / assignment).glob("*.ipynb"))
            for cell in nbformat.read(path, as_version=4).cells for line in cell.source.splitlines()}


def reaching(sub, course_lines=frozenset()):
    """Notes naming the answer lines of a submission that reach for the kernel or the grader.

    Lines the release already holds (``course_lines``) are the course's, not the student's.
    """
    notes = []
    for name, data in sub.notebooks.items():
        try:
            cells = nbformat.reads(data.decode("utf-8"), as_version=4).cells
        except Exception:  # noqa: BLE001 - not a notebook: reported elsewhere
            continue
        for index, cell in enumerate(cells):
            if not nbgrader_plugins.is_student_cell(cell) or nbgrader_plugins.is_test_cell(cell):
                continue
            lines = cell.source.splitlines()
            for number, why in reaching_lines(cell.source):
                where = _grade_id(cell) or f"cell {index + 1}"
                text = lines[number - 1].strip() if number <= len(lines) else ""
                if text in course_lines:
                    continue
                text = text[:120]
                notes.append(f"reaches for the kernel or the grader ({why}): {where}, "
                             f"line {number}: {text}")
    return notes[:20]


# ----------------------------------------------------------------------- worker
def _api(course_dir):
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader("nbgrader_config.py", path=str(course_dir)).load_config()
    return NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)


STOPS = {
    "CellTimeoutError": "a cell ran past the time limit",
    "DeadKernelError": "a cell killed the kernel",
    "GraderError": "a cell tampered with the kernel or the modules the tests use",
}


def _notebook_problems(path):
    """Problems visible in an autograded notebook's outputs, and where the judge and kernel differ."""
    problems = []
    notebook = nbformat.read(path, as_version=4)
    notes = notebook.metadata.get("cnnbook", {}).get("judge", {})
    for row in notes.get("disagree", []):
        problems.append(f"{path.stem}: the notebook's own checks and the grader's judge disagree on "
                        f"{row.get('test')} (notebook: {row.get('kernel')}, grader: {row.get('judge')}): "
                        "the grader's verdict counts")
    for row in notes.get("unused", []):
        problems.append(f"{path.stem}: the notebook recorded {row.get('records')} more results of "
                        f"{row.get('test')} than the test asked for")
    for index, cell in enumerate(notebook.cells):
        name = cell.metadata.get("nbgrader", {}).get("grade_id", f"cell {index + 1}")
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error" and output.get("ename") in STOPS:
                problems.append(f"{path.stem}: {STOPS[output.ename]} ({name})")
            text = output.get("text", "")
            if "truncated by the grader" in text:
                problems.append(f"{path.stem}: output truncated ({name})")
    return problems


def grade_one(api, course_dir, task):
    """Autograde one submission in this worker's course; return what the gradebook says."""
    from nbgrader.api import Gradebook

    student, assignment = task["student"], task["assignment"]
    course_dir = Path(course_dir)
    for sub in ("submitted", "autograded", "feedback"):
        shutil.rmtree(course_dir / sub / student / assignment, ignore_errors=True)
    folder = course_dir / "submitted" / student / assignment
    folder.mkdir(parents=True)
    for name, text_ in task["notebooks"].items():  # sent with the task: no file to tamper with
        (folder / name).write_text(text_, encoding="utf-8")
    started = time.perf_counter()
    nbgrader_plugins.applied.clear()  # how its kernels run (tools/sandbox.py), reported below
    log = api.autograde(assignment, student, force=True, create=True)
    feedback = api.generate_feedback(assignment, student, force=True) if log["success"] else {}
    cells, problems = {}, []
    with Gradebook(f"sqlite:///{course_dir / 'gradebook.db'}", COURSE_ID) as gb:
        submission = gb.find_submission(assignment, student)
        for notebook in submission.notebooks:
            for grade in notebook.grades:
                cells[grade.name] = [grade.auto_score, grade.manual_score, grade.extra_credit,
                                     bool(grade.needs_manual_grade), grade.max_score,
                                     notebook.name]
    autograded = course_dir / "autograded" / student / assignment
    for path in sorted(autograded.glob("*.ipynb")):
        problems += _notebook_problems(path)
    if not log["success"]:
        text = "\n".join(filter(None, (log.get("log"), log.get("error"))))
        guard = [line for line in text.splitlines() if "GuardError: " in line]
        last = guard[-1:] or text.strip().splitlines()[-1:]
        problems.append("nbgrader could not grade it (graded again next run): "
                        + " ".join(line.strip() for line in last))
    if feedback and not feedback.get("success"):
        problems.append("nbgrader could not write its feedback")
    return {"student": student, "assignment": assignment, "cells": cells, "problems": problems,
            "seconds": round(time.perf_counter() - started, 2), "failed": not log["success"],
            "sandbox": sorted(set(nbgrader_plugins.applied)),
            "autograded": str(autograded),
            "feedback": str(course_dir / "feedback" / student / assignment)}


def _exit_with_parent():
    """Kill this worker (and so, through their parent poller, its kernels) if the run dies."""
    parent = os.getppid()
    while True:
        time.sleep(1)
        if os.getppid() != parent:
            os.killpg(0, signal.SIGKILL)


def worker(course_dir, result_fd):
    """Grade the tasks read from stdin (JSON lines); write one result line per task.

    Results go to ``result_fd``, a pipe that the kernels do not inherit (they do
    inherit stdout, so a notebook could write there), tagged with the task's nonce.
    """
    threading.Thread(target=_exit_with_parent, daemon=True).start()
    os.set_inheritable(result_fd, False)
    out = os.fdopen(result_fd, "w")
    api = _api(course_dir)
    for line in sys.stdin:
        task = json.loads(line)
        try:
            result = grade_one(api, course_dir, task)
        except Exception as error:  # noqa: BLE001 - reported, the class goes on
            result = failure(task, f"grading failed: {type(error).__name__}: {error}")
        result["nonce"] = task["nonce"]
        out.write(json.dumps(result) + "\n")
        out.flush()


def failure(task, why, seconds=0):
    """The result of a submission the grader could not grade (graded again next run)."""
    return {"student": task["student"], "assignment": task["assignment"], "cells": {},
            "seconds": seconds, "problems": [why], "failed": True}


class Worker:
    """A grading process with its own copy of the course; killed and restarted on a hang.

    Each Dask worker has one (dispatch.GradingPlugin): nbgrader and the kernels run in
    it, not in the Dask worker, which a submission can then never take down.
    """

    def __init__(self, template, folder, env):
        self.template, self.folder, self.env = template, Path(folder), env
        self.process = self.guard = None
        self.definitions = definitions(Path(template) / "gradebook.db")

    def check(self):
        """After a submission: restore this worker's course files and gradebook; say what changed."""
        changed = self.guard.check() if self.guard else []
        db = self.folder / "gradebook.db"
        if db.exists():
            try:
                same = definitions(db) == self.definitions
            except Exception:  # noqa: BLE001 - an unreadable gradebook changed too
                same = False
            if not same:
                changed.append("the worker's gradebook: the assignment's cells or points")
            shutil.copyfile(self.template / "gradebook.db", db)  # each submission starts clean
        return changed

    def start(self):
        shutil.rmtree(self.folder, ignore_errors=True)
        shutil.copytree(self.template, self.folder, symlinks=True)
        course.write_course_config(self.folder, timeout=read_timeout(self.template))
        self.guard = FileGuard({"the worker's course": self.folder},
                               ("nbgrader_config.py", "source", "release"))
        read_end, write_end = os.pipe()
        self.process = subprocess.Popen(
            [sys.executable, __file__, "--worker", str(self.folder), "--result-fd", str(write_end)],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            text=True, env=self.env, start_new_session=True, pass_fds=(write_end,),
        )
        os.close(write_end)
        self.lines = queue.Queue()
        threading.Thread(target=self._read, args=(os.fdopen(read_end), self.lines),
                         daemon=True).start()

    @staticmethod
    def _read(results, lines):
        for line in results:
            try:
                lines.put(json.loads(line))
            except ValueError:
                pass
        lines.put(None)  # the process ended

    def grade(self, task, deadline):
        task = {**task, "nonce": secrets.token_hex(16)}
        try:
            if self.process is None or self.process.poll() is not None:
                self.start()
            self.process.stdin.write(json.dumps(task) + "\n")
            self.process.stdin.flush()
            result = self.lines.get(timeout=deadline)
        except queue.Empty:
            self.stop()
            return failure(task, f"grading did not finish within {deadline:.0f} s: stopped",
                           deadline)
        except Exception as error:  # noqa: BLE001 - a broken worker must not stop the class
            self.stop()
            return failure(task, f"the grading process failed: {type(error).__name__}: {error}")
        if result is None:
            self.stop()
            return failure(task, "the grading process died")
        if (result.get("nonce"), result.get("student"), result.get("assignment")) != (
                task["nonce"], task["student"], task["assignment"]):
            self.stop()
            return failure(task, "the grading process sent a result for another task")
        return result

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.process.wait()
        self.process = None


# ------------------------------------------------------------------- gradebook
def read_timeout(course_dir):
    """Execute.timeout of a course (seconds per cell)."""
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader("nbgrader_config.py", path=str(course_dir)).load_config()
    return int(config.Execute.get("timeout", 120))


def _db(course_dir):
    return f"sqlite:///{Path(course_dir) / 'gradebook.db'}"


def _marks_table(gb):
    from sqlalchemy import text

    gb.db.execute(text(
        f"CREATE TABLE IF NOT EXISTS {MARKS} (student TEXT, assignment TEXT, digest TEXT, "
        "problems TEXT, seconds REAL, worker TEXT, PRIMARY KEY (student, assignment))"))
    columns = [row[1] for row in gb.db.execute(text(f"PRAGMA table_info({MARKS})"))]
    if "worker" not in columns:  # a gradebook of a run before issue 24
        gb.db.execute(text(f"ALTER TABLE {MARKS} ADD COLUMN worker TEXT"))
    gb.db.commit()


def graded_marks(course_dir):
    """Return {(student, assignment): (digest, problems, seconds, worker)} of merged submissions.

    ``worker`` is {"worker", "host", "kernels", "description"} of the worker that graded it
    (its name, its machine, how its kernels ran: tools/sandbox.py's mode and sentence);
    None for a submission with no worker (nothing to grade, or merged before issue 24).
    """
    from nbgrader.api import Gradebook
    from sqlalchemy import text

    with Gradebook(_db(course_dir), COURSE_ID) as gb:
        _marks_table(gb)
        rows = gb.db.execute(text(
            f"SELECT student, assignment, digest, problems, seconds, worker FROM {MARKS}"))
        return {(r[0], r[1]): (r[2], json.loads(r[3]), r[4], json.loads(r[5]) if r[5] else None)
                for r in rows}


def merge(course_dir, result, digest, problems):
    """Write one graded submission into the course's gradebook.

    Its grades and its row in the ``cnnbook_graded`` table (what says it is done, and
    which worker graded it) are committed together; a run killed before that commit
    grades it again. The autograded notebook and the feedback come as bytes in
    ``result["files"]`` ({"autograded/<path>" or "feedback/<path>": bytes}), from
    whichever machine graded it.
    """
    from nbgrader.api import Gradebook
    from sqlalchemy import text

    student, assignment = result["student"], result["assignment"]
    course_dir = Path(course_dir)
    for kind in ("submitted", "autograded", "feedback"):
        shutil.rmtree(course_dir / kind / student / assignment, ignore_errors=True)
    write_files(course_dir, student, assignment, result.get("files") or {})
    if "notebooks" in result:  # the bytes collected, not a copy a kernel could have reached
        target = course_dir / "submitted" / student / assignment
        target.mkdir(parents=True, exist_ok=True)
        for name, text_ in result["notebooks"].items():
            (target / name).write_text(text_, encoding="utf-8")
    with Gradebook(_db(course_dir), COURSE_ID) as gb, warnings.catch_warnings():
        # nbgrader's add_submission builds its rows while SQLAlchemy autoflushes and
        # warns that it "will not proceed" with an add it does later anyway (the rows
        # are there, test_gradebook_is_consistent checks them).
        warnings.filterwarnings("ignore", message=".*not in session.*")
        gb.update_or_create_student(student)
        submission = gb.update_or_create_submission(assignment, student)
        for notebook in submission.notebooks:
            for grade in notebook.grades:
                auto, manual, extra, manual_needed, _, _ = result["cells"].get(
                    grade.name, [0.0, None, None, False, None, None])
                grade.auto_score = 0.0 if auto is None and not manual_needed else auto
                grade.manual_score, grade.extra_credit = manual, extra
                grade.needs_manual_grade = manual_needed
        gb.db.execute(text(f"DELETE FROM {MARKS} WHERE student = :s AND assignment = :a"),
                      {"s": student, "a": assignment})
        worker = {k: result[k] for k in ("worker", "host", "kernels") if result.get(k)}
        if result.get("kernels_description"):
            worker["description"] = result["kernels_description"]
        gb.db.execute(text(f"INSERT INTO {MARKS} (student, assignment, digest, problems, "
                           "seconds, worker) VALUES (:s, :a, :d, :p, :t, :w)"),
                      {"s": student, "a": assignment, "d": digest, "p": json.dumps(problems),
                       "t": result.get("seconds", 0),
                       "w": json.dumps(worker) if worker.get("worker") else None})
        gb.db.commit()


def write_files(course_dir, student, assignment, files):
    """Write the files a worker sent back into the course; return the paths written.

    ``files`` maps ``"autograded/<path>"`` or ``"feedback/<path>"`` to bytes; each lands
    in ``<kind>/<student>/<assignment>/<path>`` of ``course_dir``. A name of another kind,
    or a path that would leave that folder, is not written.
    """
    written = []
    for name, data in files.items():
        kind, _, relative = name.partition("/")
        folder = (Path(course_dir) / kind / student / assignment).resolve()
        target = (folder / relative).resolve()
        if kind not in ("autograded", "feedback") or not relative \
                or not target.is_relative_to(folder) or target == folder:
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        written.append(target)
    return written


def results_of(course_dir, assignment_names, students, timeout):
    """Read the gradebook into the dict tools/report.py draws."""
    from nbgrader.api import Gradebook

    marks = graded_marks(course_dir)
    results = {"assignments": {}, "submissions": [], "students": sorted(students),
               "missing": {}, "timeout": timeout,
               "generated": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
    with Gradebook(_db(course_dir), COURSE_ID) as gb:
        for name in assignment_names:
            assignment = gb.find_assignment(name)
            cells = [{"grade_id": c.name, "max_score": c.max_score, "notebook": nb.name}
                     for nb in assignment.notebooks for c in nb.grade_cells]
            results["assignments"][name] = {"max_score": assignment.max_score, "cells": cells}
            graded = set()
            for sub in gb.assignment_submissions(name):
                if (sub.student_id, name) not in marks:
                    continue
                graded.add(sub.student_id)
                digest, problems, seconds, _ = marks[(sub.student_id, name)]
                results["submissions"].append({
                    "student": sub.student_id, "assignment": name, "score": sub.score,
                    "failed": digest == RETRY,
                    "max_score": sub.max_score, "problems": problems, "seconds": seconds,
                    "cells": {g.name: [g.score, g.max_score]
                              for nb in sub.notebooks for g in nb.grades},
                })
            results["missing"][name] = sorted(set(students) - graded)
    results["workers"] = worker_figures(marks, assignment_names)
    how = kernels_of(marks, assignment_names)
    if how:
        results["sandbox"] = how
    return results


def kernels_of(marks, assignment_names):
    """How the kernels of the merged submissions ran, from what their workers stated.

    Returns {"mode", "description"} (tools/sandbox.py) when every worker's kernels ran
    alike, {"mode": "mixed", ...} naming each way when they did not, None when no
    submission was graded by a worker.
    """
    found = {}
    for (_, assignment), (_, _, _, worker) in sorted(marks.items()):
        if assignment in assignment_names and worker and worker.get("kernels"):
            how = (worker["kernels"], worker.get("description") or worker["kernels"])
            found.setdefault(how, set()).add(worker["worker"])
    if len(found) == 1:
        (mode, description), = found
        return {"mode": mode, "description": description}
    if found:
        return {"mode": "mixed", "description": "the workers' kernels did not all run alike: " +
                "; ".join(f"on {', '.join(sorted(names))}, {description}"
                          for (_, description), names in sorted(found.items()))}
    return None


def worker_figures(marks, assignment_names):
    """Per worker, the submissions it graded and the seconds it spent: [{"worker", "host",
    "kernels", "submissions", "seconds"}], most submissions first (from the gradebook's marks)."""
    figures = {}
    for (_, assignment), (_, _, seconds, worker) in marks.items():
        if assignment not in assignment_names or not worker:
            continue
        key = (worker["worker"], worker.get("host", ""))
        row = figures.setdefault(key, {"worker": key[0], "host": key[1], "kernels": set(),
                                       "submissions": 0, "seconds": 0.0})
        row["submissions"] += 1
        row["seconds"] = round(row["seconds"] + (seconds or 0), 2)
        if worker.get("kernels"):
            row["kernels"].add(worker["kernels"])
    rows = [{**row, "kernels": sorted(row["kernels"])} for row in figures.values()]
    return sorted(rows, key=lambda row: (-row["submissions"], row["host"], row["worker"]))


# ------------------------------------------------------------------------- run
class Progress:
    """A progress bar with an ETA, on stderr."""

    def __init__(self, total):
        self.total, self.done, self.start = total, 0, time.time()
        self.tty = sys.stderr.isatty()

    def step(self, label):
        self.done += 1
        elapsed = time.time() - self.start
        eta = elapsed / self.done * (self.total - self.done)
        width = 30
        filled = int(width * self.done / max(self.total, 1))
        line = (f"[{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total} graded"
                f" · {elapsed / 60:.1f} min · ETA {eta / 60:.1f} min · {label}")
        print(("\r" + line[:150].ljust(150)) if self.tty else line, end="" if self.tty else "\n",
              file=sys.stderr, flush=True)

    def close(self):
        if self.tty:
            print(file=sys.stderr)


def grader_digest(assignment_names, timeout):
    """A digest of everything besides the submissions that decides grades."""
    h = hashlib.sha256(f"timeout={timeout}".encode())
    paths = [p for name in assignment_names for p in course.source_notebooks(name)]
    for pattern in GRADER_FILES:
        paths += sorted(course.ROOT.glob(pattern))
    for path in paths:
        h.update(str(path.relative_to(course.ROOT)).encode() + b"\0" + path.read_bytes())
    return h.hexdigest()


def _setup(out, assignment_names, timeout, regrade):
    """Create (or reuse) the course under ``out``; return (course_dir, template)."""
    course_dir, template, stamp = out / "course", out / "template", out / "grader.sha256"
    digest = grader_digest(assignment_names, timeout or read_timeout(course.ROOT))
    if stamp.exists() and stamp.read_text() == digest and not regrade:
        return course_dir, template
    if stamp.exists() and not regrade:
        raise SystemExit(
            f"{out} was graded by another version of the grader (solutions, tests, plugins, "
            "cnnbook or timeout changed): pass --regrade to grade everything again, "
            "or choose another --out")
    stamp.unlink(missing_ok=True)  # set-up from scratch; the stamp is written last
    for folder in (course_dir, template, out / "feedback", out / "workers"):
        shutil.rmtree(folder, ignore_errors=True)
    course.make_course(template, assignment_names, timeout=timeout)
    shutil.copytree(template, course_dir, symlinks=True)
    course.write_course_config(course_dir, timeout=timeout)
    stamp.write_text(digest)
    return course_dir, template


def run(submissions_path, out="grading", jobs=None, timeout=None, regrade=False,
        named_regexp=None, assignment_names=None, quiet=False, scheduler=None):
    """Grade a class; return the results dict (also written to ``out/results.json``).

    The submissions are graded by the workers of a Dask cluster (tools/dispatch.py): the
    one whose scheduler ``scheduler`` names (``tcp://host:8786``), reached first so that
    one that cannot be reached ends the run within seconds, or else a LocalCluster of
    ``jobs`` processes on this machine. This process alone writes the gradebook. Ctrl-C
    stops the run (SystemExit 130); what was merged stays, and the next run grades the rest.
    """
    import dispatch

    out = Path(out).resolve()
    jobs = jobs or os.cpu_count() or 1
    if jobs < 1:
        raise SystemExit("--jobs must be at least 1")
    state = {"tasks": [], "merged": 0, "timings": [], "workers": 0, "progress": None}
    started = time.time()
    try:
        with contextlib.ExitStack() as stack:
            client = stack.enter_context(dispatch.connect(scheduler)) if scheduler else None
            out.mkdir(parents=True, exist_ok=True)
            if not assignment_names:  # every assignment that somebody submitted
                found, _ = collect(submissions_path, course.assignments(), named_regexp)
                assignment_names = sorted({a for _, a in found}) or course.assignments()
            course_dir, template = _setup(out, assignment_names, timeout, regrade)
            timeout = read_timeout(course_dir)
            collected, unmatched, students = collect(submissions_path, assignment_names,
                                                     named_regexp, with_students=True)
            state.update(course_dir=course_dir)
            tasks, digests, notes = _tasks(course_dir, template, collected, students, timeout,
                                           regrade)
            state.update(tasks=tasks, digests=digests)
            jobs = min(jobs, len(tasks))
            if tasks and client is None:  # the workers' files in out/workers, as the class's
                client = stack.enter_context(dispatch.connect(None, jobs, out / "workers"))
            state["workers"] = len(client.nthreads()) if tasks else 0
            if not quiet:
                where = f" (the Dask scheduler at {scheduler})" if scheduler else ""
                print(f"{len(collected)} submissions from {len(students)} students; "
                      f"{len(tasks)} to grade with {state['workers']} workers{where} "
                      f"({len(collected) - len(tasks)} already graded)", file=sys.stderr)
                link = dispatch.dashboard(client) if tasks else None
                if link:
                    print(f"Dask's dashboard: {link}", file=sys.stderr)
                state["progress"] = Progress(len(tasks))
            if tasks:
                plugin = dispatch.GradingPlugin(
                    secrets.token_hex(6), out, (out / "grader.sha256").read_text(),
                    dispatch.course_files(), assignment_names, timeout,
                    threads=1 if scheduler or jobs > 1 else None, template=template,
                    local=not scheduler)
                _merge_all(dispatch.grade_all(client, tasks, plugin), course_dir, digests,
                           notes, state)
    except KeyboardInterrupt:
        if state["progress"]:
            state["progress"].close()
        saved = 0
        if state["tasks"]:  # graded now from the same notebooks: the next run skips them
            now = graded_marks(state["course_dir"])
            saved = sum(now.get(key, ("",))[0] == state["digests"][key]
                        for key in {(t["student"], t["assignment"]) for t in state["tasks"]})
        print(f"interrupted: {saved} of {len(state['tasks'])} submissions graded and saved; "
              "run the same command again to grade the rest", file=sys.stderr)
        raise SystemExit(130) from None
    if state["progress"]:
        state["progress"].close()

    # Outputs: grades.csv, feedback/, results.json, report.html.
    course.nbgrader(course_dir, "export", "--to", str(out / "grades.csv"))
    shutil.rmtree(out / "feedback", ignore_errors=True)
    if (course_dir / "feedback").exists():
        shutil.copytree(course_dir / "feedback", out / "feedback")
    results = results_of(course_dir, assignment_names, students, timeout)
    results["unmatched"] = unmatched
    results["run"] = {"cluster": f"the Dask scheduler at {scheduler}" if scheduler
                      else f"a local cluster of {jobs} processes",
                      "workers": state["workers"], "graded": state["merged"],
                      "seconds": round(time.time() - started, 2), "tasks": state["timings"]}
    (out / "results.json").write_text(json.dumps(results, indent=1))
    report.write_report(results, out / "report.html")
    if not quiet:
        print(f"wrote {out / 'grades.csv'}, {out / 'report.html'} and {out / 'feedback'}/",
              file=sys.stderr)
        for line in unmatched:
            print(f"skipped {line}", file=sys.stderr)
    return results


def _tasks(course_dir, template, collected, students, timeout, regrade):
    """Register the students; return (tasks, digests, notes) of the submissions to grade.

    ``digests`` and ``notes`` (what the report lists for a person to look at, found
    before grading) cover every collected submission; ``tasks`` only those not yet
    graded from the same notebooks (all of them with ``regrade``).
    """
    from nbgrader.api import Gradebook

    with Gradebook(_db(course_dir), COURSE_ID) as gb:
        for student in students:
            gb.update_or_create_student(student)
    marks = graded_marks(course_dir)
    shutil.rmtree(Path(course_dir).parent / "workers", ignore_errors=True)  # an earlier run's
    tasks, digests, notes, course_lines = [], {}, {}, {}
    for key, sub in sorted(collected.items()):
        digests[key] = sub.digest()
        notes[key] = sub.problems + tampering(sub, template / "release") + reaching(
            sub, course_lines.setdefault(sub.assignment, release_lines(template / "release",
                                                                      sub.assignment)))
        if not regrade and key in marks and marks[key][0] == digests[key]:
            continue
        cells = sum(len(nbformat.read(p, as_version=4).cells)
                    for p in (template / "release" / sub.assignment).glob("*.ipynb"))
        tasks.append({"student": sub.student, "assignment": sub.assignment,
                      "notebooks": {n: d.decode("utf-8") for n, d in sub.notebooks.items()},
                      "empty": not sub.notebooks, "deadline": 120 + cells * (timeout + 5)})
    return tasks, digests, notes


def _merge_all(results, course_dir, digests, notes, state):
    """Merge each (task, result) as it comes; count, time and show progress in ``state``."""
    kill_after = int(os.environ.get("CNNBOOK_GRADE_KILL_AFTER", "0"))  # tests: die mid-class
    for task, result in results:
        key = (task["student"], task["assignment"])
        if result.get("failed"):
            mark = RETRY
        else:
            mark = digests[key]
            result["notebooks"] = task["notebooks"]
        merge(course_dir, result, mark, notes[key] + result.get("problems", []))
        state["merged"] += 1
        state["timings"].append({k: result.get(k) for k in (
            "student", "assignment", "worker", "host", "seconds", "started", "finished")})
        if state["progress"]:
            state["progress"].step(f"{task['student']} {task['assignment']}")
        if state["merged"] == kill_after:
            os.kill(os.getpid(), signal.SIGKILL)


def parts(assignment):
    """Return {test cell grade id: the solution cell it tests} (the last solution cell above it)."""
    found, current = {}, None
    for path in course.source_notebooks(assignment):
        for cell in nbformat.read(path, as_version=4).cells:
            meta = cell.metadata.get("nbgrader", {})
            if meta.get("solution") and cell.cell_type == "code":
                current = meta.get("grade_id")
            elif nbgrader_plugins.is_test_cell(cell):
                found[meta.get("grade_id")] = current
    return found


def lost_outside(cells, part, owner):
    """Points a submission lost in test cells that test another solution cell than ``part``."""
    return sum(cell_max - (score or 0) for grade_id, (score, cell_max) in cells.items()
               if owner.get(grade_id) not in (None, part) and cell_max)


def sensitivity(assignment_names=None, jobs=None, out=None):
    """Grade every assignment's reference class; print the table; return True if all is caught.

    The reference class (``course.reference_class``) is the solution, the untouched
    release and every kept wrong implementation in tests/wrong/. The grader passes
    when the solution gets full marks, the release 0 and each wrong version less
    than full, losing its points in its own part only: the tests of a later part put
    the reference versions of the earlier parts in place (``checks.reference_parts``),
    so the table's last column, the points lost outside its part, must be 0.
    """
    import make_class

    assignment_names = assignment_names or course.assignments()
    ok, rows = True, []
    with tempfile.TemporaryDirectory() as tmp:
        for assignment in assignment_names:
            students, wrongs = course.reference_class(assignment)
            files = {s: {n: make_class.notebook_bytes(nb) for n, nb in notebooks.items()}
                     for s, notebooks in students.items()}
            folder = make_class.write_class(files, Path(tmp) / assignment)
            results = run(folder, Path(out or tmp) / f"graded-{assignment}", jobs=jobs,
                          assignment_names=[assignment], regrade=True, quiet=True)
            scores = {r["student"]: r["score"] for r in results["submissions"]}
            cells = {r["student"]: r["cells"] for r in results["submissions"]}
            # The judge and the kernel's own checks agree on every reference student (issue 23):
            # a disagreement there would be a false alarm under "needs a look".
            disagree = sorted(r["student"] for r in results["submissions"]
                              if any("disagree" in p for p in r["problems"]))
            ok &= not disagree
            if disagree:
                print(f"{assignment}: the judge and the notebook disagree on {', '.join(disagree)}")
            owner = parts(assignment)
            full = results["assignments"][assignment]["max_score"]
            solution_ok = scores.get("solution") == full and scores.get("release") == 0
            ok &= solution_ok
            print(f"{assignment}: solution {scores.get('solution')}/{full}, "
                  f"release {scores.get('release')}/{full}: {'ok' if solution_ok else 'WRONG'}")
            for cell in course.solution_sources(assignment):
                versions = [s for s, v in wrongs.items() if v.grade_id == cell]
                caught = [s for s in versions if scores.get(s, full) < full]
                ok &= len(caught) == len(versions)
                outside = sum(lost_outside(cells.get(s, {}), cell, owner) for s in versions)
                ok &= outside == 0
                rows.append((assignment, cell, len(versions), len(caught), outside))
    print()
    print("| assignment | graded function | wrong versions | caught | points lost outside its part |")
    print("|---|---|---:|---:|---:|")
    for assignment, cell, versions, caught, outside in rows:
        print(f"| {assignment} | `{cell}` | {versions} | {caught} | {outside:g} |")
    total, caught = sum(r[2] for r in rows), sum(r[3] for r in rows)
    print(f"| **all** | | **{total}** | **{caught}** | **{sum(r[4] for r in rows):g}** |")
    return ok


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("submissions", nargs="?", help="a folder or a zip of submissions")
    parser.add_argument("--out", default="grading", help="output folder (default: grading)")
    parser.add_argument("--jobs", type=int, default=None,
                        help="worker processes of the local cluster (default: cores); "
                             "ignored with --scheduler")
    parser.add_argument("--scheduler", default=None,
                        help="grade on the workers of the Dask scheduler at this address "
                             "(tcp://HOST:8786) instead of a local cluster")
    parser.add_argument("--timeout", type=int, default=None,
                        help="seconds per cell (default: Execute.timeout of nbgrader_config.py)")
    parser.add_argument("--regrade", action="store_true", help="grade every submission again")
    parser.add_argument("--named-regexp", default=None,
                        help="pattern of flat file names, with groups student_id and file_id "
                             "(default: <student_id>_<notebook name>...)")
    parser.add_argument("--assignments", nargs="*", help="default: every assignment in solutions/")
    parser.add_argument("--sensitivity", action="store_true",
                        help="check the grader on every assignment's solution, release and "
                             "kept wrong versions, and print the table")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--result-fd", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return worker(args.worker, args.result_fd)
    if args.sensitivity:
        sys.exit(0 if sensitivity(args.assignments, args.jobs) else 1)
    if not args.submissions:
        parser.error("give a folder or a zip of submissions")
    run(args.submissions, args.out, args.jobs, args.timeout, args.regrade, args.named_regexp,
        args.assignments, scheduler=args.scheduler)


if __name__ == "__main__":
    main()
