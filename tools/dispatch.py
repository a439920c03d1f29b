"""Grading dispatched to Dask workers: one code path for one machine and for many.

``tools/grade.py`` turns a class into tasks, one per submission, and hands them to
:func:`grade_all`, which sends them to the workers of a Dask cluster and yields each
result exactly once, as it comes back. Only the process that called it writes the
course's gradebook.

The cluster is the one whose scheduler ``--scheduler tcp://HOST:8786`` names (``dask
scheduler`` and ``dask worker`` started by hand, by dask-jobqueue on Slurm or PBS, by
dask-kubernetes), or by default a ``distributed.LocalCluster`` of ``--jobs``
single-threaded worker processes on this machine (:func:`connect`). The local cluster
talks TLS with keys made for the run and held in memory only: without them, a student's
kernel on this machine could connect to the scheduler on 127.0.0.1 and run code in the
workers, as their user (which it can where they are plain TCP).

Each worker sets itself up once per run with a :class:`GradingPlugin` (a Dask
``WorkerPlugin``):

* it proves that it grades with the client's course: the SHA-256 of every file grading
  depends on in its own checkout (``grade.GUARDED``: the course's config, tools, package,
  lock, solutions and release) must equal the client's, and each task's grader digest
  (``grade.grader_digest``) must equal its own. A worker that differs refuses every task;
  the run stops with :class:`Refused`, which names the worker and the files;
* its own nbgrader course, made from its own ``solutions/`` (a worker on the client's
  machine and checkout copies the client's, which is made from the same files);
* the guard of its checkout (:class:`CheckoutGuard`) and a grading process
  (``grade.Worker``) where nbgrader and the kernels run under a deadline: a submission
  that hangs or kills its kernel costs that process, which is started again, never the
  Dask worker. The kernels start in the worker's sandbox (tools/sandbox.py: bubblewrap,
  else a fresh uid where the worker is root), which the worker states once and every
  result confirms.

A task (:func:`grade_task`) carries the submission's bytes, its assignment, the run's id
and the grader's digest. It returns what the client merges: the grades of every test
cell, the autograded notebook and the feedback as bytes, the problems grading found and
the files the guards restored, and which worker graded it in how many seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import json
import logging
import os
import re
import secrets
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from pathlib import Path

from distributed.diagnostics.plugin import WorkerPlugin

sys.path.insert(0, str(Path(__file__).resolve().parent))

CONNECT_TIMEOUT = 10  # seconds to reach a scheduler before giving up
WORKER_TIMEOUT = 600  # seconds to wait for a first worker (a Slurm job may queue a while)
SKIPPED_PARTS = {"__pycache__", ".ipynb_checkpoints"}  # differ between checkouts, grade nothing
MAX_FILE = 20_000_000  # bytes: a larger file in a graded folder is not sent back


class Refused(Exception):
    """A worker that cannot grade for this run: it names the worker and why."""

    def __init__(self, worker, why):
        super().__init__(worker, why)
        self.worker, self.why = worker, why

    def __str__(self):
        return f"worker {self.worker} refused to grade: {self.why}"


class CourseDiffers(Refused):
    """A worker whose checkout holds other files than the client's (``files``: their paths)."""

    def __init__(self, worker, files):
        shown = ", ".join(files[:12]) + (f" and {len(files) - 12} more" if len(files) > 12 else "")
        super().__init__(worker, f"its course differs from this one in {len(files)} "
                                 f"file{'s' if len(files) != 1 else ''}: {shown}")
        self.args, self.files = (worker, files), files


# ------------------------------------------------------------ the course's files
def course_files(root=None):
    """Return {path relative to the checkout: SHA-256} of the files grading depends on.

    These are the files ``grade.GUARDED`` names (everything under its folders), less
    Python's byte-code caches and Jupyter's checkpoints, which differ from checkout to
    checkout and grade nothing. Two workers grade alike when these maps are equal.
    """
    import course
    import grade

    root = Path(root or course.ROOT)
    found = {}
    for name in grade.GUARDED:
        path = root / name
        files = [path] if path.is_file() else sorted(
            p for p in path.rglob("*") if p.is_file()) if path.is_dir() else []
        for file in files:
            relative = file.relative_to(root)
            if SKIPPED_PARTS & set(relative.parts) or file.name.startswith("."):
                continue
            found[relative.as_posix()] = hashlib.sha256(file.read_bytes()).hexdigest()
    return found


def differing(ours, theirs):
    """Paths whose files differ between two maps of :func:`course_files` (or exist in one only)."""
    return sorted(path for path in set(ours) | set(theirs) if ours.get(path) != theirs.get(path))


def _private_folder(path):
    """Create ``path`` (mode 0700) or accept it if it is already this user's alone; return it."""
    path = Path(path)
    with contextlib.suppress(FileExistsError):
        path.mkdir(mode=0o700)
    info = path.lstat()
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o077:
        raise RuntimeError(f"{path} is not a folder of this user's alone")
    return path


class CheckoutGuard:
    """The files grading depends on in one checkout, guarded for every worker that runs from it.

    Several worker processes often share a checkout (a LocalCluster, ``dask worker
    --nworkers 2``). They share one snapshot of its files, taken by the first of them to
    set up in this run and kept in a folder only this user can enter, so that a worker
    that starts later (or is started again after a crash) restores the files as they were
    when the run began, not as a kernel may have left them. The same folder lists the
    submissions being graded from this checkout: a change that any worker finds (and
    puts back) is reported for every one of them, since nobody can tell which kernel
    made it.
    """

    def __init__(self, root, run_id):
        import grade

        root = Path(root).resolve()
        self.folder = _guard_folder(root, run_id)
        _private_folder(self.folder)
        _sweep(self.folder)
        snapshot = self.folder / "snapshot.zip"
        with self._locked():
            members = self.folder / "members.json"
            pids = json.loads(members.read_text()) if members.exists() else []
            members.write_text(json.dumps(pids + [os.getpid()]))
            if snapshot.exists():
                with zipfile.ZipFile(snapshot) as archive:
                    saved = {root / name: ("course", archive.read(name))
                             for name in archive.namelist()}
                self.guard = grade.FileGuard({"course": root}, grade.GUARDED, saved=saved)
            else:
                self.guard = grade.FileGuard({"course": root}, grade.GUARDED)
                with zipfile.ZipFile(snapshot.with_suffix(".part"), "w") as archive:
                    for file, (_, data) in self.guard.saved.items():
                        archive.writestr(file.relative_to(root).as_posix(), data)
                snapshot.with_suffix(".part").replace(snapshot)

    @contextlib.contextmanager
    def _locked(self):
        with open(self.folder / "lock", "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _ledger(self):
        path = self.folder / "in-flight.json"
        ledger = json.loads(path.read_text()) if path.exists() else {}
        for entry, value in list(ledger.items()):  # workers that died mid-task
            if not _alive(value["pid"]):
                del ledger[entry]
        return ledger

    def _save(self, ledger):
        part = self.folder / "in-flight.part"
        part.write_text(json.dumps(ledger))
        part.replace(self.folder / "in-flight.json")

    def begin(self):
        """Before a submission: put back what changed (reported for those in flight); return its entry."""
        with self._locked():
            ledger = self._ledger()
            changed = self.guard.check()
            for value in ledger.values():
                value["changes"] += changed
            entry = secrets.token_hex(8)
            ledger[entry] = {"pid": os.getpid(), "changes": []}
            self._save(ledger)
        return entry

    def end(self, entry, extra=()):
        """After a submission: put back what changed; return every change seen while it was graded.

        ``extra`` are changes found elsewhere (the worker's own course), reported like these.
        """
        with self._locked():
            ledger = self._ledger()
            changed = self.guard.check() + list(extra)
            for value in ledger.values():
                value["changes"] += changed
            mine = ledger.pop(entry, {"changes": changed})["changes"]
            self._save(ledger)
        return sorted(set(mine))


def _guard_folder(root, run_id):
    """The folder of a run's CheckoutGuard for a checkout: in the temporary folder, per user."""
    tag = hashlib.sha256(f"{Path(root).resolve()}\0{run_id}".encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"cnnbook-grading-{os.getuid()}-{tag}"


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return True


def _sweep(keep):
    """Remove the guard folders of earlier runs whose workers are all gone (a run that crashed)."""
    for folder in keep.parent.glob(f"cnnbook-grading-{os.getuid()}-*"):
        if folder == keep or time.time() - folder.stat().st_mtime < 60:
            continue
        try:
            pids = json.loads((folder / "members.json").read_text())
        except (OSError, ValueError):
            pids = []
        if not any(_alive(pid) for pid in pids):
            shutil.rmtree(folder, ignore_errors=True)


def forget(run_id, root=None):
    """After a run: remove its guard folder of the checkout ``root`` (default: this one)."""
    import course

    shutil.rmtree(_guard_folder(root or course.ROOT, run_id), ignore_errors=True)


# ------------------------------------------------------------------ the worker
def plugin_name(out):
    """The plugin's name for a class graded into the folder ``out`` (of this machine).

    A run registers it on the scheduler, which sets it up on every worker that joins, and
    removes it at the end. A run that crashed leaves it registered: the next run of the
    same class replaces it, while runs of other classes share the cluster beside it.
    """
    where = f"{socket.gethostname()}:{Path(out).resolve()}"
    return f"cnnbook-grading-{hashlib.sha256(where.encode()).hexdigest()[:12]}"


class GradingPlugin(WorkerPlugin):
    """Set up a Dask worker once per run to grade this course; :func:`grade_task` uses it.

    Parameters
    ----------
    run_id : str
        The run's id, which every task carries.
    out : str
        The run's output folder: the plugin's name is made from it (:func:`plugin_name`).
    digest : str
        The grader's digest (``grade.grader_digest``) on the client.
    files : dict
        The client's :func:`course_files`.
    assignment_names : list of str
        The assignments of the run.
    timeout : int
        Seconds per cell (``Execute.timeout``), as the client's course has it.
    threads : int or None
        TensorFlow and OpenMP threads of each kernel (None: their defaults).
    template : str
        The client's nbgrader course, copied by a worker on the same machine and checkout.
    local : bool
        True for the workers of the client's LocalCluster: they leave Ctrl-C to the client,
        which stops them (a terminal sends it to every process of the run).
    """

    idempotent = False

    def __init__(self, run_id, out, digest, files, assignment_names, timeout, threads, template,
                 local=False):
        import course

        self.run_id, self.digest, self.files = run_id, digest, files
        self.assignment_names, self.timeout, self.threads = list(assignment_names), timeout, threads
        self.template, self.origin = str(template), (socket.gethostname(), str(course.ROOT))
        self.name, self.local = plugin_name(out), local

    def __getstate__(self):
        state = dict(self.__dict__)
        for name in ("ready", "refusal", "grader", "guard", "folder", "lock"):
            state.pop(name, None)  # worker-side state never travels
        return state

    async def setup(self, worker):
        """Prepare in a thread (so the worker keeps talking to the scheduler); raise a refusal."""
        self.ready, self.refusal, self.grader, self.lock = threading.Event(), None, None, \
            threading.Lock()
        self.worker_name, self.host = _worker_label(worker), socket.gethostname()
        self.folder = Path(worker.local_directory) / f"cnnbook-{self.run_id}"
        if self.local and threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGINT, _leave_to_the_client)  # reset to default in children
        await asyncio.get_running_loop().run_in_executor(None, self._prepare)
        if self.refusal:
            raise self.refusal

    def _prepare(self):
        sys.dont_write_bytecode = True  # so that any new file in the checkout is a kernel's
        try:
            import course
            import grade
            import sandbox

            differ = differing(self.files, course_files())
            if differ:
                self.refusal = CourseDiffers(self.worker_name, differ)
                return
            if grade.grader_digest(self.assignment_names, self.timeout) != self.digest:
                self.refusal = Refused(self.worker_name, "its grader digest differs")
                return
            template = self.folder / "template"
            shutil.rmtree(self.folder, ignore_errors=True)
            self.folder.mkdir(parents=True)
            client_template = Path(self.template)
            stamp = client_template.parent / "grader.sha256"
            if self.origin == (socket.gethostname(), str(course.ROOT)) and stamp.exists() \
                    and stamp.read_text() == self.digest:
                shutil.copytree(client_template, template, symlinks=True)
                course.write_course_config(template, timeout=self.timeout)
            else:
                course.make_course(template, self.assignment_names, timeout=self.timeout)
            self.guard = CheckoutGuard(course.ROOT, self.run_id)
            env = {name: value for name, value in course.subprocess_env(self.threads).items()
                   if not name.startswith("DASK_")}
            env["PYTHONDONTWRITEBYTECODE"] = "1"
            # How this worker's kernels run (tools/sandbox.py), decided here once, as the
            # grading process started below decides it, with the same environment.
            self.kernels = sandbox.mode()
            self.kernels_description = sandbox.describe(self.kernels)
            self.grader = grade.Worker(template, self.folder / "course", env)
            self.grader.start()  # nbgrader imported before the first task arrives
        except Exception as error:  # noqa: BLE001 - reported to the client, which stops
            self.refusal = Refused(self.worker_name, f"it could not set up its course: "
                                                     f"{type(error).__name__}: {error}")
        finally:
            self.ready.set()

    def teardown(self, worker):
        if getattr(self, "grader", None) is not None:
            self.grader.stop()
        if getattr(self, "folder", None) is not None:
            shutil.rmtree(self.folder, ignore_errors=True)

    def grade(self, task):
        """Grade one task in this worker's grading process; return the result to merge."""
        import grade

        self.ready.wait()
        if self.refusal:
            raise self.refusal
        if task["run"] != self.run_id:
            raise Refused(self.worker_name, "it was set up for another run of this class")
        if task["digest"] != self.digest:
            raise Refused(self.worker_name, "the task was made by another version of the grader")
        with self.lock:  # one submission at a time per grading process
            started = time.time()
            try:
                entry = self.guard.begin()
                try:
                    if task["empty"]:  # nothing gradable was submitted: 0, no kernel
                        result = {"student": task["student"], "assignment": task["assignment"],
                                  "cells": {}, "seconds": 0, "problems": []}
                    else:
                        result = self.grader.grade(task, task["deadline"])
                except Exception as error:  # noqa: BLE001 - every task gets a result
                    result = grade.failure(task, f"the grader failed: "
                                                 f"{type(error).__name__}: {error}")
                changed = self.guard.end(entry, self.grader.check())
                result["files"], problems = self._collect(result)
                ran = result.get("sandbox")  # how its kernels ran, as nbgrader_plugins saw it
                if ran and ran != [self.kernels]:
                    problems.append(f"its kernel ran as '{' and '.join(ran)}', not as "
                                    f"'{self.kernels}' as worker {self.worker_name} states "
                                    "(tools/sandbox.py)")
                if changed:
                    problems.append(
                        "files the grading depends on changed while it was graded, and were "
                        "restored: " + ", ".join(changed[:8]) +
                        (" ..." if len(changed) > 8 else ""))
                result.setdefault("problems", []).extend(problems)
            except Exception as error:  # noqa: BLE001 - the guard failed, or the run is ending
                result = grade.failure(task, f"worker {self.worker_name} could not finish "
                                             f"grading it: {type(error).__name__}: {error}")
            result.update(worker=self.worker_name, host=self.host, kernels=self.kernels,
                          kernels_description=self.kernels_description,
                          digest=self.digest, started=started, finished=time.time())
            return result

    def _collect(self, result):
        """Read the autograded and feedback folders into {"kind/path": bytes}; remove them."""
        files, problems = {}, []
        course_dir = self.folder / "course"
        for kind in ("autograded", "feedback"):
            folder = result.pop(kind, None)
            if not folder:
                continue
            folder = Path(folder)
            for path in sorted(folder.rglob("*")) if folder.is_dir() else []:
                if path.is_symlink() or not path.is_file():
                    continue
                if path.stat().st_size > MAX_FILE:
                    problems.append(f"{kind}/{path.relative_to(folder)} is larger than "
                                    f"{MAX_FILE // 1_000_000} MB: not kept")
                    continue
                files[f"{kind}/{path.relative_to(folder).as_posix()}"] = path.read_bytes()
        for kind in ("submitted", "autograded", "feedback"):
            shutil.rmtree(course_dir / kind / result["student"] / result["assignment"],
                          ignore_errors=True)
        return files, problems


def _leave_to_the_client(signum, frame):
    """SIGINT in a local worker: the client, interrupted too, stops the cluster."""


def _worker_label(worker):
    """How the report names a worker: its name if it was given one, else its address."""
    return str(worker.name) if str(worker.name) != worker.address else worker.address


def grade_task(task):
    """The Dask task: grade one submission with this worker's plugin for the task's run.

    It travels by value (:func:`_by_value`), so it names nothing of this module but
    through the imports in its body: on the worker, they are the worker's own.
    """
    import dispatch
    from distributed import get_worker

    worker = get_worker()
    plugin = worker.plugins.get(task["plugin"])
    if plugin is None:  # the run ended (Ctrl-C) and removed it before this task could be cancelled
        return {"student": task["student"], "assignment": task["assignment"],
                "not_set_up": dispatch._worker_label(worker)}
    return plugin.grade(task)


def _by_value(function):
    """A copy of ``function`` that belongs to no module, so that Dask sends its code.

    A Dask scheduler unpickles every task it is given: a function named by reference
    (``dispatch.grade_task``) would need the course's tools on the scheduler's path too.
    Pickle cannot name the copy, so Dask falls back to cloudpickle, which sends its
    code, and any ``dask scheduler`` will do.
    """
    import builtins
    import types

    return types.FunctionType(function.__code__, {"__builtins__": builtins}, function.__name__)


# ------------------------------------------------------------------ the client
@contextlib.contextmanager
def connect(scheduler=None, jobs=1, local_directory=None):
    """Yield a Dask client: of the scheduler at ``scheduler``, or of a new LocalCluster.

    The LocalCluster has ``jobs`` worker processes of one thread each, listens on
    127.0.0.1 only and talks TLS with keys made for it; its workers keep their files (and
    their course copies) in ``local_directory``. A scheduler that cannot be
    reached within ``CONNECT_TIMEOUT`` seconds, or that has no worker within
    ``WORKER_TIMEOUT``, ends the run with a message (SystemExit), not a traceback.
    """
    from distributed import Client, LocalCluster

    logging.getLogger("distributed").setLevel(logging.ERROR)
    cluster = None
    if scheduler:
        try:
            client = Client(scheduler, timeout=CONNECT_TIMEOUT, set_as_default=False)
        except (OSError, TimeoutError, ValueError) as error:
            raise SystemExit(f"cannot reach the Dask scheduler at {scheduler}: {error}. "
                             "Is `dask scheduler` running there, and is its port open to "
                             "this machine?") from None
    else:
        cluster = LocalCluster(n_workers=jobs, threads_per_worker=1, processes=True,
                               host="127.0.0.1", dashboard_address="127.0.0.1:0",
                               security=True, silence_logs=logging.ERROR,
                               env={"PYTHONDONTWRITEBYTECODE": "1"},
                               local_directory=local_directory)
        client = Client(cluster, set_as_default=False)
    try:
        if scheduler and not client.nthreads():
            print(f"waiting for a worker to join the scheduler at {scheduler} ...",
                  file=sys.stderr)
            try:
                client.wait_for_workers(1, timeout=WORKER_TIMEOUT)
            except TimeoutError:
                raise SystemExit(f"the Dask scheduler at {scheduler} has no worker after "
                                 f"{WORKER_TIMEOUT} s: start some (README.md, \"A class too "
                                 "big for one machine\")") from None
        yield client
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def dashboard(client):
    """The address of the scheduler's dashboard, or None when it has none (no bokeh there)."""
    try:
        bokeh = client.get_versions(packages=["bokeh"])["scheduler"]["packages"].get("bokeh")
    except Exception:  # noqa: BLE001 - a dashboard is a convenience
        return None
    return (client.dashboard_link or None) if bokeh else None


def _register(client, plugin):
    """Register the run's plugin on every worker; return the refusals (:class:`Refused`).

    ``Client.register_plugin`` raises the first error a worker's ``setup`` raised; a
    worker that could not even take the plugin (not this course's tools) is a refusal too.
    """
    try:
        client.register_plugin(plugin, name=plugin.name)
    except Refused as refusal:
        return [refusal]
    except Exception as error:  # noqa: BLE001 - any worker that cannot set up stops the run
        return [Refused("(unnamed)", f"it could not take the run's plugin: "
                                     f"{type(error).__name__}: {error}")]
    return []


def grade_all(client, tasks, plugin):
    """Grade ``tasks`` on the client's workers; yield (task, result) once for each.

    At most twice as many tasks as the cluster has threads are handed to the scheduler at
    a time (a class's notebooks are not all held in its memory). A task whose worker
    died is run again elsewhere by Dask; one that killed its worker three times
    (``distributed.scheduler.allowed-failures``) comes back as a failed result, graded
    again by the next run. A worker that refuses (:class:`Refused`) stops the run:
    SystemExit naming the worker and why, nothing more merged.
    """
    from distributed import as_completed
    from distributed.scheduler import KilledWorker

    import grade

    refusals = _register(client, plugin)
    task_function = _by_value(grade_task)
    if refusals:
        _stop(client, plugin, [])
        raise SystemExit("the run stopped before grading: " + "; ".join(map(str, refusals)))
    waiting, running, finished = list(reversed(tasks)), {}, as_completed(loop=client.loop)

    def submit():
        window = max(2, 2 * sum(client.nthreads().values()))
        while waiting and len(running) < window:
            task = {**waiting.pop(), "run": plugin.run_id, "plugin": plugin.name,
                    "digest": plugin.digest}
            future = client.submit(task_function, task, pure=False, key=task_key(task))
            running[future] = task
            finished.add(future)

    try:
        submit()
        for future in finished:
            task = running.pop(future)
            try:
                result = future.result()
            except Refused as refusal:
                raise SystemExit(f"the run stopped: {refusal}. Nothing that worker did was "
                                 "merged; run again once it grades with this course, or "
                                 "without it") from None
            except KilledWorker as error:
                result = grade.failure(task, f"the Dask workers grading it died "
                                             f"({error}): graded again by the next run")
            except Exception as error:  # noqa: BLE001 - one submission, not the class
                result = grade.failure(task, f"the grader failed: {type(error).__name__}: {error}")
            else:
                if result.get("not_set_up"):  # not an error in the worker's log: see grade_task
                    result = grade.failure(task, f"worker {result['not_set_up']} was not set up "
                                                 "for this run: graded again by the next run")
                elif result.get("digest") != plugin.digest:  # never merged: stop
                    raise SystemExit(f"the run stopped: worker {result.get('worker')} sent a "
                                     "result graded with another version of the grader")
            yield task, result
            submit()
    finally:
        _stop(client, plugin, list(running))


def key_part(text):
    """``text`` as a part of a Dask key: letters, digits, ``_`` and ``.``; the rest ``_``."""
    return re.sub(r"[^A-Za-z0-9_.]", "_", text)


def task_key(task):
    """A task's Dask key, ``grade-<student>-<assignment>-<random>``: the dashboard shows it."""
    return (f"grade-{key_part(task['student'])}-{key_part(task['assignment'])}-"
            f"{secrets.token_hex(4)}")


def _stop(client, plugin, futures):
    """Cancel what is left; remove the run's plugin (its course copies) and guard folders."""
    with contextlib.suppress(Exception):
        if futures:
            client.cancel(futures)
        client.unregister_worker_plugin(plugin.name)
        client.run(forget, plugin.run_id)


# ------------------------------------------------------- a cluster on this machine
@contextlib.contextmanager
def loopback_cluster(checkouts, folder, names=None, worker_env=None):
    """Start ``dask scheduler`` and one ``dask worker`` per checkout, on 127.0.0.1 only.

    Each worker runs from its own checkout (its ``src/`` and ``tools/`` first on
    ``PYTHONPATH``, its folder as working directory), with one thread, a nanny and the
    name ``names[i]``; ``worker_env[i]`` adds to its environment. Yields ``(address,
    processes)``: the scheduler's address and the ``dask worker`` processes, in order
    (killing one with SIGKILL takes its worker down with it). For tests and benchmarks;
    every process is stopped on exit.
    """
    import course

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    names = names or [f"worker-{i}" for i in range(len(checkouts))]
    worker_env = worker_env or [{} for _ in checkouts]
    dask = str(course.BIN / "dask")
    log = open(folder / "cluster.log", "ab")  # noqa: SIM115 - closed below
    scheduler_file = folder / "scheduler.json"
    scheduler_file.unlink(missing_ok=True)
    processes = [subprocess.Popen(
        [dask, "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
         "--scheduler-file", str(scheduler_file)],
        stdout=log, stderr=log, start_new_session=True)]
    try:
        deadline = time.time() + 120
        while not scheduler_file.exists():
            if time.time() > deadline or processes[0].poll() is not None:
                raise RuntimeError(f"dask scheduler did not start: see {folder / 'cluster.log'}")
            time.sleep(0.2)
        address = json.loads(scheduler_file.read_text())["address"]
        workers = []
        for checkout, name, extra in zip(checkouts, names, worker_env):
            checkout = Path(checkout).resolve()
            env = {**os.environ, **extra, "PYTHONDONTWRITEBYTECODE": "1",
                   "PYTHONPATH": f"{checkout / 'src'}{os.pathsep}{checkout / 'tools'}"}
            workers.append(subprocess.Popen(
                [dask, "worker", address, "--host", "127.0.0.1", "--nthreads", "1",
                 "--name", name, "--no-dashboard", "--local-directory",
                 str(folder / f"scratch-{name}")],
                cwd=checkout, env=env, stdout=log, stderr=log, start_new_session=True))
        processes += workers
        from distributed import Client

        with Client(address, timeout=60, set_as_default=False) as client:
            client.wait_for_workers(len(workers), timeout=300)
        yield address, workers
    finally:
        for process in reversed(processes):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        for process in reversed(processes):
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        log.close()
