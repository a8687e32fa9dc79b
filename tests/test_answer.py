"""The answer engine end to end on the real corpus: one question per class, asserting the evidence
fields (value, row, column, page) the answer stands on, not the rendered sentence."""
from __future__ import annotations

import json

import pytest

from app.cli import main as cli_main
from app.korean_numbers import (
    expand_dates,
    format_eok,
    format_korean_amount,
    format_number,
    parse_korean_amount,
    to_won,
)
from app.models import ABSTAIN_TEXT

FILE_000 = "2025_서울시재단_주요업무보고.pdf"
FILE_001 = "2024_서울디지털재단_주요업무보고.pdf"
FILE_002 = "2025_디지털도시국_주요업무보고.pdf"
FILE_004 = "2024_디지털정책관_예산안검토보고.pdf"
FIGURE_CHARS = 200


def _ask(engine, question: str):
    answer = engine.ask(question)
    assert len(answer.answer) <= 400
    return answer


def test_single_cell_with_unit_and_citation(engine):
    a = _ask(engine, "서울디지털재단 2024년 서울시출연금 예산현액은?")
    assert not a.abstained and len(a.answer) <= FIGURE_CHARS
    ev = a.evidence[0]
    assert (ev.value, ev.unit, ev.row, ev.file) == ("8,193,261", "천원", "서울시출연금", FILE_001)
    assert "예산현액" in ev.column
    assert (a.citations[0].file, a.citations[0].page) == (ev.file, ev.page)
    assert "81억 9,326만원" in a.answer  # the same sum as staff write it


def test_staffing_cell_by_grade(engine):
    a = _ask(engine, "서울디지털재단 2024년 5급 정원은 몇 명이야?")
    ev = a.evidence[0]
    assert (ev.value, ev.unit, {ev.row, ev.column}) == ("16", "명", {"정원", "5급"})
    assert a.citations[0].file == FILE_001 and a.citations[0].page == 2


def test_two_part_question_answers_both_columns(engine):
    a = _ask(engine, "서울디지털재단 2024년 5급 정원이랑 현원 각각 몇 명이야?")
    cells = {(ev.row, ev.column): ev.value for ev in a.evidence}
    assert cells.get(("정원", "5급")) == "16" and cells.get(("현원", "5급")) == "20"
    assert len(a.answer) <= FIGURE_CHARS * 2


def test_list_counts_items_under_a_heading(engine):
    a = _ask(engine, "서울시재단 정관상 목적사업이 몇 개야?")
    assert a.answer.startswith("9개:") and a.citations[0].page == 2


def test_comparison_shows_both_figures_and_the_change(engine):
    a = _ask(engine, "서울시재단 2025년 서울시 출연금은 2024년 최종예산보다 얼마나 늘었어?")
    assert "5,603,849" in a.answer
    assert "13,797,110" in a.answer and "8,193,261" in a.answer
    assert a.citations[0].file == FILE_000 and a.citations[0].page == 3


def test_prose_budget_line(engine):
    a = _ask(engine, "서울시재단 AI 행정 연구개발 사업예산은 얼마야?")
    assert "254,600천원" in a.answer
    assert a.citations[0].file == FILE_000 and a.evidence[0].page == a.citations[0].page


def test_a_sub_bullet_answers_under_the_program_it_sits_under(engine):
    # p.6: "- 소요예산 : 153백만원" names its program only through the "o … 용량제 시범 운영" item above it;
    # the 용량제 column of the table beside it (55백만원) answered before
    a = _ask(engine, "디지털도시국 생성형 AI 이용료 용량제 시범운영 소요예산 얼마야?")
    assert "153백만원" in a.answer and len(a.answer) <= FIGURE_CHARS
    assert (a.evidence[0].file, a.evidence[0].page) == (FILE_002, 6)


def test_unanswerable_questions_abstain(engine):
    for question in ("화성 탐사선 발사 예산은 얼마야?", "서울교통공사 2024년 주요 업무보고에서 정원이 몇 명이야?"):
        a = _ask(engine, question)
        assert a.abstained and a.answer == ABSTAIN_TEXT and a.citations == [] and a.evidence == [], question


def test_a_program_the_report_never_mentions_abstains(engine):
    a = _ask(engine, "서울시재단 드론 사업 예산은?")
    assert a.abstained and a.citations == []
    # nothing backs an abstention, but the nearest pages of the named report are where a person looks next
    assert a.related and all(c.file == FILE_000 and c.page for c in a.related)
    assert len({(c.file, c.page) for c in a.related}) == len(a.related)


def test_an_organization_the_reports_never_mention_points_nowhere(engine):
    a = _ask(engine, "서울교통공사 2024년 주요 업무보고에서 정원이 몇 명이야?")
    assert a.abstained and a.related == []


def test_empty_question_abstains_at_once(engine):
    a = engine.ask("   ")
    assert a.abstained and a.answer == ABSTAIN_TEXT


def test_cli_ask_json_contract(engine, settings, capsys):
    code = cli_main(["ask", "--json", "--index-dir", str(settings.index_dir), "서울디지털재단 2024년 서울시출연금 예산현액은?"])
    assert code == 0
    data = json.loads(capsys.readouterr().out)
    assert set(data) == {"question", "answer", "abstained", "citations", "evidence", "related", "latency_ms"}
    assert isinstance(data["latency_ms"], float) and data["abstained"] is False
    assert set(data["citations"][0]) == {"file", "title", "page", "section", "quote", "boxes"}
    assert set(data["evidence"][0]) == {"value", "unit", "row", "column", "file", "page"}
    assert "8,193,261" in data["answer"]


@pytest.mark.parametrize(
    ("text", "won"),
    [("172억 1천4백만원", 17_214_000_000), ("29억 7천7백만원", 2_977_000_000), ("3,618백만원", 3_618_000_000),
     ("137억 9,711만원", 13_797_110_000), ("57백만원", 57_000_000)],
)
def test_korean_amounts_parse(text, won):
    assert parse_korean_amount(text) == won


def test_units_and_signs_convert():
    assert to_won(13_797_110, "천원, %") == 13_797_110_000
    assert format_eok(13_797_110_000) == "137억 9,711만원"
    assert format_eok(to_won(17_214, "백만원")) == "172억 1,400만원"
    assert format_korean_amount(to_won(2_007_800, "백만원")) == "2조 78억원"
    assert format_number(-6222, "△6,222") == "△6,222"
    assert format_number(21.04, "21.0%") == "21.0"
    assert expand_dates("'25. 11. 4. 개최") == "2025년 11월 4일 개최"
