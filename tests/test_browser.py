"""Every page of the built book, opened in a real browser (headless Debian chromium).

The site is built once, served on 127.0.0.1 and opened page by page with Selenium. On
every page: no console errors, every math element rendered by MathJax (served from the
build: the browser has no network), every image loaded, previous and next links that lead
to the neighbouring pages of the table of contents, no leaked text (NumPy reprs,
TensorFlow's C++ log lines). The search page must find "padding". A screenshot of each
chapter's first screen goes to _build/screenshots/ (not committed).
"""

import functools
import http.server
import shutil
import subprocess
import threading
from pathlib import Path
from urllib.parse import urljoin

import pytest

import course

pytestmark = pytest.mark.slow

CHROMIUM, CHROMEDRIVER = shutil.which("chromium"), shutil.which("chromedriver")
SCREENSHOTS = course.ROOT / "_build" / "screenshots"
LEAKS = ["np.float64(", "np.int64(", "E0000 ", "use_unbounded_threadpool", "absl::InitializeLog"]
# The reading order of _toc.yml: the front page, then the chapters by number.
ORDER = ["book/intro.html", *(f"book/{chapter.stem}.html" for chapter in course.chapters()),
         "book/glossary.html", "book/bibliography.html"]


@pytest.fixture(scope="module")
def html(tmp_path_factory):
    out = tmp_path_factory.mktemp("book")
    result = subprocess.run(
        [str(course.BIN / "jupyter-book"), "build", str(course.ROOT), "-W", "--keep-going",
         "--path-output", str(out)],
        env=course.subprocess_env(), capture_output=True, text=True, timeout=1200,
    )
    assert result.returncode == 0, f"book build failed:\n{result.stdout[-6000:]}\n{result.stderr[-3000:]}"
    return out / "_build" / "html"


@pytest.fixture(scope="module")
def site(html):
    handler = functools.partial(QuietHandler, directory=str(html))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    assert CHROMIUM and CHROMEDRIVER, "Debian's chromium and chromium-driver are missing: run `make browser`"
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", "--window-size=1280,900",
                 f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}"]:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    driver.set_page_load_timeout(60)
    driver.set_script_timeout(60)
    yield driver
    driver.quit()


def pages(html):
    return sorted(str(p.relative_to(html)) for p in html.rglob("*.html")
                  if not p.relative_to(html).parts[0].startswith("_"))


def open_page(browser, url):
    browser.get_log("browser")  # drop what earlier pages logged
    browser.get(url)
    # Wait for MathJax to typeset (it loads asynchronously); pages without math have none.
    browser.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "const wait = (n) => {"
        "  if (window.MathJax && MathJax.startup && MathJax.startup.promise) {"
        "    MathJax.startup.promise.then(() => done(true), () => done(false));"
        "  } else if (n > 0) { setTimeout(() => wait(n - 1), 100); } else { done(null); }"
        "};"
        "wait(100);"
    )
    browser.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "Promise.all(Array.from(document.images).map(img => img.complete ? 0 :"
        "  new Promise(r => { img.onload = r; img.onerror = r; }))).then(() => done(true));"
    )


def test_every_page_renders_in_the_browser(html, site, browser):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    problems, math_counts = [], {}
    for page in pages(html):
        url = urljoin(site, page)
        open_page(browser, url)
        errors = [entry["message"] for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
        if errors:
            problems.append(f"{page}: console errors {errors[:3]}")
        math = browser.execute_script(
            "const all = document.querySelectorAll('.math');"
            "const done = Array.from(all).filter(e => e.querySelector('mjx-container') || e.tagName == 'MJX-CONTAINER');"
            "return [all.length, done.length];"
        )
        math_counts[page] = math
        if math[0] != math[1]:
            problems.append(f"{page}: {math[0] - math[1]} of {math[0]} math elements not rendered by MathJax")
        broken = browser.execute_script(
            "return Array.from(document.images).filter(i => !(i.naturalWidth > 0)).map(i => i.src);")
        if broken:
            problems.append(f"{page}: images not loaded {broken[:3]}")
        text = browser.execute_script("return document.body.innerText;")
        leaked = [leak for leak in LEAKS if leak in text]
        if leaked:
            problems.append(f"{page}: leaked text {leaked}")
        if page in ORDER[1:-2]:  # the chapters
            browser.save_screenshot(str(SCREENSHOTS / f"{Path(page).stem}.png"))
    assert not problems, "\n".join(problems)
    for chapter in ORDER[1:-2]:
        assert math_counts[chapter][0] > 0, f"{chapter}: no math found (is the check blind?)"


def test_previous_and_next_links_follow_the_table_of_contents(site, browser):
    from selenium.webdriver.common.by import By

    for index, page in enumerate(ORDER):
        browser.get(urljoin(site, page))
        links = {cls: browser.find_elements(By.CSS_SELECTOR, f"a.{cls}") for cls in ("left-prev", "right-next")}
        expected = {"left-prev": ORDER[index - 1] if index > 0 else None,
                    "right-next": ORDER[index + 1] if index + 1 < len(ORDER) else None}
        for cls, target in expected.items():
            hrefs = [a.get_attribute("href") for a in links[cls]]
            if target is None:
                if page != ORDER[0] or cls == "left-prev":
                    assert not hrefs or all(not h.endswith(".html") or "book/" not in h for h in hrefs), \
                        f"{page}: unexpected {cls} link {hrefs}"
                continue
            assert hrefs, f"{page}: no {cls} link (expected {target})"
            assert hrefs[0].split("#")[0] == urljoin(site, target), f"{page}: {cls} leads to {hrefs[0]}, not {target}"


def test_search_finds_padding(site, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(urljoin(site, "search.html?q=padding"))
    WebDriverWait(browser, 30).until(
        lambda b: b.find_elements(By.CSS_SELECTOR, "#search-results ul.search li"))
    results = [a.get_attribute("href") for a in
               browser.find_elements(By.CSS_SELECTOR, "#search-results ul.search li a")]
    assert any("01_convolution" in href for href in results), f"search for padding found {results}"
