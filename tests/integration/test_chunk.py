"""Chunking of the real articles with the real tokenizer: passages fit the model's budget, keep
exact offsets and stable ids, stay within one section, cover every paragraph, carry their
headings and overlap by one sentence (the rules on made-up text:
tests/unit/content/corpus/test_chunk.py)."""

from __future__ import annotations

import itertools

import pytest

from qa.content.corpus.chunk import Chunk, ChunkingConfig, chunk_document
from qa.content.corpus.ingest import Document, load_corpus, parse_document
from qa.search.encoders.sentence_transformer import SentenceTransformerEncoder
from tests.conftest import SEEDS, assert_offsets_exact

PREFIX = "passage: "


def document(text: str, name: str = "article.txt") -> Document:
    return parse_document(name, text.encode("utf-8"))


def config(max_tokens: int = 256, overlap: int = 1) -> ChunkingConfig:
    return ChunkingConfig(max_tokens=max_tokens, overlap_sentences=overlap, prefix=PREFIX)


def is_blank(text: str) -> bool:
    """Only white space and list markers."""
    return not text.replace("•", "").strip()


# --- passages: offsets, ids, context ---------------------------------------------------------


# --- the real articles with the real tokenizer -----------------------------------------------


@pytest.fixture(scope="module")
def seed_documents() -> tuple[Document, ...]:
    return load_corpus(SEEDS).documents


def model_budget(chunk: Chunk, cfg: ChunkingConfig, encoder: SentenceTransformerEncoder) -> int:
    context = cfg.prefix + chunk.context + "\n" if chunk.context else cfg.prefix
    return cfg.max_tokens - 2 - encoder.count_tokens(context)


@pytest.mark.parametrize("max_tokens", [32, 64, 128, 256])
def test_real_passages_fit_the_model_budget(
    encoder: SentenceTransformerEncoder, seed_documents: tuple[Document, ...], max_tokens: int
) -> None:
    cfg = config(max_tokens)
    for doc in seed_documents:
        for chunk in chunk_document(doc, encoder.count_tokens, cfg):
            total = encoder.count_tokens(cfg.prefix + chunk.context + "\n" + chunk.text) + 2
            assert total <= max_tokens, chunk.chunk_id
            assert encoder.count_tokens(cfg.prefix + chunk.match_text) + 2 <= max_tokens


@pytest.mark.parametrize("max_tokens", [64, 256])
def test_real_passages_have_exact_offsets_and_stable_ids(
    encoder: SentenceTransformerEncoder, seed_documents: tuple[Document, ...], max_tokens: int
) -> None:
    for doc in seed_documents:
        chunks = chunk_document(doc, encoder.count_tokens, config(max_tokens))
        assert_offsets_exact(doc, chunks)
        assert {c.source for c in chunks} == {doc.name}
        assert chunks == chunk_document(doc, encoder.count_tokens, config(max_tokens))


@pytest.mark.parametrize("max_tokens", [64, 256])
def test_real_passages_stay_within_one_section(
    encoder: SentenceTransformerEncoder, seed_documents: tuple[Document, ...], max_tokens: int
) -> None:
    for doc in seed_documents:
        for chunk in chunk_document(doc, encoder.count_tokens, config(max_tokens)):
            inside = [b for b in doc.blocks if b.start < chunk.end and b.end > chunk.start]
            assert {b.kind for b in inside} == {"paragraph"}, chunk.chunk_id
            assert inside[0].start <= chunk.start
            assert chunk.end <= inside[-1].end
            for before, after in itertools.pairwise(inside):
                assert is_blank(doc.text[before.end : after.start]), chunk.chunk_id


@pytest.mark.parametrize("max_tokens", [64, 256])
def test_real_passages_cover_every_paragraph(
    encoder: SentenceTransformerEncoder, seed_documents: tuple[Document, ...], max_tokens: int
) -> None:
    for doc in seed_documents:
        covered = [False] * len(doc.text)
        for chunk in chunk_document(doc, encoder.count_tokens, config(max_tokens)):
            covered[chunk.start : chunk.end] = [True] * (chunk.end - chunk.start)
        for block in doc.blocks:
            if block.kind == "paragraph":
                missing = [i for i in range(block.start, block.end) if not covered[i]]
                assert all(doc.text[i].isspace() for i in missing), doc.name


def test_real_headings_are_carried_as_context(
    encoder: SentenceTransformerEncoder, seed_documents: tuple[Document, ...]
) -> None:
    for doc in seed_documents:
        chunks = chunk_document(doc, encoder.count_tokens, config(256))
        for position, heading in enumerate(doc.blocks):
            if heading.kind != "heading":
                continue
            headed = next(b for b in doc.blocks[position:] if b.kind == "paragraph")
            [first] = [c for c in chunks if c.start == headed.start]
            assert doc.block_text(heading) in first.context
        if doc.headline:
            assert all(c.context.startswith(doc.headline) for c in chunks)


@pytest.mark.parametrize("max_tokens", [64, 128, 256])
def test_real_passages_overlap_by_one_sentence_when_it_fits(
    encoder: SentenceTransformerEncoder, seed_documents: tuple[Document, ...], max_tokens: int
) -> None:
    cfg = config(max_tokens)
    overlaps = 0
    for doc in seed_documents:
        chunks = chunk_document(doc, encoder.count_tokens, cfg)
        for previous, current in itertools.pairwise(chunks):
            if current.start < previous.end:  # overlapping: exactly the last sentence
                assert current.sentences[0] == previous.sentences[-1]
                overlaps += 1
                continue
            same_section = previous.context == current.context and is_blank(
                doc.text[previous.end : current.start]
            )
            if not same_section:
                continue
            last = doc.text[slice(*previous.sentences[-1])]
            first = doc.text[slice(*current.sentences[0])]
            fits = encoder.count_tokens(last) + encoder.count_tokens(first) <= model_budget(
                current, cfg, encoder
            )
            assert not fits, f"{current.chunk_id} should repeat the last sentence before it"
    assert overlaps > 0


def test_real_long_sentence_is_cut_into_pieces_within_budget(
    encoder: SentenceTransformerEncoder,
) -> None:
    clause = "ByteDance achète des puces Nvidia H20 et développe SeedChip avec Samsung"
    text = "Enquête\n" + ", ".join([clause] * 25) + ".\n"
    doc = document(text)
    cfg = config(64)
    chunks = chunk_document(doc, encoder.count_tokens, cfg)
    assert len(chunks) > 2
    for chunk in chunks:
        assert encoder.count_tokens(cfg.prefix + chunk.context + "\n" + chunk.text) + 2 <= 64
        assert text[chunk.start - 1].isspace()
        assert text[chunk.end].isspace()
    assert " ".join(c.text for c in chunks) == text.split("\n")[1]
