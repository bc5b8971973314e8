"""An article's content lines: each kept line a heading or a paragraph, the lines that carry no
article content (navigation labels, prompts to subscribe or share, image credits) dropped.
Offsets point into the text as given; `normalize` makes the copies used for matching."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Literal

BlockKind = Literal["heading", "paragraph"]

# A heading is a short line that does not end like a sentence; headlines may end with "?".
HEADING_MAX_WORDS = 16
HEADING_MAX_CHARS = 140
_SENTENCE_END = tuple(".!…;,:")

# Boilerplate found on French (and English) news sites, whatever the site: navigation labels,
# calls to subscribe or follow, sharing prompts, image credits. Only short lines are tested,
# so an article sentence that happens to mention a newsletter is kept.
BOILERPLATE_MAX_WORDS = 25
_BOILERPLATE = re.compile(
    r"""
    ^(?:à\s+lire\s+(?:aussi|également|ensuite)|lire\s+(?:aussi|également|ensuite|la\s+suite|plus)
       |voir\s+aussi|sur\s+le\s+même\s+sujet|read\s+(?:more|next|also)|related)\b
    | \b(?:abonnez-vous|inscrivez-vous|s['’]abonner|s['’]inscrire)\b
    | ^(?:suivez|retrouvez|rejoignez)(?:-nous)?\b.*\b(?:sur|on)\b
    | \b(?:partagez|partager)\s+(?:cet|l['’])\s*article\b | ^(?:share|partager)\b
    | \bcliquez\s+ici\b | \bclick\s+here\b | \btéléchargez\s+(?:notre|l['’]application)\b
    | ^(?:image|photo|illustration|crédit|credit|source\s+image|vidéo)s?
       (?:\s+(?:photo|image|d['’]illustration)s?)?\b\s*(?:[:\-–—/]|par|by|de|via|\(|©)
    | ^© | \bvia\s+(?:shutterstock|getty|istock|unsplash|afp|reuters)\b
    | ^(?:publicité|advertisement|sponsorisé|sponsored)\b
    """,
    re.IGNORECASE | re.VERBOSE,
)
# A bare mention of a newsletter or a subscription is a prompt only in a very short line
# ("Newsletter", "Recevez notre newsletter"); a sentence about a newsletter is content.
PROMPT_MAX_WORDS = 6
_PROMPT = re.compile(r"\b(?:subscribe|newsletters?|sign\s+up)\b", re.IGNORECASE)
# A line of one word ("Plus", "Partager", "Publicité") or with no letter or digit at all.
_LONE_WORD = re.compile(r"^\W*\w[\w’'-]*\W*$")
_HAS_WORD = re.compile(r"\w")
# A one-word line that heads a paragraph is a section heading ("Concurrence"), not navigation.
_HEADING_WORD = re.compile(r"[^\W\d_][\w’'-]*")
# Leading list markers are layout, not content (matched at the line start, hence no "^").
_BULLET = re.compile(r"(?:[•·▪‣◦*–—-]|\d{1,2}[.)])\s+")


@dataclass(frozen=True)
class Block:
    """A kept line of an article: `text[start:end]` of its document, stripped."""

    start: int
    end: int
    kind: BlockKind


def normalize(text: str) -> str:
    """The form used for matching: NFC, no CR, no byte-order mark."""
    return unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n")).lstrip(
        "\ufeff"
    )


def find_blocks(text: str) -> list[Block]:
    """The content lines of `text`, each classified as heading or paragraph."""
    blocks: list[Block] = []
    word_line: Block | None = None  # a one-word line, kept only if a paragraph follows it
    for line in re.finditer(r"[^\r\n]+", text):
        start, end = _strip_span(text, line.start(), line.end())
        bullet = _BULLET.match(text, start, end)
        if bullet:
            start = bullet.end()
        content = text[start:end]
        if start >= end:
            continue
        if _is_heading_word(content):
            word_line = Block(start, end, "heading")
            continue
        if is_boilerplate(content):
            word_line = None
            continue
        kind: BlockKind = "heading" if is_heading(content) else "paragraph"
        if word_line is not None and kind == "paragraph":
            blocks.append(word_line)
        word_line = None
        blocks.append(Block(start, end, kind))
    # A heading that heads nothing (last line) is a trailer such as a source name.
    while blocks and blocks[-1].kind == "heading":
        blocks.pop()
    return blocks


def is_boilerplate(line: str) -> bool:
    """True for a line that carries no article content."""
    line = normalize(line).strip()
    if not _HAS_WORD.search(line) or _LONE_WORD.match(line):
        return True
    return _is_site_text(line)


def _is_site_text(line: str) -> bool:
    """True for a normalised line that a boilerplate rule names (navigation, prompt, credit)."""
    words = line.split()
    if len(words) > BOILERPLATE_MAX_WORDS:
        return False
    # A short label ending with a colon introduces a link list ("Lire ensuite :", "Sources :").
    if line.endswith(":") and len(words) <= 5:
        return True
    if len(words) <= PROMPT_MAX_WORDS and _PROMPT.search(line):
        return True
    return bool(_BOILERPLATE.search(line))


def _is_heading_word(line: str) -> bool:
    """A line of a single word that no boilerplate rule names (a heading, or a trailer)."""
    line = normalize(line).strip()
    return bool(_HEADING_WORD.fullmatch(line)) and not _is_site_text(line)


def is_heading(line: str) -> bool:
    """True for a short line that does not end like a sentence."""
    line = line.rstrip()
    return (
        len(line) <= HEADING_MAX_CHARS
        and len(line.split()) <= HEADING_MAX_WORDS
        and not line.endswith(_SENTENCE_END)
    )


def _strip_span(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end
