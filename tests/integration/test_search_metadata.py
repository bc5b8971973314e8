"""Articles' metadata through the real service: a corpus of a news page (the first seed in a full
page of the test news site), a French `.txt` seed and an English `.txt` article, indexed by the
real model and served by a real uvicorn server. `POST /search` and `GET /search` filtered by
language or site answer with those articles only, each result carries the article's metadata,
and `GET /sources/{name}` shows it (every store on a fake encoder: tests/unit/search/store/
test_metadata.py)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import AbstractContextManager
from typing import Any

import httpx
import pytest

from qa.indexing.build import update_index
from qa.search.encoders.base import Encoder
from qa.search.retrieval.search import Searcher
from qa.search.store import open_store
from qa.serve import app as api
from qa.settings import Settings
from tests.conftest import SEEDS, assert_error, make_settings, uvicorn_on_loopback
from tests.news_pages import SITE_NAME
from tests.news_site import news_page, seed_articles

PAGE_URL = "https://gazette.example/tech/bytedance-puces"
PAGE = "bytedance.html"
FRENCH = "004_2ce192f800cc9e70.txt"
ENGLISH = "harbour.txt"
ENGLISH_TEXT = (
    "Marseille harbour opens a floating breakwater\n\n"
    "The port of Marseille opened an eight hundred metre floating breakwater on Tuesday. "
    "It shelters cruise ships from the mistral wind and cost forty-two million euros, "
    "paid by the region. Engineers say the structure can be moved when the harbour grows.\n"
)
# A question every article answers a little: each filter alone decides what comes back.
QUESTION = "Quelles entreprises investissent dans la technologie ?"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, encoder: Encoder) -> Iterator[str]:
    """The three articles indexed into a fresh index and served on a free loopback port."""
    root = tmp_path_factory.mktemp("metadata")
    corpus = root / "corpus"
    corpus.mkdir()
    article = seed_articles()[0]
    page = news_page(
        article.title,
        article.paragraphs,
        url=PAGE_URL,
        published=article.published,
        author=article.author,
        tags=article.tags,
    )
    (corpus / PAGE).write_text(page, encoding="utf-8")
    shutil.copy(SEEDS / FRENCH, corpus / FRENCH)
    (corpus / ENGLISH).write_text(ENGLISH_TEXT, encoding="utf-8")
    settings = make_settings(root / "index", corpus)
    report = update_index(settings, encoder)
    assert sorted(report.changes.added) == sorted([PAGE, FRENCH, ENGLISH]), report.skipped
    with serving(settings, Searcher(open_store(settings), encoder, settings)) as url:
        yield url


def serving(settings: Settings, searcher: Searcher) -> AbstractContextManager[str]:
    """The app on a real uvicorn server on a free loopback port, until the block ends."""
    return uvicorn_on_loopback(api.create_app(settings, searcher=searcher), "uvicorn-metadata")


@pytest.fixture(scope="module")
def client(served: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=served, timeout=120) as client:
        yield client


def found(client: httpx.Client, **filters: Any) -> dict[str, dict[str, Any]]:
    """Article name -> its first result, of a POST /search with these filters (k = 20: every
    passage of the three articles)."""
    response = client.post("/search", json={"question": QUESTION, "k": 20, **filters})
    assert response.status_code == 200, response.text
    results: dict[str, dict[str, Any]] = {}
    for passage in response.json()["results"]:
        results.setdefault(passage["source"], passage)
    return results


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"languages": ["en"]}, {ENGLISH}),
        ({"languages": ["fr"]}, {PAGE, FRENCH}),
        ({"languages": ["de", "en"]}, {ENGLISH}),
        ({"languages": ["de"]}, set()),
        ({"sites": [SITE_NAME]}, {PAGE}),
        ({"sites": ["Le Monde"]}, set()),
        # Conditions add up; an article without a site or a date satisfies no condition on it.
        ({"languages": ["en", "fr"], "sites": [SITE_NAME]}, {PAGE}),
        ({"languages": ["en"], "sites": [SITE_NAME]}, set()),
        ({"languages": ["en"], "published_after": "2025-01-01"}, set()),
    ],
)
def test_post_search_filters_by_language_and_site(
    client: httpx.Client, filters: dict[str, Any], expected: set[str]
) -> None:
    assert set(found(client, **filters)) == expected


def test_get_search_takes_the_same_filters_as_repeated_parameters(client: httpx.Client) -> None:
    def sources(params: list[tuple[str, str]]) -> set[str]:
        response = client.get("/search", params=[("q", QUESTION), ("k", "20"), *params])
        assert response.status_code == 200, response.text
        return {passage["source"] for passage in response.json()["results"]}

    assert sources([("languages", "en")]) == {ENGLISH}
    assert sources([("languages", "en"), ("languages", "fr")]) == {PAGE, FRENCH, ENGLISH}
    assert sources([("sites", SITE_NAME)]) == {PAGE}


def test_results_carry_the_articles_metadata(client: httpx.Client) -> None:
    article = seed_articles()[0]
    results = found(client)
    assert set(results) == {PAGE, FRENCH, ENGLISH}
    page = results[PAGE]

    assert page["title"] == article.title
    assert page["url"] == PAGE_URL
    assert page["published"] == article.published.date().isoformat()
    assert (page["author"], page["language"], page["site"]) == (article.author, "fr", SITE_NAME)
    # A plain text file says nothing of itself but its language, detected.
    english = results[ENGLISH]
    assert (english["language"], english["site"], english["author"]) == ("en", None, None)
    assert (english["url"], english["published"]) == (None, None)
    assert results[FRENCH]["language"] == "fr"


def test_the_source_shows_its_metadata(client: httpx.Client) -> None:
    article = seed_articles()[0]
    response = client.get(f"/sources/{PAGE}")

    assert response.status_code == 200, response.text
    source = response.json()
    assert (source["author"], source["language"], source["site"]) == (
        article.author,
        "fr",
        SITE_NAME,
    )
    assert source["url"] == PAGE_URL
    assert set(article.tags) <= set(source["tags"])


@pytest.mark.parametrize("language", ["FR", "french", "f", ""])
def test_a_language_filter_must_be_a_lower_case_code(client: httpx.Client, language: str) -> None:
    body = {"question": QUESTION, "languages": [language]}
    assert_error(client.post("/search", json=body), 422, "invalid_request", "languages", "fr")
    query = {"q": QUESTION, "languages": language}
    assert_error(client.get("/search", params=query), 422, "invalid_request", "languages", "fr")
