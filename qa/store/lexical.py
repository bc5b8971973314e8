"""Lexical retrieval: BM25 (bm25s) over French-analysed tokens.

The analyser folds what varies in spelling but not in meaning (case, accents, typographic
apostrophes, elided articles) and stems French words, while keeping names and numbers whole
("SeedChip", "910B", "19,4") so they are found exactly.
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
        try:
            retriever = bm25s.BM25.load(str(folder), show_progress=False)
        except (OSError, ValueError, KeyError) as error:
            raise IndexCorruptError(
                f"cannot read the lexical index in {folder}: {error}"
            ) from error
        return cls(retriever, size)


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
