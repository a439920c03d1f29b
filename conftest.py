"""pytest set-up shared by every test: environment, notebook grouping, nbval tweaks."""

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT / "tools"))

# Before TensorFlow is imported anywhere, here or in a kernel started by a test.
for _name, _value in {
    "TF_CPP_MIN_LOG_LEVEL": "2",
    "TF_ENABLE_ONEDNN_OPTS": "0",
    "CUDA_VISIBLE_DEVICES": "-1",
    "KERAS_BACKEND": "tensorflow",
    "PYDEVD_DISABLE_FILE_VALIDATION": "1",
}.items():
    os.environ.setdefault(_name, _value)
os.environ["PYTHONPATH"] = os.pathsep.join(
    p for p in (str(ROOT / "src"), os.environ.get("PYTHONPATH", "")) if p
)
if os.environ.get("PYTEST_XDIST_WORKER"):
    # Two workers share two cores: one thread each for the kernels they start.
    for _name in ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS", "OMP_NUM_THREADS"):
        os.environ.setdefault(_name, "1")


def pytest_collectstart(collector):
    """nbval: never compare stderr (TensorFlow and Keras warnings vary between runs)."""
    if getattr(collector, "path", None) is not None and collector.path.suffix == ".ipynb":
        collector.skip_compare += ("stderr",)


# The longest scopes first, so that neither worker is left with a long one at the end.
LONGEST_FIRST = ("test_numerics.py", "test_grade_pipeline.py", "test_autograde.py", "test_dispatch.py")


def pytest_collection_modifyitems(config, items):
    """Mark notebook cells slow (``--dist loadscope`` keeps a notebook on one worker)."""
    for item in items:
        if Path(item.path).suffix == ".ipynb":
            item.add_marker(pytest.mark.slow)
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(Path(item.path).name, len(rank)))
