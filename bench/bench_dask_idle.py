"""CPU that an idle Dask cluster of this machine burns: a scheduler, 2 nannies and 2 workers.

    .venv/bin/python bench/bench_dask_idle.py LABEL SECONDS

Starts ``dask scheduler`` and two ``dask worker`` processes from this checkout on
127.0.0.1 (tools/dispatch.py's ``loopback_cluster``), waits 10 s, then measures the user
and system CPU of their process trees over SECONDS of doing nothing. Issue 24: part of
what grading through Dask costs besides the tasks themselves.
"""

import os
import sys
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import dispatch  # noqa: E402


def cpu(pids):
    """User + system seconds of the processes ``pids`` and their descendants, now."""
    total = 0.0
    for pid in pids:
        try:
            root = psutil.Process(pid)
            for process in [root] + root.children(recursive=True):
                times = process.cpu_times()
                total += times.user + times.system
        except psutil.NoSuchProcess:
            pass
    return total


if __name__ == "__main__":
    label, seconds = sys.argv[1], float(sys.argv[2])
    with dispatch.loopback_cluster([ROOT, ROOT], Path("/tmp") / f"dask-idle-{label}") as (
            address, workers):
        pids = [w.pid for w in workers] + [p.pid for p in psutil.Process().children()
                                           if "scheduler" in " ".join(p.cmdline())]
        time.sleep(10)
        before, started = cpu(pids), time.time()
        time.sleep(seconds)
        used, elapsed = cpu(pids) - before, time.time() - started
        print(f"{label}: {used:.2f} s of CPU in {elapsed:.0f} s idle "
              f"({100 * used / elapsed:.1f} % of a core), load {os.getloadavg()[0]:.1f}")
