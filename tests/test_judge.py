"""The judge (tools/judge.py): verdicts from recorded observations, without running student code."""

import json

import nbformat
import pytest

import judge


def _notebook(*cells):
    """A source notebook from (kind, source) pairs: setup, solution, free, test."""
    made = []
    for index, (kind, source) in enumerate(cells):
        cell = nbformat.v4.new_code_cell(source)
        cell.metadata["nbgrader"] = {
            "setup": {"locked": True, "grade": False, "solution": False, "grade_id": f"setup{index}"},
            "solution": {"locked": False, "grade": False, "solution": True, "grade_id": f"answer{index}"},
            "free": {},
            "test": {"locked": True, "grade": True, "solution": False, "points": 1,
                     "grade_id": f"test{index}"},
        }[kind]
        made.append(cell)
    return json.loads(nbformat.writes(nbformat.v4.new_notebook(cells=made)))


SOURCE = _notebook(
    ("setup", "import numpy as np\nfrom cnnbook import checks\nran = []"),
    ("solution", "def double(x):\n    ran.append('student')\n    return 2 * x"),
    ("free", "ran.append('free cell')"),
    ("test", "y = checks.observe('double(3)', lambda: double(3))\n"
             "checks.assert_equal(y, 6, 'double(3)', 'twice x')"),
    ("test", "y = checks.observe('double(np.ones(2))', lambda: double(np.ones(2)))\n"
             "checks.assert_close(y, [2.0, 2.0], 'double(np.ones(2))')\n"
             "assert ran == [], ran"),
)


def test_the_judge_decides_from_the_records_and_runs_no_student_cell():
    records = {"test3": [{"what": "double(3)", "value": 6}],
               "test4": [{"what": "double(np.ones(2))", "value": {"list": [2.0, 2.0]}}]}
    verdicts = judge.judge_notebook(SOURCE, records)
    assert verdicts["test3"]["passed"] and verdicts["test4"]["passed"], verdicts


def test_a_wrong_record_fails_with_the_tests_own_message():
    records = {"test3": [{"what": "double(3)", "value": 7}], "test4": []}
    verdicts = judge.judge_notebook(SOURCE, records, stopped={"test4": "NameError: double"})
    assert verdicts["test3"] == {"passed": False, "ename": "AssertionError",
                                 "evalue": "double(3) is 7, expected 6: twice x", "stdout": "",
                                 "unused": 0}
    assert verdicts["test4"]["evalue"] == ("the test stopped in the notebook before it called "
                                           "double(np.ones(2)) (NameError: double)")


def test_a_value_that_lies_is_not_plain_data_and_cannot_be_recorded():
    """What the kernel sends is JSON: an int subclass whose == says True cannot cross."""
    records = {"test3": [{"what": "double(3)", "value": {"object": "Liar"}}], "test4": []}
    verdicts = judge.judge_notebook(SOURCE, records)
    assert not verdicts["test3"]["passed"]


def test_a_test_calling_the_student_outside_observe_fails():
    source = _notebook(("setup", "from cnnbook import checks"),
                       ("solution", "def f():\n    return 1"),
                       ("test", "assert f() == 1"))
    verdict = judge.judge_notebook(source, {"test2": []})["test2"]
    assert not verdict["passed"] and "outside checks.observe" in verdict["evalue"]


def test_a_failing_set_up_cell_is_the_graders_error_not_the_students():
    source = _notebook(("setup", "import no_such_module_anywhere"), ("test", "pass"))
    with pytest.raises(judge.JudgeError, match="set-up cell setup0 failed"):
        judge.judge_notebook(source, {})


@pytest.mark.slow
def test_the_judge_process_answers_and_is_reused():
    process = judge.Judge()
    try:
        records = {"test3": [{"what": "double(3)", "value": 6}],
                   "test4": [{"what": "double(np.ones(2))", "value": {"list": [2.0, 3.0]}}]}
        first = process.judge(SOURCE, records)
        pid = process.process.pid
        second = process.judge(SOURCE, records)
        assert process.process.pid == pid
        assert first == second
        assert first["test3"]["passed"] and not first["test4"]["passed"]
        assert "off by up to 1" in first["test4"]["evalue"]
    finally:
        process.stop()


def test_a_judge_that_stopped_while_student_code_ran_is_not_started_again():
    process = judge.Judge()
    with pytest.raises(judge.JudgeError, match="stopped while the notebook ran"):
        process.judge(SOURCE, {}, may_start=False)
    assert process.process is None
