"""Everything the course imports is installed by `make install`, on a fresh machine too.

A package present in one developer's .venv but absent from requirements.lock passes every
test there and fails on a clean clone (CI found chapter 4 importing pandas that way). This
test reads the imports of every chapter, solution, exercise, helper, tool, benchmark and test,
and checks that each third-party module comes from a distribution the lock pins.
"""

import ast
import importlib.metadata
import re
import sys

import nbformat
import pytest
from packaging.requirements import Requirement

import course

ROOT = course.ROOT
LOCAL_DIRS = ["src", "tools", "tests", "bench"]


def _normalise(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def locked_distributions():
    names = set()
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            names.add(_normalise(Requirement(line).name))
    return names


def local_modules():
    """Modules the repository itself provides: src packages, tools, tests, bench scripts."""
    names = {"conftest"}
    for folder in LOCAL_DIRS:
        for path in (ROOT / folder).iterdir():
            if path.suffix == ".py" or (path.is_dir() and (path / "__init__.py").exists()):
                names.add(path.stem)
    return names


def _top_level_imports(source):
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


def _notebook_source(path):
    """The code cells of a notebook, IPython magics and shell escapes removed."""
    cells = nbformat.read(path, as_version=4).cells
    lines = []
    for cell in cells:
        if cell.cell_type != "code":
            continue
        for line in cell.source.splitlines():
            lines.append("" if line.lstrip().startswith(("%", "!")) else line)
        lines.append("")
    return "\n".join(lines)


def sources():
    files = [p for folder in LOCAL_DIRS for p in (ROOT / folder).rglob("*.py")]
    files += [ROOT / "conftest.py", ROOT / "nbgrader_config.py"]
    notebooks = [p for folder in ("book", "solutions", "exercises")
                 for p in (ROOT / folder).rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts]
    return [(p, p.read_text()) for p in files] + [(p, _notebook_source(p)) for p in notebooks]


def test_every_imported_module_comes_from_a_locked_distribution():
    locked = locked_distributions()
    local = local_modules()
    providers = importlib.metadata.packages_distributions()
    missing = {}
    for path, source in sources():
        for module in _top_level_imports(source):
            if module in sys.stdlib_module_names or module in local or module == "__future__":
                continue
            dists = {_normalise(d) for d in providers.get(module, [])}
            if not dists & locked:
                missing.setdefault(module, []).append(str(path.relative_to(ROOT)))
    assert not missing, (
        "imported but not pinned in requirements.lock (add the distribution to pyproject.toml, "
        f"then `make lock`): {missing}")


def test_the_check_sees_a_module_outside_the_lock():
    """The check itself: an import of a module no locked distribution provides is reported."""
    assert "pandas" in _top_level_imports("import pandas as pd\nfrom pandas import DataFrame")
    assert not {_normalise(d) for d in importlib.metadata.packages_distributions().get(
        "surely_not_installed_module", [])} & locked_distributions()


@pytest.mark.parametrize("module", ["pandas", "myst_nb", "tensorflow", "keras", "sklearn", "skimage"])
def test_modules_the_chapters_use_are_pinned(module):
    providers = importlib.metadata.packages_distributions()
    assert {_normalise(d) for d in providers[module]} & locked_distributions(), module
