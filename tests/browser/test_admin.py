"""The editors' page (`/admin`) in a real browser against a real `qa serve` (real model, real
index of `seeds/`, analytics in a SQLite file): searches and feedback sent through the API, then
the page asks for the admin key, keeps it in sessionStorage only, and draws the report, readers'
questions as text. Set QA_ADMIN_SCREENSHOT=1 to refresh docs/admin.png."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from qa.search.store import EmbeddedStore
from qa.settings import Settings
from tests.conftest import ROOT, SEEDS
from tests.qa_process import Service, qa_serve

pytestmark = pytest.mark.browser

ADMIN_KEY = "editor-key-0d9c"
HOSTILE = '<img src=x onerror="window.__pwned=1"> Où acheter des <b>croissants</b> ?'
UNANSWERED = [
    "Quelle est la recette de la tarte Tatin ?",
    "Quelle est la recette de la tarte tatin",
    "Comment faire une pâte à crêpes ?",
    HOSTILE,
]
ANSWERED = "Comment s'appelle la puce IA que développe ByteDance ?"
expect.set_options(timeout=20_000)


@pytest.fixture(scope="module")
def service(
    tmp_path_factory: pytest.TempPathFactory, real_index: EmbeddedStore, settings: Settings
) -> Iterator[Service]:
    work = tmp_path_factory.mktemp("admin-service")
    shutil.copytree(settings.index_dir, work / "index")
    with qa_serve(
        work / "index",
        SEEDS,
        work / "serve.log",
        admin_api_key=ADMIN_KEY,
        analytics_url=f"sqlite:///{work / 'analytics.sqlite3'}",
    ) as started:
        yield started


@pytest.fixture(scope="module")
def readers(service: Service) -> dict[str, Any]:
    """What readers did, through the API: questions (one twice), a thumb up and an opening,
    thumbs down."""
    with httpx.Client(base_url=service.url, timeout=60) as client:
        answered = client.post("/search", json={"question": ANSWERED, "k": 3}).json()
        assert client.post("/search", json={"question": ANSWERED}).status_code == 200
        for question in UNANSWERED:  # judged not helpful: unanswered, whatever their scores
            search_id = client.post("/search", json={"question": question}).json()["search_id"]
            judged = client.post("/feedback", json={"search_id": search_id, "event": "not_helpful"})
            assert judged.status_code < 300, judged.text
        for event in [{"event": "helpful"}, {"event": "open", "rank": 1}]:
            sent = client.post("/feedback", json={"search_id": answered["search_id"], **event})
            assert sent.status_code < 300, sent.text
        report = wait_for_searches(client, 1 + 1 + len(UNANSWERED))
    return {"answered": answered, "report": report}


def wait_for_searches(client: httpx.Client, count: int) -> dict[str, Any]:
    """The report once the background writer has stored `count` searches."""
    headers = {"Authorization": f"Bearer {ADMIN_KEY}"}
    deadline = time.monotonic() + 30
    while True:
        report: dict[str, Any] = client.get("/analytics", headers=headers).json()
        if report.get("searches") == count or time.monotonic() > deadline:
            assert report.get("searches") == count, report
            return report
        time.sleep(0.2)


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 1400}, locale="fr-FR")
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    yield opened
    context.close()
    assert not errors, f"uncaught JavaScript errors: {errors}"


def sign_in(page: Page, service: Service, key: str) -> None:
    page.goto(f"{service.url}/admin")
    page.get_by_label("Clé d’administration").fill(key)
    page.get_by_role("button", name="Ouvrir").click()


def test_the_page_asks_for_the_key_and_refuses_a_wrong_one(
    page: Page, service: Service, readers: dict[str, Any]
) -> None:
    sign_in(page, service, "not-the-key")

    expect(page.get_by_role("status")).to_contain_text("n’est pas la clé d’administration")
    expect(page.get_by_label("Clé d’administration")).to_be_visible()
    assert page.evaluate("sessionStorage.getItem('qa-admin-key')") is None


def test_the_report_is_drawn_with_questions_as_text_and_the_key_kept_for_the_tab_only(
    page: Page, service: Service, readers: dict[str, Any]
) -> None:
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    sign_in(page, service, ADMIN_KEY)

    report = readers["report"]
    cards = page.locator("#cards")
    expect(cards).to_contain_text(f"{report['searches']}recherches")
    expect(cards).to_contain_text("1articles ouverts")
    gaps = page.locator("#gaps")
    expect(gaps).to_contain_text("Quelle est la recette de la tarte Tatin ?")
    expect(gaps).to_contain_text(HOSTILE)  # the markup shown as the reader typed it
    expect(page.locator("#top")).to_contain_text(HOSTILE)
    assert page.evaluate("window.__pwned") is None
    assert page.locator("main img, main b").count() == 0
    expect(page.locator("#opened")).to_contain_text(readers["answered"]["results"][0]["source"])
    bars = page.locator("#per-day rect.bar")
    assert bars.count() == 30  # the last 30 days by default
    assert all(ADMIN_KEY not in url for url in requests)
    assert page.evaluate("sessionStorage.getItem('qa-admin-key')") == ADMIN_KEY
    assert page.evaluate("localStorage.length") == 0
    if os.environ.get("QA_ADMIN_SCREENSHOT") == "1":
        page.screenshot(path=str(ROOT / "docs" / "admin.png"), full_page=True)

    page.reload()  # the same tab: no key asked again
    expect(page.locator("#cards")).to_contain_text("recherches")
    page.get_by_role("button", name="Oublier la clé").click()
    expect(page.get_by_label("Clé d’administration")).to_be_visible()
    assert page.evaluate("sessionStorage.getItem('qa-admin-key')") is None


def test_the_page_exists_only_with_an_admin_key(
    tmp_path: Path, real_index: EmbeddedStore, settings: Settings
) -> None:
    with qa_serve(settings.index_dir, SEEDS, tmp_path / "serve.log", analytics="false") as bare:
        for path in ["/admin", "/admin.js"]:
            assert httpx.get(f"{bare.url}{path}").status_code == 404, path
