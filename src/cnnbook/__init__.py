"""cnnbook: the helpers that the course's chapters, exercises and tests import.

Modules are imported explicitly (``from cnnbook import ops``); importing the
package loads none of them. The one thing it does is to quiet TensorFlow's C++
start-up logging for any TensorFlow imported *after* it, unless you chose a
level yourself (``TF_CPP_MIN_LOG_LEVEL``), and to turn off oneDNN's
reordering so results repeat from run to run (``TF_ENABLE_ONEDNN_OPTS``).
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

__version__ = "0.1.0"
