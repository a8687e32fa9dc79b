"""Named features of a candidate: what the one scorer weighs. Values are plain measurements (shares,
ranks, 0/1 facts); every weight on them is fitted (eval/fit_scorer.py) and lives in weights.json.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from ingest.models import TableChunk
from ingest.normalize import ORDINAL_LETTER, compact

from .candidates import (
    FIGURE_TYPES,
    STATED_REASON,
    Candidate,
    is_total,
    is_total_label,
    row_summary,
    years_of,
)
from .intent import Intent

FEATURES = (
    "own_cov", "phrase_cov", "row_cov", "col_cov", "ctx_cov", "all_cov", "parent_cov", "row_col", "part_cov", "row_exact", "col_exact",
    "rank_inv", "fused_rel", "dense",
    "type_fit", "type_clash", "counter_fit", "has_figure", "near_figure", "lead_cov", "tail_type_fit", "reason_cue", "enumeration",
    "year_fit", "year_clash", "year_missing",
    "total_match", "total_unasked",
    "heading", "length",
    "is_cell", "is_row", "is_extreme", "is_difference", "is_span", "is_list", "is_filter", "is_tagged",
    "op_fit", "op_clash", "direction_fit", "change_fit", "group_size", "aggregate", "unit_items",
    "unknown_terms", "no_terms", "missing_rare",
)
KINDS = ("cell", "row", "extreme", "difference", "span", "list", "filter", "tagged")
ROW_SET_KINDS = ("list", "filter", "tagged")  # kinds that answer with several rows or items, counted
OP_KIND = {"superlative": "extreme", "compare": "difference", "list": "list", "count": "list", "filter": "filter"}
GROUP_SCALE = 20  # rows: an extreme over this many rows or more is as telling as it gets
ENUMERATION_SCALE = 5  # items: a sentence naming this many things side by side reads as a list
LENGTH_SCALE = 400  # characters: the longest answer the evaluation accepts

_AMOUNT = re.compile(r"\d\s*(?:천원|백만원|억원|만원|원|억|조)")
_COUNT = re.compile(r"\d\s*(?:명|건|개소|개|곳|군데|회|팀|대|척|호|종|가구|세대|석|본|면)")
_RATE = re.compile(r"\d\s*%|\d\s*퍼센트")
_DATE = re.compile(r"\d{1,2}\s*\.\s*\d{1,2}\s*\.|\d{1,2}\s*월|\d{4}\s*\.\s*\d|[’'‘]\d{2}\s*\.|\d{1,2}\s*일|\d+\s*분기|상반기|하반기")
_PERSON = re.compile(r"☎|담당\s*[:：]|(?:팀장|과장|국장|주무관|위원장|원장|대표)\b|\d{3,4}-\d{4}")
_PLACE = re.compile(r"에서|일원|센터|홀|회관|청사|광장|공원|[시군구동]\s*\d|장소|위치")
_REASON = re.compile(r"위해|따라|때문|필요|요구|바람|판단|사료|것으로|우려|미흡|부족|불가피|검토|어려")
# "정보산업진흥원(2월), 벡스코(2월), 테크노파크(10월)": names listed side by side in a sentence
_ITEM_BREAK = re.compile(r"[,·、;∙‧ㆍ]|\s[-ㅇ○◦▪•]\s|\s\d{1,2}\.\s|[①-⑳]")
_HEADING = re.compile(rf"^(?:[ⅠⅡⅢⅣⅤⅥⅦⅧⅨⅩ]|[IVX]+\.|\d{{1,2}}\.|□|■|{ORDINAL_LETTER}\.)")
_CHANGE = re.compile(r"증감|증가|감소|대비|차이|변동")
_MONEY_UNITS = ("원", "억", "조")
_COUNT_UNITS = ("명", "건", "개", "곳", "회", "팀", "대")


@dataclass(frozen=True)
class QuestionFacts:
    """What every candidate of one question shares: the intent and how much of it the corpus knows."""

    intent: Intent
    compact_question: str
    unknown_share: float  # rarity-weighted share of the question's words that no chunk contains
    top_score: float  # fused retrieval score of the first hit


def question_facts(intent: Intent, known: Callable[[str], bool], top_score: float) -> QuestionFacts:
    total = sum(intent.weights) or 1
    unknown = sum(w for t, w in zip(intent.terms, intent.weights) if not known(t)) / total
    return QuestionFacts(intent, compact(intent.question), unknown if intent.terms else 0, top_score)


def coverage(intent: Intent, text: str) -> float:
    """Rarity-weighted share of the question's words found in `text` (compact substring match)."""
    if not intent.terms:
        return 0
    c = _folded(text)
    total = sum(intent.weights) or 1
    return sum(w for t, w in zip(intent.terms, intent.weights) if t in c) / total


@lru_cache(maxsize=1 << 14)
def _folded(text: str) -> str:
    """compact(text).lower(), once per text: the candidates of one question share their row and context texts."""
    return compact(text).lower()


def value_types(c: Candidate) -> frozenset[str]:
    """Kinds of answer a candidate can give: amount, count, rate, date, person, place, reason, list."""
    if c.kind in ROW_SET_KINDS:
        return frozenset({"list", "count"})
    if c.kind in ("cell", "extreme", "difference"):
        col = compact(c.column)
        if c.value.endswith("%") or c.unit == "%" or re.search(r"[률율]|비율|비중", col):
            return frozenset({"rate"})
        if c.unit.endswith(_MONEY_UNITS):
            return frozenset({"amount"})
        if c.unit.endswith(_COUNT_UNITS):
            return frozenset({"count"})
        if _DATE.search(c.value):
            return frozenset({"date"})
        return frozenset({"amount", "count"} if re.search(r"\d", c.value) else {"text"})
    return _span_types(c.text)


_TYPE_PATTERNS = (("amount", _AMOUNT), ("count", _COUNT), ("rate", _RATE), ("date", _DATE), ("person", _PERSON),
                  ("place", _PLACE), ("reason", _REASON))
_PATTERN_OF = dict(_TYPE_PATTERNS)


def figure_pattern(answer_type: str) -> re.Pattern | None:
    """How a figure of the asked kind is printed ("12억원", "7명", "2.6%", "9.30."); None for names and reasons."""
    return _PATTERN_OF[answer_type] if answer_type in FIGURE_TYPES else None


NEAR_CHARS = 40  # how far after a question word the asked figure may stand to count as "next to it"


@lru_cache(maxsize=1 << 14)
def _span_types(text: str) -> frozenset[str]:
    found = frozenset(name for name, rx in _TYPE_PATTERNS if rx.search(text))
    return found or frozenset({"text"})


def _near_figure(c: Candidate, intent: Intent) -> float:
    """Share of the matched question words followed closely by a figure of the asked kind."""
    pattern = _PATTERN_OF.get(intent.answer_type)
    if pattern is None or c.kind != "span" or not intent.terms:
        return 0
    text = c.text.lower()
    found = [text.find(t) for t in intent.terms if t in text]
    if not found:
        return 0
    near = sum(1 for pos in found if pattern.search(text[pos: pos + NEAR_CHARS]))
    return near / len(found)


@lru_cache(maxsize=1 << 14)
def _years_in(text: str) -> frozenset[int]:
    return frozenset(years_of(text))


def features(c: Candidate, q: QuestionFacts) -> dict[str, float]:
    intent = q.intent
    chunk = c.chunk
    caption = chunk.caption if isinstance(chunk, TableChunk) else ""
    context = f"{caption} {chunk.section} {chunk.title} {chunk.organization}"
    own = coverage(intent, c.labels)
    row_cov = coverage(intent, c.table_row.header if c.table_row else "")
    col_cov = coverage(intent, c.column)
    whole = coverage(intent, f"{c.labels} {context}")
    types = value_types(c)
    concrete = intent.answer_type in ("amount", "count", "rate", "date")
    years_here = _years_in(f"{c.labels} {context} {chunk.date}")
    printed_change = intent.operation == "compare" and bool(_CHANGE.search(c.column))
    # a printed change ("증감률 △17.0%") answers a comparison as well as a computed difference does
    op_fit = OP_KIND.get(intent.operation) == c.kind or printed_change
    own_years = _years_in(c.labels)
    # "올해" asks the report's year: a cell of another year's column clashes, one without a year does not
    clash_years = frozenset(intent.years) or frozenset([intent.this_year] if intent.this_year else [])
    total = _is_total(c)
    f = {
        "own_cov": own,
        "phrase_cov": _phrase_coverage(intent, c.labels),
        "row_cov": row_cov,
        "col_cov": col_cov,
        "ctx_cov": whole - own,  # `whole` reads the labels and more, so it matches at least their words
        "all_cov": whole,
        # a "- 소요예산 : 153백만원" line names its program only through the item it sits under; more text
        # only matches more words, so the difference is never negative
        "parent_cov": coverage(intent, f"{c.labels} {c.parent} {context}") - whole if c.parent else 0,
        "row_col": row_cov * col_cov,
        "part_cov": _part_coverage(c, intent),
        "row_exact": float(bool(c.row) and len(compact(c.row)) >= 2 and compact(c.row) in q.compact_question),
        "col_exact": float(_col_named(c.column, q.compact_question)),
        "rank_inv": 1 / (1 + c.rank),
        "fused_rel": c.hit.score / q.top_score if q.top_score else 0,
        "dense": c.hit.dense_score,
        "type_fit": float(intent.answer_type in types),
        # a figure is not a reason: a "왜" question answered by a cell clashes like a date answered by a sum
        "type_clash": float((concrete and intent.answer_type not in types)
                            or (intent.answer_type == "reason" and c.kind != "span")),
        "counter_fit": _counter_fit(c, intent.counter),
        "enumeration": _enumeration(c, intent),
        "reason_cue": float(intent.answer_type == "reason" and bool(STATED_REASON.search(f"{c.text} {c.after}"))),
        "has_figure": float(bool(re.search(r"\d", c.value or c.text))),
        "year_fit": float(bool(intent.years) and all(y in years_here for y in intent.years)),
        "year_clash": float(bool(clash_years) and bool(own_years) and not own_years & clash_years),
        "year_missing": float(bool(intent.years) and not any(y in years_here for y in intent.years)),
        "near_figure": _near_figure(c, intent),
        "lead_cov": coverage(intent, c.labels.split(" - ")[0]) if c.kind == "span" else own,
        "tail_type_fit": float(c.kind != "span" or intent.answer_type in _span_types(c.text.split(" - ")[-1])),
        "total_match": float(total and intent.wants_total),
        "total_unasked": float(total and not intent.wants_total),
        "heading": float(c.kind == "span" and _is_heading(c.text, chunk.section)),
        "length": min(len(c.text), LENGTH_SCALE) / LENGTH_SCALE,
        "op_fit": float(op_fit),
        "op_clash": float(intent.operation in OP_KIND and not op_fit),
        "direction_fit": float(c.kind in ("extreme", "filter") and c.direction == (intent.direction or "max")),
        "group_size": min(c.group, GROUP_SCALE) / GROUP_SCALE,
        "aggregate": float(c.aggregate),
        "unit_items": _unit_items(c, intent),
        "change_fit": float(printed_change),
        "unknown_terms": q.unknown_share,
        "missing_rare": _missing_rare(intent, f"{c.labels} {c.text} {c.after} {context}"),
        "no_terms": float(not intent.terms),
    }
    for kind in KINDS:
        f[f"is_{kind}"] = float(c.kind == kind)
    return f


def _enumeration(c: Candidate, intent: Intent) -> float:
    """For a list question, how many items a sentence names side by side (lists generated apart score 1)."""
    if intent.answer_type != "list" and intent.operation not in ("list", "count"):
        return 0
    if c.kind in ROW_SET_KINDS:
        return 1
    if c.kind != "span":
        return 0
    return min(len(_ITEM_BREAK.findall(c.text)), ENUMERATION_SCALE) / ENUMERATION_SCALE


# counters that count the same things: "몇 곳이야" is answered by "12개소"
_PLACES = "곳|군데|개소|개"
_KINDS = "가지|종|개"
_ALIKE_COUNTERS = {"곳": _PLACES, "군데": _PLACES, "개소": _PLACES, "가지": _KINDS, "종": _KINDS}


def _counter_fit(c: Candidate, counter: str) -> float:
    """Whether a figure is printed in the counter asked: "몇 명" is not answered by "3회" or by "천원"."""
    if not counter:
        return 0
    if c.unit:
        return float(bool(re.fullmatch(_ALIKE_COUNTERS.get(counter, counter), c.unit)))
    return float(_counted_in(counter).search(f"{c.value} {c.text}") is not None)


@lru_cache(maxsize=64)
def _counted_in(counter: str) -> re.Pattern:
    return re.compile(rf"\d\s*(?:{_ALIKE_COUNTERS.get(counter, counter)})")


def _unit_items(c: Candidate, intent: Intent) -> float:
    """For "어떤 과들이 있어", the share of a list's items named like the units asked ("…과")."""
    if not c.items or not intent.units:
        return 0
    return sum(compact(i).endswith(intent.units) for i in c.items) / len(c.items)


def _phrase_coverage(intent: Intent, text: str) -> float:
    """Share of the question's adjacent word pairs written together in `text` ("부산도서관", "원인행위")."""
    pairs = [a + b for a, b in zip(intent.terms, intent.terms[1:])]
    if not pairs:
        return 0
    c = _folded(text)
    return sum(p in c for p in pairs) / len(pairs)


def _missing_rare(intent: Intent, text: str) -> float:
    """How rare the rarest question word the candidate lacks is, against the rarest word asked (0: none lacking)."""
    if not intent.terms:
        return 0
    c = _folded(text)
    missing = [w for t, w in zip(intent.terms, intent.weights) if t not in c]
    return max(missing, default=0) / max(intent.weights)


def _is_total(c: Candidate) -> bool:
    """A total row, or the total column of a table printed sideways ("정원 | 계 | 3급 | 4급")."""
    return (c.table_row is not None and is_total(c.table_row)) or is_total_label(c.column)


def _col_named(column: str, compact_question: str) -> bool:
    words = [compact(w) for w in column.split() if len(compact(w)) >= 2]
    return bool(words) and words[-1] in compact_question


def _is_heading(text: str, section: str) -> bool:
    c = compact(text)
    if c == compact(section.split(" > ")[-1]):
        return True
    return bool(_HEADING.match(text.strip())) and len(c) <= 30 and not re.search(r"\d{2,}", text)


def _part_coverage(c: Candidate, intent: Intent) -> float:
    """Share of the question's parts ("정원" and "현원") the candidate's row or sentence speaks to."""
    text = c.labels
    if c.table_row is not None:
        text += " " + " ".join(c.chunk.value_columns) + " " + row_summary(c.chunk, c.table_row)
    c_text = _folded(text)
    return sum(1 for part in intent.parts if any(t in c_text for t in part)) / len(intent.parts)
