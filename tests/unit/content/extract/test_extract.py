"""The extractors on real bytes: web pages, PDF written by fpdf2, Markdown with front matter."""

from __future__ import annotations

from datetime import date

import pytest
from fpdf import FPDF

from qa.content.extract import decode, extract, kind_of
from qa.content.extract.pdf import reflow
from qa.errors import ExtractionError

PARAGRAPHS = [
    "Le conseil municipal de Lyon a voté mardi un budget de 1,2 milliard d'euros pour 2025, "
    "en hausse de 4 % sur un an, après un débat de six heures.",
    "La majorité écologiste défend des investissements dans les transports et les écoles, "
    "tandis que l'opposition dénonce une dette qui atteindrait 900 millions d'euros en 2026.",
    "Le maire a promis que les impôts locaux ne seraient pas augmentés cette année.",
]
TITLE = "Lyon vote un budget en hausse de 4 %"


def news_page(*, charset: str = "utf-8") -> str:
    body = "".join(f"<p>{p}</p>" for p in PARAGRAPHS)
    return f"""<!DOCTYPE html><html lang="fr"><head><meta charset="{charset}">
<title>{TITLE} | Le Progrès de test</title>
<meta property="og:title" content="{TITLE}">
<meta property="og:site_name" content="Le Progrès de test">
<link rel="canonical" href="https://journal.example/lyon/budget-2025">
<script type="application/ld+json">{{"@context": "https://schema.org", "@type": "NewsArticle",
"headline": "{TITLE}", "datePublished": "2025-02-11T18:30:00+01:00",
"author": {{"@type": "Person", "name": "Claire Martin"}}}}</script></head>
<body><header><nav><a href="/">Accueil</a><a href="/lyon">Lyon</a><a href="/sport">Sport</a></nav>
</header><div class="cookies">Ce site utilise des cookies. <button>Tout accepter</button></div>
<main><article><h1>{TITLE}</h1>{body}
<div class="share">Partager sur Facebook - Partager sur X</div>
<aside><h2>À lire aussi</h2><ul><li><a href="/a">Le métro prolongé jusqu'à Vaulx</a></li>
<li><a href="/b">Les Bouchons ferment en août</a></li></ul></aside></article>
<section class="comments"><h2>Commentaires</h2><p>Toto69 : scandaleux, encore des impôts !</p>
</section></main><footer>© 2025 Le Progrès de test - Mentions légales - Contact</footer>
</body></html>"""


def test_a_news_page_gives_its_article_and_metadata_without_the_page_around_it() -> None:
    page = extract(news_page().encode(), "html", url="https://journal.example/x?utm=1")
    assert page.title == TITLE
    assert page.text.splitlines() == PARAGRAPHS
    assert page.article.startswith(f"{TITLE}\n\n{PARAGRAPHS[0]}")
    for boilerplate in ("Accueil", "cookies", "Partager", "lire aussi", "Toto69", "Mentions"):
        assert boilerplate not in page.article
    assert page.published == date(2025, 2, 11)
    assert page.author == "Claire Martin"
    assert page.url == "https://journal.example/lyon/budget-2025"
    assert page.site == "Le Progrès de test"
    assert page.language == "fr"


def test_a_page_in_latin_1_is_decoded_by_its_declaration() -> None:
    data = news_page(charset="iso-8859-1").encode("latin-1")
    assert extract(data, "html").text.splitlines() == PARAGRAPHS
    # Declared by the transport instead (the Content-Type's charset).
    plain = news_page(charset="iso-8859-1").replace('<meta charset="iso-8859-1">', "")
    assert extract(plain.encode("latin-1"), "html", charset="latin-1").title == TITLE


def test_a_page_with_no_article_is_refused_with_its_reason() -> None:
    page = b"<!doctype html><html><body><nav><a href='/'>Accueil</a></nav></body></html>"
    with pytest.raises(ExtractionError, match="no article text"):
        extract(page, "html")


def pdf_of(paragraphs: list[str], *, title: str | None = None) -> bytes:
    document = FPDF()
    if title:
        document.set_title(title)
    document.set_author("Claire Martin")
    document.set_creation_date(__import__("datetime").datetime(2025, 2, 11))
    document.add_page()
    document.set_font("helvetica", size=11)
    for paragraph in paragraphs:
        document.multi_cell(0, 6, paragraph, new_x="LMARGIN", new_y="NEXT")
        document.ln(4)
    return bytes(document.output())


def test_a_pdf_gives_its_paragraphs_in_order_and_its_metadata() -> None:
    long = [" ".join([p] * 3) for p in PARAGRAPHS]  # several lines each
    article = extract(pdf_of(long, title=TITLE), "pdf")
    assert article.title == TITLE
    # Every word in page order; lines joined back (a paragraph whose last line is full may run
    # into the next: the text layer has no paragraph marks).
    assert " ".join(article.text.split()) == " ".join(long)
    assert len(article.text.splitlines()) >= 2
    assert article.author == "Claire Martin"
    assert article.published == date(2025, 2, 11)
    assert article.language == "fr"


def test_a_pdf_without_a_title_field_takes_its_heading_line() -> None:
    article = extract(pdf_of([TITLE, *PARAGRAPHS]), "pdf")
    assert article.title == TITLE
    assert article.text.splitlines()[0] == PARAGRAPHS[0]


def test_a_pdf_with_no_text_layer_is_refused_as_a_scan() -> None:
    document = FPDF()
    document.add_page()
    document.rect(20, 20, 100, 60, style="F")  # a page of graphics only, as a scan is
    with pytest.raises(ExtractionError, match="no text layer"):
        extract(bytes(document.output()), "pdf")


def test_bytes_that_are_not_a_pdf_are_refused_in_one_line() -> None:
    with pytest.raises(ExtractionError, match="not a readable PDF"):
        extract(b"%PDF-1.7\n garbage", "pdf")


def test_reflow_joins_lines_and_hyphenated_words_and_ends_short_lines() -> None:
    lines = [
        "Le conseil municipal a voté mardi un budget en hausse, après un débat",
        "de six heures dans la salle du conseil, où les élus ont longue-",
        "ment discuté des transports.",
        "",
        "Un second paragraphe commence ici et il se poursuit sur la ligne",
        "suivante.",
    ]
    assert reflow(lines) == [
        "Le conseil municipal a voté mardi un budget en hausse, après un débat de six heures "
        "dans la salle du conseil, où les élus ont longue-ment discuté des transports.",
        "Un second paragraphe commence ici et il se poursuit sur la ligne suivante.",
    ]


MARKDOWN = """---
title: Lyon vote son budget
date: 2025-02-11
author: Claire Martin
tags: [Lyon, budget]
lang: fr
---
# Un titre de section

Le conseil **municipal** a voté [un budget](https://example.org) de `1,2 milliard`.

- les transports
- les écoles

```python
print("du code n'est pas de la prose")
```
"""


def test_markdown_gives_its_front_matter_and_its_text_without_markup() -> None:
    article = extract(MARKDOWN.encode(), "markdown")
    assert article.title == "Lyon vote son budget"
    assert article.published == date(2025, 2, 11)
    assert article.author == "Claire Martin"
    assert article.tags == ("Lyon", "budget")
    assert article.language == "fr"
    assert article.text.splitlines() == [
        "Un titre de section",
        "Le conseil municipal a voté un budget de 1,2 milliard.",
        "les transports",
        "les écoles",
    ]


def test_markdown_without_front_matter_takes_its_first_heading_as_title() -> None:
    article = extract(b"# Le titre\n\nUn paragraphe qui dit quelque chose.\n", "markdown")
    assert (article.title, article.text) == ("Le titre", "Un paragraphe qui dit quelque chose.")


@pytest.mark.parametrize(
    ("data", "declared", "kind"),
    [
        (b"%PDF-1.7 ...", "text/html", "pdf"),  # the bytes win over the declaration
        (b"  <!DOCTYPE html><html>", "text/plain", "html"),
        (b"<!-- a comment -->\n<html lang='fr'>", None, "html"),
        (b"---\ntitle: x\n---\ntext", "application/octet-stream", "markdown"),
        (b"# Title\n\ntext", ".md", "markdown"),
        (b"# Title\n\ntext", "text/markdown; charset=utf-8", "markdown"),
        (b"Plain words.", None, "text"),
        (b"\x89PNG\r\n", "image/png", None),
    ],
)
def test_the_kind_is_told_by_the_bytes_then_by_the_declaration(
    data: bytes, declared: str | None, kind: str | None
) -> None:
    assert kind_of(data, declared) == kind


def test_decoding_follows_the_declaration_then_utf8_then_a_guess() -> None:
    text = "Les élèves ont reçu leur diplôme à Besançon, où il a neigé toute la journée."
    assert decode(text.encode("cp1252"), "windows-1252") == text
    assert decode(text.encode("utf-8"), "latin-1-but-wrong") == text  # unknown codec: bytes
    assert decode(b"\xef\xbb\xbf" + text.encode()) == text
    assert decode(text.encode("latin-1")) == text  # undeclared: charset-normalizer's guess
