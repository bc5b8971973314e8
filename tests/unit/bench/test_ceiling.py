"""`bench.ceiling`'s pure parts: the distinct question pool, the encoder's calls of similar
length, and the ratios taken within each round before the medians (the whole run as a real
process: tests/integration/test_bench.py)."""

from __future__ import annotations

import json
from pathlib import Path

from bench.ceiling import (
    CeilingRound,
    EncoderRate,
    ServiceRound,
    ServiceStart,
    measure_encoder,
    question_pool,
    similar_length_batches,
    summarise,
)
from bench.loadgen import LoadResult
from tests.conftest import ROOT, FakeEncoder


def write_set(path: Path, questions: list[str]) -> Path:
    lines = [
        json.dumps({"id": f"{path.stem}{n}", "question": q, "relevant": ["a.txt"]})
        for n, q in enumerate(questions)
    ]
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def test_the_pool_holds_each_question_once_in_the_order_of_the_sets(tmp_path: Path) -> None:
    first = write_set(tmp_path / "a.jsonl", ["Qui ?", "Quoi ?", "Qui ?"])
    second = write_set(tmp_path / "b.jsonl", ["Quoi ?", "Où ?", "Quand ?"])
    assert question_pool([first, second], size=10) == ["Qui ?", "Quoi ?", "Où ?", "Quand ?"]
    assert question_pool([first, second], size=3) == ["Qui ?", "Quoi ?", "Où ?"]


def test_the_default_pool_is_600_distinct_questions() -> None:
    sets = [ROOT / "eval" / "questions.jsonl", ROOT / "eval" / "piaf-dev" / "questions.jsonl"]
    pool = question_pool(sets)
    assert len(pool) == len(set(pool)) == 600


def test_the_encoders_calls_hold_questions_of_neighbouring_lengths() -> None:
    encoder = FakeEncoder()
    pool = ["a " * n for n in (9, 1, 5, 3, 7, 2, 8)]
    calls = similar_length_batches(encoder, pool, 3)
    assert [[encoder.count_tokens(q) for q in call] for call in calls] == [
        [1, 2, 3],
        [5, 7, 8],
        [9],
    ]


def test_the_encoder_alone_embeds_at_least_one_call_and_counts_its_questions() -> None:
    rate = measure_encoder(FakeEncoder(), ["une question", "deux"], batch=2, duration_s=0.0)
    assert rate.batch == 2
    assert rate.questions_per_s > 0
    assert rate.ms_per_question > 0


def load(clients: int, throughput: float, p50: float, p99: float) -> LoadResult:
    return LoadResult(clients, 5.0, int(throughput * 5), throughput, p50, p50, p99, p99, {})


def test_each_ratio_is_taken_within_its_round_then_the_median_over_rounds() -> None:
    def one_round(scale: float) -> CeilingRound:
        # A machine `scale` times slower: every figure moves, the ratios do not.
        return CeilingRound(
            encoder=[
                EncoderRate(1, 100 / scale, 10 * scale, 15 * scale),
                EncoderRate(4, 125 / scale, 8 * scale, 12 * scale),
            ],
            services=[
                ServiceRound(
                    "current",
                    one_client=load(1, 70 / scale, 12 * scale, 20 * scale),
                    loaded=load(32, 100 / scale, 300 * scale, 450 * scale),
                    mean_batch=3.6,
                    cpu_ms_per_request=18.0,
                )
            ],
        )

    rounds = [one_round(1.0), one_round(2.0), one_round(1.5)]
    report = summarise(32, 600, 5, rounds, [ServiceStart("current", 2.0, 500.0, 520.0)])
    (summary,) = report.summaries
    assert summary.share_of_encoder == 0.8  # 100 / 125 in every round
    assert summary.req_per_s == round(100 / 1.5, 3)
    assert summary.overhead_one_ms == 3.0  # the median of 12 - 10, 24 - 20 and 18 - 15
    assert summary.p99_over_p50 == 1.5
    assert summary.errors == 0
    assert report.encoder_one_ms == 15.0
