"""Grade one solution submission per assignment with tools/grade.py: wall and CPU seconds.

    .venv/bin/python bench/bench_grade_one.py 01_convolution 06_yolo
    CNNBOOK_GRADE_NO_BWRAP=1 .venv/bin/python bench/bench_grade_one.py 01_convolution 06_yolo

It imports ``tools/`` from the current directory, so the same file measures an older
checkout too: ``git archive <commit> | tar -x -C DIR``, link ``DIR/.venv`` to a virtual
environment, copy this file there and run it from ``DIR`` with ``PYTHONPATH=DIR/src``.
For each assignment it prints how the kernels ran (tools/sandbox.py; an older grader
without it reports nothing), the score, the seconds the submission spent in its worker,
and the run's wall time and CPU time (this process and the children it waited for; a
kernel the grader kills instead of reaping is not counted).
"""

import os
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, "tools")
import course  # noqa: E402
import grade  # noqa: E402
import make_class  # noqa: E402


def cpu():
    """CPU seconds (user + sys) of this process and its reaped children."""
    own, children = (resource.getrusage(who) for who in
                     (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def main(assignments):
    for assignment in assignments:
        with tempfile.TemporaryDirectory() as tmp:
            reference, _ = course.reference_class(assignment)
            solution = {n: make_class.notebook_bytes(nb) for n, nb in reference["solution"].items()}
            folder = make_class.write_class({"s00": solution}, Path(tmp) / assignment)
            load, cpu0, start = os.getloadavg()[0], cpu(), time.perf_counter()
            results = grade.run(folder, Path(tmp) / "out", jobs=1,
                                assignment_names=[assignment], quiet=True)
            wall, seconds = time.perf_counter() - start, cpu() - cpu0
            (submission,) = results["submissions"]
            how = results.get("sandbox", {}).get("mode", "(not reported)")
            print(f"{assignment}: kernels {how!r}, score {submission['score']}/"
                  f"{results['assignments'][assignment]['max_score']}, in its worker "
                  f"{submission['seconds']:.1f} s, run wall {wall:.1f} s, CPU {seconds:.1f} s, "
                  f"load before {load:.2f}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
