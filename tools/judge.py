"""The judge: decides every test cell of a graded notebook without running student code.

While a submission is graded (tools/nbgrader_plugins.py, ``GuardedExecute``), its kernel
runs the student's code and the test cells as before, and each test cell's calls of the
student's functions go through ``cnnbook.checks.observe``, which records their results as
plain data (numbers, strings, arrays, Keras models as ``.keras`` files) in outputs of its
own MIME type. The grader strips those outputs and hands them to the judge, a Python
process of its own that has never received student code:

* it reads the course's own source notebook (never the submission), runs its locked set-up
  cells, then its test cells, each in a namespace that holds no student code (a student's
  function name is bound to a stub that fails if a test ever calls it directly);
* in a test cell, ``checks.observe`` returns the kernel's recorded result for that call
  instead of calling anything; the references, the comparisons and the messages run here;
* a model is loaded with Keras' own layers only, in safe mode (``checks.load_model``);
* held-out data on which a returned model is scored is drawn here, from fresh entropy
  (``checks.held_out``);
* its verdict on each test cell (passed, or the error and its message) replaces the test
  cell's outputs in the autograded notebook.

One judge serves a worker for all its submissions (``shared()`` starts it the first time
it is needed and keeps it): TensorFlow is imported once, and each submission gets a fresh
namespace. It exits when the grader that started it does.

    python tools/judge.py --serve FD     # (started by shared(); one JSON request per line)
"""

from __future__ import annotations

import ast
import atexit
import contextlib
import io
import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time

PROTOCOL = 1
_ANSI = re.compile(r"\x1b\[[0-9;]*m")  # Keras' bold and colour in its error messages


class JudgeError(RuntimeError):
    """The judge could not decide a notebook (it crashed or ran past its time)."""


# --------------------------------------------------------------------- the judge's side
def _nbgrader(cell):
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return meta if isinstance(meta, dict) else {}


def _is_test(cell):
    meta = _nbgrader(cell)
    return cell.get("cell_type") == "code" and bool(meta.get("grade")) and not meta.get("solution")


def _is_setup(cell):
    meta = _nbgrader(cell)
    return (cell.get("cell_type") == "code" and bool(meta.get("locked")) and bool(meta.get("grade_id"))
            and not meta.get("grade") and not meta.get("solution"))


def _source(cell):
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def _student_names(cells):
    """Names the solution cells define (functions, classes, variables): the student's in a notebook."""
    names = set()
    for cell in cells:
        if cell.get("cell_type") == "code" and _nbgrader(cell).get("solution"):
            try:
                tree = ast.parse(_source(cell))
            except SyntaxError:
                continue
            for node in tree.body:
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                    names.add(node.name)
    return names


def _stub(name):
    def stub(*args, **kwargs):
        raise AssertionError(f"the grader called {name} outside checks.observe (a course error: "
                             "report it)")

    stub.__name__ = name
    return stub


def judge_notebook(source, observations, stopped=None):
    """Run the source notebook's set-up and test cells on recorded observations.

    Parameters
    ----------
    source : dict
        The course's source notebook (nbformat JSON).
    observations : dict
        For each test cell's grade id, the list of records its kernel emitted.
    stopped : dict, optional
        For each test cell's grade id, the kernel's error in it (said when a test asks for
        a call the kernel never made).

    Returns
    -------
    dict
        For each test cell's grade id: ``passed``, ``ename``, ``evalue``, ``stdout`` and
        ``unused`` (records left over), and for the set-up cells an ``error`` if one failed.
    """
    import builtins

    from cnnbook import checks

    stopped = stopped or {}
    cells = source.get("cells", [])
    namespace = {"__name__": "__main__", "__builtins__": builtins}
    for name in _student_names(cells):
        namespace[name] = _stub(name)
    verdicts = {}
    for cell in cells:
        grade_id = _nbgrader(cell).get("grade_id")
        if _is_setup(cell):
            output = io.StringIO()
            try:
                with contextlib.redirect_stdout(output), contextlib.redirect_stderr(output):
                    exec(compile(_source(cell), f"<set-up {grade_id}>", "exec"), namespace)
            except BaseException as error:  # noqa: BLE001 - the course's own cell failed: no verdict
                raise JudgeError(f"the course's set-up cell {grade_id} failed in the judge: "
                                 f"{type(error).__name__}: {error}") from None
        elif _is_test(cell):
            records = observations.get(grade_id, [])
            output = io.StringIO()
            verdict = {"passed": True, "ename": None, "evalue": None}
            with checks.replaying(records if isinstance(records, list) else [],
                                  stopped.get(grade_id)) as replay:
                try:
                    with contextlib.redirect_stdout(output), contextlib.redirect_stderr(output):
                        exec(compile(_source(cell), f"<test {grade_id}>", "exec"), namespace)
                except BaseException as error:  # noqa: BLE001 - a failed test, whatever it raised
                    verdict = {"passed": False, "ename": type(error).__name__,
                               "evalue": _ANSI.sub("", str(error))[:4000]}
            verdict["stdout"] = output.getvalue()[:20_000]
            verdict["unused"] = len(records) - replay.used if isinstance(records, list) else 0
            verdicts[grade_id] = verdict
    return verdicts


def _prepare():
    """Import what every judged notebook needs, once, before any set-up cell runs.

    Every module of the course's package is imported first, so that its files are read
    before the grader lets any kernel of this worker run student code (``wait_ready``): on a
    machine where kernels can write the course's files, a file changed later does not reach
    the judge (the grader also puts such files back after each submission).
    """
    import importlib
    import pkgutil

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import cnnbook

    for module in pkgutil.iter_modules(cnnbook.__path__):
        importlib.import_module(f"cnnbook.{module.name}")
    import numpy  # noqa: F401
    import tensorflow as tf

    # The exercises' set-up cells that set TensorFlow's threads do it only while they are
    # not yet 2 and 1: set them now, before TensorFlow computes, so that they never try to
    # after an earlier notebook has run.
    tf.config.threading.set_intra_op_parallelism_threads(2)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    import keras  # noqa: F401


def _exit_with_parent():
    parent = os.getppid()
    while True:
        time.sleep(1)
        if os.getppid() != parent:
            os._exit(1)


def serve(result_fd):
    """Answer requests read from stdin (JSON lines) on ``result_fd``, one line each."""
    threading.Thread(target=_exit_with_parent, daemon=True).start()
    out = os.fdopen(result_fd, "w")
    try:
        _prepare()
        out.write(json.dumps({"ready": True, "protocol": PROTOCOL}) + "\n")
    except Exception as error:  # noqa: BLE001 - said to the client, which stops
        out.write(json.dumps({"error": f"{type(error).__name__}: {error}"}) + "\n")
        out.flush()
        return
    out.flush()
    for line in sys.stdin:
        try:
            request = json.loads(line)
            import keras

            keras.backend.clear_session()
            reply = {"nonce": request.get("nonce"),
                     "verdicts": judge_notebook(request["source"], request.get("observations", {}),
                                                request.get("stopped"))}
        except Exception as error:  # noqa: BLE001 - the client raises JudgeError
            reply = {"nonce": request.get("nonce") if isinstance(request, dict) else None,
                     "error": f"{type(error).__name__}: {error}"}
        out.write(json.dumps(reply) + "\n")
        out.flush()


# --------------------------------------------------------------------- the grader's side
class Judge:
    """A judge process, started on first use; ``judge`` sends one notebook and waits for verdicts."""

    def __init__(self, env=None):
        self.env = env
        self.process = None
        self.lines = None
        self.lock = threading.Lock()
        self._nonce = 0

    def start(self):
        """Start the process (returns at once: it imports TensorFlow while the kernel runs)."""
        if self.process is not None and self.process.poll() is None:
            return
        read_end, write_end = os.pipe()
        env = dict(self.env or os.environ)
        env.pop("NBGRADER_EXECUTION", None)
        self.process = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "--serve", str(write_end)],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            text=True, env=env, pass_fds=(write_end,), start_new_session=True,
        )
        os.close(write_end)
        self.lines = queue.Queue()
        self.ready = False
        threading.Thread(target=self._read, args=(os.fdopen(read_end), self.lines),
                         daemon=True).start()

    @staticmethod
    def _read(results, lines):
        for line in results:
            try:
                lines.put(json.loads(line))
            except ValueError:
                lines.put({"error": "the judge wrote a line that is not JSON"})
        lines.put(None)

    def _get(self, timeout):
        try:
            reply = self.lines.get(timeout=timeout)
        except queue.Empty:
            self.stop()
            raise JudgeError(f"the judge did not answer within {timeout:.0f} s") from None
        if reply is None:
            self.stop()
            raise JudgeError("the judge process died")
        return reply

    def _wait_ready(self, timeout):
        self.start()
        if not self.ready:
            reply = self._get(timeout)
            if not reply.get("ready"):
                self.stop()
                raise JudgeError(f"the judge could not start: {reply.get('error')}")
            self.ready = True

    def wait_ready(self, timeout=600):
        """Start the judge if needed and wait until it has imported the course's code; raise JudgeError."""
        with self.lock:
            self._wait_ready(timeout)

    def judge(self, source, observations, stopped=None, timeout=600, may_start=True):
        """Return the verdicts of ``judge_notebook`` on the judge process; raise JudgeError.

        With ``may_start`` False, a judge that is not running (it died, or was killed, while the
        notebook's kernel ran student code) is not started again: a judge started then could
        read course files that the student's code changed.
        """
        with self.lock:
            deadline = time.monotonic() + timeout
            if not may_start and (self.process is None or self.process.poll() is not None):
                raise JudgeError("the judge stopped while the notebook ran")
            self._wait_ready(timeout)
            self._nonce += 1
            request = {"nonce": self._nonce, "source": source, "observations": observations,
                       "stopped": stopped or {}}
            try:
                self.process.stdin.write(json.dumps(request) + "\n")
                self.process.stdin.flush()
            except OSError as error:
                self.stop()
                raise JudgeError(f"the judge process could not be reached: {error}") from None
            reply = self._get(max(1.0, deadline - time.monotonic()))
            if reply.get("nonce") != self._nonce or "error" in reply:
                self.stop()
                raise JudgeError(f"the judge failed: {reply.get('error', 'an answer to another request')}")
            return reply["verdicts"]

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.process.wait()
        self.process = None


_SHARED = None


def shared():
    """The judge of this process (a grading worker), started the first time it is asked for."""
    global _SHARED
    if _SHARED is None:
        _SHARED = Judge()
        atexit.register(_SHARED.stop)
    return _SHARED


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) == 2 and argv[0] == "--serve":
        serve(int(argv[1]))
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
