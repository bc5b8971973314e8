"""Language detection as it is (py3langid, `qa.content.extract.detect_language`) against as it was
(langdetect, seeded, "unknown" below 0.7), on texts whose language is known: every question of
the question sets that says its `lang`, and the articles of the corpora (French).

    python -m bench.language [--rounds 5]

Prints, for each detector, how many texts it got right, called "unknown" or got wrong; then the
median time per question and per article of each (whole rounds of one detector, alternating),
and their ratio; then py3langid's answers at other probability thresholds.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from qa.cli.arguments import ArgumentParser, console, exit_status, whole_number
from qa.content.extract.language import (
    LANGUAGE_MIN_PROBABILITY,
    SAMPLE_CHARS,
    UNKNOWN,
    detect_language,
)
from qa.evaluation import load_questions

QUESTION_SETS: Final = (
    Path("eval/questions.jsonl"),
    Path("eval/unanswerable.jsonl"),
    Path("eval/unanswerable_on_topic.jsonl"),
    Path("eval/unanswerable_off_topic.jsonl"),
    Path("eval/piaf-dev/questions.jsonl"),
)
# Both corpora are French: the seeds are French news, piaf-dev French Wikipedia.
ARTICLE_FOLDERS: Final = (Path("seeds"), Path("eval/piaf-dev/docs"))
ARTICLE_LANGUAGE: Final = "fr"
LANGDETECT_MIN_PROBABILITY: Final = 0.7
THRESHOLDS: Final = (0.0, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9)

Detector = Callable[[str], str]
Labelled = list[tuple[str, str]]  # (text, its language)


@dataclass(frozen=True)
class Tally:
    right: int
    unknown: int
    wrong: int

    def __str__(self) -> str:
        total = self.right + self.unknown + self.wrong
        return f"right {self.right:4d}/{total}  unknown {self.unknown:3d}  wrong {self.wrong:3d}"


def langdetect_detector() -> Detector:
    """The detection `qa` ran before py3langid, as it ran it."""
    from langdetect import DetectorFactory, LangDetectException, detect_langs

    DetectorFactory.seed = 0

    def detect(text: str) -> str:
        try:
            guesses = detect_langs(text[:SAMPLE_CHARS])
        except LangDetectException:
            return UNKNOWN
        best = guesses[0] if guesses else None
        return str(best.lang) if best and best.prob >= LANGDETECT_MIN_PROBABILITY else UNKNOWN

    return detect


def labelled_questions(paths: Sequence[Path]) -> Labelled:
    """Each distinct question that says its language (sets share a few)."""
    found = {q.question: q.lang for path in paths for q in load_questions(path) if q.lang}
    return [(text, language) for text, language in found.items() if language]


def labelled_articles(folders: Sequence[Path]) -> Labelled:
    return [
        (path.read_text(encoding="utf-8"), ARTICLE_LANGUAGE)
        for folder in folders
        for path in sorted(folder.glob("*.txt"))
    ]


def tally(answers: Sequence[str], texts: Labelled) -> Tally:
    right = sum(answer == language for answer, (_, language) in zip(answers, texts, strict=True))
    unknown = sum(answer == UNKNOWN for answer in answers)
    return Tally(right, unknown, len(texts) - right - unknown)


def timed(detectors: dict[str, Detector], texts: Labelled, rounds: int) -> dict[str, float]:
    """Median seconds per text of each detector: each round runs every detector over all the
    texts, the detectors' order alternating round by round so that the machine's drift falls on
    both. (Alternating text by text instead, each detector finds the CPU caches full of the
    other's tables: py3langid then takes 0.16 ms a question instead of 0.04.)"""
    times: dict[str, list[float]] = {name: [] for name in detectors}
    names = list(detectors)
    for number in range(rounds):
        for name in names if number % 2 == 0 else names[::-1]:
            detect = detectors[name]
            for text, _ in texts:
                started = time.perf_counter()
                detect(text)
                times[name].append(time.perf_counter() - started)
    return {name: statistics.median(values) for name, values in times.items()}


def run(args: argparse.Namespace) -> int:
    questions = labelled_questions(QUESTION_SETS)
    articles = labelled_articles(ARTICLE_FOLDERS)
    detectors = {
        "langdetect": langdetect_detector(),
        "py3langid": detect_language,
    }
    for detect in detectors.values():
        detect("Première détection : ce qui se charge au premier usage se charge ici.")
    console.print(
        f"{len(questions)} questions, {len(articles)} articles "
        f"(first {SAMPLE_CHARS} characters), languages as labelled",
        markup=False,
    )
    for name, detect in detectors.items():
        console.print(
            f"{name:10s}  questions {tally([detect(t) for t, _ in questions], questions)}"
            f"   articles {tally([detect(t) for t, _ in articles], articles)}",
            markup=False,
        )
    per_question = timed(detectors, questions, args.rounds)
    per_article = timed(detectors, articles, args.rounds)
    for what, medians in (("question", per_question), ("article", per_article)):
        console.print(
            f"median per {what} ({args.rounds} rounds): "
            + ", ".join(f"{name} {1e3 * seconds:.3f} ms" for name, seconds in medians.items())
            + f"; langdetect / py3langid {medians['langdetect'] / medians['py3langid']:.1f}x",
            markup=False,
        )
    console.print(f"py3langid by threshold (the service: {LANGUAGE_MIN_PROBABILITY}):")
    for threshold in THRESHOLDS:
        answers = [detect_language(text, threshold) for text, _ in questions]
        console.print(
            f"  >= {threshold:.1f}  questions {tally(answers, questions)}",
            markup=False,
        )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = ArgumentParser(prog="python -m bench.language", description=__doc__)
    parser.add_argument("--rounds", type=whole_number(1, 100), default=5)
    args = parser.parse_args(argv)
    return exit_status(lambda: run(args))


if __name__ == "__main__":
    sys.exit(main())
