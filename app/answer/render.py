"""How an answer reads: the figure with its unit (and 억/조 for large sums), its labels, and its row."""
from __future__ import annotations

import re

from ..korean_numbers import format_korean_amount, to_won, value_of
from .candidates import FIGURE_TYPES, STATED_REASON, Candidate, row_summary, unbullet
from .features import NEAR_CHARS, figure_pattern

FIGURE_CHARS = 200  # a figure answer a person reads at a glance
TEXT_CHARS = 380  # sentences, lists and reasons (the evaluation reads at most 400)
LARGE_WON = 100_000_000  # from 1억원 on, staff read sums in 억/조


def limit_for(answer_type: str) -> int:
    return FIGURE_CHARS if answer_type in FIGURE_TYPES else TEXT_CHARS


_YEAR_WORD = re.compile(r"20\d{2}")  # the years a question asks come among its words (Intent.words_shown)
LEAD_CHARS = 40  # context kept before the question word a long sentence is cut at


def trim(text: str, limit: int, terms: tuple[str, ...] = (), figure: re.Pattern | None = None) -> str:
    """Cut to `limit` characters; with question words, keep the window starting just before one of them that
    holds a `figure` of the kind asked, the most years asked and the most question words ("… 차단실적 :
    125,286건 차단"); ties: the earliest."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    lowered = text.lower()
    hits = sorted({lowered.find(t) for t in terms} - {-1})
    starts = [max(0, min(h - LEAD_CHARS, len(text) - limit + 1)) for h in hits] or [0]
    years = {t for t in terms if _YEAR_WORD.fullmatch(t)}

    def held(s: int) -> tuple[bool, int, int]:
        window = lowered[s: s + limit - 2]
        # "2019~2021년에는 60억원 … 2022~2023년에는 12억원": the year asked picks the figure
        return (figure is not None and bool(figure.search(window)), sum(_stated(y, window, figure) for y in years),
                sum(t in window for t in set(terms)))

    start = max(starts, key=held)  # `starts` ascend and max keeps the first of equals
    head = "…" if start else ""
    return head + text[start: start + limit - 1 - len(head)] + "…"


def _stated(year: str, window: str, figure: re.Pattern | None) -> bool:
    """The window shows the year asked, with a figure of the kind asked just after it when one is asked."""
    at = window.find(year)
    while at >= 0:
        if figure is None or figure.search(window, at, at + NEAR_CHARS):
            return True
        at = window.find(year, at + 1)
    return False


def with_korean_amount(value: str, unit: str) -> str:
    """ "2,007,800" 백만원 -> " ≈ 2조 78억원"; "" when the figure is small or not money."""
    v = value_of(value)
    won = to_won(v, unit) if v is not None and unit else None
    return f" ≈ {format_korean_amount(won)}" if won is not None and abs(won) >= LARGE_WON else ""


def headline(c: Candidate) -> str:
    """The candidate alone: a cell's figure with unit and labels, or the sentence."""
    if c.kind == "cell":
        return f"{c.text}{with_korean_amount(c.value, c.unit)}"  # the cell's text is its figure and labels
    if c.kind == "span":
        return unbullet(c.text)
    return c.text


def with_row(c: Candidate) -> str:
    """A cell answer followed by the rest of its row (the other column a two-part question asks is there);
    a sentence followed by the lines after it, which a person reads next."""
    text = headline(c)
    if c.kind == "span" and c.after:
        return f"{text} {c.after}"
    if c.kind not in ("cell", "extreme") or c.table_row is None:
        return text
    skip = c.chunk.value_columns.index(c.column) if c.column in c.chunk.value_columns else None
    rest = row_summary(c.chunk, c.table_row, skip=skip)
    return f"{text} — {rest}" if rest.split(":", 1)[1].strip() else text


def render(chosen: list[Candidate], answer_type: str, terms: tuple[str, ...] = ()) -> str:
    limit = limit_for(answer_type)
    if len(chosen) == 1:
        only = chosen[0]
        if only.kind in ("list", "tagged"):
            return trim(only.text, limit)  # the count leads; items run on as far as they fit
        if only.kind == "span" and answer_type == "reason":
            text = f"{unbullet(only.before)} {with_row(only)}" if only.before else with_row(only)
            # a long passage is read from where it states the reason ("주요 감액 요인으로는 …")
            cue = STATED_REASON.search(text)
            return trim(text, limit, (cue.group(),) if cue else terms)
        return trim(with_row(only), limit, *_focus(only, terms, answer_type))
    heads = [" ".join(headline(c).split()) for c in chosen]
    parts = zip(chosen, heads, shares([len(h) for h in heads], limit))
    text = " / ".join(trim(h, n, *_focus(c, terms, answer_type)) for c, h, n in parts)
    context = row_context(chosen)
    return trim(f"{text} — {context}", limit) if context and len(text) < limit else trim(text, limit)


def _focus(c: Candidate, terms: tuple[str, ...], answer_type: str) -> tuple[tuple[str, ...], re.Pattern | None]:
    """Where a passage is cut: a sentence around the question's words; a figure (cell, extreme, list) from its start."""
    return (terms, figure_pattern(answer_type)) if c.kind == "span" else ((), None)


def shares(lengths: list[int], limit: int) -> list[int]:
    """Characters each part may keep: short parts whole, the room they leave split among the long ones
    (an even split cut "125,286건 차단" to "125,…" beside a 30-character second part)."""
    room = limit - 3 * (len(lengths) - 1)  # the " / " between parts
    out = [0] * len(lengths)
    for n, i in enumerate(sorted(range(len(lengths)), key=lambda j: lengths[j])):
        out[i] = min(lengths[i], room // (len(lengths) - n))
        room -= out[i]
    return out


def row_context(chosen: list[Candidate]) -> str:
    seen, out = set(), []
    for c in chosen:
        if c.table_row is not None and id(c.table_row) not in seen:
            seen.add(id(c.table_row))
            out.append(row_summary(c.chunk, c.table_row))
    return "; ".join(out)
