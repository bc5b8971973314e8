"""Token vectors to one unit vector per text, as sentence-transformers' `Pooling` and
`Normalize` compute them (for graphs that return one vector per token)."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from qa.search.encoders.base import Vectors
from qa.search.encoders.onnx_folder import Pooling


def pool(states: NDArray[np.float32], mask: NDArray[np.int64], mode: Pooling) -> Vectors:
    """Unit vectors of `states` (texts x tokens x dimension) over the tokens of `mask`
    (texts x tokens, 1 for a real token, padding at the end)."""
    real = mask[:, :, None].astype(np.float32)
    if mode == "cls":
        pooled = states[:, 0]
    elif mode == "mean":
        pooled = (states * real).sum(axis=1) / np.maximum(real.sum(axis=1), 1e-9)
    elif mode == "max":
        pooled = np.where(real > 0, states, -np.inf).max(axis=1)
    else:  # lasttoken: the last real token of each text
        last = np.maximum(mask.sum(axis=1) - 1, 0)
        pooled = states[np.arange(len(states)), last]
    norms = np.linalg.norm(pooled, axis=1, keepdims=True)
    return np.asarray(pooled / np.maximum(norms, 1e-12), dtype=np.float32)
