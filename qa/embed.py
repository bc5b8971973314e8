"""Turn text into normalised vectors. The only module that imports sentence-transformers."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from qa.convert import ensure_default_model
from qa.errors import ModelError
from qa.settings import DEFAULT_MODEL, Settings

Vectors = NDArray[np.float32]


class Encoder(Protocol):
    """What the pipeline needs from an embedding model."""

    model_id: str
    dimension: int

    def count_tokens(self, text: str) -> int:
        """Model tokens in `text`, without special tokens."""
        ...

    def embed_queries(self, texts: Sequence[str]) -> Vectors:
        """Unit vectors of questions, query prompt applied."""
        ...

    def embed_passages(self, texts: Sequence[str], *, progress: bool = False) -> Vectors:
        """Unit vectors of passages, passage prompt applied."""
        ...


class SentenceTransformerEncoder:
    """An `Encoder` backed by a sentence-transformers model on the CPU."""

    def __init__(
        self,
        model_id: str,
        location: str,
        *,
        query_prompt: str,
        passage_prompt: str,
        batch_size: int = 32,
        local_only: bool = False,
    ) -> None:
        from sentence_transformers import SentenceTransformer  # heavy: import on first load only
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()  # type: ignore[no-untyped-call]  # one "Loading weights" bar per start is noise

        try:
            self._model = SentenceTransformer(location, device="cpu", local_files_only=local_only)
        except Exception as error:  # the library raises many kinds (OSError, ValueError, ...)
            detail = " ".join(str(error).split())  # its messages run over several lines
            raise ModelError(f"cannot load embedding model {location!r}: {detail}") from error
        self.model_id = model_id
        dimension = self._model.get_embedding_dimension()
        if dimension is None:
            raise ModelError(f"model {model_id!r} does not say its embedding dimension")
        self.dimension = int(dimension)
        self.query_prompt = query_prompt
        self.passage_prompt = passage_prompt
        self.batch_size = batch_size

    def count_tokens(self, text: str) -> int:
        return len(self._model.tokenizer(text, add_special_tokens=False)["input_ids"])

    def embed_queries(self, texts: Sequence[str]) -> Vectors:
        return self._encode(texts, self.query_prompt, progress=False)

    def embed_passages(self, texts: Sequence[str], *, progress: bool = False) -> Vectors:
        return self._encode(texts, self.passage_prompt, progress=progress)

    def _encode(self, texts: Sequence[str], prompt: str, *, progress: bool) -> Vectors:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self._model.encode(
            list(texts),
            prompt=prompt,
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=progress,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)


# A folder holding either is a sentence-transformers or a transformers model.
MODEL_FOLDER_FILES = ("modules.json", "config.json")


@dataclass(frozen=True)
class ModelLocation:
    """Where the model of the settings loads from."""

    source: str  # what sentence-transformers is given: a folder, or a model-hub name
    folder: str | None  # where it is on this machine; None: a hub name not downloaded yet


def locate_model(settings: Settings) -> ModelLocation:
    """Find the model of the settings without touching the network.

    The default model is generated first if needed. ModelError for what cannot be a model: a
    missing folder given as a path, a file, a folder without a model, a name that the model
    hub would refuse. A hub name is looked up in the local Hugging Face cache.
    """
    if settings.model == DEFAULT_MODEL:
        folder = str(ensure_default_model(settings.model_cache_dir))
        return ModelLocation(folder, folder)
    name = settings.model
    path = Path(name).expanduser()
    if path.is_dir():
        if not any((path / file).is_file() for file in MODEL_FOLDER_FILES):
            raise ModelError(
                f"model folder {name} (QA_MODEL) holds no model: "
                f"it has no {' or '.join(MODEL_FOLDER_FILES)}"
            )
        return ModelLocation(str(path), str(path))
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
    return ModelLocation(name, found[0] if found else None)


def _looks_like_path(name: str) -> bool:
    """True if `name` can only be meant as a folder, not as a hub name `model` or `org/model`."""
    return (
        Path(name).is_absolute()
        or name.startswith(("./", "../", "~"))
        or name.count("/") > 1
        or "\\" in name
    )


def load_encoder(settings: Settings) -> SentenceTransformerEncoder:
    """The encoder of the settings, built from the bundled weights first if it is the default.

    A model-hub name missing from the local cache is downloaded here (network needed)."""
    location = locate_model(settings)
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
