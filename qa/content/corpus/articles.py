"""The text and metadata of a corpus file of any kind the corpus takes: a `.txt` article as it
is (UTF-8, strictly: offsets point into it), or the article extracted from a web page, a
Markdown or a PDF file (`qa.content.extract`), its control characters removed.

Extraction costs milliseconds a file (a PDF, tens), and every indexing run reads the whole
folder: `ExtractionCache` keeps each file's extraction by the SHA-256 of its bytes and the
extractors' version, in a folder the writer owns (the index folder's `extracted/`), so that a
file is extracted again only when it or the extractors change (or on `qa index --reextract`).
"""

from __future__ import annotations

import hashlib
import os
import re
from importlib.metadata import version
from pathlib import Path

from pydantic import TypeAdapter, ValidationError

from qa.content.corpus.checks import CONTROL_CHARACTERS, control_character
from qa.content.extract import SUFFIXES, ContentKind, Extracted, detect_language, extract
from qa.errors import CorpusError, DocumentError

_CONTROL = re.compile(f"[{CONTROL_CHARACTERS}]")
# What an extraction depends on besides the bytes: the libraries, and this module's rules
# (bump the last number when they change).
EXTRACTION_VERSION = ",".join(
    [*(f"{name}={version(name)}" for name in ("trafilatura", "pypdf", "markdown-it-py")), "qa=1"]
)
_EXTRACTED = TypeAdapter(Extracted)


def kind_of_file(name: str) -> ContentKind | None:
    """The kind of a corpus file by its suffix (`.txt`, `.html`, `.md`, `.pdf`...); None for
    a file the corpus does not take."""
    return SUFFIXES.get(Path(name).suffix.lower())


def article_of(name: str, data: bytes, *, url: str | None = None) -> Extracted:
    """The article in a corpus file: its text (title first line for an extracted one) and
    what the file says of itself; CorpusError saying why there is none."""
    kind = kind_of_file(name)
    if kind is None:
        raise CorpusError(f"not an article file ({', '.join(SUFFIXES)})")
    if kind == "text":
        text = _utf8_text(data)
        return Extracted(title=None, text=text, language=_language(text))
    try:
        extracted = extract(data, kind, url=url)
    except DocumentError as error:  # ExtractionError: no article text in the file
        raise CorpusError(str(error)) from error
    # Derived text: nothing of the file's own layout to keep offsets into, so the control
    # characters a PDF's text layer or a page may hold are simply dropped.
    text = _CONTROL.sub("", extracted.text)
    title = _CONTROL.sub("", extracted.title) if extracted.title else None
    language = extracted.language or _language(text)
    return Extracted(
        title=title,
        text=text,
        url=extracted.url,
        published=extracted.published,
        author=extracted.author,
        language=language,
        site=extracted.site,
        tags=extracted.tags,
    )


def _utf8_text(data: bytes) -> str:
    try:
        text = data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as error:
        raise CorpusError(f"not valid UTF-8 (byte {error.start})") from error
    if not text.strip():
        raise CorpusError("empty file")
    if problem := control_character(text):
        raise CorpusError(problem)
    return text


def _language(text: str) -> str | None:
    language = detect_language(text)
    return None if language == "unknown" else language


class ExtractionCache:
    """Extractions by the SHA-256 of their file's bytes, one JSON file each in `folder`."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._key = hashlib.sha256(EXTRACTION_VERSION.encode()).hexdigest()[:12]
        self.used: set[Path] = set()

    def article_of(self, name: str, data: bytes, *, url: str | None = None) -> Extracted:
        """`article_of`, from the cache when this file's bytes were extracted before."""
        path = self.folder / f"{hashlib.sha256(data).hexdigest()}-{self._key}.json"
        self.used.add(path)
        try:
            return _EXTRACTED.validate_json(path.read_bytes())
        except (OSError, ValidationError):
            pass  # not extracted yet, or an entry a crash left half-written: extract again
        article = article_of(name, data, url=url)
        self._write(path, _EXTRACTED.dump_json(article))
        return article

    def prune(self) -> None:
        """Remove every entry that the reads since this cache was made did not use."""
        if self.folder.is_dir():
            for entry in self.folder.iterdir():
                if entry not in self.used:
                    entry.unlink(missing_ok=True)

    def _write(self, path: Path, data: bytes) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        temp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
        temp.write_bytes(data)
        os.replace(temp, path)
