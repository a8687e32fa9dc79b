"""Scoring rules of eval/metrics.py and the split rule of eval/splits.py on hand-made records (no model)."""
from __future__ import annotations

import pytest

from eval.metrics import (
    MAX_ANSWER_CHARS,
    ItemRecord,
    Location,
    abstention_scores,
    answer_correct,
    baseline_view,
    breakdown,
    citation_correct,
    gold_locations,
    group_metrics,
    hit_rank,
    item_detail,
    mrr_at,
    percentile,
    recall_at,
    record_correct,
    summarize,
)
from eval.splits import split_of

F = "2025_보고서.pdf"


def rec(**kw) -> ItemRecord:
    base = {"id": "x", "question": "q", "skill": "lookup", "source": "table", "file": F, "page": 3,
            "answerable": True, "must_include": ["3,000"], "accept_any": [], "gold_answer": "3,000억원",
            "answer": "", "abstained": False}
    base.update(kw)
    return ItemRecord(**base)


# ------------------------------------------------------------------ correctness
def test_all_must_include_needed():
    assert answer_correct("예산은 3,000억원, 인원 12명", False, True, ["3,000", "12명"], [])
    assert not answer_correct("예산은 3,000억원입니다", False, True, ["3,000", "12명"], [])


def test_accept_any_alone_is_enough():
    assert answer_correct("약 3천억 원입니다", False, True, ["3,000"], ["3천억"])
    assert not answer_correct("모릅니다", False, True, ["3,000"], ["3천억", "삼천억"])


def test_whitespace_insensitive_both_ways():
    assert answer_correct("3, 000 억원", False, True, ["3,000억원"], [])
    assert answer_correct("3,000억원", False, True, ["3,000 억원"], [])
    assert answer_correct("서울\n디지털재단", False, True, ["서울디지털 재단"], [])


def test_commas_are_not_ignored():
    # Kept simple on purpose: "3000" does not match a gold "3,000".
    assert not answer_correct("3000억원", False, True, ["3,000"], [])


def test_answer_over_400_chars_is_wrong():
    long = "3,000억원 " + "가" * MAX_ANSWER_CHARS
    assert not answer_correct(long, False, True, ["3,000"], [])
    exact = "3,000" + "가" * (MAX_ANSWER_CHARS - 5)
    assert len(exact) == MAX_ANSWER_CHARS
    assert answer_correct(exact, False, True, ["3,000"], [])


def test_abstained_is_wrong_when_answerable_right_when_not():
    assert not answer_correct("3,000 — 문서에서 찾을 수 없습니다", True, True, ["3,000"], [])
    assert answer_correct("문서에서 찾을 수 없습니다", True, False, [], [])
    assert not answer_correct("3,000억원입니다", False, False, [], [])


def test_empty_strings_never_match():
    assert not answer_correct("아무 답", False, True, [], [""])


def test_unscorable_record_is_none():
    assert record_correct(rec(must_include=[], accept_any=[], answer="무엇이든")) is None
    assert record_correct(rec(answer="3,000억원")) is True
    assert record_correct(rec(answerable=False, skill="unanswerable", must_include=[], abstained=True)) is True


# ------------------------------------------------------------------ locations
def test_location_rules_page_and_file_only():
    hits = [Location("other.pdf", 3), Location(F, 4), Location(F, 3)]
    assert hit_rank(hits, [Location(F, 3)]) == 3
    assert hit_rank(hits, [Location(F, None)]) == 2  # page-less gold: the file decides
    assert hit_rank(hits, [Location(F, 9)]) is None
    assert hit_rank(hits, [Location("", None)]) is None


def test_citation_only_top_three_count():
    cites = [Location("a.pdf", 1), Location("b.pdf", 1), Location("c.pdf", 1), Location(F, 3)]
    assert not citation_correct(cites, [Location(F, 3)])
    assert citation_correct(cites[1:], [Location(F, 3)])


def test_second_gold_location_counts_for_citation_and_retrieval():
    F2 = "2024_보고서.pdf"
    r = rec(skill="compare", klass="compare_plans", file2=F2, page2=7,
            citations=[Location("x.pdf", 1), Location(F2, 7)], hits=[Location(F, 9), Location(F2, 7)])
    assert gold_locations(r) == [Location(F, 3), Location(F2, 7)]
    assert citation_correct(r.citations, gold_locations(r))
    assert hit_rank(r.hits, gold_locations(r)) == 2
    m = group_metrics([r])
    assert (m.citation_accuracy, m.recall_at_1, m.recall_at_5) == (1.0, 0.0, 1.0)
    # Without the second location the same output misses.
    assert group_metrics([rec(citations=r.citations, hits=r.hits)]).citation_accuracy == 0.0
    detail = item_detail(r)
    assert detail["citation_ok"] is True and detail["retrieval_rank"] == 2


def test_recall_and_mrr():
    ranks = [1, 2, None, 6, 11]
    assert recall_at(ranks, 1) == pytest.approx(1 / 5)
    assert recall_at(ranks, 5) == pytest.approx(2 / 5)
    assert mrr_at(ranks, 10) == pytest.approx((1 + 1 / 2 + 1 / 6) / 5)
    assert recall_at([], 5) is None and mrr_at([]) is None


def test_abstention_precision_recall():
    predicted = [True, True, False, True, False]
    gold_unans = [True, False, True, True, False]
    p, r = abstention_scores(predicted, gold_unans)
    assert p == pytest.approx(2 / 3)
    assert r == pytest.approx(2 / 3)
    assert abstention_scores([False], [False]) == (None, None)


def test_percentile_matches_numpy_linear():
    assert percentile([10, 20, 30, 40], 50) == pytest.approx(25)
    assert percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 95) == pytest.approx(9.55)
    assert percentile([], 50) is None


# ------------------------------------------------------------------ aggregates
def test_group_metrics_and_breakdown():
    records = [
        rec(id="a", answer="3,000억원", citations=[Location(F, 3)], hits=[Location(F, 3)], latency_ms=100),
        rec(id="b", answer="2,000억원", citations=[Location(F, 5)], hits=[Location(F, 5), Location(F, 3)],
            latency_ms=300, skill="table_cell"),
        rec(id="c", skill="unanswerable", answerable=False, must_include=[], file="", page=None,
            answer="문서에서 찾을 수 없습니다", abstained=True, latency_ms=200),
        rec(id="d", must_include=[], accept_any=[], answer="무엇", hits=[], latency_ms=400),  # not scorable
    ]
    m = group_metrics(records)
    assert (m.n, m.n_scored, m.n_correct) == (4, 3, 2)
    assert m.accuracy == pytest.approx(2 / 3)
    assert m.citation_accuracy == pytest.approx(1 / 3)  # a, b, d have gold files; only a cites page 3
    assert m.recall_at_1 == pytest.approx(1 / 3)
    assert m.recall_at_5 == pytest.approx(2 / 3)
    assert m.mrr_at_10 == pytest.approx((1 + 0.5 + 0) / 3)
    assert (m.abstain_precision, m.abstain_recall) == (1.0, 1.0)
    assert m.latency_p50_ms == pytest.approx(250)

    by_skill = breakdown(records, lambda r: r.skill)
    assert list(by_skill) == ["lookup", "table_cell", "unanswerable"]
    assert by_skill["table_cell"].accuracy == 0.0
    assert by_skill["unanswerable"].accuracy == 1.0
    assert "(없음)" in breakdown(records, lambda r: r.file)


def test_errors_excluded_from_latency():
    records = [rec(answer="3,000", latency_ms=100), rec(answer="오류", latency_ms=99999, error="Boom")]
    m = group_metrics(records)
    assert m.n_errors == 1
    assert m.latency_p95_ms == pytest.approx(100)


# ------------------------------------------------------------------ baseline, engine-only figures, classes
def test_baseline_scored_by_the_same_rules():
    top = "세입 총괄 서울시 출연금 13,797,110 8,193,261 5,603,849"
    right = rec(must_include=["13,797,110"], baseline_answer=top, baseline_citations=[Location(F, 3)])
    assert record_correct(baseline_view(right)) is True
    too_long = rec(must_include=["13,797,110"], baseline_answer=top + "가" * MAX_ANSWER_CHARS,
                   baseline_citations=[Location(F, 3)])
    assert record_correct(baseline_view(too_long)) is False
    nothing_found = rec(baseline_answer="문서에서 찾을 수 없습니다", baseline_abstained=True)
    assert record_correct(baseline_view(nothing_found)) is False
    unanswerable = rec(answerable=False, skill="unanswerable", must_include=[], baseline_answer=top)
    assert record_correct(baseline_view(unanswerable)) is False  # the baseline never abstains when it has a hit


def test_summary_puts_engine_and_baseline_side_by_side():
    records = [
        # engine right, baseline wrong (its passage lacks the figure)
        rec(id="a", klass="single_cell", split="train", answer="3,000억원", baseline_answer="다른 표"),
        # engine abstained wrongly, baseline right
        rec(id="b", klass="single_cell", split="dev", answer="문서에서 찾을 수 없습니다", abstained=True,
            baseline_answer="예산 3,000억원"),
        rec(id="c", klass="compare_plans", split="dev", answer="3,000", baseline_answer="3,000"),
        rec(id="d", skill="unanswerable", klass="unanswerable", split="test", answerable=False, must_include=[],
            answer="문서에서 찾을 수 없습니다", abstained=True, baseline_answer="관련 없는 단락"),
    ]
    s = summarize(records, ["g.jsonl"], "all", 1.0)
    assert (s.engine.overall.n_correct, s.baseline.overall.n_correct) == (3, 2)
    by_class, base_by_class = s.engine.groups["class"], s.baseline.groups["class"]
    assert list(by_class) == ["compare_plans", "single_cell", "unanswerable"]
    assert [m.n for m in by_class.values()] == [1, 2, 1]
    assert (by_class["single_cell"].n_correct, base_by_class["single_cell"].n_correct) == (1, 1)
    assert (by_class["unanswerable"].accuracy, base_by_class["unanswerable"].accuracy) == (1.0, 0.0)
    assert {k: m.n for k, m in s.engine.groups["split"].items()} == {"dev": 2, "test": 1, "train": 1}
    d = s.to_dict()
    assert d["engine"]["by_class"]["single_cell"]["n"] == 2 and d["baseline"]["by_skill"]["lookup"]["n_correct"] == 2
    assert d["n_items"] == 4 and d["split"] == "all"


def test_missing_class_is_one_group():
    assert list(breakdown([rec(), rec(klass="reason")], lambda r: r.klass)) == ["(없음)", "reason"]


def test_false_abstention_and_short_number_answers():
    records = [
        rec(answer_type="number", answer="3,000억원"),
        rec(answer_type="number", answer="3,000억원 " + "가" * 250),
        rec(answer_type="number", answer="문서에서 찾을 수 없습니다", abstained=True),  # not an answer
        rec(answer_type="text", answer="긴 설명 " * 60),  # not a number item
        rec(answerable=False, skill="unanswerable", must_include=[], answer="없음", abstained=True),
    ]
    m = group_metrics(records)
    assert (m.n_number_answers, m.n_short_number_answers, m.short_number_share) == (2, 1, 0.5)
    assert (m.n_answerable, m.n_false_abstained) == (4, 1)
    assert m.false_abstain_rate == pytest.approx(1 / 4)
    assert m.abstain_recall == 1.0  # abstention rate on unanswerable items


# ------------------------------------------------------------------ splits
def test_split_rule_is_fixed_and_about_60_20_20():
    assert split_of("g900-002") == "train" and split_of("g900-001") == "dev" and split_of("g900-004") == "test"
    ids = [f"g{i:03d}-{j:03d}" for i in range(10) for j in range(100)]
    splits = [split_of(i) for i in ids]
    assert splits == [split_of(i) for i in ids]
    counts = {s: splits.count(s) for s in ("train", "dev", "test")}
    assert sum(counts.values()) == 1000
    assert 550 <= counts["train"] <= 650
    assert 150 <= counts["dev"] <= 250 and 150 <= counts["test"] <= 250


# ------------------------------------------------------------------ Dacon scoring strings (eval/dacon.py)
def test_dacon_figures_drop_question_numbers_and_keep_short_units():
    from eval.dacon import figures

    assert figures("657680백만원", "2024년 확정 예산은?") == ["657680"]
    assert figures("만 15~34세의 청년을 6개월 이상 고용", "조건은?") == ["15", "34세"]
    assert figures("최대 2%까지 지원됩니다.", "차이는 최대 얼마?") == ["2%"]
    assert figures("2017년 11월에 발표된 로드맵: 2018~2022년 공급", "'17년 11월 발표 로드맵은?") == ["2018", "2022"]
    assert figures("제2벤처붐 확산 전략", "어떤 전략?") == []


def test_dacon_variants():
    from eval.dacon import comma_variant, date_variants

    assert comma_variant("657680") == "657,680" and comma_variant("1,540,016") == "1540016"
    assert comma_variant("2007") is None  # a year, not an amount
    assert "‘21.10" in date_variants("2021년 10월에 전면 폐지", ["2021", "10월"])
    assert "’12.02" in date_variants("2012년 2월입니다.", ["2012"])
    # A date alone must not satisfy an answer that also needs another figure.
    assert date_variants("2022년 현재 29개 기금", ["2022", "29개"]) == []
