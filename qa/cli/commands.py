"""The `qa` command: index, ask, serve, eval. Domain errors become one line and exit status 1.

Commands import the heavy modules (torch, faiss, ranx) themselves, so that `qa --help` and a
mistyped option answer at once.
"""

from __future__ import annotations

import argparse
import socket
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.markup import escape

from qa.cli.arguments import ArgumentParser, console, error_console, exit_status, whole_number
from qa.cli.fetching import sync_and_report
from qa.cli.report import add_report_arguments, run_report
from qa.cli.train_ranker import add_train_ranker_arguments, run_train_ranker
from qa.content.corpus.chunk import ChunkingConfig
from qa.errors import QAError, require_extra
from qa.settings import SearchMode, Settings, load_settings

if TYPE_CHECKING:
    from qa.content.corpus.documents import CorpusEdit
    from qa.evaluation.compare import Config
    from qa.evaluation.evaluate import Report
    from qa.search.encoders import Encoder
    from qa.search.retrieval.search import Searcher


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    overrides = {
        "corpus_dir": getattr(args, "corpus", None),
        "index_dir": getattr(args, "index_dir", None),
        "host": getattr(args, "host", None),
        "port": getattr(args, "port", None),
    }
    return exit_status(lambda: args.run(args, load_settings(overrides)))


def run_model(_: argparse.Namespace, settings: Settings) -> int:
    from qa.model_setup import prepare_model

    location = prepare_model(settings)
    if location.folder is None:
        console.print(
            f"model {settings.model} is not on this machine yet: it will be downloaded from "
            "the model hub when it is first loaded (network needed)",
            markup=False,
        )
    else:
        runs = location.onnx or (location.own_onnx and location.own_onnx.onnx_file)
        how = f"onnxruntime, {runs}" if runs else "sentence-transformers"
        console.print(f"model {settings.model} ready in {location.folder} ({how})", markup=False)
    return 0


def run_index(args: argparse.Namespace, settings: Settings) -> int:
    from qa.indexing.staleness import published_index_problems

    _require_folder(settings.index_dir, "index folder")
    if args.if_stale and not args.reextract and not published_index_problems(settings):
        console.print(f"index in {settings.index_dir} is up to date", markup=False)
        return 0
    _build_index(settings, console, wait=args.wait, reextract=args.reextract)
    return 0


def run_add(args: argparse.Namespace, settings: Settings) -> int:
    from qa.content.corpus.documents import add_files

    _require_folder(settings.index_dir, "index folder")
    urls = [source for source in args.sources if _is_url(source)]
    files = [Path(source) for source in args.sources if not _is_url(source)]
    if urls:  # what its user names is fetched wherever it is, loopback included
        sync_and_report(settings, partial(_encoder, settings), urls, files=files, wait=args.wait)
    else:
        _build_index(settings, console, wait=args.wait, edit=lambda: add_files(settings, files))
    return 0


def run_sync(args: argparse.Namespace, settings: Settings) -> int:
    _require_folder(settings.index_dir, "index folder")
    sync_and_report(settings, partial(_encoder, settings), None, prune=args.prune, wait=args.wait)
    return 0


def _is_url(source: str) -> bool:
    return source.lower().startswith(("http://", "https://"))


def run_remove(args: argparse.Namespace, settings: Settings) -> int:
    from qa.content.corpus.documents import remove_documents

    _require_folder(settings.index_dir, "index folder")
    _build_index(
        settings, console, wait=args.wait, edit=lambda: remove_documents(settings, args.names)
    )
    return 0


def _build_index(
    settings: Settings,
    out: Console,
    *,
    wait: float = 0.0,
    edit: Callable[[], CorpusEdit] | None = None,
    reextract: bool = False,
) -> None:
    """Index the corpus incrementally and publish a new version; say what changed."""
    from qa.indexing.build import update_index
    from qa.search.store.choice import location

    encoder = _encoder(settings)
    report = update_index(
        settings, encoder, wait=wait, progress=True, edit=edit, reextract=reextract
    )
    for name, reason in report.skipped.items():
        error_console.print(f"qa: skipped {name}: {reason}", markup=False)
    changes = report.changes
    if changes.full_reason:
        out.print(f"embedding every file: {changes.full_reason}", markup=False)
    if report.cleaned:
        out.print(f"removed what a stopped run left: {', '.join(report.cleaned)}", markup=False)
    out.print(
        f"indexed {len(changes.added) + len(changes.changed) + len(changes.unchanged)} files, "
        f"{report.passages} passages ({encoder.model_id}, {encoder.dimension} dimensions) "
        f"into {location(settings)}, version {report.version}, in {report.seconds:.1f} s: "
        f"{len(changes.added)} added, {len(changes.changed)} changed, "
        f"{len(changes.removed)} removed, {len(changes.unchanged)} unchanged files; "
        f"{changes.passages_embedded} passages embedded",
        markup=False,
    )


def run_ask(args: argparse.Namespace, settings: Settings) -> int:
    searcher = _searcher(settings)
    response = searcher.search(args.question, args.k, args.mode)
    if args.json:
        print(response.model_dump_json(indent=2))
        return 0
    verdict = "" if response.answerable else "  (nothing clearly relevant: closest passages)"
    console.print(
        f"[bold]{escape(response.question)}[/] "
        f"[dim]{response.language}, {response.mode}[/]{verdict}"
    )
    for passage in response.results:
        text = escape(passage.text)
        if passage.highlight:
            start = passage.highlight.start - passage.start
            end = passage.highlight.end - passage.start
            text = (
                f"{escape(passage.text[:start])}[reverse]{escape(passage.text[start:end])}"
                f"[/reverse]{escape(passage.text[end:])}"
            )
        console.print(
            f"\n[bold cyan]{passage.rank}.[/] [green]{escape(passage.source)}[/] "
            f"[dim]score {passage.score:.3f} · chars {passage.start}-{passage.end}[/]"
        )
        console.print(text, highlight=False)
    return 0


def run_serve(_: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from qa.serve.access_log import log_config
    from qa.serve.app import create_app
    from qa.serve.http_hygiene import h11_with_header_timeout
    from qa.serve.probes import probe_app, serving_in_thread

    ports = [settings.port, *([settings.probe_port] if settings.probe_port else [])]
    if len(set(ports)) < len(ports):
        raise QAError(f"the probe port (QA_PROBE_PORT) must differ from the port ({settings.port})")
    for port in ports:  # a taken port: say so before a 10 s load
        _check_can_listen(settings.host, port)
    # Load before the server starts, so that a missing, foreign or damaged index is one line
    # from `main`, not a traceback from the server's start-up.
    app = create_app(settings, searcher=_searcher(settings))
    options: dict[str, Any] = {
        "host": settings.host,
        "log_config": log_config(),
        "access_log": False,  # the app writes one JSON line per request itself
        "http": h11_with_header_timeout(settings.header_timeout_s),
        "timeout_keep_alive": settings.keep_alive_timeout_s,
        "timeout_graceful_shutdown": settings.shutdown_timeout_s,
        # The app trusts forwarded headers from QA_TRUSTED_PROXIES only; uvicorn's own
        # middleware would trust 127.0.0.1 by default.
        "proxy_headers": False,
    }
    probes = (
        uvicorn.Config(probe_app(app), port=settings.probe_port, lifespan="off", **options)
        if settings.probe_port
        else None
    )
    with serving_in_thread(probes):
        uvicorn.run(app, port=settings.port, **options)
    return 0


def _check_can_listen(host: str, port: int) -> None:
    try:
        with socket.create_server((host, port)):  # closed at once: uvicorn binds it again
            pass
    except OSError as error:
        raise QAError(f"cannot listen on {host}:{port}: {error.strerror or error}") from error


def run_eval(args: argparse.Namespace, settings: Settings) -> int:
    require_extra("eval", "qa eval", "ranx", *(["matplotlib"] if args.plot else []))
    from qa.evaluation.compare import config_settings, parse_configs
    from qa.evaluation.evaluate import (
        check_question_sets,
        evaluate,
        load_questions,
        unknown_sources,
    )
    from qa.indexing.staleness import published_index_problems

    questions = load_questions(args.questions)
    unanswerable = load_questions(args.unanswerable, unanswerable=True) if args.unanswerable else []
    check_question_sets(questions, unanswerable)  # before any indexing or model load
    # Likewise, a mistyped configuration is one line at once.
    configs = [(c, config_settings(settings, c)) for c in parse_configs(args.compare or [])]
    if args.trec_dir:
        _require_folder(args.trec_dir, "TREC folder")
    if args.plot and args.plot.suffix.lower() != ".png":
        raise QAError(f"plot file {args.plot} must end in .png")
    # An evaluation measures the corpus and settings it is given: index them first if needed.
    if problems := published_index_problems(settings):
        _require_folder(settings.index_dir, "index folder")
        error_console.print(
            f"qa: indexing {settings.corpus_dir} first ({problems[0]})", markup=False
        )
        _build_index(settings, error_console)
    searcher = _searcher(settings)
    for name, ids in unknown_sources(questions, searcher.index.sources).items():
        error_console.print(
            f"qa: warning: {name} is not in the index of {settings.corpus_dir}, "
            f"so {', '.join(ids)} cannot find it",
            markup=False,
        )
    if configs:
        searchers = _config_searchers(configs, settings, searcher)
    else:
        modes: list[SearchMode] = (
            ["dense", "lexical", "hybrid"]
            if args.mode == "all"
            else [args.mode or settings.search_mode]
        )
        searchers = [(mode, searcher, mode) for mode in modes]
    reports = [
        evaluate(
            found, questions, unanswerable, k=args.k, mode=mode, name=name, progress=not args.json
        )
        for name, found, mode in searchers
    ]
    _report_eval(args, reports)
    return 0


def _config_searchers(
    configs: Sequence[tuple[Config, Settings]], settings: Settings, default: Searcher
) -> list[tuple[str, Searcher, SearchMode]]:
    """A searcher per configuration; one whose settings index differently gets its own index,
    built in memory for this run (nothing is written); one that names another store opens it."""
    from qa.content.corpus.ingest import load_corpus
    from qa.evaluation.compare import needs_own_index, opens_own_store
    from qa.indexing.build import build_index
    from qa.search.retrieval.search import Searcher
    from qa.search.store import Store
    from qa.search.store.choice import open_store

    searchers = []
    encoder: Encoder
    index: Store
    for config, chosen in configs:
        if needs_own_index(settings, chosen):
            error_console.print(
                f"qa: indexing {settings.corpus_dir} for {config.name}", markup=False
            )
            encoder = _encoder(chosen)
            index = build_index(
                load_corpus(chosen.corpus_dir), encoder, ChunkingConfig.from_settings(chosen)
            )
        elif opens_own_store(settings, chosen):
            encoder, index = default.encoder, open_store(chosen)
        else:
            encoder, index = default.encoder, default.index
        searchers.append((config.name, Searcher(index, encoder, chosen), chosen.search_mode))
    return searchers


def _report_eval(args: argparse.Namespace, reports: Sequence[Report]) -> None:
    """Tables (or JSON), the significance tests of a comparison, TREC files and the plot."""
    from qa.evaluation.compare import compare, plot, print_comparison
    from qa.evaluation.evaluate import print_report, write_trec

    if args.trec_dir:
        for report in reports:
            write_trec(report, args.trec_dir)
    if args.plot:
        plot(reports, args.plot, title=args.questions.name)
    comparison = compare(reports, args.stat_test) if args.compare and len(reports) > 1 else None
    if args.json:
        import json

        payload: Any = {report.name: report.as_json() for report in reports}
        if comparison:
            for name, p_values in comparison.p_values.items():
                payload[name]["p_values"] = {n: round(p, 4) for n, p in p_values.items()}
        if len(reports) == 1:
            payload = payload[reports[0].name]
        print(json.dumps(payload, ensure_ascii=False, indent=2))
        return
    # The tables are wide; a pipe or a narrow terminal would truncate every header.
    wide = Console(width=max(console.width, 150))
    print_report(reports, wide)
    if comparison:
        print_comparison(reports, comparison, wide, f"{args.questions.name}, all questions")
        if args.halves:
            for parity, half in ((0, "odd"), (1, "even")):
                halves = [report.half(parity) for report in reports]
                print_comparison(halves, compare(halves, args.stat_test), wide, f"{half} questions")


def _encoder(settings: Settings) -> Encoder:
    """The encoder of the settings, the default model's files made first if missing."""
    from qa.model_setup import prepare_model
    from qa.search.encoders.loading import load_encoder

    prepare_model(settings)
    return load_encoder(settings)


def _searcher(settings: Settings) -> Searcher:
    from qa.search.retrieval.search import Searcher
    from qa.search.store.choice import open_store

    index = open_store(settings)  # first: quick, and likelier to fail
    return Searcher(index, _encoder(settings), settings)


def _require_folder(path: Path, what: str) -> None:
    """Fail before any work when the folder to write into is taken by a file."""
    if path.exists() and not path.is_dir():
        raise QAError(f"{what} {path} is a file, not a folder")


def _parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(
        prog="qa",
        description="Ask questions of a folder of articles: index it, ask, serve it over HTTP, "
        "measure retrieval. Settings come from QA_* environment variables "
        "(see docs/operations.md).",
    )
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    def folders(command: argparse.ArgumentParser) -> None:
        command.add_argument("--corpus", type=Path, help="corpus folder (QA_CORPUS_DIR)")
        command.add_argument("--index-dir", type=Path, help="index folder (QA_INDEX_DIR)")

    model = commands.add_parser("model", help="build the default embedding model if missing")
    model.set_defaults(run=run_model)

    def writer(command: argparse.ArgumentParser) -> None:
        folders(command)
        command.add_argument(
            "--wait",
            type=float,
            default=0.0,
            metavar="SECONDS",
            help="wait this long for another writer of the index (default: fail at once)",
        )

    index = commands.add_parser("index", help="index the corpus, embedding only what changed")
    writer(index)
    index.add_argument("--if-stale", action="store_true", help="only if missing or out of date")
    index.add_argument(
        "--reextract",
        action="store_true",
        help="extract every page, Markdown and PDF file again (after the extractor changed)",
    )
    index.set_defaults(run=run_index)

    add = commands.add_parser(
        "add",
        help="copy articles into the corpus, or fetch them from the web, and publish them",
        description="Add article files (.txt, .html, .md, .pdf) and http(s) URLs of a page, "
        "an RSS or Atom feed, or a sitemap (index); URLs are remembered for `qa sync`.",
    )
    add.add_argument("sources", nargs="+", metavar="FILE_OR_URL")
    writer(add)
    add.set_defaults(run=run_add)

    sync = commands.add_parser(
        "sync", help="fetch again what changed in the pages, feeds and sitemaps added"
    )
    sync.add_argument(
        "--prune", action="store_true", help="remove the articles of pages now gone (404, 410)"
    )
    writer(sync)
    sync.set_defaults(run=run_sync)

    remove = commands.add_parser("remove", help="remove articles from the corpus and the index")
    remove.add_argument("names", nargs="+", metavar="NAME")
    writer(remove)
    remove.set_defaults(run=run_remove)

    modes = ["dense", "lexical", "hybrid"]
    ask = commands.add_parser("ask", help="ask a question")
    ask.add_argument("question")
    ask.add_argument(
        "-k", type=whole_number(1, 50), default=5, help="passages to return (1-50, default 5)"
    )
    ask.add_argument("--mode", choices=modes, help="retrieval mode (default: QA_SEARCH_MODE)")
    ask.add_argument("--json", action="store_true", help="print the JSON response")
    folders(ask)
    ask.set_defaults(run=run_ask)

    serve = commands.add_parser("serve", help="serve the HTTP API and the widget")
    serve.add_argument("--host", help="interface to listen on (QA_HOST, default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (QA_PORT, default 8000)")
    folders(serve)
    serve.set_defaults(run=run_serve)

    evaluate = commands.add_parser("eval", help="measure retrieval on a question set")
    evaluate.add_argument("questions", type=Path, help="question set (JSON Lines)")
    evaluate.add_argument("--unanswerable", type=Path, help="questions the corpus cannot answer")
    evaluate.add_argument(
        "--k",
        type=whole_number(10, 50),
        default=10,
        help="passages retrieved per question, from which the file rankings are made "
        "(10-50, default 10: the metrics go down to @10)",
    )
    chosen = evaluate.add_mutually_exclusive_group()
    chosen.add_argument("--mode", choices=[*modes, "all"], help="retrieval mode, or all three")
    chosen.add_argument(
        "--compare",
        nargs="+",
        metavar="CONFIG",
        help="evaluate each configuration and test each against the first; a configuration is "
        "a mode and/or NAME=VALUE settings joined by commas, e.g. hybrid "
        "hybrid,fusion=rrf dense chunk_max_tokens=128 (chunking settings index the corpus "
        "again, in memory)",
    )
    evaluate.add_argument(
        "--stat-test",
        choices=["fisher", "student"],
        default="fisher",
        help="paired test of --compare: Fisher's randomisation (default) or Student's t",
    )
    evaluate.add_argument(
        "--halves",
        action="store_true",
        help="with --compare, also compare on odd and even questions separately",
    )
    evaluate.add_argument(
        "--plot", type=Path, metavar="FILE.png", help="draw recall@k and answer@k, k = 1..10"
    )
    evaluate.add_argument("--json", action="store_true", help="print one JSON object")
    evaluate.add_argument("--trec-dir", type=Path, help="also write TREC run and qrels files here")
    folders(evaluate)
    evaluate.set_defaults(run=run_eval)

    report = commands.add_parser("report", help="what readers asked, what went unanswered")
    add_report_arguments(report)
    report.set_defaults(run=partial(run_report, load_encoder=_encoder))

    train = commands.add_parser("train-ranker", help="train and measure the learned ranker")
    add_train_ranker_arguments(train)
    train.set_defaults(
        run=partial(run_train_ranker, load_encoder=_encoder, build_index=_build_index)
    )
    return parser
