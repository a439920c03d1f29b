"""Throughput of the grading pipeline (tools/grade.py), against the floor.

    .venv/bin/python bench/bench_grade.py                    # every assignment, class of 100
    .venv/bin/python bench/bench_grade.py --class-size 0     # per-submission numbers only

For each assignment:

* **floor**: a fresh kernel that runs only the exercise's set-up cell (what every
  graded notebook imports), started and executed with nbclient; the median of 3.
* **plain run**: the solved notebook (solutions and tests) run by nbclient, no
  nbgrader: what the tests themselves cost (exercise 2's tests train a model).
* **graded, per submission**: ``tools/grade.py --jobs 1`` on ``--per`` solution
  submissions; the mean time one submission spends in its worker (nbgrader's
  autograde with the plugins, and its feedback), and the run's wall time divided
  by ``--per`` (which also carries the run's fixed cost: course set-up, export,
  report).

Then a **class of ``--class-size``** generated students submitting the first
assignment (``tools/make_class.py``), graded with ``--jobs 2``: its wall time.
Prints a Markdown table for BENCHMARKS.md.

    .venv/bin/python bench/bench_grade.py --dask          # issue 24: what Dask costs

With ``--dask``: a class of ``--class-size`` (default 20) generated students of
``01_convolution``, graded from scratch by ``tools/grade.py`` three ways, interleaved over
``--rounds`` rounds so that the machine's load falls alike on each: locally with
``--jobs 2`` (a LocalCluster), through ``dask scheduler`` with 2 ``dask worker``
processes on this machine (``--scheduler``), and by the hand-written worker pool that
tools/grade.py had before issue 24 (``--pool-rev``, run from ``git archive`` of that
commit). Dask's overhead per submission is the worker-seconds per submission (wall time x
2 workers / submissions) of a Dask run less the pool's, as a share of the time one
submission spends grading; the same is measured inside each Dask run from its tasks'
timings (time in a task besides grading, and the gap before a worker's next task).
Then each assignment's solution is graded once (``grade.run``, 1 job) and the record
(``bench/grade_dask.json``) and the README's estimate of 1,000 students x every
assignment on N machines like this one are written from these figures.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import course  # noqa: E402
import dispatch  # noqa: E402
import grade  # noqa: E402
import make_class  # noqa: E402

RECORD = ROOT / "bench" / "grade_dask.json"
README = ROOT / "README.md"
POOL_REV = "bbc0ece"  # main before issue 24: tools/grade.py with its hand-written worker pool
WORKERS = 2  # per machine: one per core of this one
MACHINES = (1, 2, 5, 10, 25, 50)
STUDENTS = 1000
BEGIN, END = "<!-- bench_grade.py --dask: begin -->", "<!-- bench_grade.py --dask: end -->"


def _execute(cells, repeats):
    """Median seconds to start a kernel and run ``cells`` with nbclient."""
    from nbclient import NotebookClient

    os.environ.update(course.KERNEL_ENV)
    os.environ["PYTHONPATH"] = course.subprocess_env()["PYTHONPATH"]
    times = []
    for _ in range(repeats):
        notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
        start = time.perf_counter()
        NotebookClient(notebook, timeout=600, kernel_name="python3",
                       resources={"metadata": {"path": str(ROOT)}}).execute()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def floor(assignment, repeats=3):
    """Seconds to start a kernel and run the exercise's set-up cell (median of ``repeats``)."""
    release = nbformat.read(next(iter(course.release_notebooks(None, assignment).values())), 4)
    setup = next(c for c in release.cells if c.cell_type == "code")
    return _execute([setup.source], repeats)


def plain_run(assignment, repeats=1):
    """Seconds to run the solved notebook (solutions and tests) with nbclient, no nbgrader."""
    reference, _ = course.reference_class(assignment)
    (notebook,) = reference["solution"].values()
    return _execute([c.source for c in notebook.cells if c.cell_type == "code"], repeats)


def per_submission(assignment, n, tmp):
    """(wall seconds / n, mean seconds of one submission inside its worker) for n solutions."""
    reference, _ = course.reference_class(assignment)
    solution = {name: make_class.notebook_bytes(nb) for name, nb in reference["solution"].items()}
    folder = make_class.write_class({f"s{i:02d}": solution for i in range(n)}, Path(tmp) / assignment)
    start = time.perf_counter()
    results = grade.run(folder, Path(tmp) / f"out-{assignment}", jobs=1,
                        assignment_names=[assignment], quiet=True)
    wall = (time.perf_counter() - start) / n
    full = results["assignments"][assignment]["max_score"]
    assert all(s["score"] == full for s in results["submissions"]), "a solution lost points"
    return wall, statistics.mean(s["seconds"] for s in results["submissions"])


# ------------------------------------------------------------------ --dask (issue 24)
def _cpu_of_children():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _cpu_of_trees(pids):
    """User + system seconds of the processes ``pids``, their descendants and waited children."""
    import psutil

    total = 0.0
    for pid in pids:
        try:
            root = psutil.Process(pid)
            for process in [root] + root.children(recursive=True):
                times = process.cpu_times()
                total += times.user + times.system + times.children_user + times.children_system
        except psutil.NoSuchProcess:
            pass
    return total


def _graded_run(command, env, out, cluster_pids=()):
    """Run tools/grade.py; return its figures: wall, CPU, load, grading seconds, task timings."""
    load_before, cpu_before = os.getloadavg()[0], _cpu_of_children() + _cpu_of_trees(cluster_pids)
    started = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stderr[-3000:]}")
    cpu = _cpu_of_children() + _cpu_of_trees(cluster_pids) - cpu_before
    results = json.loads((Path(out) / "results.json").read_text())
    seconds = [s["seconds"] for s in results["submissions"] if s.get("seconds")]
    figures = {"wall": round(wall, 1), "cpu": round(cpu, 1), "load_before": load_before,
               "load_after": os.getloadavg()[0], "graded": len(results["submissions"]),
               "grading": round(sum(seconds), 1), "graded_with_kernel": len(seconds)}
    tasks = (results.get("run") or {}).get("tasks")
    if tasks:  # inside a Dask run: what a task costs besides grading, and the gaps between
        extra = [t["finished"] - t["started"] - t["seconds"] for t in tasks if t["seconds"]]
        gaps = []
        for worker in {t["worker"] for t in tasks}:
            mine = sorted((t for t in tasks if t["worker"] == worker), key=lambda t: t["started"])
            gaps += [b["started"] - a["finished"] for a, b in zip(mine, mine[1:])]
        figures["task_extra"] = round(statistics.mean(extra), 3)
        figures["gap"] = round(statistics.mean(gaps), 3) if gaps else 0.0
    return figures


def _pool_checkout(rev, folder):
    """The course at ``rev`` (tools/grade.py with the hand-written pool), from git archive."""
    folder.mkdir(parents=True)
    archive = subprocess.run(["git", "archive", rev, "tools", "src", "solutions", "exercises",
                              "nbgrader_config.py", "requirements.lock"],
                             cwd=ROOT, capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    return folder


def dask_overhead(class_size, rounds, pool_rev, tmp):
    """Grade one class locally, through a scheduler and by the old pool, interleaved."""
    students = make_class.demo_class(class_size, ["01_convolution"])
    submissions = make_class.write_class(students, Path(tmp) / "class")
    env = course.subprocess_env(threads=1)
    pool = _pool_checkout(pool_rev, Path(tmp) / "pool") if pool_rev else None
    pool_env = {**env, "PYTHONPATH": str(pool / "src")} if pool else None
    runs = []
    with dispatch.loopback_cluster([ROOT, ROOT], Path(tmp) / "dask") as (address, workers):
        import psutil

        pids = [p.pid for p in workers] + [  # the workers (nanny and all) and the scheduler
            p.pid for p in psutil.Process().children() if "scheduler" in " ".join(p.cmdline())]
        for round_ in range(1, rounds + 1):
            modes = [("local", [sys.executable, str(ROOT / "tools" / "grade.py"), "--jobs", "2"],
                      env, ()),
                     ("scheduler", [sys.executable, str(ROOT / "tools" / "grade.py"),
                                    "--scheduler", address], env, pids)]
            if pool:
                modes.append(("pool", [sys.executable, str(pool / "tools" / "grade.py"),
                                       "--jobs", "2"], pool_env, ()))
            for mode, command, mode_env, cluster_pids in modes[round_ % 2:] + modes[:round_ % 2]:
                out = Path(tmp) / f"{mode}-{round_}"
                figures = _graded_run(command + [str(submissions), "--out", str(out)],
                                      mode_env, out, cluster_pids)
                runs.append({"mode": mode, "round": round_, **figures})
                print(f"round {round_} {mode}: {figures}", flush=True)
    return runs


def overheads(runs):
    """Per mode: worker-seconds per submission, grading per submission, overheads.

    ``vs_pool`` compares what a submission costs besides its grading (worker-seconds per
    submission less grading seconds per submission: set-up, dispatch, export, spread over
    the class) with the hand-written pool's, as a share of the pool's grading time; the
    grading itself is left out, since it varies with the machine's load from run to run
    whoever dispatches. ``inside`` is the same cost measured inside a Dask run (a task's
    time besides grading, and the gap before a worker's next task) over its grading time.
    """
    summary = {}
    for mode in sorted({r["mode"] for r in runs}):
        mine = [r for r in runs if r["mode"] == mode]
        summary[mode] = {
            "worker_seconds": statistics.mean(WORKERS * r["wall"] / r["graded"] for r in mine),
            "grading": statistics.mean(r["grading"] / r["graded_with_kernel"] for r in mine),
            "task_extra": statistics.mean(r["task_extra"] for r in mine) if "task_extra" in mine[0]
            else None,
            "gap": statistics.mean(r["gap"] for r in mine) if "gap" in mine[0] else None,
        }
    for row in summary.values():
        row["besides"] = row["worker_seconds"] - row["grading"]
    if "pool" in summary:
        for mode, row in summary.items():
            row["vs_pool"] = (row["besides"] - summary["pool"]["besides"]) \
                / summary["pool"]["grading"]
    for row in summary.values():
        if row["task_extra"] is not None:
            row["inside"] = (row["task_extra"] + row["gap"]) / row["grading"]
    return summary


def estimate_table(record):
    """The README's estimate: 1,000 students x every assignment on N machines, from the record."""
    per_student = sum(record["exercises"].values())
    overhead = max(0.0, record["summary"]["scheduler"].get("inside", 0.0))
    hours = [STUDENTS * per_student * (1 + overhead) / (n * WORKERS) / 3600 for n in MACHINES]
    lines = [
        f"Grading one student's {len(record['exercises'])} solutions takes "
        f"{per_student:.0f} s of one worker here (each assignment's solution graded once, "
        f"one thread, "
        f"load {record['exercises_load']:.1f} on {record['cores']} cores), and Dask adds "
        f"{100 * overhead:.1f} % per submission (`bench/bench_grade.py --dask`, "
        f"{record['date']}). So {STUDENTS:,} students × {len(record['exercises'])} "
        f"assignments, with {WORKERS} workers per machine like this one, take about:",
        "",
        "| machines | " + " | ".join(str(n) for n in MACHINES) + " |",
        "|---|" + "---:|" * len(MACHINES),
        "| hours | " + " | ".join(f"{h:.1f}" for h in hours) + " |",
        "",
        "plus setting up the course on each worker (a minute) and the export at the end. "
        "Solutions are not every student: a cell that runs into its time limit costs that "
        "limit, and a release left blank costs less.",
    ]
    return "\n".join(lines)


def write_readme(record, readme=README):
    """Put :func:`estimate_table` between the README's markers."""
    text = readme.read_text()
    pattern = re.compile(re.escape(BEGIN) + ".*?" + re.escape(END), re.S)
    if not pattern.search(text):
        raise SystemExit(f"{readme} has no {BEGIN} ... {END} block")
    readme.write_text(pattern.sub(lambda _: f"{BEGIN}\n{estimate_table(record)}\n{END}", text))


def main_dask(args):
    started = time.time()
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        runs = dask_overhead(args.class_size, args.rounds, args.pool_rev, tmp)
        exercises, exercises_load = {}, os.getloadavg()[0]
        for name in ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS", "OMP_NUM_THREADS"):
            os.environ[name] = "1"  # as each of a machine's 2 workers grades: one thread
        for assignment in course.assignments():
            _, inside = per_submission(assignment, 1, tmp)
            exercises[assignment] = round(inside, 1)
            print(f"{assignment}: {inside:.1f} s", flush=True)
        exercises_load = (exercises_load + os.getloadavg()[0]) / 2
    record = {
        "command": "python bench/bench_grade.py --dask" + (
            f" --class-size {args.class_size}" if args.class_size != 20 else "") + (
            f" --rounds {args.rounds}" if args.rounds != 2 else ""),
        "date": time.strftime("%Y-%m-%d", time.gmtime(started)),
        "revision": subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                                   capture_output=True, text=True).stdout.strip(),
        "pool_revision": args.pool_rev, "cores": os.cpu_count(), "load_before": load,
        "class": {"assignment": "01_convolution", "size": args.class_size},
        "runs": runs, "summary": overheads(runs), "exercises": exercises,
        "exercises_load": round(exercises_load, 2),
        "minutes": round((time.time() - started) / 60, 1),
    }
    RECORD.write_text(json.dumps(record, indent=1) + "\n")
    write_readme(record)
    print_dask(record)


def print_dask(record):
    print()
    print("| round | run | wall (s) | CPU (s) | load before → after | grading per submission (s) "
          "| worker-seconds per submission | in a task besides grading (s) | gap between "
          "tasks (s) |")
    print("|---:|---|---:|---:|---|---:|---:|---:|---:|")
    for r in record["runs"]:
        extra = f"{r['task_extra']:.2f}" if "task_extra" in r else "—"
        gap = f"{r['gap']:.2f}" if "gap" in r else "—"
        print(f"| {r['round']} | {r['mode']} | {r['wall']:.0f} | {r['cpu']:.0f} | "
              f"{r['load_before']:.1f} → {r['load_after']:.1f} | "
              f"{r['grading'] / r['graded_with_kernel']:.1f} | "
              f"{WORKERS * r['wall'] / r['graded']:.1f} | {extra} | {gap} |")
    print()
    for mode, row in record["summary"].items():
        parts = [f"{mode}: {row['worker_seconds']:.1f} worker-seconds per submission, "
                 f"{row['grading']:.1f} s grading, {row['besides']:.1f} s besides"]
        if "vs_pool" in row:
            parts.append(f"{100 * row['vs_pool']:+.1f} % of grading time besides grading, "
                         "against the pool")
        if "inside" in row:
            parts.append(f"{100 * row['inside']:.1f} % inside the run (task besides grading "
                         "+ gap)")
        print("; ".join(parts))
    print()
    print(estimate_table(record))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assignments", nargs="*", default=None)
    parser.add_argument("--per", type=int, default=4, help="solutions graded per assignment")
    parser.add_argument("--class-size", type=int, default=None,
                        help="default 100 (20 with --dask)")
    parser.add_argument("--dask", action="store_true",
                        help="issue 24: local cluster vs scheduler vs the old pool")
    parser.add_argument("--rounds", type=int, default=2, help="with --dask")
    parser.add_argument("--pool-rev", default=POOL_REV,
                        help="with --dask: the commit of the hand-written pool ('' to skip it)")
    parser.add_argument("--readme-only", action="store_true",
                        help="with --dask: rewrite README's estimate from the record, no run")
    args = parser.parse_args(argv)
    if args.dask:
        args.class_size = 20 if args.class_size is None else args.class_size
        if args.readme_only:
            record = json.loads(RECORD.read_text())
            record["summary"] = overheads(record["runs"])
            RECORD.write_text(json.dumps(record, indent=1) + "\n")
            write_readme(record)
            print_dask(record)
            return
        main_dask(args)
        return
    args.class_size = 100 if args.class_size is None else args.class_size
    assignments = args.assignments or course.assignments()
    print(f"load average before: {os.getloadavg()[0]:.2f}, cores: {os.cpu_count()}")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for assignment in assignments:
            f, plain = floor(assignment), plain_run(assignment)
            wall, inside = per_submission(assignment, args.per, tmp)
            rows.append((assignment, f, plain, inside, wall))
            print(f"{assignment}: floor {f:.1f} s, plain run {plain:.1f} s, graded {inside:.1f} s "
                  f"per submission in its worker ({inside / f:.2f}x floor), "
                  f"{wall:.1f} s of wall time each over {args.per}", flush=True)
        if args.class_size:
            students = make_class.demo_class(args.class_size, assignments[:1])
            folder = make_class.write_class(students, Path(tmp) / "class")
            start = time.perf_counter()
            results = grade.run(folder, Path(tmp) / "out-class", jobs=2,
                                assignment_names=assignments[:1], quiet=True)
            wall = time.perf_counter() - start
            print(f"class of {len(results['submissions'])} ({assignments[0]}), 2 workers: "
                  f"{wall / 60:.1f} min", flush=True)
    print()
    print("| assignment | floor: kernel + set-up cell (s) | solved notebook, plain nbclient (s) "
          "| graded, per submission (s) | graded / floor | wall time per submission, "
          f"{args.per} in one run (s) |")
    print("|---|---:|---:|---:|---:|---:|")
    for assignment, f, plain, inside, wall in rows:
        print(f"| {assignment} | {f:.1f} | {plain:.1f} | {inside:.1f} | {inside / f:.2f}× "
              f"| {wall:.1f} |")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
