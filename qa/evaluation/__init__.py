"""Evaluation: retrieval measured on question sets with judgments (`evaluate`: recall, MRR,
nDCG, answer@k through ranx), configurations compared with a paired test (`compare`), and the
answerability threshold calibrated (`calibrate`). May import the pipeline (`qa.content`,
`qa.search`, `qa.indexing`); never `qa.serve`."""

from qa.evaluation.evaluate import Question, Report, evaluate, load_questions

__all__ = ["Question", "Report", "evaluate", "load_questions"]
