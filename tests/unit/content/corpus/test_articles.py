"""A corpus folder of pages, Markdown, PDF and text files: each read as its article, with the
metadata its file holds under what its sidecar says, extracted once (the cache)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from qa.content.corpus import articles
from qa.content.corpus.articles import ExtractionCache
from qa.content.corpus.ingest import load_corpus
from tests.news_site import markdown_version, news_page, pdf_version, seed_articles

ARTICLE = seed_articles()[1]
PAGE_URL = "https://gazette.example/tech/article/"


def page_html() -> str:
    return news_page(
        ARTICLE.title,
        ARTICLE.paragraphs,
        url=PAGE_URL,
        published=ARTICLE.published,
        author=ARTICLE.author,
        tags=ARTICLE.tags,
    )


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "page.html").write_text(page_html(), encoding="utf-8")
    (folder / "notes.md").write_text(markdown_version(ARTICLE), encoding="utf-8")
    (folder / "report.pdf").write_bytes(pdf_version(ARTICLE))
    (folder / "plain.txt").write_text(ARTICLE.text, encoding="utf-8")
    return folder


def test_every_kind_of_file_is_read_as_its_article(corpus: Path) -> None:
    loaded = {document.name: document for document in load_corpus(corpus).documents}
    assert sorted(loaded) == ["notes.md", "page.html", "plain.txt", "report.pdf"]
    for document in loaded.values():
        assert " ".join(document.text.split()) == " ".join(ARTICLE.text.split()), document.name
        assert document.metadata.language == "fr"
    # The seeds' first lines are sentences, not headlines: only a file that names its title
    # has it whole.
    assert {loaded[name].title for name in ("notes.md", "page.html", "report.pdf")} == {
        ARTICLE.title
    }
    page = loaded["page.html"].metadata
    assert (page.url, page.published, page.author) == (
        PAGE_URL,
        ARTICLE.published.date(),
        ARTICLE.author,
    )
    assert page.site == "La Gazette du Numérique"
    assert loaded["notes.md"].metadata.tags == ARTICLE.tags
    assert loaded["report.pdf"].metadata.author == ARTICLE.author
    # Offsets index the extracted text: each block is a line of it.
    page_text = loaded["page.html"]
    assert page_text.block_text(page_text.blocks[0]) == ARTICLE.title


def test_the_sidecar_says_more_than_the_file(corpus: Path) -> None:
    sidecar = {"url": "https://autre.example/a", "published": "2020-01-02", "site": "Autre"}
    (corpus / "page.meta.json").write_text(json.dumps(sidecar), encoding="utf-8")
    page = {d.name: d for d in load_corpus(corpus).documents}["page.html"].metadata
    assert (page.url, page.published, page.site) == (
        "https://autre.example/a",
        date(2020, 1, 2),
        "Autre",
    )
    assert page.author == ARTICLE.author  # what the sidecar does not say, the page does


def test_two_files_of_one_name_are_one_too_many(corpus: Path) -> None:
    (corpus / "page.txt").write_text(ARTICLE.text, encoding="utf-8")
    loaded = load_corpus(corpus)
    assert "page.html" in {d.name for d in loaded.documents}
    skipped = {s.name: s.reason for s in loaded.skipped}
    assert skipped == {"page.txt": "page.html has the same name: one article file a name"}


def test_a_file_with_no_article_is_skipped_with_why(corpus: Path) -> None:
    (corpus / "scan.pdf").write_bytes(b"%PDF-1.4 not really a pdf")
    (corpus / "menu.html").write_text("<html><body><nav>Accueil</nav></body></html>", "utf-8")
    skipped = {s.name: s.reason for s in load_corpus(corpus).skipped}
    assert skipped["scan.pdf"].startswith("not a readable PDF")
    assert skipped["menu.html"].startswith("no article text in the page")


def test_control_characters_of_an_extracted_text_are_dropped(corpus: Path) -> None:
    paragraphs = [f"{ARTICLE.body[0]}\x07 Fin\x00.", *ARTICLE.body[1:]]
    html = news_page(
        "Un titre\x1b", paragraphs, url=PAGE_URL, published=ARTICLE.published, author="A"
    )
    (corpus / "page.html").write_text(html, encoding="utf-8")
    page = {d.name: d for d in load_corpus(corpus).documents}["page.html"]
    assert not any(ord(c) < 32 and c not in "\n\t" for c in page.text)
    assert page.title == "Un titre"


def test_files_are_extracted_once_then_from_the_cache(
    corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []
    real = articles.extract

    def counted(data: bytes, kind: str, **kwargs: object) -> object:
        calls.append(kind)
        return real(data, kind, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(articles, "extract", counted)
    folder = tmp_path / "extracted"
    first = load_corpus(corpus, cache=ExtractionCache(folder))
    assert sorted(calls) == ["html", "markdown", "pdf"]
    calls.clear()
    cache = ExtractionCache(folder)
    again = load_corpus(corpus, cache=cache)
    assert calls == []
    assert again.documents == first.documents
    # A changed file is extracted again; the entry of its old bytes is pruned.
    (corpus / "notes.md").write_text(markdown_version(ARTICLE) + "\nUne ligne de plus.\n", "utf-8")
    cache = ExtractionCache(folder)
    load_corpus(corpus, cache=cache)
    assert calls == ["markdown"]
    cache.prune()
    assert len(list(folder.iterdir())) == 4  # one entry per file of the corpus
    # Another version of the extractors (a library upgrade) extracts everything again.
    monkeypatch.setattr(articles, "EXTRACTION_VERSION", "trafilatura=99")
    calls.clear()
    load_corpus(corpus, cache=ExtractionCache(folder))
    assert sorted(calls) == ["html", "markdown", "pdf"]


def test_a_half_written_cache_entry_is_extracted_again(corpus: Path, tmp_path: Path) -> None:
    folder = tmp_path / "extracted"
    expected = load_corpus(corpus, cache=ExtractionCache(folder)).documents
    for entry in folder.iterdir():
        entry.write_bytes(entry.read_bytes()[:20])
    assert load_corpus(corpus, cache=ExtractionCache(folder)).documents == expected
