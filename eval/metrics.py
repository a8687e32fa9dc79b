"""Scoring rules of the evaluation, as pure functions over plain records (no model, no I/O).

Rules (docs/evaluation.md explains them to readers):

* An answer is *correct* for an answerable item when every ``must_include`` string occurs in it,
  or any ``accept_any`` string does, compared as substrings with all whitespace removed (NFC).
  Answers longer than ``MAX_ANSWER_CHARS`` are wrong: pasting a whole page must not score.
  An abstained answer is wrong for an answerable item.
* For an unanswerable item the answer is correct exactly when the system abstained.
* An answerable item with neither ``must_include`` nor ``accept_any`` is *not scorable*: it counts
  for retrieval, citations and latency but not for answer accuracy.
* Retrieval and citations match on the gold file and page; when the gold page is null (sources
  without page numbers, e.g. the Dacon set) a chunk or citation on the gold file counts. Items that
  compare two documents (compare_plans) have a second gold location; a hit on either counts.
* The top-passage baseline (the first search hit cut to ``MAX_ANSWER_CHARS``, the first three hits
  as citations) is scored by the same rules, so the engine's numbers always have a floor beside them.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace

from ingest.normalize import compact

MAX_ANSWER_CHARS = 400
CITATION_TOP = 3
MRR_K = 10
# A figure wrapped in a paragraph is hard to check; answers to number items should stay this short.
SHORT_NUMBER_CHARS = 200
NO_VALUE = "(없음)"  # group name of records without a value for the grouping (no class, no file)


@dataclass(frozen=True)
class Location:
    """A place in the corpus: a file and a 1-based page (None when unknown or page-less)."""

    file: str
    page: int | None = None


@dataclass
class ItemRecord:
    """Everything scoring needs about one gold item and the system's output for it."""

    id: str
    question: str
    skill: str
    source: str
    file: str
    page: int | None
    answerable: bool
    must_include: list[str]
    accept_any: list[str]
    gold_answer: str
    answer: str
    abstained: bool
    citations: list[Location] = field(default_factory=list)
    hits: list[Location] = field(default_factory=list)  # search results, best first
    latency_ms: float = 0.0
    error: str = ""  # engine.ask failed
    klass: str = ""  # gold "class"; "" when the gold set has none
    split: str = ""  # eval/splits.py
    answer_type: str = ""
    # Second gold location of items that compare two documents; a hit on either location counts.
    file2: str = ""
    page2: int | None = None
    baseline_answer: str = ""
    baseline_abstained: bool = False
    baseline_citations: list[Location] = field(default_factory=list)
    search_latency_ms: float = 0.0
    search_error: str = ""  # engine.search failed: no hits, so no retrieval and an abstaining baseline


# ------------------------------------------------------------------ single-item rules
def squash(text: str) -> str:
    """The product's one normalizer (NFKC, all whitespace removed): '3,000 억원' and '3,000억원' compare equal,
    and the engine and the scorer never normalize differently."""
    return compact(text)


def contains(haystack: str, needle: str) -> bool:
    n = squash(needle)
    return bool(n) and n in squash(haystack)


def is_scorable(rec: ItemRecord) -> bool:
    return not rec.answerable or bool(rec.must_include or rec.accept_any)


def answer_correct(
    answer: str, abstained: bool, answerable: bool, must_include: Sequence[str], accept_any: Sequence[str]
) -> bool:
    """The correctness rule of the module docstring for one answer."""
    if not answerable:
        return abstained
    if abstained or len(answer or "") > MAX_ANSWER_CHARS:
        return False
    if must_include and all(contains(answer, s) for s in must_include):
        return True
    return any(contains(answer, s) for s in accept_any)


def record_correct(rec: ItemRecord) -> bool | None:
    """Correctness of a record, None when it is not scorable."""
    if not is_scorable(rec):
        return None
    return answer_correct(rec.answer, rec.abstained, rec.answerable, rec.must_include, rec.accept_any)


def location_matches(loc: Location, gold: Location) -> bool:
    """Same file, and same page unless the gold page is unknown (then the file alone decides)."""
    if not gold.file or loc.file != gold.file:
        return False
    return gold.page is None or loc.page == gold.page


def gold_locations(rec: ItemRecord) -> list[Location]:
    """Where the answer is printed: the gold file and page, plus the second source if any."""
    golds = [Location(rec.file, rec.page)]
    if rec.file2:
        golds.append(Location(rec.file2, rec.page2))
    return golds


def _matches_any(loc: Location, golds: Sequence[Location]) -> bool:
    return any(location_matches(loc, g) for g in golds)


def hit_rank(hits: Sequence[Location], golds: Sequence[Location]) -> int | None:
    """1-based rank of the first hit on any gold location, None when none matches."""
    for rank, loc in enumerate(hits, start=1):
        if _matches_any(loc, golds):
            return rank
    return None


def citation_correct(citations: Sequence[Location], golds: Sequence[Location], top: int = CITATION_TOP) -> bool:
    return any(_matches_any(c, golds) for c in citations[:top])


def baseline_view(rec: ItemRecord) -> ItemRecord:
    """The record as if the top-passage baseline had answered, so the same rules score it."""
    return replace(rec, answer=rec.baseline_answer, abstained=rec.baseline_abstained,
                   citations=rec.baseline_citations, latency_ms=rec.search_latency_ms, error=rec.search_error)


def has_location(rec: ItemRecord) -> bool:
    """Citations and retrieval only mean something where the gold names a file to find."""
    return rec.answerable and bool(rec.file)


def recall_at(ranks: Sequence[int | None], k: int) -> float | None:
    if not ranks:
        return None
    return sum(1 for r in ranks if r is not None and r <= k) / len(ranks)


def mrr_at(ranks: Sequence[int | None], k: int = MRR_K) -> float | None:
    if not ranks:
        return None
    return sum(1.0 / r for r in ranks if r is not None and r <= k) / len(ranks)


def percentile(values: Sequence[float], q: float) -> float | None:
    """Linear-interpolated percentile (numpy's default), q in [0, 100]."""
    if not values:
        return None
    xs = sorted(values)
    pos = (len(xs) - 1) * q / 100.0
    lo, hi = math.floor(pos), math.ceil(pos)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def abstention_scores(predicted: Sequence[bool], gold_unanswerable: Sequence[bool]) -> tuple[float | None, float | None]:
    """(precision, recall) of 'abstain' as a prediction of 'unanswerable'; None when undefined."""
    tp = sum(1 for p, g in zip(predicted, gold_unanswerable) if p and g)
    n_pred = sum(1 for p in predicted if p)
    n_gold = sum(1 for g in gold_unanswerable if g)
    return (tp / n_pred if n_pred else None), (tp / n_gold if n_gold else None)


# ------------------------------------------------------------------ aggregates
@dataclass
class GroupMetrics:
    """All headline numbers over one group of records (all items, one skill, one file, ...)."""

    n: int = 0
    n_scored: int = 0  # items that count for accuracy
    n_correct: int = 0
    accuracy: float | None = None
    n_cite: int = 0  # answerable items with a gold file
    citation_accuracy: float | None = None
    n_retrieval: int = 0
    n_retrieval_by_file: int = 0  # of n_retrieval, items matched on file only (gold page null)
    recall_at_1: float | None = None
    recall_at_5: float | None = None
    mrr_at_10: float | None = None
    n_unanswerable: int = 0
    n_abstained: int = 0
    abstain_precision: float | None = None
    abstain_recall: float | None = None  # = abstention rate on unanswerable items
    n_answerable: int = 0
    n_false_abstained: int = 0
    false_abstain_rate: float | None = None  # abstentions among answerable items
    n_number_answers: int = 0  # answers (not abstentions, not errors) to answer_type "number" items
    n_short_number_answers: int = 0
    short_number_share: float | None = None  # of those, share within SHORT_NUMBER_CHARS
    latency_p50_ms: float | None = None
    latency_p95_ms: float | None = None
    n_errors: int = 0

    def to_dict(self) -> dict:
        return asdict(self)


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def group_metrics(records: Sequence[ItemRecord]) -> GroupMetrics:
    m = GroupMetrics(n=len(records))
    verdicts = [v for v in (record_correct(r) for r in records) if v is not None]
    m.n_scored, m.n_correct = len(verdicts), sum(verdicts)
    m.accuracy = m.n_correct / m.n_scored if m.n_scored else None

    located = [r for r in records if has_location(r)]
    cites = [citation_correct(r.citations, gold_locations(r)) for r in located]
    m.n_cite = len(cites)
    m.citation_accuracy = _share(sum(cites), len(cites))
    ranks = [hit_rank(r.hits, gold_locations(r)) for r in located]
    m.n_retrieval = len(ranks)
    m.n_retrieval_by_file = sum(1 for r in located if r.page is None)
    m.recall_at_1, m.recall_at_5, m.mrr_at_10 = recall_at(ranks, 1), recall_at(ranks, 5), mrr_at(ranks, MRR_K)

    m.n_unanswerable = sum(1 for r in records if not r.answerable)
    m.n_abstained = sum(1 for r in records if r.abstained)
    m.abstain_precision, m.abstain_recall = abstention_scores(
        [r.abstained for r in records], [not r.answerable for r in records]
    )
    _abstention_shares(m, records)
    latencies = [r.latency_ms for r in records if not r.error]
    m.latency_p50_ms, m.latency_p95_ms = percentile(latencies, 50), percentile(latencies, 95)
    m.n_errors = sum(1 for r in records if r.error or r.search_error)
    return m


def _abstention_shares(m: GroupMetrics, records: Sequence[ItemRecord]) -> None:
    """False abstentions, and whether answers to number questions stay short enough to check."""
    answerable = [r for r in records if r.answerable]
    m.n_answerable = len(answerable)
    m.n_false_abstained = sum(1 for r in answerable if r.abstained)
    m.false_abstain_rate = _share(m.n_false_abstained, m.n_answerable)
    numbers = [r for r in records if r.answer_type == "number" and not r.abstained and not r.error]
    m.n_number_answers = len(numbers)
    m.n_short_number_answers = sum(1 for r in numbers if len(r.answer) <= SHORT_NUMBER_CHARS)
    m.short_number_share = _share(m.n_short_number_answers, m.n_number_answers)


def breakdown(records: Iterable[ItemRecord], key: Callable[[ItemRecord], str]) -> dict[str, GroupMetrics]:
    """Group metrics per key value, keys sorted."""
    groups: dict[str, list[ItemRecord]] = {}
    for r in records:
        groups.setdefault(key(r) or NO_VALUE, []).append(r)
    return {k: group_metrics(groups[k]) for k in sorted(groups)}


# Groupings every summary breaks the numbers down by, in display order.
GROUPINGS: dict[str, Callable[[ItemRecord], str]] = {
    "class": lambda r: r.klass,
    "split": lambda r: r.split,
    "skill": lambda r: r.skill,
    "source": lambda r: r.source,
    "file": lambda r: r.file,
}


@dataclass
class Scores:
    """One system's numbers over a run: overall, and per value of every grouping."""

    overall: GroupMetrics
    groups: dict[str, dict[str, GroupMetrics]]  # grouping name ("class", "skill", ...) -> value -> metrics

    def to_dict(self) -> dict:
        return {
            "overall": self.overall.to_dict(),
            **{f"by_{g}": {k: v.to_dict() for k, v in ms.items()} for g, ms in self.groups.items()},
        }


def score(records: Sequence[ItemRecord]) -> Scores:
    return Scores(group_metrics(records), {g: breakdown(records, key) for g, key in GROUPINGS.items()})


@dataclass
class EvalSummary:
    """A scored run: the engine and the top-passage baseline over the same items."""

    gold_paths: list[str]
    split: str
    seconds: float
    engine: Scores
    baseline: Scores
    records: list[ItemRecord] = field(default_factory=list, repr=False)

    @property
    def n_items(self) -> int:
        return len(self.records)

    def to_dict(self) -> dict:
        return {
            "gold_paths": self.gold_paths,
            "split": self.split,
            "n_items": self.n_items,
            "seconds": round(self.seconds, 2),
            "engine": self.engine.to_dict(),
            "baseline": self.baseline.to_dict(),
        }


def summarize(records: list[ItemRecord], gold_paths: list[str], split: str, seconds: float) -> EvalSummary:
    return EvalSummary(gold_paths, split, seconds, score(records), score([baseline_view(r) for r in records]),
                       records)


def item_detail(rec: ItemRecord) -> dict:
    """Per-item scoring detail for failure analysis (report_dir/items.jsonl)."""
    golds = gold_locations(rec)
    located = has_location(rec)
    base = baseline_view(rec)
    return {
        **asdict(rec),
        "correct": record_correct(rec),
        "citation_ok": citation_correct(rec.citations, golds) if located else None,
        "retrieval_rank": hit_rank(rec.hits, golds) if located else None,
        "baseline_correct": record_correct(base),
        "baseline_citation_ok": citation_correct(base.citations, golds) if located else None,
    }
