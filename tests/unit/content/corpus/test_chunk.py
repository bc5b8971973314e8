"""Chunking: French sentence segmentation, token-bounded passages, overlap, context, offsets, on
made-up text with a fake encoder (one token per word; the real articles with the real tokenizer:
tests/integration/test_chunk.py)."""

from __future__ import annotations

import unicodedata

import pytest

from qa.content.corpus.blocks import normalize
from qa.content.corpus.chunk import Chunk, ChunkingConfig, chunk_document, split_sentences
from qa.content.corpus.ingest import Document, parse_document
from tests.conftest import FakeEncoder, assert_offsets_exact

PREFIX = "passage: "


def sentences(text: str) -> list[str]:
    return [text[span.start : span.end] for span in split_sentences(text)]


def document(text: str, name: str = "article.txt") -> Document:
    return parse_document(name, text.encode("utf-8"))


def config(max_tokens: int = 256, overlap: int = 1) -> ChunkingConfig:
    return ChunkingConfig(max_tokens=max_tokens, overlap_sentences=overlap, prefix=PREFIX)


def numbered(count: int, words: int) -> list[str]:
    """`count` distinct sentences of exactly `words` words (as the fake encoder counts them)."""
    filler = " ".join(["mot"] * (words - 5))
    return [f"La phrase {n} compte {filler} fin." for n in range(1, count + 1)]


# --- sentence segmentation -------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "ByteDance investit 19,4 milliards d’euros dans l’IA cette année.",
        "Il achète des puces de Nvidia Corp (NASDAQ:NVDA), en dehors de la Chine.",
        "M. Zhang Yiming a rencontré Mme Durand et le Dr. Martin à Pékin.",
        "Selon J. Smith, la puce SeedChip sortira en mars.",
        "Les géants américains comme Google, Amazon, etc. développent leurs puces.",
        "Il a déclaré « Nous sommes prêts. Nous irons vite ! » devant la presse.",
        "Il a dit « non ! » et il est parti.",
        "Qu’en pense-t-il ? demande le journaliste.",
        "Il hésite… puis accepte l’offre.",
        "Les U.S.A. restreignent les exportations de puces.",
        "La croissance atteint 3.5 % sur un an.",
    ],
)
def test_no_split_inside_a_sentence(text: str) -> None:
    assert sentences(text) == [text]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "ByteDance achète des puces. Le groupe accélère.",
            ["ByteDance achète des puces.", "Le groupe accélère."],
        ),
        (
            "Quelle puce ? La H20 ! Elle vient de Nvidia.",
            ["Quelle puce ?", "La H20 !", "Elle vient de Nvidia."],
        ),
        (
            "Il a répondu : « Nous n’avons rien à cacher. » Le groupe a publié un communiqué.",
            ["Il a répondu : « Nous n’avons rien à cacher. »", "Le groupe a publié un communiqué."],
        ),
        (
            "Il cite “The Information.” Puis il part.",
            ["Il cite “The Information.”", "Puis il part."],
        ),
        (
            "ByteDance hésite… Puis il accepte.",
            ["ByteDance hésite…", "Puis il accepte."],
        ),
        (
            "Il vend des puces, des serveurs, etc. Le groupe grandit.",
            ["Il vend des puces, des serveurs, etc.", "Le groupe grandit."],
        ),
        (
            "ByteDance est désormais numéro 1. Il devance Tencent.",
            ["ByteDance est désormais numéro 1.", "Il devance Tencent."],
        ),
        (
            "Elle a dit non. « Jamais », a-t-elle ajouté.",
            ["Elle a dit non.", "« Jamais », a-t-elle ajouté."],
        ),
        (
            "Les livraisons commencent en 2025. 100 000 unités sont prévues.",
            ["Les livraisons commencent en 2025.", "100 000 unités sont prévues."],
        ),
    ],
)
def test_split_at_sentence_ends(text: str, expected: list[str]) -> None:
    assert sentences(text) == expected


def test_sentence_spans_stay_in_the_given_range_and_exclude_spaces() -> None:
    text = "Titre\n  Première phrase ici.   Seconde phrase là.  \nAutre ligne."
    start = text.index("  Première")
    end = text.index("\nAutre")
    spans = split_sentences(text, start, end)
    assert [text[s.start : s.end] for s in spans] == ["Première phrase ici.", "Seconde phrase là."]
    assert all(start <= s.start < s.end <= end for s in spans)


# --- passages: offsets, ids, context ---------------------------------------------------------

ARTICLE = (
    "Samsung fabriquera la puce de ByteDance\n"
    "ByteDance développe sa propre puce, baptisée SeedChip. Samsung la fabriquera.\n"
    "Les premières unités sont attendues en mars.\n"
    "Lire aussi :\n"
    "Le budget dépasse 160 milliards de yuans. Il vise les centres de données.\n"
    "Concurrence\n"
    "Alibaba et Baidu ont pris de l’avance. Alibaba a dévoilé sa puce Zhenwu.\n"
)


def test_chunk_text_is_the_original_slice(fake_encoder: FakeEncoder) -> None:
    doc = document(ARTICLE)
    chunks = chunk_document(doc, fake_encoder.count_tokens, config())
    assert chunks
    assert_offsets_exact(doc, chunks)


def test_chunks_record_source_and_ids_in_order(fake_encoder: FakeEncoder) -> None:
    chunks = chunk_document(document(ARTICLE, "002_x.txt"), fake_encoder.count_tokens, config())
    assert {c.source for c in chunks} == {"002_x.txt"}
    assert [c.chunk_id for c in chunks] == [f"002_x.txt#{i}" for i in range(len(chunks))]


def test_chunking_twice_gives_the_same_chunks(fake_encoder: FakeEncoder) -> None:
    first = chunk_document(document(ARTICLE), fake_encoder.count_tokens, config())
    second = chunk_document(document(ARTICLE), fake_encoder.count_tokens, config())
    assert first == second


def test_chunk_never_crosses_a_dropped_line_or_a_heading(fake_encoder: FakeEncoder) -> None:
    chunks = chunk_document(document(ARTICLE), fake_encoder.count_tokens, config())
    assert [c.text for c in chunks] == [
        "ByteDance développe sa propre puce, baptisée SeedChip. Samsung la fabriquera.\n"
        "Les premières unités sont attendues en mars.",
        "Le budget dépasse 160 milliards de yuans. Il vise les centres de données.",
        "Alibaba et Baidu ont pris de l’avance. Alibaba a dévoilé sa puce Zhenwu.",
    ]


def test_context_is_headline_and_heading(fake_encoder: FakeEncoder) -> None:
    chunks = chunk_document(document(ARTICLE), fake_encoder.count_tokens, config())
    headline = "Samsung fabriquera la puce de ByteDance"
    assert [c.context for c in chunks] == [headline, headline, f"{headline} — Concurrence"]


def test_context_without_headline_is_the_section_heading(fake_encoder: FakeEncoder) -> None:
    text = (
        "ByteDance développe sa propre puce. Samsung la fabriquera.\n"
        "Expertise de Samsung\n"
        "Samsung maîtrise la mémoire. Elle est très demandée.\n"
    )
    chunks = chunk_document(document(text), fake_encoder.count_tokens, config())
    assert [c.context for c in chunks] == ["", "Expertise de Samsung"]


def test_consecutive_headings_all_head_the_passage(fake_encoder: FakeEncoder) -> None:
    text = (
        "ByteDance veut des puces. Le groupe investit.\n"
        "Le rôle de Nvidia : un jeu à double tranchant\n"
        "Alors, comment ByteDance contourne-t-il l’interdiction ?\n"
        "Il achète des puces H20. Elles respectent les règles.\n"
    )
    chunks = chunk_document(document(text), fake_encoder.count_tokens, config())
    assert chunks[-1].text == "Il achète des puces H20. Elles respectent les règles."
    assert "Le rôle de Nvidia : un jeu à double tranchant" in chunks[-1].context
    assert "Alors, comment ByteDance contourne-t-il l’interdiction ?" in chunks[-1].context


def test_items_of_a_list_are_packed_together(fake_encoder: FakeEncoder) -> None:
    text = (
        "Principaux renseignements\n"
        "  • ByteDance développe sa propre puce IA.\n"
        "  • Samsung fabriquera la puce.\n"
        "  • Le budget dépasse 160 milliards de yuans.\n"
    )
    doc = document(text)
    chunks = chunk_document(doc, fake_encoder.count_tokens, config())
    assert len(chunks) == 1
    assert chunks[0].text.startswith("ByteDance développe")
    assert chunks[0].text.endswith("160 milliards de yuans.")
    assert len(chunks[0].sentences) == 3


def test_match_text_is_context_then_normalised_text(fake_encoder: FakeEncoder) -> None:
    raw = unicodedata.normalize("NFD", "Les États-Unis\r\nLe réseau de Pékin grandit.\r\n")
    doc = document(raw)
    [chunk] = chunk_document(doc, fake_encoder.count_tokens, config())
    assert chunk.text == unicodedata.normalize("NFD", "Le réseau de Pékin grandit.")
    assert chunk.match_text == "Les États-Unis\nLe réseau de Pékin grandit."
    assert chunk.text_of(chunk.sentences[0]) == "Le réseau de Pékin grandit."


def test_crlf_and_bom_keep_offsets_exact(fake_encoder: FakeEncoder) -> None:
    raw = (
        "\ufeffSamsung fabriquera la puce\r\n"
        "\r\n"
        "ByteDance développe sa puce. Samsung la fabriquera.\r\n"
        "\r\n"
        "Les premières unités arrivent en mars.\r\n"
        "Partager cet article\r\n"
        "Le budget dépasse 160 milliards.\r\n"
    )
    doc = document(raw)
    assert doc.text == raw.removeprefix("\ufeff")
    chunks = chunk_document(doc, fake_encoder.count_tokens, config())
    assert_offsets_exact(doc, chunks)
    assert [normalize(c.text) for c in chunks] == [
        "ByteDance développe sa puce. Samsung la fabriquera.\n\n"
        "Les premières unités arrivent en mars.",
        "Le budget dépasse 160 milliards.",
    ]
    assert all(not c.text.endswith("\r") and "\r" not in c.match_text for c in chunks)


# --- token budget, overlap, long sentences (fake encoder: one token per word) -----------------


def budget_of(chunk: Chunk, cfg: ChunkingConfig, encoder: FakeEncoder) -> int:
    context = cfg.prefix + chunk.context + "\n" if chunk.context else cfg.prefix
    return cfg.max_tokens - 2 - encoder.count_tokens(context)


def test_next_passage_starts_with_the_last_sentence_when_it_fits(
    fake_encoder: FakeEncoder,
) -> None:
    # Budget: 32 - 2 special tokens - 1 for the prefix = 29 words; sentences of 10 words.
    s = numbered(5, 10)
    chunks = chunk_document(document(" ".join(s)), fake_encoder.count_tokens, config(32))
    assert [c.text for c in chunks] == [
        f"{s[0]} {s[1]}",
        f"{s[1]} {s[2]}",
        f"{s[2]} {s[3]}",
        f"{s[3]} {s[4]}",
    ]


def test_no_overlap_when_the_last_sentence_leaves_no_room(fake_encoder: FakeEncoder) -> None:
    s = numbered(3, 15)  # two of them (30 words) exceed the 29-word budget
    chunks = chunk_document(document(" ".join(s)), fake_encoder.count_tokens, config(32))
    assert [c.text for c in chunks] == s


def test_no_overlap_when_disabled(fake_encoder: FakeEncoder) -> None:
    s = numbered(5, 10)
    chunks = chunk_document(document(" ".join(s)), fake_encoder.count_tokens, config(32, 0))
    assert [c.text for c in chunks] == [f"{s[0]} {s[1]}", f"{s[2]} {s[3]}", s[4]]


def test_overlap_never_crosses_a_dropped_line(fake_encoder: FakeEncoder) -> None:
    s = numbered(2, 10)
    text = f"{s[0]}\nPhoto : AFP\n{s[1]}\n"
    chunks = chunk_document(document(text), fake_encoder.count_tokens, config(32))
    assert [c.text for c in chunks] == s


def test_sentence_longer_than_the_budget_is_cut_at_word_boundaries(
    fake_encoder: FakeEncoder,
) -> None:
    words = [f"mot{i}" for i in range(100)]
    text = "Début " + " ".join(words) + " fin."
    doc = document(text)
    cfg = config(32)
    chunks = chunk_document(doc, fake_encoder.count_tokens, cfg)
    assert len(chunks) > 1
    for chunk in chunks:
        assert fake_encoder.count_tokens(chunk.text) <= budget_of(chunk, cfg, fake_encoder)
        assert chunk.start == 0 or text[chunk.start - 1] == " "
        assert chunk.end == len(text) or text[chunk.end] == " "
    # The pieces follow each other and cover the whole sentence.
    assert " ".join(c.text for c in chunks) == text


def test_long_context_is_shortened_to_leave_room_for_text(fake_encoder: FakeEncoder) -> None:
    headline = "Un titre de seize mots qui décrit longuement ce que fait ByteDance en Chine"
    heading = "Une section au titre lui aussi fort long et bavard sans point final"
    text = f"{headline}\n{heading}\nByteDance achète des puces. Il investit.\n"
    cfg = config(32)
    [chunk] = chunk_document(document(text), fake_encoder.count_tokens, cfg)
    used = fake_encoder.count_tokens(cfg.prefix + chunk.context + "\n" + chunk.text) + 2
    assert used <= cfg.max_tokens
    assert chunk.text == "ByteDance achète des puces. Il investit."
