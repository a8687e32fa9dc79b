"""Eval runs: a small one through the real engine (results.jsonl schema, report files), and the
baseline, --split, several --gold files and the exit codes through a fake engine (no model)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.models import ABSTAIN_TEXT, Answer, Citation, SearchHit
from eval.splits import split_of

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
    summary = run_eval(engine, [gold], out_path=out, report_dir=report, progress=False)
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
    assert set(metrics["engine"]["by_skill"]) == set(summary.engine.groups["skill"])
    assert set(metrics["baseline"]["by_skill"]) == set(metrics["engine"]["by_skill"])
    assert "기준선" in md


def test_summary_counts_and_text(small_eval):
    from eval.runner import summary_text

    summary, *_ = small_eval
    o = summary.engine.overall
    assert o.n_errors == 0
    assert o.n_scored == summary.n_items
    assert o.n_unanswerable == 1
    assert 0.0 <= o.accuracy <= 1.0
    assert o.latency_p50_ms is not None and o.latency_p95_ms >= o.latency_p50_ms
    assert summary.baseline.overall.n_scored == summary.n_items
    text = summary_text(summary)
    assert "전체" in text and "MRR@10" in text and "기준선" in text


# ------------------------------------------------------------------ fake engine
F = "2025_보고서.pdf"
F2 = "2024_보고서.pdf"
PASSAGE = "세입 총괄 서울시 출연금 13,797,110 8,193,261"


def gold_line(item_id: str, question: str, **kw) -> str:
    obj = {"id": item_id, "question": question, "answer": "13,797,110천원", "answer_type": "number",
           "must_include": ["13,797,110"], "accept_any": [], "skill": "table_cell", "source": "table",
           "file": F, "page": 3, "evidence": "서울시 출연금 13,797,110", "class": "single_cell"}
    obj.update(kw)
    return json.dumps(obj, ensure_ascii=False)


def hit(rank: int, file: str, page: int, text: str = PASSAGE) -> SearchHit:
    return SearchHit(rank=rank, score=1.0 / rank, file=file, title=file, page=page, section="", kind="table",
                     text=text, chunk_id=f"{file}#{rank}")


class FakeEngine:
    """ask and search by question; unknown questions abstain and find nothing."""

    index = None  # the CLI loads the index before the run

    def __init__(self, answers: dict[str, Answer], hits: dict[str, list[SearchHit]]):
        self.answers, self.hits = answers, hits

    def ask(self, question: str) -> Answer:
        return self.answers.get(question) or Answer(question=question, answer=ABSTAIN_TEXT, abstained=True,
                                                    latency_ms=5.0)

    def search(self, query: str, k: int = 10) -> list[SearchHit]:
        return self.hits.get(query, [])[:k]


def fake_engine() -> FakeEngine:
    long_text = "13,797,110 " + "가" * 600
    return FakeEngine(
        answers={
            "q1": Answer(question="q1", answer="13,797,110천원", abstained=False, latency_ms=10.0,
                         citations=[Citation(file=F, title="t", page=3)]),
        },
        hits={
            "q1": [hit(1, F, 3)],
            "q2": [hit(1, F, 5, text="다른 표 1,608,172"), hit(2, F, 3)],  # top passage lacks the figure
            "q3": [hit(1, F, 9, text=long_text)],  # cut to 400 chars, so still scorable
            "q4": [hit(1, "x.pdf", 1), hit(2, "y.pdf", 1), hit(3, F2, 7)],
        },
    )


@pytest.fixture()
def gold_files(tmp_path):
    first = tmp_path / "a.jsonl"
    first.write_text("\n".join([
        gold_line("g900-001", "q1"),
        gold_line("g900-002", "q2"),
        gold_line("g900-004", "q3"),
    ]) + "\n", encoding="utf-8")
    second = tmp_path / "b.jsonl"
    second.write_text("\n".join([
        gold_line("g900-003", "q4", skill="compare", source="prose", page=8, file2=F2, page2=7,
                  evidence2="2024 출연금", **{"class": "compare_plans"}),
        gold_line("g900-007", "q5", skill="unanswerable", answer_type="unanswerable", must_include=[], file="",
                  page=None, evidence="", **{"class": "unanswerable"}),
    ]) + "\n", encoding="utf-8")
    return [first, second]


def test_baseline_beside_engine_on_fake_engine(gold_files, tmp_path):
    from eval.runner import run_eval

    summary = run_eval(fake_engine(), gold_files, out_path=None, report_dir=tmp_path / "report", progress=False)
    recs = {r.id: r for r in summary.records}
    assert list(recs) == ["g900-001", "g900-002", "g900-004", "g900-003", "g900-007"]  # file order, merged
    assert recs["g900-001"].baseline_answer == PASSAGE
    assert recs["g900-002"].baseline_citations[1].page == 3
    assert len(recs["g900-004"].baseline_answer) == 400
    assert recs["g900-007"].baseline_abstained and recs["g900-007"].baseline_answer == ABSTAIN_TEXT

    e, b = summary.engine.overall, summary.baseline.overall
    assert (e.n_correct, b.n_correct) == (2, 4)  # engine: g900-001 and the abstention on g900-007
    assert (e.citation_accuracy, b.citation_accuracy) == (0.25, 0.75)  # g900-003 cites its second source
    assert (e.n_false_abstained, e.n_answerable, e.short_number_share) == (3, 4, 1.0)
    assert summary.baseline.groups["class"]["compare_plans"].accuracy == 1.0
    assert summary.engine.groups["class"]["compare_plans"].recall_at_5 == 1.0  # hit on (file2, page2) at rank 3
    details = [json.loads(ln) for ln in (tmp_path / "report" / "items.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [d["baseline_correct"] for d in details] == [True, False, True, True, True]
    assert "기준선" in (tmp_path / "report" / "report.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("split", ["train", "dev", "test"])
def test_split_option_keeps_only_that_split(gold_files, split):
    from eval.runner import run_eval

    summary = run_eval(fake_engine(), gold_files, out_path=None, report_dir=None, progress=False, split=split)
    expected = {"train": ["g900-002"], "dev": ["g900-001", "g900-003"], "test": ["g900-004", "g900-007"]}[split]
    assert [r.id for r in summary.records] == expected
    assert all(split_of(r.id) == r.split == split for r in summary.records)
    assert list(summary.engine.groups["split"]) == [split]


def test_cli_eval_merges_gold_files_and_filters_split(gold_files, tmp_path, monkeypatch, capsys):
    from app import cli

    monkeypatch.setattr(cli, "_engine", lambda settings: fake_engine())
    out = tmp_path / "results.jsonl"
    argv = ["eval", "--gold", str(gold_files[0]), "--gold", str(gold_files[1]), "--split", "test",
            "--out", str(out), "--report", str(tmp_path / "report"), "--quiet"]
    assert cli.main(argv) == 0
    assert [json.loads(ln)["id"] for ln in out.read_text(encoding="utf-8").splitlines()] == ["g900-004", "g900-007"]
    text = capsys.readouterr().out
    assert "[test]" in text and "기준선" in text and "잘못된 기권율" in text


def test_cli_eval_missing_gold_exits_2(tmp_path, monkeypatch, capsys):
    from app import cli

    def no_engine(settings):
        raise AssertionError("the engine must not load when the gold file is missing")

    monkeypatch.setattr(cli, "_engine", no_engine)
    missing = tmp_path / "nope.jsonl"
    assert cli.main(["eval", "--gold", str(missing), "--out", str(tmp_path / "r.jsonl"), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "정답셋 파일이 없습니다" in err and str(missing) in err
    assert not (tmp_path / "r.jsonl").exists()


def test_cli_eval_unloadable_index_exits_2(gold_files, tmp_path, monkeypatch, capsys):
    from app import cli
    from index.store import IndexMissing

    class NoIndex(FakeEngine):
        @property
        def index(self):
            raise IndexMissing("색인이 없습니다 (no index at /nowhere)")

    monkeypatch.setattr(cli, "_engine", lambda settings: NoIndex({}, {}))
    assert cli.main(["eval", "--gold", str(gold_files[0]), "--out", str(tmp_path / "r.jsonl"), "--quiet"]) == 2
    assert "색인이 없습니다" in capsys.readouterr().err
