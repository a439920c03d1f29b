"""TensorFlow's start-up noise is silenced for code that imports cnnbook first."""

import os
import subprocess
import sys


def test_importing_tensorflow_after_cnnbook_prints_nothing():
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TF_", "KERAS_"))}
    result = subprocess.run(
        [sys.executable, "-c", "import cnnbook, tensorflow as tf; tf.constant(1.0) + 1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == "", f"TensorFlow printed on import:\n{result.stderr}"


def test_cnnbook_keeps_a_level_the_user_chose():
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="0")
    result = subprocess.run(
        [sys.executable, "-c", "import os, cnnbook; print(os.environ['TF_CPP_MIN_LOG_LEVEL'])"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.stdout.strip() == "0"
