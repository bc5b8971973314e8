"""The ranker's features on hand-made questions and passages: the answer a question asks for,
in four languages, what a sentence holds, and the question's terms found in a passage (on the
real features of a search: tests/integration/test_ranker.py)."""

from __future__ import annotations

import numpy as np
import pytest

from qa.content.corpus.chunk import ChunkingConfig
from qa.content.corpus.ingest import load_corpus
from qa.indexing.build import build_index
from qa.search.retrieval.features import (
    FEATURE_NAMES,
    CandidateFeatures,
    answer_type,
    candidate_features,
    question_terms,
)
from qa.search.retrieval.search import CANDIDATES, HIGHLIGHT_TERM_WEIGHT
from tests.conftest import SEEDS, FakeEncoder


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("En quelle année SeedChip sera-t-elle produite ?", "year"),
        ("In what year was ByteDance founded?", "year"),
        ("¿En qué año se fundó ByteDance?", "year"),
        ("In welchem Jahr wurde ByteDance gegründet?", "year"),
        ("Quand est mort le père de Roger ?", "date"),
        ("When did TikTok launch?", "date"),
        ("¿Cuándo nació?", "date"),
        ("Wann wurde es gebaut?", "date"),
        ("Combien de puces Ascend 910B ByteDance a-t-il commandées ?", "number"),
        ("How many chips did ByteDance order?", "number"),
        ("¿Cuántos chips pidió ByteDance?", "number"),
        ("Wie viele Chips hat ByteDance bestellt?", "number"),
        ("Quel pourcentage des ventes vient de Chine ?", "amount"),
        ("How much did the chips cost?", "amount"),
        ("Qui a fondé ByteDance ?", "person"),
        ("Who founded ByteDance?", "person"),
        ("¿Quién fundó ByteDance?", "person"),
        ("Wer hat ByteDance gegründet?", "person"),
        ("Où se trouve le siège de ByteDance ?", "place"),
        ("Where is ByteDance based?", "place"),
        ("¿Dónde está ByteDance?", "place"),
        ("Comment s'appelle la puce IA que développe ByteDance ?", "other"),
    ],
)
def test_the_answer_a_question_asks_for(question: str, expected: str) -> None:
    assert answer_type(question) == expected


def test_question_terms_are_the_analysers_stems_numbers_and_names() -> None:
    terms = question_terms("Combien de puces Ascend 910B ByteDance a-t-il commandées ?", "fr")
    assert terms.stems == frozenset({"combien", "puc", "ascend", "910b", "byted", "commande"})
    assert terms.numbers == frozenset({"910"})
    assert terms.names == frozenset({"ascend", "bytedance"})  # folded, capitalised inside
    assert ("puc", "ascend") in terms.bigrams
    assert terms.answer_type == "number"
    assert terms.french


def test_the_record_is_numbers_in_a_fixed_order() -> None:
    assert FEATURE_NAMES[0] == "dense"
    assert len(set(FEATURE_NAMES)) == len(FEATURE_NAMES)
    record = CandidateFeatures(*[float(i) for i in range(len(FEATURE_NAMES))])
    assert record.row() == tuple(float(i) for i in range(len(FEATURE_NAMES)))


@pytest.fixture(scope="module")
def seeds_index():  # type: ignore[no-untyped-def]
    encoder = FakeEncoder()
    config = ChunkingConfig(max_tokens=256, overlap_sentences=1, prefix="passage: ")
    return build_index(load_corpus(SEEDS), encoder, config), encoder


def _features_of(seeds_index, question: str, needle: str):  # type: ignore[no-untyped-def]
    index, encoder = seeds_index
    query = encoder.embed_queries([question])[0]
    order = list(range(len(index.chunks)))
    dense = {h.position: h.score for h in index.search_dense(query, CANDIDATES)}
    lexical = {h.position: h.score for h in index.search_lexical(question, CANDIDATES)}
    scored = candidate_features(
        index, query, question_terms(question, "fr"), order, dense, lexical, HIGHLIGHT_TERM_WEIGHT
    )
    target = next(s for s in scored if needle in index.chunks[s.position].text)
    other = next(s for s in scored if needle not in index.chunks[s.position].text)
    return index, scored, target, other


def test_coverage_and_answer_type_on_the_passage_that_answers(seeds_index) -> None:  # type: ignore[no-untyped-def]
    question = "Combien de puces Ascend 910B ByteDance a-t-il commandées à Huawei ?"
    index, scored, target, other = _features_of(seeds_index, question, "100 000 puces Ascend")
    features = target.features
    # Five of its seven stems ("combien" and "commandées" are not in it) and the best coverage.
    assert features.coverage == 5 / 7
    assert features.coverage == max(s.features.coverage for s in scored)
    assert features.numbers_found == 1.0
    assert features.question_numbers == 1.0
    assert features.names_found == 1.0
    assert features.question_names == 3.0
    assert features.bigram_overlap > other.features.bigram_overlap
    assert features.expects_number == 1.0
    assert features.expects_year == 0.0
    # Its best sentence (fake vectors: whichever) holds a number, so the answer type matches.
    assert target.best_sentence is not None
    chunk = index.chunks[target.position]
    sentence = chunk.text[
        target.best_sentence[0] - chunk.start : target.best_sentence[1] - chunk.start
    ]
    assert any(character.isdigit() for character in sentence)  # "910B", "100 000"
    assert features.sentence_has_number == features.answer_type_match == 1.0
    assert features.sentence_coverage > 0.5
    assert features.lexical_rank == 1.0
    assert features.lexical_norm == 1.0
    ranks = sorted(s.features.fused_rank for s in scored)
    assert ranks == [float(i) for i in range(1, len(scored) + 1)]


def test_a_year_question_matches_only_a_sentence_with_a_year(seeds_index) -> None:  # type: ignore[no-untyped-def]
    _, scored, _, _ = _features_of(
        seeds_index, "En quelle année SeedChip sera-t-elle produite ?", "SeedChip"
    )
    for s in scored:
        assert s.features.expects_year == 1.0
        assert s.features.answer_type_match == s.features.sentence_has_year


def test_every_candidates_features_are_finite(seeds_index) -> None:  # type: ignore[no-untyped-def]
    # Their cost is measured by `python -m bench.ranker`, not here.
    index, encoder = seeds_index
    question = "Combien de puces Ascend 910B ByteDance a-t-il commandées ?"
    query = encoder.embed_queries([question])[0]
    order = list(range(len(index.chunks)))
    dense = {h.position: h.score for h in index.search_dense(query, CANDIDATES)}
    terms = question_terms(question, "fr")
    scored = candidate_features(index, query, terms, order, dense, {}, HIGHLIGHT_TERM_WEIGHT)
    assert len(scored) == len(order)
    assert np.isfinite([s.features.row() for s in scored]).all()
