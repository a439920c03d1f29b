"""Graded kernels that see only what they need: bubblewrap, and a fresh uid where root grades.

How a graded kernel runs is chosen once per process by :func:`mode`:

``bubblewrap`` (:data:`BUBBLEWRAP`)
    Debian's ``bwrap`` starts the kernel in namespaces of its own. Its file system holds,
    read-only: ``/usr`` (with the ``/bin``, ``/lib``... links of a merged-usr system), a
    few files of ``/etc`` the dynamic loader and fonts need, the Python installation the
    virtual environment was made from, the virtual environment and ``src/cnnbook``
    (the shipped weights included); read-write: the submission's own temporary folder
    (its working directory, ``HOME`` and ``TMPDIR``), and a private, empty ``/tmp`` and
    ``/dev/shm``; a ``/proc`` of its own process namespace and a minimal ``/dev``.
    Nothing else exists in it: not ``solutions/``, not the course folder, not a
    gradebook, not another student's notebook, not the rest of ``/root`` or ``/home``.
    It has no network (``--unshare-net``): the kernel talks to the grader over ZeroMQ's
    ``ipc`` transport, through sockets in its own folder. Its environment is cleared to
    what a kernel needs (:data:`KEEP`). Where the grader is root, the kernel also runs
    as a fresh numeric uid with no groups and no capabilities (Debian's ``setpriv``
    inside the sandbox), as in the fallback below. Where the grader is not root,
    ``bwrap`` runs in a user namespace and the kernel keeps the grader's uid, but sees
    and writes only what is listed above.
``unprivileged user`` (:data:`UNPRIVILEGED`)
    The fallback where the grader is root but ``bwrap`` cannot run (not installed, or
    the machine forbids the namespaces it needs, as some containers do): the kernel is
    started through ``setpriv`` as a fresh numeric uid and gid, no supplementary
    groups, no capabilities it could write with. It can write only its own folder (and
    world-writable ones such as ``/tmp``), but it can READ every file that other users
    may read, the course's hidden tests included. ``CAP_DAC_READ_SEARCH`` (read any
    file) is kept only when the interpreter itself is not readable by other users (a
    pyenv under ``/root``).
``none`` (:data:`NONE`)
    The grader is not root and ``bwrap`` cannot run: the kernel runs as the grader.

``bwrap`` is used only after a probe shows it works here: a sandboxed interpreter imports
``cnnbook`` and does not find the course's ``solutions/`` (:func:`bubblewrap_works`).
``CNNBOOK_GRADE_NO_BWRAP=1`` skips bubblewrap (the tests use it to check the fallback);
``CNNBOOK_GRADE_NO_DROP=1`` runs kernels as the grader (``none``: the tests use it to check
that tools/grade.py restores files a kernel changed).
"""

from __future__ import annotations

import functools
import os
import secrets
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

SETPRIV = shutil.which("setpriv") or "/usr/bin/setpriv"
BWRAP = shutil.which("bwrap") or "/usr/bin/bwrap"
UID_RANGE = (200_000, 2_000_000)  # no account needed: setpriv takes numeric ids
CNNBOOK = Path(__file__).resolve().parents[1] / "src" / "cnnbook"
SOLUTIONS = Path(__file__).resolve().parents[1] / "solutions"

BUBBLEWRAP, UNPRIVILEGED, NONE = "bubblewrap", "unprivileged user", "none"
DESCRIPTIONS = {
    BUBBLEWRAP: "each kernel ran in a bubblewrap sandbox: read-only the system, the Python "
                "installation, the virtual environment and src/cnnbook; read-write only its "
                "own temporary folder; no network; no course folder, solutions, gradebook or "
                "other student in sight{uid}",
    UNPRIVILEGED: "bubblewrap could not run here: each kernel ran as a fresh unprivileged uid "
                  "(setpriv), which can write only its own folder but can READ every file "
                  "other users may read (the course's hidden tests, unless their folders are "
                  "closed to others){read_all}",
    NONE: "neither bubblewrap nor a change of user was available (the grader is not root): "
          "each kernel ran as the grader and could read and write what the grader can",
}

# Files of /etc a kernel needs: the dynamic loader's cache, and the fonts' configuration
# (without it, importing the course's libraries printed "Fontconfig error: Cannot load
# default config file" on stderr here, and stderr in a test cell costs its points).
ETC = ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "localtime", "fonts")
# Environment variables a kernel keeps inside bubblewrap (everything else is cleared, the
# grader's tokens and paths with it): TensorFlow's, Keras's and the threads' settings,
# nbgrader's NBGRADER_EXECUTION, the locale. (Not every TF_*: Terraform's are TF_ too.)
KEEP = ("PATH", "PYTHONPATH", "LANG", "LANGUAGE", "TZ", "MPLBACKEND", "PYTHONHASHSEED",
        "KERAS_BACKEND", "CUDA_VISIBLE_DEVICES", "JUPYTER_PLATFORM_DIRS", "TF_XLA_FLAGS",
        "TF_USE_LEGACY_KERAS")
KEEP_PREFIXES = ("LC_", "TF_CPP_", "TF_ENABLE_", "TF_NUM_", "TF_DETERMINISTIC", "OMP_",
                 "NBGRADER_", "PYDEVD_")


def _is_root():
    return hasattr(os, "geteuid") and os.geteuid() == 0


def mode():
    """How graded kernels run here: :data:`BUBBLEWRAP`, :data:`UNPRIVILEGED` or :data:`NONE`."""
    if os.environ.get("CNNBOOK_GRADE_NO_DROP", "") == "1":
        return NONE
    if os.environ.get("CNNBOOK_GRADE_NO_BWRAP", "") != "1" and bubblewrap_works():
        return BUBBLEWRAP
    if _is_root() and Path(SETPRIV).exists():
        return UNPRIVILEGED
    return NONE


def describe(how=None):
    """One sentence for the report: what a kernel could see and write under ``how``."""
    how = how or mode()
    uid = (", as a fresh unprivileged uid" if _is_root() else
           ", as the grader's own uid (the grader is not root)")
    read_all = ("; and, the interpreter being unreadable to other users, it kept the right to "
                "read any file" if how == UNPRIVILEGED and needs_read_capability() else "")
    return DESCRIPTIONS[how].format(uid=uid, read_all=read_all)


def available():
    """True when graded kernels run sandboxed or as another user (not as the grader)."""
    return mode() != NONE


@functools.cache
def bubblewrap_works(timeout=120):
    """True if a sandboxed interpreter imports cnnbook here and cannot see ``solutions/``."""
    if not (Path(BWRAP).exists() and hasattr(os, "geteuid")):
        return False
    box = Sandbox(BUBBLEWRAP)
    try:
        code = "import sys, os, cnnbook; sys.exit(3 if os.path.exists(sys.argv[1]) else 0)"
        argv = box.command([sys.executable, "-c", code, str(SOLUTIONS)])
        done = subprocess.run(argv, env=box.environment(os.environ), capture_output=True,
                              timeout=timeout, start_new_session=True)
        return done.returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False
    finally:
        box.close()


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


def _inside(path, folders):
    return any(path != f and path.is_relative_to(f) for f in folders)


def readonly_paths():
    """The folders a sandboxed kernel reads besides /usr: Python, the venv, src/cnnbook."""
    interpreter = Path(os.path.realpath(sys.executable)).parents[1]
    found = []
    for path in (sys.base_prefix, sys.base_exec_prefix, interpreter, sys.prefix, CNNBOOK):
        path = Path(os.path.abspath(path))
        if path not in found and not path.is_relative_to("/usr"):
            found.append(path)
    return [p for p in found if not _inside(p, found)]


class Sandbox:
    """One kernel's sandbox: its folder, its uid (where the grader is root) and its command.

    ``how`` is :data:`BUBBLEWRAP` or :data:`UNPRIVILEGED` (default: :func:`mode`).
    """

    def __init__(self, how=None):
        self.mode = how or mode()
        self.folder = Path(tempfile.mkdtemp(prefix="cnnbook-kernel-"))
        self.uid = None
        if _is_root():
            self.uid = UID_RANGE[0] + secrets.randbelow(UID_RANGE[1] - UID_RANGE[0])
            os.chown(self.folder, self.uid, self.uid)
        os.chmod(self.folder, 0o700)
        self.read_all = self.mode == UNPRIVILEGED and needs_read_capability()
        self.ipc = self.mode == BUBBLEWRAP  # no network: ZeroMQ over sockets in the folder

    def _own_variables(self):
        home = str(self.folder)
        return {"HOME": home, "TMPDIR": home, "IPYTHONDIR": f"{home}/.ipython",
                "MPLCONFIGDIR": f"{home}/.matplotlib", "KERAS_HOME": f"{home}/.keras",
                "PYTHONDONTWRITEBYTECODE": "1"}

    def environment(self, env):
        """The environment the kernel gets from ``env`` (inside bubblewrap: :data:`KEEP` only)."""
        if self.mode != BUBBLEWRAP:
            return dict(env)
        kept = {k: v for k, v in env.items() if k in KEEP or k.startswith(KEEP_PREFIXES)}
        # The kernel's parent is the sandbox's pid 1: ipykernel then watches no parent pid
        # (bwrap's --die-with-parent ends the kernel with the grader) and prints no notice.
        return {**kept, **self._own_variables(), "JPY_PARENT_PID": "1"}

    def _setpriv(self):
        if self.uid is None:
            return []
        caps = ["--inh-caps=-all", "--bounding-set=-all"]
        if self.read_all:
            caps = ["--inh-caps=-all,+dac_read_search", "--ambient-caps=+dac_read_search",
                    "--bounding-set=-all,+dac_read_search"]
        return [SETPRIV, f"--reuid={self.uid}", f"--regid={self.uid}", "--clear-groups",
                *caps, "--no-new-privs", "--"]

    def _bwrap(self):
        args = [BWRAP, "--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts",
                "--unshare-cgroup-try", "--die-with-parent", "--clearenv"]
        if _is_root():  # setpriv inside drops to the fresh uid, then every capability
            args += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID", "--cap-add", "CAP_SETPCAP"]
        else:
            args += ["--unshare-user"]
        for name, value in self.environment(os.environ).items():
            args += ["--setenv", name, value]
        args += ["--perms", "1777", "--tmpfs", "/tmp", "--proc", "/proc", "--dev", "/dev",
                 "--perms", "1777", "--tmpfs", "/dev/shm", "--ro-bind", "/usr", "/usr"]
        for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
            path = Path("/") / name
            if path.is_symlink():
                args += ["--symlink", os.readlink(path), str(path)]
            elif path.is_dir():
                args += ["--ro-bind", str(path), str(path)]
        args += ["--perms", "0755", "--dir", "/etc"]  # a folder bwrap makes is 0700 otherwise
        for name in ETC:
            args += ["--ro-bind-try", f"/etc/{name}", f"/etc/{name}"]
        readonly = readonly_paths()
        made = {Path("/"), Path("/tmp"), Path("/usr"), Path("/etc")}
        for path in [*readonly, self.folder]:  # parents others may enter (bwrap makes them 0700)
            for parent in reversed(path.parents):
                if parent not in made and not _inside(parent, readonly) and parent not in readonly:
                    args += ["--perms", "0755", "--dir", str(parent)]
                    made.add(parent)
        for path in sorted(readonly, key=lambda p: len(p.parts)):
            args += ["--ro-bind", str(path), str(path)]
        return args + ["--bind", str(self.folder), str(self.folder), "--chdir", str(self.folder)]

    def command(self, argv):
        """The command that runs ``argv`` (a kernel's) in this sandbox."""
        if self.mode == BUBBLEWRAP:
            # bwrap itself would die of the SIGINT that interrupts a cell (jupyter_client
            # signals the kernel's process group), killing the kernel: it ignores SIGINT;
            # ipykernel sets its own handler while it runs a cell.
            return ["/bin/sh", "-c", 'trap "" INT; exec "$@"', "sh", *self._bwrap(),
                    *self._setpriv(), *argv]
        if self.mode == UNPRIVILEGED:
            return [*self._setpriv(), "env",
                    *(f"{k}={v}" for k, v in self._own_variables().items()), *argv]
        return list(argv)

    def give(self, path):
        """Let the kernel's uid read a file the grader wrote (its connection file)."""
        if self.uid is not None:
            os.chown(path, self.uid, self.uid)

    def processes(self):
        """Pids of the processes still running as this sandbox's uid."""
        found = []
        if self.uid is None:
            return found
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
