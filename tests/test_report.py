"""Tests of tools/report.py: the class report of a grading run.

The synthetic class: six students, two assignments.

01_convolution (4 points; cells a_shape 1, a_values 2, a_stride 1), five submissions, erin missing:

    student              a_shape  a_values   a_stride  total
    alice                1        2          1         4
    bob                  1        1 (of 2)   1         3
    carol                0        0          1         1
    dave                 1        2          1         4
    <script>x</script>   1        (missing)  1         2    problem: a cell timed out

02_pooling (3 points; cells b_max, b_avg, b_shape, 1 each), six submissions:

    student              b_max  b_avg  b_shape  total
    alice                1      1      1        3
    bob                  0      1      1        2
    carol                0      0      1        1
    dave                 1      0      1        2
    erin                 0      0      1        1    problem: invalid JSON
    <script>x</script>   1      1      1        3
"""

import base64
import copy
import re

import pytest

import report

EVIL = "<script>x</script>"
CONV, POOL = "01_convolution", "02_pooling"
CELLS = {
    CONV: {"a_shape": 1.0, "a_values": 2.0, "a_stride": 1.0},
    POOL: {"b_max": 1.0, "b_avg": 1.0, "b_shape": 1.0},
}
TIMED_OUT = "cell a_values timed out after 120 s <b>"
NOT_JSON = "notebook 02_pooling.ipynb is not valid JSON: Expecting ',' & more"


def submission(student, assignment, scores, problems=()):
    """Return one submission; cells absent from ``scores`` are absent from it."""
    cells = {grade_id: [float(score), CELLS[assignment][grade_id]]
             for grade_id, score in scores.items()}
    return {
        "student": student, "assignment": assignment,
        "score": float(sum(scores.values())), "max_score": sum(CELLS[assignment].values()),
        "cells": cells, "problems": list(problems), "seconds": 1.0,
    }


def make_results():
    """Return the synthetic results described in the module docstring."""
    conv = [
        ("alice", 1, 2, 1), ("bob", 1, 1, 1), ("carol", 0, 0, 1), ("dave", 1, 2, 1),
    ]
    pool = [
        ("alice", 1, 1, 1), ("bob", 0, 1, 1), ("carol", 0, 0, 1), ("dave", 1, 0, 1),
        ("erin", 0, 0, 1), (EVIL, 1, 1, 1),
    ]
    submissions = [submission(s, CONV, dict(zip(CELLS[CONV], row))) for s, *row in conv]
    submissions.append(submission(EVIL, CONV, {"a_shape": 1, "a_stride": 1}, [TIMED_OUT]))
    submissions += [
        submission(s, POOL, dict(zip(CELLS[POOL], row)), [NOT_JSON] if s == "erin" else [])
        for s, *row in pool
    ]
    return {
        "assignments": {
            name: {
                "max_score": sum(cells.values()),
                "cells": [{"grade_id": g, "max_score": m, "notebook": name}
                          for g, m in cells.items()],
            }
            for name, cells in CELLS.items()
        },
        "submissions": submissions,
        "students": sorted({"alice", "bob", "carol", "dave", "erin", EVIL}),
        "missing": {CONV: ["erin"], POOL: []},
        "generated": "2026-11-30 17:02 UTC",
        "timeout": 120,
    }


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    """Return the HTML of the report of the synthetic class."""
    return report.write_report(make_results(), tmp_path_factory.mktemp("report") / "r.html") \
        .read_text(encoding="utf-8")


def section(page, heading_id):
    """Return the HTML from the <h2> with ``heading_id`` to the next <h2> (or the end)."""
    start = page.index(f'<h2 id="{heading_id}">')
    end = page.find("<h2", start + 1)
    return page[start:end if end != -1 else None]


# ------------------------------------------------------------------ failing_cells
def test_failing_cells_sorted_by_share_then_assignment_then_grade_id():
    rows = report.failing_cells(make_results())
    assert [(r["assignment"], r["grade_id"], r["failed"], r["graded"]) for r in rows] == [
        (CONV, "a_values", 3, 5),   # 0.6: bob's partial score, carol, and a missing cell
        (POOL, "b_avg", 3, 6),      # 0.5, tied with b_max: grade_id decides
        (POOL, "b_max", 3, 6),
        (CONV, "a_shape", 1, 5),    # 0.2
        (CONV, "a_stride", 0, 5),   # 0.0, tied with b_shape: assignment decides
        (POOL, "b_shape", 0, 6),
    ]


def test_failing_cells_share_and_points():
    rows = {r["grade_id"]: r for r in report.failing_cells(make_results())}
    assert rows["a_values"]["share"] == pytest.approx(0.6)
    assert rows["b_max"]["share"] == pytest.approx(0.5)
    assert rows["a_stride"]["share"] == 0.0
    assert rows["a_values"]["max_score"] == 2.0
    assert set(rows["a_values"]) == {"assignment", "grade_id", "max_score", "graded",
                                     "failed", "share"}


def test_failing_cells_counts_missing_cell_as_failed():
    results = make_results()
    for sub in results["submissions"]:
        if sub["assignment"] == POOL and sub["student"] == "alice":
            del sub["cells"]["b_shape"]
    rows = {r["grade_id"]: r for r in report.failing_cells(results)}
    assert (rows["b_shape"]["failed"], rows["b_shape"]["graded"]) == (1, 6)


def test_failing_cells_assignment_without_submissions_has_share_zero():
    results = make_results()
    results["submissions"] = [s for s in results["submissions"] if s["assignment"] != POOL]
    rows = [r for r in report.failing_cells(results) if r["assignment"] == POOL]
    assert [(r["failed"], r["graded"], r["share"]) for r in rows] == [(0, 0, 0.0)] * 3


def test_failing_cells_zero_point_cell_fails_only_when_missing():
    results = make_results()
    results["assignments"][POOL]["cells"].append(
        {"grade_id": "b_free", "max_score": 0.0, "notebook": POOL})
    for sub in results["submissions"]:
        if sub["assignment"] == POOL and sub["student"] != "carol":
            sub["cells"]["b_free"] = [0.0, 0.0]
    rows = {r["grade_id"]: r for r in report.failing_cells(results)}
    assert (rows["b_free"]["failed"], rows["b_free"]["graded"]) == (1, 6)


# ------------------------------------------------------------------ write_report
def test_write_report_returns_the_path_it_wrote(tmp_path):
    target = tmp_path / "new" / "dir" / "report.html"
    path = report.write_report(make_results(), str(target))
    assert path == target
    assert path.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def test_summary_states_students_submissions_mean_and_median(page):
    summary = re.search(r'<p class="summary">(.*?)</p>', page, re.S).group(1)
    assert "6 students" in summary
    # 01: totals 4, 3, 1, 4, 2; 02: totals 3, 2, 1, 2, 1, 3.
    assert "5 submissions, mean 2.8, median 3 out of 4" in summary
    assert "6 submissions, mean 2, median 2 out of 3" in summary


def test_failing_table_comes_first(page):
    failing = page.index('<h2 id="failing">Tests most students fail</h2>')
    assert page.index('<p class="summary">') < failing < page.index("<img")
    assert failing < page.index(f"<h2>{CONV}</h2>") < page.index(f"<h2>{POOL}</h2>") \
        < page.index('<h2 id="needs-a-look">')


def test_failing_table_rows_in_order_with_counts_and_percentages(page):
    rows = re.findall(r"<tr><td>[^<]*</td><td><code>(\w+)</code></td>.*?</tr>",
                      section(page, "failing"))
    assert rows == ["a_values", "b_avg", "b_max", "a_shape", "a_stride", "b_shape"]
    first = re.search(r"<tr><td>[^<]*</td><td><code>a_values</code>.*?</tr>", page).group()
    assert "3 / 5" in first and "60%" in first and 'style="width: 60.0%"' in first


def test_one_histogram_and_one_cell_chart_per_assignment(page):
    images = re.findall(r'<img class="([\w-]+)" alt="[^"]*" src="data:image/png;base64,([^"]+)"',
                        page)
    assert [kind for kind, _ in images] == ["histogram", "failing-cells"] * 2
    for _, data in images:
        assert base64.b64decode(data).startswith(b"\x89PNG\r\n\x1a\n")
    assert page.count("<img") == 4


def test_student_ids_and_problems_are_escaped(page):
    assert EVIL not in page
    assert "<script" not in page
    assert "&lt;script&gt;x&lt;/script&gt;" in page
    assert "timed out after 120 s &lt;b&gt;" in page


def test_needs_a_look_lists_submissions_with_problems_only(page):
    look = section(page, "needs-a-look")
    problems = look[:look.index("<h3>")]
    assert "&lt;script&gt;x&lt;/script&gt;" in problems and "erin" in problems
    assert "2 / 4" in problems  # the timed-out submission's score
    assert "not valid JSON: Expecting &#x27;,&#x27; &amp; more" in problems
    for student in ("alice", "bob", "carol", "dave"):
        assert student not in problems


def test_needs_a_look_lists_missing_students(page):
    missing = section(page, "needs-a-look").split("<h3>Missing submissions</h3>")[1]
    assert f"<tr><td>{CONV}</td><td>erin</td></tr>" in missing
    assert POOL not in missing  # nobody is missing it


def test_report_fetches_nothing(page):
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)
    assert "<link" not in page and "@import" not in page


# ------------------------------------------------------------------ edge cases
def test_assignment_without_submissions_gets_no_plots(tmp_path):
    results = make_results()
    results["submissions"] = [s for s in results["submissions"] if s["assignment"] != POOL]
    results["missing"][POOL] = results["students"]
    page = report.write_report(results, tmp_path / "r.html").read_text(encoding="utf-8")
    pool = page[page.index(f"<h2>{POOL}</h2>"):page.index('<h2 id="needs-a-look">')]
    assert "No submissions" in pool and "<img" not in pool
    assert page.count('<img class="histogram"') == 1


def test_submission_with_no_cells_at_all(tmp_path):
    results = make_results()
    results["submissions"][0]["cells"] = {}
    results["submissions"][1].pop("cells")
    report.write_report(results, tmp_path / "r.html")
    rows = {r["grade_id"]: r for r in report.failing_cells(results)}
    assert rows["a_stride"]["failed"] == 2


def test_zero_max_score_everywhere(tmp_path):
    results = {
        "assignments": {"00_intro": {"max_score": 0.0, "cells": [
            {"grade_id": "test_runs", "max_score": 0.0, "notebook": "00_intro"}]}},
        "submissions": [{"student": "alice", "assignment": "00_intro", "score": 0.0,
                         "max_score": 0.0, "cells": {"test_runs": [0.0, 0.0]}, "problems": []}],
        "students": ["alice"], "missing": {},
    }
    page = report.write_report(results, tmp_path / "r.html").read_text(encoding="utf-8")
    assert page.count('<img class="histogram"') == 1
    assert report.failing_cells(results)[0]["failed"] == 0


def test_empty_results(tmp_path):
    page = report.write_report({}, tmp_path / "r.html").read_text(encoding="utf-8")
    assert "0 students" in page and "<img" not in page


def test_results_are_not_modified(tmp_path):
    results = make_results()
    before = copy.deepcopy(results)
    report.write_report(results, tmp_path / "r.html")
    assert results == before


def test_failing_cells_leave_out_submissions_the_grader_failed_on():
    results = {
        "assignments": {"a": {"max_score": 1.0, "cells": [{"grade_id": "t", "max_score": 1.0}]}},
        "submissions": [
            {"student": "x", "assignment": "a", "score": 1.0, "cells": {"t": [1.0, 1.0]}},
            {"student": "y", "assignment": "a", "score": 0.0, "cells": {"t": [0.0, 1.0]},
             "failed": True, "problems": ["grading did not finish within 600 s: stopped"]},
        ],
    }
    (row,) = report.failing_cells(results)
    assert (row["failed"], row["graded"]) == (0, 1)


def test_summary_says_how_the_kernels_ran(tmp_path):
    """results.json's "sandbox" (tools/sandbox.py) becomes a sentence of the summary, escaped."""
    results = make_results()
    results["sandbox"] = {"mode": "bubblewrap", "description": "each kernel ran in <a> sandbox"}
    page = report.write_report(results, tmp_path / "report.html").read_text()
    assert "Kernels: Each kernel ran in &lt;a&gt; sandbox." in page
    del results["sandbox"]
    assert "Kernels:" not in report.write_report(results, tmp_path / "plain.html").read_text()


# ------------------------------------------------------------------ workers (issue 24)
def test_workers_section_lists_each_worker_last_and_escaped(tmp_path):
    results = make_results()
    results["workers"] = [
        {"worker": "lab-1", "host": "h1", "kernels": ["a fresh uid"], "submissions": 3,
         "seconds": 31.5},
        {"worker": EVIL, "host": "h2", "kernels": [], "submissions": 1, "seconds": 9.0}]
    results["run"] = {"cluster": "the Dask scheduler at tcp://h1:8786", "workers": 2,
                      "graded": 4, "seconds": 40.25}
    page = report.write_report(results, tmp_path / "r.html").read_text(encoding="utf-8")
    workers = section(page, "workers")
    assert page.index('<h2 id="workers">') > page.index('<h2 id="needs-a-look">')
    assert "This run: 4 submissions graded on the Dask scheduler at tcp://h1:8786 with " \
           "2 workers in 40.2 s." in workers
    assert "<td>lab-1</td><td>h1</td><td class=\"number\">3</td>" in workers
    assert ">75%</td><td class=\"number\">31.5</td><td class=\"number\">10.5</td>" \
           "<td>a fresh uid</td>" in workers
    assert EVIL not in page and "&lt;script&gt;x&lt;/script&gt;" in workers


def test_workers_section_without_workers(page):
    assert "No submission was graded by a worker." in section(page, "workers")
