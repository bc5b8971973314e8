"""Encoders: each turns text into unit vectors behind the `Encoder` protocol of `base`.

One module per implementation (`onnx` under onnxruntime, `sentence_transformer`), their
tokenizers and pooling, where the default model's files are (`default_model`), and `loading`,
which finds the model of the settings and builds its encoder. Only these modules import
onnxruntime or sentence-transformers. May import `qa.settings` and `qa.errors` only.
"""

from qa.search.encoders.base import Encoder, Vectors
from qa.search.encoders.loading import (
    ModelLocation,
    embed_once,
    load_encoder,
    locate_model,
    vectors_precision,
)

__all__ = [
    "Encoder",
    "ModelLocation",
    "Vectors",
    "embed_once",
    "load_encoder",
    "locate_model",
    "vectors_precision",
]
