#!/usr/bin/env python3
"""Validate the fixed evaluation question sets against the seed articles.

Checks ``eval/questions.jsonl`` (answerable), ``eval/unanswerable.jsonl`` and the two sets of
the learned answerability flag, ``eval/unanswerable_on_topic.jsonl`` (about the articles' subjects,
not answered by them) and ``eval/unanswerable_off_topic.jsonl``:

* every line is a JSON object with the keys id, question, relevant, answers, lang
  of the right types;
* ids are unique (across both files) and numbered q01, q02, ... / u01, u02, ...
  in order (t01... and o01... in the on-topic and off-topic sets);
* every file listed in ``relevant`` exists in the seeds folder;
* answerable questions have at least one relevant file and one answer, every
  relevant file contains at least one answer, and every answer occurs in at least
  one relevant file (matching is case-insensitive, whitespace-normalized,
  otherwise literal);
* unanswerable questions have empty ``relevant`` and ``answers``.

It also prints, as warnings, any seed file that contains one of a question's
answers without being listed in ``relevant``: read the passage and decide
whether that article answers the question too.

Usage: python3 eval/check_questions.py [--seeds DIR] [--eval-dir DIR]
Exits 1 if any error was found, 0 otherwise (warnings do not fail).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import unicodedata
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
REQUIRED_KEYS: dict[str, type] = {
    "id": str,
    "question": str,
    "relevant": list,
    "answers": list,
    "lang": str,
}
ESCAPED_NON_ASCII = re.compile(r"\\u00[89a-fA-F][0-9a-fA-F]|\\u[1-9a-fA-F][0-9a-fA-F]{3}")


@dataclass(frozen=True)
class Question:
    id: str
    question: str
    relevant: list[str]
    answers: list[str]
    lang: str
    source: str  # "file:line" for messages


def normalize(text: str) -> str:
    """Case-fold and collapse whitespace (the matching rule used by the eval)."""
    text = unicodedata.normalize("NFC", text)
    return re.sub(r"\s+", " ", text).strip().lower()


class Report:
    def __init__(self) -> None:
        self.errors: list[str] = []
        self.warnings: list[str] = []

    def error(self, msg: str) -> None:
        self.errors.append(msg)

    def warn(self, msg: str) -> None:
        self.warnings.append(msg)


def load_seeds(seeds_dir: Path) -> dict[str, str]:
    """Map seed file name -> normalized text."""
    return {
        p.name: normalize(p.read_text(encoding="utf-8")) for p in sorted(seeds_dir.glob("*.txt"))
    }


def load_questions(path: Path, report: Report) -> list[Question]:
    questions: list[Question] = []
    if not path.is_file():
        report.error(f"{path}: file not found")
        return questions
    for lineno, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        where = f"{path.name}:{lineno}"
        if not raw.strip():
            report.error(f"{where}: empty line")
            continue
        if ESCAPED_NON_ASCII.search(raw):
            report.error(f"{where}: non-ASCII characters are \\u-escaped; write them as UTF-8")
        try:
            obj = json.loads(raw)
        except json.JSONDecodeError as exc:
            report.error(f"{where}: invalid JSON ({exc})")
            continue
        if not isinstance(obj, dict):
            report.error(f"{where}: line is not a JSON object")
            continue
        ok = True
        for key, typ in REQUIRED_KEYS.items():
            if key not in obj:
                report.error(f"{where}: missing key {key!r}")
                ok = False
            elif not isinstance(obj[key], typ):
                report.error(f"{where}: key {key!r} should be {typ.__name__}")
                ok = False
        extra = set(obj) - set(REQUIRED_KEYS)
        if extra:
            report.warn(f"{where}: unexpected keys {sorted(extra)}")
        if not ok:
            continue
        for key in ("relevant", "answers"):
            if not all(isinstance(x, str) and x.strip() for x in obj[key]):
                report.error(f"{where}: {key!r} must contain non-empty strings only")
                ok = False
            if len(set(obj[key])) != len(obj[key]):
                report.error(f"{where}: duplicate entries in {key!r}")
        if not obj["question"].strip() or not obj["lang"].strip():
            report.error(f"{where}: empty question or lang")
            ok = False
        if ok:
            questions.append(
                Question(
                    obj["id"], obj["question"], obj["relevant"], obj["answers"], obj["lang"], where
                )
            )
    return questions


def check_ids(questions: list[Question], prefix: str, report: Report) -> None:
    width = max(2, len(str(len(questions))))
    for index, q in enumerate(questions, start=1):
        expected = f"{prefix}{index:0{width}d}"
        if q.id != expected:
            report.error(f"{q.source}: id {q.id!r}, expected {expected!r} (ids must be sequential)")


def check_answerable(q: Question, seeds: dict[str, str], report: Report) -> None:
    if not q.relevant:
        report.error(f"{q.id}: no relevant file")
    if not q.answers:
        report.error(f"{q.id}: no answer string")
    norm_answers = [normalize(a) for a in q.answers]
    for name in q.relevant:
        if name not in seeds:
            report.error(f"{q.id}: relevant file {name!r} not found in seeds")
        elif not any(a in seeds[name] for a in norm_answers):
            report.error(f"{q.id}: relevant file {name} contains none of {q.answers}")
    for answer, norm in zip(q.answers, norm_answers, strict=True):
        if not any(norm in seeds[name] for name in q.relevant if name in seeds):
            report.error(f"{q.id}: answer {answer!r} occurs in no relevant file")
    for name, text in seeds.items():
        if name in q.relevant:
            continue
        hits = [a for a, norm in zip(q.answers, norm_answers, strict=True) if norm in text]
        if hits:
            report.warn(f"{q.id}: {name} also contains {hits} but is not listed in relevant")


def check_unanswerable(q: Question, report: Report) -> None:
    if q.relevant or q.answers:
        report.error(f"{q.id}: unanswerable question must have empty 'relevant' and 'answers'")


def summarize(
    questions: list[Question], unanswerable: list[Question], seeds: dict[str, str]
) -> None:
    langs = Counter(q.lang for q in questions)
    per_file = Counter(name for q in questions for name in q.relevant)
    multi = sum(1 for q in questions if len(q.relevant) > 1)
    print(
        f"answerable: {len(questions)}  unanswerable: {len(unanswerable)}  multi-article: {multi}"
    )
    print("languages (answerable): " + ", ".join(f"{k}={v}" for k, v in sorted(langs.items())))
    u_langs = Counter(q.lang for q in unanswerable)
    print("languages (unanswerable): " + ", ".join(f"{k}={v}" for k, v in sorted(u_langs.items())))
    print("questions per relevant article:")
    for name in seeds:
        print(f"  {name}: {per_file.get(name, 0)}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=Path, default=REPO_ROOT / "seeds")
    parser.add_argument("--eval-dir", type=Path, default=REPO_ROOT / "eval")
    args = parser.parse_args(argv)

    report = Report()
    seeds = load_seeds(args.seeds)
    if not seeds:
        print(f"ERROR: no seed files in {args.seeds}")
        return 1

    questions = load_questions(args.eval_dir / "questions.jsonl", report)
    unanswerable = load_questions(args.eval_dir / "unanswerable.jsonl", report)
    on_topic = load_questions(args.eval_dir / "unanswerable_on_topic.jsonl", report)
    off_topic = load_questions(args.eval_dir / "unanswerable_off_topic.jsonl", report)
    check_ids(questions, "q", report)
    check_ids(unanswerable, "u", report)
    check_ids(on_topic, "t", report)
    check_ids(off_topic, "o", report)
    everything = questions + unanswerable + on_topic + off_topic
    for qid, count in Counter(q.id for q in everything).items():
        if count > 1:
            report.error(f"duplicate id {qid!r} ({count} times)")
    for q in questions:
        check_answerable(q, seeds, report)
    for q in unanswerable + on_topic + off_topic:
        check_unanswerable(q, report)

    summarize(questions, unanswerable, seeds)
    print(f"on-topic unanswered: {len(on_topic)}  off-topic: {len(off_topic)}")
    for msg in report.warnings:
        print(f"WARNING: {msg}")
    for msg in report.errors:
        print(f"ERROR: {msg}")
    print(f"{len(report.errors)} error(s), {len(report.warnings)} warning(s)")
    return 1 if report.errors else 0


if __name__ == "__main__":
    sys.exit(main())
