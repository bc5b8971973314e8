"""The SentencePiece tokenizer refuses a damaged model file in one error (its ids against
`tokenizer.json` on real text: tests/integration/test_sentencepiece_tokenizer.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from qa.errors import ModelError
from qa.search.encoders.sentencepiece_tokenizer import SentencePieceTokenizer


def test_a_damaged_model_file_is_one_model_error(tmp_path: Path) -> None:
    model, table = tmp_path / "sentencepiece.model", tmp_path / "table.json"
    model.write_bytes(b"not a model")
    table.write_text("{}", encoding="utf-8")
    with pytest.raises(ModelError, match="cannot load the tokenizer"):
        SentencePieceTokenizer(model, table)
