"""The documentation stays true: README.md and docs/*.md.

Their relative links and anchors lead somewhere, the README stays a short front door that links
every page, the files, modules, `make` targets, `qa` subcommands, options and settings they name
exist, and the README's quick-start commands (`qa index`, `qa ask`) run and print what it shows.
"""

from __future__ import annotations

import importlib.util
import re
import shlex
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

from qa.settings import Settings
from tests.conftest import ROOT, SEEDS, run_module

README = ROOT / "README.md"
DOCS = ROOT / "docs"
PAGES = sorted(DOCS.glob("*.md"))
DOCUMENTS = [README, *PAGES]
MAX_README_LINES = 250

# Variables read by the tests or tools rather than by `qa.settings`.
OTHER_VARIABLES = {"QA_WIDGET_SCREENSHOTS", "QA_ADMIN_SCREENSHOT"}  # the browser tests'
# Folders of the repository whose paths, when a page names them, must exist (`models/` and
# `index/` are made by `make`, and examples name files of the reader's own).
CHECKED_FOLDERS = ("qa", "bench", "eval", "docs", "seeds", "tests")
# The articles the quick start indexes here: the one that answers its question and another.
QUICK_START_ARTICLES = ["000_0afdbc2315d05444.txt", "002_5f75a4b7e3170e15.txt"]

FENCE = re.compile(r"^```([^\n`]*)\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
LINK = re.compile(r"!?\[(?:[^\]\[]|\[[^\]]*\])*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
CODE_SPAN = re.compile(r"`([^`\n]+(?:\n[^`\n]+)*)`")
HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$", re.MULTILINE)
SHELL = {"sh", "bash", "shell", "console"}
PROGRAMS = ("make", "python", "python3", "qa", r"\.venv/bin/\w+")


def relative(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def without_fences(text: str) -> str:
    """The text with its fenced code blocks blanked (their line count kept)."""
    return FENCE.sub(lambda match: "\n" * match.group(0).count("\n"), text)


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[`*_]", "", heading).strip().lower()
    text = re.sub(r"\]\([^)]*\)", "", text)  # a link in a heading keeps its text only
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


@cache
def anchors(path: Path) -> frozenset[str]:
    seen: dict[str, int] = {}
    result = set()
    for match in HEADING.finditer(without_fences(path.read_text(encoding="utf-8"))):
        base = slug(match.group(2))
        count = seen.get(base, 0)
        seen[base] = count + 1
        result.add(base if count == 0 else f"{base}-{count}")
    return frozenset(result)


def links(path: Path) -> Iterator[str]:
    """The link and image targets of a page, outside code."""
    prose = CODE_SPAN.sub("", without_fences(path.read_text(encoding="utf-8")))
    for match in LINK.finditer(prose):
        yield match.group(1)


def is_external(target: str) -> bool:
    return re.match(r"^[a-z][a-z0-9+.-]*:", target) is not None


@pytest.mark.parametrize("page", DOCUMENTS, ids=relative)
def test_every_relative_link_leads_to_an_existing_file_and_heading(page: Path) -> None:
    broken = []
    for target in links(page):
        if is_external(target):
            continue
        file_part, _, anchor = target.partition("#")
        destination = (page.parent / file_part).resolve() if file_part else page
        if not destination.exists():
            broken.append(f"{target}: no file {destination}")
        elif anchor and destination.suffix == ".md" and anchor not in anchors(destination):
            broken.append(f"{target}: no heading #{anchor} in {relative(destination)}")
    assert not broken, f"{relative(page)}: " + "; ".join(broken)


def test_readme_is_a_short_front_door_that_links_every_page() -> None:
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= MAX_README_LINES, f"README.md has {len(lines)} lines"
    linked = {
        (README.parent / target.partition("#")[0]).resolve()
        for target in links(README)
        if not is_external(target)
    }
    missing = [relative(page) for page in PAGES if page.resolve() not in linked]
    assert not missing, f"README.md does not link {missing}"
    assert PAGES, "no docs/*.md page"


def test_the_widget_picture_is_in_the_readme() -> None:
    targets = [target for target in links(README) if target.endswith(".png")]
    assert "docs/widget-desktop.png" in targets


# --- what the pages name exists -------------------------------------------------------------


def code_spans(path: Path) -> Iterator[str]:
    for match in CODE_SPAN.finditer(without_fences(path.read_text(encoding="utf-8"))):
        yield " ".join(match.group(1).split())


def shell_lines(path: Path) -> Iterator[str]:
    """The lines of a page's shell code blocks, continuation lines joined, and the command lines
    of its plain blocks (`$ qa index` in a transcript, `make bench-scale` in a list)."""
    for match in FENCE.finditer(path.read_text(encoding="utf-8")):
        language = match.group(1).strip()
        lines = match.group(2).replace("\\\n", " ").splitlines()
        if language in SHELL:
            yield from lines
        elif not language:
            for line in lines:
                line = line.removeprefix("$ ")
                if re.match(rf"(?:{'|'.join(PROGRAMS)}) ", line):
                    yield line


@dataclass(frozen=True)
class Command:
    page: str
    words: tuple[str, ...]
    environment: tuple[str, ...]


def commands() -> Iterator[Command]:
    """Every command a page shows: in its shell blocks, and in code spans that read as one."""
    for page in DOCUMENTS:
        candidates = [*shell_lines(page), *code_spans(page)]
        for candidate in candidates:
            for part in re.split(r"&&|;| / ", candidate):
                words = split(part)
                environment = []
                while words and re.fullmatch(r"[A-Z_][A-Z0-9_]*=.*", words[0]):
                    environment.append(words.pop(0).split("=", 1)[0])
                if words and words[0] == "export":
                    environment += [w.split("=", 1)[0] for w in words[1:] if "=" in w]
                    words = []
                if words:
                    yield Command(relative(page), tuple(words), tuple(environment))


def split(text: str) -> list[str]:
    """Shell words, comments dropped; the synopsis brackets and ellipses of usage lines too."""
    try:
        words = shlex.split(text, comments=True)
    except ValueError:  # an unbalanced quote: prose, not a command
        return []
    return [w.strip("[]").rstrip(".…") for w in words if w.strip("[]").rstrip(".…")]


def program(words: tuple[str, ...]) -> str:
    return words[0].removeprefix(".venv/bin/")


def options(words: tuple[str, ...]) -> set[str]:
    """The options given, `--name=value` as `--name`; a bare `-` and negative numbers aside."""
    return {
        word.split("=", 1)[0]
        for word in words
        if re.fullmatch(r"--?[a-z][a-z0-9-]*(=.*)?", word) and not re.fullmatch(r"-[0-9]", word)
    }


@cache
def help_text(*arguments: str) -> str:
    result = run_module(*arguments, "--help", cwd=ROOT)
    assert result.returncode == 0, f"{' '.join(arguments)} --help: {result.stderr}"
    return result.stdout


def offered(option: str, help_output: str) -> bool:
    return re.search(rf"(?<![\w-]){re.escape(option)}(?![\w-])", help_output) is not None


def test_the_qa_commands_the_pages_show_exist_with_their_options() -> None:
    listed = help_text("qa.cli")
    subcommands = set(re.findall(r"^ {4}([a-z][a-z-]*)(?: {2,}|$)", listed, re.MULTILINE))
    assert {"index", "ask", "serve"} <= subcommands, listed
    problems = []
    for command in commands():
        words = command.words
        if program(words) != "qa" or len(words) < 2 or words[1].startswith("-"):
            continue
        for name in words[1].split("/"):  # `qa add/remove/index`
            if name not in subcommands:
                problems.append(f"{command.page}: `qa {name}` is not a qa command")
                continue
            for option in sorted(options(words[2:]) - {"-h", "--help"}):
                if not offered(option, help_text("qa.cli", name)):
                    problems.append(f"{command.page}: `qa {name}` has no option {option}")
    assert not problems, "\n".join(sorted(set(problems)))


def test_the_python_modules_the_pages_run_exist_with_their_options() -> None:
    problems = []
    for command in commands():
        words = command.words
        if not re.fullmatch(r"python3?", program(words)) or len(words) < 2:
            continue
        if words[1] != "-m":
            script = ROOT / words[1]
            if not script.is_file():
                problems.append(f"{command.page}: no script {words[1]}")
            continue
        module = words[2]
        if importlib.util.find_spec(module) is None:
            problems.append(f"{command.page}: no module {module}")
            continue
        if module.split(".")[0] not in ("qa", "bench"):
            continue
        for option in sorted(options(words[3:]) - {"-h", "--help"}):
            if not offered(option, help_text(module)):
                problems.append(f"{command.page}: `python -m {module}` has no option {option}")
    assert not problems, "\n".join(sorted(set(problems)))


def test_the_make_targets_the_pages_show_exist() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    targets = set(re.findall(r"^([a-z][\w-]*):", makefile, re.MULTILINE))
    problems = []
    for command in commands():
        if command.words[0] != "make":
            continue
        for word in command.words[1:]:
            if "=" not in word and word not in targets:
                problems.append(f"{command.page}: no make target {word}")
    assert not problems, "\n".join(sorted(set(problems)))


def test_the_settings_the_pages_name_exist() -> None:
    prefix = str(Settings.model_config.get("env_prefix", "QA_")).upper()
    known = {prefix + name.upper() for name in Settings.model_fields} | OTHER_VARIABLES
    problems = []
    for page in DOCUMENTS:
        for variable in set(re.findall(r"\bQA_[A-Z0-9_]*[A-Z0-9]\b", page.read_text("utf-8"))):
            if variable not in known:
                problems.append(f"{relative(page)}: no setting {variable}")
    assert not problems, "\n".join(sorted(set(problems)))


def test_every_setting_is_documented() -> None:
    text = "\n".join(page.read_text(encoding="utf-8") for page in DOCUMENTS)
    prefix = str(Settings.model_config.get("env_prefix", "QA_")).upper()
    undocumented = [
        prefix + name.upper() for name in Settings.model_fields if prefix + name.upper() not in text
    ]
    assert not undocumented, f"no page describes {undocumented}"


def test_the_repository_paths_the_pages_name_exist() -> None:
    folders = "|".join(CHECKED_FOLDERS)
    path = re.compile(rf"^(?:{folders})/[\w./-]*$")
    problems = []
    for page in DOCUMENTS:
        for span in code_spans(page):
            for word in span.split():
                word = word.strip("(),;:")
                if path.fullmatch(word) and not (ROOT / word).exists():
                    problems.append(f"{relative(page)}: no {word}")
    assert not problems, "\n".join(sorted(set(problems)))


def test_the_test_files_the_pages_name_exist() -> None:
    present = {path.name for path in (ROOT / "tests").rglob("test_*.py")}
    problems = [
        f"{relative(page)}: no {name} under tests/"
        for page in DOCUMENTS
        for name in re.findall(r"\btest_\w+\.py\b", page.read_text(encoding="utf-8"))
        if name not in present
    ]
    assert not problems, "\n".join(sorted(set(problems)))


# --- the README's quick start runs ----------------------------------------------------------


@dataclass(frozen=True)
class QuickStart:
    environment: dict[str, str]
    commands: list[list[str]]
    output: list[str]


def quick_start() -> QuickStart:
    """The README's marked command-line block, and the output block that follows it."""
    text = README.read_text(encoding="utf-8")
    marker = text.index("<!-- quick-start-cli")
    blocks = list(FENCE.finditer(text, marker))
    assert len(blocks) >= 2, "the quick-start block and its output"
    environment: dict[str, str] = {}
    lines: list[list[str]] = []
    for line in blocks[0].group(2).splitlines():
        words = shlex.split(line, comments=True)
        if words[:1] == ["export"]:
            environment |= dict(word.split("=", 1) for word in words[1:])
        elif words:
            lines.append(words)
    output = [line for line in blocks[1].group(2).splitlines() if line.strip() not in ("", "…")]
    return QuickStart(environment, lines, output)


def test_the_readme_quick_start_indexes_and_answers(tmp_path: Path) -> None:
    start = quick_start()
    assert [words[:2] for words in start.commands] == [["qa", "index"], ["qa", "ask"]]
    assert set(start.environment) <= {f"QA_{name.upper()}" for name in Settings.model_fields}
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name in QUICK_START_ARTICLES:
        shutil.copy(SEEDS / name, corpus)
    # The README's settings, with a copy of two of its articles and a fresh index folder.
    environment = start.environment | {
        "QA_CORPUS_DIR": str(corpus),
        "QA_INDEX_DIR": str(tmp_path / "index"),
    }
    results: list[subprocess.CompletedProcess[str]] = []
    for words in start.commands:
        result = run_module("qa.cli", *words[1:], cwd=tmp_path, env=environment)
        assert result.returncode == 0, f"{shlex.join(words)}: {result.stderr}"
        assert "Traceback" not in result.stderr
        results.append(result)

    indexed, answered = results
    assert f"indexed {len(QUICK_START_ARTICLES)} files" in indexed.stdout
    printed = [line.rstrip() for line in answered.stdout.splitlines()]
    missing = [line for line in start.output if line.rstrip() not in printed]
    assert not missing, f"the README shows {missing}; `qa ask` printed:\n{answered.stdout}"
