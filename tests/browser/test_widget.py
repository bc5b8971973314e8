"""The embeddable chat widget, driven in a real browser against the real service.

Debian's Chromium runs through Playwright; the service is a real `qa serve` process with the
real model and a real index of `seeds/`. Host pages that embed the widget from another origin
are served by a small local HTTP server, so CORS is exercised as on a real site. A second
service indexes a hostile article to check that data is only ever rendered as text.

Set QA_WIDGET_SCREENSHOTS=1 to refresh docs/widget-desktop.png and docs/widget-phone.png.
"""

from __future__ import annotations

import html
import itertools
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import (
    Browser,
    FloatRect,
    Locator,
    Page,
    ViewportSize,
    expect,
)

from qa.search.store import EmbeddedStore
from qa.settings import Settings
from tests.conftest import MODELS, ROOT, SEEDS, free_port

pytestmark = pytest.mark.browser

REPO = ROOT
DOCS = REPO / "docs"

DESKTOP: ViewportSize = {"width": 1280, "height": 800}
PHONE: ViewportSize = {"width": 360, "height": 740}

READY_TIMEOUT_S = 120
INDEX_TIMEOUT_S = 600
# A search runs the real model on a small CPU: leave auto-waiting assertions some room.
expect.set_options(timeout=20_000)

SEEDCHIP_SOURCE = "002_5f75a4b7e3170e15.txt"
FRENCH_QUESTION = "Quel est le nom de la puce développée par ByteDance ?"
ENGLISH_QUESTION = "What is the name of the AI chip that ByteDance is developing?"
UNRELATED_QUESTION = "Quelle est la recette de la tarte Tatin aux pommes caramélisées ?"

SCRIPT_TAG = "<script>window.__pwned=1</script>"
IMG_TAG = '<img src=x onerror="window.__pwned=1">'
HOSTILE_TITLE = "La fromagerie du village <b>rouvre</b> ses portes"
HOSTILE_ARTICLE = f"""{HOSTILE_TITLE}

La fromagerie Dupont, installée à Salers dans le Cantal, rouvre ses portes après six mois de \
travaux. Le fromager affine désormais ses tommes dans une cave voûtée.

Pendant les travaux, le site de la fromagerie affichait par erreur ce code : {SCRIPT_TAG} au \
lieu de la carte des fromages. Une image piégée, {IMG_TAG}, s’y trouvait aussi.

Les visiteurs peuvent goûter le salers tous les samedis matin.
"""
HOSTILE_QUESTION = "Quel code le site de la fromagerie affichait-il par erreur ?"
# Where and when the hostile article was published (its `.meta.json` sidecar).
HOSTILE_URL = "https://fromagerie.example/actualites/reouverture"
HOSTILE_PUBLISHED = "2025-03-03"

# The interface text the tests look for, per language (mirrors STRINGS in widget.js).
UI = {
    "fr": {
        "launcher": "Poser une question",
        "title": "Questions sur les articles",
        "input": "Votre question",
        "found": "Voici les passages les plus pertinents",
        "not_found": "Je n’ai rien trouvé dans les articles",
        "closest": "Passages les plus proches",
        "open_source": "Lire dans l’article",
        "show_more": "Afficher tout le passage",
        "source_region": "Texte intégral de l’article",
        "back": "Retour aux réponses",
        "close": "Fermer",
        "unreachable": "Impossible de joindre le service",
        "timeout": "Le service n’a pas répondu en 2 secondes",
        "http_error": "Le service a renvoyé une erreur (422)",
        "retry": "Réessayer",
        "helpful": "Oui, cette réponse est utile",
        "not_helpful": "Non, cette réponse n’est pas utile",
        "thanks": "Merci pour votre avis !",
        "read_on_site": "Lire l’article",
    },
    "en": {
        "launcher": "Ask a question",
        "title": "Ask the articles",
        "input": "Your question",
        "found": "Here are the most relevant passages",
        "open_source": "Read in the article",
        "source_region": "Full text of the article",
        "back": "Back to the answers",
        "helpful": "Yes, this answer is useful",
        "not_helpful": "No, this answer is not useful",
        "thanks": "Thank you for your feedback!",
    },
}


# ------------------------------------------------------------------------------ processes


def qa_env(corpus: Path, index_dir: Path, cors_origins: str = "") -> dict[str, str]:
    return {
        **os.environ,
        "QA_CORPUS_DIR": str(corpus.resolve()),
        "QA_INDEX_DIR": str(index_dir.resolve()),
        "QA_MODEL_CACHE_DIR": str(MODELS),
        "QA_CORS_ORIGINS": cors_origins,
    }


def build_index(corpus: Path, index_dir: Path) -> None:
    command = [sys.executable, "-m", "qa.cli", "index", "--corpus", str(corpus)]
    command += ["--index-dir", str(index_dir)]
    done = subprocess.run(
        command,
        cwd=REPO,
        env=qa_env(corpus, index_dir),
        capture_output=True,
        text=True,
        timeout=INDEX_TIMEOUT_S,
        check=False,
    )
    if done.returncode != 0:
        pytest.fail(f"`qa index` failed for {corpus}:\n{done.stdout}\n{done.stderr}")


@dataclass
class Service:
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def feedback(self, search_id: str) -> list[tuple[str, int | None]]:
        """The feedback recorded on a search, oldest first: the analytics database is the
        default one, beside the index folder."""
        with sqlite3.connect(self.log.parent / "analytics.sqlite3") as database:
            return database.execute(
                "SELECT event, rank FROM feedback WHERE search_id = ? ORDER BY id", (search_id,)
            ).fetchall()

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def start_service(corpus: Path, index_dir: Path, cors_origins: str, log: Path) -> Service:
    """A real `qa serve` on a free port, returned once GET /ready answers 200."""
    port = free_port()
    command = [sys.executable, "-m", "qa.cli", "serve", "--host", "127.0.0.1", "--port", str(port)]
    # Output goes to a file, not a pipe: a pipe nobody reads would block the server when full.
    with log.open("wb") as out:
        process = subprocess.Popen(
            command,
            cwd=REPO,
            env=qa_env(corpus, index_dir, cors_origins),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    service = Service(f"http://127.0.0.1:{port}", process, log)
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if is_ready(service.url):
            return service
        try:  # a pause that ends at once if the server dies
            process.wait(timeout=0.5)
        except subprocess.TimeoutExpired:
            continue
        pytest.fail(f"`qa serve` exited with {process.returncode}:\n{log.read_text()}")
    service.stop()
    pytest.fail(f"`qa serve` not ready after {READY_TIMEOUT_S} s:\n{log.read_text()}")


def is_ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/ready", timeout=5) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.load(response)


# ------------------------------------------------------------------------------ host pages


class PageServer:
    """Serves host pages from another origin than the service, as a real site would."""

    def __init__(self) -> None:
        self.pages: dict[str, bytes] = {}
        self._ids = itertools.count()
        pages = self.pages

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = pages.get(self.path.split("?")[0])
                self.send_response(200 if body is not None else 404)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.end_headers()
                self.wfile.write(body or b"not found")

            def log_message(self, *args: Any) -> None:
                pass  # keep the test output clean

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.origin = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def add(self, page_html: str) -> str:
        path = f"/page-{next(self._ids)}.html"
        self.pages[path] = page_html.encode()
        return self.origin + path

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def host_page(
    script_src: str | None,
    *,
    html_lang: str | None = "fr",
    body: str = "<h1>Page hôte</h1><p>Un article quelconque.</p>",
    **data: str,
) -> str:
    """A minimal host page embedding the widget with one tag; `data` become data-* attributes."""
    attrs = "".join(f' data-{key}="{html.escape(value)}"' for key, value in data.items())
    tag = f'<script src="{html.escape(script_src)}" defer{attrs}></script>' if script_src else ""
    lang_attr = f' lang="{html_lang}"' if html_lang else ""
    return (
        f'<!doctype html><html{lang_attr}><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>Hôte</title></head><body>{body}{tag}</body></html>"
    )


# ------------------------------------------------------------------------------ fixtures


@pytest.fixture(scope="module")
def page_server() -> Iterator[PageServer]:
    server = PageServer()
    yield server
    server.close()


@pytest.fixture(scope="module")
def service(
    tmp_path_factory: pytest.TempPathFactory,
    page_server: PageServer,
    real_index: EmbeddedStore,
    settings: Settings,
) -> Iterator[Service]:
    """The real service over the real articles (the session's real index of them, copied)."""
    work = tmp_path_factory.mktemp("seeds-service")
    shutil.copytree(settings.index_dir, work / "index")
    started = start_service(SEEDS, work / "index", page_server.origin, work / "serve.log")
    yield started
    started.stop()


@pytest.fixture(scope="module")
def hostile_service(
    tmp_path_factory: pytest.TempPathFactory, page_server: PageServer
) -> Iterator[Service]:
    """A second service whose only article contains markup that must never run."""
    work = tmp_path_factory.mktemp("hostile-service")
    corpus = work / "corpus"
    corpus.mkdir()
    (corpus / "fromagerie.txt").write_text(HOSTILE_ARTICLE, encoding="utf-8")
    (corpus / "fromagerie.meta.json").write_text(
        json.dumps({"url": HOSTILE_URL, "published": HOSTILE_PUBLISHED}), encoding="utf-8"
    )
    build_index(corpus, work / "index")
    started = start_service(corpus, work / "index", page_server.origin, work / "serve.log")
    yield started
    started.stop()


# Uncaught JavaScript errors of each open page: the widget must never throw.
JS_ERRORS: dict[Page, list[str]] = {}


def new_page(browser: Browser, viewport: ViewportSize, locale: str = "fr-FR") -> Page:
    """A page in a fresh context (French browser unless told otherwise)."""
    page = browser.new_context(viewport=viewport, locale=locale).new_page()
    errors = JS_ERRORS[page] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    return page


def close_page(page: Page) -> None:
    errors = JS_ERRORS.pop(page)
    page.context.close()
    assert not errors, f"uncaught JavaScript errors: {errors}"


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    opened = new_page(browser, DESKTOP)
    yield opened
    close_page(opened)


@pytest.fixture
def phone_page(browser: Browser) -> Iterator[Page]:
    opened = new_page(browser, PHONE)
    yield opened
    close_page(opened)


# ------------------------------------------------------------------------------ the widget


class Widget:
    """The widget as a reader sees it: located by role and accessible name."""

    def __init__(self, page: Page, lang: str = "fr", title: str | None = None) -> None:
        self.page = page
        self.ui = UI[lang]
        self.launcher = page.get_by_role("button", name=self.ui["launcher"])
        self.dialog = page.get_by_role("dialog", name=title or self.ui["title"])
        self.input = page.get_by_role("textbox", name=self.ui["input"])
        self.log = page.get_by_role("log")
        self.passages = page.locator("li.passage")
        self.alert = page.get_by_role("alert")
        self.source_text = page.get_by_role("region", name=self.ui["source_region"])

    def open(self) -> None:
        self.launcher.click()
        expect(self.dialog).to_be_visible()

    def ask(self, question: str) -> Any:
        """Type and send a question; return the JSON body the service answered."""
        with self.page.expect_response(lambda r: r.url.endswith("/search")) as answer:
            self.input.fill(question)
            self.input.press("Enter")
        return answer.value.json()

    def card_for(self, answer: Any, source: str) -> tuple[dict[str, Any], Locator]:
        """The first result of `answer` from `source`, and the card that shows it."""
        sources = [result["source"] for result in answer["results"]]
        assert source in sources, f"no passage from {source} in {sources}"
        rank = sources.index(source)
        card = self.passages.nth(rank)
        expect(card).to_contain_text(source)  # the card names its file
        return dict(answer["results"][rank]), card

    def open_source(self, card: Locator) -> None:
        card.get_by_role("button", name=self.ui["open_source"]).click()
        expect(self.source_text.locator("mark")).to_be_visible()


def box_of(locator: Locator) -> FloatRect:
    box = locator.bounding_box()
    assert box is not None, f"{locator} is not displayed"
    return box


def marked_sentence(result: dict[str, Any]) -> str:
    """The highlighted sentence, cut from the passage with the contract's offsets."""
    highlight = result["highlight"]
    assert highlight, f"passage {result['chunk_id']} has no highlight"
    return str(
        result["text"][highlight["start"] - result["start"] : highlight["end"] - result["start"]]
    )


# ------------------------------------------------------------------------------ tests


def test_french_question_shows_the_source_and_its_marked_sentence(
    page: Page, service: Service
) -> None:
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(f"{service.url}/")  # the demo page, which embeds the widget with one tag
    widget = Widget(page)
    widget.open()
    answer = widget.ask(FRENCH_QUESTION)

    result, card = widget.card_for(answer, SEEDCHIP_SOURCE)
    expect(card).to_be_visible()
    # Nothing (fonts, icons, scripts) comes from anywhere but the service.
    assert all(url.startswith(f"{service.url}/") for url in requested), requested
    expect(card).to_contain_text(result["title"])
    sentence = marked_sentence(result)
    assert sentence.strip()
    expect(card.locator("mark")).to_have_text(sentence)
    assert card.locator("mark").inner_text().strip() in result["text"]
    expect(widget.log).to_contain_text(result["title"])
    expect(widget.passages).to_have_count(len(answer["results"]))
    lead = UI["fr"]["found"] if answer["answerable"] else UI["fr"]["closest"]
    expect(widget.log).to_contain_text(lead)
    expect(widget.input).to_have_value("")  # ready for the next question


def test_english_question_finds_the_french_article(page: Page, service: Service) -> None:
    page.goto(f"{service.url}/")
    widget = Widget(page)
    widget.open()
    answer = widget.ask(ENGLISH_QUESTION)

    result, card = widget.card_for(answer, SEEDCHIP_SOURCE)
    expect(card).to_be_visible()
    if result["highlight"]:
        expect(card.locator("mark")).to_have_text(marked_sentence(result))


def test_api_documentation_renders_without_internet(page: Page, service: Service) -> None:
    """This machine has no internet: if Swagger UI draws the operations, it came from us."""
    page.goto(f"{service.url}/docs")

    expect(page.locator(".opblock-summary-path", has_text="/search").first).to_be_visible()
    expect(page.locator(".opblock-summary-path", has_text="/sources/{name}")).to_be_visible()


def test_nothing_relevant_says_so_and_lists_the_closest_passages(
    page: Page, service: Service
) -> None:
    page.goto(f"{service.url}/")
    widget = Widget(page)
    widget.open()
    answer = widget.ask(UNRELATED_QUESTION)

    assert answer["answerable"] is False
    expect(widget.log).to_contain_text(UI["fr"]["not_found"])
    expect(widget.log).to_contain_text(UI["fr"]["closest"])
    expect(widget.passages).to_have_count(len(answer["results"]))
    expect(widget.log).not_to_contain_text(UI["fr"]["found"])


def test_opening_the_source_shows_the_full_text_at_the_marked_passage(
    page: Page, service: Service
) -> None:
    page.goto(f"{service.url}/")
    widget = Widget(page)
    widget.open()
    result, card = widget.card_for(widget.ask(FRENCH_QUESTION), SEEDCHIP_SOURCE)
    widget.open_source(card)

    source = get_json(f"{service.url}/sources/{SEEDCHIP_SOURCE}")
    expect(widget.source_text).to_be_focused()  # keyboard readers can scroll it at once
    expect(widget.dialog.get_by_role("heading", name=source["title"])).to_be_visible()
    expect(widget.source_text.locator("mark")).to_have_text(marked_sentence(result))
    expect(widget.source_text.locator("mark")).to_be_in_viewport()  # scrolled to the passage
    expect(widget.source_text.locator(".in-passage")).to_have_text(result["text"])
    assert widget.source_text.text_content() == source["text"]  # whole text, nothing lost

    open_button = card.get_by_role("button", name=UI["fr"]["open_source"])
    widget.dialog.get_by_role("button", name=UI["fr"]["back"]).click()
    expect(card).to_be_visible()
    expect(open_button).to_be_focused()  # back where the reader left

    # Escape steps back from the article to the answers; it does not close the panel.
    open_button.press("Enter")
    expect(widget.source_text).to_be_focused()
    page.keyboard.press("Escape")
    expect(widget.source_text).to_be_hidden()
    expect(open_button).to_be_focused()
    expect(widget.dialog).to_be_visible()


def test_keyboard_only_use(page: Page, service: Service, page_server: PageServer) -> None:
    page.goto(page_server.add(host_page(f"{service.url}/widget.js")))
    widget = Widget(page)

    page.keyboard.press("Tab")
    expect(widget.launcher).to_be_focused()
    # A visible focus ring, not only a focus.
    assert widget.launcher.evaluate("el => getComputedStyle(el).outlineStyle") != "none"

    page.keyboard.press("Enter")
    expect(widget.dialog).to_be_visible()
    expect(widget.launcher).to_have_attribute("aria-expanded", "true")
    expect(widget.input).to_be_focused()

    page.keyboard.type("Que développe ByteDance ?")
    page.keyboard.press("Shift+Enter")  # a new line, not a send
    page.keyboard.type("Et avec qui ?")
    expect(widget.input).to_have_value("Que développe ByteDance ?\nEt avec qui ?")
    expect(page.locator(".msg.user")).to_have_count(0)

    with page.expect_request(lambda r: r.url.endswith("/search")) as sent:
        page.keyboard.press("Enter")
    assert sent.value.post_data_json["question"] == "Que développe ByteDance ?\nEt avec qui ?"
    expect(page.locator(".msg.user")).to_contain_text("Que développe ByteDance ? Et avec qui ?")
    expect(widget.passages.first).to_be_visible()
    expect(widget.input).to_have_value("")

    page.keyboard.press("Escape")
    expect(widget.dialog).to_be_hidden()
    expect(widget.launcher).to_be_focused()
    expect(widget.launcher).to_have_attribute("aria-expanded", "false")


def test_aria_roles_and_names(page: Page, service: Service) -> None:
    page.goto(f"{service.url}/")
    widget = Widget(page)
    expect(widget.launcher).to_have_attribute("aria-expanded", "false")
    expect(widget.dialog).to_be_hidden()
    widget.open()

    panel_id = widget.launcher.get_attribute("aria-controls")
    assert panel_id
    expect(widget.dialog).to_have_id(panel_id)
    expect(widget.log).to_have_attribute("aria-live", "polite")
    expect(widget.log).to_be_visible()

    widget.dialog.get_by_role("button", name=UI["fr"]["close"]).click()
    expect(widget.dialog).to_be_hidden()
    expect(widget.launcher).to_be_focused()


def test_unreachable_service_is_reported(
    page: Page, service: Service, page_server: PageServer
) -> None:
    closed = f"http://127.0.0.1:{free_port()}"  # nothing listens there any more
    page.goto(page_server.add(host_page(f"{service.url}/widget.js", endpoint=closed)))
    widget = Widget(page)
    widget.open()
    widget.input.fill("Que développe ByteDance ?")
    widget.input.press("Enter")

    expect(widget.alert).to_contain_text(UI["fr"]["unreachable"])
    expect(widget.alert.get_by_role("button", name=UI["fr"]["retry"])).to_be_visible()
    expect(widget.input).to_be_editable()


def test_slow_service_times_out(page: Page, service: Service, page_server: PageServer) -> None:
    # A search that never answers: the widget must give up after data-timeout ms.
    hanging = f"{page_server.origin}/hang"
    page.route(f"{hanging}/search", lambda route: None)  # never fulfilled
    page.goto(
        page_server.add(host_page(f"{service.url}/widget.js", endpoint=hanging, timeout="2000"))
    )
    widget = Widget(page)
    widget.open()
    widget.input.fill("Que développe ByteDance ?")
    widget.input.press("Enter")

    expect(widget.alert).to_contain_text(UI["fr"]["timeout"])


def test_error_answer_shows_the_service_detail(page: Page, service: Service) -> None:
    page.goto(f"{service.url}/")
    widget = Widget(page)
    widget.open()
    with page.expect_response(lambda r: r.url.endswith("/search")) as answer:
        widget.input.fill("a" * 2001)  # over the service's 2000-character limit
        widget.input.press("Enter")

    assert answer.value.status == 422
    detail = answer.value.json()["detail"]
    expect(widget.alert).to_contain_text(UI["fr"]["http_error"])
    expect(widget.alert).to_contain_text(detail)
    # The service refused the question: retrying the same one would not help.
    expect(widget.alert.get_by_role("button")).to_have_count(0)


def test_hostile_markup_is_shown_as_text_and_never_runs(
    page: Page, hostile_service: Service
) -> None:
    page.goto(f"{hostile_service.url}/")
    widget = Widget(page)
    widget.open()
    answer = widget.ask(HOSTILE_QUESTION)
    expect(widget.passages).to_have_count(len(answer["results"]))
    for more in widget.log.get_by_role("button", name=UI["fr"]["show_more"]).all():
        more.click()

    expect(widget.log).to_contain_text(HOSTILE_TITLE)
    expect(widget.log).to_contain_text(SCRIPT_TAG)
    expect(widget.log).to_contain_text(IMG_TAG)
    widget.open_source(widget.passages.first)
    expect(widget.source_text).to_contain_text(SCRIPT_TAG)
    expect(widget.source_text).to_contain_text(IMG_TAG)

    expect(page.locator("qa-widget").locator("script, img, b")).to_have_count(0)
    assert page.evaluate("() => window.__pwned") is None


def test_a_dated_article_shows_its_date_and_links_to_its_page(
    page: Page, hostile_service: Service
) -> None:
    page.goto(f"{hostile_service.url}/")
    widget = Widget(page)
    widget.open()
    widget.ask(HOSTILE_QUESTION)
    card = widget.passages.first
    expect(card.locator("time")).to_have_attribute("datetime", HOSTILE_PUBLISHED)
    expect(card).to_contain_text("Publié le 3 mars 2025")
    link = card.get_by_role("link", name=f"Lire l’article « {HOSTILE_TITLE} » sur son site")
    expect(link).to_have_attribute("href", HOSTILE_URL)
    expect(link).to_have_attribute("target", "_blank")
    expect(link).to_have_attribute("rel", "noopener noreferrer")
    expect(link).to_contain_text("Lire l’article")


def test_an_article_without_a_page_has_no_link_out(page: Page, service: Service) -> None:
    page.goto(f"{service.url}/")
    widget = Widget(page)
    widget.open()
    widget.ask("Combien ByteDance va-t-il dépenser en puces Nvidia ?")
    expect(widget.passages.first).to_contain_text("Lire dans l’article")
    expect(widget.log.get_by_role("link")).to_have_count(0)
    expect(widget.log.locator("time")).to_have_count(0)


def test_phone_layout_fits_the_screen(phone_page: Page, service: Service) -> None:
    page = phone_page
    page.goto(f"{service.url}/")
    widget = Widget(page)
    expect(widget.launcher).to_be_in_viewport()
    widget.open()
    widget.ask(FRENCH_QUESTION)
    expect(widget.passages.first).to_be_visible()

    panel = box_of(widget.dialog)
    assert panel["x"] >= 0
    assert panel["x"] + panel["width"] <= PHONE["width"]
    assert panel["width"] >= PHONE["width"] - 8, "the panel should take the phone's width"
    for card in widget.passages.all():
        box = box_of(card)
        assert box["x"] + box["width"] <= PHONE["width"]
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    expect(widget.dialog.get_by_role("button", name=UI["fr"]["close"])).to_be_in_viewport()


# Properties through which a host stylesheet could restyle the launcher.
LAUNCHER_STYLE = """el => {
  const s = getComputedStyle(el);
  return ["font-family", "font-size", "font-weight", "letter-spacing", "text-transform",
          "color", "background-color", "border-top-width", "border-top-style",
          "border-radius", "padding-left", "padding-top", "width", "height", "box-sizing",
          "outline-style", "position", "bottom", "right"]
    .map(p => p + ": " + s.getPropertyValue(p));
}"""

# Every computed property of each probed host element.
ALL_STYLES = """els => els.map(el => {
  const s = getComputedStyle(el);
  return Array.from(s, p => p + ": " + s.getPropertyValue(p));
})"""


def test_host_css_does_not_reach_the_widget(
    browser: Browser, service: Service, page_server: PageServer
) -> None:
    # The demo page has aggressive global rules (*, button, p, mark, svg); a bare page has none.
    styles = []
    for url in (f"{service.url}/", page_server.add(host_page(f"{service.url}/widget.js"))):
        page = new_page(browser, DESKTOP)
        page.goto(url)
        styles.append(Widget(page).launcher.evaluate(LAUNCHER_STYLE))
        close_page(page)
    assert styles[0] == styles[1]


def test_widget_css_does_not_leak_into_the_host(
    page: Page, service: Service, page_server: PageServer
) -> None:
    # Host elements with the widget's own tag and class names: its rules must not match them.
    probes = (
        '<p data-probe class="title">p</p><button data-probe class="launcher">b</button>'
        '<div data-probe class="panel root log">d</div><mark data-probe>m</mark>'
        '<textarea data-probe class="composer"></textarea><h2 data-probe class="header">h</h2>'
        '<svg data-probe width="10" height="10"></svg>'
    )
    page.goto(page_server.add(host_page(None, body=probes)))
    probed = page.locator("[data-probe], html, body")
    before = probed.evaluate_all(ALL_STYLES)

    page.evaluate(
        """src => { const s = document.createElement("script"); s.src = src;
                    document.body.appendChild(s); }""",
        f"{service.url}/widget.js",
    )
    widget = Widget(page)
    widget.open()  # opened, so that every widget rule is in force
    assert probed.evaluate_all(ALL_STYLES) == before


def test_english_interface(page: Page, service: Service, page_server: PageServer) -> None:
    # data-lang wins over the page's own (French) language.
    page.goto(page_server.add(host_page(f"{service.url}/widget.js", html_lang="fr", lang="en")))
    widget = Widget(page, lang="en")
    widget.open()
    expect(widget.input).to_have_attribute("placeholder", "Your question…")
    answer = widget.ask(ENGLISH_QUESTION)

    _, card = widget.card_for(answer, SEEDCHIP_SOURCE)
    expect(widget.log).to_contain_text(UI["en"]["found"] if answer["answerable"] else "Closest")
    card.get_by_role("button", name=UI["en"]["open_source"]).click()
    expect(widget.source_text.locator("mark")).to_be_visible()
    expect(widget.dialog.get_by_role("button", name=UI["en"]["back"])).to_be_visible()


@pytest.mark.parametrize(
    ("html_lang", "locale", "expected"),
    [("en", "fr-FR", "en"), ("en-GB", "fr-FR", "en"), (None, "en-US", "en"), ("fr", "en-US", "fr")],
)
def test_language_follows_the_page_then_the_browser(
    browser: Browser,
    service: Service,
    page_server: PageServer,
    html_lang: str | None,
    locale: str,
    expected: str,
) -> None:
    page = new_page(browser, DESKTOP, locale=locale)
    page.goto(page_server.add(host_page(f"{service.url}/widget.js", html_lang=html_lang)))
    expect(Widget(page, lang=expected).launcher).to_be_visible()
    close_page(page)


def test_data_attributes_configure_the_widget(
    page: Page, service: Service, page_server: PageServer
) -> None:
    page.goto(
        page_server.add(
            host_page(
                f"{service.url}/widget.js",
                title="Aide de la rédaction",
                k="2",
                accent="#0f766e",
                position="left",
            )
        )
    )
    widget = Widget(page, title="Aide de la rédaction")
    expect(widget.launcher).to_have_css("background-color", "rgb(15, 118, 110)")
    assert box_of(widget.launcher)["x"] < DESKTOP["width"] / 2, "data-position=left"
    widget.open()
    with page.expect_request(lambda r: r.url.endswith("/search")) as sent:
        widget.ask(FRENCH_QUESTION)
    assert sent.value.post_data_json == {"question": FRENCH_QUESTION, "k": 2}
    expect(widget.passages).to_have_count(2)


def test_screenshots_of_the_demo_page(browser: Browser, service: Service, tmp_path: Path) -> None:
    """The demo page with the widget open on an answer, on a desktop and on a phone."""
    refresh = os.environ.get("QA_WIDGET_SCREENSHOTS") == "1"
    for name, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        kept = DOCS / f"widget-{name}.png"
        target = kept if refresh or not kept.exists() else tmp_path / kept.name
        page = new_page(browser, viewport)
        page.goto(f"{service.url}/")
        widget = Widget(page)
        widget.open()
        widget.card_for(widget.ask(FRENCH_QUESTION), SEEDCHIP_SOURCE)
        page.screenshot(path=str(target), animations="disabled", caret="hide")
        close_page(page)
        assert target.stat().st_size > 10_000


# ------------------------------------------------------------------------------ feedback


def sent_feedback(page: Page, action: Any) -> Any:
    """Run `action`; return the body of the POST /feedback it made, once answered 201."""
    with page.expect_response(lambda r: r.url.endswith("/feedback")) as answered:
        action()
    assert answered.value.status == 201, answered.value.text()
    return answered.value.request.post_data_json


def test_the_thumbs_send_the_readers_judgment_and_it_may_change(
    page: Page, service: Service
) -> None:
    page.goto(f"{service.url}/")
    widget = Widget(page)
    widget.open()
    answer = widget.ask(FRENCH_QUESTION)
    search_id = answer["search_id"]
    group = widget.log.get_by_role("group", name="Votre avis sur cette réponse")
    expect(group).to_contain_text("Utile ?")
    helpful = group.get_by_role("button", name=UI["fr"]["helpful"])
    not_helpful = group.get_by_role("button", name=UI["fr"]["not_helpful"])
    expect(helpful).to_have_attribute("aria-pressed", "false")
    expect(helpful).to_have_text("👍")
    expect(not_helpful).to_have_text("👎")

    assert sent_feedback(page, helpful.click) == {"search_id": search_id, "event": "helpful"}
    expect(helpful).to_have_attribute("aria-pressed", "true")
    expect(not_helpful).to_have_attribute("aria-pressed", "false")
    expect(group.get_by_role("status")).to_have_text(UI["fr"]["thanks"])

    # The reader changes their mind, with the keyboard this time.
    not_helpful.focus()
    body = sent_feedback(page, lambda: page.keyboard.press("Enter"))
    assert body == {"search_id": search_id, "event": "not_helpful"}
    expect(not_helpful).to_have_attribute("aria-pressed", "true")
    expect(helpful).to_have_attribute("aria-pressed", "false")
    assert service.feedback(search_id) == [("helpful", None), ("not_helpful", None)]


def test_opening_an_article_sends_open_with_its_rank(page: Page, service: Service) -> None:
    page.goto(f"{service.url}/")
    widget = Widget(page)
    widget.open()
    answer = widget.ask(FRENCH_QUESTION)
    result, card = widget.card_for(answer, SEEDCHIP_SOURCE)
    body = sent_feedback(page, lambda: widget.open_source(card))
    assert body == {"search_id": answer["search_id"], "event": "open", "rank": result["rank"]}
    assert service.feedback(answer["search_id"]) == [("open", result["rank"])]


def test_following_the_link_to_the_articles_page_sends_open(
    page: Page, hostile_service: Service
) -> None:
    # The article's site is not reachable from here: its page is answered locally.
    page.context.route(f"{HOSTILE_URL}*", lambda route: route.fulfill(body="article"))
    page.goto(f"{hostile_service.url}/")
    widget = Widget(page)
    widget.open()
    answer = widget.ask(HOSTILE_QUESTION)
    link = widget.passages.first.get_by_role("link", name=re.compile(UI["fr"]["read_on_site"]))
    with page.context.expect_page():
        body = sent_feedback(page, link.click)
    assert body == {"search_id": answer["search_id"], "event": "open", "rank": 1}
    assert hostile_service.feedback(answer["search_id"]) == [("open", 1)]


def test_english_thumbs(page: Page, service: Service, page_server: PageServer) -> None:
    page.goto(page_server.add(host_page(f"{service.url}/widget.js", lang="en")))
    widget = Widget(page, lang="en")
    widget.open()
    widget.ask(ENGLISH_QUESTION)
    group = widget.log.get_by_role("group", name="Your opinion of this answer")
    expect(group).to_contain_text("Useful?")
    sent_feedback(page, group.get_by_role("button", name=UI["en"]["helpful"]).click)
    expect(group.get_by_role("status")).to_have_text(UI["en"]["thanks"])


def test_data_feedback_off_shows_no_thumbs_and_sends_nothing(
    page: Page, service: Service, page_server: PageServer
) -> None:
    sent: list[str] = []
    page.on("request", lambda request: sent.append(request.url))
    page.goto(page_server.add(host_page(f"{service.url}/widget.js", feedback="off")))
    widget = Widget(page)
    widget.open()
    _, card = widget.card_for(widget.ask(FRENCH_QUESTION), SEEDCHIP_SOURCE)
    widget.open_source(card)
    expect(page.get_by_role("button", name=UI["fr"]["helpful"])).to_have_count(0)
    page.wait_for_timeout(500)  # an `open` would be sent at the click: none was
    assert not [url for url in sent if url.endswith("/feedback")]
