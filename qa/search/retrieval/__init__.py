"""Retrieval: a question to ranked passages (`search`: validation, language, dense, lexical or
hybrid search, filters), the fusion of two rankings (`fusion`), and the learned ranker: its
features (`features`), model (`ranker`) and the search's hook (`reranking`). May import
`qa.search.encoders`, `qa.search.store`, `qa.content`, `qa.settings` and `qa.errors`; never
`qa.indexing`."""

from qa.search.retrieval.search import (
    CANDIDATES,
    DEFAULT_K,
    MAX_K,
    Passage,
    Searcher,
    SearchResponse,
)

__all__ = ["CANDIDATES", "DEFAULT_K", "MAX_K", "Passage", "SearchResponse", "Searcher"]
