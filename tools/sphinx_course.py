"""Sphinx extension of the course (loaded by _config.yml): chapter numbers, offline math.

Chapter numbers come from the file names (book/06_yolo.ipynb is chapter 6) and are put
before each chapter's title, so the sidebar, the page and every link show them.

MathJax 3 is served from the build, not from a CDN: the files come from the PyPI package
``sphinx-mathjax-offline`` (pinned in requirements.lock, so ``make`` installs them), are
copied into ``_build/html/_static/mathjax/`` and loaded through Sphinx's ``mathjax_path``.
"""

import re
from importlib.util import find_spec
from pathlib import Path

from docutils import nodes

from sphinx.util.fileutil import copy_asset

MATHJAX_ENTRY = "mathjax/tex-chtml.js"  # relative to _static/


def mathjax_source():
    """Return the folder of the packaged MathJax 3 (``.../static/mathjax``)."""
    spec = find_spec("sphinx-mathjax-offline")  # the package's folder name has hyphens
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("sphinx-mathjax-offline is not installed: run `make install`")
    folder = Path(next(iter(spec.submodule_search_locations))) / "static" / "mathjax"
    if not (folder / "tex-chtml.js").is_file():
        raise RuntimeError(f"no MathJax 3 in {folder}")
    return folder


CHAPTER = re.compile(r"^book/(\d\d)_[^/]+$")


def chapter_number(docname):
    """Return the chapter number of a document, from its file name, or None.

    >>> chapter_number("book/06_yolo"), chapter_number("book/intro")
    (6, None)
    """
    match = CHAPTER.match(docname)
    return int(match.group(1)) if match else None


def number_chapter_title(app, doctree):
    """Put the chapter's number, from its file name, before its title (page, sidebar, links)."""
    number = chapter_number(app.env.docname)
    if number is None:
        return
    title = doctree.next_node(nodes.title)
    if title is not None and not title.astext().startswith(f"{number}. "):
        title.insert(0, nodes.Text(f"{number}. "))


def use_local_mathjax(app, config):
    config.mathjax_path = MATHJAX_ENTRY


def unique_scripts(app, pagename, templatename, context, doctree):
    """Drop scripts added twice (sphinx-thebe and sphinx-togglebutton register theirs on every
    environment event, and a repeated ``const`` is a SyntaxError in the browser)."""
    seen, unique = set(), []
    for script in context.get("script_files", []):
        attributes = getattr(script, "attributes", {})
        key = getattr(script, "filename", None) or attributes.get("body") or str(script)
        if key not in seen:
            seen.add(key)
            unique.append(script)
    context["script_files"][:] = unique
    # pydata-sphinx-theme's layout reads default_mode, which sphinx-book-theme leaves empty:
    # the first page then logs "Got invalid theme mode" as a console error.
    context.setdefault("default_mode", "auto")
    if not context["default_mode"]:
        context["default_mode"] = "auto"


def copy_mathjax(app, exception):
    if exception is None and app.builder.format == "html":
        copy_asset(str(mathjax_source()), str(Path(app.outdir) / "_static" / "mathjax"))


def setup(app):
    mathjax_source()  # fail the build early, not with raw LaTeX in the pages
    app.connect("config-inited", use_local_mathjax, priority=900)
    app.connect("html-page-context", unique_scripts, priority=1000)  # after the themes
    app.connect("build-finished", copy_mathjax)
    app.connect("doctree-read", number_chapter_title, priority=100)  # before titles are collected
    return {"parallel_read_safe": True, "parallel_write_safe": True}
