"""The `qa` command, run as a user runs it.

What a user sees first (building an index, asking, failing without an index) runs as a real
`python -m qa.cli` process with only the environment to configure it. The rest calls
`qa.cli.main` in this process, with the session's encoder instead of a second load of the same
model, to keep the suite fast.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from qa import cli
from qa.search.encoders.sentence_transformer import SentenceTransformerEncoder
from qa.search.retrieval.search import Searcher
from qa.search.store import EmbeddedStore, current_version, read_manifest
from qa.settings import Settings
from tests.conftest import MODELS, SEEDS, assert_one_error_line, free_port, run_module

SMALL_CORPUS = ["000_0afdbc2315d05444.txt", "003_8a499cfd293259c1.txt"]
QUESTION = "Comment s'appelle la puce IA que développe ByteDance ?"
METRIC_KEYS = {
    "hit@1",
    "hit@5",
    "recall@1",
    "recall@5",
    "recall@10",
    "mrr@10",
    "ndcg@10",
    "answer@1",
    "answer@5",
    "questions",
}
QUESTION_SET = [
    {
        "id": "chip",
        "question": "What is the name of the AI chip ByteDance is designing in-house?",
        "relevant": ["002_5f75a4b7e3170e15.txt"],
        "answers": ["SeedChip"],
        "lang": "en",
    },
    {
        "id": "samsung",
        "question": "Avec quelle entreprise sud-coréenne ByteDance négocie-t-il pour sa puce ?",
        "relevant": ["002_5f75a4b7e3170e15.txt"],
        "answers": ["Samsung"],
        "lang": "fr",
    },
    {
        "id": "nvidia",
        "question": "Combien ByteDance compte-t-il dépenser en puces Nvidia en 2025 ?",
        "relevant": [
            "000_0afdbc2315d05444.txt",
            "001_9282963c915c7207.txt",
            "004_2ce192f800cc9e70.txt",
        ],
        "answers": ["7 milliards"],
    },
]


def write_jsonl(path: Path, lines: list[Any]) -> Path:
    path.write_text(
        "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines), encoding="utf-8"
    )
    return path


# --- as a separate process ------------------------------------------------------------------


def qa(
    *args: str, index_dir: Path, corpus_dir: Path = SEEDS, cwd: Path, **popen: Any
) -> subprocess.CompletedProcess[str]:
    """`qa ARGS...` in a fresh process, configured only through its environment."""
    env = {"QA_INDEX_DIR": str(index_dir), "QA_CORPUS_DIR": str(corpus_dir)}
    return run_module("qa.cli", *args, cwd=cwd, env=env, **popen)


@dataclass(frozen=True)
class Built:
    corpus: Path
    index_dir: Path
    result: subprocess.CompletedProcess[str]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    """`qa index` run once over two articles and a file that is not valid UTF-8."""
    corpus = tmp_path_factory.mktemp("corpus")
    for name in SMALL_CORPUS:
        shutil.copy(SEEDS / name, corpus)
    (corpus / "broken.txt").write_bytes(b"Titre\n\xff\xfe des octets qui ne sont pas de l'UTF-8\n")
    index_dir = tmp_path_factory.mktemp("index")
    result = qa(
        "index",
        "--corpus",
        str(corpus),
        "--index-dir",
        str(index_dir),
        # The options must win over the environment.
        index_dir=tmp_path_factory.mktemp("not-this-index"),
        corpus_dir=tmp_path_factory.mktemp("not-this-corpus"),
        cwd=tmp_path_factory.mktemp("cwd"),
    )
    return Built(corpus, index_dir, result)


def test_index_builds_and_prints_counts(built: Built) -> None:
    assert built.result.returncode == 0, built.result.stderr
    manifest = read_manifest(current_version(built.index_dir))
    assert sorted(manifest.corpus) == SMALL_CORPUS
    assert f"indexed 2 files, {manifest.chunk_count} passages" in built.result.stdout


def test_index_reports_a_broken_file_as_skipped_and_indexes_the_rest(built: Built) -> None:
    assert built.result.returncode == 0, built.result.stderr
    assert "qa: skipped broken.txt: not valid UTF-8" in built.result.stderr
    assert "Traceback" not in built.result.stderr
    assert list(read_manifest(current_version(built.index_dir)).skipped) == ["broken.txt"]


def test_index_if_stale_says_up_to_date_the_second_time(built: Built, tmp_path: Path) -> None:
    result = qa(
        "index", "--if-stale", index_dir=built.index_dir, corpus_dir=built.corpus, cwd=tmp_path
    )

    assert result.returncode == 0, result.stderr
    assert "up to date" in result.stdout


def test_index_if_stale_embeds_everything_again_for_another_encoder_precision(
    built: Built, tmp_path: Path
) -> None:
    index_dir = tmp_path / "index"
    shutil.copytree(built.index_dir, index_dir)
    env = {
        "QA_INDEX_DIR": str(index_dir),
        "QA_CORPUS_DIR": str(built.corpus),
        "QA_ENCODER_PRECISION": "fp32",
    }
    result = run_module("qa.cli", "index", "--if-stale", cwd=tmp_path, env=env)

    assert result.returncode == 0, result.stderr
    assert "encoder precision changed (int8-embeddings -> fp32)" in result.stdout
    assert read_manifest(current_version(index_dir)).precision == "fp32"


def test_ask_json_prints_valid_json_with_k_results(
    real_index: EmbeddedStore, settings: Settings, tmp_path: Path
) -> None:
    result = qa("ask", QUESTION, "-k", "3", "--json", index_dir=settings.index_dir, cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    body = json.loads(result.stdout)
    assert body["question"] == QUESTION
    assert [passage["rank"] for passage in body["results"]] == [1, 2, 3]


def test_ask_without_index_says_to_run_qa_index(tmp_path: Path) -> None:
    result = qa("ask", QUESTION, index_dir=tmp_path / "none", cwd=tmp_path)

    assert_one_error_line(result, "no index", "qa index")
    assert result.stdout == ""


def test_serve_without_index_fails_before_starting(tmp_path: Path) -> None:
    result = qa("serve", "--port", str(free_port()), index_dir=tmp_path / "none", cwd=tmp_path)

    assert_one_error_line(result, "no index", "qa index")
    assert "Uvicorn running" not in result.stdout + result.stderr


def test_serve_on_a_taken_port_fails_before_loading_anything(tmp_path: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        result = qa("serve", "--port", str(port), index_dir=tmp_path / "none", cwd=tmp_path)

    assert_one_error_line(result, f"cannot listen on 127.0.0.1:{port}", "in use")


@pytest.mark.parametrize("same_port", [True, False])
def test_serve_with_an_unusable_probe_port_fails_before_loading_anything(
    tmp_path: Path, same_port: bool
) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        taken_port = taken.getsockname()[1]
        port = free_port()
        probe_port = port if same_port else taken_port
        result = run_module(
            "qa.cli",
            "serve",
            "--port",
            str(port),
            cwd=tmp_path,
            env={"QA_INDEX_DIR": str(tmp_path / "none"), "QA_PROBE_PORT": str(probe_port)},
        )

    if same_port:
        assert_one_error_line(result, "probe port (QA_PROBE_PORT) must differ", str(port))
    else:
        assert_one_error_line(result, f"cannot listen on 127.0.0.1:{probe_port}", "in use")


def test_serve_with_index_of_another_model_fails_before_starting(
    foreign_index_dir: Path, settings: Settings, tmp_path: Path
) -> None:
    index_dir = foreign_index_dir
    result = qa("serve", "--port", "1", index_dir=index_dir, cwd=tmp_path)

    assert_one_error_line(
        result, "intfloat/some-other-model", settings.model, f"qa index --index-dir {index_dir}"
    )


@pytest.mark.parametrize(
    ("lines", "where"),
    [
        pytest.param([QUESTION_SET[0], {"id": "q2"}], ":2: question", id="missing field"),
        pytest.param([QUESTION_SET[0], QUESTION_SET[1], "{not json"], ":3:", id="not JSON"),
        pytest.param([{"id": "", "question": "x"}], ":1: id", id="empty id"),
    ],
)
def test_eval_with_a_malformed_question_file_names_file_and_line(
    tmp_path: Path, lines: list[Any], where: str
) -> None:
    path = tmp_path / "questions.jsonl"
    path.write_text(
        "".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines),
        encoding="utf-8",
    )

    result = qa("eval", str(path), "--json", index_dir=tmp_path / "none", cwd=tmp_path)

    assert_one_error_line(result, f"{path}{where}")
    assert result.stdout == ""


UNANSWERABLE = {"id": "weather", "question": "Quel temps fera-t-il demain ?", "relevant": []}


@pytest.mark.parametrize(
    ("questions", "unanswerable", "message"),
    [
        pytest.param([UNANSWERABLE], None, "no question lists a relevant file", id="none to rank"),
        pytest.param(
            QUESTION_SET[:1],
            [UNANSWERABLE, QUESTION_SET[1]],
            "unanswerable.jsonl:2: relevant: must be empty",
            id="relevant in unanswerable",
        ),
        pytest.param(
            QUESTION_SET[:1],
            [{**UNANSWERABLE, "id": "chip"}],
            "both question sets: chip",
            id="id twice",
        ),
    ],
)
def test_eval_refuses_question_sets_it_cannot_score_before_indexing(
    tmp_path: Path, questions: list[Any], unanswerable: list[Any] | None, message: str
) -> None:
    args = ["eval", str(write_jsonl(tmp_path / "questions.jsonl", questions))]
    if unanswerable is not None:
        args += ["--unanswerable", str(write_jsonl(tmp_path / "unanswerable.jsonl", unanswerable))]
    index_dir = tmp_path / "index"

    result = qa(*args, index_dir=index_dir, cwd=tmp_path)

    assert_one_error_line(result, message)
    assert not index_dir.exists()


# --- in this process ------------------------------------------------------------------------


@dataclass(frozen=True)
class Output:
    status: int
    stdout: str
    stderr: str


def configure(
    monkeypatch: pytest.MonkeyPatch, encoder: SentenceTransformerEncoder, index_dir: Path
) -> None:
    """The environment of `qa` above, and the session's encoder in place of a new load."""
    for name in [name for name in os.environ if name.startswith("QA_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("QA_MODEL_CACHE_DIR", str(MODELS))
    monkeypatch.setenv("QA_INDEX_DIR", str(index_dir))
    monkeypatch.setenv("QA_CORPUS_DIR", str(SEEDS))
    monkeypatch.setattr("qa.search.encoders.loading.load_encoder", lambda _settings: encoder)


def run_main(*args: str) -> Output:
    """`qa.cli.main(args)`, with what it printed."""
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        try:
            status = cli.main(list(args))
        except SystemExit as exit_:  # argparse
            status = exit_.code if isinstance(exit_.code, int) else 1
    return Output(status, stdout.getvalue(), stderr.getvalue())


@pytest.fixture
def in_process(
    monkeypatch: pytest.MonkeyPatch,
    encoder: SentenceTransformerEncoder,
    real_index: EmbeddedStore,
    settings: Settings,
) -> None:
    """`main` configured like the processes above, over the real index of `seeds/`."""
    configure(monkeypatch, encoder, settings.index_dir)


@pytest.mark.usefixtures("in_process")
def test_ask_prints_each_passage_with_its_source(searcher: Searcher) -> None:
    output = run_main("ask", QUESTION, "-k", "3")

    assert output.status == 0, output.stderr
    expected = searcher.search(QUESTION, 3).results
    assert "002_5f75a4b7e3170e15.txt" in output.stdout
    for passage in expected:
        assert f"{passage.rank}. {passage.source}" in output.stdout


@pytest.mark.usefixtures("in_process")
def test_ask_prints_brackets_as_written_not_as_markup() -> None:
    question = "ByteDance [/link] [bold]SeedChip[/bold] ?"

    output = run_main("ask", question, "-k", "1")

    assert output.status == 0, output.stderr
    assert question in output.stdout


@pytest.mark.usefixtures("in_process")
def test_a_long_path_printed_into_a_pipe_stays_on_one_line(
    tmp_path: Path, settings: Settings
) -> None:
    long_name = tmp_path / ("an-index-folder-with-a-long-name-" * 4)
    long_name.symlink_to(settings.index_dir.resolve())

    output = run_main("index", "--if-stale", "--index-dir", str(long_name))

    assert output.status == 0, output.stderr
    assert output.stdout == f"index in {long_name} is up to date\n"


@pytest.mark.usefixtures("in_process")
@pytest.mark.parametrize(
    ("args", "what"),
    [
        (["index", "--index-dir", "{file}"], "index folder"),
        (["eval", "{questions}", "--index-dir", "{file}"], "index folder"),
        (["eval", "{questions}", "--trec-dir", "{file}"], "TREC folder"),
    ],
    ids=["index", "eval index", "eval trec"],
)
def test_a_file_where_a_folder_is_written_is_refused_before_any_work(
    tmp_path: Path, args: list[str], what: str
) -> None:
    taken = tmp_path / "taken"
    taken.write_text("not a folder", encoding="utf-8")
    questions = write_jsonl(tmp_path / "questions.jsonl", QUESTION_SET[:1])
    paths = {"file": taken, "questions": questions}

    output = run_main(*(arg.format(**paths) for arg in args))

    assert output.status == 1
    assert output.stderr == f"qa: error: {what} {taken} is a file, not a folder\n"
    assert output.stdout == ""
    assert taken.read_text(encoding="utf-8") == "not a folder"


@pytest.mark.usefixtures("in_process")
def test_ask_into_a_closed_pipe_stops_quietly() -> None:
    """`qa ask --json ... | head -1`: the reader leaves before the output is written."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    stderr = io.StringIO()
    with (
        open(write_end, "w", encoding="utf-8") as pipe,
        contextlib.redirect_stdout(pipe),
        contextlib.redirect_stderr(stderr),
    ):
        status = cli.main(["ask", QUESTION, "--json"])

    assert status == 1
    assert stderr.getvalue() == ""


BAD_K = ["0", "51", "-1", "abc", "2.5"]


@pytest.mark.usefixtures("in_process")
@pytest.mark.parametrize(
    ("command", "k", "lowest"),
    [(["ask", QUESTION, "-k"], k, 1) for k in BAD_K]
    # eval's metrics go down to @10: fewer passages would cut its file rankings short.
    + [(["eval", "q.jsonl", "--k"], k, 10) for k in [*BAD_K, "9"]],
)
def test_bad_k_is_one_error_line(command: list[str], k: str, lowest: int) -> None:
    output = run_main(*command, k)

    assert output.status == 2
    assert output.stderr.startswith(f"qa: error: qa {command[0]}: argument ")
    assert f"must be a whole number from {lowest} to 50 (got '{k}')" in output.stderr
    assert output.stderr.count("\n") == 1


@pytest.mark.usefixtures("in_process")
@pytest.mark.parametrize(
    "args", [["ask", QUESTION, "--mode", "bogus"], ["index", "--nope"], ["serve", "--port", "x"]]
)
def test_bad_options_are_one_error_line(args: list[str]) -> None:
    output = run_main(*args)

    assert output.status == 2
    assert output.stderr.startswith("qa: error: ")
    assert output.stderr.count("\n") == 1
    assert "--help" in output.stderr


@pytest.mark.usefixtures("in_process")
def test_blank_question_is_one_error_line() -> None:
    output = run_main("ask", "   ")

    assert output.status == 1
    assert output.stderr.strip() == "qa: error: question: must not be blank"


@pytest.mark.usefixtures("in_process")
@pytest.mark.parametrize(
    ("variable", "value", "args"),
    [
        ("QA_SEARCH_MODE", "fuzzy", ["ask", QUESTION]),
        ("QA_EMBED_BATCH_SIZE", "many", ["ask", QUESTION]),
        ("QA_PORT", "0", ["serve"]),
    ],
)
def test_bad_setting_is_one_error_line_naming_it(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, args: list[str]
) -> None:
    monkeypatch.setenv(variable, value)

    output = run_main(*args)

    assert output.status == 1
    lines = output.stderr.strip().splitlines()
    assert len(lines) == 1, output.stderr
    assert lines[0].startswith(f"qa: error: invalid setting: {variable}: ")
    assert repr(value) in lines[0]


@pytest.mark.usefixtures("in_process")
def test_serve_port_option_is_checked_like_the_setting() -> None:
    output = run_main("serve", "--port", "70000")

    assert output.status == 1
    assert output.stderr.startswith("qa: error: invalid setting: QA_PORT: ")


@dataclass(frozen=True)
class Evaluated:
    output: Output
    trec_dir: Path


@pytest.fixture(scope="module")
def evaluated(
    tmp_path_factory: pytest.TempPathFactory,
    encoder: SentenceTransformerEncoder,
    real_index: EmbeddedStore,
    settings: Settings,
) -> Evaluated:
    """`qa eval QUESTIONS --json --k 10 --trec-dir DIR` run once over a three-question set."""
    folder = tmp_path_factory.mktemp("eval")
    questions = write_jsonl(folder / "questions.jsonl", QUESTION_SET)
    trec_dir = folder / "trec"
    with pytest.MonkeyPatch.context() as monkeypatch:
        configure(monkeypatch, encoder, settings.index_dir)
        output = run_main(
            "eval", str(questions), "--json", "--k", "10", "--trec-dir", str(trec_dir)
        )
    return Evaluated(output, trec_dir)


def test_eval_json_is_one_object_with_exactly_the_metrics(evaluated: Evaluated) -> None:
    assert evaluated.output.status == 0, evaluated.output.stderr
    report = json.loads(evaluated.output.stdout)

    assert set(report) == METRIC_KEYS
    assert all(0.0 <= report[name] <= 1.0 for name in METRIC_KEYS - {"questions"})
    assert [question["id"] for question in report["questions"]] == ["chip", "samsung", "nvidia"]


def test_eval_finds_the_seedchip_article_first(evaluated: Evaluated) -> None:
    questions = {q["id"]: q for q in json.loads(evaluated.output.stdout)["questions"]}

    assert questions["chip"]["sources"][0] == "002_5f75a4b7e3170e15.txt"


def test_eval_trec_dir_holds_the_run_and_the_qrels(evaluated: Evaluated) -> None:
    assert evaluated.output.status == 0, evaluated.output.stderr
    assert sorted(path.name for path in evaluated.trec_dir.iterdir()) == [
        "qrels.trec",
        "run-hybrid.trec",
    ]
    run = [
        line.split() for line in (evaluated.trec_dir / "run-hybrid.trec").read_text().splitlines()
    ]
    qrels = [line.split() for line in (evaluated.trec_dir / "qrels.trec").read_text().splitlines()]
    assert {row[0] for row in run} == {row[0] for row in qrels} == {"chip", "samsung", "nvidia"}
    assert all(len(row) == 6 and row[1] == "Q0" and row[5] == "hybrid" for row in run)
    assert all(len(row) == 4 and row[3] == "1" for row in qrels)
    assert run[0][:4] == ["chip", "Q0", "002_5f75a4b7e3170e15.txt", "1"]


def test_eval_indexes_a_corpus_that_has_no_index_yet(
    monkeypatch: pytest.MonkeyPatch, encoder: SentenceTransformerEncoder, tmp_path: Path
) -> None:
    index_dir = tmp_path / "index"
    configure(monkeypatch, encoder, index_dir)
    questions = write_jsonl(tmp_path / "questions.jsonl", QUESTION_SET[:1])

    output = run_main("eval", str(questions), "--json", "--index-dir", str(index_dir))

    assert output.status == 0, output.stderr
    assert "indexing" in output.stderr
    assert "no index yet" in output.stderr
    assert read_manifest(current_version(index_dir)).chunk_count > 0
    assert json.loads(output.stdout)["recall@5"] == 1.0


@pytest.mark.usefixtures("in_process")
def test_eval_warns_about_relevant_files_that_are_not_indexed(tmp_path: Path) -> None:
    typo = {**QUESTION_SET[1], "relevant": ["002_5f75a4b7e3170e15.text"]}
    questions = write_jsonl(tmp_path / "questions.jsonl", [QUESTION_SET[0], typo])

    output = run_main("eval", str(questions), "--json")

    assert output.status == 0, output.stderr
    warning = "qa: warning: 002_5f75a4b7e3170e15.text is not in the index"
    assert warning in output.stderr
    assert "samsung cannot find it" in output.stderr
    assert json.loads(output.stdout)["recall@5"] == 0.5


@pytest.mark.usefixtures("in_process")
def test_eval_tables_name_the_recall_at_1_ceiling(tmp_path: Path) -> None:
    questions = write_jsonl(tmp_path / "questions.jsonl", QUESTION_SET)

    output = run_main("eval", str(questions))

    assert output.status == 0, output.stderr
    assert "recall@1 cannot exceed 77.8% on this set" in output.stdout
    assert "hybrid" in output.stdout


# --- corpus entries that cannot be read, and the last article -------------------------------


@pytest.fixture
def corpus_copy(in_process: None, settings: Settings, tmp_path: Path) -> tuple[Path, Path]:
    """A copy of the seeds and of their index (nothing to embed), for `qa` to change."""
    corpus, index_dir = tmp_path / "corpus", tmp_path / "index"
    shutil.copytree(SEEDS, corpus)
    shutil.copytree(settings.index_dir, index_dir)
    return corpus, index_dir


def test_index_reports_each_corpus_entry_it_cannot_read_on_one_line(
    corpus_copy: tuple[Path, Path],
) -> None:
    corpus, index_dir = corpus_copy
    os.mkfifo(corpus / "pipe.txt")
    (corpus / "loop.txt").symlink_to("loop.txt")
    (corpus / "gone.txt").symlink_to("nowhere.txt")
    (corpus / "folder.txt").mkdir()
    (corpus / "orphan.meta.json").write_text('{"published": "2024-06-03"}', encoding="utf-8")
    (corpus / "nul.txt").write_text("Titre\n\nUne phrase\x00 ici.\n", encoding="utf-8")
    shutil.copy(SEEDS / SMALL_CORPUS[0], corpus / "js.txt")
    (corpus / "js.meta.json").write_text('{"url": "javascript:alert(1)"}', encoding="utf-8")
    where = ("--corpus", str(corpus), "--index-dir", str(index_dir))

    output = run_main("index", *where)

    assert output.status == 0, output.stderr
    skipped = [line for line in output.stderr.splitlines() if line.startswith("qa: skipped ")]
    assert skipped == [
        "qa: skipped folder.txt: a folder, not a file (subfolders are not read)",
        "qa: skipped gone.txt: a symbolic link to a missing file (nowhere.txt)",
        "qa: skipped js.txt: unreadable metadata js.meta.json: url: only http:// and https:// "
        "URLs with a host are stored (got 'javascript:alert(1)')",
        "qa: skipped loop.txt: a symbolic link loop",
        "qa: skipped nul.txt: control character U+0000 at line 3, column 11 (not allowed in an "
        "article)",
        "qa: skipped orphan.meta.json: metadata of an article orphan, which is missing",
        "qa: skipped pipe.txt: a FIFO, not a regular file (not read)",
    ]
    assert "0 added, 0 changed, 0 removed, 5 unchanged files" in output.stdout
    again = run_main("index", "--if-stale", *where)
    assert again.stdout == f"index in {index_dir} is up to date\n", again.stderr


def test_remove_refuses_to_remove_the_last_article_in_one_line(
    corpus_copy: tuple[Path, Path],
) -> None:
    corpus, index_dir = corpus_copy
    last, *others = sorted(path.name for path in corpus.glob("*.txt"))
    where = ("--corpus", str(corpus), "--index-dir", str(index_dir))
    assert run_main("remove", *others, *where).status == 0

    refused = run_main("remove", last, *where)

    assert refused.status == 1
    assert refused.stderr == (
        f"qa: error: removing {last} would leave no readable article in the corpus, and an "
        "index needs one: nothing was changed; add an article first\n"
    )
    assert [path.name for path in corpus.iterdir()] == [last]


def test_add_refuses_a_script_url_and_control_characters_in_one_line(
    corpus_copy: tuple[Path, Path], tmp_path: Path
) -> None:
    corpus, index_dir = corpus_copy
    where = ("--corpus", str(corpus), "--index-dir", str(index_dir))
    drafts = tmp_path / "drafts"
    drafts.mkdir()
    shutil.copy(SEEDS / SMALL_CORPUS[0], drafts / "linked.txt")
    (drafts / "linked.meta.json").write_text('{"url": "vbscript:msgbox(1)"}', encoding="utf-8")
    (drafts / "bell.txt").write_text("Titre\n\nUne phrase qui sonne\x07.\n", encoding="utf-8")
    before = sorted(path.name for path in corpus.iterdir())

    for draft, reason in [
        ("linked.txt", "unreadable metadata linked.meta.json: url: only http:// and https://"),
        ("bell.txt", "bell.txt: control character U+0007 at line 3, column 21"),
    ]:
        refused = run_main("add", str(drafts / draft), *where)
        assert refused.status == 1
        assert refused.stderr.startswith("qa: error: ")
        assert reason in refused.stderr
        assert len(refused.stderr.splitlines()) == 1
    assert sorted(path.name for path in corpus.iterdir()) == before
