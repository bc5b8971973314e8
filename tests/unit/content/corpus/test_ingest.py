"""Ingest: reading a corpus folder, dropping lines without content, keeping exact offsets."""

from __future__ import annotations

import hashlib
import os
import signal
import unicodedata
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from qa.content.corpus.blocks import find_blocks, is_boilerplate, is_heading, normalize
from qa.content.corpus.ingest import Document, fingerprint, load_corpus, parse_document
from qa.errors import CorpusError
from tests.conftest import SEEDS

PARAGRAPH = "ByteDance a commandé des puces à Huawei pour entraîner ses modèles d’IA."
OTHER_PARAGRAPH = "Le groupe chinois veut ainsi contourner les restrictions américaines."

# Lines that carry no content, from the seeds (Business AM and others) and from other sites.
SEED_BOILERPLATE = [
    "Lire ensuite :",
    "Si vous souhaitez accéder à tous les articles, abonnez-vous ici!",
    "Suivez également Business AM sur Google Actualités",
    "Image par XanderSt via Shutterstock.",
]
OTHER_SITES_BOILERPLATE = [
    "À lire aussi :",
    "À lire aussi : ByteDance prépare sa propre puce",
    "Lire aussi : les États-Unis durcissent le ton",
    "Photo : AFP",
    "Photo d’illustration : Getty Images",
    "Crédit photo : Reuters",
    "Crédits : AFP",
    "Partager cet article",
    "Inscrivez-vous à notre newsletter",
    "Recevez notre newsletter",
    "© Le Monde 2024",
    "Retrouvez-nous sur Facebook et Instagram",
    "Publicité",
    "Partager",
    "***",
]
# Real content that a careless rule would drop.
CONTENT_LINES = [
    "Le Monde a lancé en 2023 une newsletter consacrée à l’intelligence artificielle, "
    "envoyée chaque semaine à ses lecteurs.",
    "Selon le rapport annuel publié mardi, la newsletter économique du quotidien, lancée il "
    "y a cinq ans pour fidéliser les lecteurs, compte désormais plus de deux cent mille "
    "abonnés en France et en Belgique.",
    "Le journal compte 500 000 abonnés payants.",
    "Selon Reuters, ByteDance est déjà le plus gros client des puces AI H20 de Nvidia.",
    "Expertise de Samsung",
    "Engagement interne",
    "Le rôle de Nvidia : un jeu à double tranchant",
    "Vers une nouvelle donne dans la course à l'IA ?",
]


def kept_texts(text: str) -> list[str]:
    return [text[block.start : block.end] for block in find_blocks(text)]


def article(*lines: str) -> str:
    return "\n".join(lines) + "\n"


# --- normalize -------------------------------------------------------------------------------


def test_normalize_removes_bom_and_carriage_returns() -> None:
    assert normalize("\ufeffTitre\r\nLigne un\rLigne deux\n") == "Titre\nLigne un\nLigne deux\n"


def test_normalize_composes_unicode() -> None:
    decomposed = unicodedata.normalize("NFD", "États, société, manœuvre")
    assert decomposed != "États, société, manœuvre"
    assert normalize(decomposed) == "États, société, manœuvre"


def test_normalize_is_idempotent() -> None:
    text = "\ufeffLe re\u0301seau\r\nfin"
    assert normalize(normalize(text)) == normalize(text)


# --- boilerplate and content -----------------------------------------------------------------


@pytest.mark.parametrize("line", SEED_BOILERPLATE + OTHER_SITES_BOILERPLATE)
def test_boilerplate_line_is_recognised(line: str) -> None:
    assert is_boilerplate(line)


@pytest.mark.parametrize("line", SEED_BOILERPLATE + OTHER_SITES_BOILERPLATE)
def test_boilerplate_line_is_dropped_between_paragraphs(line: str) -> None:
    kept = kept_texts(article(PARAGRAPH, line, OTHER_PARAGRAPH))
    assert kept == [PARAGRAPH, OTHER_PARAGRAPH]


@pytest.mark.parametrize("line", CONTENT_LINES)
def test_content_line_is_not_boilerplate(line: str) -> None:
    assert not is_boilerplate(line)


@pytest.mark.parametrize("line", CONTENT_LINES)
def test_content_line_is_kept_in_an_article(line: str) -> None:
    assert line in kept_texts(article(PARAGRAPH, line, OTHER_PARAGRAPH))


def test_boilerplate_rules_see_through_decomposed_accents() -> None:
    line = unicodedata.normalize("NFD", "À lire également : Crédit photo")
    assert is_boilerplate(line)


def test_lone_word_trailer_is_dropped() -> None:
    text = article(PARAGRAPH, "Suivez-nous sur X", "Plus")
    assert kept_texts(text) == [PARAGRAPH]


def test_lone_word_line_between_boilerplate_lines_is_dropped() -> None:
    text = article(PARAGRAPH, "Plus", "Lire aussi :", "Sommaire", "Photo : AFP", OTHER_PARAGRAPH)
    assert kept_texts(text) == [PARAGRAPH, OTHER_PARAGRAPH]


def test_one_word_heading_above_a_paragraph_is_kept_as_heading() -> None:
    text = article(PARAGRAPH, "Concurrence", OTHER_PARAGRAPH)
    blocks = find_blocks(text)
    assert [(text[b.start : b.end], b.kind) for b in blocks] == [
        (PARAGRAPH, "paragraph"),
        ("Concurrence", "heading"),
        (OTHER_PARAGRAPH, "paragraph"),
    ]


def test_heading_as_last_line_is_a_trailer_and_dropped() -> None:
    assert kept_texts(article(PARAGRAPH, "Business AM")) == [PARAGRAPH]


def test_list_markers_are_not_part_of_the_block() -> None:
    text = article("Principaux renseignements", "  • Première idée clé.", "- Seconde idée clé.")
    assert kept_texts(text) == [
        "Principaux renseignements",
        "Première idée clé.",
        "Seconde idée clé.",
    ]


# --- headings and titles ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "line",
    [
        "Le rôle de Nvidia : un jeu à double tranchant",
        "Expertise de Samsung",
        "De quelles puces Huawei ByteDance s'approvisionnera-t-il pour entraîner son IA ?",
    ],
)
def test_short_line_without_final_period_is_a_heading(line: str) -> None:
    assert is_heading(line)


@pytest.mark.parametrize(
    "line",
    [
        "ByteDance développe sa propre puce IA, baptisée SeedChip.",
        "Une chose est sûre : l'entreprise chinoise est déterminée,",
        # More than a heading's word count, even without a final period.
        "ByteDance le propriétaire de TikTok entraînerait son IA sur des puces développées et "
        "construites par Huawei Technologies pour contrer les restrictions américaines",
    ],
)
def test_sentence_or_long_line_is_not_a_heading(line: str) -> None:
    assert not is_heading(line)


def test_title_is_the_headline_when_the_first_line_is_a_heading() -> None:
    document = parse_document("a.txt", article("Samsung fabriquera la puce", PARAGRAPH).encode())
    assert document.headline == "Samsung fabriquera la puce"
    assert document.title == "Samsung fabriquera la puce"


def test_title_is_the_start_of_the_first_paragraph_without_headline() -> None:
    first = (
        "ByteDance, le propriétaire de TikTok, entraînerait son IA sur des puces développées "
        "et construites par Huawei Technologies."
    )
    document = parse_document("a.txt", article(first, PARAGRAPH).encode())
    assert document.headline is None
    assert len(document.title) <= 100
    assert document.title.endswith("…")
    assert first.startswith(document.title.removesuffix("…"))
    assert first[len(document.title) - 1] == " "  # cut at a word boundary


def test_title_falls_back_to_the_file_name() -> None:
    assert Document(name="vide.txt", text="", blocks=(), sha256="0").title == "vide.txt"


# --- offsets into the original text ----------------------------------------------------------


def test_bom_is_removed_and_offsets_index_the_rest() -> None:
    document = parse_document("a.txt", ("\ufeff" + article("Titre court", PARAGRAPH)).encode())
    assert not document.text.startswith("\ufeff")
    assert [document.block_text(b) for b in document.blocks] == ["Titre court", PARAGRAPH]


def test_crlf_text_is_kept_and_blocks_exclude_carriage_returns() -> None:
    raw = "\ufeffTitre court\r\n\r\nLire aussi :\r\n" + PARAGRAPH + "\r\n" + OTHER_PARAGRAPH
    document = parse_document("a.txt", raw.encode())
    assert document.text == raw.removeprefix("\ufeff")
    assert [document.block_text(b) for b in document.blocks] == [
        "Titre court",
        PARAGRAPH,
        OTHER_PARAGRAPH,
    ]


def test_decomposed_text_is_kept_as_it_is() -> None:
    raw = unicodedata.normalize("NFD", article("Le réseau de Pékin", PARAGRAPH))
    document = parse_document("a.txt", raw.encode())
    assert document.text == raw
    assert document.headline == unicodedata.normalize("NFD", "Le réseau de Pékin")


def test_sha256_is_the_hash_of_the_file_bytes() -> None:
    data = article(PARAGRAPH).encode()
    assert parse_document("a.txt", data).sha256 == hashlib.sha256(data).hexdigest()


# --- corpus folders --------------------------------------------------------------------------


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    (tmp_path / "good.txt").write_text(article("Un titre", PARAGRAPH), encoding="utf-8")
    (tmp_path / "latin1.txt").write_bytes("Un article en Latin-1 : société.".encode("latin-1"))
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "boilerplate.txt").write_text(article(*SEED_BOILERPLATE, "Plus"), "utf-8")
    (tmp_path / "notes.docx").write_text(article(PARAGRAPH), encoding="utf-8")
    return tmp_path


def test_corpus_loads_good_files_and_reports_broken_ones(corpus: Path) -> None:
    loaded = load_corpus(corpus)
    assert [d.name for d in loaded.documents] == ["good.txt"]
    reasons = {skipped.name: skipped.reason for skipped in loaded.skipped}
    assert set(reasons) == {"latin1.txt", "empty.txt", "boilerplate.txt"}
    assert "UTF-8" in reasons["latin1.txt"]
    assert reasons["empty.txt"] == "empty file"
    assert all(reason.strip() for reason in reasons.values())


def test_corpus_reads_only_article_files_of_the_folder_itself(corpus: Path) -> None:
    (corpus / "UPPER.TXT").write_text(article("Un autre titre", PARAGRAPH), encoding="utf-8")
    (corpus / "dir.txt").mkdir()
    (corpus / "sub").mkdir()
    (corpus / "sub" / "nested.txt").write_text(article(PARAGRAPH), encoding="utf-8")

    loaded = load_corpus(corpus)

    names = {d.name for d in loaded.documents} | {s.name for s in loaded.skipped}
    assert "UPPER.TXT" in {d.name for d in loaded.documents}
    assert names.isdisjoint({"notes.docx", "nested.txt", "sub"})


def test_missing_corpus_folder_raises(tmp_path: Path) -> None:
    with pytest.raises(CorpusError, match="not found"):
        load_corpus(tmp_path / "absent")


def test_empty_corpus_folder_raises(tmp_path: Path) -> None:
    with pytest.raises(CorpusError):
        load_corpus(tmp_path)


def test_corpus_of_broken_files_only_raises_and_names_them(tmp_path: Path) -> None:
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "bad.txt").write_bytes(b"\xff\xfe\x00")
    with pytest.raises(CorpusError, match=r"bad\.txt.*empty\.txt"):
        load_corpus(tmp_path)


def test_fingerprint_changes_only_for_the_changed_file(corpus: Path) -> None:
    before = fingerprint(corpus)
    assert set(before) == {"good.txt", "latin1.txt", "empty.txt", "boilerplate.txt"}
    assert fingerprint(corpus) == before
    (corpus / "good.txt").write_text(article("Un titre", OTHER_PARAGRAPH), encoding="utf-8")
    after = fingerprint(corpus)
    assert after["good.txt"] != before["good.txt"]
    assert {k: v for k, v in after.items() if k != "good.txt"} == {
        k: v for k, v in before.items() if k != "good.txt"
    }


def test_fingerprint_sees_added_and_removed_files(corpus: Path) -> None:
    (corpus / "new.txt").write_text(article(PARAGRAPH), encoding="utf-8")
    (corpus / "empty.txt").unlink()
    assert set(fingerprint(corpus)) == {"good.txt", "latin1.txt", "boilerplate.txt", "new.txt"}


def test_fingerprint_of_missing_folder_raises(tmp_path: Path) -> None:
    with pytest.raises(CorpusError):
        fingerprint(tmp_path / "absent")


# --- the real articles -----------------------------------------------------------------------

# Read from the files: the lines of each article that carry no content.
SEED_DROPPED = {
    "000_0afdbc2315d05444.txt": {"Lire ensuite :", "Image par XanderSt via Shutterstock."},
    "001_9282963c915c7207.txt": set(),
    "002_5f75a4b7e3170e15.txt": {
        "Suivez également Business AM sur Google Actualités",
        "Si vous souhaitez accéder à tous les articles, abonnez-vous ici!",
        "Plus",
    },
    "003_8a499cfd293259c1.txt": set(),
    "004_2ce192f800cc9e70.txt": set(),
}
SEED_HEADLINES = {
    "000_0afdbc2315d05444.txt": None,
    "001_9282963c915c7207.txt": None,
    "002_5f75a4b7e3170e15.txt": "ByteDance, la société mère de TikTok, serait en train de "
    "développer ses propres puces IA",
    "003_8a499cfd293259c1.txt": None,
    "004_2ce192f800cc9e70.txt": "ByteDance achète des puces Nvidia malgré les restrictions "
    "américaines",
}


@pytest.fixture(scope="module")
def seeds() -> dict[str, Document]:
    loaded = load_corpus(SEEDS)
    assert loaded.skipped == ()
    return {document.name: document for document in loaded.documents}


def _line_contents(text: str) -> list[str]:
    """Each non-blank line, stripped and without its list marker."""
    lines = (line.strip() for line in text.splitlines())
    return [line.removeprefix("• ") for line in lines if line]


def test_all_seed_articles_are_loaded(seeds: dict[str, Document]) -> None:
    assert sorted(seeds) == sorted(path.name for path in SEEDS.glob("*.txt"))
    assert set(seeds) == set(SEED_DROPPED)


@pytest.mark.parametrize("name", sorted(SEED_DROPPED))
def test_seed_boilerplate_is_dropped_and_content_kept(
    seeds: dict[str, Document], name: str
) -> None:
    document = seeds[name]
    kept = [document.block_text(block) for block in document.blocks]
    expected = [line for line in _line_contents(document.text) if line not in SEED_DROPPED[name]]
    assert kept == expected


@pytest.mark.parametrize("name", sorted(SEED_DROPPED))
def test_seed_blocks_map_to_the_original_text(seeds: dict[str, Document], name: str) -> None:
    document = seeds[name]
    original = (SEEDS / name).read_bytes().decode("utf-8").removeprefix("\ufeff")
    assert document.text == original
    previous_end = 0
    for block in document.blocks:
        assert previous_end <= block.start < block.end <= len(original)
        line_start = original.rfind("\n", 0, block.start) + 1
        line_end = original.find("\n", block.end)
        line = original[line_start : len(original) if line_end < 0 else line_end]
        assert line.strip().endswith(original[block.start : block.end])
        previous_end = block.end


@pytest.mark.parametrize("name", sorted(SEED_HEADLINES))
def test_seed_headline(seeds: dict[str, Document], name: str) -> None:
    assert seeds[name].headline == SEED_HEADLINES[name]


def test_seed_section_headings_are_headings(seeds: dict[str, Document]) -> None:
    document = seeds["002_5f75a4b7e3170e15.txt"]
    headings = [document.block_text(b) for b in document.blocks if b.kind == "heading"]
    assert headings[1:] == [
        "Principaux renseignements",
        "Expertise de Samsung",
        "Concurrence",
        "Stratégie IA de ByteDance",
        "Engagement interne",
    ]


# --- refused files and metadata sidecars -------------------------------------------------------


def test_oversized_and_out_of_folder_files_are_refused_and_the_rest_is_read(
    tmp_path: Path,
) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "ok.txt").write_text(article("Titre", PARAGRAPH), encoding="utf-8")
    (corpus / "big.txt").write_text(article("Titre", PARAGRAPH * 30), encoding="utf-8")
    secret = tmp_path / "secret.txt"
    secret.write_text(article("Secret", OTHER_PARAGRAPH), encoding="utf-8")
    (corpus / "leak.txt").symlink_to(secret)
    (corpus / "inside.txt").symlink_to(corpus / "ok.txt")

    corpus_read = load_corpus(corpus, max_bytes=1000)

    assert [d.name for d in corpus_read.documents] == ["inside.txt", "ok.txt"]
    reasons = {s.name: s.reason for s in corpus_read.skipped}
    assert reasons["big.txt"].endswith("over the 1000-byte limit (QA_MAX_ARTICLE_BYTES)")
    assert reasons["leak.txt"] == "a symbolic link leading outside the corpus folder"
    assert fingerprint(corpus, max_bytes=1000)["leak.txt"] == "unreadable"


def test_a_sidecar_gives_an_article_its_url_and_date(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text(article("Titre", PARAGRAPH), encoding="utf-8")
    (tmp_path / "a.meta.json").write_text(
        '{"url": "https://example.org/a", "published": "2024-05-01"}', encoding="utf-8"
    )
    (tmp_path / "b.txt").write_text(article("Titre", PARAGRAPH), encoding="utf-8")
    (tmp_path / "b.meta.json").write_text('{"published": "mai 2024"}', encoding="utf-8")
    (tmp_path / "c.txt").write_text(article("Titre", PARAGRAPH), encoding="utf-8")

    corpus = load_corpus(tmp_path)

    a, c = corpus.documents
    assert (a.metadata.url, str(a.metadata.published)) == ("https://example.org/a", "2024-05-01")
    assert (c.metadata.url, c.metadata.published) == (None, None)
    assert corpus.skipped[0].name == "b.txt"
    assert corpus.skipped[0].reason.startswith("unreadable metadata b.meta.json: ")


def test_a_sidecar_url_other_than_http_skips_its_article_with_the_reason(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text(article("Titre", PARAGRAPH), encoding="utf-8")
    (tmp_path / "b.txt").write_text(article("Titre", PARAGRAPH), encoding="utf-8")
    (tmp_path / "b.meta.json").write_text('{"url": "javascript:alert(1)"}', encoding="utf-8")

    corpus = load_corpus(tmp_path)

    assert [d.name for d in corpus.documents] == ["a.txt"]
    assert [(s.name, s.reason) for s in corpus.skipped] == [
        (
            "b.txt",
            "unreadable metadata b.meta.json: url: only http:// and https:// URLs with a host "
            "are stored (got 'javascript:alert(1)')",
        )
    ]


# --- control characters ---------------------------------------------------------------------


def test_an_article_with_a_control_character_is_refused_saying_where() -> None:
    data = article("Titre", PARAGRAPH, "Une ligne\x00 de plus.").encode()

    with pytest.raises(CorpusError) as refused:
        parse_document("nul.txt", data)

    assert str(refused.value) == (
        "control character U+0000 at line 3, column 10 (not allowed in an article)"
    )


def test_a_corpus_file_with_a_control_character_is_skipped_with_its_line(corpus: Path) -> None:
    (corpus / "escape.txt").write_text(article("Titre", "\x1b[2J" + PARAGRAPH), encoding="utf-8")
    (corpus / "tabs.txt").write_text(article("Titre", "\t" + PARAGRAPH), encoding="utf-8")

    loaded = load_corpus(corpus)

    assert [d.name for d in loaded.documents] == ["good.txt", "tabs.txt"]
    reasons = {s.name: s.reason for s in loaded.skipped}
    assert reasons["escape.txt"].startswith("control character U+001B at line 2, column 1")


# --- entries that are not article files: one skip line each, never opened ---------------------


@contextmanager
def within(seconds: float) -> Iterator[None]:
    """Fails the block if it takes longer than `seconds` (a FIFO opened for reading with no
    writer blocks forever)."""

    def expire(_signal: int, _frame: object) -> None:
        raise TimeoutError(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


ODD_ENTRIES: dict[str, tuple[Callable[[Path], object], str]] = {
    "pipe.txt": (lambda c: os.mkfifo(c / "pipe.txt"), "a FIFO, not a regular file (not read)"),
    "loop.txt": (lambda c: (c / "loop.txt").symlink_to("loop.txt"), "a symbolic link loop"),
    "gone.txt": (
        lambda c: (c / "gone.txt").symlink_to("nowhere.txt"),
        "a symbolic link to a missing file (nowhere.txt)",
    ),
    "folder.txt": (
        lambda c: (c / "folder.txt").mkdir(),
        "a folder, not a file (subfolders are not read)",
    ),
    "orphan.meta.json": (
        lambda c: (c / "orphan.meta.json").write_text('{"published": "2024-05-01"}', "utf-8"),
        "metadata of an article orphan, which is missing",
    ),
}


@pytest.mark.parametrize("name", ODD_ENTRIES)
def test_an_entry_that_is_not_an_article_file_is_skipped_with_why(corpus: Path, name: str) -> None:
    make, reason = ODD_ENTRIES[name]
    make(corpus)

    with within(10):
        loaded = load_corpus(corpus)
        hashes = fingerprint(corpus)

    assert [d.name for d in loaded.documents] == ["good.txt"]
    assert {s.name: s.reason for s in loaded.skipped}[name] == reason
    assert hashes[name] == "unreadable"  # so that an index of this corpus is not stale


def test_every_odd_entry_gets_its_own_line_in_name_order(corpus: Path) -> None:
    for make, _ in ODD_ENTRIES.values():
        make(corpus)

    with within(10):
        loaded = load_corpus(corpus)

    assert [s.name for s in loaded.skipped] == sorted(
        [*ODD_ENTRIES, "boilerplate.txt", "empty.txt", "latin1.txt"]
    )


def test_a_sidecar_that_is_a_fifo_skips_its_article_unopened(corpus: Path) -> None:
    os.mkfifo(corpus / "good.meta.json")

    with within(10), pytest.raises(CorpusError) as refused:
        load_corpus(corpus)

    assert "good.txt: unreadable metadata good.meta.json: a FIFO, not a regular file" in str(
        refused.value
    )
