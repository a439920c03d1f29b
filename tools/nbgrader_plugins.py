"""nbgrader plugins that make autograding robust to bad and dishonest submissions.

Loaded by ``nbgrader_config.py`` (the course's own and every temporary course
built by ``tools/course.py`` and ``tools/grade.py``) through :func:`configure`:

``GuardedExecute`` (replaces nbgrader's ``Execute``)
    * The kernel computes; the judge decides (issue 23). The course's source notebook is
      read before the kernel starts; the test cells' calls of the student's functions go
      through ``cnnbook.checks.observe``, which the guard makes record each result as plain
      data in an output of its own MIME type; those outputs are taken out of the notebook,
      and a judge process that never receives student code (tools/judge.py, one per worker,
      ready before the first student cell runs) runs the course's set-up and test cells on
      them. Its verdicts replace the test cells' outputs; where the kernel's own checks
      disagree, the notebook's metadata (``cnnbook.judge``) says so for the report. A thread
      started by student code, or a trace or profile function it set, fails every test that
      starts while it is there.
    * Before the first cell a student can edit runs, it snapshots the modules the
      tests rely on (``numpy``, ``cnnbook``, ``builtins``, and TensorFlow and Keras
      as the locked set-up cells import them), the bodies of their Python
      functions and the notebook's names bound to modules (``np``, ``tf``,
      ``checks``, ``ops``...). Before every test cell it puts them back and removes
      names that shadow builtins, so ``np.allclose = lambda *a, **k: True``,
      ``np.testing.assert_allclose = ...``, ``checks.assert_close = ...``,
      ``ops.conv2d = my_conv``, ``np = Fake()`` or ``len = ...`` in a solution cell
      gain nothing: the test cell runs against the originals. (Student code runs
      in the same process as the tests, so a determined attack from inside a
      function the test calls is not ruled out; ``cnnbook.checks.forbidden``
      undoes changes made during the call it wraps.)
    * The kernel's own state is restored too (``_kernel_state``): IPython's input and
      AST transformers, custom exception handler, traceback and display hooks, event
      callbacks, the kernel's message handlers, ``sys`` hooks, trace and profile
      functions, streams, and class-level patches of the shell, kernel and session
      classes. The guard answers with a per-notebook token (a transformer rewriting the
      grader's call is caught); a test during which that state changed, or whose error
      the kernel reported but whose output was hidden, fails.
    * Kernels run in a bubblewrap sandbox that holds only the system, the virtual
      environment and ``src/cnnbook`` (no course folder, no hidden tests, no network),
      as a fresh unprivileged uid where the grader is root; where bubblewrap cannot
      run, as that uid only (``SandboxedKernelManager``, tools/sandbox.py).
    * A cell that kills the kernel (``os._exit``, a crash) or cannot be
      interrupted after a timeout no longer loses the whole submission: the cell
      gets an error output saying what happened, later cells are marked as not
      run (so their tests score 0), and the points earned before are kept.

``CapOutput``
    nbgrader's ``LimitOutput`` counts lines only: one ``print`` of 100 MB is one
    line. This caps every cell's text output at ``max_chars`` characters.

``HideHiddenTests`` (feedback only)
    nbgrader puts the hidden tests back into the autograded notebook, and
    ``generate_feedback`` would show them. This removes their code from the
    feedback and shortens the traceback of a cell with hidden tests to its last
    line: the student reads the check's message, not the hidden test's code.
"""

from __future__ import annotations

import ast
import builtins
import json
import re
import secrets
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat.notebooknode import NotebookNode
from nbgrader.preprocessors import Execute, NbGraderPreprocessor
from traitlets import Bool, Integer, List, Unicode

# -------------------------------------------------------------------- the guard
# Code run in the kernel before any student code. The guard is a class with a name
# drawn at random for each notebook; the grader reaches it through
# object.__subclasses__(), so no name a notebook can rebind (``__import__``,
# ``builtins``...) is on the way, and every callable it uses is bound here, while
# they are still the real ones.
_SNAPSHOT_CODE = r'''
class @NAME@:
    """The grader's guard (tools/nbgrader_plugins.py)."""


def _kernel_state(sys):
    """Snapshot the shell's, the kernel's and sys's state; return a function putting it back.

    That function returns the names of what it had to put back.
    """
    import threading

    shell = get_ipython()
    kernel = getattr(shell, "kernel", None)
    session = getattr(kernel, "session", None)
    _vars, _type, _list, _dict, _id = vars, type, list, dict, id
    _isinstance, _hasattr, _getattr = isinstance, hasattr, getattr
    _setattr, missing, _zip, _all, _len = setattr, object(), zip, all, len
    type_setattr, type_delattr = type.__setattr__, type.__delattr__
    plain = (int, float, str, bool, bytes, type(None))
    objects = [o for o in (shell, kernel, session, getattr(shell, "displayhook", None),
                           getattr(shell, "display_pub", None), getattr(shell, "InteractiveTB", None),
                           getattr(shell, "SyntaxTB", None), getattr(shell, "events", None),
                           getattr(shell, "input_transformer_manager", None),
                           getattr(shell, "compile", None), sys.stdout, sys.stderr)
               if o is not None]
    classes, seen = [], set()
    for obj in objects:
        for cls in _type(obj).__mro__:
            if cls is not object and _id(cls) not in seen:
                seen.add(_id(cls))
                classes.append((cls, _dict(_vars(cls))))

    # Lists and dicts of hooks, put back item by item; objects put back by identity. Other
    # instance attributes are the kernel's running state (counters, parents of messages).
    containers = {"ast_transformers", "input_transformers_post", "cleanup_transforms",
                  "line_transforms", "token_transformers", "callbacks", "shell_handlers",
                  "control_handlers"}
    kept = {"session", "displayhook", "display_pub", "display_trap", "InteractiveTB", "SyntaxTB",
            "CustomTB", "custom_exceptions", "events", "input_transformer_manager", "compile",
            "iopub_socket", "iopub_thread", "shell", "kernel", "excepthook"}
    _callable = callable

    def copy(key, value):
        if key in containers and _isinstance(value, list):
            return (value, _list(value))
        if key in containers and _isinstance(value, dict):
            return (value, {k: (_list(v) if _isinstance(v, list) else v) for k, v in value.items()})
        return (value, None)

    def chosen(own):
        return {k: copy(k, v) for k, v in own.items() if k in containers or k in kept or (
            _callable(v) and not _isinstance(v, plain))}

    instances = []
    for obj in objects:
        own = _getattr(obj, "__dict__", None)
        if own is None:
            continue
        traits = own.get("_trait_values")
        instances.append((obj, own, chosen(own), traits, chosen(traits or {})))
    system = {name: _getattr(sys, name) for name in
              ("excepthook", "displayhook", "stdout", "stderr", "stdin", "breakpointhook",
               "unraisablehook")}
    trace, profile = sys.gettrace(), sys.getprofile()
    thread_hooks = (_getattr(threading, "_trace_hook", None),
                    _getattr(threading, "_profile_hook", None))
    threads = frozenset(sys._current_frames())  # alive before any student code: the kernel's own
    _sorted, _enumerate = sorted, threading.enumerate

    def same(value, contents):  # by identity: a student's object may answer == with True
        if _isinstance(value, list):
            return _len(value) == _len(contents) and _all(a is b for a, b in _zip(value, contents))
        if _len(value) != _len(contents):
            return False
        for k, v in contents.items():
            current = value.get(k, missing)
            if _isinstance(v, list):
                if not _isinstance(current, list) or not same(current, v):
                    return False
            elif current is not v:
                return False
        return True

    def put_back(target, saved, changed, label):
        for key, (value, contents) in saved.items():
            if target.get(key, missing) is not value:
                target[key] = value
                changed.append(label + key)
            if contents is not None and not same(value, contents):
                if _isinstance(value, list):
                    value[:] = contents
                else:
                    value.clear()
                    value.update({k: _list(v) if _isinstance(v, list) else v
                                  for k, v in contents.items()})
                changed.append(label + key)

    def restore_state():
        changed = []
        # A thread cannot be put back: each one started since the snapshot is named, and
        # fails the test (tools/nbgrader_plugins.py, GuardedExecute.execute_cell).
        names = {t.ident: t.name for t in _enumerate()}
        for ident in _sorted(i for i in sys._current_frames() if i not in threads):
            changed.append("thread " + str(names.get(ident, ident)))
        for name, value in system.items():
            if _getattr(sys, name, None) is not value:
                _setattr(sys, name, value)
                changed.append("sys." + name)
        if sys.gettrace() is not trace:
            sys.settrace(trace)
            changed.append("sys.settrace")
        if sys.getprofile() is not profile:
            sys.setprofile(profile)
            changed.append("sys.setprofile")
        if (_getattr(threading, "_trace_hook", None),
                _getattr(threading, "_profile_hook", None)) != thread_hooks:
            threading._trace_hook, threading._profile_hook = thread_hooks
            changed.append("threading hooks")
        for cls, saved in classes:
            current = _vars(cls)
            for key, value in saved.items():
                if current.get(key, missing) is not value and key not in ("__dict__", "__weakref__"):
                    type_setattr(cls, key, value)
                    changed.append(cls.__name__ + "." + key)
            for key in [k for k in current if k not in saved]:
                type_delattr(cls, key)
                changed.append(cls.__name__ + "." + key)
        for obj, own, saved, traits, saved_traits in instances:
            label = _type(obj).__name__ + "."
            put_back(own, saved, changed, label)
            for key in [k for k in own if k not in saved and not _isinstance(own[k], plain)]:
                if _hasattr(_type(obj), key):  # an instance attribute hiding the class's
                    del own[key]
                    changed.append(label + key)
            if traits is not None:
                put_back(traits, saved_traits, changed, label)
        return changed

    return restore_state


def _make_guard(guard, prefixes, imports, namespace, token):
    import builtins
    import importlib
    import sys
    import types

    for name in imports:  # the modules the tests use, clean before any student code
        try:
            importlib.import_module(name)
        except Exception:
            pass
    _vars, _list, _dict, _isinstance, _id, _any = vars, list, dict, isinstance, id, any
    _sys, modules_dict = sys, sys.modules
    try:  # the kernel's own thread for large messages (pyzmq's): started now, so that it is the kernel's
        from zmq.utils.garbage import gc as zmq_garbage
        if not zmq_garbage.is_alive():
            zmq_garbage.start()
    except Exception:
        pass
    checks = modules_dict.get("cnnbook.checks")
    if checks is not None:  # observe() records for the judge (tools/judge.py); part of the snapshot
        checks._RECORD = True
        checks._THREADS = frozenset(sys._current_frames())
    Module, Function = types.ModuleType, types.FunctionType
    setitem, getitem, delitem = dict.__setitem__, dict.get, dict.__delitem__
    items, values, contains = dict.items, dict.values, dict.__contains__
    builtin_names = _dict(_vars(builtins))
    shadows = {k: v for k, v in namespace.items() if k in builtin_names}
    modules, functions, bound = {}, {}, {}
    light_modules, light_functions = {}, {}  # the part of modules and functions that after_call restores
    missing = object()

    def protected(name):
        return name == "builtins" or _any(name == p or name.startswith(p + ".") for p in prefixes)

    def light(name):  # what the tests' helpers use: restored after every wrapped call too
        return name in ("builtins", "numpy", "numpy.testing", "cnnbook") or \
            name.startswith("cnnbook.")

    def extend():
        """Add the protected modules imported, and the module names bound, since the last call."""
        for name, module in _list(items(modules_dict)):
            if not contains(modules, name) and _isinstance(module, Module) and protected(name):
                saved = _dict(_vars(module))
                modules[name] = (module, saved)
                if light(name):
                    light_modules[name] = (module, saved)
                if name.split(".")[0] in ("cnnbook", "numpy"):
                    for value in values(saved):
                        if _isinstance(value, Function):
                            entry = (value, value.__code__, value.__defaults__, value.__kwdefaults__)
                            functions[_id(value)] = entry
                            if light(name):
                                light_functions[_id(value)] = entry
        for key, value in _list(items(namespace)):
            if _isinstance(value, Module) and not key.startswith("_"):
                bound[key] = value

    def restore(names=(), only_light=False):
        """Put back the protected modules, function bodies and module names; unshadow ``names``."""
        _sys.modules = modules_dict
        for name, (module, saved) in items(light_modules if only_light else modules):
            setitem(modules_dict, name, module)
            current = _vars(module)
            for key, value in items(saved):
                if getitem(current, key, missing) is not value:
                    setitem(current, key, value)
        for function, code, defaults, kwdefaults in values(light_functions if only_light else functions):
            function.__code__, function.__defaults__ = code, defaults
            function.__kwdefaults__ = kwdefaults
        for key, value in items(bound):
            setitem(namespace, key, value)
        for key in names:  # builtins the next cell uses, shadowed by a notebook name
            if contains(builtin_names, key) and contains(namespace, key) and \
                    namespace[key] is not getitem(shadows, key, missing):
                delitem(namespace, key)

    # The kernel's own state: everything deciding whether a test cell's error reaches
    # nbgrader, or whether the code run is the code nbgrader sent (_kernel_state).
    kernel_state = _kernel_state(sys)
    plain_restore_modules = restore

    def restore(names=(), only_light=False):
        plain_restore_modules(names, only_light)
        return kernel_state()

    hooks = getattr(modules_dict.get("cnnbook.checks"), "_AFTER_CALL", None)
    if _isinstance(hooks, _list):  # checks.forbidden restores after each student call too
        in_list, append = list.__contains__, list.append
        plain_restore = restore

        def after_call():  # the modules the checks use; TensorFlow's thousands wait for the next cell
            plain_restore((), True)

        def restore(names=()):
            changed = plain_restore(names)
            if not in_list(hooks, after_call):  # a cell emptied the list
                append(hooks, after_call)
            return changed

        append(hooks, after_call)
    _print, _join = print, ",".join

    def report(names=()):  # what the grader calls: restore, then answer with the token
        changed = restore(names)
        _print(token + " " + _join(changed))

    guard.restore, guard.extend = staticmethod(report), staticmethod(extend)
    setitem(_vars(builtins), guard.__name__, guard)  # a strong reference, under a random name
    extend()


_make_guard(@NAME@, @PREFIXES@, @IMPORTS@, globals(), @TOKEN@)
del _make_guard, _kernel_state, @NAME@
'''

_CALL_CODE = ("[c for c in ().__class__.__mro__[1].__subclasses__() "
              "if c.__name__ == @QNAME@][0].@WHICH@(@ARGS@)")


def _names_used(source):
    """The builtins a cell's code reads (so a notebook name shadowing them is removed)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return ()
    used = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
    return tuple(sorted(used & set(dir(builtins))))


def _imports(source):
    """The modules a cell imports (``from a import b`` gives ``a`` and ``a.b``)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found += [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
    return found


# Errors that the grader itself wrote into a test cell: they fail the test whatever the judge says.
GRADER_ERRORS = ("CellTimeoutError", "DeadKernelError", "NotRun", "GraderError")
# What the kernel's state check reports of a trace or profile function left set.
LEFT_RUNNING = ("sys.settrace", "sys.setprofile", "threading hooks")
# The MIME type of the observations cnnbook.checks.observe records for the judge.
OBSERVATION = "application/vnd.cnnbook.observation+json"


def _is_observation(output):
    return output.get("output_type") == "display_data" and OBSERVATION in output.get("data", {})


NOT_RUN = NotebookNode(
    output_type="error",
    ename="NotRun",
    evalue="this cell was not run: the kernel stopped in an earlier cell (see above)",
    traceback=["NotRun: this cell was not run: the kernel stopped in an earlier cell (see above)"],
)


def _error(ename, evalue):
    return NotebookNode(output_type="error", ename=ename, evalue=evalue,
                        traceback=[f"{ename}: {evalue}"])


def _nbgrader(cell):
    return cell.metadata.get("nbgrader", {})


def is_test_cell(cell):
    """True for an autograded test cell (nbgrader ``grade`` without ``solution``)."""
    meta = _nbgrader(cell)
    return cell.cell_type == "code" and bool(meta.get("grade")) and not meta.get("solution")


def is_student_cell(cell):
    """True for a code cell whose source comes from the student (not a locked cell).

    A locked cell is the course's only with a grade id: nbgrader puts back the source of
    every locked cell it knows and deletes the grade ids it does not know, so a cell a
    student marked ``locked`` stays the student's.
    """
    meta = _nbgrader(cell)
    return cell.cell_type == "code" and bool(
        meta.get("solution") or not meta.get("locked") or not meta.get("grade_id"))


class GuardError(RuntimeError):
    """The grader could not grade a notebook safely: the submission is graded again next run."""


class SandboxedKernelManager(AsyncKernelManager):
    """A kernel started in its sandbox (tools/sandbox.py): bubblewrap, or a fresh uid.

    Under bubblewrap the kernel has no network: it talks over ZeroMQ's ``ipc``
    transport, through sockets in its own folder (the connection file's ``ip`` is
    their path), which the grader reaches from outside. Used by
    :class:`GuardedExecute` wherever :func:`sandbox.available` says so.
    """

    sandbox = None

    def _sandbox(self):
        if self.sandbox is None:
            import sandbox

            self.sandbox = sandbox.Sandbox()
            self.connection_file = str(self.sandbox.folder / "kernel.json")
            if self.sandbox.ipc:
                self.transport = "ipc"
                self.ip = str(self.sandbox.folder / "ipc")
                self.cache_ports = False  # TCP ports: none to cache
        return self.sandbox

    async def _async_pre_start_kernel(self, **kw):
        self._sandbox()  # before jupyter_client reads the transport and writes the connection file
        return await super()._async_pre_start_kernel(**kw)

    def write_connection_file(self, **kwargs):
        box = self._sandbox()
        super().write_connection_file(**kwargs)
        box.give(self.connection_file)

    def format_kernel_cmd(self, extra_arguments=None):
        return self._sandbox().command(super().format_kernel_cmd(extra_arguments))

    def close_sandbox(self):
        if self.sandbox is not None:
            self.sandbox.close()


# How the kernels of this process were run (sandbox.BUBBLEWRAP, ...), one entry per
# notebook executed: tools/grade.py reports it for each submission.
applied = []


class GuardedExecute(Execute):
    """nbgrader's Execute, with module restoration before tests and dead-kernel recovery.

    Order of work, cell by cell: before the first cell a student can edit, a
    snapshot (of the modules in ``protected_modules`` already imported, after
    importing ``clean_imports``); after each locked cell that is not a test (the
    set-up cells), the snapshot is extended with what that cell imported and
    bound; before each locked cell and each test cell, everything is restored.
    """

    protected_modules = List(
        Unicode(),
        ["numpy", "cnnbook", "tensorflow", "keras", "math", "operator", "functools", "dis", "opcode"],
        help="Top-level modules (with their submodules) restored before each test cell.",
    ).tag(config=True)

    clean_imports = List(
        Unicode(),
        ["numpy", "numpy.testing", "cnnbook", "cnnbook.checks", "cnnbook.ops"],
        help="Modules imported by the snapshot itself, before any student code runs.",
    ).tag(config=True)

    judge = Bool(
        True,
        help="Decide the test cells in the judge (tools/judge.py) from the kernel's observations, "
             "not by the kernel's own checks (off only for the grader's own unit tests).",
    ).tag(config=True)

    setup_timeout = Integer(
        600,
        help="Seconds allowed to the grader's own cells (its guard, which imports TensorFlow "
             "clean) and to the locked set-up cells: these run the course's code, not the "
             "student's, so the per-cell limit (timeout) does not apply to them; a slow or "
             "loaded machine must not turn them into a timeout. After a cell has timed out, "
             "the kernel may still be busy with it, and timeout applies to them again.",
    ).tag(config=True)

    def preprocess(self, nb, resources=None, km=None):
        self._guard_name = "_" + secrets.token_hex(12)
        self._token = secrets.token_hex(16)  # the guard's answer: a cell cannot print it unread
        self._noise = set()
        self._guard_ready = False
        self._stopped = None  # why the kernel stopped, once it has
        self._guard_tried = False  # the guard is set up once, before any student code, or never
        self._grader_cells = set()  # ids of the grader's own hidden cells (see _get_timeout)
        self._timed_out = False  # a cell ran past the limit: the kernel may still be busy
        # What the locked set-up cells import is imported clean by the snapshot, in
        # case a student cell comes first.
        imports = list(self.clean_imports)
        for cell in nb.cells:
            if cell.cell_type == "code" and not is_student_cell(cell) and not is_test_cell(cell):
                imports += [m for m in _imports(cell.source) if m not in imports]
        self._imports = tuple(imports)
        import sandbox

        how = sandbox.mode() if km is None else sandbox.NONE
        if how != sandbox.NONE:  # bubblewrap, or a fresh uid without write rights
            self.kernel_manager_class = SandboxedKernelManager
        applied.append(how)
        self._managers = []
        self._observed = {}
        # The course's own copy of the notebook, read before the kernel starts: the judge
        # runs its set-up and test cells, never the submission's.
        self._source = self._course_source(resources) if self.judge else None
        if self._source is not None:
            import judge

            judge.shared().start()  # it imports TensorFlow while the kernel runs
        try:
            nb, resources = super().preprocess(nb, resources, km)
        finally:
            for manager in self._managers:  # kill what the kernel left, remove its folder
                manager.close_sandbox()
        if self._source is not None:
            self._decide(nb)
        return nb, resources

    def _course_source(self, resources):
        """The course's source notebook being graded (JSON), or None outside nbgrader's autograde."""
        info = (resources or {}).get("nbgrader") or {}
        if not info.get("assignment") or not info.get("notebook"):
            return None
        from nbgrader.coursedir import CourseDirectory

        coursedir = CourseDirectory(config=self.config)
        folder = Path(coursedir.format_path(coursedir.source_directory, ".", info["assignment"]))
        path = folder / f"{info['notebook']}.ipynb"
        if not path.is_file():
            raise GuardError(f"the course's source notebook {path} is missing: nothing was graded")
        return json.loads(path.read_text(encoding="utf-8"))

    def _decide(self, nb):
        """Replace every test cell's outputs by the judge's verdict (tools/judge.py).

        What the kernel's own checks said decides nothing: a test passes when the judge's run
        of the course's test cell on the kernel's observations passes, and nothing of the
        grader's own stopped it (a time limit, a dead kernel, a changed kernel, a thread or a
        hook left by the student's code). Where the kernel's verdict differs from the judge's,
        the notebook's metadata says so (``cnnbook.judge``), for the report's "needs a look".
        """
        import judge

        observations, stopped = {}, {}
        for cell in nb.cells:
            if not is_test_cell(cell):
                continue
            grade_id = _nbgrader(cell).get("grade_id")
            observations[grade_id] = self._observed.get(grade_id, [])
            errors = [o for o in cell.outputs if o.output_type == "error"]
            if errors:
                stopped[grade_id] = f"{errors[0].get('ename')}: {errors[0].get('evalue', '')}"[:500]
        try:  # a judge that stopped after student code ran is not started again for this notebook
            verdicts = judge.shared().judge(self._source, observations, stopped,
                                            timeout=self.setup_timeout, may_start=not self._guard_tried)
        except judge.JudgeError as error:
            raise GuardError(f"the grader's judge could not decide this notebook ({error}); "
                             "nothing was graded") from None
        disagree, unused = [], []
        for cell in nb.cells:
            if not is_test_cell(cell):
                continue
            grade_id = _nbgrader(cell).get("grade_id")
            errors = [o for o in cell.outputs if o.output_type == "error"]
            grader = [o for o in errors if o.get("ename") in GRADER_ERRORS]
            verdict = verdicts.get(grade_id) or {
                "passed": False, "ename": "GraderError", "stdout": "",
                "evalue": "this test is not in the course's notebook: it does not count"}
            outputs = []
            if verdict.get("stdout"):
                outputs.append(NotebookNode(output_type="stream", name="stdout", text=verdict["stdout"]))
            if not verdict["passed"]:
                outputs.append(_error(verdict.get("ename") or "AssertionError", verdict.get("evalue") or ""))
            cell.outputs = outputs + grader
            if not grader and bool(errors) == verdict["passed"]:
                disagree.append({"test": grade_id, "kernel": "failed" if errors else "passed",
                                 "judge": "passed" if verdict["passed"] else "failed"})
            if verdict["passed"] and verdict.get("unused"):
                unused.append({"test": grade_id, "records": verdict["unused"]})
        nb.metadata["cnnbook"] = {"judge": {"disagree": disagree, "unused": unused}}

    def create_kernel_manager(self):
        manager = super().create_kernel_manager()
        if isinstance(manager, SandboxedKernelManager):
            self._managers.append(manager)
        return manager

    def _get_timeout(self, cell):
        """The per-cell limit for student and test cells; setup_timeout for the course's own."""
        course_cell = cell is not None and (id(cell) in self._grader_cells or (
            cell.get("cell_type") == "code" and not is_student_cell(cell)
            and not is_test_cell(cell)))
        if course_cell and not self._timed_out and self.timeout and self.timeout > 0:
            return max(self.timeout, self.setup_timeout)
        return super()._get_timeout(cell)

    def _execute_hidden(self, code, index):
        """Run grader code in the kernel as a cell of its own; return that cell."""
        real = self.nb.cells[index]
        hidden = NotebookNode(cell_type="code", source=code, metadata={}, outputs=[],
                              execution_count=None, id=f"grader-{index}")
        self._grader_cells.add(id(hidden))
        try:
            super().execute_cell(hidden, index, store_history=False)
        finally:
            self.nb.cells[index] = real  # nbclient stores the executed cell in the notebook
            self._grader_cells.discard(id(hidden))
        self._note_timeout(hidden)
        return hidden

    def _note_timeout(self, cell):
        if any(o.get("ename") == "CellTimeoutError" for o in cell.get("outputs", [])):
            self._timed_out = True

    def _run_hidden(self, code, index):
        """Run grader code in the kernel; return its error output or None."""
        errors = [o for o in self._execute_hidden(code, index).outputs if o.output_type == "error"]
        return errors[0] if errors else None

    def _call(self, which, index, names=()):
        code = (_CALL_CODE.replace("@QNAME@", repr(self._guard_name))
                .replace("@WHICH@", which).replace("@ARGS@", repr(tuple(names)) if names else ""))
        return self._run_hidden(code, index)

    def _restore(self, index, names=()):
        """Run the guard's restore; return (error or None, what it put back of the kernel's state).

        The guard answers with a token drawn for this notebook: a cell that rewrites the
        grader's code (an input or AST transformer) cannot answer in its place.
        """
        code = (_CALL_CODE.replace("@QNAME@", repr(self._guard_name)).replace("@WHICH@", "restore")
                .replace("@ARGS@", repr(tuple(names)) if names else ""))
        hidden = self._execute_hidden(code, index)
        errors = [o for o in hidden.outputs if o.output_type == "error"]
        text = "".join(o.get("text", "") for o in hidden.outputs if o.output_type == "stream")
        line = next((x for x in text.splitlines() if x.startswith(self._token)), None)
        if errors or line is None:
            why = f"{errors[0].ename}: {errors[0].evalue}" if errors else "its code did not run as sent"
            return _error("GraderError", "the grader could not restore the kernel before this "
                          f"cell ({why}); did a cell tamper with it?"), []
        return None, [n for n in line[len(self._token):].strip().split(",") if n]

    def _check_raise_for_error(self, cell, cell_index, exec_reply):
        # The kernel said the cell failed but no error output arrived: something hid it.
        content = (exec_reply or {}).get("content", {})
        if content.get("status") == "error" and cell.get("outputs") is not None \
                and not any(o.output_type == "error" for o in cell.outputs):
            cell.outputs.append(_error("GraderError", "the cell raised {} but its error output "
                                       "was hidden".format(content.get("ename", "an error"))))
        return super()._check_raise_for_error(cell, cell_index, exec_reply)

    def execute_cell(self, cell, cell_index, execution_count=None, store_history=True):
        if cell.cell_type != "code":
            return cell
        if self._stopped:
            cell.outputs = [NOT_RUN]
            return cell
        try:
            student = is_student_cell(cell)
            if (student or is_test_cell(cell)) and not self._guard_tried:
                # Once, before the first cell a student wrote: a snapshot taken after one
                # would hold that cell's changes as the state to restore.
                self._guard_tried = True
                if self._source is not None:  # the judge has read the course's code before any student's runs
                    import judge

                    try:
                        judge.shared().wait_ready(self.setup_timeout)
                    except judge.JudgeError as error:
                        raise GuardError(f"the grader's judge could not start ({error}); nothing was graded") from None
                code = (_SNAPSHOT_CODE.replace("@NAME@", self._guard_name)
                        .replace("@PREFIXES@", repr(tuple(self.protected_modules)))
                        .replace("@IMPORTS@", repr(self._imports))
                        .replace("@TOKEN@", repr(self._token)))
                error = self._run_hidden(code, cell_index)
                if error is None:
                    # What the kernel itself changes in every cell (IPython resets
                    # sys.excepthook, ipykernel its streams): restored, but no sign of tampering.
                    self._run_hidden("pass", cell_index)
                    error, noise = self._restore(cell_index)
                    self._noise = set(noise)
                if error is not None:  # never grade without the guard: the grader failed
                    raise GuardError(f"the grader could not set up its guard in the kernel "
                                     f"({error.ename}: {error.evalue}); nothing was graded")
                self._guard_ready = True
            alive = []
            if not student and self._guard_ready:
                error, changed = self._restore(cell_index, _names_used(cell.source))
                if error is not None:
                    cell.outputs = [error]
                    return cell
                alive = [c for c in changed if c not in self._noise and (
                    c.startswith("thread ") or c in LEFT_RUNNING)]
            generous = not self._timed_out  # setup_timeout applies (see _get_timeout)
            cell = super().execute_cell(cell, cell_index, execution_count, store_history)
            self._note_timeout(cell)
            if generous and not student and not is_test_cell(cell) and any(
                    o.get("ename") == "CellTimeoutError" for o in cell.outputs):
                # A set-up cell of the course ran past setup_timeout: the machine, not the
                # student; grading on would score the tests of a half-set-up kernel.
                raise GuardError(f"the course's set-up cell {cell_index} ran longer than "
                                 f"{max(self.timeout or 0, self.setup_timeout)} s; nothing was graded")
            if not is_test_cell(cell):  # observations belong to test cells only
                cell.outputs = [o for o in cell.get("outputs", []) if not _is_observation(o)]
            if is_test_cell(cell):
                # The observations recorded for the judge leave the notebook (and so the
                # feedback); the judge decides the test from them (_decide).
                grade_id = _nbgrader(cell).get("grade_id")
                self._observed[grade_id] = [o.data[OBSERVATION] for o in cell.outputs
                                            if _is_observation(o)]
                cell.outputs = [o for o in cell.outputs if not _is_observation(o)]
                if alive:  # item 4 of issue 23: code left running by the student fails the test
                    cell.outputs.append(_error(
                        "GraderError", "a thread your code started, or a trace or profile "
                        f"function it set, was still there when this test started ({', '.join(alive[:4])}): "
                        "the test does not count"))
                self.nb.cells[cell_index] = cell
            if is_test_cell(cell) and self._guard_ready:
                # What changed the kernel's state during the test (a student's function
                # installing a hook) may have hidden its failure: the test fails.
                error, changed = self._restore(cell_index)
                changed = [c for c in changed if c not in self._noise]
                if error is not None or changed:
                    cell.outputs.append(error or _error(
                        "GraderError", "the kernel's state changed while this test ran ("
                        + ", ".join(changed[:6]) + "): the test does not count"))
                    self.nb.cells[cell_index] = cell
            if not student and not is_test_cell(cell) and self._guard_ready:
                self._call("extend", cell_index)  # what a set-up cell imported is protected too
            return cell
        except DeadKernelError:
            self._stopped = "the kernel died"
            cell.outputs.append(_error(
                "DeadKernelError",
                "the kernel died while running this cell (os._exit, a crash or running out "
                "of memory); the cells after it were not run",
            ))
        except CellTimeoutError:
            self._stopped = "a cell could not be interrupted"
            cell.outputs.append(_error(
                "CellTimeoutError",
                f"this cell ran longer than {self.timeout} s and could not be interrupted; "
                "the cells after it were not run",
            ))
        self.nb.cells[cell_index] = cell
        return cell


class CapOutput(NbGraderPreprocessor):
    """Cap the text output of every code cell at ``max_chars`` characters."""

    max_chars = Integer(100_000, help="Characters of text output kept per cell.").tag(config=True)

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code":
            return cell, resources
        budget = self.max_chars
        kept = []
        for output in cell.get("outputs", []):
            if output.output_type == "stream":
                size = len(output.text)
                if size > budget:
                    output.text = (output.text[:budget]
                                   + f"\n... output truncated by the grader ({size:,} characters) ...\n")
                budget = max(0, budget - size)
            elif output.output_type in ("execute_result", "display_data"):
                for mime, value in list(output.get("data", {}).items()):
                    if isinstance(value, str) and len(value) > budget:
                        if mime.startswith("text/"):
                            output.data[mime] = value[:budget] + "\n... truncated by the grader ..."
                        else:
                            del output.data[mime]
                    budget = max(0, budget - len(value) if isinstance(value, str) else budget)
            elif output.output_type == "error":
                output.evalue = output.evalue[: self.max_chars]
                output.traceback = [line[: self.max_chars] for line in output.traceback]
            kept.append(output)
        cell.outputs = kept
        return cell, resources


_HIDDEN = re.compile(r"^[ \t]*### BEGIN HIDDEN TESTS.*?^[ \t]*### END HIDDEN TESTS[^\n]*\n?",
                     re.MULTILINE | re.DOTALL)


class HideHiddenTests(NbGraderPreprocessor):
    """Remove hidden tests' code from feedback and shorten their tracebacks."""

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "code" and _HIDDEN.search(cell.source):
            cell.source = _HIDDEN.sub("# (hidden tests ran here; their code is not shown)\n",
                                      cell.source).rstrip("\n")
            for output in cell.get("outputs", []):
                if output.output_type == "error":
                    output.traceback = [f"{output.ename}: {output.evalue}"]
        return cell, resources


def configure(c):
    """Install the plugins in an nbgrader config object ``c``."""
    from nbconvert.preprocessors import ClearMetadataPreprocessor, CSSHTMLHeaderPreprocessor
    from nbgrader.preprocessors import (AssignLatePenalties, CheckCellMetadata, GetGrades,
                                        IgnorePattern, LimitOutput, SaveAutoGrades)

    c.Autograde.autograde_preprocessors = [
        GuardedExecute, IgnorePattern, ClearMetadataPreprocessor, LimitOutput, CapOutput,
        SaveAutoGrades, AssignLatePenalties, CheckCellMetadata,
    ]
    c.GenerateFeedback.preprocessors = [HideHiddenTests, GetGrades, CSSHTMLHeaderPreprocessor]
