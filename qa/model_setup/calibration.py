"""The texts that static quantisation measures activation ranges on, and how they are made.

`calibration_texts.jsonl` (in this package, one `{"text": ...}` a line) holds the passages and
sentences of the seeds' index and the questions of the project's question sets, each with the
prompt the model sees it with: what the service embeds, in the proportions indexing and search
do. The piaf-dev set is left out of it, so that its evaluation and the agreement measured on its
questions are on texts the ranges were not measured on. Written by

    python -m qa.model_setup.calibration [--index-dir index] [--out FILE]

from the published index of the settings and `eval/questions.jsonl` and
`eval/unanswerable*.jsonl` (a checkout's files); `qa model` reads the packaged copy.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Final

from rich.console import Console

from qa.errors import ModelError, QAError

CALIBRATION_FILE: Final = Path(__file__).with_name("calibration_texts.jsonl")
QUESTION_FILES: Final = (
    Path("eval/questions.jsonl"),
    Path("eval/unanswerable.jsonl"),
    Path("eval/unanswerable_on_topic.jsonl"),
    Path("eval/unanswerable_off_topic.jsonl"),
)


def calibration_texts(path: Path = CALIBRATION_FILE) -> list[str]:
    """The prompted texts of the calibration file."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
        return [str(json.loads(line)["text"]) for line in lines if line.strip()]
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise ModelError(f"cannot read the calibration texts {path}: {error}") from error


def corpus_texts(
    passages: Sequence[str],
    sentences: Sequence[str],
    questions: Sequence[str],
    *,
    passage_prompt: str,
    query_prompt: str,
) -> list[str]:
    """Each distinct text once, with its prompt: passages, their sentences, then questions."""
    prompted = [
        *(passage_prompt + text for text in passages),
        *(passage_prompt + text for text in sentences),
        *(query_prompt + text for text in questions),
    ]
    return list(dict.fromkeys(prompted))


def _lines(texts: Sequence[str]) -> Iterator[str]:
    for text in texts:
        yield json.dumps({"text": text}, ensure_ascii=False) + "\n"


def write_calibration_texts(index_dir: Path | None, out: Path) -> int:
    """Write the calibration file from the published index and the project's question sets;
    how many texts it holds."""
    from qa.evaluation import load_questions
    from qa.search.store import open_store
    from qa.settings import load_settings

    settings = load_settings({"index_dir": index_dir} if index_dir else {})
    chunks = open_store(settings).chunks
    texts = corpus_texts(
        [chunk.match_text for chunk in chunks],
        [chunk.text_of(span) for chunk in chunks for span in chunk.sentences],
        [question.question for path in QUESTION_FILES for question in load_questions(path)],
        passage_prompt=settings.passage_prompt,
        query_prompt=settings.query_prompt,
    )
    out.write_text("".join(_lines(texts)), encoding="utf-8")
    return len(texts)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m qa.model_setup.calibration", description=__doc__
    )
    parser.add_argument("--index-dir", type=Path, help="the seeds' index (QA_INDEX_DIR)")
    parser.add_argument("--out", type=Path, default=CALIBRATION_FILE)
    args = parser.parse_args(argv)
    try:
        written = write_calibration_texts(args.index_dir, args.out)
    except QAError as error:
        Console(stderr=True).print(f"qa: error: {error}", markup=False, highlight=False)
        return 1
    Console().print(f"{written} texts written to {args.out}", markup=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
