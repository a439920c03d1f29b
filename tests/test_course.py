"""The course's structure: chapters, assignments and the generated release agree."""

import json

import nbformat
import pytest

import course

CHAPTERS = course.chapters()
ASSIGNMENTS = course.assignments()
SECTIONS = ("Summary", "Check your understanding", "Exercise", "References")


def _markdown(path):
    return "\n".join(c.source for c in nbformat.read(path, as_version=4).cells
                     if c.cell_type == "markdown")


def test_every_chapter_has_an_assignment_of_the_same_name():
    assert [p.stem for p in CHAPTERS] == ASSIGNMENTS


def test_every_assignment_is_released_in_exercises():
    released = sorted(p.name for p in course.EXERCISES.glob("[0-9][0-9]_*") if p.is_dir())
    assert released == ASSIGNMENTS, "run `make exercises` to regenerate exercises/"


@pytest.mark.slow
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_exercises_are_exactly_what_nbgrader_generates(assignment, tmp_path):
    (generated,) = course.generate([assignment], dest=tmp_path)
    expected = {p.name: json.loads(p.read_text()) for p in sorted(generated.glob("*.ipynb"))}
    committed_dir = course.EXERCISES / assignment
    committed = {p.name: json.loads(p.read_text()) for p in sorted(committed_dir.glob("*.ipynb"))}
    assert committed.keys() == expected.keys()
    for name in expected:
        assert committed[name] == expected[name], (
            f"exercises/{assignment}/{name} differs from what nbgrader generates from "
            "solutions/: run `make exercises` (never edit exercises/ by hand)"
        )


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_release_hides_solutions_and_hidden_tests(assignment):
    for path in (course.EXERCISES / assignment).glob("*.ipynb"):
        text = path.read_text()
        for marker in ("BEGIN SOLUTION", "BEGIN HIDDEN TESTS"):
            assert marker not in text, f"{path.name} contains {marker!r}"
        assert "raise NotImplementedError()" in text


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_assignment_states_its_total_points(assignment):
    for path in course.source_notebooks(assignment):
        notebook = nbformat.read(path, as_version=4)
        total = sum(c.metadata.get("nbgrader", {}).get("points", 0) for c in notebook.cells
                    if c.metadata.get("nbgrader", {}).get("grade"))
        assert total > 0
        text = _markdown(path)
        assert f"{total:g} points" in text, f"{path.name} should state its total of {total:g} points"


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_has_every_section(chapter):
    headings = [line.lstrip("#").strip() for line in _markdown(chapter).splitlines()
                if line.startswith("## ")]
    missing = [s for s in SECTIONS if s not in headings]
    assert not missing, f"{chapter.name} lacks the sections {missing}"


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_links_its_exercise(chapter):
    assert f"exercises/{chapter.stem}/{chapter.stem}.ipynb" in _markdown(chapter)


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_is_stored_executed_in_order(chapter):
    cells = [c for c in nbformat.read(chapter, as_version=4).cells if c.cell_type == "code"]
    counts = [c.execution_count for c in cells]
    assert None not in counts, f"{chapter.name} has unexecuted cells: run `make notebooks`"
    assert counts == list(range(1, len(cells) + 1)), f"{chapter.name} was not run top to bottom"


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_stores_no_error(chapter):
    for cell in nbformat.read(chapter, as_version=4).cells:
        if cell.cell_type == "code" and "raises-exception" not in cell.metadata.get("tags", []):
            assert all(o.output_type != "error" for o in cell.outputs), cell.source[:200]
