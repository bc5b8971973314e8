"""The language of a text, as an ISO 639-1 code (langdetect, seeded: same text, same answer)."""

from __future__ import annotations

from langdetect import DetectorFactory, LangDetectException, detect_langs

# A guess below this probability is reported as "unknown".
LANGUAGE_MIN_PROBABILITY = 0.7
# An article's language shows in its first few thousand characters; detection time grows with
# the length of the text.
SAMPLE_CHARS = 2000

DetectorFactory.seed = 0  # langdetect is random by default


def detect_language(text: str) -> str:
    """ISO 639-1 code of `text`, or "unknown" when langdetect cannot tell."""
    try:
        guesses = detect_langs(text[:SAMPLE_CHARS])
    except LangDetectException:
        return "unknown"
    best = guesses[0] if guesses else None
    return str(best.lang) if best and best.prob >= LANGUAGE_MIN_PROBABILITY else "unknown"
