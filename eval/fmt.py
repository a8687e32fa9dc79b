"""Number and table formatting shared by the terminal summary (runner.py) and report.md (report.py)."""
from __future__ import annotations

import unicodedata
from pathlib import Path

from .metrics import (
    CITATION_TOP,
    MAX_ANSWER_CHARS,
    NO_VALUE,
    SHORT_NUMBER_CHARS,
    GroupMetrics,
)

# Display names of the groupings in eval/metrics.GROUPINGS.
GROUPING_TITLES = {
    "class": "문항 분류별 (by class)",
    "split": "분할별 (by split)",
    "skill": "유형별 (by skill)",
    "source": "출처별 (by source)",
    "file": "문서별 (by document)",
}
BASELINE_NOTE = (
    f"기준선 (baseline) = 검색 1위 단락 {MAX_ANSWER_CHARS}자, 인용은 검색 상위 {CITATION_TOP}개; "
    "엔진과 같은 규칙으로 채점 (top search passage, scored by the same rules)"
)


def pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f}%"


def num(x: float | None, digits: int = 3) -> str:
    return "-" if x is None else f"{x:.{digits}f}"


def ms(x: float | None) -> str:
    return "-" if x is None else f"{x:,.0f}"


def display_width(text: str) -> int:
    """Terminal columns: Hangul and other wide characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def pad(text: str, width: int, right: bool = False) -> str:
    fill = " " * max(0, width - display_width(text))
    return fill + text if right else text + fill


def clip(text: str, width: int) -> str:
    while display_width(text) > width:
        text = text[:-1]
    return text


def worth_showing(groups: dict[str, GroupMetrics]) -> bool:
    """False for a grouping no item has a value for (a gold set without classes): one "(없음)" row says nothing."""
    return list(groups) != [NO_VALUE]


def group_label(grouping: str, value: str) -> str:
    """A group's name as shown: documents by file stem, to keep rows short."""
    return Path(value).stem if grouping == "file" else value


TEXT_COLUMNS = (("n", 4), ("정답률", 7), ("기준선", 7), ("인용", 7), ("기준인용", 8), ("R@1", 6), ("R@5", 6),
                ("MRR@10", 6), ("p50 ms", 7), ("p95 ms", 7))
NAME_WIDTH = 32


def metrics_header() -> str:
    return pad("구분 (group)", NAME_WIDTH) + "".join(" " + pad(h, w, right=True) for h, w in TEXT_COLUMNS)


def metrics_row(name: str, engine: GroupMetrics, baseline: GroupMetrics) -> str:
    """Engine and baseline side by side; retrieval is shared (the baseline reads the same hits)."""
    cells = (str(engine.n), pct(engine.accuracy), pct(baseline.accuracy), pct(engine.citation_accuracy),
             pct(baseline.citation_accuracy), pct(engine.recall_at_1), pct(engine.recall_at_5),
             num(engine.mrr_at_10), ms(engine.latency_p50_ms), ms(engine.latency_p95_ms))
    return pad(clip(name, NAME_WIDTH), NAME_WIDTH) + "".join(
        " " + pad(c, w, right=True) for c, (_, w) in zip(cells, TEXT_COLUMNS)
    )


def engine_checks(m: GroupMetrics) -> list[tuple[str, str]]:
    """Engine-only abstention and brevity figures as (label, value) pairs."""
    return [
        ("답 없는 문항 기권율 (abstention on unanswerable)", f"{pct(m.abstain_recall)} (n={m.n_unanswerable})"),
        ("답 있는 문항 잘못된 기권율 (false abstention on answerable)",
         f"{pct(m.false_abstain_rate)} ({m.n_false_abstained}/{m.n_answerable})"),
        (f"숫자 문항 답 {SHORT_NUMBER_CHARS}자 이하 (number answers <= {SHORT_NUMBER_CHARS} chars)",
         f"{pct(m.short_number_share)} ({m.n_short_number_answers}/{m.n_number_answers})"),
    ]
