"""A sentence-transformers folder that ships its own ONNX graph (`onnx/model.onnx`, where
model-hub repositories and sentence-transformers' ONNX backend keep it): what it takes to run
it under onnxruntime without sentence-transformers.

sentence-transformers runs such a folder through `optimum-onnx`, which pins versions of
transformers older than the ones this project needs; the folder's own files say everything
that is needed instead: the graph gives one vector per token, `1_Pooling/config.json` how to
pool them, `sentence_bert_config.json` where texts are cut, `tokenizer.json` the tokenizer.
Only pipelines this service can reproduce exactly are accepted: a transformer, one pooling
(cls, mean, max or last token, prompt included), optionally a normalisation — the service
normalises every vector anyway. Anything else is a `ModelError` that names the way out.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal, get_args

from qa.errors import ModelError

Pooling = Literal["cls", "mean", "max", "lasttoken"]

ONNX_FILE: Final = Path("onnx") / "model.onnx"
TOKENIZER_FILE: Final = "tokenizer.json"
# sentence-transformers' older pooling configs: one boolean per mode.
_LEGACY_POOLING_KEYS: Final = {
    "pooling_mode_cls_token": "cls",
    "pooling_mode_mean_tokens": "mean",
    "pooling_mode_max_tokens": "max",
    "pooling_mode_mean_sqrt_len_tokens": "mean_sqrt_len_tokens",
    "pooling_mode_weightedmean_tokens": "weightedmean",
    "pooling_mode_lasttoken": "lasttoken",
}
_WAY_OUT: Final = "set QA_ENCODER_BACKEND=torch to run it through sentence-transformers"


@dataclass(frozen=True)
class OnnxFolder:
    """How to run a model folder's own ONNX graph."""

    onnx_file: Path
    tokenizer_file: Path
    pooling: Pooling
    max_tokens: int


def find_onnx_folder(folder: Path) -> OnnxFolder | None:
    """The ONNX plan of a sentence-transformers `folder`; None when it has no ONNX graph.

    ModelError when it has one that this service cannot run as sentence-transformers would."""
    onnx_file = folder / ONNX_FILE
    if not onnx_file.is_file():
        return None
    where = f"model folder {folder}"
    modules = _read_json(folder / "modules.json", where)
    if not isinstance(modules, list) or not all(isinstance(module, dict) for module in modules):
        raise ModelError(f"{where}: modules.json is not a list of modules")
    kinds = [str(module.get("type", "")).rsplit(".", 1)[-1] for module in modules]
    if kinds not in (["Transformer", "Pooling"], ["Transformer", "Pooling", "Normalize"]):
        raise ModelError(
            f"{where} has an ONNX graph but its modules are {', '.join(kinds)}: only "
            f"Transformer, Pooling and Normalize run under onnxruntime here; {_WAY_OUT}"
        )
    pooling_config = _read_object(folder / modules[1].get("path", "") / "config.json", where)
    tokenizer_file = folder / TOKENIZER_FILE
    if not tokenizer_file.is_file():
        raise ModelError(f"{where} has an ONNX graph but no {TOKENIZER_FILE}; {_WAY_OUT}")
    bert_config = _read_object(folder / "sentence_bert_config.json", where, missing={})
    return OnnxFolder(
        onnx_file=onnx_file,
        tokenizer_file=tokenizer_file,
        pooling=_pooling(pooling_config, where),
        max_tokens=int(bert_config.get("max_seq_length") or 512),
    )


def _pooling(config: dict[str, Any], where: str) -> Pooling:
    modes = config.get("pooling_mode")
    if modes is None:
        modes = [mode for key, mode in _LEGACY_POOLING_KEYS.items() if config.get(key)] or "mean"
    if isinstance(modes, list) and len(modes) == 1:
        modes = modes[0]
    if not isinstance(modes, str) or modes not in get_args(Pooling):
        raise ModelError(
            f"{where}: pooling {modes!r} does not run under onnxruntime here "
            f"(one of {', '.join(get_args(Pooling))}); {_WAY_OUT}"
        )
    if config.get("include_prompt", True) is False:
        raise ModelError(
            f"{where}: pooling that leaves the prompt out is not supported; {_WAY_OUT}"
        )
    return modes  # type: ignore[return-value]  # checked against Pooling's values above


def _read_object(file: Path, where: str, missing: dict[str, Any] | None = None) -> dict[str, Any]:
    config = _read_json(file, where, missing)
    if not isinstance(config, dict):
        raise ModelError(f"{where}: {file.name} is not a JSON object")
    return config


def _read_json(file: Path, where: str, missing: Any = None) -> Any:
    try:
        return json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        if missing is not None:
            return missing
        raise ModelError(f"{where} has an ONNX graph but no {file.name}") from None
    except (OSError, ValueError) as error:
        raise ModelError(f"{where}: cannot read {file.name}: {error}") from error
