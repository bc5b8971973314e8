"""The sync state: a small JSON file in the corpus folder, `.qa-sync.json`, written atomically.
It remembers the sources a user gave (feeds, sitemaps, pages), what each feed or sitemap last
answered (validators, the pages it listed with their dates), and each page fetched: its
validators, the date its listing gave it, the article it became and that article's SHA-256."""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from qa.content.web.outcomes import ListingKind, Page
from qa.errors import CorpusError

STATE_FILE = ".qa-sync.json"
FORMAT = 1
START_OVER = "remove it to start over (every page is then fetched again)"


@dataclass
class ListingRecord:
    """What a feed or a sitemap answered last: its validators, and the pages (or, for an index,
    the child sitemaps) it listed, each with its date (ISO 8601) if it gave one."""

    kind: ListingKind
    etag: str | None = None
    last_modified: str | None = None
    entries: dict[str, str | None] = field(default_factory=dict)


@dataclass
class PageRecord:
    """A page fetched and stored: its validators, its listing's date, the article's name and
    SHA-256 (filled in by whoever stored it)."""

    etag: str | None = None
    last_modified: str | None = None
    changed: str | None = None
    name: str | None = None
    sha256: str | None = None


@dataclass
class SyncState:
    """The state of one corpus folder's sync; `load`, change, then `save`."""

    path: Path
    sources: list[str] = field(default_factory=list)
    listings: dict[str, ListingRecord] = field(default_factory=dict)
    pages: dict[str, PageRecord] = field(default_factory=dict)

    @classmethod
    def load(cls, corpus_dir: Path) -> SyncState:
        """The folder's state; an empty one if it has none. CorpusError if unreadable."""
        path = corpus_dir / STATE_FILE
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return cls(path)
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
            raise CorpusError(
                f"{path}: unreadable sync state ({error}); remove it to start over"
            ) from error
        try:
            return cls._from_json(path, data)
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            raise CorpusError(
                f"{path}: not a sync state of this version ({error!r}); remove it to start over"
            ) from error

    @classmethod
    def _from_json(cls, path: Path, data: dict[str, Any]) -> SyncState:
        if data.get("format") != FORMAT:
            raise ValueError(f"format {data.get('format')!r}, expected {FORMAT}")
        return cls(
            path,
            sources=[str(url) for url in data["sources"]],
            listings={url: ListingRecord(**record) for url, record in data["listings"].items()},
            pages={url: PageRecord(**record) for url, record in data["pages"].items()},
        )

    def save(self) -> None:
        """Written to a temporary file in the same folder, flushed, then renamed over the old
        one: a crash leaves the old state or the new, never half of one."""
        data = {
            "format": FORMAT,
            "sources": self.sources,
            "listings": {url: asdict(record) for url, record in self.listings.items()},
            "pages": {url: asdict(record) for url, record in self.pages.items()},
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=f".{STATE_FILE}.", dir=self.path.parent)
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as file:
                json.dump(data, file, ensure_ascii=False, indent=1)  # in the order listed
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, self.path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def add_source(self, url: str) -> None:
        if url not in self.sources:
            self.sources.append(url)

    def record_page(self, page: Page, *, name: str, sha256: str) -> None:
        """A page stored as article `name` (its text's SHA-256): the next sync fetches it again
        only if its listing's date changes, or it has none, and then conditionally."""
        changed = page.listed.changed if page.listed else None
        self.pages[page.url] = PageRecord(
            etag=page.etag,
            last_modified=page.last_modified,
            changed=iso(changed),
            name=name,
            sha256=sha256,
        )

    def forget_page(self, url: str) -> None:
        """A page whose article was removed (pruned): fetched afresh if listed again."""
        self.pages.pop(url, None)


def iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None
