"""The document API takes articles as newsrooms publish them: a web page (`text/html`, often
over 100 KB), Markdown and PDF, on a real server. Each is kept as sent, its article extracted,
searched and dated; a page with no article is refused saying why, and nothing is written."""

from __future__ import annotations

from pathlib import Path

import pytest

from qa.search.encoders.sentence_transformer import SentenceTransformerEncoder
from qa.settings import Settings
from tests.integration.test_documents import copy_of, seeded, serving, snapshot
from tests.news_pages import SITE_NAME
from tests.news_site import Article, markdown_version, news_page, pdf_version, seed_articles

__all__ = ["seeded"]  # the fixture, used by name

STORY = Article(
    source="zorg.txt",
    title="La puce Zorg-7 arrive chez les fabricants lyonnais",
    paragraphs=(
        "La start-up lyonnaise Zorglubium a présenté mardi la puce Zorg-7, gravée en "
        "5 nanomètres, pour l’inférence des modèles de langue.",
        "Selon son fondateur, la puce consomme trois fois moins d’énergie que ses concurrentes "
        "et sera livrée aux premiers clients au printemps.",
    ),
    published=seed_articles()[0].published,
    author="Camille Martin",
    section="Tech",
    tags=("Tech",),
)
PAGE_URL = "https://gazette.example/tech/zorg-7/"
QUESTION = "Quelle puce la start-up Zorglubium a-t-elle présentée ?"
TEXT_TYPES = {"Content-Type": "text/plain; charset=utf-8"}


def page() -> bytes:
    html = news_page(
        STORY.title,
        STORY.paragraphs,
        url=PAGE_URL,
        published=STORY.published,
        author=STORY.author,
        related=[(f"Article lié numéro {n}", f"https://gazette.example/{n}/") for n in range(40)],
    )
    # Real pages carry kilobytes of scripts and styles: this one is over the 64 KiB of /search.
    padding = "<script>/* " + "analytics " * 12_000 + "*/</script>"
    return html.replace("</body>", f"{padding}</body>").encode("utf-8")


def found(client: object, question: str) -> list[dict[str, object]]:
    response = client.post("/search", json={"question": question, "k": 3})  # type: ignore[attr-defined]
    assert response.status_code == 200, response.text
    return list(response.json()["results"])


def test_a_web_page_is_stored_as_sent_and_its_article_searched_and_dated(
    seeded: Settings, encoder: SentenceTransformerEncoder, tmp_path: Path
) -> None:
    settings = copy_of(seeded, tmp_path, admin_api_key="s3cret-admin")
    body = page()
    assert len(body) > 64 * 1024
    with serving(settings, encoder) as client:
        response = client.put(
            "/documents/zorg", content=body, headers={"Content-Type": "text/html"}
        )
        assert response.status_code == 200, response.text
        assert response.json()["name"] == "zorg.html"
        assert (settings.corpus_dir / "zorg.html").read_bytes() == body  # the original kept
        best = found(client, QUESTION)[0]
        assert best["source"] == "zorg.html"
        assert best["title"] == STORY.title
        assert best["url"] == PAGE_URL
        assert best["published"] == STORY.published.date().isoformat()
        assert (best["author"], best["language"], best["site"]) == (STORY.author, "fr", SITE_NAME)
        assert "analytics" not in client.get("/sources/zorg.html").json()["text"]
        listed = {d["name"]: d for d in client.get("/documents").json()["documents"]}
        metadata = {k: listed["zorg.html"][k] for k in ("url", "author", "language", "site")}
        assert metadata == {
            "url": PAGE_URL,
            "author": STORY.author,
            "language": "fr",
            "site": SITE_NAME,
        }
        # /search itself keeps its 64 KiB.
        big = client.post("/search", json={"question": "x" * 70_000})
        assert big.status_code == 413


@pytest.mark.parametrize(
    ("media_type", "body", "stored"),
    [
        ("text/markdown; charset=utf-8", markdown_version(STORY).encode(), "zorg.md"),
        ("application/pdf", pdf_version(STORY), "zorg.pdf"),
    ],
)
def test_markdown_and_pdf_are_articles_too(
    seeded: Settings,
    encoder: SentenceTransformerEncoder,
    tmp_path: Path,
    media_type: str,
    body: bytes,
    stored: str,
) -> None:
    settings = copy_of(seeded, tmp_path, admin_api_key="s3cret-admin")
    with serving(settings, encoder) as client:
        response = client.put("/documents/zorg", content=body, headers={"Content-Type": media_type})
        assert response.status_code == 200, response.text
        assert response.json()["name"] == stored
        best = found(client, QUESTION)[0]
        assert (best["source"], best["title"]) == (stored, STORY.title)


def test_another_kind_replaces_the_article_and_delete_finds_it_by_name(
    seeded: Settings, encoder: SentenceTransformerEncoder, tmp_path: Path
) -> None:
    settings = copy_of(seeded, tmp_path, admin_api_key="s3cret-admin")
    with serving(settings, encoder) as client:
        text = STORY.text.encode()
        assert client.put("/documents/zorg", content=text, headers=TEXT_TYPES).status_code == 200
        replaced = client.put(
            "/documents/zorg", content=page(), headers={"Content-Type": "text/html"}
        )
        assert replaced.status_code == 200, replaced.text
        assert not (settings.corpus_dir / "zorg.txt").exists()
        sources = [d["name"] for d in client.get("/documents").json()["documents"]]
        assert "zorg.html" in sources
        assert "zorg.txt" not in sources
        deleted = client.delete("/documents/zorg")
        assert deleted.status_code == 200, deleted.text
        assert deleted.json()["name"] == "zorg.html"
        assert not (settings.corpus_dir / "zorg.html").exists()


@pytest.mark.parametrize(
    ("media_type", "body", "reason"),
    [
        (
            "text/html",
            b"<html><body><nav><a href='/'>Accueil</a></nav></body></html>",
            "no article",
        ),
        ("application/pdf", b"%PDF-1.4\n%%EOF", "PDF"),
        ("text/html", b"", "no article"),
    ],
)
def test_a_page_with_no_article_is_refused_and_nothing_is_written(
    seeded: Settings,
    encoder: SentenceTransformerEncoder,
    tmp_path: Path,
    media_type: str,
    body: bytes,
    reason: str,
) -> None:
    settings = copy_of(seeded, tmp_path, admin_api_key="s3cret-admin")
    before = snapshot(settings.corpus_dir)
    with serving(settings, encoder) as client:
        response = client.put("/documents/zorg", content=body, headers={"Content-Type": media_type})
        assert response.status_code == 422, response.text
        assert response.json()["error"] == "invalid_document"
        assert reason in response.json()["detail"]
    assert snapshot(settings.corpus_dir) == before


def test_a_name_of_another_kind_is_refused(
    seeded: Settings, encoder: SentenceTransformerEncoder, tmp_path: Path
) -> None:
    settings = copy_of(seeded, tmp_path, admin_api_key="s3cret-admin")
    with serving(settings, encoder) as client:
        response = client.put(
            "/documents/zorg.pdf", content=page(), headers={"Content-Type": "text/html"}
        )
        assert response.status_code == 422
        assert "pdf" in response.json()["detail"]
