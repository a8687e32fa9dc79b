"""Extractive answers on the real corpus: table cells of several shapes, prose, comparison, abstention."""
from __future__ import annotations

import json

import pytest

from app.cli import main as cli_main
from app.korean_numbers import expand_dates, format_eok, format_number, parse_korean_amount, to_won
from app.models import ABSTAIN_TEXT

FILE_000 = "2025_서울시재단_주요업무보고.pdf"


def _ask(engine, question: str):
    answer = engine.ask(question)
    assert len(answer.answer) <= 400
    return answer


def test_budget_cell_of_000_with_citation(engine):
    a = _ask(engine, "서울시재단 2025년 서울시 출연금 예산현액은?")
    assert not a.abstained
    assert a.answer.startswith("13,797,110천원 (서울시 출연금, 2025 예산현액)")
    assert "137억 9,711만원" in a.answer  # the same sum as staff write it
    top = a.citations[0]
    assert (top.file, top.page) == (FILE_000, 3)
    assert "서울시 출연금" in top.quote and top.title == "2025년 주요 업무보고"


def test_staffing_by_grade_of_001(engine):
    a = _ask(engine, "서울디지털재단 2024년 5급 정원은 몇 명이야?")
    assert a.answer.startswith("16명 (정원, 5급)")
    assert a.citations[0].file == "2024_서울디지털재단_주요업무보고.pdf" and a.citations[0].page == 2


def test_space_separated_table_of_004(engine):
    a = _ask(engine, "2024년도 디지털정책관 세출예산안 총계는?")
    assert a.answer.startswith("153,799백만원 (총계, 2024 예산안)")
    assert "1,537억 9,900만원" in a.answer
    assert a.citations[0].file == "2024_디지털정책관_예산안검토보고.pdf"


def test_prose_budget_line(engine):
    a = _ask(engine, "서울시재단 AI 행정 연구개발 사업예산은 얼마야?")
    assert "254,600천원" in a.answer
    assert a.citations[0].file == FILE_000 and "AI 행정 연구개발" in a.citations[0].section


def test_heading_with_figure_answers_headcount(engine):
    a = _ask(engine, "2025년 서울시재단 인력은 몇 명이야?")
    assert "57명" in a.answer and a.citations[0].page == 2


def test_comparison_uses_the_printed_change(engine):
    a = _ask(engine, "서울시재단 2025년 서울시 출연금은 2024년 최종예산보다 얼마나 늘었어?")
    assert a.answer.startswith("5,603,849천원")
    assert "13,797,110" in a.answer and "8,193,261" in a.answer  # both figures shown with the change


def test_unanswerable_questions_abstain(engine):
    for question in ("서울시재단 드론 사업 예산은?", "서울교통공사 2024년 주요 업무보고에서 정원이 몇 명이야?",
                     "서울시재단 2023년 최종예산 세입 합계가 얼마였어?"):
        a = _ask(engine, question)
        assert a.abstained and a.answer == ABSTAIN_TEXT and a.citations == [], question


def test_question_naming_an_organization_is_answered_from_its_report(engine):
    a = _ask(engine, "서울디지털재단 2024년 서울시출연금 예산현액은?")
    assert a.answer.startswith("8,193,261천원")
    assert a.citations[0].file == "2024_서울디지털재단_주요업무보고.pdf"


def test_cli_ask_json_contract(engine, settings, capsys):
    code = cli_main(["ask", "--json", "--index-dir", str(settings.index_dir), "서울시재단 2025년 서울시 출연금 예산현액은?"])
    assert code == 0
    data = json.loads(capsys.readouterr().out)
    assert set(data) == {"question", "answer", "abstained", "citations", "latency_ms"}
    assert isinstance(data["latency_ms"], float) and data["abstained"] is False
    assert set(data["citations"][0]) == {"file", "title", "page", "section", "quote"}
    assert data["citations"][0]["page"] == 3 and "13,797,110" in data["answer"]


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
    assert format_number(-6222, "△6,222") == "△6,222"
    assert format_number(21.04, "21.0%") == "21.0"
    assert expand_dates("'25. 11. 4. 개최") == "2025년 11월 4일 개최"


def test_change_between_two_figures_in_prose_is_computed(engine):
    a = _ask(engine, "장애인 정보화 교육인원이 2022년에서 2023년(9월말)으로 몇 명 줄었어?")
    assert a.answer.startswith("2,002명 차이 (6,115명 → 4,113명)")
    assert a.citations[0].file == "2024_디지털정책관_예산안검토보고.pdf"


def test_list_question_counts_items_across_chunks(engine):
    a = _ask(engine, "서울시재단 정관상 목적사업이 몇 개야?")
    assert a.answer.startswith("9개:")
    assert a.citations[0].section.endswith("목적사업")
