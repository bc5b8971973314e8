"""The ONNX encoder against the PyTorch one on real text; its export; torch stays out of serving.

The vectors of the two encoders are compared on the real evaluation questions and the real
passages of the seed articles, so a wrong prompt, pooling, padding or truncation shows.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import numpy as np
import onnx
import pytest

from bench.service import serve_until_ready
from qa.content.corpus.chunk import ChunkingConfig, chunk_document
from qa.content.corpus.ingest import load_corpus
from qa.evaluation.evaluate import load_questions
from qa.model_setup import onnx_export
from qa.model_setup.static_quantisation import kind_of
from qa.search.encoders import default_model
from qa.search.encoders.base import Encoder
from qa.search.encoders.loading import embed_once, load_encoder
from qa.search.encoders.onnx import OnnxEncoder
from qa.search.encoders.sentence_transformer import SentenceTransformerEncoder
from qa.search.store import EmbeddedStore
from qa.settings import Settings
from tests.conftest import MODELS, ROOT, SEEDS, free_port, make_settings, set_up_encoder

DEFAULT_FOLDER = MODELS / "multilingual-e5-small-q4"


@pytest.fixture(scope="module")
def torch_encoder(tmp_path_factory: pytest.TempPathFactory) -> Encoder:
    return set_up_encoder(make_settings(tmp_path_factory.mktemp("i"), encoder_backend="torch"))


@pytest.fixture(scope="module")
def fp32_encoder(tmp_path_factory: pytest.TempPathFactory) -> Encoder:
    return set_up_encoder(make_settings(tmp_path_factory.mktemp("i"), encoder_precision="fp32"))


@pytest.fixture(scope="module")
def questions() -> list[str]:
    return [q.question for q in load_questions(ROOT / "eval" / "questions.jsonl")]


@pytest.fixture(scope="module")
def passages(torch_encoder: Encoder) -> list[str]:
    config = ChunkingConfig.from_settings(Settings())
    return [
        chunk.match_text
        for document in load_corpus(SEEDS).documents
        for chunk in chunk_document(document, torch_encoder.count_tokens, config)
    ]


def test_the_default_encoder_is_onnx_and_any_other_model_goes_through_sentence_transformers(
    encoder: Encoder, torch_encoder: Encoder
) -> None:
    assert isinstance(encoder, OnnxEncoder)
    assert isinstance(torch_encoder, SentenceTransformerEncoder)
    other = load_encoder(Settings(model=str(DEFAULT_FOLDER), model_cache_dir=MODELS))
    assert isinstance(other, SentenceTransformerEncoder)


def test_onnx_fp32_vectors_equal_pytorch_on_real_questions_and_passages(
    fp32_encoder: Encoder, torch_encoder: Encoder, questions: list[str], passages: list[str]
) -> None:
    for onnx_vectors, torch_vectors in [
        (fp32_encoder.embed_queries(questions), torch_encoder.embed_queries(questions)),
        (fp32_encoder.embed_passages(passages), torch_encoder.embed_passages(passages)),
    ]:
        assert onnx_vectors.shape == torch_vectors.shape
        assert onnx_vectors.dtype == np.float32
        cosines = (onnx_vectors * torch_vectors).sum(axis=1)
        assert cosines.min() >= 0.9999
        assert np.allclose(np.linalg.norm(onnx_vectors, axis=1), 1.0, atol=1e-5)


def test_a_text_over_the_model_length_is_cut_as_pytorch_cuts_it(
    fp32_encoder: Encoder, torch_encoder: Encoder
) -> None:
    text = " ".join((SEEDS / "000_0afdbc2315d05444.txt").read_text(encoding="utf-8").split())
    assert fp32_encoder.count_tokens(text) > 600
    onnx_vector = fp32_encoder.embed_passages([text])[0]
    cosine = float(onnx_vector @ torch_encoder.embed_passages([text])[0])
    assert cosine >= 0.9999


def test_a_text_alone_or_in_a_padded_batch_gets_the_same_vector(
    encoder: Encoder, questions: list[str]
) -> None:
    batch = encoder.embed_queries(questions[:8])
    alone = np.vstack([encoder.embed_queries([question]) for question in questions[:8]])
    assert np.allclose(batch, alone, atol=1e-5)


def test_token_counts_equal_pytorch_tokenizer(
    encoder: Encoder, torch_encoder: Encoder, passages: list[str]
) -> None:
    assert [encoder.count_tokens(p) for p in passages] == [
        torch_encoder.count_tokens(p) for p in passages
    ]


def test_no_text_gives_no_vectors(encoder: Encoder) -> None:
    assert encoder.embed_queries([]).shape == (0, 384)


def test_the_default_int8_embedding_table_keeps_the_fp32_vectors(
    encoder: Encoder,
    fp32_encoder: Encoder,
    settings: Settings,
    questions: list[str],
    passages: list[str],
) -> None:
    assert settings.encoder_precision == "int8-embeddings"
    for default, fp32 in [
        (encoder.embed_queries(questions), fp32_encoder.embed_queries(questions)),
        (encoder.embed_passages(passages), fp32_encoder.embed_passages(passages)),
    ]:
        cosines = (default * fp32).sum(axis=1)
        assert 0.9995 <= cosines.min() < 0.9999999  # the same, within rounding of the table
    # The table is four fifths of the weights: the file, and the session, are far smaller.
    sizes = {
        p: default_model.onnx_path(DEFAULT_FOLDER, p).stat().st_size
        for p in ("fp32", "int8-embeddings")
    }
    assert sizes["int8-embeddings"] < 0.45 * sizes["fp32"]


def test_int8_vectors_stay_close_to_fp32(
    fp32_encoder: Encoder, questions: list[str], tmp_path: Path
) -> None:
    int8 = set_up_encoder(make_settings(tmp_path, encoder_precision="int8"))
    cosines = (int8.embed_queries(questions) * fp32_encoder.embed_queries(questions)).sum(axis=1)
    assert 0.98 <= cosines.min() < 0.99999  # close, and really another graph


def test_static_int8_vectors_stay_close_to_fp32_with_the_feed_forward_outputs_in_float32(
    fp32_encoder: Encoder, questions: list[str], passages: list[str], tmp_path: Path
) -> None:
    static = set_up_encoder(make_settings(tmp_path, encoder_precision="int8-static"))
    for embed, fp32_embed, texts in [
        (static.embed_queries, fp32_encoder.embed_queries, questions),
        (static.embed_passages, fp32_encoder.embed_passages, passages),
    ]:
        cosines = (embed(texts) * fp32_embed(texts)).sum(axis=1)
        assert 0.985 <= cosines.min() < 0.99999  # close, and really another graph
        assert cosines.mean() >= 0.995
    graph = onnx.load(
        str(default_model.onnx_path(DEFAULT_FOLDER, "int8-static")), load_external_data=False
    ).graph
    made_by = {output: node.op_type for node in graph.node for output in node.output}
    weights_of = {
        kind_of(node.name): made_by.get(node.input[1])
        for node in graph.node
        if node.op_type == "MatMul" and kind_of(node.name) is not None
    }
    assert weights_of == {
        "query": "DequantizeLinear",
        "key": "DequantizeLinear",
        "value": "DequantizeLinear",
        "attention output": "DequantizeLinear",
        "intermediate": "DequantizeLinear",
        "output": None,  # float32 weights, an initializer
    }


def test_embed_once_embeds_each_distinct_text_once(encoder: Encoder) -> None:
    seen: list[str] = []

    class Counting:
        model_id, dimension, precision = encoder.model_id, encoder.dimension, encoder.precision

        def count_tokens(self, text: str) -> int:
            return encoder.count_tokens(text)

        def embed_queries(self, texts: list[str]) -> np.ndarray:
            return encoder.embed_queries(texts)

        def embed_passages(self, texts: list[str], *, progress: bool = False) -> np.ndarray:
            seen.extend(texts)
            return encoder.embed_passages(texts)

    texts = ["Le chat dort.", "Il pleut.", "Le chat dort.", "Il neige.", "Il pleut."]
    vectors = embed_once(Counting(), texts)
    assert sorted(seen) == sorted(set(texts))
    assert np.allclose(vectors, encoder.embed_passages(texts), atol=1e-5)


# --- the export -----------------------------------------------------------------------------


def test_the_export_exists_after_set_up_and_is_not_redone(encoder: Encoder) -> None:
    target = default_model.onnx_path(DEFAULT_FOLDER, "fp32")
    before = target.stat().st_mtime_ns
    assert onnx_export.ensure_onnx_model(DEFAULT_FOLDER, "fp32") == target
    assert target.stat().st_mtime_ns == before


# --- serving without torch ------------------------------------------------------------------


def test_qa_serve_with_the_onnx_encoder_never_loads_torch_nor_tokenizers(
    real_index: EmbeddedStore, settings: Settings
) -> None:
    """The served process's memory map: onnxruntime's and sentencepiece's libraries are in it,
    torch's and tokenizers' (282 MB for this vocabulary) are not."""
    env = {
        "QA_MODEL_CACHE_DIR": str(MODELS),
        "QA_INDEX_DIR": str(settings.index_dir),
        "QA_CORPUS_DIR": str(SEEDS),
    }
    port = free_port()
    with serve_until_ready(port, env) as (server, _):
        response = httpx.post(
            f"http://127.0.0.1:{port}/search", json={"question": "Que fait ByteDance ?"}
        )
        assert response.status_code == 200
        libraries = Path(f"/proc/{server.pid}/maps").read_text(encoding="utf-8")
        assert "onnxruntime" in libraries
        assert "sentencepiece" in libraries
        assert "libtorch" not in libraries
        assert "/tokenizers/" not in libraries
