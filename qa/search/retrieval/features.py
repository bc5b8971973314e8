"""What the learned ranker reads about each candidate passage: one typed record of numbers,
computed the same way when training (`qa train-ranker`) and when serving.

Everything comes from what a search already has (the dense and lexical scores of the top
candidates, their sentences' cosines, the project's French analyser) plus a few regular
expressions: microseconds per candidate, no model (docs/evaluation.md, "A learned ranker").
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import astuple, dataclass, fields
from functools import lru_cache
from itertools import pairwise

import numpy as np

from qa.search.store import Store
from qa.search.store.lexical import analyze, fold

# The answer a question asks for, from its first words (French, English, Spanish, German).
ANSWER_TYPES = ("year", "date", "amount", "number", "person", "place", "other")
_ANSWER_TYPE_PATTERNS = (
    ("year", r"\b(en |dans |in )?(quelle|quel|what|which|que|welchem) (annee|year|ano|jahr)\b"),
    ("date", r"\b(quand|when|cuando|wann|quelle date|what date|a quelle epoque|depuis quand)\b"),
    (
        "amount",
        r"\b(quel pourcentage|quelle part|quel montant|quel prix|combien coute|how much|"
        r"what percentage|cuanto cuesta|que porcentaje|wie viel kostet|wie hoch)\b",
    ),
    ("number", r"\b(combien|how many|cuant[oa]s?|wie viele?|quel nombre|what number)\b"),
    ("person", r"\b(qui|who|whom|quien(es)?|wer|wem|wen)\b"),
    ("place", r"\b(ou|where|donde|wo|woher|dans quel pays|quelle ville|in which country)\b"),
)
_COMPILED_TYPES = tuple((name, re.compile(pattern)) for name, pattern in _ANSWER_TYPE_PATTERNS)

_YEAR = re.compile(r"\b(1[5-9]\d\d|20\d\d)\b")
_MONTHS = (
    "janvier|fevrier|mars|avril|mai|juin|juillet|aout|septembre|octobre|novembre|decembre|"
    "january|february|march|april|june|july|august|september|october|november|december|"
    "enero|febrero|marzo|abril|mayo|junio|julio|agosto|septiembre|octubre|noviembre|diciembre"
)
_DATE = re.compile(rf"\b\d{{1,2}}(er)? ({_MONTHS})\b|\b\d{{1,2}}/\d{{1,2}}/\d{{2,4}}\b|\bsiecle\b")
_NUMBER = re.compile(r"\d")
_AMOUNT = re.compile(
    r"\d[\d\s.,]*\s?(%|pour ?cent|percent|€|\$|£|euros?|dollars?|francs?|millions?|"
    r"milliards?|billions?|mds?)"
)
# A capitalised word that does not start its sentence: a name more often than not.
_NAME = re.compile(r"(?<=[^.!?\s] )[A-ZÀ-Ý][\w-]+")
_QUESTION_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
# Passages analysed for their terms: a search sees the same candidates again and again.
TERM_CACHE_SIZE = 8192


@dataclass(frozen=True)
class CandidateFeatures:
    """What the ranker reads about one candidate passage of one question (all numbers)."""

    dense: float  # the store's cosine: the passage's or its best sentence's, the higher
    dense_rank: float  # 1 = first among the candidates
    dense_gap: float  # the best candidate's dense score minus this one's
    dense_norm: float  # min-max over the candidates
    sentence: float  # cosine of the best sentence
    sentence_rank: float
    sentence_gap: float
    lexical: float  # BM25 of the passage; 0 if not among the lexical candidates
    lexical_rank: float  # 1 = first; candidates + 1 if not found
    lexical_norm: float
    sentence_lexical: float  # share of the question's weight (idf over the candidates) in it
    fused_rank: float  # rank given by the fusion the ranker replaces
    article_best: float  # best dense score of a candidate of the same article
    article_mean: float
    article_rank: float  # this article's rank among the candidates' articles
    rank_in_article: float  # this passage's rank among its article's candidates
    article_candidates: float
    coverage: float  # share of the question's stems found in the passage
    sentence_coverage: float
    title_coverage: float
    bigram_overlap: float  # share of the question's stem bigrams found in the passage
    question_numbers: float
    numbers_found: float  # share of the question's numbers found in the passage
    question_names: float
    names_found: float
    expects_year: float
    expects_date: float
    expects_amount: float
    expects_number: float
    expects_person: float
    expects_place: float
    sentence_has_year: float
    sentence_has_date: float
    sentence_has_amount: float
    sentence_has_number: float
    sentence_has_name: float
    answer_type_match: float  # the best sentence holds what the question asks for
    position: float  # the passage's order in its article (0 first)
    length: float  # characters
    sentences: float
    question_terms: float
    question_french: float

    def row(self) -> tuple[float, ...]:
        return astuple(self)


FEATURE_NAMES: tuple[str, ...] = tuple(field.name for field in fields(CandidateFeatures))


@dataclass(frozen=True)
class QuestionTerms:
    """What the features need of the question, analysed once per search."""

    stems: frozenset[str]
    bigrams: frozenset[tuple[str, str]]
    numbers: frozenset[str]
    names: frozenset[str]
    answer_type: str
    french: bool


@dataclass(frozen=True)
class Scored:
    """A candidate's features and its best sentence (offsets in the source file)."""

    position: int
    features: CandidateFeatures
    best_sentence: tuple[int, int] | None


def answer_type(question: str) -> str:
    """What the question asks for: one of ANSWER_TYPES, from its interrogative words."""
    folded = fold(question)
    return next((name for name, pattern in _COMPILED_TYPES if pattern.search(folded)), "other")


def question_terms(question: str, language: str) -> QuestionTerms:
    stems = analyze(question)
    return QuestionTerms(
        stems=frozenset(stems),
        bigrams=frozenset(pairwise(stems)),
        numbers=frozenset(_QUESTION_NUMBER.findall(question)),
        names=frozenset(fold(name) for name in _NAME.findall(question)),
        answer_type=answer_type(question),
        french=language == "fr",
    )


@dataclass(frozen=True)
class _Analysed:
    stems: frozenset[str]
    bigrams: frozenset[tuple[str, str]]
    folded: str


@lru_cache(maxsize=TERM_CACHE_SIZE)
def _analysed(text: str) -> _Analysed:
    stems = analyze(text)
    return _Analysed(frozenset(stems), frozenset(pairwise(stems)), fold(text))


@dataclass(frozen=True)
class _SentenceKinds:
    year: bool
    date: bool
    amount: bool
    number: bool
    name: bool


@lru_cache(maxsize=TERM_CACHE_SIZE)
def _kinds(sentence: str) -> _SentenceKinds:
    folded = fold(sentence)
    return _SentenceKinds(
        year=bool(_YEAR.search(sentence)),
        date=bool(_DATE.search(folded)),
        amount=bool(_AMOUNT.search(folded)),
        number=bool(_NUMBER.search(sentence)),
        name=bool(_NAME.search(sentence)),
    )


def _matches(expected: str, kinds: _SentenceKinds) -> bool:
    return {
        "year": kinds.year,
        "date": kinds.date or kinds.year,
        "amount": kinds.amount,
        "number": kinds.number,
        "person": kinds.name,
        "place": kinds.name,
    }.get(expected, False)


def _share(wanted: frozenset[str] | frozenset[tuple[str, str]], found: frozenset) -> float:  # type: ignore[type-arg]
    return len(wanted & found) / len(wanted) if wanted else 0.0


def _ranks(scores: Sequence[float]) -> list[float]:
    order = np.argsort(-np.asarray(scores), kind="stable")
    ranks = np.empty(len(scores))
    ranks[order] = np.arange(1, len(scores) + 1)
    return [float(rank) for rank in ranks]


def _normalised(scores: Sequence[float]) -> list[float]:
    low, high = min(scores), max(scores)
    return [1.0 if high == low else (s - low) / (high - low) for s in scores]


def candidate_features(
    index: Store,
    query: np.ndarray,
    terms: QuestionTerms,
    order: Sequence[int],
    dense: Mapping[int, float],
    lexical: Mapping[int, float],
    highlight_term_weight: float,
) -> list[Scored]:
    """The features of each candidate of `order` (the fused ranking, best first), given each
    retriever's scores (a candidate a retriever did not propose scores 0 there)."""
    if not order:  # a filter that admits no passage
        return []
    chunks = index.chunks
    count = len(order)
    dense_scores = [dense.get(p, 0.0) for p in order]
    if any(p not in dense for p in order):
        dense_scores = index.dense_scores(query, order)
    lexical_scores = [lexical.get(p, 0.0) for p in order]
    analysed = [_analysed(chunks[p].text) for p in order]
    # idf over the candidates: what distinguishes them, wherever the index lives.
    weight = {
        stem: math.log(1 + count / (1 + sum(stem in a.stems for a in analysed)))
        for stem in terms.stems
    }
    total_weight = sum(weight.values()) or 1.0
    best_sentences: list[tuple[int, int] | None] = []
    sentence_scores: list[float] = []
    sentence_stems: list[frozenset[str]] = []
    sentence_kinds: list[_SentenceKinds | None] = []
    for position in order:
        chunk = chunks[position]
        if not chunk.sentences:
            best_sentences.append(None)
            sentence_scores.append(dense_scores[len(sentence_scores)])
            sentence_stems.append(frozenset())
            sentence_kinds.append(None)
            continue
        texts = [chunk.text_of(span) for span in chunk.sentences]
        cosines = index.sentence_scores(query, position)
        stems = [_analysed(text).stems for text in texts]
        overlap = [len(terms.stems & s) / len(terms.stems) if terms.stems else 0.0 for s in stems]
        best = int(np.argmax(cosines + highlight_term_weight * np.asarray(overlap)))
        best_sentences.append(chunk.sentences[best])
        sentence_scores.append(float(cosines[best]))
        sentence_stems.append(stems[best])
        sentence_kinds.append(_kinds(texts[best]))
    articles: dict[str, list[float]] = {}
    for position, score in zip(order, dense_scores, strict=True):
        articles.setdefault(chunks[position].source, []).append(score)
    article_order = sorted(articles, key=lambda name: -max(articles[name]))
    article_rank = {name: rank for rank, name in enumerate(article_order, 1)}
    dense_ranks, sentence_ranks = _ranks(dense_scores), _ranks(sentence_scores)
    dense_norm, lexical_norm = _normalised(dense_scores), _normalised(lexical_scores)
    lexical_order = sorted((p for p in order if p in lexical), key=lambda p: -lexical[p])
    lexical_ranks = {p: rank for rank, p in enumerate(lexical_order, 1)}
    best_dense, best_sentence_score = max(dense_scores), max(sentence_scores)
    sources = index.sources
    expected = terms.answer_type
    scored = []
    for i, position in enumerate(order):
        chunk, text = chunks[position], analysed[i]
        kinds = sentence_kinds[i] or _SentenceKinds(False, False, False, False, False)
        siblings = articles[chunk.source]
        title = sources[chunk.source].title if chunk.source in sources else ""
        features = CandidateFeatures(
            dense=dense_scores[i],
            dense_rank=dense_ranks[i],
            dense_gap=best_dense - dense_scores[i],
            dense_norm=dense_norm[i],
            sentence=sentence_scores[i],
            sentence_rank=sentence_ranks[i],
            sentence_gap=best_sentence_score - sentence_scores[i],
            lexical=lexical_scores[i],
            lexical_rank=float(lexical_ranks.get(position, count + 1)),
            lexical_norm=lexical_norm[i],
            sentence_lexical=sum(weight[s] for s in terms.stems & sentence_stems[i]) / total_weight,
            fused_rank=float(i + 1),
            article_best=max(siblings),
            article_mean=sum(siblings) / len(siblings),
            article_rank=float(article_rank[chunk.source]),
            rank_in_article=float(1 + sum(s > dense_scores[i] for s in siblings)),
            article_candidates=float(len(siblings)),
            coverage=_share(terms.stems, text.stems),
            sentence_coverage=_share(terms.stems, sentence_stems[i]),
            title_coverage=_share(terms.stems, _analysed(title).stems),
            bigram_overlap=_share(terms.bigrams, text.bigrams),
            question_numbers=float(len(terms.numbers)),
            numbers_found=sum(n in chunk.text for n in terms.numbers) / (len(terms.numbers) or 1),
            question_names=float(len(terms.names)),
            names_found=sum(n in text.folded for n in terms.names) / (len(terms.names) or 1),
            expects_year=float(expected == "year"),
            expects_date=float(expected == "date"),
            expects_amount=float(expected == "amount"),
            expects_number=float(expected == "number"),
            expects_person=float(expected == "person"),
            expects_place=float(expected == "place"),
            sentence_has_year=float(kinds.year),
            sentence_has_date=float(kinds.date),
            sentence_has_amount=float(kinds.amount),
            sentence_has_number=float(kinds.number),
            sentence_has_name=float(kinds.name),
            answer_type_match=float(_matches(expected, kinds)),
            position=float(_chunk_number(chunk.chunk_id)),
            length=float(len(chunk.text)),
            sentences=float(len(chunk.sentences)),
            question_terms=float(len(terms.stems)),
            question_french=float(terms.french),
        )
        scored.append(Scored(position, features, best_sentences[i]))
    return scored


def _chunk_number(chunk_id: str) -> int:
    """`003_x.txt#3` -> 3: the passage's order in its article."""
    number = chunk_id.rpartition("#")[2]
    return int(number) if number.isdigit() else 0
