"""The instructor's grading pipeline (tools/grade.py) on a class of bad submissions.

One class (tools/make_class.py ``bad_class`` on the first assignment) holds
reference students (the solution, the release, one wrong version, one solution
part left blank) and every bad submission the pipeline must survive. It is
graded once: the run is killed after a few submissions are merged, then resumed,
then run again unchanged. Every bad student must score exactly what its
reference student scores: graded for what it earned, no more. No feedback file of
the class holds a line of a hidden test, although one student reads them by every
route it has (tools/sandbox.py keeps them out of the kernels' sight).

A second class (``TestAttacks``) holds the attacks of issue 23 on every assignment and the
honest answers of issue 22, graded once with the judge deciding every test.
"""

import hashlib
import html as html_lib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import nbformat
import pytest

import course
import grade
import make_class
import nbgrader_plugins
import sandbox

ASSIGNMENT = course.assignments()[0]


@pytest.fixture(scope="module")
def cell_timeout():
    """Seconds per cell: the infinite loop is stopped after this.

    Derived from a floor measured now, on this machine under its current load: the time a
    fresh Python takes to import what the kernels' set-up cell imports (about 6 s on a
    quiet machine of two cores). The solution's slowest test cell takes a fraction of that
    (BENCHMARKS.md), so three times the floor, and at least 20 s, never stops an honest
    cell, while the infinite loop still costs only that long.
    """
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import cnnbook, numpy, tensorflow"],
                   env=course.subprocess_env(threads=1), check=True, timeout=900)
    return max(20, round(3 * (time.perf_counter() - started)))


def _tree_digest(folder):
    h = hashlib.sha256()
    for path in sorted(Path(folder).rglob("*")):
        h.update(str(path.relative_to(folder)).encode())
        if path.is_file():
            h.update(path.read_bytes())
    return h.hexdigest()


def _course_digest(root=course.ROOT):
    """A digest of every file under ``root`` that grading depends on (grade.GUARDED)."""
    h = hashlib.sha256()
    for name in grade.GUARDED:
        path = Path(root) / name
        for file in [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file()):
            if "__pycache__" in file.parts:  # the test's own imports may write these
                continue
            h.update(str(file.relative_to(root)).encode() + b"\0" + file.read_bytes())
    return h.hexdigest()


def clone_checkout(dest):
    """Copy this checkout's files (tracked or not ignored, as they are now) to ``dest``.

    A grading run from the copy (its ``tools/grade.py``, its ``src`` and ``tools`` first
    on ``PYTHONPATH``) guards the copy's files, not this checkout's: a test whose
    kernels may write runs there, so that a grading run of another test, beside it on the
    other pytest worker, never finds this checkout changed and restores it as its own.
    """
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"],
                            cwd=course.ROOT, capture_output=True, check=True).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = course.ROOT / name
        if source.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)
    return dest


def _merged(out):
    db = Path(out) / "course" / "gradebook.db"
    if not db.exists():
        return 0
    try:
        return len(grade.graded_marks(Path(out) / "course"))
    except Exception:  # noqa: BLE001 - the table may not exist yet
        return 0


def _normalised(line):
    return " ".join(line.split())


def hidden_test_lines(assignment):
    """The lines of an assignment's hidden tests that nothing else in its source shows.

    Normalised (runs of white space made one space); lines shorter than 12 characters
    and lines that also stand outside the hidden blocks (in the release, a visible test
    or a solution) are left out: the feedback may show those.
    """
    shown, hidden = set(), set()
    for path in course.source_notebooks(assignment):
        for cell in nbformat.read(path, as_version=4).cells:
            rest = nbgrader_plugins._HIDDEN.sub("", cell.source)
            shown |= {_normalised(line) for line in rest.splitlines()}
            for block in nbgrader_plugins._HIDDEN.findall(cell.source):
                hidden |= {_normalised(line) for line in block.splitlines()[1:-1]}
    return {line for line in hidden if len(line) >= 12 and line not in shown}


def page_text(path):
    """The text a reader sees in an HTML page (highlighted code is split into spans)."""
    text = re.sub(r"<[^>]+>", " ", Path(path).read_text())
    return _normalised(html_lib.unescape(text))


def leaks(folder, assignment):
    """{feedback page: hidden test lines it shows} for every HTML page under ``folder``."""
    lines = hidden_test_lines(assignment)
    found = {}
    for page in sorted(Path(folder).rglob("*.html")):
        text = page_text(page)
        shown = sorted(line for line in lines if line in text)
        if shown:
            found[str(page.relative_to(folder))] = shown
    return found


@pytest.fixture(scope="module")
def graded_class(tmp_path_factory, cell_timeout):
    """Grade the bad class: killed after a few merges, resumed, then run again unchanged."""
    tmp = tmp_path_factory.mktemp("class")
    files, expect = make_class.bad_class(ASSIGNMENT)
    files["nothing-gradable"] = {"scratch.ipynb": nbformat.writes(
        nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1 + 1")])).encode()}
    submissions = make_class.write_class(files, tmp / "submitted")
    before = _tree_digest(submissions)
    course_before = _course_digest()
    out = tmp / "grading"
    command = [sys.executable, str(course.ROOT / "tools" / "grade.py"), str(submissions),
               "--out", str(out), "--timeout", str(cell_timeout), "--jobs", "2"]
    env = course.subprocess_env(threads=1)
    slow = cell_timeout / 20  # how much slower than a quiet machine this one is now
    # Killed (SIGKILL, by itself) right after the 4th submission is merged ...
    first = subprocess.run(command, env={**env, "CNNBOOK_GRADE_KILL_AFTER": "4"},
                           capture_output=True, text=True, timeout=1200 * slow)
    merged_at_kill = _merged(out)
    # ... resumed ...
    second = subprocess.run(command, env=env, capture_output=True, text=True, timeout=1800 * slow)
    grades_csv = (out / "grades.csv").read_text()
    # ... and run again with nothing changed.
    third = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600 * slow)
    results = json.loads((out / "results.json").read_text())
    return {
        "out": out, "expect": expect, "merged_at_kill": merged_at_kill, "students": files,
        "first": first,
        "second": second, "third": third, "grades_csv": grades_csv, "results": results,
        "unchanged": before == _tree_digest(submissions),
        "course_unchanged": course_before == _course_digest(),
        "scores": {s["student"]: s["score"] for s in results["submissions"]},
        "problems": {s["student"]: s["problems"] for s in results["submissions"]},
    }


@pytest.mark.slow
class TestBadClass:
    """One class graded once (killed, resumed, repeated); each test reads one aspect."""

    @pytest.fixture
    def run(self, graded_class):
        return graded_class

    def test_the_runs_end_cleanly(self, run):
        assert run["second"].returncode == 0, run["second"].stderr[-3000:]
        assert run["third"].returncode == 0, run["third"].stderr[-3000:]

    def test_kill_then_resume_grades_everyone_once(self, run):
        assert run["first"].returncode == -signal.SIGKILL, run["first"].stderr[-2000:]
        assert run["merged_at_kill"] == 4
        graded = sorted(s["student"] for s in run["results"]["submissions"])
        assert graded == sorted(s for s in run["students"] if s != "nothing-gradable"), \
            "a submission was lost or added"
        rows = [line.split(",") for line in run["grades_csv"].splitlines()[1:]]
        keys = [(r[0], r[3]) for r in rows]
        assert len(keys) == len(set(keys)) == len(run["students"]), "grades.csv repeats or lacks a row"
        assert "(4 already graded)" in run["second"].stderr

    def test_running_again_changes_nothing(self, run):
        assert " 0 to grade" in run["third"].stderr, run["third"].stderr[-2000:]
        assert (run["out"] / "grades.csv").read_text() == run["grades_csv"]

    def test_submissions_are_not_modified(self, run):
        assert run["unchanged"]

    def test_no_file_of_the_course_changes(self, run):
        """bad-writes-checks and bad-rewrites-others change nothing outside the output folder."""
        assert run["course_unchanged"]

    def test_reference_students(self, run):
        scores, full = run["scores"], run["results"]["assignments"][ASSIGNMENT]["max_score"]
        assert scores["solution"] == full > 0
        assert scores["release"] == 0
        references = [s for s in scores if s.startswith(("wrong", "blank-"))]
        assert len(references) >= 3
        for student in references:
            assert 0 < scores[student] < full, student

    @pytest.mark.parametrize("student", sorted(make_class.bad_class(ASSIGNMENT)[1]))
    def test_graded_for_what_it_earned(self, run, student):
        kind, value = run["expect"][student]
        scores, full = run["scores"], run["results"]["assignments"][ASSIGNMENT]["max_score"]
        if kind == "like":
            expected = scores[value]
        elif kind == "score":
            expected = full if value == "full" else value
        else:  # only the tests above solution cell `value` can have passed
            release = nbformat.read(course.release_notebooks(None, ASSIGNMENT)[f"{ASSIGNMENT}.ipynb"], 4)
            expected = 0.0
            for cell in release.cells:
                if cell.metadata.get("nbgrader", {}).get("grade_id") == value:
                    break
                if nbgrader_plugins.is_test_cell(cell):
                    expected += cell.metadata["nbgrader"]["points"]
        assert scores[student] == expected, (student, run["problems"][student])

    def test_problems_are_reported(self, run):
        problems = {s: " ".join(p) for s, p in run["problems"].items()}
        assert "time limit" in problems["bad-loop"]
        assert "killed the kernel" in problems["bad-exit"]
        assert "not a valid notebook" in problems["bad-json"]
        assert "recognised by its cells" in problems["bad-renamed"]
        assert "output truncated" in problems["bad-huge"]
        assert "deleted" in problems["bad-deleted-tests"]
        assert "edited" in problems["bad-edited-tests"]
        assert not problems["solution"]

    def test_attackers_are_flagged_for_a_person(self, run):
        attackers = list(make_class.TAMPER) + list(make_class.KERNEL_TAMPER) + [
            "bad-hook-during-call", "cheat-checks", "cheat-code", "cheat-ops", "bad-reads-hidden-tests"]
        for student in attackers:
            assert "reaches for the kernel or the grader" in " ".join(run["problems"][student]), \
                student

    def test_huge_output_is_truncated(self, run):
        path = run["out"] / "course" / "autograded" / "bad-huge" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
        assert path.stat().st_size < 1_000_000

    def test_student_without_a_notebook_is_listed_missing(self, run):
        assert "nothing-gradable" in run["results"]["missing"][ASSIGNMENT]
        rows = [line.split(",") for line in run["grades_csv"].splitlines()[1:]]
        assert [r[9] for r in rows if r[3] == "nothing-gradable"] == ["0.0"]

    def test_gradebook_is_consistent(self, run):
        from nbgrader.api import Gradebook

        course_dir = run["out"] / "course"
        with Gradebook(f"sqlite:///{course_dir / 'gradebook.db'}") as gb:
            cells = len(gb.find_assignment(ASSIGNMENT).notebooks[0].grade_cells)
            subs = gb.assignment_submissions(ASSIGNMENT)
            assert sorted(s.student_id for s in subs) == sorted(run["scores"])
            for sub in subs:
                (notebook,) = sub.notebooks
                assert len(notebook.grades) == cells, sub.student_id
                assert sub.score == run["scores"][sub.student_id]
        assert sorted(k[0] for k in grade.graded_marks(course_dir)) == sorted(run["scores"])
        for student in run["scores"]:
            graded = course_dir / "autograded" / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
            assert graded.exists() == (student != "bad-json"), student
            assert (course_dir / "submitted" / student / ASSIGNMENT).is_dir(), student

    def test_feedback_shows_messages_not_hidden_tests(self, run):
        folder = run["out"] / "feedback"
        pages = sorted(folder.rglob("*.html"))
        assert len(pages) == len(run["scores"]) - 1  # not for the notebook that is not JSON
        source = (course.SOLUTIONS / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").read_text()
        assert "BEGIN HIDDEN TESTS" in source
        for page in pages:
            html = page.read_text()
            assert "BEGIN HIDDEN TESTS" not in html, page
        wrong = (folder / "wrong" / ASSIGNMENT / f"{ASSIGNMENT}.html").read_text()
        notebook = nbformat.read(
            run["out"] / "course" / "autograded" / "wrong" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", 4)
        messages = [o.evalue for c in notebook.cells for o in c.get("outputs", [])
                    if o.output_type == "error"]
        assert messages, "the wrong version failed no test"
        import html as html_lib
        assert any(html_lib.escape(m.splitlines()[0])[:60] in wrong for m in messages if m)

    def test_no_feedback_file_holds_a_line_of_a_hidden_test(self, run):
        """Every page of the class, not only the page of the student who read the tests."""
        if run["results"]["sandbox"]["mode"] != sandbox.BUBBLEWRAP:
            pytest.skip("bubblewrap cannot run here: the fallback lets kernels read the hidden "
                        "tests (README.md, For instructors)")
        assert len(hidden_test_lines(ASSIGNMENT)) >= 10
        pages = list((run["out"] / "feedback").rglob("*.html"))
        assert len(pages) == len(run["scores"]) - 1
        assert leaks(run["out"] / "feedback", ASSIGNMENT) == {}

    def test_the_reader_ran_and_read_nothing(self, run):
        """The student who reads the hidden tests by every route ran to the end, found none."""
        notebook = nbformat.read(run["out"] / "course" / "autograded" / "bad-reads-hidden-tests"
                                 / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", 4)
        text = "".join(o.get("text", "") for c in notebook.cells for o in c.get("outputs", []))
        if sandbox.mode() == sandbox.BUBBLEWRAP:
            assert "hidden test blocks read: 0" in text, text[-2000:]
        else:  # the fallback: world-readable files are read (README says so)
            assert "hidden test blocks read:" in text, text[-2000:]

    def test_the_report_says_how_kernels_ran(self, run):
        how = run["results"]["sandbox"]
        assert how["mode"] == sandbox.mode()
        assert how["description"] == sandbox.describe(how["mode"])
        assert html_lib.escape(how["description"][1:]) in (run["out"] / "report.html").read_text()
        assert not any("its kernel ran as" in " ".join(p) for p in run["problems"].values())

    def test_report_lists_failed_tests(self, run):
        page = (run["out"] / "report.html").read_text()
        assert "Tests most students fail" in page
        for cell in run["results"]["assignments"][ASSIGNMENT]["cells"]:
            assert cell["grade_id"] in page


    # The file attackers graded again with kernels that can write (fixture files_restored).
    # In this class, not one of their own: --dist loadscope gives each class to one worker,
    # and a second class would grade the whole bad class again on the other worker.
    def test_the_restoring_run_ends_cleanly(self, files_restored):
        assert files_restored["done"].returncode == 0, files_restored["done"].stderr[-3000:]

    def test_others_are_graded_as_without_the_attackers(self, files_restored, graded_class):
        scores = files_restored["scores"]
        assert scores["solution"] == graded_class["scores"]["solution"]
        assert scores["wrong"] == graded_class["scores"]["wrong"]
        assert scores["bad-writes-checks"] == scores["bad-rewrites-others"] == 0

    def test_without_the_sandbox_the_reader_gets_the_hidden_tests(self, files_restored):
        """Control: kernels running as the grader read the hidden tests, and the check sees it."""
        assert files_restored["results"]["sandbox"]["mode"] == sandbox.NONE
        found = leaks(files_restored["out"] / "feedback", ASSIGNMENT)
        assert list(found) == [f"bad-reads-hidden-tests/{ASSIGNMENT}/{ASSIGNMENT}.html"]
        assert len(found[f"bad-reads-hidden-tests/{ASSIGNMENT}/{ASSIGNMENT}.html"]) >= 10

    def test_the_change_is_restored_and_reported(self, files_restored):
        assert files_restored["unchanged"]
        problems = files_restored["problems"]
        assert "src/cnnbook/checks.py" in problems["bad-writes-checks"], problems
        assert "restored" in problems["bad-writes-checks"]
        assert "restored" not in problems["solution"] + problems["wrong"]

@pytest.mark.slow
def test_without_the_plugins_the_cheats_would_gain(tmp_path):
    """Control: nbgrader alone gives the monkey-patching students points the guard takes away.

    (``cheat-ops`` gains nothing even without the guard on exercise 1: its hidden
    tests compare with TensorFlow as well as with ``cnnbook.ops``.)
    """
    files, expect = make_class.bad_class(ASSIGNMENT)
    cheats = ("cheat-checks", "cheat-code")
    assert all(expect[c] == ("like", "wrong") for c in cheats)
    course_dir = course.make_course(tmp_path / "course", [ASSIGNMENT], plugins=False)
    for student in ("wrong",) + cheats:
        (name, data), = files[student].items()
        course.submit(course_dir, ASSIGNMENT, student, {name: nbformat.reads(data.decode(), 4)})
    grades = course.autograde(course_dir, ASSIGNMENT)
    for cheat in cheats:
        assert grades[cheat].score > grades["wrong"].score, cheat


@pytest.mark.slow
def test_zip_with_zip_collect_names(tmp_path):
    """A flat zip named <student_id>_<notebook>.ipynb, with an underscore in a student id."""
    files, _ = make_class.bad_class(ASSIGNMENT)
    archive = make_class.write_class({"jane_doe": files["solution"], "jane_roe": files["bad-json"]},
                                     tmp_path / "class.zip")
    with zipfile.ZipFile(archive) as z:
        assert sorted(z.namelist()) == [f"jane_doe_{ASSIGNMENT}.ipynb", f"jane_roe_{ASSIGNMENT}.ipynb"]
    results = grade.run(archive, tmp_path / "out", jobs=1, quiet=True)
    scores = {s["student"]: s["score"] for s in results["submissions"]}
    assert scores == {"jane_doe": results["assignments"][ASSIGNMENT]["max_score"], "jane_roe": 0}


def test_hide_hidden_tests_removes_code_and_traceback():
    cell = nbformat.v4.new_code_cell(
        "checks.assert_close(a, b)\n### BEGIN HIDDEN TESTS\nsecret_check()\n### END HIDDEN TESTS\n")
    cell.outputs = [nbformat.v4.new_output("error", ename="AssertionError", evalue="a is wrong",
                                           traceback=["line 3 secret_check()", "AssertionError"])]
    cell, _ = nbgrader_plugins.HideHiddenTests().preprocess_cell(cell, {}, 0)
    assert "secret_check" not in cell.source and "assert_close" in cell.source
    assert cell.outputs[0].traceback == ["AssertionError: a is wrong"]


def test_cap_output_keeps_the_start_of_long_output():
    cell = nbformat.v4.new_code_cell("print(...)")
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="x" * 500 + "\n"),
                    nbformat.v4.new_output("stream", name="stdout", text="y" * 500)]
    cell, _ = nbgrader_plugins.CapOutput(max_chars=600).preprocess_cell(cell, {}, 0)
    assert cell.outputs[0].text == "x" * 500 + "\n"
    assert cell.outputs[1].text.startswith("y" * 99 + "\n... output truncated by the grader (500")


def test_collect_matches_renamed_and_broken_notebooks(tmp_path):
    files, _ = make_class.bad_class(ASSIGNMENT)
    folder = make_class.write_class({s: files[s] for s in ("bad-renamed", "bad-json")}, tmp_path)
    found, unmatched = grade.collect(folder, course.assignments())
    assert set(found) == {("bad-renamed", ASSIGNMENT), ("bad-json", ASSIGNMENT)}
    assert found[("bad-renamed", ASSIGNMENT)].notebooks.keys() == {f"{ASSIGNMENT}.ipynb"}
    assert found[("bad-json", ASSIGNMENT)].notebooks == {}
    assert not unmatched


def test_course_config_sets_the_timeout_nbgrader_honours():
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader("nbgrader_config.py", path=str(course.ROOT)).load_config()
    assert config.Execute.timeout > 0
    assert "timeout" not in config.ExecutePreprocessor  # ignored by nbgrader
    assert grade.read_timeout(course.ROOT) == config.Execute.timeout
    assert nbgrader_plugins.GuardedExecute in config.Autograde.autograde_preprocessors


def _solution_bytes():
    files, _ = make_class.bad_class(ASSIGNMENT)
    return files["solution"][f"{ASSIGNMENT}.ipynb"]


def _students(source):
    found, unmatched = grade.collect(source, course.assignments())
    return sorted(found), unmatched, found


def test_collect_zip_of_a_class_folder_with_underscored_ids(tmp_path):
    data = _solution_bytes()
    archive = tmp_path / "class.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr(f"class/jane_doe_{ASSIGNMENT}.ipynb", data)
        z.writestr(f"class/bob_{ASSIGNMENT}.ipynb", data)
        z.writestr(f"../evil_{ASSIGNMENT}.ipynb", data)
    keys, unmatched, _ = _students(archive)
    assert keys == [("bob", ASSIGNMENT), ("jane_doe", ASSIGNMENT)]


def test_collect_one_student_folder_is_that_student(tmp_path):
    data = _solution_bytes()
    archive = tmp_path / "alice.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr(f"alice/{ASSIGNMENT}/{ASSIGNMENT}.ipynb", data)
    assert _students(archive)[0] == [("alice", ASSIGNMENT)]
    (tmp_path / "bob").mkdir()
    (tmp_path / "bob" / f"{ASSIGNMENT}.ipynb").write_bytes(data)
    assert _students(tmp_path)[0] == [("bob", ASSIGNMENT)]


def test_collect_guesses_ids_of_renamed_flat_files_and_says_so(tmp_path):
    data = _solution_bytes()
    (tmp_path / f"jane_doe_{ASSIGNMENT}.ipynb").write_bytes(data)
    (tmp_path / "jane_doe_my copy.ipynb").write_bytes(data)
    (tmp_path / "pat_homework.ipynb").write_bytes(data)
    keys, _, found = _students(tmp_path)
    assert keys == [("jane_doe", ASSIGNMENT), ("pat", ASSIGNMENT)]
    assert any("more than one file" in p for p in found[("jane_doe", ASSIGNMENT)].problems)
    assert any("guessed" in p for p in found[("pat", ASSIGNMENT)].problems)


def test_collect_survives_malformed_nbgrader_metadata(tmp_path):
    notebook = json.loads(_solution_bytes())
    notebook["cells"][1]["metadata"]["nbgrader"] = None
    (tmp_path / "eve").mkdir()
    (tmp_path / "eve" / f"{ASSIGNMENT}.ipynb").write_text(json.dumps(notebook))
    _, _, found = _students(tmp_path)
    assert found[("eve", ASSIGNMENT)].notebooks == {}
    assert any("not a valid notebook" in p for p in found[("eve", ASSIGNMENT)].problems)


def test_guard_helpers_read_names_and_imports():
    assert nbgrader_plugins._names_used("x = len(a) + abs(b)\nprint(x)") == ("abs", "len", "print")
    assert nbgrader_plugins._imports("import numpy as np\nfrom cnnbook import checks, ops") == [
        "numpy", "cnnbook", "cnnbook.checks", "cnnbook.ops"]


@pytest.fixture(scope="module")
def files_restored(tmp_path_factory, graded_class, cell_timeout):
    """The two file attackers graded first, then honest students, with kernels that CAN write.

    As on an instructor's laptop (``CNNBOOK_GRADE_NO_DROP=1``): the attack reaches the
    course's own checks.py, and the grader must put it back before the next submission.
    """
    tmp = tmp_path_factory.mktemp("restore")
    files = graded_class["students"]
    chosen = ("bad-reads-hidden-tests", "bad-rewrites-others", "bad-writes-checks", "solution",
              "wrong")
    submissions = make_class.write_class({s: files[s] for s in chosen}, tmp / "submitted")
    copy = clone_checkout(tmp / "checkout")  # the attack reaches the copy's checks.py
    before, before_here = _course_digest(copy), _course_digest()
    env = {**course.subprocess_env(threads=1), "CNNBOOK_GRADE_NO_DROP": "1",
           "PYTHONDONTWRITEBYTECODE": "1",
           "PYTHONPATH": os.pathsep.join(str(copy / d) for d in ("src", "tools"))}
    done = subprocess.run(
        [sys.executable, str(copy / "tools" / "grade.py"), str(submissions),
         "--out", str(tmp / "grading"), "--timeout", str(cell_timeout), "--jobs", "1"],
        cwd=copy, env=env, capture_output=True, text=True, timeout=900 * cell_timeout / 20)
    after, after_here = _course_digest(copy), _course_digest()
    results = json.loads((tmp / "grading" / "results.json").read_text())
    return {"done": done, "unchanged": before == after and before_here == after_here,
            "results": results, "out": tmp / "grading",
            "scores": {s["student"]: s["score"] for s in results["submissions"]},
            "problems": {s["student"]: " ".join(s["problems"]) for s in results["submissions"]}}


def test_file_guard_restores_changed_deleted_and_added_files(tmp_path):
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "a.py").write_text("A")
    (tmp_path / "pkg" / "b.py").write_text("B")
    (tmp_path / "config.py").write_text("C")
    guard = grade.FileGuard({"course": tmp_path}, ("pkg", "config.py"))
    assert guard.check() == []
    (tmp_path / "pkg" / "a.py").write_text("A2")
    (tmp_path / "pkg" / "b.py").unlink()
    (tmp_path / "pkg" / "sitecustomize.py").write_text("evil")
    (tmp_path / "config.py").write_text("C2")
    changed = guard.check()
    assert sorted(changed) == ["course: config.py", "course: pkg/a.py", "course: pkg/b.py",
                               "course: pkg/sitecustomize.py (added)"]
    assert (tmp_path / "pkg" / "a.py").read_text() == "A"
    assert (tmp_path / "pkg" / "b.py").read_text() == "B"
    assert not (tmp_path / "pkg" / "sitecustomize.py").exists()
    assert guard.check() == []


# ------------------------------------------------------ what a graded kernel can see
def _run_kernel(code, cwd, **env):
    """Run ``code`` as a student's cell under GuardedExecute, as grading does; return its stdout."""
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code)])
    old = dict(os.environ)
    os.environ.update({**course.subprocess_env(threads=1), **env})
    try:
        notebook, _ = nbgrader_plugins.GuardedExecute(timeout=600).preprocess(
            notebook, {"metadata": {"path": str(cwd)}})
    finally:
        os.environ.clear()
        os.environ.update(old)
    outputs = notebook.cells[0].outputs
    assert not [o for o in outputs if o.output_type == "error"], outputs
    assert "Fontconfig error" not in "".join(o.get("text", "") for o in outputs)  # /etc/fonts
    return "".join(o.get("text", "") for o in outputs if o.get("name") == "stdout")


# Each route a student has to a file the kernel must not read, tried with every reader
# (issue 22): the path is computed inside the kernel from what the kernel knows.
ROUTES = {
    "relative-source": "'../../../source/' + A + '/' + A + '.ipynb'",
    "relative-gradebook": "'../../../gradebook.db'",
    "relative-other-student": "'../../../submitted/other/' + A + '/' + A + '.ipynb'",
    "cnnbook-file-solutions": "str(pathlib.Path(cnnbook.__file__).parents[2] / 'solutions' / A / (A + '.ipynb'))",
    "absolute-solutions": "SOLUTIONS",
    "absolute-course-config": "CONFIG",
    "absolute-other-kernel": "OTHER",
}
VIEW = """\
import json, os, pathlib, socket, tempfile
import numpy as np, tensorflow as tf, cnnbook
A, SOLUTIONS, CONFIG, OTHER, PORT, HOME = {assignment!r}, {solutions!r}, {config!r}, {other!r}, {port}, {home!r}
readers = {{"open": lambda p: open(p, "rb").read(),
           "np.fromfile": lambda p: np.fromfile(p, dtype=np.uint8).tobytes(),
           "tf.io.gfile": lambda p: tf.io.gfile.GFile(p, "rb").read(),
           "tf.io.read_file": lambda p: tf.io.read_file(p).numpy()}}
view = {{}}
for route, path in {routes}.items():
    view[route] = {{}}
    for how, read in readers.items():
        try:
            view[route][how] = len(read(path))
        except Exception:
            pass
try:
    socket.create_connection(("127.0.0.1", PORT), timeout=5).close()
    view["network"] = "connected"
except OSError as error:
    view["network"] = type(error).__name__
view["home"] = sorted(n for n in (os.listdir(HOME) if os.path.isdir(HOME) else [])  # but its own folder
                      if not os.environ["HOME"].startswith(os.path.join(HOME, n)))
weights = pathlib.Path(cnnbook.__file__).parent / "weights"
view["weights"] = {{p.name: len(p.read_bytes()) for p in weights.iterdir() if p.is_file()}}
import matplotlib, io
matplotlib.use("Agg")
import matplotlib.pyplot as plt, keras, multiprocessing
plt.plot([0, 1]); plt.savefig(io.BytesIO(), format="png")
keras_home = os.environ.get("KERAS_HOME", os.path.expanduser("~/.keras"))
view["config dirs"] = [os.access(matplotlib.get_configdir(), os.W_OK), os.access(keras_home, os.W_OK)]
multiprocessing.Lock()  # a POSIX semaphore in /dev/shm
view["tempfile"] = os.path.isdir(tempfile.mkdtemp())
view["etc"] = [os.access(p, os.R_OK) for p in ("/etc/ld.so.cache", "/etc/fonts/fonts.conf")]
view["tensorflow"] = float(tf.reduce_sum(tf.ones((2, 3))))
print(json.dumps(view))
"""


@pytest.fixture(scope="module")
def kernel_views(tmp_path_factory):
    """What a graded kernel reads by each route: in its sandbox, and as the grader (control).

    The kernel's working directory is a student's folder in a grading course, as nbgrader
    gives it: ``autograded/<student>/<assignment>/`` next to ``source/``, ``submitted/``
    (another student's notebook) and ``gradebook.db``. A second sandbox's folder stands
    for another student's kernel graded at the same time.
    """
    from nbgrader.api import Gradebook
    import socket

    grading = tmp_path_factory.mktemp("grading-course")
    solution = course.source_notebooks(ASSIGNMENT)[0]
    for folder in ("source", "submitted/other"):
        (grading / folder / ASSIGNMENT).mkdir(parents=True)
        (grading / folder / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").write_bytes(solution.read_bytes())
    with Gradebook(f"sqlite:///{grading / 'gradebook.db'}"):
        pass
    cwd = grading / "autograded" / "student" / ASSIGNMENT
    cwd.mkdir(parents=True)
    other = sandbox.Sandbox(sandbox.mode() if sandbox.available() else sandbox.UNPRIVILEGED)
    (other.folder / "kernel.json").write_text("{}")
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    code = VIEW.format(assignment=ASSIGNMENT, solutions=str(solution),
                       config=str(course.ROOT / "nbgrader_config.py"),
                       other=str(other.folder / "kernel.json"), port=server.getsockname()[1],
                       home=str(Path.home()), routes="{" + ", ".join(
                           f"{k!r}: {v}" for k, v in ROUTES.items()) + "}")
    try:
        views = {"sandbox": json.loads(_run_kernel(code, cwd)),
                 "grader": json.loads(_run_kernel(code, cwd, CNNBOOK_GRADE_NO_DROP="1"))}
    finally:
        server.close()
        other.close()
    return views


needs_bubblewrap = pytest.mark.skipif(sandbox.mode() != sandbox.BUBBLEWRAP,
                                      reason="bubblewrap cannot run here (tools/sandbox.py)")


@pytest.mark.slow
@needs_bubblewrap
@pytest.mark.parametrize("route", sorted(ROUTES))
def test_a_sandboxed_kernel_reads_nothing_by(kernel_views, route):
    """Each route fails with every reader in the sandbox, and works as the grader (control)."""
    assert kernel_views["sandbox"][route] == {}, kernel_views["sandbox"][route]
    assert sorted(kernel_views["grader"][route]) == ["np.fromfile", "open", "tf.io.gfile",
                                                     "tf.io.read_file"]


@pytest.mark.slow
@needs_bubblewrap
def test_a_sandboxed_kernel_has_no_network(kernel_views):
    assert kernel_views["sandbox"]["network"] != "connected"
    assert kernel_views["grader"]["network"] == "connected"


@pytest.mark.slow
@needs_bubblewrap
def test_a_sandboxed_kernel_sees_no_more_of_the_graders_home_than_python(kernel_views):
    """The grader's home holds at most the way to the interpreter (a pyenv under /root)."""
    home = Path.home()
    inside = [Path(p) for p in sandbox.readonly_paths() if Path(p).is_relative_to(home)]
    allowed = sorted({p.relative_to(home).parts[0] for p in inside if p != home})
    assert kernel_views["sandbox"]["home"] == allowed
    assert len(kernel_views["grader"]["home"]) > len(allowed)


@pytest.mark.slow
@needs_bubblewrap
def test_a_sandboxed_kernel_finds_what_it_needs(kernel_views):
    """The shipped weights, Matplotlib's and Keras's folders, /dev/shm, a temporary folder."""
    view, weights = kernel_views["sandbox"], course.ROOT / "src" / "cnnbook" / "weights"
    assert view["weights"] == {p.name: p.stat().st_size for p in weights.iterdir() if p.is_file()}
    assert view["weights"]
    assert view["config dirs"] == [True, True]
    assert view["tempfile"] is True
    assert view["etc"] == [Path(p).exists() for p in ("/etc/ld.so.cache", "/etc/fonts/fonts.conf")]
    assert view["tensorflow"] == 6.0


@pytest.mark.slow
@pytest.mark.parametrize("bubblewrap", [True, False], ids=["bubblewrap", "fallback"])
def test_a_kernel_cannot_write_outside_its_folder(tmp_path, bubblewrap):
    """In bubblewrap (another uid where the grader is root) or, the fallback, as another uid."""
    if bubblewrap and sandbox.mode() != sandbox.BUBBLEWRAP:
        pytest.skip("bubblewrap cannot run here")
    if not bubblewrap and not (hasattr(os, "geteuid") and os.geteuid() == 0):
        pytest.skip("the fallback changes user only where the grader is root")
    target = tmp_path / "instructor.txt"
    target.write_text("mine")
    code = ("import os, cnnbook.checks as c\n"
            "print(os.getuid())\n"
            f"for p in (c.__file__, {str(target)!r}, os.path.join(os.environ['HOME'], 'ok')):\n"
            "    try:\n"
            "        open(p, 'a').close(); print('wrote', p)\n"
            "    except OSError as e:\n"
            "        print('denied', p)\n")
    env = {} if bubblewrap else {"CNNBOOK_GRADE_NO_BWRAP": "1"}
    text = _run_kernel(code, tmp_path, **env).splitlines()
    assert int(text[0]) != 0
    assert text[1:3] == [f"denied {course.ROOT / 'src' / 'cnnbook' / 'checks.py'}", f"denied {target}"]
    assert text[3].startswith("wrote ")
    assert target.read_text() == "mine"


def test_the_fallback_applies_where_bubblewrap_cannot_run(monkeypatch):
    """No bwrap (or one that fails its probe): a fresh uid where the grader is root, else none."""
    sandbox.bubblewrap_works.cache_clear()
    monkeypatch.setattr(sandbox, "BWRAP", "/nonexistent/bwrap")
    try:
        root = hasattr(os, "geteuid") and os.geteuid() == 0
        expected = sandbox.UNPRIVILEGED if root and Path(sandbox.SETPRIV).exists() else sandbox.NONE
        assert sandbox.mode() == expected
        assert "could not run" in sandbox.describe() or expected == sandbox.NONE
    finally:
        sandbox.bubblewrap_works.cache_clear()
    monkeypatch.setenv("CNNBOOK_GRADE_NO_DROP", "1")
    assert sandbox.mode() == sandbox.NONE


def test_bubblewrap_binds_only_the_system_the_venv_and_cnnbook():
    """The sandbox's file system, read from its command: nothing of the course but cnnbook."""
    box = sandbox.Sandbox(sandbox.BUBBLEWRAP)
    try:
        argv = box.command(["python", "-m", "ipykernel_launcher"])
    finally:
        box.close()
    binds = {}
    for i, arg in enumerate(argv):
        if arg in ("--ro-bind", "--ro-bind-try", "--bind"):
            binds[argv[i + 2]] = arg
    assert binds.pop(str(box.folder)) == "--bind"  # the only folder it writes
    assert set(binds.values()) <= {"--ro-bind", "--ro-bind-try"}
    assert str(course.ROOT / "src" / "cnnbook") in binds
    for path in binds:
        assert not Path(path).is_relative_to(course.ROOT) or path in (
            str(course.ROOT / "src" / "cnnbook"), sys.prefix), path
        assert path != "/" and not course.ROOT.is_relative_to(path), path
    assert "--unshare-net" in argv and "--clearenv" in argv and "--die-with-parent" in argv


# ------------------------------------------------------------- flagged for a person
def _flags(files, assignment=ASSIGNMENT):
    (name, data), = files.items()
    return grade.reaching(grade.Submission("s", assignment, notebooks={name: data}),
                          grade.release_lines(course.EXERCISES, assignment))


def test_every_attacking_student_is_flagged_with_its_lines():
    files, expect = make_class.bad_class(ASSIGNMENT)
    attackers = [s for s in files if s.startswith("cheat-") or s in make_class.TAMPER
                 or s in make_class.KERNEL_TAMPER
                 or s in ("bad-hook-during-call", "bad-exit", "bad-reads-hidden-tests")]
    assert len(attackers) >= 18
    for student in attackers:
        flags = _flags(files[student])
        assert flags, student
        assert all("line" in f for f in flags)


@pytest.mark.parametrize("assignment", course.assignments())
def test_no_false_alarm_on_solutions_releases_and_honest_wrong_versions(assignment):
    """Zero false alarms: the solution, the release and every kept wrong version but the
    one that is itself a cheat (it rebinds NumPy's checks)."""
    students, wrongs = course.reference_class(assignment)
    cheats = {s for s, v in wrongs.items() if "rebinds" in v.description}
    assert len(cheats) <= 1
    for student, notebooks in students.items():
        files = {n: make_class.notebook_bytes(nb) for n, nb in notebooks.items()}
        if student in cheats:
            assert _flags(files, assignment), student
        else:
            assert _flags(files, assignment) == [], (student, _flags(files, assignment))


def test_parts_and_points_lost_outside_a_part():
    """The sensitivity table's last column: a test cell belongs to the solution cell above it."""
    owner = grade.parts(ASSIGNMENT)
    sources = list(course.solution_sources(ASSIGNMENT))
    assert set(owner.values()) <= set(sources) and owner
    first, second = sources[0], sources[1]
    tests_of = {part: [t for t, p in owner.items() if p == part] for part in (first, second)}
    cells = {t: [0.0, 1.0] for t in tests_of[first]} | {t: [1.0, 1.0] for t in tests_of[second]}
    assert grade.lost_outside(cells, first, owner) == 0
    assert grade.lost_outside(cells, second, owner) == len(tests_of[first])


# ---------------------------------------------- a slow machine, a cell past the time limit
def _graded_cells(cells, timeout, **traits):
    """Run GuardedExecute on a tiny nbgrader notebook: (kind, source) cells; return the notebook."""
    import os

    made = []
    for index, (kind, source) in enumerate(cells):
        cell = nbformat.v4.new_code_cell(source)
        cell.metadata["nbgrader"] = {
            "setup": {"locked": True, "grade": False, "solution": False, "grade_id": f"setup{index}"},
            "answer": {"locked": False, "grade": False, "solution": True, "grade_id": f"answer{index}"},
            "test": {"locked": True, "grade": True, "solution": False, "points": 1,
                     "grade_id": f"test{index}"},
        }[kind]
        made.append(cell)
    notebook = nbformat.v4.new_notebook(cells=made)
    executor = nbgrader_plugins.GuardedExecute(timeout=timeout, **traits)
    old = dict(os.environ)
    os.environ.update({**course.subprocess_env(threads=1), "CNNBOOK_GRADE_NO_DROP": "1"})
    try:
        notebook, _ = executor.preprocess(notebook, {"metadata": {"path": str(course.ROOT)}})
    finally:
        os.environ.clear()
        os.environ.update(old)
    return notebook


def _errors(cell):
    return [o.ename for o in cell.outputs if o.output_type == "error"]


@pytest.mark.slow
def test_a_slow_set_up_cell_is_not_stopped_by_the_students_time_limit():
    """The course's set-up cell and the grader's guard run under setup_timeout, not timeout:
    on a loaded machine, importing TensorFlow may take longer than a student's cell may."""
    notebook = _graded_cells([("setup", "import time\ntime.sleep(4)\nready = 1"),
                              ("answer", "def f():\n    return 2"),
                              ("test", "assert f() == 2 and ready == 1"),
                              ("test", "import time\ntime.sleep(30)")], timeout=2)
    assert [_errors(c) for c in notebook.cells[:3]] == [[], [], []]
    assert "CellTimeoutError" in _errors(notebook.cells[3])


@pytest.mark.slow
def test_a_guard_that_cannot_be_set_up_grades_nothing(monkeypatch):
    """Never graded without the guard: had its set-up timed out, a cell hiding every later
    error (here an input transformer) would have earned the tests' points."""
    monkeypatch.setattr(nbgrader_plugins, "_SNAPSHOT_CODE", "import time\ntime.sleep(30)\n")
    swallow = (make_class._WRAP + "get_ipython().input_transformers_post.append(_swallow)\n")
    with pytest.raises(nbgrader_plugins.GuardError, match="could not set up its guard"):
        _graded_cells([("setup", "import numpy"), ("answer", swallow),
                       ("test", "assert False")], timeout=2, setup_timeout=3)


def test_a_cell_marked_locked_by_a_student_is_still_the_students():
    """nbgrader deletes the grade ids it does not know and puts back the source of the locked
    cells it knows: a 'locked' cell without a grade id holds the student's code, and the
    guard treats it as such (set up before it, everything it changed put back)."""
    cell = nbformat.v4.new_code_cell("np.allclose = lambda *a, **k: True")
    cell.metadata["nbgrader"] = {"locked": True, "grade": False, "solution": False}
    assert nbgrader_plugins.is_student_cell(cell)
    cell.metadata["nbgrader"]["grade_id"] = "setup"
    assert not nbgrader_plugins.is_student_cell(cell)


# ------------------------------------------ issue 23: verdicts the kernel cannot decide
# Every attack of issue 23 on every assignment it applies to (tools/make_class.py, attack_class),
# and the honest answers written another right way (issue 22, item 2), graded in one class.
# Flagged for a person: the attacks whose answer code reaches for the machinery (item 5); the
# others (forged training, test data redrawn, another model) are defeated by the judge alone.
FLAGGED = {"attack-lazy", "attack-liar", "attack-renamed", "attack-runpy", "attack-exec",
           "attack-unblock", "attack-guard-fail", "attack-guard-thread", "attack-renamed-inception",
           "attack-renamed-dis",
           "attack-renamed-residual"}


@pytest.fixture(scope="module")
def attacked(tmp_path_factory, cell_timeout):
    """Grade the attack class of every assignment at once (two workers).

    The honest students train networks (exercise 3's Part E): the per-cell limit is ten times
    the floor of this machine now, and never below 600 s, so that a loaded machine does not
    stop an honest cell (the CPU-time bars of the tests are measured apart from it).
    """
    tmp = tmp_path_factory.mktemp("attacks")
    students, expect = {}, {}
    for assignment in course.assignments():
        files, scores = make_class.attack_class(assignment)
        for student, notebooks in files.items():
            students.setdefault(student, {}).update(notebooks)
            expect[(student, assignment)] = scores[student]
    folder = make_class.write_class(students, tmp / "submitted")
    started = time.perf_counter()
    results = grade.run(folder, tmp / "grading", jobs=2, quiet=True, timeout=max(600, 10 * cell_timeout))
    return {"results": results, "expect": expect, "out": tmp / "grading",
            "seconds": time.perf_counter() - started,
            "by": {(s["student"], s["assignment"]): s for s in results["submissions"]}}


def _attack_cases():
    return sorted((a, s) for a in course.assignments() for s in make_class.attack_class(a)[1])


@pytest.mark.slow
class TestAttacks:
    """Issue 23, item 6: each attack scores exactly what it is due; item 5: the reaching ones are flagged."""

    @pytest.mark.parametrize("assignment, student", _attack_cases())
    def test_scores_exactly_what_it_is_due(self, attacked, assignment, student):
        row = attacked["by"][(student, assignment)]
        assert not row["failed"], row["problems"]
        assert row["score"] == attacked["expect"][(student, assignment)], (row["score"], row["problems"])

    @pytest.mark.parametrize("assignment, student", [c for c in _attack_cases() if c[1] in FLAGGED])
    def test_reaching_for_the_machinery_is_flagged(self, attacked, assignment, student):
        problems = " ".join(attacked["by"][(student, assignment)]["problems"])
        assert "reaches for the kernel or the grader" in problems, problems

    def test_honest_answers_raise_no_flag_and_no_disagreement(self, attacked):
        honest = [row for key, row in attacked["by"].items() if key[0].startswith("honest-")]
        assert len(honest) >= 2
        for row in honest:
            assert row["problems"] == [], row

    def test_every_lost_point_is_explained(self, attacked):
        """A test cell that scored less than its points shows why: an error with a message."""
        explained = 0
        for path in sorted((attacked["out"] / "course" / "autograded").rglob("*.ipynb")):
            for cell in nbformat.read(path, 4).cells:
                meta = cell.metadata.get("nbgrader", {})
                if not nbgrader_plugins.is_test_cell(cell):
                    continue
                errors = [o for o in cell.outputs if o.output_type == "error"]
                streams = [o for o in cell.outputs if o.output_type == "stream" and o.name == "stderr"]
                assert not streams, (path, meta.get("grade_id"))  # a warning never costs a point
                for error in errors:
                    assert f"{error.ename}: {error.evalue}".strip(": "), (path, meta.get("grade_id"))
                    explained += 1
        assert explained > 100


@pytest.mark.slow
def test_a_thread_or_a_trace_function_left_by_student_code_fails_the_next_tests():
    """Issue 23, item 4: the grader fails a test that starts while a student's thread runs or a
    trace function it set is in place (the function is removed first; the test still fails)."""
    notebook = _graded_cells([("setup", "import sys, threading, time"),
                              ("answer", "threading.Thread(target=time.sleep, args=(120,), daemon=True).start()"),
                              ("test", "assert True"),
                              ("answer", "sys.settrace(lambda *args: None)"),
                              ("test", "assert True")], timeout=60)
    assert "GraderError" in _errors(notebook.cells[2])
    assert "thread" in notebook.cells[2].outputs[-1].evalue
    assert "GraderError" in _errors(notebook.cells[4])
    notebook = _graded_cells([("setup", "import sys"), ("answer", "sys.settrace(lambda *args: None)"),
                              ("test", "assert True")], timeout=60)
    assert any("sys.settrace" in o.evalue for o in notebook.cells[2].outputs if o.output_type == "error")
