"""Questions counted as one however they were typed, and grouped by their embeddings."""

from __future__ import annotations

import numpy as np
import pytest

from qa.analytics.queries import QuestionRow
from qa.analytics.questions import cluster_questions, normalise_question
from qa.analytics.report import clusters_of
from tests.conftest import FakeEncoder


@pytest.mark.parametrize(
    ("typed", "normalised"),
    [
        ("  Qui a gagné l'Euro ?", "qui a gagne l euro"),
        ("QUI A GAGNÉ L’EURO", "qui a gagne l euro"),
        ("qui\ta  gagne\nl'euro!!!", "qui a gagne l euro"),
        ("Ça coûte combien, « la baguette » ?", "ca coute combien la baguette"),
        ("Straße 2024 — quoi ?", "strasse 2024 quoi"),
        ("?!", ""),
    ],
)
def test_questions_are_normalised(typed: str, normalised: str) -> None:
    assert normalise_question(typed) == normalised


def unit(*rows: list[float]) -> np.ndarray:
    vectors = np.array(rows, dtype=np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def test_near_identical_vectors_join_the_first_cluster_they_are_close_to() -> None:
    vectors = unit([1, 0, 0], [0, 1, 0], [1, 0.1, 0], [0.1, 1, 0], [0, 0, 1], [1, 1, 0])
    clusters = cluster_questions(vectors, threshold=0.95)
    assert [cluster.members for cluster in clusters] == [(0, 2), (1, 3), (4,), (5,)]


def test_clusters_are_largest_first_with_their_questions_most_asked_first() -> None:
    rows = [
        QuestionRow("meteo lyon", "Météo Lyon ?", "fr", 5),
        QuestionRow("prix du pain", "Prix du pain ?", "fr", 3),
        QuestionRow("du pain prix", "Du pain, prix ?", "fr", 3),
        QuestionRow("lyon meteo", "Lyon météo", "fr", 1),
        QuestionRow("maire de lyon", "Maire de Lyon ?", "fr", 1),
    ]
    # The fake encoder embeds a bag of words: the same words in another order are one vector.
    clusters = clusters_of(rows, FakeEncoder())
    assert [(c.searches, [q.question for q in c.questions]) for c in clusters] == [
        (6, ["meteo lyon", "lyon meteo"]),
        (6, ["prix du pain", "du pain prix"]),
        (1, ["maire de lyon"]),
    ]
    assert clusters[0].questions[0].example == "Météo Lyon ?"
