"""Grading dispatched to Dask workers (tools/dispatch.py, issue 24).

The unit tests check the pieces on their own: the map of the course's files that a worker
proves itself with, the refusals, the guard that workers of one checkout share, the task
function that a scheduler can read without the course, the files a worker sends back.

``TestCluster`` grades one generated class of the cheapest assignment three ways, on this
machine and on loopback only: locally (a LocalCluster, interrupted with Ctrl-C and
resumed), its kernels in this machine's sandbox (tools/sandbox.py), which a student who
reads the hidden tests by every route must not get through; through ``dask scheduler``
and two ``dask worker`` processes, each running from its own copy of the course, their
kernels running as themselves (so that the file guards, not the sandbox, must restore what
a kernel writes; and the reader, as a control, gets the hidden tests), one of them killed
(SIGKILL) while it grades; and through the same scheduler with a third worker whose course
differs, which must stop the run.
"""

import json
import os
import pickle
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import nbformat
import pytest

import course
import dispatch
import grade
import make_class
import sandbox
from test_grade_pipeline import clone_checkout, leaks

ASSIGNMENT = "01_convolution"  # the cheapest to grade, with 06_yolo (BENCHMARKS.md)


# ------------------------------------------------------------ the course's files
def _checkout(root):
    """A small tree shaped like a checkout: what grade.GUARDED names, and caches."""
    for name, text in {
        "nbgrader_config.py": "c = get_config()\n",
        "requirements.lock": "numpy==2.0\n",
        "src/cnnbook/checks.py": "def assert_close(): ...\n",
        "src/cnnbook/__pycache__/checks.cpython-311.pyc": "cache",
        "tools/grade.py": "print('grade')\n",
        "solutions/01_a/01_a.ipynb": "{}",
        "exercises/01_a/01_a.ipynb": "{}",
        "exercises/01_a/.ipynb_checkpoints/01_a-checkpoint.ipynb": "{}",
        "book/01_a.ipynb": "{}",
    }.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def test_course_files_are_the_guarded_files_less_caches(tmp_path):
    files = dispatch.course_files(_checkout(tmp_path))
    assert sorted(files) == ["exercises/01_a/01_a.ipynb", "nbgrader_config.py",
                             "requirements.lock", "solutions/01_a/01_a.ipynb",
                             "src/cnnbook/checks.py", "tools/grade.py"]
    assert all(len(digest) == 64 for digest in files.values())


def test_course_files_of_this_checkout_hold_what_decides_grades():
    files = dispatch.course_files()
    for path in ("nbgrader_config.py", "requirements.lock", "tools/nbgrader_plugins.py",
                 "tools/grade.py", "src/cnnbook/checks.py", f"solutions/{ASSIGNMENT}/{ASSIGNMENT}.ipynb"):
        assert path in files, path


def test_differing_names_changed_added_and_missing_files(tmp_path):
    ours = dispatch.course_files(_checkout(tmp_path / "a"))
    (tmp_path / "b").mkdir()
    theirs_root = _checkout(tmp_path / "b")
    (theirs_root / "src/cnnbook/checks.py").write_text("def assert_close(): return None\n")
    (theirs_root / "tools/extra.py").write_text("")
    (theirs_root / "requirements.lock").unlink()
    (theirs_root / "src/cnnbook/__pycache__/checks.cpython-311.pyc").write_text("other cache")
    assert dispatch.differing(ours, dispatch.course_files(theirs_root)) == [
        "requirements.lock", "src/cnnbook/checks.py", "tools/extra.py"]
    assert dispatch.differing(ours, ours) == []


def test_a_refusal_names_the_worker_and_the_files_and_survives_pickling():
    files = [f"src/cnnbook/m{i}.py" for i in range(14)]
    refusal = pickle.loads(pickle.dumps(dispatch.CourseDiffers("lab-7", files)))
    assert isinstance(refusal, dispatch.Refused)
    assert refusal.worker == "lab-7" and refusal.files == files
    text = str(refusal)
    assert text.startswith("worker lab-7 refused to grade: its course differs from this one "
                           "in 14 files: src/cnnbook/m0.py, ")
    assert "src/cnnbook/m11.py and 2 more" in text and "m12" not in text
    assert str(pickle.loads(pickle.dumps(dispatch.Refused("w", "why")))) == \
        "worker w refused to grade: why"


def _plugin(**changes):
    """A GradingPlugin for this checkout, as a worker holds it after setup (no Dask)."""
    plugin = dispatch.GradingPlugin("run1", "/tmp/out", "digest1", dispatch.course_files(),
                                    [ASSIGNMENT], 30, threads=1, template="/nonexistent")
    plugin.ready, plugin.refusal, plugin.worker_name = threading.Event(), None, "w1"
    plugin.ready.set()
    for name, value in changes.items():
        setattr(plugin, name, value)
    return plugin


def test_the_plugin_travels_without_its_worker_side_state():
    plugin = _plugin(grader=object(), lock=threading.Lock())
    copy = pickle.loads(pickle.dumps(plugin))
    assert (copy.run_id, copy.digest, copy.files, copy.name) == (
        "run1", "digest1", plugin.files, dispatch.plugin_name("/tmp/out"))
    assert not hasattr(copy, "grader") and not hasattr(copy, "ready")


def test_a_worker_whose_files_differ_refuses_before_setting_up_anything():
    files = {**dispatch.course_files(), "src/cnnbook/checks.py": "0" * 64,
             "solutions/99_new/99_new.ipynb": "1" * 64}
    plugin = _plugin(files=files)
    plugin.ready = threading.Event()
    plugin._prepare()
    assert isinstance(plugin.refusal, dispatch.CourseDiffers)
    assert plugin.refusal.files == ["solutions/99_new/99_new.ipynb", "src/cnnbook/checks.py"]
    assert plugin.ready.is_set() and getattr(plugin, "grader", None) is None
    with pytest.raises(dispatch.CourseDiffers):
        plugin.grade({"run": "run1", "digest": "digest1"})


def test_a_task_of_another_run_or_grader_is_refused():
    plugin = _plugin()
    with pytest.raises(dispatch.Refused, match="another run"):
        plugin.grade({"run": "run2", "digest": "digest1"})
    with pytest.raises(dispatch.Refused, match="another version of the grader"):
        plugin.grade({"run": "run1", "digest": "digest2"})


def test_the_task_function_travels_by_value():
    """A scheduler unpickles tasks: the function must not need the course's tools there."""
    import cloudpickle

    function = dispatch._by_value(dispatch.grade_task)
    with pytest.raises(pickle.PicklingError):
        pickle.dumps(function)  # so Dask falls back to cloudpickle, which sends the code
    data = cloudpickle.dumps(function)
    assert b"dispatch.grade_task" not in data and b"grade_task" in data
    assert cloudpickle.loads(data).__code__.co_code == dispatch.grade_task.__code__.co_code


# ------------------------------------------------------------- the checkout guard
def test_workers_of_one_checkout_share_the_snapshot_and_report_to_all_in_flight(tmp_path):
    root = _checkout(tmp_path / "checkout")
    checks = root / "src" / "cnnbook" / "checks.py"
    first = dispatch.CheckoutGuard(root, "runA")
    try:
        assert oct(first.folder.stat().st_mode & 0o777) == "0o700"
        one = first.begin()
        checks.write_text("def assert_close(): return None\n")  # a kernel's doing
        # A worker that starts now takes the snapshot of the run's start, not this file.
        second = dispatch.CheckoutGuard(root, "runA")
        two = second.begin()  # restores it, and reports it for submission one
        assert checks.read_text() == "def assert_close(): ...\n"
        (root / "src" / "sitecustomize.py").write_text("evil")
        assert second.end(two) == ["course: src/sitecustomize.py (added)"]
        assert not (root / "src" / "sitecustomize.py").exists()
        assert first.end(one, ["the worker's gradebook"]) == [
            "course: src/cnnbook/checks.py", "course: src/sitecustomize.py (added)",
            "the worker's gradebook"]
        three = first.begin()
        assert first.end(three) == []
    finally:
        dispatch.forget("runA", root)
    assert not first.folder.exists()


def test_the_guard_refuses_a_folder_that_is_not_its_users_alone(tmp_path, monkeypatch):
    monkeypatch.setattr(dispatch.tempfile, "gettempdir", lambda: str(tmp_path))
    root = _checkout(tmp_path / "checkout")
    folder = dispatch._guard_folder(root, "runB")
    folder.mkdir(mode=0o777)
    folder.chmod(0o777)  # another user could have put a snapshot there
    with pytest.raises(RuntimeError, match="not a folder of this user's alone"):
        dispatch.CheckoutGuard(root, "runB")


def test_the_guard_sweeps_folders_of_crashed_runs(tmp_path, monkeypatch):
    monkeypatch.setattr(dispatch.tempfile, "gettempdir", lambda: str(tmp_path))
    root = _checkout(tmp_path / "checkout")
    dead = dispatch._guard_folder(root, "crashed")
    live = dispatch._guard_folder(root, "running")
    for folder, pid in ((dead, 2 ** 22 + 17), (live, os.getpid())):  # no such pid; this one
        folder.mkdir(mode=0o700)
        (folder / "members.json").write_text(json.dumps([pid]))
        os.utime(folder, (time.time() - 3600, time.time() - 3600))
    guard = dispatch.CheckoutGuard(root, "now")
    assert not dead.exists() and live.exists() and guard.folder.exists()


# ------------------------------------------------------------- what comes back
def test_files_sent_back_land_in_their_folder_and_nowhere_else(tmp_path):
    written = grade.write_files(tmp_path, "alice", ASSIGNMENT, {
        f"autograded/{ASSIGNMENT}.ipynb": b"{}",
        "feedback/sub/page.html": b"<p>",
        "autograded/../../bob/x.ipynb": b"evil",
        "submitted/x.ipynb": b"evil",
        "feedback/": b"evil",
    })
    assert sorted(p.relative_to(tmp_path).as_posix() for p in written) == [
        f"autograded/alice/{ASSIGNMENT}/{ASSIGNMENT}.ipynb",
        f"feedback/alice/{ASSIGNMENT}/sub/page.html"]
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*")
                  if p.is_file()) == sorted(p.relative_to(tmp_path).as_posix() for p in written)


def test_an_older_gradebook_gains_the_worker_column(tmp_path):
    from nbgrader.api import Gradebook

    db = tmp_path / "gradebook.db"
    with Gradebook(f"sqlite:///{db}", grade.COURSE_ID):
        pass
    with sqlite3.connect(db) as connection:  # the marks table before issue 24
        connection.execute(f"CREATE TABLE {grade.MARKS} (student TEXT, assignment TEXT, "
                           "digest TEXT, problems TEXT, seconds REAL, "
                           "PRIMARY KEY (student, assignment))")
        connection.execute(f"INSERT INTO {grade.MARKS} VALUES ('ann', 'a1', 'd', '[]', 3.5)")
    assert grade.graded_marks(tmp_path) == {("ann", "a1"): ("d", [], 3.5, None)}


def test_worker_figures_count_submissions_and_seconds_per_worker():
    a = {"worker": "A", "host": "lab-1", "kernels": "setpriv"}
    b = {"worker": "B", "host": "lab-2", "kernels": "own user"}
    marks = {("s1", "x"): ("d", [], 10.0, a), ("s2", "x"): ("d", [], 5.5, b),
             ("s3", "x"): ("d", [], 2.0, a), ("s4", "x"): ("d", [], 0, None),
             ("s5", "other"): ("d", [], 7.0, b)}
    assert grade.worker_figures(marks, ["x"]) == [
        {"worker": "A", "host": "lab-1", "kernels": ["setpriv"], "submissions": 2, "seconds": 12.0},
        {"worker": "B", "host": "lab-2", "kernels": ["own user"], "submissions": 1, "seconds": 5.5}]


def test_how_the_kernels_ran_is_what_the_workers_stated():
    box = {"worker": "A", "host": "h1", "kernels": "bubblewrap", "description": "in a box"}
    plain = {"worker": "B", "host": "h2", "kernels": "none", "description": "as the grader"}
    marks = {("s1", "x"): ("d", [], 1.0, box), ("s2", "x"): ("d", [], 1.0, None),
             ("s3", "other"): ("d", [], 1.0, plain)}
    assert grade.kernels_of(marks, ["x"]) == {"mode": "bubblewrap", "description": "in a box"}
    assert grade.kernels_of(marks, ["other"]) == {"mode": "none", "description": "as the grader"}
    assert grade.kernels_of(marks, ["x", "other"]) == {
        "mode": "mixed", "description": "the workers' kernels did not all run alike: "
                                        "on A, in a box; on B, as the grader"}
    assert grade.kernels_of({("s2", "x"): ("d", [], 0, None)}, ["x"]) is None


class _Client:
    def __init__(self, bokeh, link):
        self.bokeh, self.dashboard_link = bokeh, link

    def get_versions(self, packages):
        assert packages == ["bokeh"]
        return {"scheduler": {"packages": {"bokeh": self.bokeh}}}


def test_the_dashboard_is_shown_only_where_the_scheduler_has_bokeh():
    assert dispatch.dashboard(_Client("3.10.1", "http://127.0.0.1:8787/status")) == \
        "http://127.0.0.1:8787/status"
    assert dispatch.dashboard(_Client(None, "http://127.0.0.1:8787/status")) is None


@pytest.mark.slow
def test_no_process_without_the_runs_keys_can_use_the_local_cluster():
    """A kernel on this machine finds the local scheduler's port (/proc/net/tcp): it must not
    be able to run code in the workers, with plain TCP or with TLS keys of its own."""
    code = ("import sys\nfrom distributed import Client\nfrom distributed.security import Security\n"
            "host = sys.argv[1].split('://')[1]\n"
            "for address, security in ((f'tcp://{host}', None), "
            "(f'tls://{host}', Security.temporary())):\n"
            "    try:\n"
            "        kwargs = {'security': security} if security else {}\n"
            "        Client(address, timeout=5, **kwargs).run(print)\n"
            "        print('ran on the cluster through', address.split(':')[0])\n"
            "    except Exception:\n"
            "        print('refused', address.split(':')[0])\n")
    from distributed import LocalCluster

    def probe(address):
        return subprocess.run([sys.executable, "-c", code, address], capture_output=True,
                              text=True, timeout=120, env=course.subprocess_env())

    with dispatch.connect(None, 1) as client:
        address = client.scheduler.address
        assert address.startswith("tls://127.0.0.1:")
        assert client.run(lambda: 42) == {next(iter(client.nthreads())): 42}  # the keys work
        done = probe(address)
    assert done.stdout.split("\n")[:2] == ["refused tcp", "refused tls"], done.stderr[-2000:]
    # Control: the same probe runs code in the worker of a local cluster without TLS.
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address="127.0.0.1:0") as plain:
        done = probe(plain.scheduler_address)
    assert done.stdout.startswith("ran on the cluster through tcp"), done.stderr[-2000:]


@pytest.mark.slow
def test_an_unreachable_scheduler_is_a_clear_error_within_seconds(tmp_path):
    import socket

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, str(course.ROOT / "tools" / "grade.py"), str(tmp_path / "nothing"),
         "--out", str(tmp_path / "out"), "--scheduler", f"tcp://127.0.0.1:{port}"],
        capture_output=True, text=True, timeout=300, env=course.subprocess_env())
    seconds = time.perf_counter() - started
    assert done.returncode == 1
    assert f"cannot reach the Dask scheduler at tcp://127.0.0.1:{port}" in done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    assert not (tmp_path / "out").exists()  # tried first, before setting anything up
    startup = _python_startup()
    assert seconds < dispatch.CONNECT_TIMEOUT + 3 * startup + 5, (seconds, startup)


def _python_startup():
    """Seconds for a fresh Python to import what tools/grade.py imports (this machine, now)."""
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import distributed, nbgrader.preprocessors, nbformat"],
                   check=True, timeout=300, env=course.subprocess_env())
    return time.perf_counter() - started


# ------------------------------------------------------- a class on a real cluster
CLASS = ("solution", "release", "wrong", "bad-exit", "bad-loop", "bad-json", "cheat-allclose",
         "bad-writes-checks", "bad-reads-hidden-tests")


def _marks(out):
    try:
        with sqlite3.connect(Path(out) / "course" / "gradebook.db") as db:
            return db.execute(f"SELECT student, worker FROM {grade.MARKS}").fetchall()
    except sqlite3.Error:
        return []


def _grade(submissions, out, *args):
    return [sys.executable, str(course.ROOT / "tools" / "grade.py"), str(submissions),
            "--out", str(out), *args]


def _scores(out):
    results = json.loads((Path(out) / "results.json").read_text())
    return {s["student"]: (s["score"], sorted(s["cells"].items())) for s in results["submissions"]}


@pytest.fixture(scope="class")
def cluster_class(tmp_path_factory):
    """The class, the cell time limit, and two copies of the course for two workers."""
    tmp = tmp_path_factory.mktemp("cluster")
    files, _ = make_class.bad_class(ASSIGNMENT)
    submissions = make_class.write_class({s: files[s] for s in CLASS}, tmp / "submitted")
    timeout = max(20, round(3 * _python_startup()))  # as tests/test_grade_pipeline.py
    clones = [clone_checkout(tmp / name) for name in ("clone-A", "clone-B")]
    return {"tmp": tmp, "submissions": submissions, "timeout": timeout, "clones": clones,
            "env": course.subprocess_env(threads=1)}


@pytest.fixture(scope="class")
def local_run(cluster_class):
    """Graded on a LocalCluster of 2 processes; Ctrl-C after the first merge; resumed."""
    c = cluster_class
    out = c["tmp"] / "local"
    command = _grade(c["submissions"], out, "--jobs", "2", "--timeout", str(c["timeout"]))
    # Started as from a terminal, with SIGINT at its default: a test run started in the
    # background of a script (`make test &`) ignores SIGINT, and its children inherit that.
    first = subprocess.Popen(command, env=c["env"], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, start_new_session=True,
                             preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.time() + 60 * c["timeout"]
    while len(_marks(out)) < 1 and first.poll() is None and time.time() < deadline:
        time.sleep(0.5)
    os.killpg(first.pid, signal.SIGINT)  # what a terminal sends on Ctrl-C: every process
    interrupted_at = time.perf_counter()
    _, first_stderr = first.communicate(timeout=600)
    stop_seconds = time.perf_counter() - interrupted_at
    saved = len(_marks(out))
    second = subprocess.run(command, env=c["env"], capture_output=True, text=True,
                            timeout=120 * c["timeout"])
    return {"first": first, "first_stderr": first_stderr, "stop_seconds": stop_seconds,
            "saved": saved, "second": second, "out": out, "scores": _scores(out),
            "results": json.loads((out / "results.json").read_text())}


def _printed(out, student):
    """What the autograded notebook of ``student`` printed, all cells together."""
    notebook = nbformat.read(Path(out) / "course" / "autograded" / student / ASSIGNMENT /
                             f"{ASSIGNMENT}.ipynb", as_version=4)
    return "".join(o.get("text", "") for c in notebook.cells for o in c.get("outputs", []))


@pytest.fixture(scope="class")
def loopback(cluster_class):
    """``dask scheduler`` and two ``dask worker`` processes (A and B), each from its clone.

    Their kernels may write (CNNBOOK_GRADE_NO_DROP=1), so that each worker's file guard,
    not the kernel's rights, is what keeps bad-writes-checks from the next submission.
    """
    c = cluster_class
    with dispatch.loopback_cluster(c["clones"], c["tmp"] / "dask", names=["A", "B"],
                                   worker_env=[{"CNNBOOK_GRADE_NO_DROP": "1"}] * 2) as cluster:
        yield cluster


@pytest.fixture(scope="class")
def killed_run(cluster_class, loopback):
    """Graded through the scheduler; worker B killed (SIGKILL, with its nanny) mid-task."""
    from distributed import Client

    c, (address, workers) = cluster_class, loopback
    out = c["tmp"] / "cluster"
    run = subprocess.Popen(_grade(c["submissions"], out, "--scheduler", address, "--timeout",
                                  str(c["timeout"])),
                           env=c["env"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    victim = None
    with Client(address, timeout=60, set_as_default=False) as watcher:
        b = next(a for a, w in watcher.scheduler_info(n_workers=-1)["workers"].items()
                 if w["name"] == "B")
        deadline = time.time() + 60 * c["timeout"]
        while victim is None and run.poll() is None and time.time() < deadline:
            busy = watcher.processing(workers=[b]).get(b, [])
            if busy and _marks(out):
                time.sleep(2)  # well into grading that submission
                if watcher.processing(workers=[b]).get(b, []) == busy:
                    victim = busy[0]
                    os.killpg(workers[1].pid, signal.SIGKILL)
            time.sleep(0.3)
    stdout, stderr = run.communicate(timeout=120 * c["timeout"])
    time.sleep(3)  # B's grading process notices that its parent is gone within a second
    left = [pid for pid in os.listdir("/proc") if pid.isdigit() and
            str(c["tmp"] / "dask" / "scratch-B") in _cmdline(pid)]
    return {"run": run, "stderr": stderr, "victim": victim, "out": out, "left": left,
            "scores": _scores(out), "marks": _marks(out),
            "results": json.loads((out / "results.json").read_text())}


def _cmdline(pid):
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


@pytest.mark.slow
class TestCluster:
    """One class graded locally and on a loopback Dask cluster; see the module's docstring."""

    def test_ctrl_c_stops_cleanly_and_the_next_run_resumes(self, local_run):
        stderr = local_run["first_stderr"]
        assert local_run["first"].returncode == 130, stderr[-3000:]
        assert "Traceback" not in stderr, stderr[-3000:]
        assert f"interrupted: {local_run['saved']} of {len(CLASS)} submissions graded and saved" \
            in stderr
        assert local_run["stop_seconds"] < 60
        assert local_run["second"].returncode == 0, local_run["second"].stderr[-3000:]
        assert f"({local_run['saved']} already graded)" in local_run["second"].stderr
        assert sorted(local_run["scores"]) == sorted(CLASS)

    def test_the_local_run_grades_as_expected(self, local_run):
        scores = {s: v[0] for s, v in local_run["scores"].items()}
        full = scores["solution"]
        assert full > 0 and scores["release"] == scores["bad-json"] == 0
        assert scores["bad-writes-checks"] == 0
        assert scores["cheat-allclose"] == scores["wrong"] < full
        assert 0 < scores["bad-exit"] < full and 0 < scores["bad-loop"] < full
        assert scores["bad-reads-hidden-tests"] == full

    def test_the_sandbox_holds_on_the_local_workers(self, local_run):
        """Each Dask worker starts its kernels in this machine's sandbox, and says so."""
        results, how = local_run["results"], sandbox.mode()
        assert results["sandbox"] == {"mode": how, "description": sandbox.describe(how)}
        assert [row["kernels"] for row in results["workers"]] == [[how]] * len(results["workers"])
        assert not any("its kernel ran as" in " ".join(s["problems"])
                       for s in results["submissions"])
        printed = _printed(local_run["out"], "bad-reads-hidden-tests")
        if how != sandbox.BUBBLEWRAP:
            pytest.skip("bubblewrap cannot run here (README.md, For instructors)")
        assert "hidden test blocks read: 0" in printed, printed[-2000:]
        assert leaks(local_run["out"] / "feedback", ASSIGNMENT) == {}

    def test_the_cluster_run_ends_cleanly_without_worker_b(self, killed_run):
        assert killed_run["run"].returncode == 0, killed_run["stderr"][-3000:]
        assert killed_run["victim"], "worker B was never caught grading"
        assert "2 workers (the Dask scheduler at tcp://127.0.0.1:" in killed_run["stderr"]

    def test_a_killed_worker_leaves_no_student_ungraded_or_graded_twice(self, killed_run):
        students = [student for student, _ in killed_run["marks"]]
        assert sorted(students) == sorted(CLASS)  # the marks table's key: at most once each
        rows = [line.split(",") for line in
                (killed_run["out"] / "grades.csv").read_text().splitlines()[1:]]
        assert sorted(r[3] for r in rows) == sorted(CLASS)
        assert all(not s["failed"] for s in killed_run["results"]["submissions"])

    def test_the_killed_workers_submission_was_graded_again_by_the_other(self, killed_run):
        student = next(s for s in CLASS
                       if killed_run["victim"].startswith(f"grade-{dispatch.key_part(s)}-"))
        worker = dict(killed_run["marks"])[student]
        assert json.loads(worker)["worker"] == "A"
        assert killed_run["left"] == [], "worker B's grading process outlived it"

    def test_grades_are_those_of_the_local_run(self, killed_run, local_run):
        assert killed_run["scores"] == local_run["scores"]

    def test_each_workers_guard_restored_its_own_checkout(self, killed_run, cluster_class):
        problems = {s["student"]: " ".join(s["problems"])
                    for s in killed_run["results"]["submissions"]}
        assert "restored: course: src/cnnbook/checks.py" in problems["bad-writes-checks"]
        assert "restored" not in problems["solution"] + problems["wrong"]
        for clone in cluster_class["clones"]:
            assert (clone / "src/cnnbook/checks.py").read_bytes() == \
                (course.ROOT / "src/cnnbook/checks.py").read_bytes()

    def test_kernels_without_the_sandbox_are_reported_and_read_the_hidden_tests(self, killed_run):
        """Control: the loopback workers run kernels as themselves; the report and reader show it."""
        assert killed_run["results"]["sandbox"]["mode"] == sandbox.NONE
        printed = _printed(killed_run["out"], "bad-reads-hidden-tests")
        assert "hidden test blocks read:" in printed
        assert "hidden test blocks read: 0" not in printed

    def test_the_judge_decides_on_every_worker(self, killed_run, local_run):
        """Issue 23 on Dask: each worker's grader gives the kernel's observations to a judge it
        starts itself, and the judge's verdicts replace the test cells' outputs (its note in
        every autograded notebook), locally and through the scheduler alike."""
        for run in (local_run, killed_run):
            graded = sorted((run["out"] / "course" / "autograded").glob(f"*/{ASSIGNMENT}/*.ipynb"))
            assert {"solution", "wrong"} <= {path.parts[-3] for path in graded}, run["out"]
            for path in graded:
                assert "judge" in nbformat.read(path, 4).metadata.get("cnnbook", {}), path

    def test_the_report_shows_each_worker(self, killed_run):
        workers = {row["worker"]: row for row in killed_run["results"]["workers"]}
        assert "A" in workers and set(workers) <= {"A", "B"}
        assert sum(row["submissions"] for row in workers.values()) == len(CLASS)
        tasks = killed_run["results"]["run"]["tasks"]  # the run's own timings, merged one by one
        for name, row in workers.items():
            assert row["seconds"] == pytest.approx(
                sum(t["seconds"] for t in tasks if t["worker"] == name), abs=0.02)
        assert workers["A"]["seconds"] > 0
        page = (killed_run["out"] / "report.html").read_text()
        assert '<h2 id="workers">Workers</h2>' in page and "<td>A</td>" in page

    def test_a_worker_whose_course_differs_is_refused_and_nothing_is_merged(
            self, cluster_class, loopback, killed_run):
        from distributed import Client

        c, (address, _) = cluster_class, loopback
        other = clone_checkout(c["tmp"] / "clone-C")
        with open(other / "src/cnnbook/checks.py", "a") as changed:
            changed.write("# a later version of the course\n")
        env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1",
               "PYTHONPATH": f"{other / 'src'}{os.pathsep}{other / 'tools'}"}
        worker = subprocess.Popen(
            [str(course.BIN / "dask"), "worker", address, "--host", "127.0.0.1", "--nthreads",
             "1", "--name", "C", "--no-dashboard", "--local-directory", str(c["tmp"] / "C")],
            cwd=other, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True)
        try:
            with Client(address, timeout=60, set_as_default=False) as watcher:
                watcher.wait_for_workers(2, timeout=300)  # A and C
            out = c["tmp"] / "refused"
            done = subprocess.run(_grade(c["submissions"], out, "--scheduler", address,
                                         "--timeout", str(c["timeout"])),
                                  env=c["env"], capture_output=True, text=True,
                                  timeout=60 * c["timeout"])
        finally:
            os.killpg(worker.pid, signal.SIGTERM)
            worker.wait(timeout=60)
        assert done.returncode == 1
        assert "Traceback" not in done.stderr, done.stderr[-3000:]
        assert ("worker C refused to grade: its course differs from this one in 1 file: "
                "src/cnnbook/checks.py") in done.stderr
        assert _marks(out) == []  # nothing graded, nothing merged


def test_the_readme_states_the_estimate_that_the_bench_computed():
    """README's hours for 1,000 students come from bench/grade_dask.json, not typed."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("bench_grade",
                                                  course.ROOT / "bench" / "bench_grade.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    record = json.loads(bench.RECORD.read_text())
    readme = (course.ROOT / "README.md").read_text()
    block = readme.split(bench.BEGIN)[1].split(bench.END)[0]
    assert block.strip() == bench.estimate_table(record).strip()
    assert set(record["exercises"]) == set(course.assignments())
    assert {r["mode"] for r in record["runs"]} >= {"local", "scheduler"}
