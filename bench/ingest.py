"""Benchmark of ingestion from the web: a local news site of generated pages, then

- extraction alone: pages/s of `qa.content.extract` over the site's pages (in this process);
- `qa add SITEMAP` into an empty corpus, the wall time of the whole command (fetching,
  extraction, the model's load, embedding, publication), each run from scratch;
- `qa sync` of the unchanged site: its wall time and the requests it made.

    python -m bench.ingest [--pages 500] [--runs 3] [--from DIR ...] [--workdir DIR]

Medians over the runs. The site is on 127.0.0.1, so its user's pace applies: fetched at
`QA_FETCH_RATE_PER_HOST=100` (the highest the setting takes), the sync allowed loopback.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.news_site import LocalSite, pages_of, read_sources, write_site
from qa.cli.arguments import ArgumentParser, exit_status, whole_number
from qa.content.extract import extract
from qa.errors import QAError

DEFAULT_SOURCES = [Path("seeds"), Path("eval/piaf-dev/docs")]
EXTRACTION_PASSES = 3
FETCH_ENV = {"QA_FETCH_RATE_PER_HOST": "100", "QA_SYNC_ALLOW_PRIVATE": "true"}


def qa(*args: str, corpus: Path, index: Path) -> tuple[float, str]:
    """`qa ARGS` in a fresh process on these folders: its wall time and its summary line."""
    env = os.environ | FETCH_ENV | {"QA_CORPUS_DIR": str(corpus), "QA_INDEX_DIR": str(index)}
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "qa.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=3600,
        check=False,
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise QAError(f"qa {args[0]} failed: {done.stderr.strip()[-300:]}")
    return seconds, done.stdout.strip().splitlines()[-1]


def pages_per_second(bodies: list[tuple[str, bytes]]) -> float:
    """Extraction alone, the median of a few passes over every page."""
    passes = []
    for _ in range(EXTRACTION_PASSES):
        started = time.perf_counter()
        for url, body in bodies:
            extract(body, "html", url=url)
        passes.append(time.perf_counter() - started)
    return len(bodies) / statistics.median(passes)


def run(args: argparse.Namespace) -> int:
    sources = read_sources([folder for folder in args.sources if folder.is_dir()])
    if not sources:
        raise QAError("no source article to generate pages from (--from)")
    with tempfile.TemporaryDirectory(dir=args.workdir) as temporary:
        work = Path(temporary)
        with LocalSite(work / "site") as site:
            pages = pages_of(sources, args.pages)
            write_site(work / "site", site.base_url, pages)
            print(f"{len(pages)} pages from {len(sources)} source articles", flush=True)
            bodies = [
                (
                    site.base_url + p.path,
                    (work / "site" / p.path.strip("/") / "index.html").read_bytes(),
                )
                for p in pages
            ]
            print(f"extraction alone: {pages_per_second(bodies):.1f} pages/s", flush=True)
            adding = []
            for attempt in range(args.runs):  # each from scratch
                folders = {"corpus": work / f"corpus-{attempt}", "index": work / f"index-{attempt}"}
                seconds, summary = qa("add", f"{site.base_url}/sitemap.xml", **folders)
                print(f"  qa add  {seconds:7.1f} s  {summary}", flush=True)
                adding.append(seconds)
            syncing, requests = [], []
            for _ in range(args.runs):  # on the first corpus, the site unchanged
                asked = len(site.requests)
                seconds, summary = qa("sync", corpus=work / "corpus-0", index=work / "index-0")
                requests.append(len(site.requests) - asked)
                print(f"  qa sync {seconds:7.1f} s  {summary}", flush=True)
                syncing.append(seconds)
    first = statistics.median(adding)
    print(f"qa add, first run: {first:.1f} s ({len(pages) / first:.1f} pages/s)")
    print(
        f"qa sync, nothing changed: {statistics.median(syncing):.1f} s "
        f"({max(requests)} requests at most)"
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = ArgumentParser(prog="python -m bench.ingest", description=__doc__)
    parser.add_argument("--pages", type=whole_number(1), default=500)
    parser.add_argument("--runs", type=whole_number(1), default=3)
    parser.add_argument("--from", dest="sources", type=Path, nargs="+", default=DEFAULT_SOURCES)
    parser.add_argument("--workdir", type=Path, help="where the site and corpora go (temporary)")
    args = parser.parse_args(argv)
    return exit_status(lambda: run(args))


if __name__ == "__main__":
    sys.exit(main())
