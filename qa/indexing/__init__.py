"""Indexing: the corpus through the encoder into a store, built whole or updated incrementally
(only what changed is embedded) and published as a new version (`build`), and whether the
published index still matches the corpus and settings (`staleness`). May import `qa.content`,
`qa.search.encoders`, `qa.search.store`, `qa.settings` and `qa.errors`."""

from qa.indexing.build import IndexReport, build_index, update_index
from qa.indexing.staleness import index_problems, published_index_problems

__all__ = [
    "IndexReport",
    "build_index",
    "index_problems",
    "published_index_problems",
    "update_index",
]
