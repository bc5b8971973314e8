"""Editing the corpus folder: add, replace and remove articles by name, safely.

Names are plain file names: nothing that could leave the corpus folder. Files are written to a
temporary name and renamed, so a reader of the folder never sees half an article. The caller
publishes the change (`qa.indexing.build.update_index`), holding the writer lock around both.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from qa.corpus.ingest import Metadata, metadata_path, parse_document, read_metadata
from qa.errors import CorpusError, DocumentError, DocumentNotFoundError
from qa.settings import Settings

# Letters, digits, dot, dash, underscore; starting with a letter or digit: no "/", no "..".
NAME_PATTERN = r"[A-Za-z0-9][A-Za-z0-9._-]{0,150}"
_NAME = re.compile(NAME_PATTERN)


def article_name(name: str) -> str:
    """The corpus file name for an article name (`x` -> `x.txt`), or DocumentError."""
    if not _NAME.fullmatch(name) or ".." in name or name.lower().endswith(".meta.json"):
        raise DocumentError(
            f"name {name[:160]!r}: use letters, digits, '.', '-' and '_' only "
            "(a plain file name in the corpus folder)"
        )
    return name if name.lower().endswith(".txt") else f"{name}.txt"


def check_article(settings: Settings, name: str, data: bytes, metadata: Metadata) -> str:
    """The file name of an article the corpus would index, or DocumentError saying why not."""
    name = article_name(name)
    if len(data) > settings.max_article_bytes:
        raise DocumentError(
            f"{name}: {len(data)} bytes, over the {settings.max_article_bytes}-byte limit"
        )
    try:
        parse_document(name, data, metadata)
    except CorpusError as error:
        raise DocumentError(f"{name}: {error}") from error
    return name


def write_article(settings: Settings, name: str, data: bytes, metadata: Metadata) -> str:
    """Check an article and write it (and its metadata) into the corpus folder; its file name."""
    name = check_article(settings, name, data, metadata)
    path = settings.corpus_dir / name
    _write_atomically(path, data)
    sidecar = metadata_path(path)
    if metadata == Metadata():
        sidecar.unlink(missing_ok=True)
    else:
        _write_atomically(sidecar, metadata.model_dump_json(exclude_none=True).encode())
    return name


def delete_article(settings: Settings, name: str) -> str:
    """Remove an article (and its metadata) from the corpus folder; its file name."""
    name = article_name(name)
    path = settings.corpus_dir / name
    if not path.is_file():
        raise DocumentNotFoundError(name)
    path.unlink()
    metadata_path(path).unlink(missing_ok=True)
    return name


def add_files(settings: Settings, files: list[Path]) -> None:
    """Copy article files (with their sidecar metadata) into the corpus; all are checked first."""
    articles = []
    for file in files:
        try:
            articles.append((file.name, file.read_bytes(), read_metadata(file)))
        except OSError as error:
            raise DocumentError(f"cannot add {file}: {error.strerror or error}") from error
        except CorpusError as error:
            raise DocumentError(f"cannot add {file}: {error}") from error
    for name, data, metadata in articles:
        check_article(settings, name, data, metadata)
    for name, data, metadata in articles:
        write_article(settings, name, data, metadata)


def remove_documents(settings: Settings, names: list[str]) -> None:
    """Remove articles from the corpus; all must exist, or nothing is removed."""
    for name in names:
        if not (settings.corpus_dir / article_name(name)).is_file():
            raise DocumentNotFoundError(article_name(name))
    for name in names:
        delete_article(settings, name)


def _write_atomically(path: Path, data: bytes) -> None:
    temp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with temp.open("wb") as file:
        file.write(data)
        file.flush()
        os.fsync(file.fileno())
    os.replace(temp, path)
