"""Extraction quality on realistic pages: every seed article and dev-set document wrapped in a
full news page (three layouts), as Markdown and as PDF (tests/news_site.py). What is extracted
must be the article: 4-word-shingle F1 against the original text at least MIN_F1 on every page,
none of the page's chrome (navigation, banners, sharing, related links, comments, footer), and
the page's metadata."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

import pytest

from qa.content.extract import Extracted, extract
from tests.news_site import (
    CHROME_PHRASES,
    Article,
    devset_articles,
    markdown_version,
    news_page,
    pdf_version,
    seed_articles,
)

MIN_F1 = 0.95
ARTICLES = seed_articles() + devset_articles()


def shingles(text: str, size: int = 4) -> Counter[tuple[str, ...]]:
    words = text.split()
    return Counter(tuple(words[i : i + size]) for i in range(len(words) - size + 1))


def shingle_f1(extracted: str, original: str) -> float:
    got, wanted = shingles(extracted), shingles(original)
    common = sum((got & wanted).values())
    if not common:
        return 0.0
    precision, recall = common / sum(got.values()), common / sum(wanted.values())
    return 2 * precision * recall / (precision + recall)


def page_of(article: Article, layout: int) -> bytes:
    return news_page(
        article.title,
        article.paragraphs,
        url=f"https://gazette.example/{article.slug}/",
        published=article.published,
        author=article.author,
        layout=layout,
        section=article.section,
        tags=article.tags,
        related=[("Un autre article", "https://gazette.example/autre/")],
    ).encode("utf-8")


def check(extracted: Extracted, article: Article) -> float:
    f1 = shingle_f1(extracted.article, article.text)
    leaked = [phrase for phrase in CHROME_PHRASES if phrase in extracted.article]
    assert leaked == [], f"{article.source}: page chrome in the extraction: {leaked}"
    assert extracted.title == article.title
    first_line = extracted.text.partition("\n")[0]
    assert first_line != article.title, f"{article.source}: the title twice"
    return f1


@pytest.mark.parametrize("layout", [0, 1, 2])
def test_web_pages_give_the_article_and_its_metadata(layout: int) -> None:
    scores = {}
    for article in ARTICLES:
        page = extract(page_of(article, layout), "html")
        scores[article.source] = check(page, article)
        assert page.published == article.published.date(), article.source
        assert page.author == article.author, article.source
        assert page.url == f"https://gazette.example/{article.slug}/"
        assert page.site == "La Gazette du Numérique"
        assert page.language == "fr", article.source
    low = {name: round(f1, 3) for name, f1 in scores.items() if f1 < MIN_F1}
    assert low == {}, f"layout {layout}: shingle F1 under {MIN_F1}: {low}"


def test_markdown_versions_give_the_article() -> None:
    for article in ARTICLES:
        document = extract(markdown_version(article).encode(), "markdown")
        assert check(document, article) >= MIN_F1, article.source
        assert document.published == article.published.date()


def test_pdf_versions_give_the_article() -> None:
    for article in ARTICLES:
        document = extract(pdf_version(article), "pdf")
        assert check(document, article) >= MIN_F1, article.source
        assert document.author == article.author
        assert document.published == (article.modified or article.published).date()


def test_the_metric_tells_a_bad_extraction() -> None:
    article = ARTICLES[0]
    half = "\n".join(article.text.splitlines()[: len(article.text.splitlines()) // 2])
    assert shingle_f1(article.text, article.text) == 1.0
    assert shingle_f1(half, article.text) < MIN_F1
    assert shingle_f1(article.text + " Accueil International Économie" * 200, article.text) < MIN_F1
    assert isinstance(article.published, datetime)
