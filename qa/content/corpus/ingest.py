"""Read a corpus folder: decode each article, find its content blocks, drop boilerplate lines.

The original text is kept as it is (minus a UTF-8 byte-order mark) so that every offset stored
downstream indexes straight into what `GET /sources/{name}` shows. Normalisation for matching
(CRLF, Unicode NFC) is applied to copies with `normalize`, never to the original.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from qa.content.corpus.articles import ExtractionCache, article_of, kind_of_file
from qa.content.corpus.blocks import Block, find_blocks
from qa.content.corpus.checks import Language, TitleLine, WebUrl
from qa.content.extract import Extracted
from qa.errors import CorpusError

# An article larger than this is refused rather than indexed for hours (QA_MAX_ARTICLE_BYTES).
DEFAULT_MAX_BYTES = 4 * 1024 * 1024
# `article.txt` may have a sidecar `article.meta.json`: {"url": ..., "published": "YYYY-MM-DD"}.
METADATA_SUFFIX = ".meta.json"
# Labels (categories, tags) kept per article.
MAX_TAGS = 20
# The fingerprint of a corpus entry that is skipped (its bytes are not what is indexed).
UNREADABLE = "unreadable"


class Metadata(BaseModel):
    """What is known of an article besides its text: what its file says of itself (a page's
    metadata, a Markdown front matter, a PDF's fields), and over it what a sidecar file or the
    document API says. Every field is optional."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: WebUrl | None = None
    published: date | None = None
    title: TitleLine | None = None
    author: TitleLine | None = None
    language: Language | None = None
    site: TitleLine | None = None
    tags: tuple[TitleLine, ...] = Field((), max_length=MAX_TAGS)

    def over(self, found: Extracted) -> Metadata:
        """These fields, and those of `found` where these have none."""
        given = self.model_dump(exclude_defaults=True)
        extracted = {
            "url": found.url,
            "published": found.published,
            "title": found.title,
            "author": found.author,
            "language": found.language,
            "site": found.site,
            "tags": found.tags[:MAX_TAGS],
        }
        # What a file says of itself is checked like the rest: a field that would be refused
        # (a `javascript:` canonical link, a two-line title) is left out, not the article.
        kept = {k: v for k, v in extracted.items() if v and _acceptable(k, v)}
        return Metadata.model_validate(kept | given)


def _acceptable(field: str, value: object) -> bool:
    try:
        Metadata.model_validate({field: value})
    except ValidationError:
        return False
    return True


@dataclass(frozen=True)
class Document:
    """One article: its original text, its kept blocks in order, and the hash of its bytes."""

    name: str
    text: str
    blocks: tuple[Block, ...]
    sha256: str
    metadata: Metadata = field(default_factory=Metadata)

    @property
    def headline(self) -> str | None:
        """The first line when it is a heading (the article's title), else None."""
        first = self.blocks[0] if self.blocks else None
        return self.block_text(first) if first and first.kind == "heading" else None

    @property
    def title(self) -> str:
        """The title it was given or its file holds, else its headline, else the start of its
        first paragraph, else the file name."""
        if self.metadata.title:
            return self.metadata.title
        if self.headline:
            return self.headline
        if self.blocks:
            return shorten(self.block_text(self.blocks[0]), 100)
        return self.name

    def block_text(self, block: Block) -> str:
        return self.text[block.start : block.end]


@dataclass(frozen=True)
class SkippedFile:
    """A corpus file that could not be used, and why."""

    name: str
    reason: str


@dataclass(frozen=True)
class Corpus:
    documents: tuple[Document, ...]
    skipped: tuple[SkippedFile, ...]


def shorten(text: str, limit: int) -> str:
    """`text` cut at a word boundary to at most `limit` characters, with an ellipsis if cut."""
    if len(text) <= limit:
        return text
    return text[: limit - 1].rsplit(" ", 1)[0].rstrip(" ,;:") + "…"


def scan_corpus(corpus_dir: Path) -> tuple[list[Path], list[SkippedFile]]:
    """The article files of a corpus folder (`*.txt`, `*.html`/`*.htm`, `*.md`, `*.pdf`, in
    any case; sorted by name), and the entries that claim to be part of the corpus but cannot
    be read, each with why: an article name that is a folder, a FIFO or another special file
    (never opened: a FIFO would block), a dangling or looping symbolic link; a second article
    file of the same name (`x.txt` and `x.html` would share `x.meta.json`); a sidecar whose
    article is missing.

    Subfolders and other files are not read: a corpus is one folder of articles.
    """
    if not corpus_dir.is_dir():
        raise CorpusError(f"corpus folder not found: {corpus_dir}")
    entries = sorted(corpus_dir.iterdir())
    articles, skipped = [], []
    named: dict[str, str] = {}  # stem -> the article file that has it
    for path in entries:
        if not _is_article_name(path):
            continue
        if path.stem in named:
            reason = f"{named[path.stem]} has the same name: one article file a name"
            skipped.append(SkippedFile(path.name, reason))
            continue
        named[path.stem] = path.name
        problem = not_a_file(path)
        if problem is None:
            articles.append(path)
        else:
            skipped.append(SkippedFile(path.name, problem))
    for path in entries:
        stem = path.name.removesuffix(METADATA_SUFFIX)
        if path.name.endswith(METADATA_SUFFIX) and stem not in named:
            skipped.append(
                SkippedFile(path.name, f"metadata of an article {stem}, which is missing")
            )
    return articles, sorted(skipped, key=lambda entry: entry.name)


def corpus_files(corpus_dir: Path) -> list[Path]:
    """The article files of a corpus folder that can be read, sorted by name (`scan_corpus`)."""
    return scan_corpus(corpus_dir)[0]


def not_a_file(path: Path) -> str | None:
    """Why a corpus entry is not a file to read, found without opening it; None for a regular
    file or a link to one."""
    try:
        mode = path.stat().st_mode  # through links
    except OSError as error:
        if path.is_symlink() and error.errno == errno.ELOOP:
            return "a symbolic link loop"
        if path.is_symlink() and error.errno == errno.ENOENT:
            return f"a symbolic link to a missing file ({os.readlink(path)})"
        return error.strerror or str(error)
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "a folder, not a file (subfolders are not read)"
    kind = "a FIFO" if stat.S_ISFIFO(mode) else "a socket" if stat.S_ISSOCK(mode) else "a device"
    return f"{kind}, not a regular file (not read)"


def _is_article_name(path: Path) -> bool:
    return kind_of_file(path.name) is not None


def metadata_path(article: Path) -> Path:
    """Where the sidecar metadata of an article file lives: `x.txt` -> `x.meta.json`."""
    return article.with_name(article.stem + METADATA_SUFFIX)


def fingerprint(corpus_dir: Path, max_bytes: int = DEFAULT_MAX_BYTES) -> dict[str, str]:
    """Name -> SHA-256 of every corpus file, to tell whether an index is stale.

    A file that cannot be read or is refused, and an entry that is not a file, get
    "unreadable": indexing reports them, this only compares.
    """
    articles, skipped = scan_corpus(corpus_dir)
    hashes = dict.fromkeys((entry.name for entry in skipped), UNREADABLE)
    for path in articles:
        try:
            hashes[path.name] = _sha256(read_article(path, corpus_dir, max_bytes))
        except (OSError, CorpusError):
            hashes[path.name] = UNREADABLE
    return hashes


def read_article(path: Path, corpus_dir: Path, max_bytes: int) -> bytes:
    """The bytes of a corpus file, refusing a link out of the folder or a file over the limit
    before reading it."""
    if path.is_symlink() and not path.resolve().is_relative_to(corpus_dir.resolve()):
        raise CorpusError("a symbolic link leading outside the corpus folder")
    size = path.stat().st_size
    if size > max_bytes:
        raise CorpusError(f"{size} bytes, over the {max_bytes}-byte limit (QA_MAX_ARTICLE_BYTES)")
    return path.read_bytes()


def read_metadata(path: Path) -> Metadata:
    """The sidecar metadata of an article file; none if it has no sidecar."""
    sidecar = metadata_path(path)
    if not os.path.lexists(sidecar):
        return Metadata()
    try:
        if problem := not_a_file(sidecar):
            raise CorpusError(problem)
        return Metadata.model_validate(json.loads(sidecar.read_bytes()))
    except (OSError, ValueError, ValidationError, CorpusError) as error:
        raise CorpusError(f"unreadable metadata {sidecar.name}: {_reason(error)}") from error


def _reason(error: Exception) -> str:
    if isinstance(error, ValidationError):
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        return f"{where}: {first['msg']}" if where else first["msg"]
    return str(error)


def read_documents(
    corpus_dir: Path, max_bytes: int, cache: ExtractionCache | None = None
) -> Iterator[Document | SkippedFile]:
    """Each entry of a corpus folder, read as it is asked for: a Document, or a SkippedFile
    saying why not (the entries that are not files first)."""
    articles, skipped = scan_corpus(corpus_dir)
    yield from skipped
    for path in articles:
        try:
            yield parse_document(
                path.name, read_article(path, corpus_dir, max_bytes), read_metadata(path), cache
            )
        except (OSError, CorpusError) as error:
            yield SkippedFile(path.name, str(error))


def load_corpus(
    corpus_dir: Path, max_bytes: int = DEFAULT_MAX_BYTES, cache: ExtractionCache | None = None
) -> Corpus:
    """Every readable article of the folder; unreadable, empty, too large or out-of-folder
    files, and entries that are not files, are listed as skipped (by name)."""
    documents: list[Document] = []
    skipped: list[SkippedFile] = []
    for entry in read_documents(corpus_dir, max_bytes, cache):
        if isinstance(entry, Document):
            documents.append(entry)
        else:
            skipped.append(entry)
    skipped.sort(key=lambda entry: entry.name)
    if not documents:
        detail = "; ".join(f"{s.name}: {s.reason}" for s in skipped) or "no article file"
        raise CorpusError(f"no readable article in {corpus_dir} ({detail})")
    return Corpus(tuple(documents), tuple(skipped))


def parse_document(
    name: str,
    data: bytes,
    metadata: Metadata | None = None,
    cache: ExtractionCache | None = None,
) -> Document:
    """An article out of a corpus file's bytes: a `.txt` decoded (UTF-8), a page, Markdown or
    PDF file extracted (through `cache` when given); its content blocks found."""
    given = metadata or Metadata()
    read = cache.article_of if cache is not None else article_of
    found = read(name, data, url=given.url)
    text = found.article
    blocks = tuple(find_blocks(text))
    if not blocks:
        raise CorpusError("no content line")
    return Document(
        name=name, text=text, blocks=blocks, sha256=_sha256(data), metadata=given.over(found)
    )


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
