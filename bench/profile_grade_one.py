"""Where the seconds of grading one solution submission go (issue 23, item 7).

    .venv/bin/python bench/profile_grade_one.py 01_convolution 3

Sets up the course as ``tools/grade.py`` does, then calls ``grade.grade_one`` in this
process (no Dask worker around it) ``RUNS`` times on the assignment's solution, with the
grader's steps timed: nbgrader's autograde and feedback, the kernel's cells by kind
(set-up, student, test, and the guard's hidden cells), the round trip to the judge (sending
the recorded calls, the judge's replay and references, the verdicts back) and the judge
process's own CPU time. The first run also pays the judge's start (TensorFlow's import),
as the first submission of a worker does; later runs show a worker's steady state. The
kernel's CPU time is not reported here (it runs in its own process, in the sandbox): see
``bench/profile_test_cells.py`` for the test cells' cost inside a kernel.
"""

import collections
import functools
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import course  # noqa: E402
import grade  # noqa: E402
import judge  # noqa: E402
import make_class  # noqa: E402
import nbgrader_plugins  # noqa: E402

SECONDS, CALLS = collections.defaultdict(float), collections.Counter()


def timed(owner, name, label):
    """Wrap ``owner.name`` so that its wall seconds add up under ``label``."""
    function = getattr(owner, name)

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        start = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            SECONDS[label] += time.perf_counter() - start
            CALLS[label] += 1

    setattr(owner, name, wrapper)


def _time_cells():
    execute = nbgrader_plugins.GuardedExecute.execute_cell

    def execute_cell(self, cell, index, *args, **kwargs):
        kind = ("test" if nbgrader_plugins.is_test_cell(cell) else "student"
                if nbgrader_plugins.is_student_cell(cell) else "set-up")
        start, cpu = time.perf_counter(), time.process_time()
        try:
            return execute(self, cell, index, *args, **kwargs)
        finally:
            if cell.cell_type == "code":
                SECONDS[f"{kind} cells (wall)"] += time.perf_counter() - start
                CALLS[f"{kind} cells (wall)"] += 1
                SECONDS[f"{kind} cells: this process's CPU (nbclient, messages)"] += \
                    time.process_time() - cpu
                if kind == "test":
                    SECONDS[f"  {cell.metadata.nbgrader.grade_id}"] += time.perf_counter() - start

    nbgrader_plugins.GuardedExecute.execute_cell = execute_cell
    timed(nbgrader_plugins.GuardedExecute, "_restore", "the guard's restore (hidden cells)")
    timed(nbgrader_plugins.GuardedExecute, "_decide", "judging: _decide")
    timed(judge.Judge, "judge", "judging: round trip to the judge")
    timed(judge.Judge, "wait_ready", "waiting for the judge to be ready")


def _judge_cpu():
    process = judge.shared().process
    if process is None or process.poll() is not None:
        return 0.0
    times = psutil.Process(process.pid).cpu_times()
    return times.user + times.system


def main(assignment="01_convolution", runs=3):
    os.environ.update(course.subprocess_env(1))
    _time_cells()
    tmp = Path(tempfile.mkdtemp(prefix="profile-grade-"))
    try:
        out = tmp / "out"
        out.mkdir()
        _, template = grade._setup(out, [assignment], None, False)
        folder = tmp / "course"
        shutil.copytree(template, folder, symlinks=True)
        course.write_course_config(folder, timeout=grade.read_timeout(template))
        api = grade._api(folder)
        timed(api, "autograde", "nbgrader autograde")
        timed(api, "generate_feedback", "nbgrader generate_feedback")
        reference, _ = course.reference_class(assignment)
        notebooks = {name: make_class.notebook_bytes(nb).decode("utf-8")
                     for name, nb in reference["solution"].items()}
        for run in range(runs):
            SECONDS.clear()
            CALLS.clear()
            judge_cpu, cpu, start = _judge_cpu(), time.process_time(), time.perf_counter()
            result = grade.grade_one(api, folder, {"student": f"s{run}", "assignment": assignment,
                                                   "notebooks": notebooks})
            wall = time.perf_counter() - start
            SECONDS["this process's CPU, whole submission"] = time.process_time() - cpu
            SECONDS["the judge's CPU, whole submission"] = _judge_cpu() - judge_cpu
            score = sum(cell[0] or 0 for cell in result["cells"].values())
            top = sum(cell[4] or 0 for cell in result["cells"].values())
            print(f"run {run}: {wall:.2f} s, score {score}/{top}, problems {result['problems']}, "
                  f"load average {os.getloadavg()[0]:.2f}")
            for label in sorted(SECONDS, key=SECONDS.get, reverse=True):
                count = f" x{CALLS[label]}" if CALLS[label] else ""
                print(f"    {label:60s} {SECONDS[label]:7.2f} s{count}")
            sys.stdout.flush()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main(*(sys.argv[1:2] or ["01_convolution"]), *(int(a) for a in sys.argv[2:3]))
