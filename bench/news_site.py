"""A local news site for the ingestion benchmark, generated from real French text (the seeds
and the dev set's documents): each page a distinct article (a few paragraphs of one source
article, one of another, under its own headline) in a full news page (navigation, cookie
banner, share buttons, "À lire aussi" links, comments, footer, JSON-LD and OpenGraph metadata,
canonical link), a sitemap with `lastmod` and a robots.txt; served over HTTP/1.1 on 127.0.0.1
from a thread, with Last-Modified (304 to If-Modified-Since), counting the requests."""

from __future__ import annotations

import hashlib
import html
import json
import random
import re
import threading
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any
from xml.sax.saxutils import escape

SITE_NAME = "Le Quotidien du Banc d'Essai"
FIRST_DATE = datetime(2025, 1, 6, 6, 0, tzinfo=UTC)
OWN_PARAGRAPHS = 3  # from the page's source article; one more from another
MIN_WORDS = 12  # a paragraph shorter than this is a heading or boilerplate: not taken
TITLE_WORDS = 50  # a first line this long or longer is a paragraph, not a title
SWAPPED = 0.17  # about one word in six, past the first round of pages


@dataclass(frozen=True)
class Source:
    title: str
    paragraphs: tuple[str, ...]


def read_sources(folders: list[Path]) -> list[Source]:
    """The articles of the folders' `.txt` files: the first of several lines is the title (a
    seed), a file of one paragraph (a dev-set document) is titled after its name."""
    sources = []
    for folder in folders:
        for path in sorted(folder.glob("*.txt")):
            lines = [line.strip() for line in path.read_text("utf-8").splitlines() if line.strip()]
            titled = len(lines) > 1 and len(lines[0].split()) < TITLE_WORDS
            title = lines[0] if titled else path.stem.replace("_", " ")
            body = [line for line in lines[titled:] if len(line.split()) >= MIN_WORDS]
            if body:
                sources.append(Source(title, tuple(body)))
    return sources


@dataclass(frozen=True)
class Page:
    path: str
    title: str
    paragraphs: tuple[str, ...]
    published: datetime


def pages_of(sources: list[Source], count: int) -> list[Page]:
    """`count` distinct articles: page n takes OWN_PARAGRAPHS consecutive paragraphs of source
    n mod len(sources), a round further each time round, and one paragraph of another. In the
    borrowed paragraph, and in every paragraph past the first round, about one word in six is
    swapped for another of the sources' words, so that pages hardly repeat each other's
    sentences (which would flatter an indexer that embeds each distinct text once)."""
    vocabulary = sorted(
        {w for source in sources for p in source.paragraphs for w in re.findall(r"\w{4,}", p)}
    )
    pages = []
    for number in range(count):
        source = sources[number % len(sources)]
        round_ = number // len(sources)
        start = round_ * OWN_PARAGRAPHS
        own = [source.paragraphs[(start + i) % len(source.paragraphs)] for i in range(3)]
        variant = random.Random(number)
        if round_:
            own = [_vary(paragraph, variant, vocabulary) for paragraph in own]
        other = sources[(number * 7 + 3) % len(sources)]
        own.append(_vary(other.paragraphs[round_ % len(other.paragraphs)], variant, vocabulary))
        title = source.title if round_ == 0 else f"{source.title} (suite {round_})"
        path = f"/articles/{number:05d}-{_slug(title)}/"
        published = FIRST_DATE + timedelta(hours=3 * number)
        pages.append(Page(path, title, tuple(dict.fromkeys(own)), published))
    return pages


def _vary(text: str, variant: random.Random, vocabulary: list[str]) -> str:
    def swap(word: re.Match[str]) -> str:
        return variant.choice(vocabulary) if variant.random() < SWAPPED else word[0]

    return re.sub(r"\w{4,}", swap, text)


def _slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text).strip("-")[:60].rstrip("-")


def write_site(folder: Path, base_url: str, pages: list[Page]) -> None:
    """Each page, the sitemap listing them with their dates, and a robots.txt."""
    for number, page in enumerate(pages):
        related = [pages[(number + step) % len(pages)] for step in (1, 2, 3)]
        target = folder / page.path.strip("/") / "index.html"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(news_page(base_url, page, related), encoding="utf-8")
    urls = "".join(
        f"<url><loc>{escape(base_url + p.path)}</loc>"
        f"<lastmod>{p.published.isoformat()}</lastmod></url>"
        for p in pages
    )
    (folder / "sitemap.xml").write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>\n',
        encoding="utf-8",
    )
    (folder / "robots.txt").write_text(
        f"User-agent: *\nDisallow: /recherche\n\nSitemap: {base_url}/sitemap.xml\n",
        encoding="utf-8",
    )


def news_page(base_url: str, page: Page, related: list[Page]) -> str:
    e = html.escape
    url = base_url + page.path
    metadata = json.dumps(
        {
            "@context": "https://schema.org",
            "@type": "NewsArticle",
            "headline": page.title,
            "datePublished": page.published.isoformat(),
            "author": {"@type": "Person", "name": "La rédaction"},
            "publisher": {"@type": "Organization", "name": SITE_NAME},
            "mainEntityOfPage": url,
        },
        ensure_ascii=False,
    )
    body = "".join(f"<p>{e(paragraph)}</p>" for paragraph in page.paragraphs)
    links = "".join(f'<li><a href="{e(base_url + r.path)}">{e(r.title)}</a></li>' for r in related)
    comment_id = hashlib.sha256(page.path.encode()).hexdigest()[:8]
    return f"""<!DOCTYPE html>
<html lang="fr"><head><meta charset="utf-8"><title>{e(page.title)} | {e(SITE_NAME)}</title>
<link rel="canonical" href="{e(url)}">
<meta property="og:type" content="article"><meta property="og:url" content="{e(url)}">
<meta property="og:title" content="{e(page.title)}">
<meta property="og:site_name" content="{e(SITE_NAME)}">
<script type="application/ld+json">{metadata}</script></head>
<body><div class="cookies">Nous utilisons des cookies pour mesurer l'audience.
<button>Tout accepter</button><button>Paramétrer</button></div>
<header><a href="/">{e(SITE_NAME)}</a><nav><a href="/economie/">Économie</a>
<a href="/tech/">Tech</a><a href="/savoirs/">Savoirs</a><a href="/abonnement/">S'abonner</a>
</nav></header>
<main><article><h1>{e(page.title)}</h1>
<p class="byline">Par La rédaction, publié le <time datetime="{page.published.isoformat()}">
{page.published:%d/%m/%Y à %H:%M}</time></p>{body}
<div class="share">Partager : <a href="#">Facebook</a> <a href="#">X</a>
<a href="#">LinkedIn</a> <a href="#">Copier le lien</a></div></article>
<aside class="read-also"><strong>À lire aussi</strong><ul>{links}</ul></aside>
<section class="comments" id="c{comment_id}"><h2>Commentaires</h2>
<p>Merci pour cet article très clair, j'attends la suite avec impatience.</p>
<p>Connectez-vous pour réagir.</p></section></main>
<footer>© {e(SITE_NAME)} — Mentions légales — Contact — Plan du site</footer></body></html>
"""


class LocalSite:
    """A folder served on 127.0.0.1 (a free port) from a thread; `requests` are the paths
    asked, in order. Use as a context manager."""

    def __init__(self, folder: Path) -> None:
        self.requests: list[str] = []
        handler = partial(_Handler, directory=str(folder), log=self.requests)
        self._http = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._http.daemon_threads = True
        self._thread = threading.Thread(target=self._http.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._http.server_address[1]}"

    def __enter__(self) -> LocalSite:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType
    ) -> None:
        self._http.shutdown()
        self._http.server_close()
        self._thread.join(timeout=5)


class _Handler(SimpleHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # kept-alive connections, as a real site's

    def __init__(self, *args: Any, log: list[str], **kwargs: Any) -> None:
        self._log = log
        super().__init__(*args, **kwargs)

    def send_head(self) -> Any:
        self._log.append(self.path)
        return super().send_head()

    def log_message(self, format: str, *args: object) -> None:  # quiet
        pass
