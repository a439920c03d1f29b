"""nbgrader configuration of the course.

`solutions/` is nbgrader's source directory (solutions, visible and hidden tests)
and `exercises/` its release directory (what students get). Regenerate the
release with `make exercises`; never edit `exercises/` by hand.
"""

import os

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
