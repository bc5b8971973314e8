"""The sync state file (`qa.content.web.state`): what it keeps, written atomically, and read back or
refused in one readable error."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from qa.content.web import STATE_FILE, Listed, Page, PageRecord, SyncState
from qa.content.web.state import ListingRecord
from qa.errors import CorpusError


def page(url: str, changed: datetime | None) -> Page:
    return Page(
        url=url,
        final_url=url + "?from=redirect",
        status=200,
        kind="html",
        media_type="text/html",
        charset="utf-8",
        body=b"<html></html>",
        etag='"abc"',
        last_modified="Fri, 14 Mar 2025 08:00:00 GMT",
        listed=Listed(url, changed=changed),
        source="https://a.example/sitemap.xml",
    )


def test_a_folder_without_state_has_an_empty_one(tmp_path: Path) -> None:
    state = SyncState.load(tmp_path)
    assert (state.sources, state.listings, state.pages) == ([], {}, {})
    assert state.path == tmp_path / STATE_FILE


def test_what_is_saved_is_read_back(tmp_path: Path) -> None:
    state = SyncState.load(tmp_path)
    state.add_source("https://a.example/sitemap.xml")
    state.add_source("https://a.example/rss")
    state.add_source("https://a.example/sitemap.xml")
    state.listings["https://a.example/sitemap.xml"] = ListingRecord(
        kind="sitemap",
        etag='"s1"',
        entries={"https://a.example/z": None, "https://a.example/a": "2025-03-14T08:00:00+00:00"},
    )
    moment = datetime(2025, 3, 14, 8, tzinfo=UTC)
    state.record_page(page("https://a.example/a", moment), name="a-article", sha256="f" * 64)
    state.record_page(page("https://a.example/b", None), name="b-article", sha256="e" * 64)
    state.save()
    again = SyncState.load(tmp_path)
    assert again == state
    assert again.sources == ["https://a.example/sitemap.xml", "https://a.example/rss"]
    assert list(again.listings["https://a.example/sitemap.xml"].entries) == [
        "https://a.example/z",
        "https://a.example/a",
    ]  # in the order listed
    assert again.pages["https://a.example/a"] == PageRecord(
        etag='"abc"',
        last_modified="Fri, 14 Mar 2025 08:00:00 GMT",
        changed="2025-03-14T08:00:00+00:00",
        name="a-article",
        sha256="f" * 64,
    )
    assert again.pages["https://a.example/b"].changed is None
    again.forget_page("https://a.example/b")
    again.forget_page("https://a.example/never")
    assert list(again.pages) == ["https://a.example/a"]


def test_saving_replaces_the_file_whole_and_leaves_no_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = SyncState.load(tmp_path)
    state.add_source("https://a.example/rss")
    state.save()
    before = (tmp_path / STATE_FILE).read_bytes()
    state.add_source("https://a.example/other")

    def crash(source: str, target: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="disk full"):
        state.save()
    assert (tmp_path / STATE_FILE).read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [STATE_FILE]


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (b"{not json", "unreadable sync state"),
        (b"\xff\xfe", "unreadable sync state"),
        (
            json.dumps({"format": 99, "sources": [], "listings": {}, "pages": {}}).encode(),
            "format 99",
        ),
        (json.dumps({"format": 1, "sources": []}).encode(), "not a sync state"),
        (
            json.dumps(
                {"format": 1, "sources": [], "listings": {}, "pages": {"u": {"x": 1}}}
            ).encode(),
            "not a sync state",
        ),
        (b"[]", "not a sync state"),
    ],
)
def test_a_damaged_state_is_one_readable_error(tmp_path: Path, content: bytes, says: str) -> None:
    (tmp_path / STATE_FILE).write_bytes(content)
    with pytest.raises(CorpusError, match=says) as error:
        SyncState.load(tmp_path)
    assert "remove it to start over" in str(error.value)
    assert "\n" not in str(error.value)
