"""An encoder backed by sentence-transformers (and so torch): any model it can load.

The only module that imports sentence_transformers."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from qa.errors import ModelError
from qa.search.encoders.base import Vectors


class SentenceTransformerEncoder:
    """An `Encoder` backed by a sentence-transformers model on the CPU."""

    def __init__(
        self,
        model_id: str,
        location: str,
        *,
        query_prompt: str,
        passage_prompt: str,
        batch_size: int = 32,
        local_only: bool = False,
    ) -> None:
        from sentence_transformers import SentenceTransformer  # heavy: import on first load only
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()  # type: ignore[no-untyped-call]  # one "Loading weights" bar per start is noise

        try:
            self._model = SentenceTransformer(location, device="cpu", local_files_only=local_only)
        except Exception as error:  # the library raises many kinds (OSError, ValueError, ...)
            detail = " ".join(str(error).split())  # its messages run over several lines
            raise ModelError(f"cannot load embedding model {location!r}: {detail}") from error
        self.model_id = model_id
        self.precision = "fp32"
        dimension = self._model.get_embedding_dimension()
        if dimension is None:
            raise ModelError(f"model {model_id!r} does not say its embedding dimension")
        self.dimension = int(dimension)
        self.query_prompt = query_prompt
        self.passage_prompt = passage_prompt
        self.batch_size = batch_size

    def count_tokens(self, text: str) -> int:
        return len(self._model.tokenizer(text, add_special_tokens=False)["input_ids"])

    def embed_queries(self, texts: Sequence[str]) -> Vectors:
        return self._encode(texts, self.query_prompt, progress=False)

    def embed_passages(self, texts: Sequence[str], *, progress: bool = False) -> Vectors:
        return self._encode(texts, self.passage_prompt, progress=progress)

    def _encode(self, texts: Sequence[str], prompt: str, *, progress: bool) -> Vectors:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self._model.encode(
            list(texts),
            prompt=prompt,
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=progress,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)
