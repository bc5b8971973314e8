"""The learned ranker: a LightGBM LambdaRank model (a small text file) that re-orders a search's
top candidates from their features (`qa.search.retrieval.features`).

The model ships with a card (`ranker.json` beside `ranker.txt`): the data and command that made
it, its held-out metrics, and the model file's sha256, checked at load so that an altered or
truncated file is refused rather than ranking wrongly. `qa train-ranker` writes both.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, Field, ValidationError

from qa.errors import RankerError
from qa.search.retrieval.features import FEATURE_NAMES

# The model shipped in the package, trained on piaf-dev and the project's set.
PACKAGED_MODEL = Path(__file__).parent / "models" / "ranker.txt"


class RankerCard(BaseModel):
    """What is recorded beside a model file: how it was made and what it measured."""

    sha256: str = Field(description="Checksum of the model file.")
    features: list[str] = Field(description="The feature names, in the model's column order.")
    candidates: int = Field(ge=1, description="How many fused candidates it was trained on.")
    command: str
    data: dict[str, Any] = Field(default_factory=dict)
    parameters: dict[str, Any] = Field(default_factory=dict)
    metrics: dict[str, Any] = Field(default_factory=dict)
    default_on: bool = Field(
        description="Whether it won beyond noise on held-out data (the decision rule of "
        "docs/evaluation.md): the service uses it by default only then."
    )


def card_path(model: Path) -> Path:
    return model.with_suffix(".json")


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_card(model: Path) -> RankerCard:
    path = card_path(model)
    try:
        return RankerCard.model_validate_json(path.read_bytes())
    except OSError as error:
        raise RankerError(f"cannot read the ranker's card {path}: {error.strerror}") from error
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "card"
        raise RankerError(f"ranker card {path}: {where}: {first['msg']}") from error


class Ranker:
    """A loaded model: scores and per-feature contributions of candidate rows."""

    def __init__(self, path: Path) -> None:
        import lightgbm  # only a service that ranks loads it

        self.path = path
        self.card = read_card(path)
        try:
            text = path.read_bytes()
        except OSError as error:
            raise RankerError(f"cannot read the ranker model {path}: {error.strerror}") from error
        if sha256_of(text) != self.card.sha256:
            raise RankerError(
                f"the ranker model {path} does not match the checksum of its card "
                f"{card_path(path).name}: altered or truncated, train it again (qa train-ranker)"
            )
        if tuple(self.card.features) != FEATURE_NAMES:
            raise RankerError(
                f"the ranker model {path} was trained on other features than this version "
                "computes: train it again (qa train-ranker)"
            )
        self._booster = lightgbm.Booster(model_str=text.decode("utf-8"))

    @property
    def candidates(self) -> int:
        return self.card.candidates

    # num_threads=1: a few dozen rows are scored faster than a thread pool starts.
    def score(self, rows: np.ndarray) -> np.ndarray:
        scores = self._booster.predict(rows, num_threads=1)
        return np.asarray(scores, dtype=np.float64)

    def contributions(self, rows: np.ndarray) -> np.ndarray:
        """One row per candidate: each feature's contribution, then the bias (they sum to its
        score), as LightGBM's `pred_contrib` gives them."""
        contributions = self._booster.predict(rows, pred_contrib=True, num_threads=1)
        return np.asarray(contributions, dtype=np.float64)
