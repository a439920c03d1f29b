"""Course tooling: find chapters and assignments, regenerate exercises/, execute
notebooks, build submissions and autograde them with nbgrader.

Used by the Makefile (``python tools/course.py generate`` / ``execute``) and by
the tests in ``tests/``. Nothing here is imported by chapters or exercises, so it
lives outside ``src/cnnbook``.

Everything is discovered from file names: a chapter is ``book/NN_topic.ipynb``,
an assignment is ``solutions/NN_topic/NN_topic.ipynb``, its kept wrong
implementations are ``tests/wrong/NN_topic/*.py``. Adding a chapter needs no
change here.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"
SOLUTIONS = ROOT / "solutions"
EXERCISES = ROOT / "exercises"
WRONG = ROOT / "tests" / "wrong"
BIN = Path(sys.executable).parent

# Environment every kernel started from here inherits (see TOOLING.md).
KERNEL_ENV = {
    "TF_CPP_MIN_LOG_LEVEL": "2",
    "TF_ENABLE_ONEDNN_OPTS": "0",
    "CUDA_VISIBLE_DEVICES": "-1",
    "KERAS_BACKEND": "tensorflow",
    "PYDEVD_DISABLE_FILE_VALIDATION": "1",
}


def subprocess_env(threads=None):
    """Return os.environ with the kernel settings, the venv's bin/ on PATH and src/ importable."""
    env = dict(os.environ)
    env.update(KERNEL_ENV)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(ROOT / "src"), env.get("PYTHONPATH", "")) if p
    )
    if threads is not None:
        for name in ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS", "OMP_NUM_THREADS"):
            env[name] = str(threads)
    return env


def chapters():
    """Return the chapter notebooks, book/NN_topic.ipynb, in order."""
    return sorted(BOOK.glob("[0-9][0-9]_*.ipynb"))


def assignments():
    """Return the assignment names found in solutions/, in order."""
    return sorted(p.name for p in SOLUTIONS.glob("[0-9][0-9]_*") if p.is_dir())


def source_notebooks(assignment):
    """Return the source notebooks of an assignment."""
    return sorted((SOLUTIONS / assignment).glob("*.ipynb"))


# --------------------------------------------------------------------- nbgrader
def nbgrader(course_dir, *args, check=True, timeout=None):
    """Run an nbgrader command in a course directory and return the CompletedProcess."""
    result = subprocess.run(
        [str(BIN / "nbgrader"), *args],
        cwd=course_dir,
        env=subprocess_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if check and result.returncode != 0:
        raise RuntimeError(
            f"nbgrader {' '.join(args)} failed ({result.returncode}):\n{result.stderr[-4000:]}"
        )
    return result


# A temporary course: the course's own nbgrader_config.py (timeouts, plugins), with
# nbgrader's default folder names under another root.
COURSE_CONFIG = """\
c = get_config()
load_subconfig({config!r})
c.CourseDirectory.root = {root!r}
c.CourseDirectory.source_directory = "source"
c.CourseDirectory.release_directory = "release"
c.CourseDirectory.db_url = "sqlite:///" + {db!r}
{extra}"""


# nbgrader's own autograde steps, without the course's plugins (to show what they stop).
NO_PLUGINS = """\
from nbconvert.preprocessors import ClearMetadataPreprocessor
from nbgrader.preprocessors import (AssignLatePenalties, CheckCellMetadata, Execute,
                                    IgnorePattern, LimitOutput, SaveAutoGrades)
c.Autograde.autograde_preprocessors = [Execute, IgnorePattern, ClearMetadataPreprocessor,
                                       LimitOutput, SaveAutoGrades, AssignLatePenalties,
                                       CheckCellMetadata]
"""


def write_course_config(course_dir, timeout=None, plugins=True):
    """Write a course's nbgrader_config.py (its root and its own SQLite gradebook)."""
    course_dir = Path(course_dir).resolve()
    course_dir.mkdir(parents=True, exist_ok=True)
    extra = "" if timeout is None else f"c.Execute.timeout = {int(timeout)}\n"
    extra += "" if plugins else NO_PLUGINS
    (course_dir / "nbgrader_config.py").write_text(COURSE_CONFIG.format(
        config=str(ROOT / "nbgrader_config.py"), root=str(course_dir),
        db=str(course_dir / "gradebook.db"), extra=extra,
    ))
    return course_dir


def make_course(course_dir, assignment_names, timeout=None, plugins=True):
    """Set up an nbgrader course in ``course_dir`` with the given assignments released.

    Copies each ``solutions/<assignment>`` into the course's ``source/`` and runs
    ``nbgrader generate_assignment``, which records the assignment, its cells and
    their checksums in the course's gradebook. ``timeout`` (seconds per cell)
    overrides ``Execute.timeout`` of the course's ``nbgrader_config.py``; with
    ``plugins=False`` the course grades with nbgrader's own steps only.
    """
    course_dir = write_course_config(course_dir, timeout, plugins)
    for name in assignment_names:
        dest = course_dir / "source" / name
        if dest.exists():
            shutil.rmtree(dest)
        shutil.copytree(SOLUTIONS / name, dest, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
        nbgrader(course_dir, "generate_assignment", name, "--force")
    return course_dir


def release_notebooks(course_dir, assignment):
    """Return {notebook file name: path} of an assignment's release in a course.

    With ``course_dir`` None, the release is the committed one in exercises/.
    """
    folder = EXERCISES if course_dir is None else Path(course_dir) / "release"
    return {p.name: p for p in sorted((folder / assignment).glob("*.ipynb"))}


def generate(assignment_names=None, dest=EXERCISES):
    """Regenerate the student release of each assignment into ``dest`` (exercises/)."""
    assignment_names = assignment_names or assignments()
    with tempfile.TemporaryDirectory() as tmp:
        make_course(tmp, assignment_names)
        for name in assignment_names:
            target = Path(dest) / name
            if target.exists():
                shutil.rmtree(target)
            shutil.copytree(Path(tmp) / "release" / name, target)
    return [Path(dest) / name for name in assignment_names]


# ------------------------------------------------------------------ submissions
def solution_sources(assignment):
    """Return {grade_id: source} of every solution cell in the assignment's source notebooks."""
    sources = {}
    for path in source_notebooks(assignment):
        for cell in nbformat.read(path, as_version=4).cells:
            meta = cell.metadata.get("nbgrader", {})
            if meta.get("solution"):
                sources[meta["grade_id"]] = cell.source
    return sources


def fill_cells(notebook, replacements):
    """Return a copy of ``notebook`` whose cells with the given grade_ids get new sources."""
    notebook = nbformat.from_dict(json.loads(json.dumps(notebook)))
    seen = set()
    for cell in notebook.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in replacements:
            cell.source = replacements[grade_id]
            seen.add(grade_id)
    missing = set(replacements) - seen
    if missing:
        raise KeyError(f"no cell with grade_id {sorted(missing)} in the notebook")
    return notebook


@dataclass
class WrongVersion:
    """A kept wrong implementation: test data that the grader must not give full marks."""

    assignment: str
    name: str
    grade_id: str
    source: str
    description: str = ""
    path: Path = field(default=None, repr=False)


def wrong_versions(assignment):
    """Return the kept wrong implementations of an assignment (tests/wrong/<assignment>/*.py).

    Each file starts with two comment lines::

        # cell: <grade_id of the solution cell it replaces>
        # wrong: <what a student got wrong>

    and the rest is the full source of that cell as a student might write it.
    """
    versions = []
    for path in sorted((WRONG / assignment).glob("*.py")):
        lines = path.read_text().splitlines(keepends=True)
        header = {}
        for line in lines[:2]:
            key, _, value = line.lstrip("# ").partition(":")
            header[key.strip()] = value.strip()
        if "cell" not in header:
            raise ValueError(f"{path} must start with '# cell: <grade_id>'")
        versions.append(
            WrongVersion(
                assignment=assignment,
                name=path.stem,
                grade_id=header["cell"],
                source="".join(lines[2:]).lstrip("\n"),
                description=header.get("wrong", ""),
                path=path,
            )
        )
    return versions


def solved_submission(course_dir, assignment, override=None):
    """Return {notebook name: notebook} of the release with every solution cell filled in.

    ``override`` maps grade_ids to sources that replace the solution (a wrong version).
    """
    sources = solution_sources(assignment)
    sources.update(override or {})
    submission = {}
    for name, path in release_notebooks(course_dir, assignment).items():
        notebook = nbformat.read(path, as_version=4)
        ids = {c.metadata.get("nbgrader", {}).get("grade_id") for c in notebook.cells}
        submission[name] = fill_cells(notebook, {k: v for k, v in sources.items() if k in ids})
    return submission


def reference_class(assignment, course_dir=None):
    """Return ({student: {notebook name: notebook}}, {student: WrongVersion}).

    The class every assignment is checked against: ``solution`` (every solution
    cell filled in), ``release`` (untouched) and one ``wrong-<name>`` student per
    kept wrong implementation. The release comes from ``course_dir`` or, if None,
    from exercises/.
    """
    students = {
        "solution": solved_submission(course_dir, assignment),
        "release": {name: nbformat.read(path, as_version=4)
                    for name, path in release_notebooks(course_dir, assignment).items()},
    }
    wrongs = {}
    for version in wrong_versions(assignment):
        student = f"wrong-{version.name}"
        wrongs[student] = version
        students[student] = solved_submission(course_dir, assignment,
                                              {version.grade_id: version.source})
    return students, wrongs


def submit(course_dir, assignment, student, notebooks):
    """Place a student's notebooks in ``submitted/`` (autograde registers the student)."""
    folder = Path(course_dir) / "submitted" / student / assignment
    folder.mkdir(parents=True, exist_ok=True)
    for name, notebook in notebooks.items():
        nbformat.write(notebook, folder / name)


@dataclass
class Grade:
    """What nbgrader's gradebook says of one student's submission."""

    score: float
    max_score: float
    cells: dict  # grade_id -> (score, max_score)


def autograde(course_dir, assignment, timeout=1800):
    """Autograde every submission of an assignment and return {student: Grade}.

    nbgrader's exit code does not report failed tests, so the scores are read
    from the gradebook.
    """
    from nbgrader.api import Gradebook

    nbgrader(course_dir, "autograde", assignment, "--force", timeout=timeout)
    grades = {}
    with Gradebook(f"sqlite:///{Path(course_dir) / 'gradebook.db'}") as gradebook:
        for submission in gradebook.assignment_submissions(assignment):
            cells = {}
            for notebook in submission.notebooks:
                for grade in notebook.grades:
                    cells[grade.name] = (grade.score, grade.max_score)
            grades[submission.student_id] = Grade(
                submission.score, submission.max_score, cells
            )
    return grades


# -------------------------------------------------------------------- execution
# TensorFlow's C++ logging writes to the kernel's stderr past TF_CPP_MIN_LOG_LEVEL (for
# example "E0000 ... use_unbounded_threadpool" from tf.data): noise, not part of a chapter.
TF_LOG_LINE = re.compile(
    r"^(WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR"
    r"|[EWIF]\d{4} \d+:\d+:\d+\.\d+ +\d+ [\w.]+:\d+\] .*)$"
)


def drop_tensorflow_logs(notebook):
    r"""Remove TensorFlow's C++ log lines from the stderr outputs of ``notebook``, in place.

    >>> import nbformat
    >>> cell = nbformat.v4.new_code_cell("fit()")
    >>> cell.outputs = [nbformat.v4.new_output("stream", name="stderr", text=(
    ...     "E0000 00:00:1795455772.204587    5715 node_def_util.cc:682] NodeDef mentions\n"
    ...     "a real warning\n"))]
    >>> notebook = nbformat.v4.new_notebook(cells=[cell])
    >>> drop_tensorflow_logs(notebook)
    1
    >>> notebook.cells[0].outputs[0].text
    'a real warning\n'
    """
    dropped = 0
    for cell in notebook.cells:
        kept = []
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream" and output.get("name") == "stderr":
                lines = output["text"].splitlines(keepends=True)
                clean = [line for line in lines if not TF_LOG_LINE.match(line.rstrip("\n"))]
                dropped += len(lines) - len(clean)
                if not clean:
                    continue
                output["text"] = "".join(clean)
            kept.append(output)
        if "outputs" in cell:
            cell["outputs"] = kept
    return dropped


def execute(paths, timeout=900):
    """Execute notebooks in place, in their own folder, storing their outputs."""
    from nbclient import NotebookClient

    os.environ.update(KERNEL_ENV)
    os.environ["PYTHONPATH"] = subprocess_env()["PYTHONPATH"]
    for path in (Path(p).resolve() for p in paths):
        notebook = nbformat.read(path, as_version=4)
        client = NotebookClient(
            notebook,
            timeout=timeout,
            kernel_name="python3",
            resources={"metadata": {"path": str(path.parent)}},
        )
        client.execute()
        drop_tensorflow_logs(notebook)
        nbformat.write(notebook, path)
        print(f"executed {path.relative_to(ROOT)}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    gen = commands.add_parser("generate", help="regenerate exercises/ from solutions/")
    gen.add_argument("assignments", nargs="*", help="default: all in solutions/")
    run = commands.add_parser("execute", help="execute notebooks in place, storing outputs")
    run.add_argument("notebooks", nargs="+")
    args = parser.parse_args(argv)
    if args.command == "generate":
        for path in generate(args.assignments or None):
            print(f"generated {path.relative_to(ROOT)}")
    else:
        execute(args.notebooks)


if __name__ == "__main__":
    main()
