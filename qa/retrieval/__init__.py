"""Retrieval: a question to ranked passages (`search`: validation, language, dense, lexical or
hybrid search, filters) and the fusion of two rankings (`fusion`). May import `qa.encoders`,
`qa.store`, `qa.corpus`, `qa.settings` and `qa.errors`; never `qa.indexing`."""

from qa.retrieval.search import DEFAULT_K, MAX_K, Passage, Searcher, SearchResponse

__all__ = ["DEFAULT_K", "MAX_K", "Passage", "SearchResponse", "Searcher"]
