"""Where the model comes from, found without loading anything: a folder must hold a model; a
path that is no folder, a file and a name the model hub would refuse are refused; a hub name
not in the local Hugging Face cache has no folder yet (the default model, a cached hub model
loaded offline and `qa model` itself: tests/integration/test_embed.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from qa.errors import ModelError
from qa.search.encoders.loading import locate_model
from tests.conftest import model_settings


def test_a_missing_folder_is_refused(tmp_path: Path) -> None:
    missing = tmp_path / "nonexistent"
    with pytest.raises(ModelError, match="does not exist") as error:
        locate_model(model_settings(str(missing)))
    assert str(missing) in str(error.value)


@pytest.mark.parametrize("name", ["./my-model", "../models/e5", "a/b/c"])
def test_a_relative_path_that_is_not_a_folder_is_refused(name: str) -> None:
    with pytest.raises(ModelError, match="does not exist"):
        locate_model(model_settings(name))


def test_a_file_is_refused(tmp_path: Path) -> None:
    weights = tmp_path / "model.safetensors"
    weights.write_bytes(b"not a folder")
    with pytest.raises(ModelError, match="is a file, not a model folder"):
        locate_model(model_settings(str(weights)))


def test_a_folder_without_a_model_is_refused(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("no model here", encoding="utf-8")
    with pytest.raises(
        ModelError, match=r"holds no model: it has no modules\.json or config\.json"
    ):
        locate_model(model_settings(str(tmp_path)))


def test_a_name_the_model_hub_would_refuse_is_refused(hf_cache: Path) -> None:
    with pytest.raises(ModelError, match="nor a valid model-hub name"):
        locate_model(model_settings("no such model"))


def test_a_hub_name_not_in_the_cache_has_no_folder_yet(hf_cache: Path) -> None:
    location = locate_model(model_settings("nosuchorg/nosuchmodel"))
    assert location.source == "nosuchorg/nosuchmodel"
    assert location.folder is None
