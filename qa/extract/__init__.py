"""Article text and metadata out of what newsrooms publish: web pages (`html`, trafilatura),
PDF (`pdf`, pypdf), Markdown (`markdown`, markdown-it-py), plain text. Each is an `Extractor`
(`base`), one module per kind; `choice` tells a file's kind from its bytes and what it was
declared to be. Also the language of a text (`language`). May import `qa.settings` and
`qa.errors` only."""

from qa.extract.base import ContentKind, Extracted, Extractor
from qa.extract.choice import EXTRACTORS, MEDIA_TYPES, SUFFIXES, extract, kind_of, media_type_of
from qa.extract.language import detect_language
from qa.extract.text_decoding import decode

__all__ = [
    "EXTRACTORS",
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
