"""The pages of the test news site: one article in a full news page, in one of three layouts
(header, navigation, cookie banner, share buttons, "À lire aussi" links, comments, footer,
JSON-LD NewsArticle, OpenGraph, canonical link), so that extraction is not tuned to one
template. tests/news_site.py builds the site out of them."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Sequence
from datetime import datetime

SITE_NAME = "La Gazette du Numérique"
LAYOUTS = 3
# Text of the pages' chrome (navigation, cookie banner, sharing, related links, comments,
# sidebar, footer): none of it is in any article, so none of it belongs in an extraction.
CHROME_PHRASES = (
    "Nous utilisons des cookies",
    "Accepter et fermer",
    "Partager sur Facebook",
    "Copier le lien",
    "À lire aussi",
    "Lire également",
    "Les plus lus",
    "Recevez notre lettre quotidienne",
    "Réagissez à cet article",
    "Franchement, encore un article sur les puces",
    "Merci pour cet éclairage très complet",
    "Quelqu'un a la source du chiffre",
    "Tous droits réservés",
    "Mentions légales",
)
COMMENTS = (
    ("Pierre_du_13", "Franchement, encore un article sur les puces, on en a fait le tour non ?"),
    ("Mireille L.", "Merci pour cet éclairage très complet, je partage autour de moi."),
    ("techno-sceptique", "Quelqu'un a la source du chiffre cité au troisième paragraphe ?"),
)
NAVIGATION = ("Accueil", "International", "Économie", "Tech", "Culture", "Savoirs", "Vidéos")


def is_heading(paragraph: str) -> bool:
    return len(paragraph) < 60 and not re.search(r"[.!?:;»)…•]$|^•", paragraph)


def iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def french_date(moment: datetime) -> str:
    months = "janvier février mars avril mai juin juillet août septembre octobre novembre décembre"
    return f"{moment.day} {months.split()[moment.month - 1]} {moment.year} à {moment:%Hh%M}"


def news_page(
    title: str,
    paragraphs: Sequence[str],
    *,
    url: str,
    published: datetime,
    author: str,
    site: str = SITE_NAME,
    layout: int = 0,
    section: str = "Tech",
    tags: Sequence[str] = (),
    modified: datetime | None = None,
    related: Sequence[tuple[str, str]] = (),
) -> str:
    """One article in a full news page, in one of LAYOUTS templates; `related` are the
    (title, url) of the "À lire aussi" links."""
    e = html.escape
    blocks = [paragraph_html(paragraph, layout) for paragraph in paragraphs]
    related_links = "".join(f'<li><a href="{e(u)}">{e(t)}</a></li>' for t, u in related)
    read_also = (
        f'<aside class="read-also"><strong>À lire aussi</strong><ul>{related_links}</ul></aside>'
    )
    middle = min(2, len(blocks))
    share = (
        '<div class="share">Partager : <a href="#" class="fb">Partager sur Facebook</a> '
        '<a href="#">X</a> <a href="#">LinkedIn</a> <button>Copier le lien</button></div>'
    )
    comments = "".join(
        f'<div class="comment"><p class="comment-author">{e(name)}</p><p>{e(text)}</p></div>'
        for name, text in COMMENTS
    )
    time_tag = f'<time datetime="{iso(published)}">{french_date(published)}</time>'
    tag_links = "".join(f'<a href="/tag/{e(t.lower())}/" rel="tag">{e(t)}</a> ' for t in tags)
    if layout % LAYOUTS == 0:
        main = (
            f'<main><article class="article"><header><p class="kicker">{e(section)}</p>'
            f'<h1>{e(title)}</h1><p class="byline">Par <a rel="author" href="/auteurs/">'
            f"{e(author)}</a> · {time_tag}</p></header>{share}"
            f'<div class="article-body">{"".join(blocks[:middle])}{read_also}'
            f'{"".join(blocks[middle:])}</div><footer class="tags">Mots-clés : {tag_links}'
            f'</footer></article><section id="comments"><h2>Commentaires (3)</h2>'
            f"<p>Réagissez à cet article</p>{comments}</section></main>"
        )
    elif layout % LAYOUTS == 1:
        inline = (
            f'<p class="related-inline"><strong>Lire également :</strong> <a href="'
            f'{e(related[0][1])}">{e(related[0][0])}</a></p>'
            if related
            else ""
        )
        main = (
            f'<div id="page"><div id="content" class="site-content"><div class="post">'
            f'<div class="entry-header"><h1 class="entry-title">{e(title)}</h1>'
            f'<div class="entry-meta"><span class="author vcard">{e(author)}</span> '
            f'<span class="posted-on">{time_tag}</span></div></div><div class="entry-content">'
            f"{''.join(blocks[:middle])}{inline}{''.join(blocks[middle:])}</div>{share}"
            f'<div class="post-tags">{tag_links}</div></div><div id="comments" '
            f'class="comments-area"><h3>3 réponses</h3><p>Réagissez à cet article</p>'
            f'<ol class="comment-list">{comments}</ol></div></div><div id="sidebar">'
            f'<div class="widget"><h4>Les plus lus</h4><ol>{related_links}</ol></div>'
            f'<div class="widget newsletter"><p>Recevez notre lettre quotidienne</p>'
            f'<input type="email"><button>OK</button></div></div></div>'
        )
    else:
        main = (
            f'<main id="content"><div class="layout"><section class="story" itemscope '
            f'itemtype="https://schema.org/NewsArticle"><div class="story__header">'
            f'<a class="story__section" href="/">{e(section)}</a><h1 itemprop="headline">'
            f'{e(title)}</h1><div class="story__meta">{e(author)} — {time_tag}</div></div>'
            f'{share}<figure><img src="/img/illustration.jpg" alt=""><figcaption>Illustration.'
            f' Photo : AFP</figcaption></figure><div class="story__text" itemprop="articleBody">'
            f'{"".join(blocks)}</div></section><section class="related"><h2>À lire aussi</h2>'
            f'<ul>{related_links}</ul></section><section class="comments"><h2>Commentaires'
            f"</h2><p>Réagissez à cet article</p>"
            + "".join(
                f'<article class="comment"><header>{e(name)}</header><p>{e(text)}</p></article>'
                for name, text in COMMENTS
            )
            + "</section></div></main>"
        )
    return (
        f'<!DOCTYPE html>\n<html lang="fr"><head><meta charset="utf-8">'
        f"<title>{e(title)} – {e(site)}</title>"
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<meta name="description" content="{e(paragraphs[0][:150]) if paragraphs else ""}">'
        f'<meta name="author" content="{e(author)}"><link rel="canonical" href="{e(url)}">'
        + _opengraph(title, url, site, published, author, section, tags)
        + f'<script type="application/ld+json">'
        f"{_json_ld(title, url, site, published, modified, author, section, tags)}</script>"
        f'<link rel="alternate" type="application/rss+xml" href="/rss.xml"></head><body>'
        f'<div id="cookie-banner" class="cookie-consent"><p>Nous utilisons des cookies pour '
        f"mesurer l'audience et personnaliser les publicités.</p><button>Accepter et fermer"
        f'</button><button>Paramétrer</button></div><header class="site-header">'
        f'<a class="logo" href="/">{e(site)}</a><nav><ul>'
        + "".join(f'<li><a href="/{e(n.lower())}/">{e(n)}</a></li>' for n in NAVIGATION)
        + '</ul></nav><form role="search"><input name="q" placeholder="Rechercher"></form>'
        f'<a class="subscribe" href="/abonnement/">S’abonner</a></header>{main}'
        f'<footer class="site-footer"><ul><li><a href="/mentions/">Mentions légales</a></li>'
        f'<li><a href="/contact/">Contact</a></li><li><a href="/rss.xml">Flux RSS</a></li></ul>'
        f"<p>© 2025 {e(site)}. Tous droits réservés.</p></footer></body></html>\n"
    )


def paragraph_html(paragraph: str, layout: int) -> str:
    if paragraph.startswith("• "):
        return f"<ul><li>{html.escape(paragraph[2:])}</li></ul>"
    if is_heading(paragraph):
        level = 2 + layout % 2
        return f"<h{level}>{html.escape(paragraph)}</h{level}>"
    return f"<p>{html.escape(paragraph)}</p>"


def _opengraph(
    title: str,
    url: str,
    site: str,
    published: datetime,
    author: str,
    section: str,
    tags: Sequence[str],
) -> str:
    properties = [
        ("og:type", "article"),
        ("og:title", title),
        ("og:url", url),
        ("og:site_name", site),
        ("og:locale", "fr_FR"),
        ("article:published_time", iso(published)),
        ("article:author", author),
        ("article:section", section),
        *(("article:tag", tag) for tag in tags),
    ]
    return "".join(
        f'<meta property="{name}" content="{html.escape(value)}">' for name, value in properties
    )


def _json_ld(
    title: str,
    url: str,
    site: str,
    published: datetime,
    modified: datetime | None,
    author: str,
    section: str,
    tags: Sequence[str],
) -> str:
    data = {
        "@context": "https://schema.org",
        "@type": "NewsArticle",
        "headline": title,
        "datePublished": iso(published),
        "dateModified": iso(modified or published),
        "author": [{"@type": "Person", "name": author}],
        "publisher": {"@type": "Organization", "name": site},
        "mainEntityOfPage": {"@type": "WebPage", "@id": url},
        "inLanguage": "fr-FR",
        "articleSection": section,
        "keywords": ", ".join(tags),
    }
    return json.dumps(data, ensure_ascii=False).replace("</", "<\\/")
