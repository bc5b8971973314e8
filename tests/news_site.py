"""A realistic local news site for the tests, built from the project's own texts.

The seed articles (`seeds/*.txt`, first line the title) and the dev set's documents are wrapped
in full news pages in three layouts (header, navigation, cookie banner, share buttons, "À lire
aussi" links, comments, footer, JSON-LD NewsArticle, OpenGraph, canonical link); `build_site`
writes them with a home page, an RSS and an Atom feed, a sitemap, a sitemap index, a Google News
sitemap, robots.txt, and a Markdown and a PDF version of each article. `SiteServer` (from
tests/news_server.py) serves the folder on 127.0.0.1. Plain helpers: no pytest fixtures here.
"""

from __future__ import annotations

import hashlib
import html
import json
import re
import unicodedata
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from functools import cache
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

from tests.conftest import ROOT, SEEDS
from tests.news_pages import (
    CHROME_PHRASES,
    LAYOUTS,
    SITE_NAME,
    french_date,
    is_heading,
    iso,
    news_page,
    paragraph_html,
)
from tests.news_server import Request, Route, SiteServer

__all__ = [
    "CHROME_PHRASES",
    "Article",
    "Request",
    "Route",
    "Site",
    "SitePage",
    "SiteServer",
    "build_site",
    "devset_articles",
    "markdown_version",
    "news_page",
    "pdf_version",
    "seed_articles",
    "sitemap",
    "sitemap_index",
]

# The dev set's copy in the repository: a clone has it wherever it is checked out.
DEVSET_DOCS = ROOT / "eval" / "piaf-dev" / "docs"
PARIS = timezone(timedelta(hours=1))
FIRST_DATE = datetime(2025, 3, 3, 7, 30, tzinfo=PARIS)
AUTHORS = ("Camille Martin", "Julien Moreau", "Sophie Lefèvre", "Karim Benali", "Élodie Garnier")


@dataclass(frozen=True)
class Article:
    """One article: `paragraphs` as written, a `• ` prefix marking a list item."""

    source: str  # the file it comes from, e.g. "000_0afdbc2315d05444.txt"
    title: str
    paragraphs: tuple[str, ...]
    published: datetime
    author: str
    section: str
    tags: tuple[str, ...]
    modified: datetime | None = None

    @property
    def slug(self) -> str:
        ascii_title = unicodedata.normalize("NFKD", self.title).encode("ascii", "ignore").decode()
        words = re.sub(r"[^a-z0-9]+", "-", ascii_title.lower()).strip("-")
        return f"{words[:60].rstrip('-')}-{hashlib.sha256(self.source.encode()).hexdigest()[:6]}"

    @property
    def updated(self) -> datetime:
        return self.modified or self.published

    @property
    def body(self) -> tuple[str, ...]:
        return tuple(paragraph.removeprefix("• ") for paragraph in self.paragraphs)

    @property
    def text(self) -> str:
        """What an extraction of any version should give back: title, then the paragraphs."""
        return "\n".join((self.title, *self.body))


def seed_articles() -> list[Article]:
    return [_article(path.name, *_title_and_rest(path), n) for n, path in _numbered(SEEDS)]


def devset_articles() -> list[Article]:
    """The dev set's documents: no title line, the file name is the title."""
    articles = [
        _article(path.name, path.stem.replace("_", " "), path.read_text("utf-8"), n, "Savoirs")
        for n, path in _numbered(DEVSET_DOCS)
    ]
    assert articles, f"no dev set document in {DEVSET_DOCS}"  # never a silently smaller site
    return articles


def _numbered(folder: Path) -> Iterator[tuple[int, Path]]:
    return enumerate(sorted(folder.glob("*.txt")))


def _title_and_rest(path: Path) -> tuple[str, str]:
    title, _, rest = path.read_text("utf-8").strip().partition("\n")
    return title.strip(), rest


def _article(source: str, title: str, rest: str, n: int, section: str = "Tech") -> Article:
    lines = (line.strip() for line in rest.splitlines())
    return Article(
        source=source,
        title=title,
        paragraphs=tuple(re.sub(r"^•\s*", "• ", line) for line in lines if line),
        published=FIRST_DATE + timedelta(hours=7 * n, minutes=13 * n),
        author=AUTHORS[n % len(AUTHORS)],
        section=section,
        tags=(section, title.split()[0].strip(",")),
    )


# --- Markdown and PDF versions ---------------------------------------------------------------


def markdown_version(article: Article) -> str:
    """The article as Markdown with a YAML front matter (title, date, author)."""
    lines = [
        "---",
        f"title: {json.dumps(article.title, ensure_ascii=False)}",
        f"date: {iso(article.published)}",
        f"author: {json.dumps(article.author, ensure_ascii=False)}",
        f"tags: {json.dumps(list(article.tags), ensure_ascii=False)}",
        "---",
        "",
        f"# {_markdown_escape(article.title)}",
    ]
    for paragraph in article.paragraphs:
        if paragraph.startswith("• "):
            lines += ["", f"- {_markdown_escape(paragraph[2:])}"]
        elif is_heading(paragraph):
            lines += ["", f"## {_markdown_escape(paragraph)}"]
        else:
            lines += ["", _markdown_escape(paragraph)]
    return "\n".join(lines) + "\n"


def _markdown_escape(text: str) -> str:
    """Backslashes before what Markdown would read as markup, and before a leading number
    that would start a list."""
    escaped = re.sub(r"([\\`*_\[\]<>#|])", r"\\\1", text)
    return re.sub(r"^(\d+)([.)])", r"\1\\\2", escaped)


def unicode_font() -> Path:
    """A TrueType font with the French accents and typographic quotes (DejaVu or Liberation)."""
    for name in ("DejaVuSans.ttf", "LiberationSans-Regular.ttf"):
        if found := sorted(Path("/usr/share/fonts").rglob(name)):
            return found[0]
    raise FileNotFoundError(
        "no DejaVuSans.ttf or LiberationSans-Regular.ttf under /usr/share/fonts"
    )


@cache  # about 70 ms an article: a rebuilt site does not make its PDFs again
def pdf_version(article: Article) -> bytes:
    """The article as a PDF with a text layer (fpdf2), same bytes for the same article."""
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    pdf.set_creation_date(article.updated)
    pdf.set_title(article.title)
    pdf.set_author(article.author)
    pdf.add_font("body", fname=str(unicode_font()))
    pdf.set_margins(20, 20, 20)
    pdf.add_page()
    pdf.set_font("body", size=16)
    pdf.multi_cell(0, 8, article.title, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    for paragraph in article.paragraphs:
        pdf.set_font("body", size=13 if is_heading(paragraph) else 11)
        pdf.multi_cell(0, 6, paragraph, new_x="LMARGIN", new_y="NEXT")
        pdf.ln(2)
    return bytes(pdf.output())


# --- Feeds and sitemaps ----------------------------------------------------------------------


def rss_feed(site: Site) -> str:
    items = "".join(
        f"<item><title>{escape(p.article.title)}</title><link>{escape(p.url)}</link>"
        f'<guid isPermaLink="true">{escape(p.url)}</guid>'
        f"<pubDate>{format_datetime(p.article.published)}</pubDate>"
        f"<dc:creator>{escape(p.article.author)}</dc:creator>"
        f"<category>{escape(p.article.section)}</category>"
        f"<description>{escape(p.article.body[0][:200])}</description>"
        f"<content:encoded>{escape(_html_body(p.article))}</content:encoded></item>"
        for p in site.listed
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0" '
        'xmlns:content="http://purl.org/rss/1.0/modules/content/" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:atom="http://www.w3.org/2005/Atom">'
        f"<channel><title>{escape(site.name)}</title><link>{site.base_url}/</link>"
        "<description>L'actualité du numérique</description><language>fr-FR</language>"
        f"<lastBuildDate>{format_datetime(site.updated)}</lastBuildDate>"
        f'<atom:link href="{site.rss_url}" rel="self" type="application/rss+xml"/>'
        f"{items}</channel></rss>\n"
    )


def atom_feed(site: Site) -> str:
    entries = "".join(
        f"<entry><title>{escape(p.article.title)}</title><id>{escape(p.url)}</id>"
        f'<link rel="alternate" type="text/html" href={quoteattr(p.url)}/>'
        f"<published>{iso(p.article.published)}</published>"
        f"<updated>{iso(p.article.updated)}</updated>"
        f"<author><name>{escape(p.article.author)}</name></author>"
        f"<summary>{escape(p.article.body[0][:200])}</summary>"
        f'<content type="html">{escape(_html_body(p.article))}</content></entry>'
        for p in site.listed
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="fr">'
        f"<title>{escape(site.name)}</title><id>{site.base_url}/</id>"
        f"<updated>{iso(site.updated)}</updated>"
        f'<link rel="self" href="{site.atom_url}"/><link href="{site.base_url}/"/>'
        f"{entries}</feed>\n"
    )


def _html_body(article: Article) -> str:
    return "".join(paragraph_html(paragraph, 0) for paragraph in article.paragraphs)


SITEMAP_NS = 'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"'


def sitemap(pages: Sequence[SitePage]) -> str:
    urls = "".join(
        f"<url><loc>{escape(p.url)}</loc><lastmod>{iso(p.article.updated)}</lastmod></url>"
        for p in pages
    )
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<urlset {SITEMAP_NS}>{urls}</urlset>\n'


def sitemap_index(children: Mapping[str, datetime]) -> str:
    entries = "".join(
        f"<sitemap><loc>{escape(url)}</loc><lastmod>{iso(lastmod)}</lastmod></sitemap>"
        for url, lastmod in children.items()
    )
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<sitemapindex {SITEMAP_NS}>{entries}'
        "</sitemapindex>\n"
    )


def news_sitemap(site: Site) -> str:
    urls = "".join(
        f"<url><loc>{escape(p.url)}</loc><news:news><news:publication>"
        f"<news:name>{escape(site.name)}</news:name><news:language>fr</news:language>"
        f"</news:publication><news:publication_date>{iso(p.article.published)}"
        f"</news:publication_date><news:title>{escape(p.article.title)}</news:title>"
        "</news:news></url>"
        for p in site.listed
    )
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<urlset {SITEMAP_NS} '
        f'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">{urls}</urlset>\n'
    )


def home_page(site: Site) -> str:
    """The front page: a list of links, no article on it."""
    teasers = "".join(
        f'<li><a href="{html.escape(p.url)}">{html.escape(p.article.title)}</a> '
        f"<span>{french_date(p.article.published)}</span></li>"
        for p in site.pages
    )
    name = html.escape(site.name)
    return (
        f'<!DOCTYPE html>\n<html lang="fr"><head><meta charset="utf-8"><title>{name}</title>'
        f'</head><body><header><a href="/">{name}</a></header>'
        f"<main><h1>À la une</h1><ul>{teasers}</ul></main></body></html>\n"
    )


def robots_txt(site: Site) -> str:
    return (
        "User-agent: *\nDisallow: /brouillons/\nDisallow: /recherche\n\n"
        "User-agent: GPTBot\nDisallow: /\n\n"
        f"Sitemap: {site.sitemap_index_url}\nSitemap: {site.news_sitemap_url}\n"
    )


# --- The site ------------------------------------------------------------------------------


@dataclass(frozen=True)
class SitePage:
    article: Article
    url: str  # the page's canonical URL
    path: str  # its URL path
    layout: int
    markdown_url: str
    pdf_url: str | None


@dataclass(frozen=True)
class Site:
    folder: Path
    base_url: str
    pages: tuple[SitePage, ...]  # the published articles
    drafts: tuple[SitePage, ...]  # under /brouillons/, which robots.txt disallows
    name: str = SITE_NAME

    @property
    def listed(self) -> tuple[SitePage, ...]:
        """What the feeds and sitemaps list: the articles and the drafts."""
        return self.pages + self.drafts

    @property
    def updated(self) -> datetime:
        return max(p.article.updated for p in self.listed)

    def url(self, path: str) -> str:
        return f"{self.base_url}{path}"

    rss_url = property(lambda self: self.url("/rss.xml"))
    atom_url = property(lambda self: self.url("/atom.xml"))
    sitemap_url = property(lambda self: self.url("/sitemap.xml"))
    sitemap_index_url = property(lambda self: self.url("/sitemap_index.xml"))
    news_sitemap_url = property(lambda self: self.url("/news-sitemap.xml"))
    robots_url = property(lambda self: self.url("/robots.txt"))

    @property
    def child_sitemap_urls(self) -> tuple[str, str]:
        return self.url("/sitemaps/pages-1.xml"), self.url("/sitemaps/pages-2.xml")

    def page(self, source: str) -> SitePage:
        return next(p for p in self.listed if p.article.source == source)


def build_site(
    folder: Path,
    articles: Sequence[Article],
    *,
    base_url: str,
    drafts: Sequence[Article] = (),
    pdf: bool = True,
) -> Site:
    """Writes the site into `folder` for `base_url` (the server's, e.g. "http://127.0.0.1:PORT")
    and returns its map. Building again with the same articles writes nothing (ETag and
    Last-Modified stay); a changed article rewrites its page and what lists it."""
    base_url = base_url.rstrip("/")

    def place(article: Article, n: int, section_path: str) -> SitePage:
        path = f"/{section_path}/{article.published:%Y/%m/%d}/{article.slug}/"
        return SitePage(
            article=article,
            url=base_url + path,
            path=path,
            layout=n % LAYOUTS,
            markdown_url=f"{base_url}/md/{article.slug}.md",
            pdf_url=f"{base_url}/pdf/{article.slug}.pdf" if pdf else None,
        )

    site = Site(
        folder=folder,
        base_url=base_url,
        pages=tuple(place(a, n, _ascii(a.section)) for n, a in enumerate(articles)),
        drafts=tuple(place(a, n, "brouillons") for n, a in enumerate(drafts)),
    )
    for n, page in enumerate(site.listed):
        others = [site.listed[(n + step) % len(site.listed)] for step in (1, 2, 3)]
        related = [(o.article.title, o.url) for o in others if o is not page]
        a = page.article
        _write(
            folder / page.path.strip("/") / "index.html",
            news_page(
                a.title,
                a.paragraphs,
                url=page.url,
                published=a.published,
                author=a.author,
                site=site.name,
                layout=page.layout,
                section=a.section,
                tags=a.tags,
                modified=a.modified,
                related=related,
            ),
        )
        _write(folder / "md" / f"{a.slug}.md", markdown_version(a))
        if pdf:
            _write(folder / "pdf" / f"{a.slug}.pdf", pdf_version(a))
    half = (len(site.listed) + 1) // 2
    children = (site.listed[:half], site.listed[half:])
    for url, pages in zip(site.child_sitemap_urls, children, strict=True):
        _write(folder / url.removeprefix(base_url + "/"), sitemap(pages))
    lastmods = {
        url: max(p.article.updated for p in pages)
        for url, pages in zip(site.child_sitemap_urls, children, strict=True)
        if pages
    }
    _write(
        folder / "sitemap_index.xml",
        sitemap_index(lastmods | {site.news_sitemap_url: site.updated}),
    )
    _write(folder / "sitemap.xml", sitemap(site.listed))
    _write(folder / "news-sitemap.xml", news_sitemap(site))
    _write(folder / "rss.xml", rss_feed(site))
    _write(folder / "atom.xml", atom_feed(site))
    _write(folder / "robots.txt", robots_txt(site))
    _write(folder / "index.html", home_page(site))
    return site


def build_with_draft(
    server: SiteServer,
    chosen: Sequence[Article],
    published: Sequence[Article] | None = None,
    *,
    pdf: bool = True,
) -> Site:
    """The site of `chosen` on `server`: every article but the last, which is a draft (robots.txt
    disallows it); `published` stands for the others when given."""
    return build_site(
        server.folder,
        chosen[:-1] if published is None else published,
        base_url=server.base_url,
        drafts=chosen[-1:],
        pdf=pdf,
    )


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()


def _write(path: Path, content: str | bytes) -> None:
    """Writes only what changed, so that an unchanged file keeps its Last-Modified."""
    data = content.encode("utf-8") if isinstance(content, str) else content
    if path.exists() and path.read_bytes() == data:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
