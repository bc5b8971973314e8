"""Whether an index still matches the settings and the corpus folder: the one answer that
`/ready`, `qa serve`'s start-up warning, `qa index --if-stale` and `qa eval` all give."""

from __future__ import annotations

from qa.content.corpus.chunk import ChunkingConfig
from qa.content.corpus.ingest import fingerprint
from qa.errors import CorpusError, IndexMissingError, IndexUnavailableError
from qa.search.encoders.loading import vectors_precision
from qa.search.store import INDEX_FORMAT, Manifest
from qa.search.store.choice import published_manifest
from qa.settings import Settings

__all__ = ["index_problems", "published_index_problems", "stale_reasons"]


def index_problems(settings: Settings, manifest: Manifest) -> list[str]:
    """Why the index of `manifest` is not a current index of the settings' corpus folder, with
    their model, encoder precision and chunking; empty if it is."""
    reasons = []
    if manifest.model != settings.model:
        reasons.append(f"built with model {manifest.model!r}")
    elif manifest.precision != vectors_precision(settings):
        reasons.append(f"built with encoder precision {manifest.precision}")
    try:
        corpus = fingerprint(settings.corpus_dir, settings.max_article_bytes)
    except CorpusError as error:
        return [*reasons, str(error)]
    return reasons + stale_reasons(manifest, corpus, ChunkingConfig.from_settings(settings))


def published_index_problems(settings: Settings) -> list[str]:
    """`index_problems` of the published index of the settings' store; "no index yet" when there
    is none, and why it cannot be read when it cannot."""
    try:
        manifest = published_manifest(settings)
    except IndexMissingError:
        return ["no index yet"]
    except IndexUnavailableError as error:
        return [str(error)]
    return index_problems(settings, manifest)


def stale_reasons(
    manifest: Manifest, corpus: dict[str, str], chunking: ChunkingConfig
) -> list[str]:
    """Why the index no longer matches the corpus fingerprint and chunking settings."""
    indexed = manifest.corpus.keys() | manifest.skipped.keys()
    reasons = [f"new file {name}" for name in sorted(corpus.keys() - indexed)]
    reasons += [f"removed file {name}" for name in sorted(indexed - corpus.keys())]
    reasons += [
        f"changed file {name}"
        for name in sorted(manifest.corpus.keys() & corpus.keys())
        if manifest.corpus[name] != corpus[name]
    ]
    if manifest.chunking != chunking:
        reasons.append("chunking settings changed")
    if manifest.format != INDEX_FORMAT:
        reasons.append(f"built by another version of qa (format {manifest.format})")
    return reasons
