"""Autograde every assignment end to end with nbgrader, in a temporary course.

For each assignment in solutions/: the solution scores full marks, the untouched
release scores 0 without crashing the grader, and every kept wrong implementation
(tests/wrong/<assignment>/*.py) scores less than full, losing points in its own part
only (one mistake costs one part: the column "points lost outside its part" of
``make sensitivity``). nbgrader's exit code does
not report failed tests, so scores are read from the gradebook.

All submissions of one assignment are graded in one course, once per test
session: the tests of an assignment are one class, which ``--dist loadscope``
keeps on one pytest-xdist worker while the other grades other assignments or
runs notebooks.
"""

import pytest

import course
import grade

ASSIGNMENTS = course.assignments()


@pytest.fixture(scope="session")
def graded(tmp_path_factory):
    """Return a function: assignment -> (grades by student, wrong versions by student)."""
    cache = {}

    def grade(assignment):
        if assignment not in cache:
            course_dir = course.make_course(tmp_path_factory.mktemp(assignment), [assignment])
            students, wrongs = course.reference_class(assignment, course_dir)
            for student, notebooks in students.items():
                course.submit(course_dir, assignment, student, notebooks)
            cache[assignment] = (course.autograde(course_dir, assignment), wrongs)
        return cache[assignment]

    return grade


@pytest.mark.slow
class AutogradeChecks:
    """The grader's verdicts on one assignment (one subclass per assignment, below)."""

    assignment = None

    def test_solution_scores_full_marks(self, graded):
        grades, _ = graded(self.assignment)
        solution = grades["solution"]
        assert solution.max_score > 0
        lost = {cell: s for cell, s in solution.cells.items() if s[0] < s[1]}
        assert solution.score == solution.max_score, f"solution lost points in {lost}"

    def test_untouched_release_scores_zero(self, graded):
        grades, _ = graded(self.assignment)
        release = grades["release"]
        assert release.max_score == grades["solution"].max_score, "not every cell was graded"
        assert release.score == 0, f"an empty release earned points: {release.cells}"

    def test_every_wrong_version_scores_below_full(self, graded):
        grades, wrongs = graded(self.assignment)
        assert wrongs, f"no wrong versions kept in tests/wrong/{self.assignment}/"
        full = grades["solution"].max_score
        caught = {student: grades[student].score for student in wrongs}
        missed = {s: score for s, score in caught.items() if score >= full}
        assert not missed, f"wrong versions scored full marks ({full}): {missed}"

    def test_a_wrong_version_loses_points_in_its_own_part_only(self, graded):
        """A later part's tests use the reference versions of the earlier parts it builds on."""
        grades, wrongs = graded(self.assignment)
        owner = grade.parts(self.assignment)
        assert set(owner.values()) == set(course.solution_sources(self.assignment))
        outside = {}
        for student, version in wrongs.items():
            cells = grades[student].cells
            lost = grade.lost_outside(cells, version.grade_id, owner)
            if lost:
                outside[student] = sorted(g for g, (score, top) in cells.items()
                                          if owner[g] != version.grade_id and (score or 0) < top)
        assert not outside, f"wrong versions that lost points in other parts' tests: {outside}"


for _assignment in ASSIGNMENTS:
    _name = f"TestAutograde_{_assignment}"
    globals()[_name] = type(_name, (AutogradeChecks,), {"assignment": _assignment})


def test_there_is_an_assignment():
    assert ASSIGNMENTS, "no assignment found in solutions/"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_graded_function_has_two_wrong_versions(assignment):
    solution_cells = course.solution_sources(assignment)
    by_cell = {}
    for version in course.wrong_versions(assignment):
        assert version.grade_id in solution_cells, (
            f"{version.path.name} replaces cell {version.grade_id!r}, which is not a solution cell"
        )
        assert version.description, f"{version.path.name} lacks a '# wrong: ...' line"
        by_cell.setdefault(version.grade_id, []).append(version.name)
    thin = {cell: by_cell.get(cell, []) for cell in solution_cells if len(by_cell.get(cell, [])) < 2}
    assert not thin, f"solution cells with fewer than two kept wrong versions: {thin}"


@pytest.mark.parametrize("line, why", [
    ("import dis", "import dis"),
    ("from opcode import opname", "from opcode import"),
    ("import types as t", "import types"),
    ("mine = types.FunctionType(code, {})", "types"),
])
def test_reaching_for_the_tools_of_the_content_keys_is_flagged(line, why):
    """dis and opcode make the content keys that recognise a copy of blocked code; types builds
    such a copy: answer code that uses them is listed under "needs a look" (issue 23, item 5)."""
    assert why in [reason for _, reason in grade.reaching_lines(line)]


def test_honest_answer_lines_are_not_flagged():
    source = "import numpy as np\n\ndef f(x):\n    return np.maximum(x, 0).sum(axis=(1, 2))\n"
    assert grade.reaching_lines(source) == []
