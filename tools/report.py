"""Class report of an nbgrader grading run: one HTML file a teacher reads first.

``tools/grade.py`` grades every submission and collects the scores in a
JSON-like dict; :func:`write_report` turns that dict into a single
self-contained HTML page (styles inline, plots embedded as base64 PNG, nothing
fetched from the network), in this order:

1. a title and a one-paragraph summary: students, submissions, mean and median
   score per assignment;
2. **Tests most students fail**: every test cell of every assignment, the most
   failed first (:func:`failing_cells`). This is what to read first: a test
   that most of the class fails points at the teaching or at the test;
3. per assignment, a histogram of total scores and the share of submissions
   failing each test cell, in notebook order;
4. **Submissions that need a look**: every submission whose grading reported a
   problem (a notebook that is not valid JSON, a cell that timed out, ...) and
   the students missing a submission;
5. **Workers**: per Dask worker, the submissions it graded, the time it spent
   and what the kernels ran as (:func:`worker_rows`).

Every string that comes from a submission (student ids, problem texts) is
HTML-escaped. Matplotlib is imported only when a report is written, and the
figures are drawn on :class:`matplotlib.figure.Figure` objects with the Agg
canvas rather than through pyplot, so writing a report neither needs a display
nor changes the backend of the notebook or script that calls it.
"""

from __future__ import annotations

import base64
import html
import io
import math
import statistics
from pathlib import Path

_CSS = """
body { font-family: system-ui, sans-serif; max-width: 60em; margin: 2em auto; padding: 0 1em;
       color: #222; line-height: 1.4; }
table { border-collapse: collapse; margin: 1em 0; }
th, td { border-bottom: 1px solid #ddd; padding: 0.25em 0.75em; text-align: left;
         vertical-align: top; }
td.number { text-align: right; font-variant-numeric: tabular-nums; }
.bar { display: inline-block; width: 8em; height: 0.8em; background: #eee;
       margin-right: 0.5em; vertical-align: middle; }
.bar > span { display: block; height: 100%; background: #c0392b; }
ul.problems { margin: 0; padding-left: 1.2em; }
img { max-width: 100%; display: block; margin: 0.5em 0; }
"""


def failing_cells(results: dict) -> list[dict]:
    """Return every test cell with the share of submissions that fail it, the most failed first.

    A cell fails for a submission when its score is below its maximum; a cell
    missing from a submission counts as failed (score 0). A cell worth 0 points
    that is present never fails.

    Parameters
    ----------
    results : dict
        The grading results written by ``tools/grade.py``: ``"assignments"``
        (name -> ``{"max_score", "cells": [{"grade_id", "max_score", ...}]}``)
        and ``"submissions"`` (each with ``"assignment"`` and ``"cells"``,
        grade_id -> ``[score, max_score]``).

    Returns
    -------
    list of dict
        One row per test cell, ``{"assignment", "grade_id", "max_score",
        "graded", "failed", "share"}``, where ``graded`` counts the submissions
        of that assignment and ``share = failed / graded`` (0.0 when nothing was
        graded). Sorted by ``share`` descending, then assignment, then grade_id.

    Examples
    --------
    >>> results = {
    ...     "assignments": {"01_convolution": {"max_score": 2.0, "cells": [
    ...         {"grade_id": "test_shape", "max_score": 1.0, "notebook": "01_convolution"},
    ...         {"grade_id": "test_values", "max_score": 1.0, "notebook": "01_convolution"}]}},
    ...     "submissions": [
    ...         {"student": "alice", "assignment": "01_convolution", "score": 2.0,
    ...          "cells": {"test_shape": [1.0, 1.0], "test_values": [1.0, 1.0]}},
    ...         {"student": "bob", "assignment": "01_convolution", "score": 1.0,
    ...          "cells": {"test_shape": [1.0, 1.0]}}]}
    >>> [(row["grade_id"], row["failed"], row["graded"], row["share"])
    ...  for row in failing_cells(results)]
    [('test_values', 1, 2, 0.5), ('test_shape', 0, 2, 0.0)]
    """
    rows = []
    for assignment, spec in _assignments(results).items():
        # A submission the grader failed on says nothing about the tests: left out here,
        # listed under "Submissions that need a look".
        submissions = [s for s in _submissions_of(results, assignment) if not s.get("failed")]
        for cell in spec.get("cells") or []:
            grade_id = cell["grade_id"]
            max_score = float(cell.get("max_score") or 0.0)
            failed = sum(_fails(submission, grade_id, max_score) for submission in submissions)
            graded = len(submissions)
            rows.append({
                "assignment": assignment,
                "grade_id": grade_id,
                "max_score": max_score,
                "graded": graded,
                "failed": failed,
                "share": failed / graded if graded else 0.0,
            })
    rows.sort(key=lambda row: (-row["share"], row["assignment"], row["grade_id"]))
    return rows


def write_report(results: dict, path) -> Path:
    """Write the class report, one self-contained HTML file, and return its path.

    Parameters
    ----------
    results : dict
        The grading results written by ``tools/grade.py`` (see
        :func:`failing_cells`), also read here: ``"submissions"`` (``"student"``,
        ``"score"``, ``"max_score"``, ``"problems"``), ``"students"``,
        ``"missing"`` (assignment -> students without a submission), and,
        if present, ``"generated"``, ``"timeout"`` and ``"sandbox"`` (``"mode"`` and
        ``"description"``: how the kernels ran, tools/sandbox.py).
    path : str or pathlib.Path
        The HTML file to write; missing parent directories are created.

    Returns
    -------
    pathlib.Path
        ``path``, written.
    """
    path = Path(path)
    failing = failing_cells(results)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        "<title>Class report</title>",
        f"<style>{_CSS}</style></head><body>",
        "<h1>Class report</h1>",
        _summary_html(results),
        _failing_table_html(failing),
    ]
    for assignment, spec in _assignments(results).items():
        rows = [row for row in failing if row["assignment"] == assignment]
        parts.append(_assignment_html(results, assignment, spec, rows))
    parts += [_needs_a_look_html(results), _workers_html(results), "</body></html>", ""]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(parts), encoding="utf-8")
    return path


# ------------------------------------------------------------------ reading results
def _assignments(results):
    """Return name -> spec for every assignment: the listed ones, then any only submitted."""
    assignments = dict(results.get("assignments") or {})
    for submission in results.get("submissions") or []:
        name = submission["assignment"]
        if name not in assignments:
            assignments[name] = {"max_score": None, "cells": []}
    return assignments


def _submissions_of(results, assignment):
    """Return the submissions of one assignment."""
    return [s for s in results.get("submissions") or [] if s["assignment"] == assignment]


def _fails(submission, grade_id, max_score):
    """Return True if a submission scores below full marks on a cell, or lacks it."""
    pair = (submission.get("cells") or {}).get(grade_id)
    if not pair or pair[0] is None:
        return True
    score = float(pair[0])
    cell_max = float(pair[1]) if len(pair) > 1 and pair[1] is not None else max_score
    return score < cell_max


def _scores(submissions):
    """Return the total scores of the submissions that have one."""
    return [float(s["score"]) for s in submissions if s.get("score") is not None]


def _max_score(spec, submissions):
    """Return an assignment's maximum score, from its spec or else its submissions."""
    if spec.get("max_score") is not None:
        return float(spec["max_score"])
    return max((float(s["max_score"]) for s in submissions if s.get("max_score") is not None),
               default=0.0)


def _points(value):
    """Format a score: at most one decimal, no trailing zero (12, 12.5)."""
    return f"{round(float(value), 1):g}"


# ------------------------------------------------------------------ HTML sections
def _summary_html(results):
    """Return the one-paragraph summary: students, submissions, mean and median scores."""
    students = results.get("students") or sorted(
        {s["student"] for s in results.get("submissions") or []})
    sentences = []
    if results.get("generated"):
        timeout = results.get("timeout")
        limit = f" with a limit of {html.escape(str(timeout))} s per cell" if timeout else ""
        sentences.append(f"Graded {html.escape(str(results['generated']))}{limit}.")
    if results.get("sandbox"):  # how the kernels ran: tools/sandbox.py
        what = results["sandbox"].get("description", results["sandbox"].get("mode", ""))
        sentences.append(f"Kernels: {html.escape(what[:1].upper() + what[1:])}.")
    sentences.append(f"{len(students)} student{'s' if len(students) != 1 else ''}.")
    for assignment, spec in _assignments(results).items():
        submissions = _submissions_of(results, assignment)
        scores = _scores(submissions)
        name = f"<strong>{html.escape(assignment)}</strong>"
        if not scores:
            sentences.append(f"{name}: {len(submissions)} submissions, none scored.")
            continue
        sentences.append(
            f"{name}: {len(submissions)} submission{'s' if len(submissions) != 1 else ''}, "
            f"mean {_points(statistics.mean(scores))}, "
            f"median {_points(statistics.median(scores))} "
            f"out of {_points(_max_score(spec, submissions))}."
        )
    return f'<p class="summary">{" ".join(sentences)}</p>'


def _share_html(share):
    """Return a share as a percentage with a CSS bar."""
    return (f'<span class="bar"><span style="width: {100 * share:.1f}%"></span></span>'
            f"{share:.0%}")


def _failing_table_html(rows):
    """Return the "Tests most students fail" section: one table over all assignments."""
    head = ['<h2 id="failing">Tests most students fail</h2>']
    if not rows:
        return "\n".join(head + ["<p>No test cells were graded.</p>"])
    lines = head + [
        '<table class="failing">',
        "<tr><th>Assignment</th><th>Test cell</th><th>Points</th>"
        "<th>Failed / graded</th><th>Share failing</th></tr>",
    ]
    for row in rows:
        lines.append(
            f"<tr><td>{html.escape(row['assignment'])}</td>"
            f"<td><code>{html.escape(row['grade_id'])}</code></td>"
            f'<td class="number">{_points(row["max_score"])}</td>'
            f'<td class="number">{row["failed"]} / {row["graded"]}</td>'
            f"<td>{_share_html(row['share'])}</td></tr>"
        )
    lines.append("</table>")
    return "\n".join(lines)


def _assignment_html(results, assignment, spec, rows):
    """Return one assignment's section: histogram of totals, share failing per cell."""
    submissions = _submissions_of(results, assignment)
    name = html.escape(assignment)
    lines = [f"<h2>{name}</h2>"]
    if not submissions:
        lines.append("<p>No submissions.</p>")
        return "\n".join(lines)
    scores = _scores(submissions)
    max_score = _max_score(spec, submissions)
    lines.append(_img_html(_histogram_png(scores, max_score), "histogram",
                           f"Histogram of total scores, {name}"))
    if rows:
        order = {cell["grade_id"]: k for k, cell in enumerate(spec.get("cells") or [])}
        rows = sorted(rows, key=lambda row: order[row["grade_id"]])
        lines.append(_img_html(_failing_bars_png(rows), "failing-cells",
                               f"Share of submissions failing each test cell, {name}"))
    return "\n".join(lines)


def _needs_a_look_html(results):
    """Return the "Submissions that need a look" section: problems, then missing students."""
    lines = ['<h2 id="needs-a-look">Submissions that need a look</h2>']
    flagged = sorted(
        (s for s in results.get("submissions") or [] if s.get("problems")),
        key=lambda s: (s["assignment"], str(s["student"])),
    )
    if flagged:
        lines += ['<table class="problems">',
                  "<tr><th>Student</th><th>Assignment</th><th>Score</th><th>Problems</th></tr>"]
        for submission in flagged:
            score = ("—" if submission.get("score") is None
                     else _points(submission["score"]))
            if submission.get("max_score") is not None:
                score += f" / {_points(submission['max_score'])}"
            problems = "".join(f"<li>{html.escape(str(p))}</li>" for p in submission["problems"])
            lines.append(
                f"<tr><td>{html.escape(str(submission['student']))}</td>"
                f"<td>{html.escape(submission['assignment'])}</td>"
                f'<td class="number">{score}</td>'
                f'<td><ul class="problems">{problems}</ul></td></tr>'
            )
        lines.append("</table>")
    else:
        lines.append("<p>Grading reported no problem with any submission.</p>")
    missing = {a: students for a, students in (results.get("missing") or {}).items() if students}
    lines.append("<h3>Missing submissions</h3>")
    if missing:
        lines += ['<table class="missing">', "<tr><th>Assignment</th><th>Students</th></tr>"]
        for assignment, students in missing.items():
            names = ", ".join(html.escape(str(student)) for student in students)
            lines.append(f"<tr><td>{html.escape(assignment)}</td><td>{names}</td></tr>")
        lines.append("</table>")
    else:
        lines.append("<p>Every student submitted every assignment.</p>")
    return "\n".join(lines)


def worker_rows(results: dict) -> list[dict]:
    """Return one row per worker: its submissions, seconds spent and mean per submission.

    Parameters
    ----------
    results : dict
        The grading results; ``"workers"`` lists ``{"worker", "host", "kernels",
        "submissions", "seconds"}`` (``tools/grade.py`` reads them from the gradebook).

    Returns
    -------
    list of dict
        The rows in the order given, each with ``"mean"`` (seconds per submission, 0.0
        for a worker without one) and ``"share"`` (its part of all the submissions graded
        by a worker).

    Examples
    --------
    >>> rows = worker_rows({"workers": [
    ...     {"worker": "0", "host": "lab-1", "kernels": [], "submissions": 3, "seconds": 30.0},
    ...     {"worker": "1", "host": "lab-1", "kernels": [], "submissions": 1, "seconds": 12.0}]})
    >>> [(row["worker"], row["mean"], row["share"]) for row in rows]
    [('0', 10.0, 0.75), ('1', 12.0, 0.25)]
    """
    rows = [dict(row) for row in results.get("workers") or []]
    total = sum(row["submissions"] for row in rows)
    for row in rows:
        row["mean"] = row["seconds"] / row["submissions"] if row["submissions"] else 0.0
        row["share"] = row["submissions"] / total if total else 0.0
    return rows


def _workers_html(results):
    """Return the "Workers" section: who graded how many submissions, in how long."""
    lines = ['<h2 id="workers">Workers</h2>']
    rows = worker_rows(results)
    run = results.get("run") or {}
    if run:
        lines.append(f"<p>This run: {run.get('graded', 0)} submissions graded on "
                     f"{html.escape(str(run.get('cluster', '')))} with "
                     f"{run.get('workers', 0)} workers in {_points(run.get('seconds', 0))} s.</p>")
    if not rows:
        lines.append("<p>No submission was graded by a worker.</p>")
        return "\n".join(lines)
    lines += ['<table class="workers">',
              "<tr><th>Worker</th><th>Host</th><th>Submissions</th><th>Share</th>"
              "<th>Time grading (s)</th><th>Per submission (s)</th><th>Kernels ran as</th></tr>"]
    for row in rows:
        kernels = "; ".join(html.escape(str(k)) for k in row.get("kernels") or [])
        lines.append(
            f"<tr><td>{html.escape(str(row['worker']))}</td>"
            f"<td>{html.escape(str(row.get('host', '')))}</td>"
            f'<td class="number">{row["submissions"]}</td>'
            f"<td>{_share_html(row['share'])}</td>"
            f'<td class="number">{_points(row["seconds"])}</td>'
            f'<td class="number">{_points(row["mean"])}</td>'
            f"<td>{kernels}</td></tr>")
    lines.append("</table>")
    return "\n".join(lines)


# ------------------------------------------------------------------ figures
def _img_html(png, kind, alt):
    """Return an <img> with the PNG embedded as base64 (``alt`` already escaped)."""
    data = base64.b64encode(png).decode("ascii")
    return f'<img class="{kind}" alt="{alt}" src="data:image/png;base64,{data}">'


def _new_figure(width, height):
    """Return a Matplotlib figure on an Agg canvas, outside pyplot (nothing to close)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _png(figure):
    """Return a figure as PNG bytes."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    return buffer.getvalue()


def _histogram_png(scores, max_score):
    """Return a histogram of total scores, one bin per integer score from 0 to max."""
    from matplotlib.ticker import MaxNLocator

    low = min(0, math.floor(min(scores, default=0)))
    high = max(math.ceil(max_score), math.ceil(max(scores, default=0)))
    edges = [k - 0.5 for k in range(low, high + 2)]
    figure = _new_figure(6, 2.6)
    ax = figure.add_subplot()
    ax.hist(scores, bins=edges, color="#2c7fb8", edgecolor="white")
    ax.set_xlim(edges[0], edges[-1])
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel(f"total score (out of {_points(max_score)})")
    ax.set_ylabel("submissions")
    return _png(figure)


def _failing_bars_png(rows):
    """Return horizontal bars of the share failing each test cell, in the order given."""
    figure = _new_figure(6, 0.8 + 0.3 * len(rows))
    ax = figure.add_subplot()
    positions = range(len(rows))
    percents = [100 * row["share"] for row in rows]
    ax.barh(positions, percents, color="#c0392b")
    ax.set_yticks(positions, [row["grade_id"] for row in rows])
    ax.invert_yaxis()
    for position, percent, row in zip(positions, percents, rows):
        ax.text(percent + 1, position, f"{row['failed']}/{row['graded']}",
                va="center", fontsize="small")
    ax.set_xlim(0, 110)
    ax.set_xlabel("% of submissions failing")
    return _png(figure)
