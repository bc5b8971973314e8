"""`update_index` with an edit, on a fake encoder: the edit and its publication are all or
nothing. When indexing or publishing fails after the edit, the corpus folder is back as it was
and the error is raised; the last readable article is never removed; odd corpus entries are
reported and do not make the index stale."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from qa.content.corpus.documents import CorpusEdit, remove_documents, write_article
from qa.content.corpus.ingest import Metadata
from qa.errors import IndexWriteError, LastDocumentError
from qa.indexing.build import update_index
from qa.indexing.staleness import published_index_problems
from qa.search.encoders.base import Vectors
from qa.search.store import read_pointer
from qa.search.store.versions import VERSIONS
from qa.settings import Settings
from tests.conftest import SEEDS, FakeEncoder, make_settings
from tests.unit.content.corpus.test_documents import ARTICLE, snapshot


@pytest.fixture
def published(tmp_path: Path, fake_encoder: FakeEncoder) -> Settings:
    """Two seeds, indexed and published with the fake encoder."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for seed in sorted(SEEDS.glob("*.txt"))[:2]:
        shutil.copy(seed, corpus)
    settings = make_settings(tmp_path / "index", corpus, model="fake-bow")
    update_index(settings, fake_encoder)
    return settings


class BrokenEncoder(FakeEncoder):
    def embed_passages(self, texts: Sequence[str], *, progress: bool = False) -> Vectors:
        raise RuntimeError("the encoder failed")


def edits(settings: Settings) -> dict[str, Callable[[], CorpusEdit]]:
    names = sorted(p.name for p in settings.corpus_dir.glob("*.txt"))
    return {
        "add": lambda: write_article(
            settings, "zorg", ARTICLE.encode(), Metadata(url="https://example.org/z")
        ),
        "replace": lambda: write_article(settings, names[0], ARTICLE.encode(), Metadata()),
        "remove": lambda: remove_documents(settings, [names[1]]),
    }


@pytest.mark.parametrize("kind", ["add", "replace", "remove"])
def test_an_edit_whose_indexing_fails_is_undone(published: Settings, kind: str) -> None:
    before, version = snapshot(published.corpus_dir), read_pointer(published.index_dir)

    with pytest.raises(RuntimeError, match="the encoder failed"):
        update_index(published, BrokenEncoder(), edit=edits(published)[kind])

    assert snapshot(published.corpus_dir) == before
    assert read_pointer(published.index_dir) == version


@pytest.mark.parametrize("kind", ["add", "replace", "remove"])
def test_an_edit_whose_publication_fails_is_undone(
    published: Settings, fake_encoder: FakeEncoder, kind: str
) -> None:
    before = snapshot(published.corpus_dir)
    versions = published.index_dir / VERSIONS
    versions.rename(published.index_dir / "kept")
    versions.write_bytes(b"")  # a file where the versions folder is: no version can be written

    with pytest.raises(IndexWriteError, match="cannot write a new index version"):
        update_index(published, fake_encoder, edit=edits(published)[kind])

    assert snapshot(published.corpus_dir) == before


def test_removing_the_last_article_is_refused_and_nothing_changes(
    published: Settings, fake_encoder: FakeEncoder
) -> None:
    first, second = sorted(p.name for p in published.corpus_dir.glob("*.txt"))
    update_index(published, fake_encoder, edit=lambda: remove_documents(published, [first]))
    before, version = snapshot(published.corpus_dir), read_pointer(published.index_dir)

    for _ in range(2):  # and again: still refused, still nothing changed
        with pytest.raises(LastDocumentError, match=f"removing {second} would leave no"):
            update_index(
                published, fake_encoder, edit=lambda: remove_documents(published, [second])
            )
        assert snapshot(published.corpus_dir) == before
        assert read_pointer(published.index_dir) == version
    assert published_index_problems(published) == []


def test_a_published_edit_leaves_no_backup_and_what_a_killed_edit_left_is_removed(
    published: Settings, fake_encoder: FakeEncoder
) -> None:
    (published.corpus_dir / ".zorg.txt.undo-999999").write_bytes(b"left by a killed editor")

    report = update_index(
        published,
        fake_encoder,
        edit=lambda: write_article(published, "zorg", ARTICLE.encode(), Metadata()),
    )

    assert report.cleaned == [".zorg.txt.undo-999999"]
    assert report.changes.added == ["zorg.txt"]
    hidden = [p.name for p in published.corpus_dir.iterdir() if p.name.startswith(".")]
    assert hidden == []


def test_odd_entries_are_reported_as_skipped_and_the_index_is_not_stale(
    published: Settings, fake_encoder: FakeEncoder
) -> None:
    corpus = published.corpus_dir
    os.mkfifo(corpus / "pipe.txt")
    (corpus / "loop.txt").symlink_to("loop.txt")
    (corpus / "gone.txt").symlink_to("nowhere.txt")
    (corpus / "folder.txt").mkdir()
    (corpus / "orphan.meta.json").write_text("{}", encoding="utf-8")
    assert sorted(published_index_problems(published)) == [
        f"new file {name}"
        for name in ("folder.txt", "gone.txt", "loop.txt", "orphan.meta.json", "pipe.txt")
    ]

    report = update_index(published, fake_encoder)

    assert sorted(report.skipped) == [
        "folder.txt",
        "gone.txt",
        "loop.txt",
        "orphan.meta.json",
        "pipe.txt",
    ]
    assert published_index_problems(published) == []
