"""The book builds with warnings as errors and publishes chapters, never solutions."""

import re
import subprocess

import pytest

import course

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def html(tmp_path_factory):
    out = tmp_path_factory.mktemp("book")
    result = subprocess.run(
        [str(course.BIN / "jupyter-book"), "build", str(course.ROOT), "-W", "--keep-going",
         "--path-output", str(out)],
        env=course.subprocess_env(),
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert result.returncode == 0, f"book build failed:\n{result.stdout[-6000:]}\n{result.stderr[-3000:]}"
    return out / "_build" / "html"


def test_book_has_a_front_page(html):
    assert (html / "index.html").exists()
    assert "Convolutional Neural Networks" in (html / "book" / "intro.html").read_text()


@pytest.mark.parametrize("chapter", course.chapters(), ids=lambda p: p.stem)
def test_every_chapter_renders_with_its_figures(html, chapter):
    page = html / "book" / f"{chapter.stem}.html"
    assert page.exists(), f"{chapter.name} is not in the book"
    text = page.read_text()
    assert len(re.findall(r"<img [^>]*src=\"[^\"]*\.png\"", text)) >= 1, "no figure rendered"
    assert "cell_output" in text


@pytest.mark.parametrize("chapter", course.chapters(), ids=lambda p: p.stem)
def test_every_chapter_offers_its_exercise_for_download(html, chapter):
    text = (html / "book" / f"{chapter.stem}.html").read_text()
    assert re.search(rf'href="[^"]*_downloads/[^"]*/{chapter.stem}\.ipynb"', text)


def test_no_solution_or_hidden_test_is_published(html):
    for page in html.rglob("*"):
        if page.is_file() and page.suffix in (".html", ".ipynb", ".txt", ".js"):
            text = page.read_text(errors="ignore")
            for marker in ("BEGIN SOLUTION", "BEGIN HIDDEN TESTS"):
                assert marker not in text, f"{page.relative_to(html)} contains {marker!r}"


@pytest.mark.parametrize("chapter", course.chapters(), ids=lambda p: p.stem)
def test_math_is_served_from_the_build(html, chapter):
    text = (html / "book" / f"{chapter.stem}.html").read_text()
    scripts = re.findall(r'<script[^>]*src="([^"]*mathjax[^"]*)"', text, re.I)
    assert scripts == ["../_static/mathjax/tex-chtml.js"], f"MathJax loaded from {scripts}"
    assert (html / "_static" / "mathjax" / "tex-chtml.js").is_file()
    assert "cdn.jsdelivr" not in text and "cdnjs" not in text


@pytest.mark.parametrize("chapter", course.chapters(), ids=lambda p: p.stem)
def test_chapter_number_from_the_file_name_in_title_and_sidebar(html, chapter):
    number = int(chapter.stem[:2])
    text = (html / "book" / f"{chapter.stem}.html").read_text()
    title = re.search(r"<h1>(.*?)<a class=\"headerlink\"", text, re.S).group(1)
    assert re.sub(r"<[^>]+>", "", title).strip().startswith(f"{number}. "), title
    sidebar = (html / "book" / "intro.html").read_text()
    assert re.search(rf'href="{chapter.stem}\.html">\s*{number}\. ', sidebar), "no numbered sidebar entry"


@pytest.mark.parametrize("chapter", course.chapters(), ids=lambda p: p.stem)
def test_every_chapter_links_to_the_glossary(html, chapter):
    text = (html / "book" / f"{chapter.stem}.html").read_text()
    terms = set(re.findall(r'href="glossary\.html#(term-[^"]+)"', text))
    assert terms, "no {term} link to the glossary"
    glossary = (html / "book" / "glossary.html").read_text()
    for term in terms:
        assert f'id="{term}"' in glossary, f"glossary has no {term}"


def test_bibliography_page_lists_every_reference(html):
    keys = re.findall(r"^@\w+\{([^,]+),", (course.ROOT / "book" / "references.bib").read_text(), re.M)
    text = (html / "book" / "bibliography.html").read_text()
    entries = re.findall(r'<div class="citation" id="[^"]+" role="doc-biblioentry">', text)
    assert len(entries) == len(keys), f"{len(entries)} entries for the {len(keys)} works of references.bib"


def test_internal_links_resolve(html):
    broken = []
    pages = [p for p in html.rglob("*.html") if not p.relative_to(html).parts[0].startswith("_")]
    for page in pages:
        text = page.read_text()
        for href in re.findall(r'href="([^"#:?]*)(?:#([^"]*))?"', text):
            target, anchor = href
            path = (page.parent / target).resolve() if target else page
            if target and not path.exists():
                broken.append(f"{page.relative_to(html)} -> {target}")
            elif anchor and path.suffix == ".html" and f'id="{anchor}"' not in path.read_text():
                broken.append(f"{page.relative_to(html)} -> {target}#{anchor}")
    assert not broken, "broken internal links:\n" + "\n".join(broken[:20])
