"""Article text and metadata out of what newsrooms publish: web pages (`html`, trafilatura),
PDF (`pdf`, pypdf), Markdown (`markdown`, markdown-it-py), plain text. Each is an `Extractor`
(`base`), one module per kind; `choice` tells a file's kind from its bytes and what it was
declared to be, and imports each extractor (and its library) when a file of its kind is first
read. Also the language of a text (`language`). May import `qa.settings` and `qa.errors` only."""

from qa.content.extract.base import ContentKind, Extracted, Extractor
from qa.content.extract.choice import (
    MEDIA_TYPES,
    SUFFIXES,
    extract,
    kind_of,
    media_type_of,
)
from qa.content.extract.language import detect_language
from qa.content.extract.text_decoding import decode

__all__ = [
    "MEDIA_TYPES",
    "SUFFIXES",
    "ContentKind",
    "Extracted",
    "Extractor",
    "decode",
    "detect_language",
    "extract",
    "kind_of",
    "media_type_of",
]
