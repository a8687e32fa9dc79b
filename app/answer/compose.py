"""From scored candidates to one answer: the best candidate, one more per part a question leaves
uncovered, both sides of a comparison across reports, or an abstention below the fitted threshold."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from index.scope import issuer
from ingest.normalize import compact

from ..korean_numbers import format_number, value_of
from .candidates import Candidate
from .intent import Intent
from .render import FIGURE_CHARS, headline, limit_for, render, trim

MAX_PARTS = 3
DIFFERENCE_CHARS = 30  # room kept after both sides for " → 차이 4,179,050백만원"
# a question naming two reports asks each for its own figure ("각각 몇 명", "비교하면"); a list or an
# extreme is read from one table
ACROSS_OPERATIONS = ("compare", "lookup")
LEVEL_TYPES = ("amount", "count", "rate")  # figures a table prints per year; dates and places are compared as said


@dataclass
class Composition:
    text: str
    chosen: list[Candidate] = field(default_factory=list)
    across_reports: bool = False  # both sides found, each above the part threshold: answered whatever the confidence

    @property
    def abstained(self) -> bool:
        return not self.chosen


def compose(intent: Intent, ranked: list[Candidate], confident: bool, part_threshold: float,
            per_file: dict[str, list[Candidate]] | None = None,
            by_type: dict[str, list[tuple[float, Candidate]]] | None = None) -> Composition:
    """`ranked`: candidates best first; `confident`: the calibrated confidence reached the threshold;
    `per_file`: candidates per report, best first, when a comparison names several reports; `by_type`: the
    candidates scored again as answers of a part's own type, where it differs from the question's:
    (probability, candidate), best first."""
    if per_file and len(per_file) >= 2 and intent.operation in ACROSS_OPERATIONS:
        both = _across_reports(intent, per_file, part_threshold)
        if both is not None:
            return both
    if not ranked or not confident:
        return Composition("")
    chosen = [ranked[0]]
    if intent.multi_part:
        chosen += _other_parts(intent, ranked, chosen, part_threshold, by_type or {})
    return Composition(render(chosen, intent.answer_type, intent.words_shown), chosen)


def _head(part: tuple[str, ...], intent: Intent) -> str:
    """The word a Korean noun phrase is about comes last ("7급 정원" is about 정원); when another part ends
    the same way ("공공임대랑 민간임대"), the last word only this part has tells them apart: words before it
    are the context both parts share ("호당 한도가 공공지원민간임대랑 준주택전세전환지원" -> 공공)."""
    others = {t for p in intent.parts if p is not part for t in p}
    if part[-1] not in others:
        return part[-1]
    own = [t for t in part if t not in others] or list(part)
    return own[-1]


def _other_parts(intent: Intent, ranked: list[Candidate], chosen: list[Candidate], threshold: float,
                 by_type: dict[str, list[tuple[float, Candidate]]]) -> list[Candidate]:
    """For each part whose head word the answer so far does not show, the best candidate that names it,
    weighed as an answer of that part's type."""
    from .render import with_row

    extra: list[Candidate] = []
    as_asked = [(c.probability, c) for c in ranked]
    for i, part in enumerate(intent.parts):
        pool = by_type.get(intent.part_type(i)) or as_asked
        shown = compact(" ".join(with_row(c) for c in chosen + extra)).lower()
        head = _head(part, intent)
        if head in shown:
            continue
        taken = {id(c) for c in chosen + extra}  # identity: dataclass equality would compare whole chunks
        match = next((c for p, c in pool if p >= threshold and id(c) not in taken
                      and _same_report(c, chosen[0], intent) and head in compact(c.labels).lower()), None)
        if match is not None and len(chosen) + len(extra) < MAX_PARTS:
            extra.append(match)
    return extra


def _same_report(c: Candidate, first: Candidate, intent: Intent) -> bool:
    """The parts of one question are asked of one report, unless it compares ("A랑 B 예산 비교")."""
    return intent.operation == "compare" or c.chunk.file == first.chunk.file


def _across_reports(intent: Intent, per_file: dict[str, list[Candidate]], threshold: float) -> Composition | None:
    """ "A국이랑 B국 정원 비교": each side from its own report, both cited, with the difference."""
    # "2020년에 비해 2024년에 얼마나 늘었어" compares one body's reports of two years: each report gives its own
    # year's level and the change is between them, not each report's change on its own previous year
    levels = (intent.operation == "compare" and intent.answer_type in LEVEL_TYPES
              and _one_body(cands[0] for cands in per_file.values() if cands))
    best = [c for c in (_best(cands, threshold, levels) for cands in per_file.values()) if c is not None]
    if len(best) < 2:
        return None
    best = best[:2]
    if intent.operation != "compare" and _one_body(best):
        return None  # one organization's reports of two years, none of them the year asked: not "각각"
    if intent.answer_type == "rate" and all(c.change_rate is not None for c in best):
        return _rates_across(best)
    a, b = (value_of(c.value) if c.value else None for c in best)
    sides = [f"{_report_name(c)}: {headline(c)}" for c in best]
    limit = limit_for(intent.answer_type)
    if a is not None and b is not None:
        # two figures side by side read at a glance whatever the question's words ("비교해줘" asks no amount);
        # each side is cut on its own (its figure leads it), so the second report's is never the part cut off
        limit = FIGURE_CHARS
        sides = [trim(side, (limit - DIFFERENCE_CHARS) // 2) for side in sides]
    text = " / ".join(sides)
    # two within-report changes are not the amounts "2024년 확정액 비교해줘" asks for: subtracting them printed
    # a figure no report holds (371,981 + 231,835)
    changes = any(c.kind == "difference" for c in best) and not intent.asks_change
    if a is not None and b is not None and best[0].unit == best[1].unit and not changes:
        diff = a - b
        text += f" → 차이 {format_number(abs(diff), best[0].value)}{best[0].unit}"
    return Composition(trim(text, limit), best, across_reports=True)


def _rates_across(best: list[Candidate]) -> Composition:
    """ "A랑 B 증가율 어디가 더 높아": each side's rate of change leads it, and the two rates differ by points
    (cut to the room of a figure answer, each side's long "2024년 확정(B) …" text lost the rate asked)."""
    a, b = (c.change_rate for c in best)
    sides = [f"{_report_name(c)}: {c.row} {c.change_rate:+.1f}% ({c.text.split(': ', 1)[-1]})" for c in best]
    share = (FIGURE_CHARS - DIFFERENCE_CHARS) // 2
    text = " / ".join(trim(side, share) for side in sides) + f" → 차이 {abs(a - b):.1f}%p"
    return Composition(text, best, across_reports=True)


def _one_body(sides: Iterable[Candidate]) -> bool:
    return len({issuer(c.chunk.organization, c.chunk.title) for c in sides}) == 1


def _best(cands: list[Candidate], threshold: float, levels: bool) -> Candidate | None:
    """A report's side of a comparison: its best candidate, or, when levels are compared, its best table cell
    that is not a printed change (증감액)."""
    pool = [c for c in cands if c.kind == "cell" and not c.features.get("change_fit")] if levels else cands
    return pool[0] if pool and pool[0].probability >= threshold else None


def _report_name(c: Candidate) -> str:
    chunk = c.chunk
    return chunk.organization.split("(")[0].strip() or chunk.title
