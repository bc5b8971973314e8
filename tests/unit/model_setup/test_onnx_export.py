"""The ONNX export leaves no file that looks complete when it is interrupted (the export itself
and the encoders on real text: tests/integration/test_encoders.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from qa.errors import ModelError
from qa.model_setup import onnx_export
from qa.search.encoders import default_model


def test_an_interrupted_export_leaves_no_file_that_looks_complete(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def half_written(_folder: Path, out: Path) -> None:
        out.write_bytes(b"half an ONNX graph")
        raise OSError("disk full")

    monkeypatch.setattr(onnx_export, "_export_fp32", half_written)
    with pytest.raises(ModelError, match=r"cannot export the model to ONNX.*disk full"):
        onnx_export.ensure_onnx_model(tmp_path, "fp32")
    assert list((tmp_path / default_model.ONNX_FOLDER).iterdir()) == []
