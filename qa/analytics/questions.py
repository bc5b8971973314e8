"""Questions as an editor counts them: the same question however it was typed (case, accents,
punctuation, spacing), and near-identical questions grouped by their embeddings."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

import numpy as np

from qa.search.encoders.base import Vectors

# Cosine similarity of two questions' unit embeddings from which they are one cluster. Measured
# on the default model (docs/analytics.md): the same question reworded scores 0.93-0.99, the
# same question on another year 0.94, another question on the same subject 0.85-0.90.
CLUSTER_SIMILARITY = 0.95


def normalise_question(question: str) -> str:
    """Lower case, accents dropped, punctuation and symbols as spaces, spaces collapsed:
    "  Qui a gagné l'Euro ?" and "qui a gagne l euro" are one question."""
    decomposed = unicodedata.normalize("NFKD", question.casefold())
    kept = (
        " " if unicodedata.category(char)[0] in "PSZC" else char
        for char in decomposed
        if not unicodedata.combining(char)
    )
    return " ".join("".join(kept).split())


@dataclass(frozen=True)
class Cluster:
    """Indexes of the members of a cluster in the list that was clustered, first one first."""

    members: tuple[int, ...]


def cluster_questions(vectors: Vectors, threshold: float = CLUSTER_SIMILARITY) -> list[Cluster]:
    """Group unit vectors (rows, most important first) greedily: each joins the first cluster
    whose leader (its first member) it is at least `threshold` similar to, or leads a new one.
    Leaders are the most important questions, so a cluster is named by its likeliest wording."""
    leaders: list[int] = []
    members: list[list[int]] = []
    for row in range(len(vectors)):
        if leaders:
            similarities = vectors[leaders] @ vectors[row]
            best = int(np.argmax(similarities))
            if similarities[best] >= threshold:
                members[best].append(row)
                continue
        leaders.append(row)
        members.append([row])
    return [Cluster(tuple(group)) for group in members]
