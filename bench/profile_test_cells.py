"""The CPU cost of exercise 1's test cells inside one Python process, with the grader's guard.

    .venv/bin/python bench/profile_test_cells.py                # guard, recording on
    .venv/bin/python bench/profile_test_cells.py --norecord     # guard, nothing recorded
    .venv/bin/python bench/profile_test_cells.py --noguard      # as in JupyterLab
    .venv/bin/python bench/profile_test_cells.py --samples      # and where the time goes

Runs the solution notebook of 01_convolution in an IPython shell (no kernel, no nbgrader),
as the grader's kernel would: the guard of tools/nbgrader_plugins.py is set up before the
first student cell, and its restore runs before every locked and test cell; with it,
``checks.observe`` records each call (``checks._RECORD``), each record serialised to JSON
as the kernel's message would be (the message is not sent). Prints the test cells' wall
and CPU seconds (this process's). With ``--samples`` a thread samples the main thread's
stack every 2 ms while test cells run and prints the functions holding most samples
(inclusive, then innermost); the sampling thread adds its own CPU time.

Run it from another checkout to compare graders: ``cd OTHER && PYTHONPATH=OTHER/src
python /path/to/profile_test_cells.py`` reads tools/ and solutions/ of the current directory.
"""

import collections
import json
import os
import sys
import threading
import time
from pathlib import Path

import nbformat
from IPython.core.interactiveshell import InteractiveShell

ROOT = Path.cwd()
sys.path.insert(0, str(ROOT / "tools"))
import nbgrader_plugins as plugins  # noqa: E402


def main(argv):
    record, guard, sampling = "--norecord" not in argv, "--noguard" not in argv, "--samples" in argv
    notebook = nbformat.read(ROOT / "solutions/01_convolution/01_convolution.ipynb", 4)
    shell = InteractiveShell.instance()
    shell.display_pub.publish = lambda data, metadata=None, **kwargs: json.dumps(
        {"data": data, "metadata": metadata})
    inclusive, innermost, samples, sampling_now = collections.Counter(), collections.Counter(), [0], [False]
    main_thread = threading.main_thread().ident

    def label(frame):
        return f"{frame.f_code.co_name} ({os.path.basename(frame.f_code.co_filename)}:" \
               f"{frame.f_code.co_firstlineno})"

    def sampler():
        while True:
            time.sleep(0.002)
            frame = sys._current_frames().get(main_thread) if sampling_now[0] else None
            if frame is None:
                continue
            samples[0] += 1
            innermost[label(frame)] += 1
            seen = set()
            while frame is not None:
                seen.add(label(frame))
                frame = frame.f_back
            inclusive.update(seen)

    if sampling:  # started before the guard's snapshot: a thread of the kernel's own
        threading.Thread(target=sampler, daemon=True).start()
    traits = plugins.GuardedExecute.class_traits()
    imports = list(traits["clean_imports"].default())
    for cell in notebook.cells:
        if cell.cell_type == "code" and not plugins.is_student_cell(cell) and not plugins.is_test_cell(cell):
            imports += [m for m in plugins._imports(cell.source) if m not in imports]
    name, token = "_profile_guard", "token"
    seconds, ready = collections.Counter(), False

    def run(code):
        result = shell.run_cell(code, store_history=False, silent=True)
        if result.error_in_exec is not None or result.error_before_exec is not None:
            raise SystemExit(f"a cell failed: {result.error_in_exec or result.error_before_exec}")

    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        student, test = plugins.is_student_cell(cell), plugins.is_test_cell(cell)
        if (student or test) and guard and not ready:
            ready = True
            run(plugins._SNAPSHOT_CODE.replace("@NAME@", name)
                .replace("@PREFIXES@", repr(tuple(traits["protected_modules"].default())))
                .replace("@IMPORTS@", repr(tuple(imports))).replace("@TOKEN@", repr(token)))
            if not record:
                import cnnbook.checks
                cnnbook.checks._RECORD = False
        if not student and ready:
            start = time.perf_counter()
            run(plugins._CALL_CODE.replace("@QNAME@", repr(name)).replace("@WHICH@", "restore")
                .replace("@ARGS@", ""))
            seconds["the guard's restore before locked cells (wall)"] += time.perf_counter() - start
        start, cpu = time.perf_counter(), time.process_time()
        sampling_now[0] = test
        run(cell.source)
        sampling_now[0] = False
        if test:
            seconds["test cells (wall)"] += time.perf_counter() - start
            seconds["test cells (CPU)"] += time.process_time() - cpu
            seconds[f"  {cell.metadata.nbgrader.grade_id} (wall)"] += time.perf_counter() - start
    print(f"{' '.join(argv) or 'guard, recording'}: load average {os.getloadavg()[0]:.2f}")
    for key, value in seconds.items():
        print(f"    {key:55s} {value:6.2f} s")
    if sampling and samples[0]:
        print(f"{samples[0]} samples; inclusive:")
        for key, count in inclusive.most_common(30):
            print(f"  {100 * count / samples[0]:5.1f}%  {key}")
        print("innermost:")
        for key, count in innermost.most_common(15):
            print(f"  {100 * count / samples[0]:5.1f}%  {key}")


if __name__ == "__main__":
    main(sys.argv[1:])
