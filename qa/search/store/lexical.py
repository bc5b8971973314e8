"""Lexical retrieval: BM25 (bm25s) over French-analysed tokens.

The analyser folds what varies in spelling but not in meaning (case, accents, typographic
apostrophes, elided articles) and stems French words, while keeping names and numbers whole
("SeedChip", "910B", "19,4") so they are found exactly. A saved index is checked when loaded
(`check_postings`), as the dense vectors are.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import bm25s
import numpy as np
import Stemmer
from bm25s.stopwords import STOPWORDS_EN_PLUS, STOPWORDS_FRENCH

from qa.errors import IndexCorruptError

# Questions come in several languages; dropping English function words too costs nothing
# on a French corpus and keeps "what", "the" from matching anything.
STOPWORDS = frozenset(STOPWORDS_FRENCH) | frozenset(STOPWORDS_EN_PLUS)
# A number keeps its decimal or thousands separator ("19,4", "3.5"); a word is letters/digits.
_TOKEN = re.compile(r"\d+(?:[.,]\d+)*\w*|\w+")
_APOSTROPHES = re.compile(r"['’ʼ`´]")


@lru_cache(maxsize=1)
def _stemmer() -> Stemmer.Stemmer:
    return Stemmer.Stemmer("french")


def fold(text: str) -> str:
    """Lower case without accents, apostrophes as spaces: "L’État" -> "l etat"."""
    text = unicodedata.normalize("NFKD", text.lower())
    text = "".join(char for char in text if not unicodedata.combining(char))
    return _APOSTROPHES.sub(" ", text)


_FOLDED_STOPWORDS = frozenset(fold(word) for word in STOPWORDS)


def analyze(text: str) -> list[str]:
    """The index terms of `text`: tokens, folded, minus stop words and elisions, stemmed."""
    text = _APOSTROPHES.sub("'", unicodedata.normalize("NFC", text).lower())
    words = [fold(word) for token in _TOKEN.findall(text) for word in token.split("'")]
    kept = [w for w in words if w not in _FOLDED_STOPWORDS and (len(w) > 1 or w.isdigit())]
    # Fold before stemming, so that a word and its accent-less spelling ("données", "donnees")
    # always get the same stem: the Snowball rules differ with and without accents.
    stems: list[str] = _stemmer().stemWords(kept)
    return stems


@dataclass(frozen=True)
class LexicalHit:
    position: int
    score: float


class LexicalIndex:
    """BM25 over a list of texts; hits name texts by their position in that list."""

    def __init__(self, retriever: bm25s.BM25, size: int) -> None:
        self._retriever = retriever
        self.size = size

    @classmethod
    def build(cls, texts: Sequence[str]) -> LexicalIndex:
        retriever = bm25s.BM25()
        retriever.index([analyze(text) for text in texts], show_progress=False)
        return cls(retriever, len(texts))

    def search(self, query: str, k: int, mask: np.ndarray | None = None) -> list[LexicalHit]:
        """The best `k` texts that share at least one term with the query, best first; with a
        `mask` (1 or 0 per text), only texts it admits."""
        terms = [term for term in analyze(query) if term in self._retriever.vocab_dict]
        if not terms or self.size == 0:
            return []
        positions, scores = self._retriever.retrieve(
            # n_threads=0: in this thread; any other value starts a thread pool per call
            # (0.33 ms against 0.05 for the whole retrieval on the seeds' index).
            [terms],
            k=min(k, self.size),
            show_progress=False,
            n_threads=0,
            weight_mask=mask,
        )
        return [
            LexicalHit(int(position), float(score))
            for position, score in zip(positions[0], scores[0], strict=True)
            if score > 0
        ]

    def save(self, folder: Path) -> None:
        self._retriever.save(str(folder), show_progress=False)

    @classmethod
    def load(cls, folder: Path, size: int) -> LexicalIndex:
        """The index saved in `folder` for `size` texts, its arrays checked (`check_postings`):
        bm25s reads whatever its files hold, and damaged scores or ids would rank wrongly."""
        try:
            retriever = bm25s.BM25.load(str(folder), show_progress=False)
        # bm25s does not check its JSON files' shapes: a list or a string where it expects an
        # object fails inside it as TypeError or AttributeError; a `numba` backend, ImportError.
        except (OSError, ValueError, KeyError, TypeError, AttributeError, ImportError) as error:
            raise IndexCorruptError(
                f"cannot read the lexical index in {folder}: {error}"
            ) from error
        check_postings(folder, retriever, size)
        return cls(retriever, size)


# --- checks on load ----------------------------------------------------------------------------

# bm25s's files (its default names). The index is a term x passage matrix in compressed columns:
# each term's run of scores (`data`) and of the passages they belong to (`indices`), where each
# run starts (`indptr`, one more than the terms), term -> run (`vocab`), and the parameters
# (`params`, with the passage count).
_SCORES = "data.csc.index.npy"
_PASSAGES = "indices.csc.index.npy"
_RUN_STARTS = "indptr.csc.index.npy"
_VOCABULARY = "vocab.index.json"
_PARAMETERS = "params.index.json"
# How a damaged index is described, as for the dense vectors: arrays that disagree, or values.
_SHAPE = "inconsistent"
_VALUES = "damaged"


def check_postings(folder: Path, retriever: bm25s.BM25, size: int) -> None:
    """Refuse a BM25 index whose arrays disagree with each other or with its `size` passages,
    or hold scores or ids a search would misuse, in one line naming the file; vectorised, as
    the dense vectors are checked (`integrity.check_vectors`)."""
    problem = _first_problem(retriever, size)
    if problem is not None:
        state, name, what = problem
        raise IndexCorruptError(
            f"the index in {folder.parent} is {state}: {folder.name}/{name} {what}"
        )


def _first_problem(retriever: bm25s.BM25, size: int) -> tuple[str, str, str] | None:
    """(how, file, what) of the first problem found; each check assumes the ones above it."""
    arrays = retriever.scores
    scores, passages, starts = arrays["data"], arrays["indices"], arrays["indptr"]
    count = arrays["num_docs"]
    if type(count) is not int or count != size:
        return _SHAPE, _PARAMETERS, f"counts {count!r} passages, the index has {size}"
    types = retriever.dtype, retriever.int_dtype
    if _kind(types[0]) != "f" or _kind(types[1]) not in "iu":
        return _VALUES, _PARAMETERS, f"declares score and id types {types}, not float and integer"
    for name, array, kinds, what in [
        (_SCORES, scores, "f", "scores"),
        (_PASSAGES, passages, "iu", "passage numbers"),
        (_RUN_STARTS, starts, "iu", "run starts"),
    ]:
        if array.ndim != 1 or array.dtype.kind not in kinds:
            return _SHAPE, name, f"holds {array.dtype} {array.shape}, not a row of {what}"
    if len(passages) != len(scores):
        return _SHAPE, _PASSAGES, f"holds {len(passages)} passages for {len(scores)} scores"
    if not _cuts_into_runs(starts, len(scores)):
        return _SHAPE, _RUN_STARTS, f"does not cut the {len(scores)} scores into runs"
    if not np.isfinite(scores).all():
        return _VALUES, _SCORES, "holds NaN or infinity"
    if (scores < 0).any():
        return _VALUES, _SCORES, "holds negative scores"
    if len(passages) and (passages.min() < 0 or passages.max() >= size):
        return _VALUES, _PASSAGES, f"holds passage numbers outside 0 to {size - 1}"
    if not _rising_within_runs(passages, starts):
        return _VALUES, _PASSAGES, "lists a term's passages out of order or twice"
    return _vocabulary_problem(retriever.vocab_dict, len(starts) - 1)


def _vocabulary_problem(vocabulary: dict[str, object], terms: int) -> tuple[str, str, str] | None:
    """Each term must name a run of its own: term ids are 0 to `terms` - 1, once each, and
    bm25s's empty term "" (for a query without terms), if there, the one id past the runs."""
    ids = np.array(list(vocabulary.values()))
    named = len(ids) - ("" in vocabulary)
    if named != terms:
        return _SHAPE, _VOCABULARY, f"names {named} terms, {_RUN_STARTS} delimits {terms}"
    if len(ids) == 0:
        return None
    if ids.dtype.kind not in "iu":
        return _VALUES, _VOCABULARY, "holds term ids that are not whole numbers"
    if ids.min() < 0 or ids.max() >= len(ids):
        return _VALUES, _VOCABULARY, f"holds term ids outside 0 to {len(ids) - 1}"
    if np.bincount(ids, minlength=len(ids)).max() > 1:
        return _VALUES, _VOCABULARY, "gives two terms the same id"
    if vocabulary.get("", terms) != terms:
        return _VALUES, _VOCABULARY, f"gives a term the id {terms}, past the last run"
    return None


def _cuts_into_runs(starts: np.ndarray, total: int) -> bool:
    """Whether run starts rise from 0 to `total` (compared, never subtracted: unsigned ids
    would wrap)."""
    return bool(
        len(starts) > 0
        and starts[0] == 0
        and starts[-1] == total
        and not (starts[1:] < starts[:-1]).any()
    )


def _rising_within_runs(passages: np.ndarray, starts: np.ndarray) -> bool:
    """Whether each term lists its passages in increasing order, as bm25s writes them: a
    passage listed twice under one term would count twice."""
    rising = passages[1:] > passages[:-1]
    # From the last passage of one run to the first of the next, the numbers may fall.
    inner = starts[1:-1]
    rising[inner[(inner > 0) & (inner < len(passages))] - 1] = True
    return bool(rising.all())


def _kind(dtype: object) -> str:
    """The kind of a dtype name ("f", "i", "u"...), "?" for no dtype."""
    try:
        kind: str = np.dtype(str(dtype)).kind
    except TypeError:
        return "?"
    return kind


def term_overlap(query: str, texts: Sequence[str]) -> np.ndarray:
    """Share of the query's terms found in each text (used to pick a highlight sentence)."""
    query_terms = set(analyze(query))
    if not query_terms:
        return np.zeros(len(texts), dtype=np.float32)
    return np.array(
        [len(query_terms & _terms(text)) / len(query_terms) for text in texts],
        dtype=np.float32,
    )


@lru_cache(maxsize=65536)
def _terms(text: str) -> frozenset[str]:
    """The terms of a highlight candidate: the index's sentences come back request after
    request, and analysing them was a sixth of a search's time."""
    return frozenset(analyze(text))
