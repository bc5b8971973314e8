"""Export a BERT-family sentence-transformers folder to ONNX, at set-up only.

The graph takes `input_ids` and `attention_mask` and returns the unit sentence vectors (mean
pooling over the mask, L2 normalisation inside the graph), so serving needs only onnxruntime
and the fast tokenizer. torch and transformers are imported here, when an export is made, and
never by a process that finds the export already on disk.

Each file is written under a hidden temporary name and renamed into place: a file with the
final name is always complete, and a second run finds it and does nothing.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import sys
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Final

from qa.errors import ModelError, require_extra
from qa.search.encoders.default_model import onnx_path
from qa.settings import EncoderPrecision

# What each dynamically quantised precision turns to int8 (onnxruntime's dynamic quantisation
# of the fp32 export): "int8-embeddings" only the word-embedding table (Gather), 250k x 384
# weights, four fifths of the model; "int8" every weight it can. "int8-static" is calibrated
# (`static_quantisation`).
QUANTISED_OPS: Final[dict[EncoderPrecision, list[str] | None]] = {
    "int8-embeddings": ["Gather"],
    "int8": None,
}

OPSET: Final = 17


# What a user waits for, once, on this project's 2-core machine (multilingual-e5-small, measured
# with the machine busy: about half as long on an idle one).
EXPORT_SECONDS: Final = 15
QUANTISATION_SECONDS: Final = 10
STATIC_QUANTISATION_SECONDS: Final = 40  # the calibration texts run through the graph first

# What onnxruntime's quantiser says on every model not run through its pre-processing (shape
# inference and graph optimisation, for convolutional image models): nothing a user can act on.
PRE_PROCESSING_ADVICE: Final = (
    "Please consider to run pre-processing",
    "Please consider pre-processing",
)


def ensure_onnx_model(model_folder: Path, precision: EncoderPrecision) -> Path:
    """The ONNX file of `model_folder` at `precision`, exported first if missing; says on
    stderr, in one line, what it does and about how long it takes."""
    target = onnx_path(model_folder, precision)
    if target.is_file():
        return target
    require_extra("setup", "exporting the default model to ONNX", "onnx")
    export = not onnx_path(model_folder, "fp32").is_file()
    quantise = precision != "fp32"
    what = {
        (True, False): "exporting the model to ONNX",
        (True, True): f"exporting the model to ONNX and quantising it ({precision})",
        (False, True): f"quantising the model's ONNX export ({precision})",
    }[export, quantise]
    quantising = STATIC_QUANTISATION_SECONDS if precision == "int8-static" else QUANTISATION_SECONDS
    seconds = EXPORT_SECONDS * export + quantising * quantise
    print(f"qa: {what} (once, about {seconds} s)", file=sys.stderr, flush=True)
    return _ensure_onnx_model(model_folder, precision)


def _ensure_onnx_model(model_folder: Path, precision: EncoderPrecision) -> Path:
    target = onnx_path(model_folder, precision)
    if target.is_file():
        return target
    try:
        target.parent.mkdir(exist_ok=True)
        if precision == "fp32":
            write_atomically(target, lambda scratch: _export_fp32(Path(model_folder), scratch))
        elif precision == "int8-static":
            source = _ensure_onnx_model(model_folder, "fp32")
            write_atomically(
                target, lambda scratch: _quantise_static(model_folder, source, scratch)
            )
        else:
            source = _ensure_onnx_model(model_folder, "fp32")
            ops = QUANTISED_OPS[precision]
            write_atomically(target, lambda scratch: _quantize_int8(source, scratch, ops))
    except OSError as error:
        raise ModelError(f"cannot export the model to ONNX in {target.parent}: {error}") from error
    return target


def write_atomically(target: Path, write: Callable[[Path], object]) -> None:
    """`write(scratch)` to a hidden sibling of `target`, then renamed to `target`."""
    scratch = target.with_name(f".{target.name}.tmp-{os.getpid()}-{secrets.token_hex(4)}")
    try:
        write(scratch)
        os.replace(scratch, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            scratch.unlink()


def _export_fp32(model_folder: Path, out: Path) -> None:
    import torch  # set-up only: serving never comes here once the file exists
    from transformers import AutoModel
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()  # type: ignore[no-untyped-call]

    class MeanPooledUnitVectors(torch.nn.Module):
        """The transformer, mean pooling over real tokens, L2 normalisation."""

        def __init__(self, transformer: torch.nn.Module) -> None:
            super().__init__()
            self.transformer = transformer

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            tokens = self.transformer(input_ids=input_ids, attention_mask=attention_mask)[0]
            mask = attention_mask.unsqueeze(-1).to(tokens.dtype)
            pooled = (tokens * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, p=2.0, dim=1)

    try:
        transformer = AutoModel.from_pretrained(
            str(model_folder),
            add_pooling_layer=False,
            local_files_only=True,
            # Plain attention traces to a graph valid for every shape; SDPA's shape tests
            # would be frozen at the example's.
            attn_implementation="eager",
        )
    except Exception as error:  # transformers raises OSError, ValueError, ...
        raise ModelError(f"cannot load {model_folder} to export it: {error}") from error
    wrapper = MeanPooledUnitVectors(transformer).eval()
    example = (torch.ones((2, 8), dtype=torch.int64), torch.ones((2, 8), dtype=torch.int64))
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer notes on constant shapes, for the user: noise
        torch.onnx.export(
            wrapper,
            example,
            str(out),
            dynamo=False,  # the TorchScript exporter: the dynamo one needs onnxscript
            input_names=["input_ids", "attention_mask"],
            output_names=["sentence_embedding"],
            dynamic_axes={
                "input_ids": {0: "batch", 1: "tokens"},
                "attention_mask": {0: "batch", 1: "tokens"},
                "sentence_embedding": {0: "batch"},
            },
            opset_version=OPSET,
            do_constant_folding=True,
        )


def _quantize_int8(source: Path, out: Path, ops: list[str] | None) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with without_pre_processing_advice():
        quantize_dynamic(
            str(source), str(out), op_types_to_quantize=ops, weight_type=QuantType.QInt8
        )


class _NotTheAdvice(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith(PRE_PROCESSING_ADVICE)


def _quantise_static(model_folder: Path, source: Path, out: Path) -> None:
    # Imported here: both import this module (write_atomically, the advice filter).
    from qa.model_setup.sentencepiece_export import ensure_sentencepiece_files
    from qa.model_setup.static_quantisation import quantise_static
    from qa.search.encoders.sentencepiece_tokenizer import SentencePieceTokenizer

    tokenizer = SentencePieceTokenizer(*ensure_sentencepiece_files(model_folder))
    quantise_static(source, out, tokenizer)


@contextlib.contextmanager
def without_pre_processing_advice() -> Iterator[None]:
    """Drop onnxruntime's pre-processing advice, which it logs on the root logger; let its other
    messages through. `logging.warning` would also give the root logger a stderr handler for the
    rest of the process when it has none: one is lent for the call instead."""
    root = logging.getLogger()
    advice = _NotTheAdvice()
    lent = None if root.handlers else logging.StreamHandler()
    root.addFilter(advice)
    if lent is not None:
        lent.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
        root.addHandler(lent)
    try:
        yield
    finally:
        root.removeFilter(advice)
        if lent is not None:
            root.removeHandler(lent)
