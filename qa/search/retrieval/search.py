"""Answer a question with the best passages: dense, lexical or hybrid (both fused, qa/fusion.py).

Every result carries its cosine similarity to the question (whatever ranked it), its place in
the source file, and the sentence of it that best answers the question. The response says
whether anything relevant was found at all (`answerable`).
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache

import numpy as np
from pydantic import BaseModel, Field

from qa.content.extract.language import detect_language
from qa.errors import InvalidQueryError
from qa.search.encoders.base import Encoder
from qa.search.retrieval.answerability import AnswerabilityFlag
from qa.search.retrieval.fusion import fuse
from qa.search.retrieval.reranking import Candidates, Explanation, PassageScores, Reranked, Reranker
from qa.search.store import Hit, SearchFilter, Store
from qa.search.store.lexical import term_overlap
from qa.settings import SearchMode, Settings

MAX_QUESTION_CHARS = 2000
MAX_K = 50
DEFAULT_K = 5
# Each retriever proposes this many candidates to the fusion; ranks below it add little.
CANDIDATES = 100
# Weight of shared terms when picking the highlight sentence: breaks near-ties in cosine.
HIGHLIGHT_TERM_WEIGHT = 0.1
WARM_UP_QUESTION = "Quelle est la question ?"


class Highlight(BaseModel):
    """The best-answering sentence of a passage: offsets in the source file."""

    start: int
    end: int


class Passage(BaseModel):
    rank: int = Field(description="1 for the best passage.")
    score: float = Field(description="Cosine similarity between question and passage.")
    source: str = Field(description="File name of the article.")
    title: str = Field(description="Title of the article.")
    chunk_id: str
    start: int = Field(description="Offset of the passage in the source text.")
    end: int = Field(description="`source_text[start:end] == text`.")
    text: str
    highlight: Highlight | None
    url: str | None = Field(None, description="Where the article was published, if known.")
    published: date | None = Field(None, description="Publication date of the article, if known.")
    author: str | None = Field(None, description="Author of the article, if known.")
    language: str | None = Field(
        None,
        description="ISO 639-1 code of the article's language (as its file says, else "
        "detected), if known.",
    )
    site: str | None = Field(None, description="Site that published the article, if known.")
    scores: PassageScores = Field(default_factory=PassageScores)
    explanation: Explanation | None = Field(
        None, description="With `explain=true`: the ranker's features and their contributions."
    )


class SearchResponse(BaseModel):
    question: str
    language: str = Field(description="ISO 639-1 code of the question, or 'unknown'.")
    mode: SearchMode
    answerable: bool = Field(description="False when no passage looks relevant.")
    best_score: float = Field(
        description="Highest cosine of any passage: `answerable` is this against the threshold "
        "(unless the learned flag decides it)."
    )
    confidence: float | None = Field(
        None,
        ge=0.0,
        le=1.0,
        description="With the learned answerability flag (QA_ANSWERABLE_FLAG=learned): the "
        "probability that the passages answer the question, which `answerable` thresholds.",
    )
    results: list[Passage]


def validate_query(question: str, k: int) -> str:
    """The question stripped, or InvalidQueryError saying what is wrong."""
    question = question.strip()
    if not question:
        raise InvalidQueryError("question: must not be blank")
    if not any(character.isalnum() for character in question):
        # "?", "...", an emoji or a zero-width space embed to a vector all the same.
        raise InvalidQueryError("question: must contain a letter or a digit")
    if len(question) > MAX_QUESTION_CHARS:
        raise InvalidQueryError(
            f"question: at most {MAX_QUESTION_CHARS} characters (got {len(question)})"
        )
    if not 1 <= k <= MAX_K:
        raise InvalidQueryError(f"k: must be between 1 and {MAX_K} (got {k})")
    return question


class Searcher:
    """Searches one loaded index with one encoder."""

    def __init__(self, index: Store, encoder: Encoder, settings: Settings) -> None:
        self.index = index
        self.encoder = encoder
        self.default_mode: SearchMode = settings.search_mode
        self.rrf_k = settings.rrf_k
        self.fusion = settings.fusion
        self.fusion_dense_weight = settings.fusion_dense_weight
        self.answerable_threshold = settings.answerable_threshold
        # Remembered for as many questions as their vectors (QA_QUERY_CACHE_SIZE; 0: none): the
        # same questions come back (py3langid takes ~0.04 ms: the cache saves little now).
        self.language_of = lru_cache(maxsize=settings.query_cache_size)(detect_language)
        self.reranker = Reranker(settings, HIGHLIGHT_TERM_WEIGHT)
        self.flag = AnswerabilityFlag.load() if settings.answerable_flag == "learned" else None

    def warm_up(self) -> None:
        """One search, so that what loads on first use (py3langid's model, the lexical
        analyser) loads now rather than on the first reader's question."""
        self.search(WARM_UP_QUESTION, 1)

    def search(
        self,
        question: str,
        k: int = DEFAULT_K,
        mode: SearchMode | None = None,
        where: SearchFilter | None = None,
        *,
        explain: bool = False,
    ) -> SearchResponse:
        question = validate_query(question, k)
        mode = mode or self.default_mode
        query = self.encoder.embed_queries([question])[0]
        dense = self.index.search_dense(query, CANDIDATES, where)
        best_score = round(dense[0].score, 4) if dense else -1.0
        language = self.language_of(question)
        found = self.candidates(question, dense, mode, where)
        # The learned ranker re-orders hybrid searches only: it learned from fused candidates.
        reranked = (
            self.reranker.rerank(self.index, query, question, language, found, explain=explain)
            if mode == "hybrid" and (self.reranker.model is not None or explain)
            else Reranked(found.order, {}, {})
        )
        positions = reranked.order[:k]
        scores = self.index.dense_scores(query, positions)
        confidence = (
            self.flag.assess(self.index, question, language, query, dense, where)
            if self.flag
            else None
        )
        return SearchResponse(
            question=question,
            language=language,
            mode=mode,
            answerable=best_score >= self.answerable_threshold
            if confidence is None or self.flag is None
            else self.flag.answerable(confidence),
            best_score=best_score,
            confidence=None if confidence is None else round(confidence, 4),
            results=[
                self._passage(question, query, position, rank, score, found, reranked)
                for rank, (position, score) in enumerate(zip(positions, scores, strict=True), 1)
            ],
        )

    def candidates(
        self, question: str, dense: list[Hit], mode: SearchMode, where: SearchFilter | None
    ) -> Candidates:
        """Every candidate in the mode's order, with each retriever's scores."""
        dense_scores = {hit.position: hit.score for hit in dense}
        if mode == "dense":
            return Candidates(list(dense_scores), dense_scores, None)
        lexical = {
            hit.position: hit.score
            for hit in self.index.search_lexical(question, CANDIDATES, where)
        }
        if mode == "lexical":
            # Passages sharing no term with the question follow, in dense order, so that
            # k results are always returned.
            order = [*lexical, *(p for p in dense_scores if p not in lexical)]
            return Candidates(order, dense_scores, lexical)
        fused = fuse(
            self.fusion,
            dense_scores,
            lexical,
            rrf_k=self.rrf_k,
            dense_weight=self.fusion_dense_weight,
        )
        return Candidates(fused, dense_scores, lexical)

    def _passage(
        self,
        question: str,
        query: np.ndarray,
        position: int,
        rank: int,
        score: float,
        found: Candidates,
        reranked: Reranked,
    ) -> Passage:
        chunk = self.index.chunks[position]
        source = self.index.sources[chunk.source]
        highlight, sentence_score = self._highlight(question, query, position)
        return Passage(
            rank=rank,
            score=round(score, 4),
            source=chunk.source,
            title=source.title,
            chunk_id=chunk.chunk_id,
            start=chunk.start,
            end=chunk.end,
            text=chunk.text,
            highlight=highlight,
            url=source.url,
            published=source.published,
            author=source.author,
            language=source.language,
            site=source.site,
            scores=PassageScores(
                dense=round(score, 4),
                sentence=None if sentence_score is None else round(sentence_score, 4),
                lexical=None if found.lexical is None else found.lexical.get(position),
                ranker=reranked.ranker_scores.get(position),
            ),
            explanation=reranked.explanations.get(position),
        )

    def _highlight(
        self, question: str, query: np.ndarray, position: int
    ) -> tuple[Highlight | None, float | None]:
        """The best-answering sentence and its cosine with the question."""
        chunk = self.index.chunks[position]
        if not chunk.sentences:
            return None, None
        sentences = [chunk.text_of(span) for span in chunk.sentences]
        cosines = self.index.sentence_scores(query, position)
        best = int(np.argmax(cosines + HIGHLIGHT_TERM_WEIGHT * term_overlap(question, sentences)))
        start, end = chunk.sentences[best]
        return Highlight(start=start, end=end), float(cosines[best])
