"""The page at / in a real headless Chromium (Debian's), driven by Playwright.

With GRU_SENTIMENT_SCREENSHOTS=FOLDER the browser tests also save what they show there
(page.png here, report.png in test_report.py); docs/*.png are made that way:

    GRU_SENTIMENT_SCREENSHOTS=docs .venv/bin/python -m pytest -q tests/test_page.py \
        tests/test_report.py::test_report_summary_is_on_the_first_screen
"""

import os
from pathlib import Path

import httpx
import pytest
from conftest import running

from gru_sentiment.serve.app import create_app

ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
VIEWPORT = {"width": 1200, "height": 800}  # one laptop screen: what a screenshot shows


def save_screenshot(page, name: str) -> Path | None:
    """The visible viewport as `name` in $GRU_SENTIMENT_SCREENSHOTS; nothing when unset."""
    folder = os.environ.get("GRU_SENTIMENT_SCREENSHOTS")
    if not folder:
        return None
    path = Path(folder) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=path)
    assert path.stat().st_size > 10_000
    return path


@pytest.fixture(scope="module")
def url(pooled_run):
    from gru_sentiment import SentimentModel

    with running(create_app(SentimentModel.load(pooled_run))) as base:
        yield base


@pytest.fixture(scope="module")
def page():
    from playwright.sync_api import expect, sync_playwright

    # A first prediction compiles the network: seconds on a slow or busy machine, beyond
    # Playwright's default 5 s.
    expect.set_options(timeout=30_000)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport=VIEWPORT)
        page.set_default_timeout(30_000)
        yield page
        browser.close()


def test_a_review_gets_a_verdict_and_highlighted_words(page, url):
    from playwright.sync_api import expect

    outside = []  # every request the page makes must stay on the server (works offline)
    page.on("request", lambda r: None if r.url.startswith(url) else outside.append(r.url))
    page.goto(url)
    expect(page.locator("#model")).to_contain_text("test accuracy")
    expect(page.locator("#examples button")).to_have_count(5)

    page.fill("#review", "A wonderful, moving film. I loved it, but the plot was dull.")
    page.click("#analyse")
    verdict = page.locator("#verdict")
    expect(verdict).to_contain_text("P(positive) = ")
    assert verdict.get_attribute("class") in ("positive", "negative")
    assert page.locator("#meter").is_visible() and page.locator("#classes").is_hidden()
    expect(page.locator("#away")).to_have_text("towards negative")
    words = page.locator("#highlighted .tok")
    assert words.count() == 16  # 12 words and 4 punctuation marks
    assert page.locator("#highlighted .tok-pos").count() > 0
    assert page.locator("#highlighted .tok-neg").count() > 0
    assert page.locator("#highlighted").inner_text() == (
        "A wonderful, moving film. I loved it, but the plot was dull."
    )
    title = page.locator("#highlighted .tok", has_text="loved").get_attribute("title")
    assert title.startswith("contribution +")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / "page.png", full_page=True)
    assert (ARTIFACTS / "page.png").stat().st_size > 10_000
    page.locator("#review").blur()  # no caret or focus ring in the picture
    save_screenshot(page, "page.png")

    example = httpx.get(f"{url}/examples").json()[0]["text"]
    page.locator("#examples button").first.click()  # an example fills the box and runs
    expect(page.locator("#review")).to_have_value(example)
    expect(page.locator("#highlighted")).to_have_text(example.replace("<br />", " "))
    page.fill("#review", "   ")
    page.click("#analyse")
    expect(page.locator("#error")).to_have_text("empty text")
    assert outside == []


@pytest.fixture(scope="module")
def multiclass_url(multiclass_run):
    from gru_sentiment import SentimentModel

    with running(create_app(SentimentModel.load(multiclass_run))) as base:
        yield base


def test_a_multiclass_run_shows_a_bar_per_class_and_explains_the_one_picked(page, multiclass_url):
    from playwright.sync_api import expect

    page.goto(multiclass_url)
    expect(page.locator("#model")).to_contain_text("3 classes")
    expect(page.locator("#examples button")).to_have_count(5)
    page.fill("#review", "The guitar and the song were lovely, then a goal.")
    page.click("#analyse")
    expect(page.locator("#verdict")).to_contain_text("music — P(music) = ")
    bars = page.locator("#bars .bar")
    expect(bars).to_have_count(3)
    assert page.locator("#meter").is_hidden() and page.locator("#classes").is_visible()
    assert bars.locator(".name").all_inner_texts() == ["cooking", "music", "sport"]
    values = [float(v.rstrip("%")) for v in bars.locator(".value").all_inner_texts()]
    assert sum(values) == pytest.approx(100, abs=0.2) and max(values) == values[1]
    widths = [
        bar.evaluate("e => e.getBoundingClientRect().width") for bar in bars.locator(".fill").all()
    ]
    assert widths[1] == max(widths) and widths[1] > 0
    music = page.locator(".bar[data-class=music]")
    assert "predicted" in music.get_attribute("class")
    expect(music).to_have_attribute("aria-pressed", "true")  # the predicted class, explained
    expect(page.locator("#how .target").first).to_have_text("music")
    expect(page.locator("#away")).to_have_text("away from it")

    def word(text):
        return page.locator("#highlighted .tok", has_text=text).first

    expect(word("guitar")).to_have_class("tok tok-pos")
    expect(word("goal")).to_have_class("tok tok-neg")
    save_screenshot(page, "page-classes.png")

    page.locator(".bar[data-class=sport]").click()  # explain P(sport) instead
    expect(page.locator(".bar[data-class=sport]")).to_have_attribute("aria-pressed", "true")
    expect(music).to_have_attribute("aria-pressed", "false")
    expect(page.locator("#how .target").first).to_have_text("sport")
    expect(word("goal")).to_have_class("tok tok-pos")
    expect(word("guitar")).to_have_class("tok tok-neg")
    expect(page.locator("#verdict")).to_contain_text("music — P(music) = ")  # same verdict
    assert word("goal").get_attribute("title").startswith("contribution +")
