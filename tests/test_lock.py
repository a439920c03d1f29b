"""The one lock installs where students are: Linux x86-64 and macOS arm64, every Python named.

For each platform and Python version that README.md names, pip resolves the lock without
installing anything (``pip install --dry-run --only-binary=:all: --platform ...
--python-version ...``): a pin with no wheel for a supported platform fails here. pip
evaluates environment markers against the interpreter that runs it, not the target, so
the test first evaluates the lock's markers for the target and hands pip the exact pins
that apply there.
"""

import re
import subprocess
import sys

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

import course

pytestmark = pytest.mark.slow

LOCK = course.ROOT / "requirements.lock"
PYPROJECT = course.ROOT / "pyproject.toml"
README = course.ROOT / "README.md"

# The Pythons that README.md names: the stock interpreters of Debian 12, Ubuntu 24.04, Debian 13.
PYTHONS = ["3.11.2", "3.12.3", "3.13.5"]

# pip does not widen a manylinux platform to older tags: pass every one a glibc 2.39 accepts.
MANYLINUX = [f"manylinux_2_{minor}_x86_64" for minor in range(39, 16, -1)] + [
    "manylinux2014_x86_64", "manylinux2010_x86_64", "manylinux1_x86_64", "linux_x86_64"]

PLATFORMS = {
    "linux-x86_64": {
        "tags": MANYLINUX,
        "markers": {"sys_platform": "linux", "platform_system": "Linux",
                    "platform_machine": "x86_64", "os_name": "posix"},
    },
    # pip widens a macOS platform to the older macOS versions itself.
    "macos-arm64": {
        "tags": ["macosx_14_0_arm64"],
        "markers": {"sys_platform": "darwin", "platform_system": "Darwin",
                    "platform_machine": "arm64", "os_name": "posix"},
    },
}


def pins_for(platform, python):
    """Return the lock's requirements that apply on ``platform`` with ``python``, markers evaluated."""
    environment = {
        **PLATFORMS[platform]["markers"],
        "python_version": ".".join(python.split(".")[:2]),
        "python_full_version": python,
        "implementation_name": "cpython",
        "platform_python_implementation": "CPython",
    }
    pins = []
    for line in LOCK.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        requirement = Requirement(line)
        assert str(requirement.specifier).startswith("=="), f"not an exact pin: {line}"
        if requirement.marker is None or requirement.marker.evaluate(environment):
            pins.append(f"{requirement.name}{requirement.specifier}")
    return pins


def test_the_lock_has_exact_pins_and_one_tensorflow_per_platform():
    linux = pins_for("linux-x86_64", "3.12.3")
    mac = pins_for("macos-arm64", "3.12.3")
    assert any(p.startswith("tensorflow-cpu==") for p in linux)
    assert not any(p.startswith("tensorflow==") for p in linux)
    assert any(p.startswith("tensorflow==") for p in mac)
    assert not any(p.startswith("tensorflow-cpu==") for p in mac)


def test_readme_and_requires_python_name_the_tested_pythons():
    requires = re.search(r'^requires-python = "([^"]+)"', PYPROJECT.read_text(), re.M).group(1)
    allowed = SpecifierSet(requires)
    for python in PYTHONS:
        assert python in allowed, f"{python} is tested but requires-python is {requires}"
    assert "3.10.12" not in allowed, "Python 3.10 is not tested: requires-python must exclude it"
    readme = README.read_text()
    for python in PYTHONS:
        assert python in readme, f"README.md does not name the tested Python {python}"


@pytest.mark.parametrize("python", PYTHONS)
@pytest.mark.parametrize("platform", PLATFORMS)
def test_lock_resolves(platform, python, tmp_path):
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("\n".join(pins_for(platform, python)) + "\n")
    command = [sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed",
               "--quiet", "--only-binary=:all:", "--python-version", python,
               "--target", str(tmp_path / "target"), "-r", str(requirements)]
    for tag in PLATFORMS[platform]["tags"]:
        command += ["--platform", tag]
    result = subprocess.run(command, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, (
        f"requirements.lock does not resolve on {platform} with Python {python}:\n"
        f"{result.stderr[-4000:]}"
    )
