"""Extractive answer engine in small parts: intent -> candidates -> features -> one fitted scorer -> composition.

`prepare` does everything up to the features (the fitting script reuses it); `answer` adds the scorer's
probabilities, the composition and the typed Answer with citations and evidence.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Protocol

from index.fusion import Hit
from index.scope import (
    TitleWords,
    common_title_words,
    content_years,
    doc_names,
    names_unknown_organization,
    subject_words,
    this_year,
)
from ingest.models import TableChunk
from ingest.normalize import compact

from ..models import ABSTAIN_TEXT, Answer, Citation, Evidence
from .candidates import READ_ON_LINES, Candidate, ancestors, generate, is_listing
from .compose import Composition, compose
from .features import QuestionFacts, features, question_facts
from .intent import Intent, parse_intent
from .scorer import Scorer, confidence_features

# Chunks read per question. The gold page is in the top 5 for 91-97% of questions, but the line that answers
# is often in a neighbouring chunk of it; 12 beat 8 and 20 beat 12 in cross-validation, 30 was no better than 20
# (docs/answer-engine.md).
RETRIEVE_K = 20
PER_FILE_K = 5  # chunks per report when a question names several
# Reports read one by one at most: an organization's long archive named without a year scopes to all its
# reports (135 in scripts/bench_scale.py --archive years, 5.9 s p95); those holding the best hits go first.
PER_FILE_MAX = 4
CITATIONS = 3
LLM_CONTEXT_CHUNKS = 5
QUOTE_CHARS = 160


class RetrievalView(Protocol):
    docs: list

    def hits(self, question: str, files: list[str], k: int) -> list[Hit]: ...
    def morphemes(self, text: str) -> list[tuple[str, str]]: ...
    def words(self, text: str) -> list[str]: ...
    def idf(self, term: str) -> float: ...
    def known(self, term: str) -> bool: ...
    def mentions(self, term: str, files: list[str]) -> bool: ...
    def section_lines(self, file: str, section: str) -> list[str]: ...
    def subtree_lines(self, file: str, section: str) -> list[str]: ...
    def following_lines(self, chunk_id: str, n: int) -> list[str]: ...
    def table_rows(self, file: str, table_id: str | None) -> list: ...


@dataclass
class Prepared:
    intent: Intent
    facts: QuestionFacts
    hits: list[Hit]
    candidates: list[Candidate]
    per_file: dict[str, list[Candidate]]
    unknown_organization: bool
    # "서울시재단 드론 사업": the program named is printed by none of the reports asked of
    unknown_program: bool = False

    @property
    def names_the_unknown(self) -> bool:
        """The question asks of an organization or a program the reports never mention: nothing answers it."""
        return self.unknown_organization or self.unknown_program


def prepare(retrieval: RetrievalView, question: str, files: list[str]) -> Prepared:
    docs = retrieval.docs
    common = common_title_words(docs)
    drop = _report_words(retrieval, files, common)
    years = content_years(question, docs, files)
    intent = parse_intent(_without_report_names(question, docs, files, common), retrieval.morphemes, retrieval.idf,
                          years, drop, retrieval.known)
    # "A국이랑 B국 정원 비교": two organizations compared as wholes, so their totals are meant.
    intent = replace(intent, question=question, wants_total=intent.wants_total or len(files) >= 2,
                     this_year=this_year(question, docs, files))
    hits = retrieval.hits(question, files, RETRIEVE_K)
    # "서울시재단 드론 사업": a word unknown to the reports asked of counts as unknown, wherever else it stands
    facts = question_facts(intent, lambda t: retrieval.mentions(t, files), hits[0].score if hits else 0)
    candidates = _scored_features(intent, hits, facts, retrieval)
    per_file: dict[str, list[Candidate]] = {}
    if len(files) >= 2:
        for f in _read_one_by_one(files, hits):
            file_hits = retrieval.hits(question, [f], PER_FILE_K)
            file_facts = question_facts(intent, retrieval.known, file_hits[0].score if file_hits else 0)
            # the whole-question hits of this report count too: its best chunk may rank below PER_FILE_K alone
            per_file[f] = _scored_features(intent, file_hits, file_facts, retrieval) + [
                c for c in candidates if c.chunk.file == f]
    everywhere = [d.file for d in docs]
    unknown = names_unknown_organization(question, docs, files, lambda name: retrieval.mentions(name, everywhere))
    program = bool(intent.program) and not retrieval.mentions(intent.program, files)
    return Prepared(intent, facts, hits, candidates, per_file, unknown, program)


def _read_one_by_one(files: list[str], hits: list[Hit]) -> list[str]:
    """At most PER_FILE_MAX scoped reports, those of the best whole-question hits first, in their given order."""
    ranked = list(dict.fromkeys(h.chunk.file for h in hits if h.chunk.file in files))
    chosen = set((ranked + [f for f in files if f not in ranked])[:PER_FILE_MAX])
    return [f for f in files if f in chosen]


def _scored_features(intent: Intent, hits: list[Hit], facts: QuestionFacts, retrieval: RetrievalView) -> list[Candidate]:
    lines = {(h.chunk.file, h.chunk.section): retrieval.section_lines(h.chunk.file, h.chunk.section) for h in hits}
    # only a list question reads the sections above its hits (sibling lists)
    subtrees = {(h.chunk.file, a): retrieval.subtree_lines(h.chunk.file, a)
                for h in hits for a in ancestors(h.chunk.section)} if is_listing(intent) else {}
    tables = {(h.chunk.file, h.chunk.table_id): retrieval.table_rows(h.chunk.file, h.chunk.table_id)
              for h in hits if isinstance(h.chunk, TableChunk)}
    following = {h.chunk.id: retrieval.following_lines(h.chunk.id, READ_ON_LINES) for h in hits}
    cands = generate(intent, hits, lines, tables, following, subtrees)
    for c in cands:
        c.features = features(c, facts)
    return cands


def _without_report_names(question: str, docs: list, files: list[str], common: TitleWords) -> str:
    """ "푸른도시국이랑 기획관 정원": once the names picked the reports, they are not words to match."""
    subjects = {compact(w) for d in docs if d.file in files for w in subject_words(d, common)}
    names = sorted({n for d in docs if d.file in files for n in doc_names(d, common)} - subjects, key=len, reverse=True)
    for name in names:
        question = re.sub(r"\s*".join(map(re.escape, name)) + _PARTICLE, " ", question)
    return question


# A particle left behind by a removed name ("기획관이랑" -> "이랑") would read as a word.
_PARTICLE = r"(?:이랑|랑|하고|과|와|의|은|는|이|가|에서|에|도)?"


_WHOLE_WORD = re.compile(r"[0-9A-Za-z가-힣]+")


def _report_words(retrieval: RetrievalView, files: list[str], common: TitleWords) -> frozenset[str]:
    """Words that only picked the report ("서울시재단", "2025"): once scoped, they are not evidence."""
    words: set[str] = set()
    for d in retrieval.docs:
        if d.file in files:
            # with a manifest the title only says what kind of report it is ("예산안 검토보고"), and its words
            # name what the tables print ("2024 예산안"); without one the title holds the issuer
            title = "" if d.organization else d.title
            for w in subject_words(d, common):
                title = title.replace(w, " ")
            names = " ".join([title, d.organization, d.date[:4]])
            # names are dropped whole: the words of "예산안검토" or "청년산학국" are what the report's tables print
            words.update(w.lower() for w in [*_WHOLE_WORD.findall(names), *getattr(d, "aliases", ())])
    return frozenset(words)


def rank(cands: list[Candidate], scorer: Scorer) -> list[Candidate]:
    for c in cands:
        c.probability = scorer.probability(c.features)
    return sorted(cands, key=lambda c: -c.probability)


def confidence(ranked: list[Candidate], scorer: Scorer) -> float:
    """Calibrated probability that the best candidate answers the question."""
    if not ranked:
        return 0
    return scorer.confidence(confidence_features([c.probability for c in ranked], ranked[0].features))


def judge(prep: Prepared, scorer: Scorer) -> tuple[Composition, float]:
    """The answer the engine would give if confident, and its calibrated confidence."""
    if prep.names_the_unknown:
        return Composition(""), 0
    ranked = rank(prep.candidates, scorer)
    per_file = {f: rank(c, scorer) for f, c in prep.per_file.items()}
    by_type = {t: as_type(prep, t, scorer) for t in set(prep.intent.part_types) - {prep.intent.answer_type}}
    return compose(prep.intent, ranked, True, scorer.part_threshold, per_file, by_type), confidence(ranked, scorer)


def as_type(prep: Prepared, answer_type: str, scorer: Scorer) -> list[tuple[float, Candidate]]:
    """The candidates weighed as answers of another type (a part's own), best first; the candidates
    themselves keep the question's scores."""
    facts = replace(prep.facts, intent=replace(prep.intent, answer_type=answer_type))
    scored = [(scorer.probability(features(c, facts)), c) for c in prep.candidates]
    return sorted(scored, key=lambda pc: -pc[0])


def decide(prep: Prepared, scorer: Scorer) -> Composition:
    if prep.facts.unknown_share >= scorer.unknown_limit:
        return Composition("")
    comp, conf = judge(prep, scorer)
    return comp if comp.across_reports or conf >= scorer.threshold else Composition("")


def answer(retrieval: RetrievalView, question: str, files: list[str], scorer: Scorer) -> Answer:
    question = question.strip()
    if not question:
        return abstention(question)
    return answer_from(prepare(retrieval, question, files), scorer)


def answer_from(prep: Prepared, scorer: Scorer) -> Answer:
    question = prep.intent.question
    comp = decide(prep, scorer)
    if comp.abstained:
        return abstention(question, related_pages(prep))
    return Answer(question=question, answer=comp.text, abstained=False,
                  citations=citations(comp.chosen, prep.hits), evidence=evidence(comp.chosen))


def context_chunks(prep: Prepared, scorer: Scorer) -> list:
    """Chunks for a generated answer, ordered by their best candidate: the same evidence the extractive path weighs."""
    order: list = []
    for c in rank(prep.candidates, scorer):
        if c.chunk not in order:
            order.append(c.chunk)
    return order + [h.chunk for h in prep.hits if h.chunk not in order]


def related_pages(prep: Prepared) -> list[Citation]:
    """Where a person would look next after an abstention: the retrieved pages; a question about an
    organization the reports never mention has none worth opening."""
    return [] if prep.unknown_organization else citations([], prep.hits)


def abstention(question: str, related: list[Citation] | None = None) -> Answer:
    return Answer(question=question, answer=ABSTAIN_TEXT, abstained=True, citations=[], related=related or [])


def citations(chosen: list[Candidate], hits: list[Hit]) -> list[Citation]:
    """The chosen candidates' pages first, then other retrieved pages, distinct, three at most."""
    out: list[Citation] = []
    seen: set[tuple[str, int | None]] = set()
    sources = [(c.chunk, c.page, c.quote, cell_boxes(c)) for c in chosen]
    sources += [(h.chunk, h.chunk.page, h.chunk.text.split("\n")[0], []) for h in hits]
    for chunk, page, quote, boxes in sources:
        key = (chunk.file, page)
        if key in seen:
            continue
        seen.add(key)
        out.append(Citation(file=chunk.file, title=chunk.title, page=page, section=chunk.section,
                            quote=" ".join(quote.split())[:QUOTE_CHARS], boxes=boxes))
        if len(out) >= max(CITATIONS, len(chosen)):
            break
    return out


def cell_boxes(c: Candidate) -> list[list[float]]:
    """Where a table answer is printed: its cell with the row label and column header (or the whole row);
    empty when the table's cells were not located (text-only tables, text answers)."""
    row = c.table_row
    if row is None or not row.boxes:
        return []
    columns = c.chunk.value_columns
    if c.column in columns:
        j = columns.index(c.column)
        # the header box is on the hit's page: a row from the next page is shown without it
        header = c.chunk.column_box(c.column) if c.page == c.chunk.page else None
        picked = [row.header_box, row.boxes[j] if j < len(row.boxes) else None, header]
    else:
        picked = [row.header_box, *(b for b, v in zip(row.boxes, row.values) if v.strip())]
    return [b for b in picked if b]


def evidence(chosen: list[Candidate]) -> list[Evidence]:
    return [Evidence(value=c.value or c.text[:QUOTE_CHARS], unit=c.unit, row=c.row, column=c.column,
                     file=c.chunk.file, page=c.page) for c in chosen]
