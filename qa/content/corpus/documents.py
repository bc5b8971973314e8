"""Editing the corpus folder: add, replace and remove articles by name, safely.

Names are plain file names: nothing that could leave the corpus folder. Files are written to a
temporary name and renamed, so a reader of the folder never sees half an article. Every edit
can be undone until it is kept (`CorpusEdit`): the caller publishes the change
(`qa.indexing.build.update_index`), holding the writer lock around both, and undoes the edit if
the publication fails, so that the corpus folder and the served index never disagree.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from qa.content.corpus.articles import kind_of_file
from qa.content.corpus.ingest import (
    Document,
    Metadata,
    metadata_path,
    parse_document,
    read_documents,
    read_metadata,
)
from qa.content.extract import SUFFIXES, ContentKind
from qa.errors import CorpusError, DocumentError, DocumentNotFoundError, LastDocumentError
from qa.settings import Settings

# The suffix an article's file gets from its kind.
_SUFFIX: dict[ContentKind, str] = {
    "text": ".txt",
    "html": ".html",
    "markdown": ".md",
    "pdf": ".pdf",
}
# Letters, digits, dot, dash, underscore; starting with a letter or digit: no "/", no "..".
NAME_PATTERN = r"[A-Za-z0-9][A-Za-z0-9._-]{0,150}"
_NAME = re.compile(NAME_PATTERN)
# What an edit writes besides articles, hidden and never read as corpus entries: the temporary
# file of a write, and the backup of a file replaced or removed until the edit is kept.
_TEMP, _BACKUP = ".tmp-", ".undo-"
_LEFTOVER = re.compile(rf"\..+(?:{re.escape(_TEMP)}|{re.escape(_BACKUP)})[0-9]+")


class CorpusEdit:
    """Files written and removed in the corpus folder, undoable until kept.

    A file about to be replaced is first hard-linked to a hidden backup (it never goes missing),
    a file removed is renamed to one; `undo` puts every file back as it was, `keep` deletes the
    backups. A killed editor leaves its backups: the next writer removes them (`clean_edits`),
    keeping the edit, as a run killed after its edit always did.
    """

    def __init__(self, corpus_dir: Path) -> None:
        self.corpus_dir = corpus_dir
        # Each touched name -> its backup, or None when it did not exist before this edit.
        self._before: dict[str, Path | None] = {}

    def write(self, name: str, data: bytes) -> None:
        path = self.corpus_dir / name
        temp = path.with_name(f".{name}{_TEMP}{os.getpid()}")
        try:
            with temp.open("wb") as file:
                file.write(data)
                file.flush()
                os.fsync(file.fileno())
            self._save(path, link=True)
            os.replace(temp, path)
        finally:
            temp.unlink(missing_ok=True)

    def remove(self, name: str) -> None:
        path = self.corpus_dir / name
        if os.path.lexists(path):
            self._save(path, link=False)

    def undo(self) -> None:
        """Every touched file back as it was before this edit, latest first."""
        for name, backup in reversed(self._before.items()):
            path = self.corpus_dir / name
            if backup is None:
                path.unlink(missing_ok=True)
            else:
                os.replace(backup, path)
        self._before.clear()

    def keep(self) -> None:
        """The edit stays: its backups are deleted (one that cannot be is a leftover that the
        next writer removes: the edit is published by then)."""
        for backup in self._before.values():
            if backup is not None:
                with contextlib.suppress(OSError):
                    backup.unlink()
        self._before.clear()

    def _save(self, path: Path, *, link: bool) -> None:
        """Keeps what `path` is before its first change in this edit: a hard link to it (the
        link itself for a symbolic link), or `path` renamed, away from the corpus entries."""
        if path.name in self._before:
            if not link:  # its state before this edit is saved already
                path.unlink()
            return
        if not os.path.lexists(path):
            self._before[path.name] = None
            return
        backup = path.with_name(f".{path.name}{_BACKUP}{os.getpid()}")
        backup.unlink(missing_ok=True)
        if link:
            os.link(path, backup, follow_symlinks=False)
        else:
            os.replace(path, backup)
        self._before[path.name] = backup


@contextmanager
def _editing(corpus_dir: Path) -> Iterator[CorpusEdit]:
    """A new edit, undone if the block fails half-way (a full disk while writing a sidecar)."""
    edit = CorpusEdit(corpus_dir)
    try:
        yield edit
    except BaseException as error:
        edit.undo()
        if isinstance(error, OSError):
            raise CorpusError(
                f"cannot change the corpus folder {corpus_dir}: {error.strerror or error}; "
                "nothing was changed"
            ) from error
        raise


def clean_edits(corpus_dir: Path) -> list[str]:
    """Remove the temporary files and backups a killed editor left; the caller holds the writer
    lock, so no edit is under way. Returns what was removed."""
    if not corpus_dir.is_dir():
        return []
    removed = sorted(p for p in corpus_dir.iterdir() if _LEFTOVER.fullmatch(p.name))
    for leftover in removed:
        leftover.unlink(missing_ok=True)
    return [leftover.name for leftover in removed]


def article_name(name: str, kind: ContentKind = "text") -> str:
    """The corpus file name for an article name and the kind of its file: `x` -> `x.txt` (or
    `x.html`, `x.md`, `x.pdf`); a name with its suffix (`x.html`) must be of that kind.
    DocumentError for a name that is not a plain file name, or of another kind."""
    _check_plain(name)
    named = kind_of_file(name)
    if named is None:
        return f"{name}{_SUFFIX[kind]}"
    if named != kind:
        raise DocumentError(f"name {name!r} is a {named} file's, and the article is {kind}")
    return name


def _check_plain(name: str) -> None:
    if not _NAME.fullmatch(name) or ".." in name or name.lower().endswith(".meta.json"):
        raise DocumentError(
            f"name {name[:160]!r}: use letters, digits, '.', '-' and '_' only "
            "(a plain file name in the corpus folder)"
        )


def stored_name(settings: Settings, name: str) -> str:
    """The file of the article called `name` in the corpus folder: `name` itself when it has a
    suffix, else the one article file of that stem (`x` -> `x.html`); DocumentNotFoundError."""
    _check_plain(name)
    if kind_of_file(name) is not None:
        candidates = [name]
    else:
        candidates = [f"{name}{suffix}" for suffix in SUFFIXES]
    for candidate in candidates:
        if (settings.corpus_dir / candidate).is_file():
            return candidate
    raise DocumentNotFoundError(name)


def check_article(
    settings: Settings, name: str, data: bytes, metadata: Metadata, kind: ContentKind = "text"
) -> str:
    """The file name of an article the corpus would index, or DocumentError saying why not."""
    name = article_name(name, kind)
    if len(data) > settings.max_article_bytes:
        raise DocumentError(
            f"{name}: {len(data)} bytes, over the {settings.max_article_bytes}-byte limit"
        )
    try:
        parse_document(name, data, metadata)
    except CorpusError as error:
        raise DocumentError(f"{name}: {error}") from error
    return name


def write_article(
    settings: Settings, name: str, data: bytes, metadata: Metadata, kind: ContentKind = "text"
) -> CorpusEdit:
    """Check an article and write it (and its metadata) into the corpus folder, in place of
    any file of the same name of another kind."""
    name = check_article(settings, name, data, metadata, kind)
    with _editing(settings.corpus_dir) as edit:
        _write(edit, name, data, metadata)
    return edit


def delete_article(settings: Settings, name: str) -> CorpusEdit:
    """Remove an article (and its metadata) from the corpus folder."""
    return remove_documents(settings, [name])


def add_files(settings: Settings, files: list[Path]) -> CorpusEdit:
    """Copy article files (with their sidecar metadata) into the corpus; all are checked first."""
    articles = []
    for file in files:
        try:
            articles.append((file.name, file.read_bytes(), read_metadata(file)))
        except OSError as error:
            raise DocumentError(f"cannot add {file}: {error.strerror or error}") from error
        except CorpusError as error:
            raise DocumentError(f"cannot add {file}: {error}") from error
    checked = [
        (check_article(settings, name, data, metadata, _kind_of(name)), data, metadata)
        for name, data, metadata in articles
    ]
    with _editing(settings.corpus_dir) as edit:
        for name, data, metadata in checked:
            _write(edit, name, data, metadata)
    return edit


def remove_documents(settings: Settings, names: list[str]) -> CorpusEdit:
    """Remove articles (and their metadata) from the corpus; all must exist and a readable
    article must remain, or nothing is removed."""
    files = [stored_name(settings, name) for name in names]
    _refuse_removing_the_last(settings, set(files))
    with _editing(settings.corpus_dir) as edit:
        for file in files:
            edit.remove(file)
            edit.remove(metadata_path(Path(file)).name)
    return edit


def _write(edit: CorpusEdit, name: str, data: bytes, metadata: Metadata) -> None:
    stem = Path(name).stem
    for other in [f"{stem}{suffix}" for suffix in SUFFIXES]:
        if other.lower() != name.lower() and os.path.lexists(edit.corpus_dir / other):
            edit.remove(other)  # the same article as another kind of file
    edit.write(name, data)
    sidecar = metadata_path(Path(name)).name
    if metadata == Metadata():
        edit.remove(sidecar)
    else:
        edit.write(sidecar, metadata.model_dump_json(exclude_defaults=True).encode())


def _kind_of(name: str) -> ContentKind:
    """The kind of a file to add by its suffix; DocumentError for one the corpus does not take."""
    kind = kind_of_file(name)
    if kind is None:
        raise DocumentError(f"cannot add {name}: not an article file ({', '.join(SUFFIXES)})")
    return kind


def _refuse_removing_the_last(settings: Settings, files: set[str]) -> None:
    """LastDocumentError unless an article outside `files` can be indexed: an index needs one.
    Reads the corpus only until it finds one."""
    entries = read_documents(settings.corpus_dir, settings.max_article_bytes)
    if not any(isinstance(e, Document) and e.name not in files for e in entries):
        raise LastDocumentError(
            f"removing {', '.join(sorted(files))} would leave no readable article in the "
            "corpus, and an index needs one: nothing was changed; add an article first"
        )
