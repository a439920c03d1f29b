"""Student kernels without write rights: Debian's ``setpriv`` in front of the kernel's argv.

When the grader runs as root (CI, containers, JupyterHub's grading service), every
graded kernel is started as a user of its own: a fresh numeric uid and gid, no
supplementary groups, no capabilities it could use to write (``--no-new-privs``,
an empty bounding set), ``HOME``, ``TMPDIR`` and IPython's, Matplotlib's and Keras's
folders in the submission's own temporary folder, the only folder that uid owns. It
can then write nowhere the grader reads from: not the course's package, tools or
config, not a gradebook, not another student's notebook, not the instructor's home.
(World-writable folders such as ``/tmp`` stay writable, as for any user; the grader
reads nothing there.)

One capability is kept where it is needed, ``CAP_DAC_READ_SEARCH`` (read any file),
and only when the Python interpreter itself is not readable by other users (a
pyenv under ``/root``, as on this machine): reading does not let a kernel change
another grading. Where the grader is not root (an instructor's laptop) nothing is
dropped: tools/grade.py still checks and restores the files grading depends on, and
README says what to do instead (a dedicated user, or a container).

``CNNBOOK_GRADE_NO_DROP=1`` turns the drop off (the tests use it to check the
restore path).
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import stat
import sys
import tempfile
from pathlib import Path

SETPRIV = shutil.which("setpriv") or "/usr/bin/setpriv"
UID_RANGE = (200_000, 2_000_000)  # no account needed: setpriv takes numeric ids


def available():
    """True when kernels can be started without write rights (root, setpriv, not turned off)."""
    return (hasattr(os, "geteuid") and os.geteuid() == 0 and Path(SETPRIV).exists()
            and os.environ.get("CNNBOOK_GRADE_NO_DROP", "") != "1")


def _readable_by_others(path):
    """True if every folder on the way to ``path`` can be searched, and the file read, by others."""
    path = Path(path).resolve()
    for folder in path.parents:
        if not folder.stat().st_mode & stat.S_IXOTH:
            return False
    return bool(path.stat().st_mode & stat.S_IROTH)


def needs_read_capability(executable=None):
    """True when the kernel's interpreter is unreachable for an ordinary user."""
    return not _readable_by_others(executable or sys.executable)


class Sandbox:
    """A fresh uid and the one folder it may write; ``prefix`` goes before the kernel's argv."""

    def __init__(self, executable=None):
        self.uid = UID_RANGE[0] + secrets.randbelow(UID_RANGE[1] - UID_RANGE[0])
        self.folder = Path(tempfile.mkdtemp(prefix="cnnbook-kernel-"))
        os.chown(self.folder, self.uid, self.uid)
        os.chmod(self.folder, 0o700)
        self.read_all = needs_read_capability(executable)

    def prefix(self):
        caps = ["--inh-caps=-all", "--bounding-set=-all"]
        if self.read_all:
            caps = ["--inh-caps=-all,+dac_read_search", "--ambient-caps=+dac_read_search",
                    "--bounding-set=-all,+dac_read_search"]
        home = str(self.folder)
        return [SETPRIV, f"--reuid={self.uid}", f"--regid={self.uid}", "--clear-groups",
                *caps, "--no-new-privs", "--", "env", f"HOME={home}", f"TMPDIR={home}",
                f"IPYTHONDIR={home}/.ipython", f"MPLCONFIGDIR={home}/.matplotlib",
                f"KERAS_HOME={home}/.keras", "PYTHONDONTWRITEBYTECODE=1"]

    def give(self, path):
        """Let the uid read a file the grader wrote (the kernel's connection file)."""
        os.chown(path, self.uid, self.uid)

    def processes(self):
        """Pids of the processes still running as this uid."""
        found = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    if entry.stat().st_uid == self.uid:
                        found.append(int(entry.name))
                except OSError:
                    pass
        return found

    def close(self):
        """Kill whatever the kernel left running as this uid, then remove its folder."""
        for pid in self.processes():
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        shutil.rmtree(self.folder, ignore_errors=True)
