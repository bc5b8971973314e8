"""The architecture as tests: the layers of `qa` (import-linter contracts in pyproject.toml,
run through `lint-imports`), and what import-linter cannot say, read from the source: which
module reads the store setting or the environment, and which imports each heavy library."""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# Who may import a third-party package (a path, or a folder ending in "/"): the engines behind
# their protocols, and what only an optional extra installs (`eval`, `bench`, `setup`).
OWNERS = {
    "sentence_transformers": ("qa/search/encoders/",),
    # Set-up quantises the default model's export with onnxruntime's own tool.
    "onnxruntime": (
        "qa/search/encoders/",
        "qa/model_setup/onnx_export.py",
        "qa/model_setup/static_quantisation.py",
    ),
    "onnx": ("qa/model_setup/",),
    "faiss": ("qa/search/store/",),
    "bm25s": ("qa/search/store/",),
    "qdrant_client": ("qa/search/store/",),
    "ranx": ("qa/evaluation/",),
    "sklearn": ("qa/evaluation/",),
    "lightgbm": ("qa/search/retrieval/ranker.py", "qa/evaluation/train_ranker.py"),
    "matplotlib": ("qa/evaluation/", "bench/"),
    "httpx": ("bench/", "qa/content/web/"),
    "trafilatura": ("qa/content/extract/",),
    "htmldate": ("qa/content/extract/",),
    "pypdf": ("qa/content/extract/",),
    "markdown_it": ("qa/content/extract/",),
    "mdit_py_plugins": ("qa/content/extract/",),
    "feedparser": ("qa/content/web/",),
    "protego": ("qa/content/web/",),
    "sqlalchemy": ("qa/analytics/",),
    "psycopg": ("qa/analytics/", "qa/search/store/postgres"),
    "psycopg_pool": ("qa/search/store/postgres",),
    "pgvector": ("qa/search/store/postgres",),
}
STORE_SETTING_READER = "qa/search/store/choice.py"
ENVIRONMENT_READER = "qa/settings.py"
ENVIRONMENT_NAMES = {"environ", "environb", "getenv", "getenvb", "putenv", "unsetenv"}


def sources(*folders: str) -> Iterator[tuple[str, ast.Module]]:
    for folder in folders:
        for path in sorted((ROOT / folder).rglob("*.py")):
            yield path.relative_to(ROOT).as_posix(), ast.parse(path.read_bytes(), str(path))


def where(path: str, node: ast.AST) -> str:
    return f"{path}:{getattr(node, 'lineno', '?')}"


def lint_imports_script() -> str:
    script = Path(sys.executable).with_name("lint-imports")
    if not script.exists():
        pytest.fail("lint-imports is missing: install the dev extra (make install)")
    return str(script)


def test_the_import_linter_contracts_are_kept() -> None:
    """`lint-imports` in a process of its own (about a second): import-linter's in-process entry
    point reconfigures logging (dictConfig) for the whole test session."""
    result = subprocess.run(
        [lint_imports_script(), "--no-cache"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if result.returncode != 0:
        report = result.stdout[result.stdout.find("Contracts") :] + result.stderr
        pytest.fail(f"lint-imports: a contract is broken\n{report}", pytrace=False)


def test_only_choice_reads_the_store_setting() -> None:
    readers = [
        where(path, node)
        for path, tree in sources("qa", "bench")
        if path != STORE_SETTING_READER
        for node in ast.walk(tree)
        if (isinstance(node, ast.Attribute) and node.attr == "store")
        or (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in {"getattr", "setattr", "hasattr"}
            and any(isinstance(a, ast.Constant) and a.value == "store" for a in node.args)
        )
    ]
    assert readers == [], f"only {STORE_SETTING_READER} may read the store setting: {readers}"


def reads_the_environment(node: ast.AST) -> bool:
    if isinstance(node, ast.Attribute):
        return node.attr in ENVIRONMENT_NAMES
    return (
        isinstance(node, ast.ImportFrom)
        and node.module == "os"
        and any(alias.name in ENVIRONMENT_NAMES for alias in node.names)
    )


def test_only_settings_reads_the_environment() -> None:
    readers = [
        where(path, node)
        for path, tree in sources("qa")
        if path != ENVIRONMENT_READER
        for node in ast.walk(tree)
        if reads_the_environment(node)
    ]
    assert readers == [], f"only {ENVIRONMENT_READER} may read the environment: {readers}"


def imported(tree: ast.Module) -> Iterator[tuple[str, ast.AST]]:
    """The top-level package of every absolute import, at module level or in a function."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name.split(".")[0], node
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module.split(".")[0], node


def test_heavy_libraries_are_imported_only_by_their_owners() -> None:
    strays = [
        f"{where(path, node)} imports {package}, which only {', '.join(OWNERS[package])} may"
        for path, tree in sources("qa", "bench")
        for package, node in imported(tree)
        if package in OWNERS and not path.startswith(OWNERS[package])
    ]
    assert strays == [], "\n".join(strays)


# Where the tools of bench/ may take qa's names from: the packages' own exports (`__all__`),
# the settings and errors, the CLI's shared argument helpers, and the ANN module that the
# capacity benchmark measures on its own.
TOOL_SOURCES = {
    "qa.content.corpus",
    "qa.search.encoders",
    "qa.search.store",
    "qa.search.store.ann",
    # bench.capacity_postgres writes through the PostgreSQL store's writer
    "qa.search.store.choice",
    "qa.indexing",
    "qa.search.retrieval",
    "qa.evaluation",
    "qa.content.extract",
    "qa.content.extract.language",  # bench.language reads its threshold and sample length
    "qa.content.web",
    "qa.settings",
    "qa.errors",
    "qa.cli.arguments",
}


def test_the_tools_use_only_public_names_of_qa() -> None:
    import importlib

    wrong = []
    for path, tree in sources("bench"):
        for node in ast.walk(tree):
            if not isinstance(node, ast.ImportFrom) or not (node.module or "").startswith("qa"):
                continue
            module = node.module or ""
            if module not in TOOL_SOURCES:
                wrong.append(f"{where(path, node)} imports from {module}")
                continue
            exported = getattr(importlib.import_module(module), "__all__", None)
            for alias in node.names:
                private = alias.name.startswith("_")
                public_module = f"{module}.{alias.name}" in TOOL_SOURCES
                if private or (
                    exported is not None and alias.name not in exported and not public_module
                ):
                    wrong.append(f"{where(path, node)} imports {module}.{alias.name}")
    assert wrong == []
