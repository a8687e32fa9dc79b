"""A small end-to-end eval through the real engine: results.jsonl schema, report files."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.models import Answer

REPO = Path(__file__).resolve().parent.parent
GOLD = REPO / "eval" / "gold.jsonl"
# One item per report plus one the corpus cannot answer: covers every document and the abstain path.
PREFIXES = ("g000-", "g001-", "g002-", "g003-", "g004-")


def pick_items(gold: Path) -> list[str]:
    lines = [ln for ln in gold.read_text(encoding="utf-8").splitlines() if ln.strip()]
    objs = [json.loads(ln) for ln in lines]
    chosen: list[str] = []
    for prefix in PREFIXES:
        hit = next((ln for ln, o in zip(lines, objs) if o["id"].startswith(prefix) and o["skill"] != "unanswerable"),
                   None)
        if hit:
            chosen.append(hit)
    unans = next((ln for ln, o in zip(lines, objs) if o["skill"] == "unanswerable"), None)
    if unans:
        chosen.append(unans)
    return chosen


@pytest.fixture(scope="module")
def small_eval(engine, tmp_path_factory):
    from eval.runner import run_eval

    if not GOLD.exists():
        pytest.skip("eval/gold.jsonl is not there yet")
    work = tmp_path_factory.mktemp("eval")
    gold = work / "gold.jsonl"
    chosen = pick_items(GOLD)
    gold.write_text("\n".join(chosen) + "\n", encoding="utf-8")
    out, report = work / "results.jsonl", work / "report"
    summary = run_eval(engine, gold, out_path=out, report_dir=report, progress=False)
    return summary, chosen, out, report


def test_results_lines_are_ask_json_plus_id(small_eval):
    summary, chosen, out, _ = small_eval
    lines = out.read_text(encoding="utf-8").splitlines()
    assert len(lines) == len(chosen) == summary.n_items >= 5
    for line, gold_line in zip(lines, chosen):
        obj = json.loads(line)
        gold = json.loads(gold_line)
        assert obj["id"] == gold["id"]
        assert list(obj) == ["id", *Answer.model_fields]
        body = {k: v for k, v in obj.items() if k != "id"}
        answer = Answer.model_validate(body)
        assert json.loads(answer.model_dump_json()) == body  # exactly what `docqa ask --json` prints
        assert answer.question == gold["question"]
        assert answer.latency_ms > 0


def test_report_files_written(small_eval):
    summary, _, _, report = small_eval
    md = (report / "report.md").read_text(encoding="utf-8")
    assert "유형별" in md and "문서별" in md
    for png in ("accuracy_by_skill.png", "latency.png"):
        data = (report / png).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 2000
    metrics = json.loads((report / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["n_items"] == summary.n_items
    assert set(metrics["by_skill"]) == set(summary.by_skill)


def test_summary_counts_and_text(small_eval):
    summary, *_ = small_eval
    o = summary.overall
    assert o.n_errors == 0
    assert o.n_scored == summary.n_items
    assert o.n_unanswerable == 1
    assert 0.0 <= o.accuracy <= 1.0
    assert o.latency_p50_ms is not None and o.latency_p95_ms >= o.latency_p50_ms
    text = summary.to_text()
    assert "전체" in text and "MRR@10" in text
