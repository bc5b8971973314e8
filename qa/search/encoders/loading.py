"""Find the model of the settings on this machine and load its encoder.

onnxruntime runs the default model and any model folder that ships its own ONNX graph;
sentence-transformers the others (or any model when asked). Nothing here writes a file: the
default model's files are made by `qa.model_setup` (`qa model`), and a missing one is a
`ModelError` that says so.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qa.errors import ModelError
from qa.search.encoders.base import Encoder, Vectors
from qa.search.encoders.default_model import (
    DEFAULT_MODEL_MAX_TOKENS,
    default_model_folder,
    is_complete,
    onnx_path,
    sentencepiece_files,
)
from qa.search.encoders.onnx_folder import OnnxFolder, find_onnx_folder
from qa.search.encoders.sentence_transformer import SentenceTransformerEncoder
from qa.settings import DEFAULT_MODEL, Settings

__all__ = [
    "ModelLocation",
    "embed_once",
    "load_encoder",
    "locate_model",
    "runs_on_onnx",
    "vectors_precision",
]

# A folder holding either is a sentence-transformers or a transformers model.
MODEL_FOLDER_FILES = ("modules.json", "config.json")


@dataclass(frozen=True)
class ModelLocation:
    """Where the model of the settings loads from."""

    source: str  # what sentence-transformers is given: a folder, or a model-hub name
    folder: str | None  # where it is on this machine; None: a hub name not downloaded yet
    onnx: str | None = None  # the default model's ONNX export, when the ONNX encoder runs it
    own_onnx: OnnxFolder | None = None  # another model's own ONNX graph, when it runs it


def runs_on_onnx(settings: Settings) -> bool:
    """Whether the settings' model runs under onnxruntime (the default model's export)."""
    return settings.model == DEFAULT_MODEL and settings.encoder_backend == "onnx"


def vectors_precision(settings: Settings) -> str:
    """The `Encoder.precision` of the settings' encoder, without loading it."""
    return settings.encoder_precision if runs_on_onnx(settings) else "fp32"


def locate_model(settings: Settings) -> ModelLocation:
    """Find the model of the settings without touching the network or writing a file.

    ModelError for what cannot be a model: the default model not set up yet (`qa model` sets it
    up), a missing folder given as a path, a file, a folder without a model, a name that the
    model hub would refuse. A hub name is looked up in the local Hugging Face cache.
    """
    if settings.model == DEFAULT_MODEL:
        return _default_model(settings)
    name = settings.model
    path = Path(name).expanduser()
    if path.is_dir():
        if not any((path / file).is_file() for file in MODEL_FOLDER_FILES):
            raise ModelError(
                f"model folder {name} (QA_MODEL) holds no model: "
                f"it has no {' or '.join(MODEL_FOLDER_FILES)}"
            )
        return _with_own_onnx(ModelLocation(str(path), str(path)), settings)
    if path.exists():
        raise ModelError(f"model {name} (QA_MODEL) is a file, not a model folder")
    if _looks_like_path(name):
        raise ModelError(f"model folder {name} (QA_MODEL) does not exist")
    from huggingface_hub import try_to_load_from_cache
    from huggingface_hub.errors import HFValidationError

    try:
        cached = [try_to_load_from_cache(name, file) for file in MODEL_FOLDER_FILES]
    except HFValidationError:
        raise ModelError(
            f"model {name!r} (QA_MODEL) is neither an existing folder nor a valid model-hub "
            "name (organisation/model)"
        ) from None
    found = [str(Path(file).parent) for file in cached if isinstance(file, str)]
    return _with_own_onnx(ModelLocation(name, found[0] if found else None), settings)


def _default_model(settings: Settings) -> ModelLocation:
    """The default model's files in the model cache, all of them there or one ModelError."""
    folder = default_model_folder(settings.model_cache_dir)
    needed = [folder] if not is_complete(folder) else []
    onnx = None
    if runs_on_onnx(settings) and not needed:
        onnx = onnx_path(folder, settings.encoder_precision)
        needed = [path for path in (onnx, *sentencepiece_files(folder)) if not path.is_file()]
    if needed:
        raise ModelError(
            f"the default model is not set up in {settings.model_cache_dir} "
            f"({needed[0].name} is missing): run `qa model` first"
        )
    return ModelLocation(str(folder), str(folder), None if onnx is None else str(onnx))


def _with_own_onnx(location: ModelLocation, settings: Settings) -> ModelLocation:
    """`location` with the ONNX graph its folder ships, if any and if the ONNX backend is on."""
    if settings.encoder_backend != "onnx" or location.folder is None:
        return location
    own_onnx = find_onnx_folder(Path(location.folder))
    return ModelLocation(location.source, location.folder, own_onnx=own_onnx)


def _looks_like_path(name: str) -> bool:
    """True if `name` can only be meant as a folder, not as a hub name `model` or `org/model`."""
    return (
        Path(name).is_absolute()
        or name.startswith(("./", "../", "~"))
        or name.count("/") > 1
        or "\\" in name
    )


def load_encoder(settings: Settings) -> Encoder:
    """The encoder of the settings (the default model must be set up: `qa.model_setup`).

    A model-hub name missing from the local cache is downloaded here (network needed)."""
    location = locate_model(settings)
    if location.onnx is not None or location.own_onnx is not None:
        return _onnx_encoder(settings, location)
    return SentenceTransformerEncoder(
        settings.model,
        location.source,
        # A model on this machine (a folder, or a hub name already in the cache) must never
        # send the library to the model hub, unreachable here: it would retry for a minute.
        local_only=location.folder is not None,
        query_prompt=settings.query_prompt,
        passage_prompt=settings.passage_prompt,
        batch_size=settings.embed_batch_size,
    )


def _onnx_encoder(settings: Settings, location: ModelLocation) -> Encoder:
    """The ONNX encoder of the default model's export or of another model's own graph
    (onnxruntime and the tokenizer's library are imported only here)."""
    from qa.search.encoders.onnx import OnnxEncoder, Tokenizer

    tokenizer: Tokenizer
    if location.own_onnx is None:
        from qa.search.encoders.sentencepiece_tokenizer import SentencePieceTokenizer

        # The default model: `qa.model_setup` exported it into its generated folder.
        assert location.onnx is not None
        assert location.folder is not None
        graph = Path(location.onnx)
        tokenizer = SentencePieceTokenizer(*sentencepiece_files(Path(location.folder)))
        max_tokens, pooling, precision = DEFAULT_MODEL_MAX_TOKENS, None, settings.encoder_precision
    else:
        from qa.search.encoders.huggingface_tokenizer import HuggingFaceTokenizer

        own = location.own_onnx
        graph, tokenizer = own.onnx_file, HuggingFaceTokenizer(own.tokenizer_file)
        max_tokens, pooling, precision = own.max_tokens, own.pooling, "fp32"
    return OnnxEncoder(
        settings.model,
        graph,
        tokenizer,
        query_prompt=settings.query_prompt,
        passage_prompt=settings.passage_prompt,
        batch_size=settings.embed_batch_size,
        threads=settings.encoder_threads,
        max_tokens=max_tokens,
        precision=precision,
        pooling=pooling,
    )


def embed_once(encoder: Encoder, texts: Sequence[str], *, progress: bool = False) -> Vectors:
    """`encoder.embed_passages(texts)`, each distinct text embedded once (overlapping passages
    share sentences; a one-sentence passage is its sentence)."""
    distinct = list(dict.fromkeys(texts))
    if len(distinct) == len(texts):
        return encoder.embed_passages(texts, progress=progress)
    row = {text: position for position, text in enumerate(distinct)}
    vectors = encoder.embed_passages(distinct, progress=progress)
    return np.ascontiguousarray(vectors[[row[text] for text in texts]])
