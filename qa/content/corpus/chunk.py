"""Split articles into sentences, then into passages bounded in model tokens.

A passage never crosses a heading or a dropped boilerplate line, carries the headline and the
heading above it as context (embedded with it, not shown), repeats the last sentence of the
previous passage of its section (overlap), and records where it stands in the original text.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field

from qa.content.corpus.blocks import Block, normalize
from qa.content.corpus.ingest import Document
from qa.settings import Settings

TokenCounter = Callable[[str], int]
"""Number of model tokens in a text, without the special tokens the model adds."""

# Special tokens the model adds around every input (<s> ... </s>).
SPECIAL_TOKENS = 2

# Words that end with a period without ending the sentence (French and English newswire).
ABBREVIATIONS = frozenset(
    """
    m mm mme mmes mlle mlles mgr dr drs pr prs st ste sts stes cf pp vol art av bd
    boul fig éd ed env chap n° tél hab janv févr fév avr juil oct nov déc jan feb
    mar apr jun jul aug sep dec mr mrs ms jr sr vs al inc ltd corp co gén col cdt
    lt sgt
    """.split()  # noqa: SIM905 - a word list reads best as words
)
_BOUNDARY = re.compile(
    r"""
    (?:[.!?…]+|\.{3})          # sentence-final punctuation
    (?:\s?»|[»"”’)\]])*         # closing quotes or brackets that belong to the sentence
    (?=\s+[«"“(\[]?\s?[\w¿¡])  # whitespace, then what may start a sentence
    """,
    re.VERBOSE,
)
_WORD_BEFORE = re.compile(r"([\w.’'-]+)[.!?…]*$")
# What follows a boundary starts a sentence only with a capital, a digit or ¿ ¡ ("etc. et",
# "… puis", "? demande-t-il" go on with the same sentence).
_NEXT_WORD = re.compile(r"[«\"“(\[\s]*([\w¿¡])")


@dataclass(frozen=True)
class Span:
    """`text[start:end]` of a document."""

    start: int
    end: int


class ChunkingConfig(BaseModel):
    """How documents are cut; recorded in the index manifest."""

    model_config = ConfigDict(frozen=True)

    max_tokens: int = Field(ge=32, le=512)
    overlap_sentences: int = Field(ge=0, le=3)
    prefix: str = Field(description="The passage prompt, counted in the token budget.")

    @classmethod
    def from_settings(cls, settings: Settings) -> ChunkingConfig:
        return cls(
            max_tokens=settings.chunk_max_tokens,
            overlap_sentences=settings.chunk_overlap_sentences,
            prefix=settings.passage_prompt,
        )


class Chunk(BaseModel):
    """A passage: what is shown (`text`, exactly `original[start:end]`) and what is matched."""

    model_config = ConfigDict(frozen=True)

    chunk_id: str
    source: str
    start: int
    end: int
    text: str
    context: str = Field(description="Headline and section heading, embedded with the text.")
    sentences: tuple[tuple[int, int], ...] = Field(
        description="Offsets of the passage's sentences in the original text."
    )

    def text_of(self, span: tuple[int, int]) -> str:
        """The normalised text of one of the passage's sentences, given by its offsets."""
        return normalize(self.text[span[0] - self.start : span[1] - self.start])

    @property
    def match_text(self) -> str:
        """The text embedded and indexed: context first, normalised for matching."""
        body = normalize(self.text)
        return f"{normalize(self.context)}\n{body}" if self.context else body


def split_sentences(text: str, start: int = 0, end: int | None = None) -> list[Span]:
    """Sentence spans of `text[start:end]`, French-aware.

    A boundary is sentence-final punctuation (with its closing quotes) followed by space and
    a capital or a digit, except after an abbreviation or an initial ("M.", "J."), and never
    inside « guillemets ».
    """
    end = len(text) if end is None else end
    spans: list[Span] = []
    sentence_start = _skip_space(text, start, end)
    for match in _BOUNDARY.finditer(text, sentence_start, end):
        cut = match.end()
        if (
            not _starts_sentence(text, cut, end)
            or _inside_guillemets(text, sentence_start, cut)
            or _after_abbreviation(text, sentence_start, match.start())
        ):
            continue
        spans.append(Span(sentence_start, cut))
        sentence_start = _skip_space(text, cut, end)
    tail_end = _rstrip(text, sentence_start, end)
    if sentence_start < tail_end:
        spans.append(Span(sentence_start, tail_end))
    return spans


def chunk_document(
    document: Document, count_tokens: TokenCounter, config: ChunkingConfig
) -> list[Chunk]:
    """The passages of one document, in reading order, with ids `name#0`, `name#1`, ..."""
    chunks: list[Chunk] = []
    for headings, blocks in _sections(document):
        context = _context(document, headings, config, count_tokens)
        budget = (
            config.max_tokens
            - SPECIAL_TOKENS
            - count_tokens(config.prefix + context + "\n" if context else config.prefix)
        )
        sentences = [
            piece
            for block in blocks
            for sentence in split_sentences(document.text, block.start, block.end)
            for piece in _fit(document.text, sentence, budget, count_tokens)
        ]
        for group in _pack(document.text, sentences, budget, count_tokens, config):
            start, end = group[0].start, group[-1].end
            chunks.append(
                Chunk(
                    chunk_id=f"{document.name}#{len(chunks)}",
                    source=document.name,
                    start=start,
                    end=end,
                    text=document.text[start:end],
                    context=context,
                    sentences=tuple((s.start, s.end) for s in group),
                )
            )
    return chunks


def _sections(document: Document) -> Iterator[tuple[list[Block], list[Block]]]:
    """Runs of paragraphs that follow each other with nothing dropped between them, each with
    the headings right above it (a heading followed by a sub-heading heads the run too)."""
    headings: list[Block] = []
    run: list[Block] = []
    for block in document.blocks:
        if block.kind == "heading":
            if run:
                yield headings, run
                headings, run = [], []
            headings.append(block)
            continue
        # A list marker on the block's own line is layout; anything else between is dropped text.
        line_start = document.text.rfind("\n", 0, block.start) + 1
        if run and document.text[run[-1].end : line_start].strip():
            yield headings, run  # a dropped line stood between: do not join across it
            run = []
        run.append(block)
    if run:
        yield headings, run


def _context(
    document: Document,
    headings: Sequence[Block],
    config: ChunkingConfig,
    count_tokens: TokenCounter,
) -> str:
    """Headline and headings of a run, shortened to leave at least half the budget to the text."""
    parts = [document.headline] if document.headline else []
    parts += [document.block_text(h) for h in headings if h != document.blocks[0]]
    limit = (config.max_tokens - SPECIAL_TOKENS) // 2

    def cost(context: str) -> int:
        return count_tokens(config.prefix + context + "\n")

    while len(parts) > 1 and cost(" — ".join(parts)) > limit:
        parts.pop(0)  # the headline goes first: the nearest heading says more about the text
    context = " — ".join(parts)
    while context and cost(context) > limit:
        context = context.rsplit(" ", 1)[0] if " " in context else ""
    return context


def _pack(
    text: str,
    sentences: Sequence[Span],
    budget: int,
    count_tokens: TokenCounter,
    config: ChunkingConfig,
) -> Iterator[list[Span]]:
    """Greedy groups of consecutive sentences within `budget` tokens, with overlap."""
    costs = [count_tokens(text[s.start : s.end]) for s in sentences]
    group: list[int] = []
    used = 0
    for index, cost in enumerate(costs):
        if group and used + cost > budget:
            yield [sentences[i] for i in group]
            # Carry the tail sentences over only when they leave room for new text.
            carried = (
                group[len(group) - config.overlap_sentences :] if config.overlap_sentences else []
            )
            carried_cost = sum(costs[i] for i in carried)
            if carried_cost + cost > budget or len(carried) == len(group):
                carried, carried_cost = [], 0
            group, used = list(carried), carried_cost
        group.append(index)
        used += cost
    if group:
        yield [sentences[i] for i in group]


def _fit(text: str, sentence: Span, budget: int, count_tokens: TokenCounter) -> list[Span]:
    """The sentence itself, or word-boundary pieces of it when it alone exceeds the budget."""
    if count_tokens(text[sentence.start : sentence.end]) <= budget:
        return [sentence]
    pieces: list[Span] = []
    piece_start = sentence.start
    last_fitting = piece_start
    for word in re.finditer(r"\S+", text[sentence.start : sentence.end]):
        word_end = sentence.start + word.end()
        if last_fitting > piece_start and count_tokens(text[piece_start:word_end]) > budget:
            pieces.append(Span(piece_start, last_fitting))
            piece_start = sentence.start + word.start()
        last_fitting = word_end
    pieces.append(Span(piece_start, sentence.end))
    return pieces


def _starts_sentence(text: str, cut: int, end: int) -> bool:
    """True when the first word after `cut` may open a sentence (capital, digit, ¿ or ¡)."""
    match = _NEXT_WORD.match(text, cut, end)
    if not match:
        return False
    first = match.group(1)
    return first.isupper() or first.isdigit() or first in "¿¡"


def _inside_guillemets(text: str, start: int, end: int) -> bool:
    segment = text[start:end]
    return segment.count("«") > segment.count("»") or segment.count("“") > segment.count("”")


def _after_abbreviation(text: str, start: int, punctuation: int) -> bool:
    if text[punctuation] != ".":
        return False
    match = _WORD_BEFORE.search(text, start, punctuation)
    if not match:
        return False
    word = match.group(1).lower().rstrip(".")
    # An initial ("J."), a dotted acronym ("U.S."), or a known abbreviation ("M.", "Mgr.");
    # not "etc.", which mostly ends a sentence. A number ("numéro 1.") is no initial.
    return (len(word) == 1 and word.isalpha()) or "." in word or word in ABBREVIATIONS


def _skip_space(text: str, start: int, end: int) -> int:
    while start < end and text[start].isspace():
        start += 1
    return start


def _rstrip(text: str, start: int, end: int) -> int:
    while end > start and text[end - 1].isspace():
        end -= 1
    return end
