"""Benchmark of the live corpus: index >= 1,000 generated articles, then add one at a time.

    python -m bench.live [--articles 1000] [--from DIR ...] [--workdir DIR]

Articles are made from real French text (the seeds and any other folders given): each takes
a few consecutive paragraphs of one source article under its own headline, so that every
article is distinct and reads like news. Prints the time of the first (full) indexing, of a run
with nothing changed, and of each single-article addition, with the passages each embedded.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

from qa.cli.arguments import whole_number
from qa.content.corpus import corpus_files
from qa.indexing import IndexReport, update_index
from qa.search.encoders import load_encoder
from qa.settings import Settings

DEFAULT_SOURCES = [Path("seeds"), Path("eval/piaf-dev/docs")]
PARAGRAPHS_PER_ARTICLE = 2
ADDITIONS = 3


def generate_articles(sources: list[Path], count: int, corpus: Path) -> None:
    """Write `count` distinct articles into `corpus`, cut from the source folders' articles."""
    bases = []
    for folder in sources:
        for path in corpus_files(folder):
            lines = path.read_text(encoding="utf-8").splitlines()
            paragraphs = [line for line in lines[1:] if len(line.split()) >= 12]
            if paragraphs:
                bases.append((lines[0].strip(), paragraphs))
    if not bases:
        raise SystemExit("qa: error: no source article to generate from")
    for number in range(count):
        headline, paragraphs = bases[number % len(bases)]
        round_ = number // len(bases)
        start = (round_ * PARAGRAPHS_PER_ARTICLE) % len(paragraphs)
        taken = [paragraphs[(start + i) % len(paragraphs)] for i in range(PARAGRAPHS_PER_ARTICLE)]
        text = f"{headline} (dépêche {number})\n\n" + "\n\n".join(taken) + "\n"
        (corpus / f"article_{number:05d}.txt").write_text(text, encoding="utf-8")


def line(what: str, report: IndexReport) -> str:
    changes = report.changes
    return (
        f"{what:<28} {report.seconds:7.2f} s  embedded {changes.passages_embedded:6d} of "
        f"{report.passages:6d} passages  (+{len(changes.added)} ~{len(changes.changed)} "
        f"-{len(changes.removed)} ={len(changes.unchanged)} files)"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.live", description=__doc__)
    parser.add_argument("--articles", type=whole_number(1), default=1000)
    parser.add_argument("--from", dest="sources", type=Path, nargs="+", default=DEFAULT_SOURCES)
    parser.add_argument("--workdir", type=Path, help="where the corpus and index go (temporary)")
    args = parser.parse_args(argv)
    sources = [folder for folder in args.sources if folder.is_dir()]
    with tempfile.TemporaryDirectory(dir=args.workdir) as work:
        corpus, index_dir = Path(work) / "corpus", Path(work) / "index"
        corpus.mkdir()
        generate_articles(sources, args.articles + ADDITIONS, corpus)
        extra = sorted(corpus.glob("*.txt"))[args.articles :]
        held = Path(work) / "held"
        held.mkdir()
        for path in extra:
            path.rename(held / path.name)
        settings = Settings(corpus_dir=corpus, index_dir=index_dir)
        encoder = load_encoder(settings)
        print(f"{args.articles} articles from {', '.join(map(str, sources))}", flush=True)
        print(line("first indexing (full)", update_index(settings, encoder)), flush=True)
        print(line("nothing changed", update_index(settings, encoder)), flush=True)
        seconds = []
        for path in sorted(held.iterdir()):
            path.rename(corpus / path.name)
            report = update_index(settings, encoder)
            seconds.append(report.seconds)
            print(line(f"add {path.name}", report), flush=True)
        (corpus / extra[0].name).unlink()
        print(line("remove one article", update_index(settings, encoder)), flush=True)
        print(f"median time to add one article: {statistics.median(seconds):.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
