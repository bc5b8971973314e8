"""An encoder that runs an exported model (`onnx_export`) under onnxruntime, without torch.

The only module that imports onnxruntime for inference. Texts become token ids through the
tokenizer it is given (`SentencePieceTokenizer` for the default model); the graph itself pools
and normalises.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from qa.errors import ModelError
from qa.search.encoders.base import Vectors
from qa.search.encoders.onnx_folder import Pooling
from qa.search.encoders.pooling import pool

TokenIds = list[int]


class Tokenizer(Protocol):
    """Token ids of the model's vocabulary."""

    pad_id: int

    def ids(self, texts: Sequence[str]) -> list[TokenIds]:
        """Each text's ids with the model's start and end tokens, uncut."""
        ...

    def count(self, text: str) -> int:
        """How many tokens `text` makes, without start and end tokens."""
        ...


def cores() -> int:
    """CPU cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


class OnnxEncoder:
    """An `Encoder` over an ONNX graph taking `input_ids` and `attention_mask` (and
    `token_type_ids` if it asks for them) and returning either unit sentence vectors (the
    default model's export, `pooling=None`) or one vector per token, pooled here."""

    def __init__(
        self,
        model_id: str,
        onnx_file: Path,
        tokenizer: Tokenizer,
        *,
        query_prompt: str,
        passage_prompt: str,
        batch_size: int = 32,
        threads: int = 0,
        max_tokens: int = 512,
        precision: str = "fp32",
        pooling: Pooling | None = None,
    ) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        # One batch at a time uses every core; more threads than cores only contend.
        options.intra_op_num_threads = threads or cores()
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        # Idle threads sleep instead of spinning: the cores are shared with the web server's
        # threads (and, on a busy machine, other processes); spinning made a question 9x slower
        # in wall time on a loaded 2-core machine (48 ms against 5.4 ms, int8).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.log_severity_level = 3  # its warnings about unused initialisers are noise
        try:
            self._session = ort.InferenceSession(
                str(onnx_file), options, providers=["CPUExecutionProvider"]
            )
        except Exception as error:  # onnxruntime raises its own Fail/InvalidGraph kinds
            raise ModelError(f"cannot load ONNX model {onnx_file}: {error}") from error
        self._tokenizer = tokenizer
        self._pooling = pooling
        self._takes_token_types = any(
            graph_input.name == "token_type_ids" for graph_input in self._session.get_inputs()
        )
        outputs = {output.name: output for output in self._session.get_outputs()}
        # A hub export names its token vectors `last_hidden_state`; the default export has one
        # output, the sentence vectors.
        output = outputs.get("last_hidden_state") if pooling else None
        output = output or self._session.get_outputs()[0]
        self._output = output.name
        shape = output.shape
        if pooling is not None and len(shape) != 3:
            raise ModelError(
                f"ONNX model {onnx_file} gives {output.name} of shape {shape}, "
                "not one vector per token, which its folder's pooling expects"
            )
        if not isinstance(shape[-1], int):
            raise ModelError(f"ONNX model {onnx_file} does not say its embedding dimension")
        self.model_id = model_id
        self.precision = precision
        self.dimension = shape[-1]
        self.query_prompt = query_prompt
        self.passage_prompt = passage_prompt
        self.batch_size = batch_size
        self.max_tokens = max_tokens

    def count_tokens(self, text: str) -> int:
        return self._tokenizer.count(text)

    def embed_queries(self, texts: Sequence[str]) -> Vectors:
        return self._encode([self.query_prompt + text for text in texts])

    def embed_passages(self, texts: Sequence[str], *, progress: bool = False) -> Vectors:
        return self._encode([self.passage_prompt + text for text in texts], progress=progress)

    def _encode(self, texts: Sequence[str], *, progress: bool = False) -> Vectors:
        vectors = np.zeros((len(texts), self.dimension), dtype=np.float32)
        if not texts:
            return vectors
        ids = self._ids(texts)
        # Batches of similar lengths: a short text padded to a long one's length is wasted work.
        order = sorted(range(len(ids)), key=lambda row: len(ids[row]))
        batches = [
            order[start : start + self.batch_size]
            for start in range(0, len(order), self.batch_size)
        ]
        if progress:
            from tqdm import tqdm

            batches = tqdm(batches, desc="Batches", unit="batch")
        for rows in batches:
            vectors[rows] = self._run([ids[row] for row in rows])
        return vectors

    def _ids(self, texts: Sequence[str]) -> list[TokenIds]:
        """Token ids with special tokens, cut as the model's tokenizer cuts: the start of the
        text, then the closing special token."""
        return [
            ids if len(ids) <= self.max_tokens else ids[: self.max_tokens - 1] + ids[-1:]
            for ids in self._tokenizer.ids(texts)
        ]

    def _run(self, batch: Sequence[TokenIds]) -> NDArray[np.float32]:
        width = max(len(ids) for ids in batch)
        input_ids = np.full((len(batch), width), self._tokenizer.pad_id, dtype=np.int64)
        attention_mask = np.zeros((len(batch), width), dtype=np.int64)
        for row, ids in enumerate(batch):
            input_ids[row, : len(ids)] = ids
            attention_mask[row, : len(ids)] = 1
        feed = {"input_ids": input_ids, "attention_mask": attention_mask}
        if self._takes_token_types:
            feed["token_type_ids"] = np.zeros_like(input_ids)
        (output,) = self._session.run([self._output], feed)
        if self._pooling is None:
            return np.asarray(output, dtype=np.float32)
        return pool(np.asarray(output, dtype=np.float32), attention_mask, self._pooling)
