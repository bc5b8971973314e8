"""A model folder's own `tokenizer.json` under the `tokenizers` library, for the ONNX encoder
(models other than the default, whose tokenizer runs under SentencePiece)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from qa.errors import ModelError


class HuggingFaceTokenizer:
    """Token ids for the ONNX encoder: `ids` with the model's special tokens, `count` without."""

    def __init__(self, tokenizer_file: Path) -> None:
        from tokenizers import Tokenizer

        try:
            tokenizer = Tokenizer.from_file(str(tokenizer_file))
        except Exception as error:  # tokenizers raises a bare Exception for a bad file
            raise ModelError(f"cannot load the tokenizer {tokenizer_file}: {error}") from error
        padding = (tokenizer.padding or {}).get("pad_id")
        if padding is None:
            found = (tokenizer.token_to_id(token) for token in ("<pad>", "[PAD]"))
            padding = next((id_ for id_ in found if id_ is not None), 0)
        self.pad_id: int = padding
        # The encoder pads and cuts itself; the file's own settings would do it again.
        tokenizer.no_padding()
        tokenizer.no_truncation()
        self._tokenizer = tokenizer

    def ids(self, texts: Sequence[str]) -> list[list[int]]:
        """Each text's token ids, special tokens included, uncut."""
        return [encoding.ids for encoding in self._tokenizer.encode_batch(list(texts))]

    def count(self, text: str) -> int:
        """How many tokens `text` makes, without special tokens."""
        return len(self._tokenizer.encode(text, add_special_tokens=False).ids)
