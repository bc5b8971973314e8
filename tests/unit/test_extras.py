"""A command that needs an optional extra that is not installed says which, in one line."""

from __future__ import annotations

import contextlib
import io
from importlib.machinery import ModuleSpec
from importlib.util import find_spec
from pathlib import Path

import pytest

from qa import cli
from qa.errors import ExtraMissingError, require_extra
from qa.model_setup.onnx_export import ensure_onnx_model
from qa.search.store.choice import open_store
from qa.settings import Settings


@pytest.fixture
def without(monkeypatch: pytest.MonkeyPatch) -> set[str]:
    """Modules to pretend are not installed (to `require_extra`)."""
    hidden: set[str] = set()

    def installed(name: str) -> ModuleSpec | None:
        return None if name.split(".")[0] in hidden else find_spec(name)

    monkeypatch.setattr("qa.errors.find_spec", installed)
    return hidden


def test_an_installed_extra_passes() -> None:
    require_extra("eval", "qa eval", "json", "importlib.util")


def test_a_missing_module_names_the_extra_to_install() -> None:
    with pytest.raises(ExtraMissingError) as raised:
        require_extra("qdrant", "QA_STORE=qdrant", "no_such_module_for_qa", "no_such.sub")
    assert str(raised.value) == (
        "QA_STORE=qdrant needs the qdrant extra: pip install 'qa[qdrant]' "
        "(no_such_module_for_qa, no_such.sub not installed)"
    )


def test_qa_eval_without_the_eval_extra_is_one_line(
    without: set[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    without.add("ranx")
    monkeypatch.chdir(tmp_path)
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(io.StringIO()):
        status = cli.main(["eval", "questions.jsonl", "--index-dir", str(tmp_path / "index")])
    assert status == 1
    assert stderr.getvalue() == (
        "qa: error: qa eval needs the eval extra: pip install 'qa[eval]' (ranx not installed)\n"
    )


def test_the_qdrant_store_without_the_qdrant_extra(without: set[str], tmp_path: Path) -> None:
    without.add("qdrant_client")
    settings = Settings(index_dir=tmp_path, store="qdrant", qdrant_url=str(tmp_path / "q"))
    with pytest.raises(ExtraMissingError, match=r"pip install 'qa\[qdrant\]'"):
        open_store(settings)


def test_exporting_the_model_without_the_setup_extra(without: set[str], tmp_path: Path) -> None:
    without.add("onnx")
    with pytest.raises(ExtraMissingError, match=r"pip install 'qa\[setup\]' \(onnx not"):
        ensure_onnx_model(tmp_path, "fp32")
    assert list(tmp_path.iterdir()) == []
