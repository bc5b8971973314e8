"""The default model at several precisions, the encoder alone: questions per second at batch 1
and batch 8, in one process, the precisions alternating round by round.

    python -m bench.encoder [--precisions int8-embeddings,int8-static] [--rounds 5] [--duration 3]

Each precision's model must be set up (`QA_ENCODER_PRECISION=... qa model`). Each round embeds,
for each precision, the question pool of `bench.ceiling` (distinct questions of the project's
and piaf-dev's sets) with `embed_queries`, as the service does, one at a time then in calls of 8
questions of similar lengths, for `--duration` seconds each (`bench.ceiling.measure_encoder`).
Prints each precision's medians over the rounds, time per question (wall and CPU) and questions
per second, and its speed-up over the first precision.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from typing import Final, get_args

from bench.ceiling import EncoderRate, measure_encoder, question_pool
from qa.cli.arguments import ArgumentParser, console, exit_status, whole_number
from qa.search.encoders import load_encoder
from qa.settings import EncoderPrecision, load_settings

BATCH_SIZES: Final = (1, 8)
PRECISIONS: Final[tuple[str, ...]] = get_args(EncoderPrecision)


def precisions(value: str) -> list[str]:
    """A comma-separated list of precisions, checked."""
    names = [name.strip() for name in value.split(",") if name.strip()]
    if not names or any(name not in PRECISIONS for name in names):
        raise argparse.ArgumentTypeError(f"precisions among {', '.join(PRECISIONS)} ({value!r})")
    return names


def run(args: argparse.Namespace) -> int:
    pool = question_pool()
    encoders = {
        name: load_encoder(load_settings({"encoder_precision": name})) for name in args.precisions
    }
    for encoder in encoders.values():
        encoder.embed_queries(pool[:8])  # warm: onnxruntime plans its first shapes
    rates: dict[tuple[str, int], list[EncoderRate]] = {
        (name, batch): [] for name in encoders for batch in BATCH_SIZES
    }
    names = list(encoders)
    for number in range(args.rounds):
        for name in names if number % 2 == 0 else names[::-1]:
            for batch in BATCH_SIZES:
                rates[name, batch].append(
                    measure_encoder(encoders[name], pool, batch, args.duration)
                )
    wall = {
        key: statistics.median(r.ms_per_question for r in found) for key, found in rates.items()
    }
    cpu = {
        key: statistics.median(r.cpu_ms_per_question for r in found) for key, found in rates.items()
    }
    console.print(
        f"{len(pool)} questions, {args.rounds} rounds of {args.duration} s per batch size, "
        "medians per question (wall ms, CPU ms, questions/s, speed-up over the first)",
        markup=False,
    )
    for name in names:
        figures = "   ".join(
            f"batch {batch}: {wall[name, batch]:6.2f} ms {cpu[name, batch]:6.2f} cpu "
            f"{1e3 / wall[name, batch]:6.1f} q/s x{wall[names[0], batch] / wall[name, batch]:.2f}"
            for batch in BATCH_SIZES
        )
        console.print(f"{name:16s} {figures}", markup=False)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = ArgumentParser(prog="python -m bench.encoder", description=__doc__)
    parser.add_argument("--precisions", type=precisions, default=["int8-embeddings", "int8-static"])
    parser.add_argument("--rounds", type=whole_number(1, 100), default=5)
    parser.add_argument("--duration", type=whole_number(1, 60), default=3)
    args = parser.parse_args(argv)
    return exit_status(lambda: run(args))


if __name__ == "__main__":
    sys.exit(main())
