"""The poolings a model folder's `1_Pooling/config.json` can ask for, on token vectors made by
hand (a real folder's own ONNX graph against sentence-transformers:
tests/integration/test_onnx_folder.py)."""

from __future__ import annotations

import numpy as np

from qa.search.encoders.pooling import pool


def test_pooling_by_hand() -> None:
    """Two texts of 3 and 2 tokens (the second padded), 2 dimensions."""
    states = np.array(
        [[[3.0, 0.0], [0.0, 4.0], [1.0, 1.0]], [[0.0, 2.0], [2.0, 2.0], [9.0, 9.0]]],
        dtype=np.float32,
    )
    mask = np.array([[1, 1, 1], [1, 1, 0]], dtype=np.int64)

    def unit(*vector: float) -> list[float]:
        return list(np.array(vector) / np.linalg.norm(vector))

    assert np.allclose(pool(states, mask, "cls"), [unit(3, 0), unit(0, 2)])
    assert np.allclose(pool(states, mask, "mean"), [unit(4, 5), unit(2, 4)])
    assert np.allclose(pool(states, mask, "max"), [unit(3, 4), unit(2, 2)])
    assert np.allclose(pool(states, mask, "lasttoken"), [unit(1, 1), unit(2, 2)])
