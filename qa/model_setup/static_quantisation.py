"""Static int8 quantisation of the default model's ONNX export (`QA_ENCODER_PRECISION=int8-static`),
calibrated on the corpus's own texts, at set-up only.

onnxruntime's `quantize_static` in QDQ format: weights int8, one scale per output channel;
activations uint8 (what its x86 int8 kernels take: int8 activations ran 4x slower than float32
here), their ranges measured once by running the float32 graph on the calibration texts
(`calibration`, MinMax). Quantised: the word-embedding table and the linear layers of the
transformer, except the group the sensitivity table (docs/measurements.md) showed to lose
most, which stays float32. Not the default: it loses on the project's question set.
The attention's own products (query x key, weights x value) take no weights and stay float32.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Final

import numpy as np

from qa.model_setup.calibration import calibration_texts
from qa.search.encoders.onnx import Tokenizer

if TYPE_CHECKING:
    from onnxruntime.quantization import CalibrationDataReader

WORD_EMBEDDINGS: Final = "/transformer/embeddings/word_embeddings/Gather"
# The linear layers of each transformer layer, by what they compute.
LINEAR_KINDS: Final = {
    "query": "attention/self/query/MatMul",
    "key": "attention/self/key/MatMul",
    "value": "attention/self/value/MatMul",
    "attention output": "attention/output/dense/MatMul",
    "intermediate": "intermediate/dense/MatMul",
    "output": "layer.{layer}/output/dense/MatMul",
}
_LAYER: Final = re.compile(r"/layer\.(\d+)/")
# Kept float32: the feed-forward block's output projection in every layer. Its input comes out
# of GELU with a few large outliers, which one static range per tensor cannot hold: quantised,
# it alone moved the held-out questions' vectors from a cosine of 0.996 to 0.966.
FLOAT32_KINDS: Final = ("output",)
MAX_TOKENS: Final = 512


def kind_of(node: str) -> str | None:
    """Which of LINEAR_KINDS the MatMul `node` is, or None."""
    for kind, suffix in LINEAR_KINDS.items():
        if node.endswith(suffix.format(layer=layer_of(node))):
            return kind
    return None


def layer_of(node: str) -> int | None:
    found = _LAYER.search(node)
    return int(found.group(1)) if found else None


def quantisable_nodes(graph_nodes: Sequence[tuple[str, str]]) -> list[str]:
    """The names of the linear MatMuls and the word-embedding Gather among (name, op type)."""
    return [
        name
        for name, op_type in graph_nodes
        if name == WORD_EMBEDDINGS or (op_type == "MatMul" and kind_of(name) is not None)
    ]


def default_selection(nodes: Sequence[str]) -> list[str]:
    """What `int8-static` quantises of `quantisable_nodes`: all but FLOAT32_KINDS."""
    return [node for node in nodes if kind_of(node) not in FLOAT32_KINDS]


def token_feeds(texts: Sequence[str], tokenizer: Tokenizer) -> Iterator[dict[str, np.ndarray]]:
    """One text at a time, as the graph takes it: a batch of one is never padded."""
    for ids in tokenizer.ids(texts):
        cut = ids if len(ids) <= MAX_TOKENS else ids[: MAX_TOKENS - 1] + ids[-1:]
        input_ids = np.array([cut], dtype=np.int64)
        yield {"input_ids": input_ids, "attention_mask": np.ones_like(input_ids)}


def calibration_reader(texts: Sequence[str], tokenizer: Tokenizer) -> CalibrationDataReader:
    from onnxruntime.quantization import CalibrationDataReader

    class Feeds(CalibrationDataReader):  # type: ignore[misc]
        def __init__(self) -> None:
            self._feeds = token_feeds(texts, tokenizer)

        def get_next(self) -> dict[str, np.ndarray] | None:
            return next(self._feeds, None)

    return Feeds()


def graph_nodes(source: Path) -> list[tuple[str, str]]:
    import onnx

    graph = onnx.load(str(source), load_external_data=False).graph
    return [(node.name, node.op_type) for node in graph.node]


def quantise_static(source: Path, out: Path, tokenizer: Tokenizer) -> None:
    """Write `source` (the float32 export) statically quantised to `out`: `default_selection`,
    with ranges measured on the calibration texts."""
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static

    from qa.model_setup.onnx_export import without_pre_processing_advice

    with without_pre_processing_advice():
        quantize_static(
            str(source),
            str(out),
            calibration_reader(calibration_texts(), tokenizer),
            quant_format=QuantFormat.QDQ,
            per_channel=True,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            nodes_to_quantize=default_selection(quantisable_nodes(graph_nodes(source))),
            calibrate_method=CalibrationMethod.MinMax,
        )
