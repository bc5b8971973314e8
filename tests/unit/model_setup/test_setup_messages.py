"""Setting up the default model says what it does in one line, and nothing a user cannot act on
(onnxruntime's advice to pre-process a model before quantising it)."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from qa.model_setup import onnx_export


def tiny_graph(path: Path) -> Path:
    """A word-embedding table and a lookup: what the int8-embeddings quantisation works on."""
    table = numpy_helper.from_array(
        np.random.default_rng(0).standard_normal((64, 8)).astype(np.float32), "table"
    )
    graph = helper.make_graph(
        [helper.make_node("Gather", ["table", "ids"], ["vectors"])],
        "tiny",
        [helper.make_tensor_value_info("ids", TensorProto.INT64, ["n"])],
        [helper.make_tensor_value_info("vectors", TensorProto.FLOAT, ["n", 8])],
        [table],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return path


def test_quantising_gives_no_pre_processing_advice(
    tmp_path: Path, capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    root = logging.getLogger()
    handlers = list(root.handlers)
    out = tmp_path / "tiny-int8.onnx"

    onnx_export._quantize_int8(tiny_graph(tmp_path / "tiny.onnx"), out, ["Gather"])

    assert out.is_file()
    assert "pre-processing" not in capfd.readouterr().err
    assert not [r for r in caplog.records if "pre-processing" in r.getMessage()]
    assert root.handlers == handlers  # nothing lent is left behind
    assert not root.filters


@pytest.mark.parametrize(
    ("present", "said"),
    [
        ([], "qa: exporting the model to ONNX and quantising it (int8-embeddings) (once, about "),
        (["fp32"], "qa: quantising the model's ONNX export (int8-embeddings) (once, about "),
    ],
)
def test_an_export_says_what_it_does_in_one_line(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
    present: list[str],
    said: str,
) -> None:
    for precision in present:
        path = onnx_export.onnx_path(tmp_path, precision)  # type: ignore[arg-type]
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(b"")
    monkeypatch.setattr(onnx_export, "_ensure_onnx_model", lambda folder, precision: folder)

    onnx_export.ensure_onnx_model(tmp_path, "int8-embeddings")

    lines = capfd.readouterr().err.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(said)
    assert lines[0].endswith(" s)")


def test_an_export_already_made_says_nothing(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    path = onnx_export.onnx_path(tmp_path, "int8-embeddings")
    path.parent.mkdir()
    path.write_bytes(b"")

    assert onnx_export.ensure_onnx_model(tmp_path, "int8-embeddings") == path
    assert capfd.readouterr().err == ""
