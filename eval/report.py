"""Evaluation report: report.md, accuracy_by_skill.png, latency.png, metrics.json, items.jsonl."""
from __future__ import annotations

import json
from pathlib import Path

from .fmt import (
    BASELINE_NOTE,
    GROUPING_TITLES,
    engine_checks,
    group_label,
    ms,
    num,
    pct,
    worth_showing,
)
from .metrics import (
    MAX_ANSWER_CHARS,
    EvalSummary,
    GroupMetrics,
    ItemRecord,
    baseline_view,
    item_detail,
    record_correct,
)
from .splits import ALL

NANUM_DIR = Path("/usr/share/fonts/truetype/nanum")
WRONG_ANSWER_CHARS = 200  # keep report.md readable: long answers are cut in the listing


# ------------------------------------------------------------------ markdown
def _table(title: str, engine: dict[str, GroupMetrics], baseline: dict[str, GroupMetrics], grouping: str) -> list[str]:
    lines = [
        f"### {title}",
        "",
        (f"| {grouping} | n | 채점 | 정답률 | 기준선 정답률 | 인용 정확도 | 기준선 인용 | R@1 | R@5 | MRR@10 "
         "| 기권 P | 기권 R | 잘못된 기권 | p50 ms | p95 ms |"),
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, m in engine.items():
        b = baseline[name]
        lines.append(
            f"| {group_label(grouping, name)} | {m.n} | {m.n_scored} | {pct(m.accuracy)} | {pct(b.accuracy)} "
            f"| {pct(m.citation_accuracy)} | {pct(b.citation_accuracy)} | {pct(m.recall_at_1)} | {pct(m.recall_at_5)} "
            f"| {num(m.mrr_at_10)} | {pct(m.abstain_precision)} | {pct(m.abstain_recall)} | {pct(m.false_abstain_rate)} "
            f"| {ms(m.latency_p50_ms)} | {ms(m.latency_p95_ms)} |"
        )
    return lines + [""]


def _summary_table(o: GroupMetrics, b: GroupMetrics) -> list[str]:
    """Headline numbers, engine beside baseline (retrieval is the same search for both)."""
    rows = [
        ("정답률 (answer accuracy)", f"{pct(o.accuracy)} ({o.n_correct}/{o.n_scored})",
         f"{pct(b.accuracy)} ({b.n_correct}/{b.n_scored})"),
        ("인용 정확도 (citation, top-3)", f"{pct(o.citation_accuracy)} (n={o.n_cite})",
         f"{pct(b.citation_accuracy)} (n={b.n_cite})"),
        ("검색 R@1 / R@5 / MRR@10", f"{pct(o.recall_at_1)} / {pct(o.recall_at_5)} / {num(o.mrr_at_10)}", "같음 (same)"),
        ("기권 정밀도 (abstain precision)", f"{pct(o.abstain_precision)} (기권 {o.n_abstained}건)",
         f"{pct(b.abstain_precision)} (기권 {b.n_abstained}건)"),
        ("기권 재현율 (abstain recall)", f"{pct(o.abstain_recall)} (답 없는 문항 {o.n_unanswerable}건)",
         pct(b.abstain_recall)),
        ("응답 시간 p50 / p95 (기준선: 검색만)", f"{ms(o.latency_p50_ms)} ms / {ms(o.latency_p95_ms)} ms",
         f"{ms(b.latency_p50_ms)} ms / {ms(b.latency_p95_ms)} ms"),
    ]
    lines = ["| 지표 | 엔진 (engine) | 기준선 (baseline) |", "|---|---:|---:|"]
    lines += [f"| {name} | {e} | {bl} |" for name, e, bl in rows]
    lines += [f"| {label} | {value} | – |" for label, value in engine_checks(o)]
    return lines + [""]


def _one_line(text: str, limit: int = WRONG_ANSWER_CHARS) -> str:
    flat = " ".join((text or "").split()).replace("|", "\\|")
    return flat if len(flat) <= limit else flat[:limit] + "…"


def _expected(rec: ItemRecord) -> str:
    if not rec.answerable:
        return "기권 (unanswerable)"
    parts = []
    if rec.must_include:
        parts.append("모두 포함: " + ", ".join(f"`{s}`" for s in rec.must_include))
    if rec.accept_any:
        parts.append("또는 하나: " + ", ".join(f"`{s}`" for s in rec.accept_any))
    return "; ".join(parts)


def _why_wrong(rec: ItemRecord) -> str:
    """A short machine-readable reason, so failure causes can be counted."""
    if rec.error:
        return "오류"
    if not rec.answerable:
        return "기권하지 않음"
    if rec.abstained:
        return "잘못 기권"
    if len(rec.answer) > MAX_ANSWER_CHARS:
        return f"{MAX_ANSWER_CHARS}자 초과"
    return "필수 내용 없음"


def _verdict(correct: bool | None) -> str:
    return {True: "정답", False: "오답", None: "-"}[correct]


def wrong_answers(records: list[ItemRecord]) -> list[ItemRecord]:
    return [r for r in records if record_correct(r) is False]


def markdown(summary: EvalSummary) -> str:
    o, b = summary.engine.overall, summary.baseline.overall
    split = "" if summary.split == ALL else f", 분할 (split) `{summary.split}`"
    lines = [
        "# 평가 보고서 (evaluation report)",
        "",
        (f"- 정답셋 (gold): {', '.join(f'`{p}`' for p in summary.gold_paths)}{split} — {summary.n_items}문항, "
         f"정답률 채점 {o.n_scored}문항"),
        f"- 소요 시간: {summary.seconds:.1f}초" + (f", 오류 {o.n_errors}건" if o.n_errors else ""),
        ("- 정답 규칙: must_include 전부 포함 또는 accept_any 중 하나 포함 (공백 무시), "
         f"{MAX_ANSWER_CHARS}자 초과 답은 오답, 답할 수 있는 문항에서 기권은 오답, 답할 수 없는 문항은 기권이 정답."),
        "- 검색·인용: 정답 파일과 쪽이 같은 청크/인용이면 적중 (인용은 상위 3개), 정답 쪽이 없으면 파일만 비교, "
        "두 문서 비교 문항은 두 번째 정답 위치도 적중"
        + (f" — 이번 정답셋에서 파일만 비교 {o.n_retrieval_by_file}/{o.n_retrieval}문항" if o.n_retrieval_by_file else "")
        + ".",
        f"- {BASELINE_NOTE}.",
        "",
        "## 요약 (summary)",
        "",
        *_summary_table(o, b),
        "![정답률](accuracy_by_skill.png)",
        "",
        "![응답 시간](latency.png)",
        "",
        "## 세부 (breakdowns)",
        "",
    ]
    for grouping, groups in summary.engine.groups.items():
        if worth_showing(groups):
            lines += _table(GROUPING_TITLES[grouping], groups, summary.baseline.groups[grouping], grouping)

    wrong = wrong_answers(summary.records)
    lines += [f"## 오답 {len(wrong)}건 (wrong answers)", ""]
    if wrong:
        lines += [
            "| id | skill | 질문 | 기대 | 정답 요약 | 받은 답 | 인용 | 이유 | 기준선 |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for r in wrong:
            cited = "; ".join(f"{c.file} p.{c.page if c.page is not None else '-'}" for c in r.citations[:3]) or "-"
            gold_loc = f"{r.file} p.{r.page}" if r.page is not None else (r.file or "-")
            lines.append(
                f"| {r.id} | {r.skill} | {_one_line(r.question)} | {_expected(r)} | {_one_line(r.gold_answer, 120)} "
                f"({_one_line(gold_loc, 80)}) | {_one_line(r.answer)} | {_one_line(cited, 160)} | {_why_wrong(r)} "
                f"| {_verdict(record_correct(baseline_view(r)))} |"
            )
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------ charts
def _korean_font() -> bool:
    """Register NanumGothic when installed; False means charts fall back to English labels."""
    from matplotlib import font_manager, rcParams

    path = NANUM_DIR / "NanumGothic.ttf"
    if not path.exists():
        return False
    font_manager.fontManager.addfont(str(path))
    rcParams["font.family"] = font_manager.FontProperties(fname=str(path)).get_name()
    rcParams["axes.unicode_minus"] = False  # NanumGothic lacks U+2212
    return True


def accuracy_chart(summary: EvalSummary, path: Path, korean: bool) -> None:
    import matplotlib.pyplot as plt
    import numpy as np

    by_skill, base_by_skill = summary.engine.groups["skill"], summary.baseline.groups["skill"]
    names = list(by_skill)
    series = [
        ("정답률" if korean else "accuracy", [m.accuracy for m in by_skill.values()]),
        ("기준선 정답률" if korean else "baseline accuracy", [m.accuracy for m in base_by_skill.values()]),
        ("인용 정확도" if korean else "citation", [m.citation_accuracy for m in by_skill.values()]),
        ("검색 R@5" if korean else "retrieval R@5", [m.recall_at_5 for m in by_skill.values()]),
    ]
    x = np.arange(len(names))
    width = 0.8 / len(series)
    fig, ax = plt.subplots(figsize=(max(6.0, 1.4 * len(names) + 2), 4.2))
    for i, (label, values) in enumerate(series):
        ys = [100 * v if v is not None else 0 for v in values]
        bars = ax.bar(x + (i - (len(series) - 1) / 2) * width, ys, width, label=label)
        for bar, v in zip(bars, values):
            if v is not None:
                ax.text(bar.get_x() + bar.get_width() / 2, bar.get_height() + 1, f"{100 * v:.0f}",
                        ha="center", fontsize=7)
    counts = [m.n for m in by_skill.values()]
    ax.set_xticks(x, [f"{n}\n(n={c})" for n, c in zip(names, counts)])
    ax.set_ylim(0, 110)
    ax.set_ylabel("%")
    overall = summary.engine.overall.accuracy
    title = "유형별 정답률" if korean else "Accuracy by skill"
    if overall is not None:
        title += f" ({'전체' if korean else 'overall'} {100 * overall:.1f}%)"
    ax.set_title(title)
    ax.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def latency_chart(summary: EvalSummary, path: Path, korean: bool) -> None:
    import matplotlib.pyplot as plt

    values = [r.latency_ms / 1000 for r in summary.records if not r.error]
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    if values:
        ax.hist(values, bins=min(30, max(5, len(values) // 3)), color="#4c72b0")
    o = summary.engine.overall
    for q, v, color in (("p50", o.latency_p50_ms, "#dd8452"), ("p95", o.latency_p95_ms, "#c44e52")):
        if v is not None:
            ax.axvline(v / 1000, color=color, linestyle="--", label=f"{q} {v / 1000:.2f}s")
    ax.set_xlabel("응답 시간 (초)" if korean else "latency (s)")
    ax.set_ylabel("문항 수" if korean else "questions")
    ax.set_title("질문별 응답 시간" if korean else "Answer latency per question")
    if o.latency_p50_ms is not None:
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


# ------------------------------------------------------------------ all files
def write_report(summary: EvalSummary, report_dir: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")  # headless: CI and servers have no display
    report_dir.mkdir(parents=True, exist_ok=True)
    (report_dir / "report.md").write_text(markdown(summary), encoding="utf-8")
    (report_dir / "metrics.json").write_text(json.dumps(summary.to_dict(), ensure_ascii=False, indent=1),
                                             encoding="utf-8")
    with open(report_dir / "items.jsonl", "w", encoding="utf-8") as fh:
        fh.writelines(json.dumps(item_detail(rec), ensure_ascii=False) + "\n" for rec in summary.records)
    korean = _korean_font()
    accuracy_chart(summary, report_dir / "accuracy_by_skill.png", korean)
    latency_chart(summary, report_dir / "latency.png", korean)
