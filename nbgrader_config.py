"""nbgrader configuration of the course.

`solutions/` is nbgrader's source directory (solutions, visible and hidden tests)
and `exercises/` its release directory (what students get). Regenerate the
release with `make exercises`; never edit `exercises/` by hand.
"""

import os
import sys

c = get_config()  # noqa: F821  (provided by nbgrader when it loads this file)

c.CourseDirectory.root = os.path.dirname(os.path.abspath(__file__))
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "exercises"
c.CourseDirectory.course_id = "cnn-course"

# Autograding: nbgrader honours Execute.timeout (seconds per cell), not
# ExecutePreprocessor.timeout. A cell stuck longer than this is stopped and its
# tests score 0; the rest of the notebook is still graded.
c.Execute.timeout = 120

# Test cells a student deleted are put back from the gradebook, so they still count.
c.OverwriteCells.add_missing_cells = True

# Plugins (tools/nbgrader_plugins.py): before each test cell, restore numpy, cnnbook and
# TensorFlow as they were before any student code ran (monkey-patching gains nothing);
# keep the points earned before a cell that kills the kernel; cap each cell's output at
# 100 kB; and keep hidden tests' code out of the feedback.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "tools"))
from nbgrader_plugins import configure  # noqa: E402

configure(c)
c.CapOutput.max_chars = 100_000
