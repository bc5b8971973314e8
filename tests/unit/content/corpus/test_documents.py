"""Editing the corpus folder (`qa.content.corpus.documents`): every edit can be undone to the byte,
a failure half-way undoes itself, and the last readable article is never removed."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from qa.content.corpus.documents import (
    CorpusEdit,
    add_files,
    clean_edits,
    delete_article,
    remove_documents,
    write_article,
)
from qa.content.corpus.ingest import Metadata, load_corpus
from qa.errors import CorpusError, DocumentNotFoundError, LastDocumentError
from qa.settings import Settings
from tests.conftest import make_settings

ARTICLE = "La puce Zorg-7 arrive\n\nLa start-up Zorglubium a présenté mardi la puce Zorg-7.\n"
OTHER = "Un autre titre\n\nByteDance a commandé des puces à Huawei pour ses modèles.\n"


def snapshot(folder: Path) -> dict[str, tuple[str, bytes | str]]:
    """Every entry of `folder`, hidden ones too: a link's target, a file's bytes, a folder."""
    entries: dict[str, tuple[str, bytes | str]] = {}
    for path in sorted(folder.iterdir()):
        if path.is_symlink():
            entries[path.name] = ("link", os.readlink(path))
        elif path.is_dir():
            entries[path.name] = ("folder", "")
        else:
            entries[path.name] = ("file", path.read_bytes())
    return entries


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text(ARTICLE, encoding="utf-8")
    (corpus / "a.meta.json").write_text('{"published": "2024-06-03"}', encoding="utf-8")
    (corpus / "b.txt").symlink_to("a.txt")
    (corpus / "c.txt").write_text(OTHER, encoding="utf-8")
    return make_settings(tmp_path / "index", corpus)


def edit_everything(settings: Settings) -> CorpusEdit:
    edit = CorpusEdit(settings.corpus_dir)
    edit.write("a.txt", OTHER.encode())
    edit.remove("a.meta.json")
    edit.write("b.txt", ARTICLE.encode())  # a link replaced by a file
    edit.remove("c.txt")
    edit.write("d.txt", ARTICLE.encode())
    edit.write("d.txt", OTHER.encode())  # twice in one edit
    edit.write("d.meta.json", b'{"url": "https://example.org/d"}')
    edit.remove("d.meta.json")
    return edit


def test_an_undone_edit_leaves_the_folder_as_it_was(settings: Settings) -> None:
    before = snapshot(settings.corpus_dir)
    inode = (settings.corpus_dir / "a.txt").stat().st_ino
    edit = edit_everything(settings)
    assert snapshot(settings.corpus_dir) != before

    edit.undo()

    assert snapshot(settings.corpus_dir) == before
    assert (settings.corpus_dir / "a.txt").stat().st_ino == inode  # the file itself, put back


def test_a_kept_edit_stays_and_leaves_no_backup(settings: Settings) -> None:
    edit = edit_everything(settings)

    edit.keep()

    assert snapshot(settings.corpus_dir) == {
        "a.txt": ("file", OTHER.encode()),
        "b.txt": ("file", ARTICLE.encode()),
        "d.txt": ("file", OTHER.encode()),
    }


def test_a_write_that_fails_half_way_is_undone(settings: Settings) -> None:
    (settings.corpus_dir / "zorg.meta.json").mkdir()  # the sidecar cannot be written
    before = snapshot(settings.corpus_dir)

    with pytest.raises(CorpusError, match=r"cannot change the corpus folder .*nothing was changed"):
        write_article(settings, "zorg", ARTICLE.encode(), Metadata(url="https://example.org/z"))

    assert snapshot(settings.corpus_dir) == before


def test_adding_files_writes_them_with_their_sidecars(settings: Settings, tmp_path: Path) -> None:
    drafts = tmp_path / "drafts"
    drafts.mkdir()
    (drafts / "zorg.txt").write_text(ARTICLE, encoding="utf-8")
    (drafts / "zorg.meta.json").write_text('{"url": "https://example.org/z"}', encoding="utf-8")

    add_files(settings, [drafts / "zorg.txt"]).keep()

    assert (settings.corpus_dir / "zorg.txt").read_text(encoding="utf-8") == ARTICLE
    added = {d.name: d for d in load_corpus(settings.corpus_dir).documents}["zorg.txt"]
    assert added.metadata.url == "https://example.org/z"


def test_removing_the_last_readable_article_is_refused_before_anything_changes(
    settings: Settings,
) -> None:
    (settings.corpus_dir / "empty.txt").write_bytes(b"")  # there, but not an article
    before = snapshot(settings.corpus_dir)

    with pytest.raises(LastDocumentError, match="would leave no readable article"):
        remove_documents(settings, ["a", "b.txt", "c"])
    assert snapshot(settings.corpus_dir) == before

    remove_documents(settings, ["a", "b"]).keep()  # c.txt remains
    with pytest.raises(LastDocumentError, match=r"removing c\.txt would leave no readable"):
        delete_article(settings, "c.txt")
    assert (settings.corpus_dir / "c.txt").read_text(encoding="utf-8") == OTHER


def test_removing_an_unknown_article_is_refused(settings: Settings) -> None:
    with pytest.raises(DocumentNotFoundError):
        remove_documents(settings, ["c", "nothing"])
    assert (settings.corpus_dir / "c.txt").exists()


def test_the_leftovers_of_a_killed_edit_are_removed(settings: Settings) -> None:
    before = snapshot(settings.corpus_dir)
    for leftover in (".a.txt.undo-4242", ".zorg.txt.tmp-17", ".a.meta.json.undo-1"):
        (settings.corpus_dir / leftover).write_bytes(b"x")

    removed = clean_edits(settings.corpus_dir)

    assert removed == [".a.meta.json.undo-1", ".a.txt.undo-4242", ".zorg.txt.tmp-17"]
    assert snapshot(settings.corpus_dir) == before
