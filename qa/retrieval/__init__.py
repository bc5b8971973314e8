"""Retrieval: a question to ranked passages (`search`: validation, language, dense, lexical or
hybrid search, filters), the fusion of two rankings (`fusion`), and the learned ranker: its
features (`features`), model (`ranker`) and the search's hook (`reranking`). May import
`qa.encoders`, `qa.store`, `qa.corpus`, `qa.settings` and `qa.errors`; never `qa.indexing`."""

from qa.retrieval.search import (
    CANDIDATES,
    DEFAULT_K,
    MAX_K,
    Passage,
    Searcher,
    SearchResponse,
)

__all__ = ["CANDIDATES", "DEFAULT_K", "MAX_K", "Passage", "SearchResponse", "Searcher"]
