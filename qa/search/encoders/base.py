"""What the pipeline needs from an embedding model."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

Vectors = NDArray[np.float32]


class Encoder(Protocol):
    """What the pipeline needs from an embedding model."""

    model_id: str
    dimension: int
    precision: str  # of the weights: "fp32", or a quantisation that moves the vectors

    def count_tokens(self, text: str) -> int:
        """Model tokens in `text`, without special tokens."""
        ...

    def embed_queries(self, texts: Sequence[str]) -> Vectors:
        """Unit vectors of questions, query prompt applied."""
        ...

    def embed_passages(self, texts: Sequence[str], *, progress: bool = False) -> Vectors:
        """Unit vectors of passages, passage prompt applied."""
        ...
