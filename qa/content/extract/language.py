"""The language of a text, as a language code (py3langid: a naive Bayes model over byte n-grams
whose weights ship in the package; no randomness, same text, same answer).

py3langid answers in 0.04 ms for a question where langdetect took 1.6 ms, and is right more
often on the project's labelled questions (docs/measurements.md, `python -m bench.language`).
Its codes are ISO 639-1 where the language has one (`fr`, `en`), ISO 639-3 otherwise (`oc` is
639-1, `vec` 639-3).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Final

from py3langid.langid import MODEL_FILE, LanguageIdentifier

UNKNOWN: Final = "unknown"
# A guess below this probability is reported as "unknown". py3langid's probabilities are
# normalised with a temperature that grows with the text's length, so a question of four words
# gets a modest one even when right: on 966 labelled questions, guesses under 0.3 were wrong 10
# times in 33, those above 3 times in 936; text with no letters scores below 0.05.
LANGUAGE_MIN_PROBABILITY: Final = 0.3
# py3langid's label for text without linguistic content (digits, punctuation, symbols).
NO_LANGUAGE: Final = "zxx"
# An article's language shows in its first few thousand characters; detection time grows with
# the length of the text.
SAMPLE_CHARS: Final = 2000


@lru_cache(maxsize=1)
def _identifier() -> LanguageIdentifier:
    """The model, loaded on first use (0.6 s, about 75 MB), then shared."""
    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def detect_language(text: str, min_probability: float = LANGUAGE_MIN_PROBABILITY) -> str:
    """The language code of `text`, or "unknown" when the best guess is less likely than
    `min_probability` or the text has no words."""
    language, probability = _identifier().classify(text[:SAMPLE_CHARS])
    if language == NO_LANGUAGE or probability < min_probability:
        return UNKNOWN
    return str(language)
