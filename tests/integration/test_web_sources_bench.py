"""`python -m bench.ingest` as `make bench-ingest` runs it (a real process, the real model), on a
small site: every generated page distinct (all added, none a duplicate), the unchanged sync
fetching no page; no source is one line."""

from __future__ import annotations

import re
from pathlib import Path

from bench.news_site import pages_of, read_sources
from tests.conftest import ROOT, SEEDS, assert_one_error_line, run_module


def test_the_generated_pages_are_distinct_articles() -> None:
    sources = read_sources([SEEDS, ROOT / "eval" / "piaf-dev" / "docs"])
    pages = pages_of(sources, 500)

    assert len(sources) == 46
    assert len({page.title for page in pages}) == len({page.paragraphs for page in pages}) == 500
    assert len({page.path for page in pages}) == 500


def test_a_small_run_adds_every_page_then_syncs_without_fetching_one(tmp_path: Path) -> None:
    result = run_module(
        "bench.ingest", "--pages", "12", "--runs", "1", "--workdir", str(tmp_path), cwd=ROOT
    )

    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "12 pages from 46 source articles" in out
    assert re.search(r"extraction alone: [0-9.]+ pages/s", out)
    assert "qa add  " in out
    assert "12 added, 0 updated, 0 unchanged, 0 removed, 0 skipped" in out
    assert "0 added, 0 updated, 12 unchanged, 0 removed, 0 skipped" in out
    assert re.search(r"qa add, first run: [0-9.]+ s", out)
    # robots.txt and the sitemap (304): no page
    assert re.search(r"qa sync, nothing changed: [0-9.]+ s \(2 requests at most\)", out)


def test_no_source_folder_is_one_line(tmp_path: Path) -> None:
    result = run_module("bench.ingest", "--from", str(tmp_path / "none"), cwd=tmp_path)

    assert_one_error_line(result, "no source article to generate pages from")
