"""The answer engine's parts on hand-built chunks (no model, no index): intent, generators, render,
composition, scorer file and report scoping. Assertions are on fields, not on rendered sentences."""
from __future__ import annotations

from dataclasses import dataclass, replace

import pytest

from app.answer import citations, evidence
from app.answer.candidates import (
    Candidate,
    category_rows,
    cells,
    differences,
    extremes,
    filtered,
    generate,
    inline_lists,
    is_total,
    lists,
    outline_parents,
    row_extremes,
    row_summary,
    span_differences,
    spans,
    sums_rows,
)
from app.answer.compose import compose
from app.answer.features import FEATURES, coverage, features, question_facts
from app.answer.intent import Intent, parse_intent
from app.answer.render import FIGURE_CHARS, TEXT_CHARS, headline, render, with_row
from app.answer.scorer import CONFIDENCE_FEATURES, Scorer
from index.fusion import Hit
from index.lexical import KoreanTokenizer
from index.scope import (
    content_years,
    infer_files,
    names_unknown_organization,
    this_year,
)
from ingest.models import Chunk, TableChunk, TableRow, TextChunk


@pytest.fixture(scope="module")
def tokenizer():
    return KoreanTokenizer()


def intent_of(tokenizer, question: str, years=()) -> Intent:
    return parse_intent(question, tokenizer.morphemes, lambda t: 1.0, years)


def table_chunk(columns, rows, unit="", caption="", section="", file="a.pdf", page=3, organization="기관") -> TableChunk:
    return TableChunk(id=f"t{page}", text="", file=file, title="2025년 업무보고", organization=organization, date="2025",
                 page=page, section=section, table_id=f"T{page}", unit=unit, caption=caption, columns=columns,
                 rows=[TableRow(header=h, values=v) for h, v in rows])


def text_chunk(text, section="", file="a.pdf", page=5) -> TextChunk:
    return TextChunk(id=f"x{page}", text=text, file=file, title="2025년 업무보고", organization="기관", date="2025",
                 page=page, section=section)


def hit(chunk: Chunk, score: float = 1.0) -> Hit:
    return Hit(chunk=chunk, row=0, score=score, lexical_rank=0, dense_rank=0, dense_score=0.8)


STAFF = table_chunk(["구분", "정원", "현원", "과부족"], [("계", ["57", "55", "△2"]), ("5급", ["16", "15", "△1"]),
                                                        ("6급", ["20", "21", "1"])], caption="인력 현황")
BUDGET = table_chunk(["구분", "2025 예산현액", "2024 최종예산", "증감액", "증감률"],
                     [("서울시 출연금", ["13,797,110", "8,193,261", "5,603,849", "68.4%"]),
                      ("인건비", ["2,824,210", "2,487,631", "336,579", "13.5%"])], unit="천원", caption="세입 총괄")


# ------------------------------------------------------------------ intent

@pytest.mark.parametrize(("question", "answer_type", "operation"), [
    ("정원이랑 현원 각각 몇 명이야?", "count", "lookup"),
    ("집행률이 가장 낮은 사업은?", "rate", "superlative"),
    # why a figure changed asks for the sentence that says so, not for a computed difference ("4% 차이 (7% → 11%)")
    ("왜 감액됐어?", "reason", "lookup"),
    ("임대주택지원이랑 소상공인 융자가 크게 줄어든 이유가 뭐래?", "reason", "lookup"),
    ("기록물 관리 분야 예산은 왜 늘었어?", "reason", "lookup"),
    ("정보통신 인프라 분야 예산 줄어든 주된 이유 뭐야?", "reason", "lookup"),  # was a row filter, answered as a list
    ("예산이 작년보다 줄어든 부서 어디어디야?", "list", "filter"),
    ("인재개발원은 과가 몇 개고 어떤 과들이 있어?", "list", "list"),  # was a count: the names were never given
    ("공모사업 어떤 거 있어?", "list", "list"),
    ("메타버스 서울 추진 예산 얼마나 깎였어?", "amount", "compare"),  # 깎이다 is a decrease
    ("AI행정서비스 예산 깎인 거에 대해 검토보고서는 뭐라고 했어?", "reason", "lookup"),  # what was said
    ("행감에서 스마트시티센터 위치 관련해서 뭐라고 했어?", "reason", "lookup"),
    ("담당자가 누구야?", "person", "lookup"),
    ("목적사업 뭐뭐 있어?", "list", "list"),
    ("행사 언제 해?", "date", "lookup"),
    ("사업비는 얼마야?", "amount", "lookup"),
    ("산림재해 사업비 중에 제일 큰 항목은 뭐야?", "amount", "superlative"),  # one row, was answered with a list
    ("집행절차 단계별로 알려줘.", "list", "list"),  # a procedure's steps, was a text lookup
    # any counter after 몇 asks a count; these were "text" (answers ran past 200 characters) or "place"
    ("어디나학습장 지금 몇 군데 운영 중이야?", "count", "lookup"),
    ("출입 언론기관 전체 몇 개사야?", "count", "lookup"),
    ("가로등 몇 본이야?", "count", "lookup"),
    ("누적 이용자 수?", "count", "lookup"),
    ("어디나학습장 예산 얼마야?", "amount", "lookup"),  # 어디나 names a program, it does not ask where
    ("몇 년도에 시작했어?", "date", "lookup"),
    ("추진할 수 있어?", "text", "lookup"),
    # a cap the report states, not the largest row: "최대 지급액" was answered with the largest program budget
    ("생계급여 1인가구 최대 지급액 얼마야?", "amount", "lookup"),
    ("이차보전은 최대 몇 %p까지 지원해?", "rate", "lookup"),
    ("세출예산 최대인 부서는?", "amount", "superlative"),
    # which of the two named sides is higher, not the rows that increased ("어디" + 증가 read as a filter)
    ("생계급여랑 노인일자리 중에 2024년 예산 증가율 어디가 더 높아?", "rate", "compare"),
    ("작년보다 더 늘어난 부서 어디야?", "list", "filter"),
    # the marked members of a set, however many: was a text lookup answered with the issues' heading
    ("현안 중에 신규사업으로 분류된 건 뭐야?", "list", "list"),
    ("총사업비 중에 국비로 지원된 건 얼마야?", "amount", "lookup"),
    # a role in a unit's name ("청렴담당관") names whose budget is asked; 얼마 asks an amount, not a person
    ("감사위원회 올해 예산 총액이랑 그중 청렴담당관 몫은 얼마야?", "amount", "lookup"),
    ("기획관 빅데이터통계담당관 2025년 세출 예산 얼마야?", "amount", "lookup"),
    ("서울디지털재단 기획인사팀장 이름이랑 내선번호 알려주세요.", "person", "lookup"),
    ("국토부 민간임대 융자 담당 과장 누구고 전화번호 뭐야?", "person", "lookup"),
])
def test_intent_type_and_operation(tokenizer, question, answer_type, operation):
    intent = intent_of(tokenizer, question)
    assert (intent.answer_type, intent.operation) == (answer_type, operation)


def test_substrings_are_not_cues(tokenizer):
    """목적/실적/면적 hold 적, 프로그램 holds 프로: none of them is a comparison or a rate."""
    intent = intent_of(tokenizer, "프로그램 목적과 실적, 면적 알려줘")
    assert intent.operation == "lookup" and intent.answer_type != "rate"


def test_a_units_name_ending_in_gwa_is_no_conjunction(tokenizer):
    """kiwi reads "데이터전략과" as 데이터 전략 + 과 ("and"): the question split into parts "데이터 전략" and "예산현액"."""
    question = "디지털도시국 데이터전략과 2025년 예산현액은?"
    printed = {"데이터전략과", "예산현액"}.__contains__
    intent = parse_intent(question, tokenizer.morphemes, lambda t: 1.0, printed=printed)
    assert len(intent.parts) == 1
    assert "전략과" in intent.terms and "데이터" in intent.terms  # the OCR'd row "데이터 . 전략과" still matches
    # "정원과 현원" joins two words: 정원과 is no unit's name, however the reports print it
    both = parse_intent("정원과 현원 각각 몇 명이야?", tokenizer.morphemes, lambda t: 1.0, printed=lambda t: True)
    assert len(both.parts) == 2


def test_the_program_a_question_names(tokenizer):
    assert intent_of(tokenizer, "서울시재단 드론 사업 예산은?").program == "드론"
    assert intent_of(tokenizer, "서울시재단 사업비는 얼마야?").program == ""


def test_parts_of_a_two_part_question(tokenizer):
    intent = intent_of(tokenizer, "리모델링비 중 국비랑 시비는 각각 얼마야?")
    assert intent.multi_part
    assert any("국비" in p for p in intent.parts) and any("시비" in p for p in intent.parts)
    assert "국비" in intent.terms  # kiwi splits 국비랑 into 국+비; the word is joined back


def test_hyeonwon_after_a_verb_is_one_part(tokenizer):
    """ "정원하고 현원": kiwi reads 정원+하+고 and 현(NNP)+원(NR); 현원 is still the second part."""
    intent = intent_of(tokenizer, "부산도서관 정원하고 현원 각각 몇 명이야?")
    assert intent.parts[-1] == ("현원",) and intent.multi_part


def test_each_part_asks_its_own_type(tokenizer):
    """ "어디서 하고 예산은 얼마야": a place, then an amount (both parts were weighed as a place)."""
    assert intent_of(tokenizer, "철도기술산업전 어디서 하고 예산은 얼마야?").part_types == ("place", "amount")
    assert intent_of(tokenizer, "가든쇼 예산이 얼마고 어디서 열려?").part_types == ("amount", "place")
    assert intent_of(tokenizer, "사업규모 얼마고 창업기업 몇 개사 지원해?").part_types == ("amount", "count")


def test_a_part_without_a_question_word_asks_what_the_next_one_does(tokenizer):
    intent = intent_of(tokenizer, "사업비랑 재원은 얼마야?")
    assert intent.part_types == ("amount", "amount")
    assert intent_of(tokenizer, "문화패스 몇 명 대상이고 최대 얼마까지 지원돼?").part_types == ("count", "amount")


def test_superlative_direction(tokenizer):
    assert intent_of(tokenizer, "예산이 가장 적은 사업은?").direction == "min"
    assert intent_of(tokenizer, "정원이 제일 많은 직급은?").direction == "max"


def test_jeil_before_a_verb_is_a_superlative(tokenizer):
    """kiwi splits "제일" before an adjective into 제+일; it still asks for the smallest."""
    intent = intent_of(tokenizer, "세부사업 중 예산 제일 작은 건 뭐야?")
    assert (intent.operation, intent.direction) == ("superlative", "min")


def test_largest_cut_is_the_smallest_signed_value(tokenizer):
    """ "감액률 제일 큰": rates print cuts as △, so the most negative one is meant."""
    assert intent_of(tokenizer, "감액률 제일 큰 부서 어디야?").direction == "min"
    assert intent_of(tokenizer, "가장 많이 늘어난 사업은?").direction == "max"


def test_excluded_items_leave_the_terms(tokenizer):
    intent = intent_of(tokenizer, "예산 제일 큰 게 뭐야? 인건비·경비 말고")
    assert intent.excluded == (("인건비",), ("경비",))
    assert "인건비" not in intent.terms and "예산" in intent.terms


def test_which_rows_decreased_is_a_filter(tokenizer):
    intent = intent_of(tokenizer, "부서 중에 올해 예산이 작년보다 줄어든 곳은 어디야?")
    assert (intent.operation, intent.direction, intent.answer_type) == ("filter", "down", "list")
    assert intent_of(tokenizer, "작년보다 얼마나 줄었어?").operation == "compare"  # a figure is asked
    assert intent_of(tokenizer, "2023년보다 줄어든 항목 뭐뭐야?").operation == "filter"


# ------------------------------------------------------------------ generators


ISSUES = table_chunk(["구분", "연번", "현안", "분류"], [
    ("현안", ["1", "「국립자연유산원 건립」부산 유치", "/ 핵심현안"]),
    ("현안", ["2", "맥도생태공원 습지복원 사업", "/ 신규사업"]),
    ("현안", ["3", "「낙동선셋 화명에코파크」 조성", "/ 핵심현안"]),
    ("현안", ["4", "을숙도 유아숲체험원 프로그램 운영", "/ 신규사업"]),
], page=23)


def test_a_tag_column_picks_the_rows_it_marks_with_a_question_word(tokenizer):
    intent = intent_of(tokenizer, "현안 중에 신규사업으로 분류된 건 뭐야?")
    found = category_rows(hit(ISSUES), 0, ISSUES.rows, intent.terms)
    # 현안 is half of the other tag, 핵심현안: a shared word, not the tag named
    assert [c.value for c in found] == ["/ 신규사업"]
    assert (found[0].kind, found[0].column, found[0].page) == ("tagged", "분류", 23)
    assert found[0].items == ("맥도생태공원 습지복원 사업", "을숙도 유아숲체험원 프로그램 운영")


SELECTED = table_chunk(["구분", "연번", "공모명", "선정현황"], [
    ("2024년 신청 추진 공모사업", ["1", "시민체감형 스마트 첨단교차로 조성", "선정"]),
    ("2024년 신청 추진 공모사업", ["2", "드론 스마트폴 구축으로 범죄안전 플랫폼 조성", "미선정"]),
    ("2024년 신청 추진 공모사업", ["3", "사회적약자 대상 위치기반 스마트 실종예방 서비스", "미선정"]),
    ("2024년 신청 추진 공모사업", ["4", "신선마을, 우리동네 살리기", "선정"]),
], page=22)


def test_a_tag_inside_another_tag_is_picked_only_when_the_question_does_not_print_the_longer_one(tokenizer):
    """자치경찰위원회 p.22: "미선정" holds "선정", so both tags were offered for "미선정 건 뭐야" and tied."""
    failed = intent_of(tokenizer, "2024년에 신청한 공모사업 중 떨어진(미선정) 건 뭐야?")
    found = category_rows(hit(SELECTED), 0, SELECTED.rows, failed.terms, failed.question)
    assert [(c.value, c.items) for c in found] == [("미선정", ("드론 스마트폴 구축으로 범죄안전 플랫폼 조성",
                                                              "사회적약자 대상 위치기반 스마트 실종예방 서비스"))]
    chosen = intent_of(tokenizer, "2024년 공모사업 중에 선정된 거 뭐야?")
    found = category_rows(hit(SELECTED), 0, SELECTED.rows, chosen.terms, chosen.question)
    assert [(c.value, len(c.items)) for c in found] == [("선정", 2)]


def test_a_column_of_names_is_no_tag_column():
    # every row names its own issue, so no cell of that column marks a group of rows
    assert category_rows(hit(ISSUES), 0, ISSUES.rows, ("유아숲체험원",)) == []
    assert category_rows(hit(ISSUES), 0, ISSUES.rows, ("사업",)) == []  # half of 신규사업 is no tag named

def test_cells_carry_value_row_column_unit():
    found = {(c.row, c.column): c for c in cells(hit(BUDGET), 0)}
    c = found[("서울시 출연금", "2025 예산현액")]
    assert (c.value, c.unit) == ("13,797,110", "천원")
    assert found[("인건비", "증감률")].unit == ""  # a rate column has no money unit


def test_a_serial_number_is_no_cell_answer():
    """2025 청년산학국 p.35: "대학일자리플러스센터 지원사업 총사업비가 얼마야?" was answered "4", the row's 연번."""
    table = table_chunk(["구분", "연번", "주관부처", "공모명", "총사업비"],
                        [("2023년 신청", ["3", "국무조정실", "지역특화 청년사업", "40"]),
                         ("2023년 신청", ["4", "고용노동부", "대학일자리플러스센터 지원사업", "5,120"])])
    assert {c.column for c in cells(hit(table), 0, figures_only=True)} == {"총사업비"}
    assert {c.column for c in extremes(hit(table), 0, table.rows, "max")} == {"총사업비"}


def test_staffing_cells_default_to_persons():
    c = next(c for c in cells(hit(STAFF), 0) if c.row == "5급" and c.column == "현원")
    assert (c.value, c.unit) == ("15", "명")


def test_extremes_skip_the_total_row():
    found = [c for c in extremes(hit(STAFF), 0, STAFF.rows) if c.column == "정원"]
    assert {(c.direction, c.row) for c in found} == {("max", "6급"), ("min", "5급")}


def test_a_total_printed_as_total_budget_is_no_program():
    """ "총 예산" closes the 2025 서울시재단 budget list on the page after its programs; it won "예산 제일 큰 사업"."""
    assert sums_rows(TableRow(header="총 예산", values=["14,905,210"]))
    assert sums_rows(TableRow(header="총 예산 계", values=["1"]))
    assert not sums_rows(TableRow(header="총무과", values=["1"]))
    assert not sums_rows(TableRow(header="총 연장", values=["278.8km", "27.5km"]))  # a measure of a sideways table
    table = table_chunk(["구분", "예산액"], [("스마트라이프워크", ["4,509,500"]), ("AI 행정 연구개발", ["300,000"]),
                                            ("총 예산", ["14,905,210"])])
    assert [c.row for c in extremes(hit(table), 0, table.rows, "max")] == ["스마트라이프워크"]


def test_extremes_follow_the_asked_direction_over_the_whole_table():
    """A table split over two chunks is ranked whole; "가장 많은" yields the largest row only."""
    more = [*STAFF.rows, TableRow(header="7급", values=["30", "28", "△2"])]
    found = [c for c in extremes(hit(STAFF), 0, more, "max") if c.column == "정원"]
    assert [(c.direction, c.row, c.value) for c in found] == [("max", "7급", "30")]


def test_a_total_row_with_its_account_in_parentheses_is_a_total():
    table = table_chunk(["구분", "세출"], [("합계 (일반회계)", ["33,257"]), ("기획담당관", ["14,472"]),
                                          ("조직담당관", ["573"])])
    assert [is_total(r) for r in table.rows] == [True, False, False]


def test_a_total_column_with_its_account_in_parentheses_is_a_total(tokenizer):
    """2025 기획관 p.5 prints its budget sideways, the total column headed "합계 (일반회계)": "도시혁신균형실이랑
    기획관 세출예산 각각 얼마야" took the 300백만원 of one unit beside it as 기획관's figure."""
    table = table_chunk(["구분", "합계 (일반회계)", "기획담당관", "부울경초광역 경제동맹추진단"],
                        [("세출", ["33,257", "14,472", "300"])], unit="백만원")
    facts = question_facts(intent_of(tokenizer, "기획관 세출예산 총액 얼마야?"), lambda t: True, 1.0)
    found = {c.column: features(c, facts) for c in cells(hit(table), 0)}
    assert found["합계 (일반회계)"]["total_match"] == 1
    assert found["기획담당관"]["total_match"] == found["부울경초광역 경제동맹추진단"]["total_match"] == 0


def test_how_much_a_budget_fell_is_an_amount_of_one_part(tokenizer):
    """ "예산안, 전년 대비 얼마나 줄었어": an amount (was "text"), and the year compared against is no part of its own."""
    intent = intent_of(tokenizer, "지능형 CCTV 고도화 2024 예산안, 전년 대비 얼마나 줄었어?")
    assert (intent.answer_type, intent.operation, intent.multi_part) == ("amount", "compare", False)
    two = intent_of(tokenizer, "사업 예산, 전년 대비 증감률이랑 부서 담당자는?")
    assert two.parts == (("사업", "예산"), ("전년", "증감률"), ("부서", "담당자"))  # a part that names a figure stays


def test_an_organization_chart_lists_its_units(tokenizer):
    """ "어떤 과들이 있어": the chart's boxes run together in the PDF text ("전문교육과역량교육과")."""
    chart = text_chunk("조 직 : 3과 7팀\n원 장\n교육 지 원과 전문교육과역량교육과\n(18명) (17명) (12명)\n"
                       "w 조직‧인사관리, 주요업무계획, 감사‧의회\n성과 관리와 결과 보고")
    intent = intent_of(tokenizer, "인재개발원은 과가 몇 개고 어떤 과들이 있어?")
    assert intent.units == ("과",) and "과들" not in intent.terms  # the plural suffix makes no word
    found = [c for c in generate(intent, [hit(chart)], {}, {}) if c.labels == "교육지원과 전문교육과 역량교육과"]
    assert len(found) == 1 and found[0].items == ("교육지원과", "전문교육과", "역량교육과")
    assert features(found[0], question_facts(intent, lambda t: True, 1.0))["unit_items"] == 1
    assert intent_of(tokenizer, "디지털도시국 밑에 부서가 몇 개고 어디어디야?").units[:2] == ("과", "팀")


def test_a_chart_is_read_when_units_are_asked_without_a_list_word(tokenizer):
    """ "조직 어떻게 돼? 과 이름 알려줘" names no list word, so the chart's units were never offered."""
    chart = text_chunk("Ⅰ. 기본현황 조직 ▻ 3과 1단 1사업소 16팀\n푸른도시국\n공원여가정책과 공원도시과푸른숲도시과\n"
                       "(4팀, 23명) (4팀 1단, 27명) (4팀, 24명)")
    intent = intent_of(tokenizer, "푸른도시국 조직 어떻게 돼? 과 이름 알려줘.")
    assert intent.operation == "lookup" and intent.units
    found = [c for c in generate(intent, [hit(chart)], {}, {}) if c.kind == "list"]
    assert len(found) == 1 and found[0].items[-3:] == ("공원여가정책과", "공원도시과", "푸른숲도시과")
    # "과가 몇 개야" counts the chart's units, as before the gate above was added (it had dropped them)
    units = intent_of(tokenizer, "푸른도시국 과가 몇 개야?")
    assert units.operation == "count" and [c for c in generate(units, [hit(chart)], {}, {}) if c.kind == "list"]
    # a head count asked of a unit is no chart question ("청렴담당관 현원 몇 명")
    count = intent_of(tokenizer, "공원도시과 현원 몇 명이야? 조직 기준")
    assert count.answer_type == "count" and not [c for c in generate(count, [hit(chart)], {}, {}) if c.kind == "list"]


def test_units_are_read_from_a_table_header_and_may_start_with_a_figure(tokenizer):
    """대변인실 draws each 담당관 as its own box, so only the staffing table's header names all three; and
    "15분도시기획과" broke the chart line of 도시혁신균형실, since a name could not start with a figure."""
    intent = intent_of(tokenizer, "대변인실 조직이 어떻게 돼? 담당관 몇 개야?")
    staffing = table_chunk(["구분", "계", "홍보담당관", "공보담당관", "뉴미디어담당관"],
                           [("정원", ["79", "21", "25", "33"]), ("현원", ["78", "21", "25", "32"])])
    found = [c.items for c in generate(intent, [hit(staffing)], {}, {}) if c.kind == "list"]
    assert ("홍보담당관", "공보담당관", "뉴미디어담당관") in found
    chart = text_chunk("조직 : 6과 23팀\n미래혁신기획과 15분도시기획과 철도시설과\n5개팀(31명) 3개팀(19명) 4개팀(17명)")
    units = intent_of(tokenizer, "도시혁신균형실 과가 몇 개야?")
    found = [c for c in generate(units, [hit(chart)], {}, {}) if c.kind == "list"]
    assert [c.items for c in found] == [("미래혁신기획과", "15분도시기획과", "철도시설과")]
    teams = intent_of(tokenizer, "도시혁신균형실 팀이 몇 개야?")  # "5개팀(31명) 3개팀(19명)" counts, names no team
    assert not [c for c in generate(teams, [hit(chart)], {}, {}) if c.kind == "list"]


def test_extremes_skip_subtotals_and_excluded_rows(tokenizer):
    table = table_chunk(["세부사업명", "예산액"], [("인건비", ["2,824,210"]), ("행정 운영 경비 소계", ["3,910,882"]),
                                                 ("스마트라이프워크", ["476,367"]), ("메타버스 서울", ["9,790"]),
                                                 ("예비비", ["884"])], unit="천원")
    intent = intent_of(tokenizer, "예산 제일 큰 게 뭐야? 인건비 말고")
    top = [c for c in generate(intent, [hit(table)], {}, {}) if c.kind == "extreme"]
    assert [(c.row, c.value) for c in top] == [("스마트라이프워크", "476,367")]
    low = intent_of(tokenizer, "예산 제일 작은 건 뭐야? (반환금·예비비 빼고)")
    assert [c.row for c in generate(low, [hit(table)], {}, {}) if c.kind == "extreme"] == ["메타버스 서울"]


def test_a_program_superlative_weighs_no_running_costs(tokenizer):
    """ "세부사업 중 원인행위 집행률 가장 낮은 사업" (2024 서울디지털재단 p.11) was answered with 예비비 at 0.0%."""
    table = table_chunk(["세부사업명", "집행률"], [("인건비", ["98.0%"]), ("예비비", ["0.0%"]),
                                                 ("교차실증", ["0.8%"]), ("스마트라이프워크", ["45.1%"])])
    programs = intent_of(tokenizer, "세부사업 중 집행률 가장 낮은 사업이 뭐야?")
    assert [c.row for c in generate(programs, [hit(table)], {}, {}) if c.kind == "extreme"] == ["교차실증"]
    rows = intent_of(tokenizer, "항목 중 집행률 가장 낮은 게 뭐야?")  # no 사업 asked: every row counts
    assert [c.row for c in generate(rows, [hit(table)], {}, {}) if c.kind == "extreme"] == ["예비비"]


def test_extremes_offer_the_largest_program_beside_the_category_that_sums_it(tokenizer):
    """ "세부사업 중 예산 제일 큰 게": 사업비 sums the programs below it and was the only extreme offered."""
    table = table_chunk(["구분", "예산현액", "지출액", "지출률"],
                        [("인건비", ["2,824,210", "1,753,809", "62.1%"]), ("사업비", ["10,472,828", "5,934,185", "56.7%"]),
                         ("AI행정 연구개발", ["254,600", "91,488", "35.9%"]),
                         ("서울 스마트라이프워크 운영", ["4,509,500", "2,600,766", "57.7%"]),
                         ("글로벌AI연구소 운영", ["5,708,728", "3,241,931", "56.8%"])], unit="천원")
    ask = intent_of(tokenizer, "세부사업 중에 예산 제일 큰 게 뭐야?")
    top = [c for c in extremes(hit(table), 0, table.rows, "max") if c.column == "예산현액"]
    assert [(c.row, c.value, c.aggregate, c.group) for c in top] == [
        ("사업비", "10,472,828", True, 5), ("글로벌AI연구소 운영", "5,708,728", False, 4)]
    rates = [c.row for c in extremes(hit(table), 0, table.rows, "min") if c.column == "지출률"]
    assert rates == ["AI행정 연구개발"]  # the smallest rate is already a program's: nothing more offered
    assert features(top[0], question_facts(ask, lambda t: True, 1.0))["aggregate"] == 1


def test_sideways_extremes_skip_a_total_column_named_by_its_path(tokenizer):
    table = table_chunk(["구분", "재원별 사업비 국비", "재원별 사업비 시비", "재원별 사업비 합계"],
                        [("산사태 예방", ["2,695", "867", "4,258"])])
    ask = intent_of(tokenizer, "산사태 예방 산불방지 재원 중 제일 큰 건?")
    assert [c.column for c in row_extremes(hit(table), 0, ask)] == []  # two value columns left: too few
    wide = table_chunk(["구분", "국비", "시비", "구비", "일반회계 합계"], [("산불방지", ["1,466", "1,510", "2,740", "5,716"])])
    assert [c.column for c in row_extremes(hit(wide), 0, ask)] == ["구비"]


def test_this_year_clashes_with_a_column_of_another_year(tokenizer):
    """ "인재개발원 올해 … 교육인원 계획": the 2024 plan column (502명) was taken for this year's."""
    docs = [Doc("2025.pdf", "2025년 인재개발원 주요업무계획", "인재개발원", "")]
    assert this_year("인재개발원 올해 디지털 역량 교육인원 계획은 몇 명이야?", docs, ["2025.pdf"]) == 2025
    assert this_year("인재개발원 디지털 역량 교육인원 계획은 몇 명이야?", docs, ["2025.pdf"]) is None
    table = table_chunk(["구분", "2024년 교육계획(A) 인원 (명)", "교육 실적(B) 인원 (명)"], [("디지털 역량", ["502", "489"])])
    intent = replace(intent_of(tokenizer, "인재개발원 올해 디지털 역량 교육인원 계획은 몇 명이야?"), this_year=2025)
    facts = question_facts(intent, lambda t: True, 1.0)
    clash = {c.column: features(c, facts)["year_clash"] for c in cells(hit(table), 0)}
    assert clash == {"2024년 교육계획(A) 인원 (명)": 1, "교육 실적(B) 인원 (명)": 0}
    unsaid = question_facts(replace(intent, this_year=None), lambda t: True, 1.0)
    assert not any(features(c, unsaid)["year_clash"] for c in cells(hit(table), 0))


def test_filter_lists_rows_whose_change_has_the_asked_sign():
    table = table_chunk(["부서", "2025년", "2024년", "증감"], [("계", ["9,000", "10,000", "△1,000"]),
                        ("신공항정책과", ["5,000", "4,000", "1,000"]), ("신공항도시과", ["185", "2,083", "△1,898"])],
                        unit="백만원")
    found = filtered(hit(table), 0, table.rows, "down")
    assert [(c.column, c.row, c.value, c.group) for c in found] == [("증감", "신공항도시과", "△1,898", 2)]
    assert [c.row for c in filtered(hit(table), 0, table.rows, "up")] == ["신공항정책과"]


def test_rows_filtered_from_a_units_budget_are_named_as_units_asked(tokenizer):
    """신공항추진본부 p.5: "부서 중에 … 줄어든 곳" weighs how many of an answer's items are named like a 부서; a
    filter's rows named none, so the chart's three 과 tied with the one 과 whose budget fell."""
    intent = intent_of(tokenizer, "부서 중에 올해 예산이 작년보다 줄어든 곳은 어디야?")
    table = table_chunk(["부서", "2025년", "2024년", "증감"], [("공항기획과", ["5,000", "4,000", "1,000"]),
                        ("신공항도시과", ["185", "2,083", "△1,898"]), ("신공항사업지원단", ["900", "800", "100"])])
    c = filtered(hit(table), 0, table.rows, "down")[0]
    assert c.items == ("신공항도시과",)
    assert features(c, question_facts(intent, lambda t: True, 1.0))["unit_items"] == 1.0


def test_sideways_table_extremes_pick_the_column(tokenizer):
    sideways = table_chunk(["구분", "국제", "남포", "중앙몰"], [("점포수", ["119개소", "271개소", "29개소"])])
    c = next(c for c in row_extremes(hit(sideways), 0, intent_of(tokenizer, "점포수 제일 적은 지하상가는?")))
    assert (c.column, c.value) == ("중앙몰", "29개소")


def test_change_and_rate_columns_are_not_places_to_compare(tokenizer):
    """ "세부사업 중 예산 제일 큰 게": "2025 예산현액: 사업비 10,472,828 (가장 큼, 4개 중)" weighed a budget against
    its own change and rate; with those set aside two columns are left, too few to read as places."""
    assert row_extremes(hit(BUDGET), 0, intent_of(tokenizer, "인건비 세부사업 중 예산 제일 큰 게 뭐야?")) == []
    places = table_chunk(["구분", "국제", "남포", "중앙몰", "증감"], [("점포수", ["119", "271", "29", "△3"])])
    low = intent_of(tokenizer, "점포수 제일 적은 데는?")
    assert [(c.column, c.value) for c in row_extremes(hit(places), 0, low)] == [("중앙몰", "29")]


def test_sideways_extremes_only_over_a_row_the_question_names(tokenizer):
    """ "정원이 제일 많은 부서": across the columns of the 계 row, 정원 (274) is the largest of 정원, 현원 and
    the grades; that read the staffing table sideways and answered "계" instead of the largest department."""
    table = table_chunk(["구분", "정원", "현원", "4급", "5급", "6급"],
                        [("계", ["274", "271", "12", "40", "80"]), ("데이터센터", ["67", "65", "3", "9", "20"]),
                         ("공간정보과", ["26", "26", "1", "4", "8"])])
    ask = intent_of(tokenizer, "디지털도시국에서 정원이 제일 많은 부서 어디야?")
    assert row_extremes(hit(table), 0, ask) == []
    top = [c for c in generate(ask, [hit(table)], {}, {}) if c.kind == "extreme" and c.column == "정원"]
    assert [(c.row, c.value) for c in top] == [("데이터센터", "67")]
    named = table_chunk(["구분", "예산현액", "원인행위액", "지출액"], [("사업비", ["10,472,828", "6,603,573", "5,934,185"])])
    assert row_extremes(hit(named), 0, intent_of(tokenizer, "세부사업 중에 예산 제일 큰 게 뭐야?")) == []
    roads = table_chunk(["구분", "광안대로 L=7.42", "수정산터널 L=2.35", "을숙도대교 L=5.21"],
                        [("1일 통행량 (대)", ["112,011", "49,143", "46,791"])])
    busiest = row_extremes(hit(roads), 0, intent_of(tokenizer, "유료도로 7곳 중에 하루 통행량 제일 많은 곳 어디야?"))
    assert [(c.column, c.value) for c in busiest] == [("광안대로 L=7.42", "112,011")]  # "7곳" names no column


def test_differences_of_two_year_columns():
    c = next(c for c in differences(hit(BUDGET), 0) if c.row == "서울시 출연금")
    assert c.value == "5,603,849" and c.unit == "천원"


def test_a_rate_column_marked_percent_gives_its_bare_cells_the_percent():
    """2024 디지털정책관 p.40 prints "증감률 (%) | 105": the answer read "105 (계, 증감률 (%))", not 105%."""
    table = table_chunk(["구분", "2023년 최종예산", "2024 예산안", "증감률 (%)"],
                        [("계", ["669,457", "1,374,239", "105"])], unit="천원")
    by_column = {c.column: c for c in cells(hit(table), 0)}
    assert (by_column["증감률 (%)"].value, by_column["증감률 (%)"].unit) == ("105", "%")
    assert by_column["2024 예산안"].unit == "천원"
    unmarked = table_chunk(["구분", "예산", "증감률"], [("계", ["1,374,239", "105"])], unit="천원")
    assert next(c for c in cells(hit(unmarked), 0) if c.column == "증감률").unit == ""  # 105 what, it does not say


def test_two_years_of_a_rate_differ_by_points():
    table = table_chunk(["구분", "2023 집행률(%)", "2024 집행률(%)"], [("계", ["80.0", "85.5"])])
    c = next(c for c in differences(hit(table), 0) if c.row == "계")
    assert (c.value, c.unit) == ("5.5", "%p") and "+6.9%" not in c.text


def test_a_list_down_a_table_takes_every_chunk_of_it(tokenizer):
    """A table of more than one chunk (ten rows each) listed only the rows of the chunk retrieved."""
    first = table_chunk(["구분", "예산"], [(f"사업{i}", [str(i)]) for i in range(1, 11)], caption="사업 목록")
    ask = intent_of(tokenizer, "사업 목록에 어떤 사업들 있어?")
    whole = [*first.rows, TableRow(header="사업11", values=["11"]), TableRow(header="사업12", values=["12"])]
    lists = [c for c in generate(ask, [hit(first), hit(first, 0.9)], {}, {(first.file, first.table_id): whole})
             if c.kind == "list"]
    assert len(lists) == 1 and lists[0].items[-2:] == ("사업11", "사업12") and lists[0].text.startswith("12개")


def test_an_extreme_on_the_next_page_of_its_table_cites_that_page():
    """A table running onto the next page is one table: its largest row may be printed past the hit's page,
    and the citation and evidence must point there, not at the page of the chunk retrieved."""
    rest = TableRow(header="7급", values=["30", "29", "△1"], page=4)
    c = next(c for c in extremes(hit(STAFF), 0, [*STAFF.rows, rest], "max") if c.column == "정원")
    assert (c.row, c.page) == ("7급", 4)
    assert [(x.page, x.row) for x in evidence([c])] == [(4, "7급")]
    assert [x.page for x in citations([c], [hit(STAFF)])] == [4, 3]


def test_differences_run_from_the_earlier_year_whichever_column_comes_first():
    """The 2024 디지털정책관 검토보고 prints "2023년 최종예산 (A)" before "2024예산(안) (B)": a budget cut from
    9,604,800 to 8,171,600 read "차이 1,433,200, +17.5%", a rise as "△127,610"."""
    table = table_chunk(["구분", "2023년 본예산", "2023년 최종예산 (A)", "2024예산(안) (B)", "증감 (B-A)"],
                        [("계", ["9,204,800", "9,604,800", "8,171,600", "△1,433,200"])], unit="천원")
    c = next(c for c in differences(hit(table), 0) if c.column.startswith("2024예산(안)") and "최종" in c.column)
    assert (c.value, c.unit, c.column) == ("△1,433,200", "천원", "2024예산(안) (B) − 2023년 최종예산 (A)")
    assert "-14.9%" in c.text
    newer_first = next(c for c in differences(hit(BUDGET), 0) if c.row == "인건비")
    assert newer_first.column == "2025 예산현액 − 2024 최종예산" and newer_first.value == "336,579"


def test_differences_pair_no_two_columns_of_one_year_spelled_apart():
    """ "총사업비 (‘24년)" and "’24년 예산" name one year with different quote marks; compared as strings they
    read as two years and gave a "change" between a project's total cost and its year's budget."""
    table = table_chunk(["구분", "총사업비 (‘24년)", "’24년 예산", "’25년 예산"], [("체육시설", ["900", "300", "450"])],
                        unit="백만원")
    assert [c.column for c in differences(hit(table), 0)] == ["’25년 예산 − 총사업비 (‘24년)", "’25년 예산 − ’24년 예산"]


def test_span_difference_of_two_figures():
    chunk = text_chunk("장애인 정보화 교육인원: 6,115명(2022년) → 4,113명(2023년 9월말)")
    c = span_differences(hit(chunk), 0)[0]
    assert (c.value, c.unit) == ("2,002", "명")


def test_span_differences_pair_one_measure_only():
    """ "위반혐의 조사 627건 행정처분 결정 86건" are two measures: "541건 차이" answered a comparison of years
    (Busan 도시혁신균형실 p.55), and "2,000명 → 4,000명" subtracted two programs' sizes."""
    def pairs(text: str, terms: tuple[str, ...] = ()) -> list[tuple[str, str]]:
        return [(c.value, c.unit) for c in span_differences(hit(text_chunk(text)), 0, terms)]

    assert pairs("구분 2024년 위반혐의 조사 627건 행정처분 결정 86건") == []
    assert pairs("기쁨카드 : (규모확대) 1,650명→2,000명 ◦ 기쁨두배통장 : (규모확대) 4,000명→6,000명") == [
        ("350", "명"), ("2,000", "명")]
    assert pairs("2022년도 ○ 교육인원 : 6,115명 2023년도 ○ 교육인원 : 4,113명")[0] == ("2,002", "명")
    assert pairs("’25년 협력사업 17개, 3,511억원 국비 반영(’24년 17개, 3,420억원)") == [("91", "억원")]
    assert pairs("▶ 모집 : 67개팀(190명) → 예선 : 23개팀(93명)")[0] == ("44", "개팀")
    # two labels the question names side by side ("지정공모랑 자유공모 차이")
    assert pairs("총 122팀, 331명 참여 (지정공모 90팀, 자유공모 32팀)", ("지정공모", "자유공모")) == [("58", "팀")]
    # each figure's year printed after it: the end of one measure and the start of the next are no pair
    # (2020 서울디지털재단 p.17 offered "264명 차이 (200명 → 464명)" as a change of one measure)
    assert pairs("어디나 지원단 운영규모 : 34명(’19) → 200명(’20) - 지원단 활동확대(교육인원) : 464명(’19)→ "
                 "3,000명(’20)") == [("166", "명"), ("2,536", "명")]
    assert pairs("2025년 200명, 2024년 34명") == [("166", "명")]  # a later year first, nothing named between


def test_spans_keep_a_bullet_with_its_sub_bullets():
    chunk = text_chunk("□ 시범학교 선정\n- (선정대상) 잠일초등학교\n- 공고(8.20.)")
    texts = [c.text for c in spans(hit(chunk), 0)]
    assert "□ 시범학교 선정 - (선정대상) 잠일초등학교" in texts


def test_outline_parents_nest_items_under_the_item_above():
    # 2025 디지털도시국 p.6: "- 소요예산 : 153백만원" names its program only through the "o" item above it
    lines = ["□ 추진현황", "o 생성형 AI 이용료 지원 용량제 시범 운영(추경사업)", "- 추진방향", "▶ 구독제를 통해",
             "- 소요예산 : 153백만원", "이어지는 줄", "o AI 역량 강화환경 조성", "- AI 특강(4회)"]
    assert outline_parents(lines) == ["", lines[0], lines[1], lines[2], lines[1], lines[1], lines[0], lines[6]]


def test_a_sub_bullet_is_covered_by_the_item_it_sits_under(tokenizer):
    """The item's words count for the question where the sentence's own do not."""
    chunk = text_chunk("o 생성형 AI 이용료 지원 용량제 시범 운영(추경사업)\n- 추진방향\n"
                       "- 소요예산 : 153백만원(본예산 52백만원, 추경 101백만원)\n- 추진일정")
    facts = question_facts(intent_of(tokenizer, "용량제 시범운영 소요예산 얼마야?"), lambda t: True, 1.0)
    found = {c.text: c for c in spans(hit(chunk), 0)}
    line = found["- 소요예산 : 153백만원(본예산 52백만원, 추경 101백만원)"]
    assert line.parent.startswith("o 생성형 AI") and features(line, facts)["parent_cov"] > 0.5
    top = found["o 생성형 AI 이용료 지원 용량제 시범 운영(추경사업)"]
    assert top.parent == "" and features(top, facts)["parent_cov"] == 0


def test_reason_spans_run_on_to_the_end_of_their_sentence():
    # 004 p.9: the reason is the end of a sentence the PDF wraps over five lines.
    chunk = text_chunk("○ “정보통신 인프라 분야” 9개 세부사업에 대한 세출예산은 전년\n도 본예산 대비 약 27억 7천만원 감액"
                       "(△7.2%) 편성되었으며,\n디지털정책관 사업비의 23.3%를 차지함. 주요 감액 요인으로는\n스마트 서울 "
                       "CCTV 안전센터 운영 사업과 관련하여 자치구 통합\n플랫폼 연계 구축사업과 자치구 CCTV 통합관제센터 "
                       "성능보강\n지원사업이 종료되었기 때문으로 파악됨.\n○ “시스템 유지관리 분야” 10개 세부사업")
    first = next(c for c in spans(hit(chunk), 0, whole_sentences=True) if c.text.startswith("○ “정보통신"))
    assert first.after.endswith("종료되었기 때문으로 파악됨")
    plain = next(c for c in spans(hit(chunk), 0) if c.text.startswith("○ “정보통신"))
    assert "종료되었기" not in plain.after


def test_lists_count_items_under_a_heading():
    lines = ["목적사업", "1. 정책연구", "2. 역량강화", "3. 격차해소", "- 세부 내용"]
    c = lists(hit(text_chunk("1. 정책연구", section="재단 > 목적사업")), 0, lines)[0]
    assert c.text.startswith("3개:") and "역량강화" in c.text


def test_lists_split_a_flow_chart_line_and_restart_at_circled_one():
    lines = ["<사업추진 절차>", "① 사업공고 ② 신청 ③ 선정평가 ④ 협약체결", "➜ ➜ ➜", "⑥ 사후관리 ⑤ 창업 및 사업화",
             "<빈일자리청년취업지원금>", "① 지원금 신청 참여청년", "② 지원금 지급 요청 운영기관"]
    out = lists(hit(text_chunk("① 사업공고", section="사업 집행절차")), 0, lines)
    assert [c.items for c in out] == [("사업공고", "신청", "선정평가", "협약체결", "사후관리", "창업 및 사업화"),
                                      ("지원금 신청 참여청년", "지원금 지급 요청 운영기관")]
    assert "사업추진 절차" in out[0].labels and "빈일자리청년취업지원금" in out[1].labels


def test_lists_read_the_diamond_bullets_of_a_strategy_block():
    # the Busan plans set their strategies with "◈" (226 lines) and "◇", which no list had read
    lines = ["목 표", "일상이 안전한 시민행복도시 부산", "추진 전략", "◈ (안전+) 든든한 치안으로 일상이 안전한 부산 조성",
             "◈ (안심+) 세심한 보호로 사회적 약자 안심 강화", "◈ (공감+) 참여와 협력으로 공감받는 자치경찰제 운영"]
    c = lists(hit(text_chunk("추진 전략", section="정책목표 및 전략")), 0, lines)[0]
    assert c.items == ("(안전+) 든든한 치안으로 일상이 안전한 부산 조성", "(안심+) 세심한 보호로 사회적 약자 안심 강화",
                       "(공감+) 참여와 협력으로 공감받는 자치경찰제 운영")
    assert "추진 전략" in c.labels


def test_a_numbered_list_quoted_among_a_laws_paragraphs_is_listed_without_its_heading():
    """생계급여 p.2: the law's "1. 생계급여 … 7. 자활급여" sits among more "①" paragraphs than it has items. Only
    the most frequent bullet was listed, and the section's own "5." heading joined the "1." items it matched."""
    lines = ["5. 사업근거 및 추진경위", "① 법령상 근거 및 조항 : 「국민기초생활보장법」제7조 ~ 제10조",
             "제7조(급여의 종류) ① 이 법에 따른 급여의 종류는 다음 각 호와 같다.", "1. 생계급여", "2. 주거급여", "3. 의료급여",
             "4. 교육급여", "5. 해산급여(解産給與)", "6. 장제급여(葬祭給與)", "7. 자활급여",
             "② 수급권자에 대한 급여는 수급자의 필요에 따라 급여의 전부 또는 일부를 실시하는 것으로 한다.",
             "③ 차상위계층에 속하는 사람에 대한 급여는 예산의 범위에서 실시할 수 있다.",
             "② 생계급여 수급권자는 부양의무자가 없거나 부양능력이 없는 사람으로 한다.", "③ 생계급여 최저보장수준은 …",
             "④ 생계급여는 차등지급할 수 있다.", "⑤ 보장기관은 조건을 제시하여야 한다."]
    out = lists(hit(text_chunk("1. 생계급여", section="5. 사업근거 및 추진경위")), 0, lines)
    benefits = [c for c in out if "생계급여" in c.items]
    assert [c.items for c in benefits] == [("생계급여", "주거급여", "의료급여", "교육급여", "해산급여(解産給與)",
                                            "장제급여(葬祭給與)", "자활급여")]
    assert "급여의 종류는" in benefits[0].labels


AUDITS = ["□ 기관운영 효율화를 담보하는 출자․출연기관 종합감사 실시", "○ (감사대상) 출자·출연 4개 기관",
          "- 정보산업진흥원(2월), 벡스코(2월), 테크노파크(10월), 아시아드CC(10월)",
          "○ (감사방향) 공공기관별 책임성 확보 및 기관운영 효율성·신뢰도 강화"]


def test_labelled_facts_about_one_thing_are_no_list_of_things():
    """감사위원회 p.12: "○ (감사대상) 출연기관 2개소 ▹ …; ○ (감사방향) …" won "어디어디 감사해?" as a list of two."""
    lines = ["○ (감사대상) 출연기관 2개소 ▹ 부산신용보증재단(2월), 부산디자인진흥원(11월)",
             "○ (감사방향) 재정 집행상황과 기관 업무 특성에 맞은 업무 전반 점검"]
    assert lists(hit(text_chunk("\n".join(lines), section="출연기관 종합감사")), 0, lines) == []


def test_names_run_together_with_commas_are_listed():
    """감사위원회 p.11 names the four audited institutions on one "-" line; 서울시재단 p.12 its solutions after a
    "(내부/4종)" label. Neither line is bulleted per item, so neither was a list."""
    audits = inline_lists(hit(text_chunk("\n".join(AUDITS), section="출자․출연기관 종합감사 실시")), 0)
    assert [c.items for c in audits] == [("정보산업진흥원(2월)", "벡스코(2월)", "테크노파크(10월)", "아시아드CC(10월)")]
    assert "4개 기관" in audits[0].labels and audits[0].quote.startswith("- 정보산업진흥원")
    bus = "- (내부/4종) 안구 상태 검진기, 치아우식 진단기, 치매 예방 체험, 챗GPT 프롬프트 체험"
    assert [c.items for c in inline_lists(hit(text_chunk(bus)), 0)] == [
        ("안구 상태 검진기", "치아우식 진단기", "치매 예방 체험", "챗GPT 프롬프트 체험")]


def test_names_in_parentheses_are_listed_without_their_trailing_deung():
    line = "- 13개 과정 운영, 4개 과정 추가 개발 완료(5대 미래 신산업, 글로벌 허브도시, 지질공원 등)"
    assert [c.items for c in inline_lists(hit(text_chunk(line)), 0)] == [("5대 미래 신산업", "글로벌 허브도시", "지질공원")]


def test_clauses_joined_by_commas_are_no_list():
    line = "- 민간 협력을 확대하고, 시민 참여를 넓히며, 성과를 점검"
    assert inline_lists(hit(text_chunk(line)), 0) == []


def test_a_fields_facts_are_no_list_of_names():
    """도시혁신균형실 p.35: "사업규모 : L=54.043km, 정거장 7개소 (수소열차), 사업비 4조 7,692억원" beat the seven stations, read
    as four "names" split inside a figure."""
    line = "* 사업규모 : L=54.043km, 정거장 7개소 (수소열차), 사업비 4조 7,692억원"
    assert inline_lists(hit(text_chunk(line)), 0) == []
    assert [c.items for c in inline_lists(hit(text_chunk("- 예산 1,000억원, 2,000억원, 3,500억원 순")), 0)] == [
        ("예산 1,000억원", "2,000억원", "3,500억원 순")]


def test_the_list_ends_at_deung_where_the_sentence_goes_on():
    line = "- 서울AI페스타(3.8~9.), 서울국제정원박람회(7.31.), 서울 디지털 포럼 등 4건 행사 참여 운영"
    assert [c.items for c in inline_lists(hit(text_chunk(line)), 0)] == [
        ("서울AI페스타(3.8~9.)", "서울국제정원박람회(7.31.)", "서울 디지털 포럼")]


def test_lists_count_circled_steps_as_one_kind():
    # "②".isdigit() is true in Python, so circled numbers were each read as a kind of their own
    lines = ["추진절차 시행주체 절차내용", "① 사업 참여신청 참여기업", "⇩", "② 기업 참여 승인 운영기관", "⇩",
             "③ 지원금 지급 고용센터", "- 민간운영기관은 접수", "- 고용센터는 지급"]
    c = lists(hit(text_chunk("① 사업 참여신청 참여기업", section="사업 집행절차")), 0, lines)[0]
    assert c.text.startswith("3개:") and "기업 참여 승인" in c.text and "지원금 지급" in c.text


# ------------------------------------------------------------------ features, render, compose

def test_coverage_weighs_rare_words(tokenizer):
    intent = parse_intent("드론 사업 예산", tokenizer.morphemes, lambda t: 5.0 if t == "드론" else 1.0)
    assert coverage(intent, "드론 예산") > coverage(intent, "사업 예산")


def test_features_are_the_named_ones(tokenizer):
    intent = intent_of(tokenizer, "5급 정원은 몇 명이야?")
    facts = question_facts(intent, lambda t: True, 1.0)
    c = next(c for c in cells(hit(STAFF), 0) if c.row == "5급" and c.column == "정원")
    f = features(c, facts)
    assert set(f) == set(FEATURES)
    assert f["row_exact"] == 1.0 and f["col_cov"] > 0 and f["type_fit"] == 1.0


def test_a_printed_change_fits_a_comparison(tokenizer):
    # "세입 총계가 전년 대비 몇 % 줄었나요": the printed 증감률 cell was scored as clashing with the comparison.
    intent = intent_of(tokenizer, "인건비가 전년 대비 몇 % 늘었어?")
    facts = question_facts(intent, lambda t: True, 1.0)
    rate = next(c for c in cells(hit(BUDGET), 0) if c.row == "인건비" and c.column == "증감률")
    level = next(c for c in cells(hit(BUDGET), 0) if c.row == "인건비" and c.column == "2025 예산현액")
    assert intent.operation == "compare"
    assert (features(rate, facts)["op_fit"], features(rate, facts)["op_clash"]) == (1.0, 0.0)
    assert (features(level, facts)["op_fit"], features(level, facts)["op_clash"]) == (0.0, 1.0)


def test_a_cause_stated_with_e_ttareun_is_a_reason(tokenizer):
    # Busan 푸른도시국 p.41: "왜 늦어지고 있어" is answered by "… 명도소송 절차 이행에 따른 공사 착수 지연".
    intent = intent_of(tokenizer, "달맞이공원 공사가 왜 늦어지고 있어?")
    facts = question_facts(intent, lambda t: True, 1.0)
    chunk = text_chunk("ㅇ 사업명 : 명품 달맞이공원 조성\nㅇ 부동산 무단 점유자에 대한 명도소송 절차 이행에 따른 공사 착수 지연")
    cause = next(c for c in spans(hit(chunk), 0) if c.text.startswith("ㅇ 부동산"))
    assert intent.answer_type == "reason"
    assert features(cause, facts)["reason_cue"] == 1.0


def test_render_keeps_units_and_korean_amounts():
    c = next(c for c in cells(hit(BUDGET), 0) if c.row == "서울시 출연금" and c.column == "2025 예산현액")
    assert headline(c).startswith("13,797,110천원")
    assert "137억 9,711만원" in headline(c)
    assert "8,193,261천원" in with_row(c)  # the rest of the row: the other column a follow-up asks
    assert len(render([c], "amount")) <= FIGURE_CHARS


def test_render_gives_a_long_part_the_room_a_short_part_leaves():
    # Two parts used to get 100 characters each: "(사업예산) 1,299백만원" was cut to "(사업예산) …".
    cell = next(c for c in cells(hit(STAFF), 0) if c.row == "5급" and c.column == "정원")
    sentence = ("o (추진배경) AI기반 보안관제 및 정보보안 강화로 사이버위협 대응능력 제고 - o (사업내용) 민간 클라우드 "
                "서비스 보안관제 확대 및 EDR 시스템 도입 - o (사업예산) 1,299백만원")
    span = next(c for c in spans(hit(text_chunk(sentence)), 0) if "1,299" in c.text)
    text = render([cell, span], "amount")
    assert len(text) <= FIGURE_CHARS and "1,299백만원" in text and "16명" in text


def test_a_long_sentence_is_cut_around_the_window_that_holds_the_asked_figure(tokenizer):
    # 2025 디지털도시국 p.10: the window before the first question word ("매크로 차단 기술의 효과성 …") held no
    # count, and "125,286건 차단" further on was cut off.
    intent = intent_of(tokenizer, "매크로 부정예약 방지 시스템으로 차단한 건수가 몇 건이야?")
    filler = "예약시스템의 영향도, 운영·관리의 효율성 등을 비교·검토하여 최적 제품 선정 " * 4
    sentence = (f"- 조달청에 등록된 소프트웨어에 대해 매크로 차단 기술의 효과성, {filler}- 부정예약 방지 시스템 구축 "
                "- 차단실적('25. 7. 24. ~ 8. 15.) : 125,286건 차단(전체 접속 4,828,150건의 2.6%)")
    c = next(c for c in spans(hit(text_chunk(sentence)), 0) if "125,286" in c.text)
    text = render([c], intent.answer_type, intent.words_shown)
    assert len(text) <= FIGURE_CHARS and "125,286건" in text


def test_a_long_sentence_is_cut_where_the_asked_year_states_its_figure(tokenizer):
    # 2024 예산안 검토보고 p.19: the window of the most question words held "2019~2021년 … 60억원" and cut
    # "2022~2023년에는 2년간 총 12억원" off after "2년간".
    intent = intent_of(tokenizer, "생활현장 스마트시티 특구로 2022~2023년 관악구에 얼마 투입했어?", years=(2022, 2023))
    sentence = ("한편 서울시는 ‘사물인터넷 도시조성’의 일환으로 ‘생활현장 스마트 시티 특구 조성’을 2019년부터 추진해 왔는데, "
                "2019~2021년에는 3년간 총 60억원(시비 30억원, 구비 30억원)을 투입하여 성동구와 양천구를 스마트시티 특구로 "
                "지정하고 안전․교통․복지․환경 등 다양한 분야의 디지털전환 사업 서비스를 추진하였으며, 2022~2023년에는 2년간 "
                "총 12억원(시비 10억원, 구비 2억원)을 투입하여 관악구를 대상으로 스마트경로당 등을 추진하였음")
    c = next(c for c in spans(hit(text_chunk(sentence)), 0) if "12억원" in c.text)
    text = render([c], intent.answer_type, intent.words_shown)
    assert len(text) <= FIGURE_CHARS and "12억원" in text


def test_a_cell_answer_keeps_its_figure_however_far_the_question_words_stand(tokenizer):
    # 대변인실 p.3 "출입 언론기관 전체 몇 개사야": the window of the most question words began past "104개사".
    intent = intent_of(tokenizer, "출입 언론기관 전체 몇 개사야?")
    press = table_chunk(["구분", "계"] + [f"언론사{i}" for i in range(12)],
                        [("출입 언론기관 수", ["104개사"] + [f"{i}개사 언론 기관 출입" for i in range(12)])])
    c = next(c for c in cells(hit(press), 0) if c.column == "계")
    assert render([c], intent.answer_type, intent.words_shown).startswith("104개사")


def test_a_long_reason_is_read_from_where_it_states_the_reason():
    background = "○ 데이터기반 분야 8개 세부사업에 대한 세출예산은 전년도 본예산 대비 감액 편성되었으며 " * 9
    chunk = text_chunk(background + "\n주요 감액 요인으로는 빅데이터 서비스 플랫폼 3단계가 구축 완료되어 미편성한 것임.")
    c = next(c for c in spans(hit(chunk), 0) if c.text.startswith("주요 감액"))
    c.before = background
    text = render([c], "reason")
    assert len(text) <= TEXT_CHARS and "플랫폼 3단계" in text and "미편성" in text


def _prob(c: Candidate, p: float) -> Candidate:
    c.probability = p
    return c


def test_compose_answers_each_part(tokenizer):
    intent = intent_of(tokenizer, "5급 정원이랑 인건비 예산 각각 알려줘")
    staff = next(c for c in cells(hit(STAFF), 0) if c.row == "5급" and c.column == "정원")
    money = next(c for c in cells(hit(BUDGET), 1) if c.row == "인건비" and c.column == "2025 예산현액")
    comp = compose(intent, [_prob(staff, 0.9), _prob(money, 0.7)], True, 0.5)
    assert [c.value for c in comp.chosen] == ["16", "2,824,210"]


def test_compose_takes_a_part_from_its_own_types_ranking(tokenizer):
    """ "어디서 하고 예산은 얼마야": the budget part is chosen from the candidates weighed as amounts, where
    the budget line ranks above the threshold it missed when weighed as a place."""
    intent = intent_of(tokenizer, "가든쇼 어디서 하고 예산은 얼마야?")
    place = spans(hit(text_chunk("ㅇ 장소 : 낙동강 정원 일원")), 0)[0]
    budget = next(c for c in cells(hit(BUDGET), 1) if c.row == "인건비" and c.column == "2025 예산현액")
    assert compose(intent, [_prob(place, 0.9), _prob(budget, 0.2)], True, 0.5).chosen == [place]
    comp = compose(intent, [place, budget], True, 0.5, by_type={"amount": [(0.8, budget), (0.3, place)]})
    assert [c.kind for c in comp.chosen] == ["span", "cell"] and comp.chosen[1].value == "2,824,210"


def test_compose_takes_the_other_part_from_the_same_report(tokenizer):
    """ "관제실이랑 기술지원 각각 몇 명": a 기술지원 line of another report is no part of this answer."""
    intent = intent_of(tokenizer, "종합관제실 용역인력, 관제실이랑 기술지원 각각 몇 명이야?")
    here = text_chunk("- 24시간 종합관제실 운영(용역인력: 관제실 6명)", file="a.pdf")
    there = text_chunk("- 기술지원 인력 14명 배치 완료", file="b.pdf")
    first, other = spans(hit(here), 0)[0], spans(hit(there), 1)[0]
    comp = compose(intent, [_prob(first, 0.9), _prob(other, 0.8)], True, 0.5)
    assert [c.chunk.file for c in comp.chosen] == ["a.pdf"]
    versus = intent_of(tokenizer, "관제실이랑 기술지원 비교하면?")  # a comparison reads both reports
    comp = compose(versus, [_prob(first, 0.9), _prob(other, 0.8)], True, 0.5)
    assert [c.chunk.file for c in comp.chosen] == ["a.pdf", "b.pdf"]


def test_two_reports_changes_are_not_subtracted_unless_a_change_is_asked(tokenizer):
    """ "민간임대 융자랑 전세임대 융자 2024년 확정액 비교해줘": each side came as its report's 2023 → 2024 change and
    the answer ended "→ 차이 603,816", the sum of the two changes, a figure neither report holds."""
    columns = ["구분", "2023년", "2024년"]
    rent = table_chunk(columns, [("민간", ["1,708,844", "1,477,009"])], unit="백만원", file="a.pdf", organization="민간임대")
    lease = table_chunk(columns, [("전세", ["4,174,950", "4,546,931"])], unit="백만원", file="b.pdf", organization="전세임대")
    sides = {f: [_prob(differences(hit(c), 0)[0], 0.9)] for f, c in (("a.pdf", rent), ("b.pdf", lease))}
    asked = intent_of(tokenizer, "민간임대 융자랑 전세임대 융자 2024년 확정액 비교해줘.")
    comp = compose(asked, [], True, 0.5, per_file=sides)
    assert comp.across_reports and "1,477,009" in comp.text and "4,546,931" in comp.text
    assert "603,816" not in comp.text
    grew = intent_of(tokenizer, "민간임대 융자랑 전세임대 융자 작년보다 얼마나 늘었는지 비교해줘.")
    assert "603,816" in compose(grew, [], True, 0.5, per_file=sides).text


def test_two_reports_rates_of_change_lead_their_sides(tokenizer):
    """ "생계급여랑 노인일자리 중에 2024년 예산 증가율 어디가 더 높아": each side's long text was cut before its
    "+31.6%", and the answer subtracted the two changes in 백만원 instead."""
    columns = ["구분", "2023년 예산 본예산(A)", "2024년 확정(B)"]
    jobs = table_chunk(columns, [("노인일자리 및 사회활동 지원", ["1,540,016", "2,026,370"])], unit="백만원",
                       file="a.pdf", organization="보건복지부_노인일자리 및 사회활동지원")
    living = table_chunk(columns, [("생계급여", ["6,014,148", "7,541,072"])], unit="백만원", file="b.pdf",
                         organization="보건복지부_생계급여")
    sides = {f: [_prob(differences(hit(c), 0)[0], 0.9)] for f, c in (("a.pdf", jobs), ("b.pdf", living))}
    asked = intent_of(tokenizer, "생계급여랑 노인일자리 및 사회활동지원 중에 2024년 예산 증가율 어디가 더 높아?")
    comp = compose(asked, [], True, 0.5, per_file=sides)
    assert comp.across_reports and len(comp.text) <= FIGURE_CHARS
    assert "+31.6%" in comp.text and "+25.4%" in comp.text and "6.2%p" in comp.text
    assert "1,040,570" not in comp.text


def test_one_bodys_two_years_compared_by_each_reports_own_level(tokenizer):
    """ "서울시 출연금이 2020년에 비해 2024년에 얼마나 늘었어" over 서울디지털재단's 2020 and 2024 reports: each side was
    its report's change on its own previous year (113,531 and 304,014), never the 4,179,050 asked."""
    intent = intent_of(tokenizer, "서울시 출연금이 2020년에 비해 2024년에 얼마나 늘었어?")
    facts = question_facts(intent, lambda t: True, 1.0)
    sides = {}
    for f, year, values in (("a.pdf", 2020, ["4,014,211", "3,900,680", "113,531"]),
                            ("b.pdf", 2024, ["8,193,261", "7,889,247", "304,014"])):
        table = table_chunk(["구분", f"{year} 예산현액", f"{year - 1} 최종예산", "증감액"], [("서울시출연금", values)],
                            unit="천원", file=f, organization="서울디지털재단")
        found = differences(hit(table), 0) + cells(hit(table), 0)
        for c, p in zip(found, (0.95, 0.9, 0.85, 0.8)):  # the report's own change ranked first, as the scorer did
            c.features = features(c, facts)
            _prob(c, p)
        sides[f] = found
    comp = compose(intent, [], True, 0.5, per_file=sides)
    assert [(c.kind, c.value) for c in comp.chosen] == [("cell", "4,014,211"), ("cell", "8,193,261")]
    assert "4,179,050" in comp.text


def test_two_reports_figures_read_at_a_glance(tokenizer):
    """ "민간임대 융자랑 전세임대 융자 2024년 확정액 비교해줘" (no amount word: a text question) ran to 207
    characters; each side now keeps its own figures within the figure answer's 200."""
    columns = ["구분", "2023년 계획 당초(A)", "2024년 확정(B)"]
    # no manifest: each side is named by its file's title
    rent = replace(table_chunk(columns, [("민간임대융자", ["1,708,844", "1,477,009"])], unit="백만원", file="a.pdf",
                               organization=""), title="국토교통부_민간임대(융자)")
    lease = replace(table_chunk(columns, [("전세임대(융자)", ["4,174,950", "4,546,931"])], unit="백만원", file="b.pdf",
                                organization=""), title="국토교통부_전세임대(융자)")
    sides = {f: [_prob(differences(hit(c), 0)[0], 0.9)] for f, c in (("a.pdf", rent), ("b.pdf", lease))}
    comp = compose(intent_of(tokenizer, "민간임대 융자랑 전세임대 융자 2024년 확정액 비교해줘."), [], True, 0.5,
                   per_file=sides)
    assert len(comp.text) <= FIGURE_CHARS
    assert all(v in comp.text for v in ("1,708,844", "1,477,009", "4,174,950", "4,546,931"))


def test_compose_parts_by_the_word_that_tells_them_apart(tokenizer):
    """Two parts sharing their last word ("…임대"): each is found by the word only it has."""
    intent = intent_of(tokenizer, "공공임대랑 민간임대 각각 얼마야?")
    table = table_chunk(["구분", "한도"], [("민간임대", ["80백만원"]), ("공공임대", ["95백만원"])])
    first, second = cells(hit(table), 0)
    comp = compose(intent, [_prob(first, 0.9), _prob(second, 0.8)], True, 0.5)
    assert [c.value for c in comp.chosen] == ["80백만원", "95백만원"]


def test_compose_parts_after_shared_context(tokenizer):
    """ "호당 평균 한도가 A랑 B 각각": the words before A are context both answers share; A is told apart by
    the word nearest the conjunction (Dacon 민간임대 융자: only B's row was answered before)."""
    intent = parse_intent("민간임대 융자 호당 평균 한도가 공공지원민간임대랑 준주택전세전환지원 각각 얼마야?",
                          tokenizer.morphemes, lambda t: {"한도": 5.0, "융자": 4.0, "공공": 2.0}.get(t, 1.0))
    table = table_chunk(["구분", "지원 한도"], [("(준주택전세전환지원) 민간임대사업자", ["호당 평균 80백만원 이하"]),
                                                ("(공공지원민간임대) 민간임대사업자", ["호당 평균 95백만원 이하"]),
                                                ("(장기임대 등) 민간임대사업자", ["호당 평균 90백만원 이하"])])
    second, first, other = cells(hit(table), 0)
    comp = compose(intent, [_prob(second, 0.9), _prob(other, 0.85), _prob(first, 0.8)], True, 0.5)
    assert [c.row for c in comp.chosen] == ["(준주택전세전환지원) 민간임대사업자", "(공공지원민간임대) 민간임대사업자"]


def test_compose_two_columns_of_one_row(tokenizer):
    """ "인구정책담당관 정원이랑 현원": the rare row name is shared by both answers; the parts are 정원 and 현원."""
    intent = parse_intent("인구정책담당관 정원이랑 현원 각각 몇 명이야?", tokenizer.morphemes,
                          lambda t: {"인구": 6.0, "담당관": 3.0}.get(t, 1.0))
    table = table_chunk(["구분", "기획담당관", "인구정책 담당관"], [("정원", ["32", "11"]), ("현원", ["32", "13"])],
                        caption="인력 현황")  # printed sideways: one row per measure
    found = {(c.row, c.column): c for c in cells(hit(table), 0)}
    current, quota = found[("현원", "인구정책 담당관")], found[("정원", "인구정책 담당관")]
    comp = compose(intent, [_prob(current, 0.9), _prob(quota, 0.8)], True, 0.5)
    assert [(c.row, c.value) for c in comp.chosen] == [("현원", "13"), ("정원", "11")]


def test_compose_answers_each_report_when_two_are_named(tokenizer):
    """ "A국이랑 B국 정원 각각 몇 명": a lookup over two reports answers each from its own report."""
    intent = intent_of(tokenizer, "두 기관 정원 각각 몇 명이야?")
    a = table_chunk(["구분", "정원"], [("계", ["274"])], file="a.pdf", page=2, organization="디지털도시국")
    b = table_chunk(["구분", "정원"], [("계", ["45"])], file="b.pdf", page=4, organization="서울디지털재단")
    ca, cb = cells(hit(a), 0)[0], cells(hit(b), 0)[0]
    comp = compose(intent, [_prob(ca, 0.9)], True, 0.5, {"a.pdf": [_prob(ca, 0.9)], "b.pdf": [_prob(cb, 0.8)]})
    assert [(c.chunk.file, c.value) for c in comp.chosen] == [("a.pdf", "274"), ("b.pdf", "45")]


def test_reports_without_a_manifest_are_answered_each(tokenizer):
    """ "도시혁신균형실이랑 기획관 세출예산 각각": no manifest, so no organization; the titles tell the two bodies
    apart (both read as one organization's years before, and only one side was answered)."""
    intent = intent_of(tokenizer, "두 기관 세출예산 각각 얼마야?")
    a = table_chunk(["구분", "세출"], [("계", ["586,908"])], file="a.pdf", organization="")
    b = table_chunk(["구분", "세출"], [("합계 (일반회계)", ["33,257"]), ("기획담당관", ["14,472"])], file="b.pdf",
                    organization="")
    a.title, b.title = "2025년 도시혁신균형실 주요업무계획", "2025년 기획관 주요업무계획"
    ca, cb = cells(hit(a), 0)[0], cells(hit(b), 0)[0]
    comp = compose(intent, [_prob(ca, 0.9)], True, 0.5, {"a.pdf": [_prob(ca, 0.9)], "b.pdf": [_prob(cb, 0.8)]})
    assert [(c.chunk.file, c.value) for c in comp.chosen] == [("a.pdf", "586,908"), ("b.pdf", "33,257")]
    b.title = "2024년 도시혁신균형실 주요업무계획"  # the same body's two years: not "각각"
    comp = compose(intent, [_prob(ca, 0.9)], False, 0.5, {"a.pdf": [_prob(ca, 0.9)], "b.pdf": [_prob(cb, 0.8)]})
    assert comp.abstained


def test_lookup_over_two_years_of_one_organization_is_not_answered_per_report(tokenizer):
    """ "2021년 출연금" scoped to the 2020 and 2024 reports of one organization asks neither of them."""
    intent = intent_of(tokenizer, "2021년 출연금 예산은 얼마였어?")
    a = table_chunk(["구분", "2020 예산현액"], [("출연금", ["4,014,211"])], file="a.pdf")
    b = table_chunk(["구분", "2024 예산현액"], [("출연금", ["8,193,261"])], file="b.pdf")
    ca, cb = cells(hit(a), 0)[0], cells(hit(b), 0)[0]
    comp = compose(intent, [_prob(ca, 0.9)], False, 0.5, {"a.pdf": [_prob(ca, 0.9)], "b.pdf": [_prob(cb, 0.8)]})
    assert comp.abstained


def test_compose_abstains_without_confidence(tokenizer):
    intent = intent_of(tokenizer, "5급 정원은?")
    staff = next(c for c in cells(hit(STAFF), 0) if c.row == "5급")
    assert compose(intent, [_prob(staff, 0.9)], False, 0.5).abstained


def test_compose_compares_two_reports(tokenizer):
    intent = intent_of(tokenizer, "두 기관 정원 비교하면?")
    a = table_chunk(["구분", "정원"], [("계", ["44"])], file="a.pdf", page=5)
    b = table_chunk(["구분", "정원"], [("계", ["120"])], file="b.pdf", page=5)
    ca, cb = cells(hit(a), 0)[0], cells(hit(b), 0)[0]
    comp = compose(intent, [], True, 0.5, {"a.pdf": [_prob(ca, 0.9)], "b.pdf": [_prob(cb, 0.8)]})
    assert {c.chunk.file for c in comp.chosen} == {"a.pdf", "b.pdf"}
    assert "76명" in comp.text


def test_weights_file_holds_every_feature_and_loads():
    scorer = Scorer.load()
    assert set(scorer.weights) == set(FEATURES)
    assert set(scorer.confidence_weights) == set(CONFIDENCE_FEATURES)
    assert 0 < scorer.threshold < 1 and 0 < scorer.part_threshold < 1


def test_weights_file_with_unknown_feature_is_refused(tmp_path):
    import json

    data = json.loads((Scorer.load.__defaults__[0]).read_text(encoding="utf-8"))
    data["weights"]["made_up"] = 1.0
    path = tmp_path / "w.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ValueError, match="made_up"):
        Scorer.load(path)


# ------------------------------------------------------------------ scope

@dataclass
class Doc:
    file: str
    title: str
    organization: str = ""
    date: str = ""
    kind: str = ""
    aliases: tuple[str, ...] = ()


BUSAN = [Doc("a.pdf", "2025년 감사위원회 주요업무계획"), Doc("b.pdf", "2025년 기획관 주요업무계획"),
         Doc("c.pdf", "2025년 대변인실 주요업무계획")]


def test_manifestless_reports_are_named_by_their_titles():
    assert infer_files("감사위원회 정원은?", BUSAN) == ["a.pdf"]
    assert infer_files("기획관이랑 대변인실 정원 비교", BUSAN) == ["b.pdf", "c.pdf"]
    assert infer_files("주요업무계획 정원은?", BUSAN) == []  # a word every title shares names no report


DACON = [Doc("a.pdf", "고용노동부_내일배움카드(일반)"), Doc("b.pdf", "고용노동부_조기재취업수당"),
         Doc("c.pdf", "보건복지부_생계급여"), Doc("d.pdf", "「FIS 이슈 & 포커스」 22-3호 《재정융자사업》"),
         Doc("e.pdf", "「FIS 이슈 & 포커스」 23-3호 《조세지출 연계관리》")]


def test_file_names_joined_by_underscores_name_their_reports():
    """ "고용노동부 내일배움카드(일반) 2022년 결산액" searched all eleven Dacon reports: the title
    "고용노동부_내일배움카드(일반)" was one word no question spells whole."""
    assert infer_files("고용노동부 내일배움카드(일반) 2022년 결산액 얼마야?", DACON) == ["a.pdf"]
    assert infer_files("내일배움카드랑 조기재취업수당 2024년 예산 비교", DACON) == ["a.pdf", "b.pdf"]
    assert infer_files("고용노동부 사업들 예산 합치면?", DACON) == ["a.pdf", "b.pdf"]  # the issuer names its reports
    assert infer_files("조세지출 이슈&포커스에서 국세감면율", DACON) == ["e.pdf"]
    # "포커스" stands in two titles after their issuer: it names neither report
    assert infer_files("재정융자 이슈&포커스 기금 규모", DACON) == []


def test_a_programs_name_stays_a_word_once_it_picked_its_report(tokenizer):
    """Its tables print the program as the row label ("내일배움카드(일반): 2022년 결산 322,799"); the issuer
    ("고용노동부") only picked the report."""
    from app.answer import prepare

    view = CountingView(tokenizer, DACON)
    prep = prepare(view, "고용노동부 내일배움카드 2022년 결산액 얼마야?", ["a.pdf"])
    assert "내일배움카드" in prep.intent.terms
    assert "고용노동부" not in prep.intent.terms


def test_a_word_of_a_reports_kind_stays_a_word_the_tables_print(tokenizer):
    """ "시의회 예산안 검토보고서 보면 2024년 출연금 예산안이 얼마야?": "예산안" was dropped as a word of the
    report's alias "예산안검토", so "2024년 예산요구안 (A)" tied with the "2024 예산안 (B)" column asked."""
    from app.answer import prepare

    docs = [Doc("a.pdf", "2024년도 디지털정책관 소관 예산안 검토보고", "서울특별시의회 (디지털정책관 소관, 수석전문위원)",
                "2023", "예산안 검토보고", ("디지털정책관", "예산안검토", "검토보고", "시의회"))]
    prep = prepare(TokenizingView(tokenizer, docs), "시의회 예산안 검토보고서 보면 2024년 출연금 예산안이 얼마야?", ["a.pdf"])
    assert "예산안" in prep.intent.terms
    assert not {"시의회", "검토", "검토보고"} & set(prep.intent.terms)


def test_a_word_inside_a_reports_name_stays_a_word(tokenizer):
    """ "청년산학국" picked the report, but its morphemes were dropped too: "청년" no longer told the 청년 rows
    of that report's tables from the 산학협력 rows."""
    from app.answer import prepare

    docs = [Doc("a.pdf", "2025년 청년산학국 주요업무계획"), Doc("b.pdf", "2025년 기획관 주요업무계획")]
    prep = prepare(TokenizingView(tokenizer, docs), "청년산학국 청년 일자리 예산 얼마야?", ["a.pdf"])
    assert "청년" in prep.intent.terms
    assert "청년산학국" not in prep.intent.terms


def test_aliases_and_years_pick_the_report():
    docs = [Doc("2020.pdf", "2020년 주요 업무보고", "서울디지털재단", "2020-10", aliases=("디지털재단",)),
            Doc("2024.pdf", "2024년 주요 업무보고", "서울디지털재단", "2024-11", aliases=("디지털재단",))]
    assert infer_files("디지털재단 2024년 인건비", docs) == ["2024.pdf"]
    assert content_years("디지털재단 2024년 2023년 최종예산", docs, ["2024.pdf"]) == [2023]


def test_last_year_is_the_year_before_the_reports_own():
    """ "인재개발원 작년 집합교육 달성률": a 2025 plan prints 2024's results beside 2025's plan; 작년 is 2024."""
    docs = [Doc("2020.pdf", "2020년 주요 업무보고", "서울디지털재단", "2020-10"),
            Doc("2025.pdf", "2025년 인재개발원 주요업무계획", "인재개발원", "")]
    assert content_years("인재개발원 작년 집합교육 달성률", docs, ["2025.pdf"]) == [2024]
    assert content_years("재작년이랑 작년 비교", docs, ["2025.pdf"]) == [2023, 2024]
    assert content_years("작년(2024년) 예산은", docs, ["2025.pdf"]) == [2024]
    assert content_years("전년 대비 얼마나 늘었어", docs, ["2025.pdf"]) == []
    assert content_years("작년 예산", docs, ["2020.pdf", "2025.pdf"]) == []  # two years: whose 작년 is unclear


def test_labelled_lines_make_a_list():
    chunk = text_chunk("◦ 블록체인 기업 집적 인프라(BIFC 內 3개 센터)\n- (비-스페이스) 인큐베이팅\n"
                       "- (기술혁신지원센터) 테스트베드\n- (역외기업육성센터) 기업유치\n◦ 전문인력 양성")
    from app.answer.candidates import labelled_items

    c = labelled_items(hit(chunk), 0)[0]
    assert c.text.startswith("3개:") and "역외기업육성센터" in c.text


def test_a_question_is_embedded_once_across_report_scopes():
    import numpy as np

    from index.retrieval import _LastQuery

    class Counting:
        calls = 0

        def embed_queries(self, texts):
            Counting.calls += 1
            return np.ones((len(texts), 3))

    enc = _LastQuery(Counting())
    for _ in range(3):
        enc.embed_queries(["감사위원회랑 기획관 정원 비교"])
    enc.embed_queries(["다른 질문"])
    assert Counting.calls == 2


def test_an_organization_a_report_writes_about_is_not_unknown():
    # "부산글로벌도시재단 대표이사 누구야" abstained: no report is that foundation's, but 대변인실's names its head.
    mentioned = {"부산글로벌도시재단", "서울교통공사"}.__contains__
    assert not names_unknown_organization("부산글로벌도시재단 대표이사 누구야?", BUSAN, [], mentioned)
    # ... while a question for an organization's own report still finds none here
    assert names_unknown_organization("서울교통공사 2024년 주요 업무보고에서 정원이 몇 명이야?", BUSAN, [], mentioned)
    assert names_unknown_organization("부산문화재단 대표이사 누구야?", BUSAN, [], mentioned)


class CountingView:
    """A retrieval view over one staffing table per report, counting the searches made per report."""

    def __init__(self, tokenizer, docs: list[Doc]) -> None:
        self.docs = docs
        self._tokenizer = tokenizer
        self.searches: list[list[str]] = []

    def hits(self, question, files, k):
        self.searches.append(list(files))
        return [hit(table_chunk(STAFF.columns, [("5급", ["16", "15", "△1"])], file=f, page=i + 1), score=1 / (i + 1))
                for i, f in enumerate(reversed(files))][:k]

    def morphemes(self, text):
        return self._tokenizer.morphemes(text)

    def words(self, text):
        return text.split()

    def idf(self, term):
        return 1.0

    def known(self, term):
        return True

    def mentions(self, term, files):
        return True

    def section_lines(self, file, section):
        return []

    def subtree_lines(self, file, section):
        return []

    def table_rows(self, file, table_id):
        return []

    def following_lines(self, chunk_id, n):
        return []


def test_a_long_archive_is_not_read_report_by_report(tokenizer):
    """ "서울시재단 5급 현원은 지금 몇 명" over 30 years of one body's reports scoped to all 30 and searched 31
    times (5.9 s p95 at 10^5 chunks); the reports of the best hits are read one by one, at most PER_FILE_MAX."""
    from app.answer import PER_FILE_MAX, prepare

    docs = [Doc(f"{1996 + y}.pdf", f"{1996 + y}년 서울시재단 업무보고", "서울시재단", str(1996 + y)) for y in range(30)]
    view = CountingView(tokenizer, docs)
    files = [d.file for d in docs]
    prep = prepare(view, "서울시재단 5급 현원은 지금 몇 명인가요?", files)
    assert len(view.searches) == 1 + PER_FILE_MAX
    assert set(prep.per_file) == {"2025.pdf", "2024.pdf", "2023.pdf", "2022.pdf"}  # the first whole-question hits
    assert list(prep.per_file) == sorted(prep.per_file)  # in the scoped order, as composed


def test_reports_named_together_are_each_read(tokenizer):
    from app.answer import prepare

    docs = [Doc("a.pdf", "기획관 업무계획", "기획관"), Doc("b.pdf", "대변인실 업무계획", "대변인실")]
    view = CountingView(tokenizer, docs)
    prep = prepare(view, "기획관이랑 대변인실 5급 현원 비교", ["a.pdf", "b.pdf"])
    assert view.searches == [["a.pdf", "b.pdf"], ["a.pdf"], ["b.pdf"]]
    assert list(prep.per_file) == ["a.pdf", "b.pdf"]


class TokenizingView(CountingView):
    """Words read as the index reads them: "청년산학국" is 청년, 산학국, 산학, 국."""

    def words(self, text):
        return self._tokenizer(text)


class ReadOnView(CountingView):
    """One chunk that stops mid-sentence; the next chunk's lines finish the sentence on their fourth line."""
    CHUNK = text_chunk("○ “데이터기반 분야” 8개 세부사업의 세출예산은 약 29억 5천만원 감액(△18.83%) 편성되었으며,\n"
                       "디지털정책관 사업비의 8.3%를 차지함. 주요 감액 요인으로는", section="(2) 정책사업 분야")
    FOLLOWING = ("빅데이터 서비스", "플랫폼 3단계가", "구축 완료되어 해당", "예산을 미편성한 것으로 파악됨.", "○ 다음 분야")

    def hits(self, question, files, k):
        return [hit(self.CHUNK)]

    def following_lines(self, chunk_id, n):
        return list(self.FOLLOWING[:n])


def test_a_reason_reads_on_into_the_next_chunk_to_the_end_of_its_sentence(tokenizer):
    """디지털정책관 p.9: "주요 감액 요인으로는" ends a chunk, and only three lines of the next were read, so the
    answer stopped at "해당 예산을" before the reason ("미편성")."""
    from app.answer import prepare

    prep = prepare(ReadOnView(tokenizer, [Doc("a.pdf", "2024 디지털정책관 예산안 검토보고")]),
                   "데이터기반 분야 예산 왜 줄었어?", ["a.pdf"])
    first = next(c for c in prep.candidates if c.kind == "span" and c.text.startswith("○ “데이터기반"))
    assert first.after.endswith("미편성한 것으로 파악됨")


def test_a_reference_list_is_no_answer():
    """ "조세지출 연계관리 보고서가 결론에서 제시하는 대안이 뭐야" was answered with the report's reference list."""
    chunk = text_chunk("대안으로 조세지출과 재정지출의 통합심층평가가 필요함\n기획재정부. (2023). 「2023년도 조세지출 기본계획」.\n"
                       "정성호. (2019). dBrain을 활용한 재정지출과 조세지출 연계관리.", page=9)
    texts = [c.text for c in spans(hit(chunk), 0)]
    assert texts == ["대안으로 조세지출과 재정지출의 통합심층평가가 필요함"]


def test_reports_of_one_body_have_one_issuer():
    from index.scope import issuer

    assert issuer("", "2020_서울디지털재단_주요업무보고") == issuer("", "2024년 서울디지털재단 주요업무보고")
    assert issuer("", "2025년 기획관 주요업무계획") != issuer("", "2025년 감사위원회 주요업무계획")
    assert issuer("", "고용노동부_내일배움카드(일반)") != issuer("", "고용노동부_조기재취업수당")
    assert issuer("서울디지털재단", "2020년 주요 업무보고") == issuer("서울디지털재단", "2024년 주요 업무보고")


def test_a_heading_chunked_alone_reads_on_into_its_items():
    """ "감사위원회 출자·출연기관 종합감사 어디어디": the heading was chunked alone and its items opened the next
    chunk, so the answer stopped at the heading."""
    heading = text_chunk("□ 기관운영 효율화를 담보하는 출자․출연기관 종합감사 실시", page=11)
    following = ["○ (감사대상) 출자·출연 4개 기관", "- 정보산업진흥원(2월), 벡스코(2월), 테크노파크(10월)"]
    alone = spans(hit(heading), 0)
    read_on = spans(hit(heading), 0, following=following)
    assert [c.text for c in read_on] == [c.text for c in alone]  # the candidates are the chunk's own lines
    assert alone[0].after == ""
    assert "벡스코" in read_on[0].after and read_on[0].after.startswith("○ (감사대상)")


def test_a_column_printed_without_a_header_is_not_named_in_the_answer():
    """2024 디지털정책관 p.30: "416,080 (서울 스마트도시상 운영, 열3)" named a column by the placeholder ingest
    gives a headerless column; the answer drops it, the evidence keeps it to point at the cell."""
    table = table_chunk(["구분", "열2", "열3", "열4"],
                        [("WeGO 회원소통 및 홍보", ["61,000", "61,000", "-"]),
                         ("서울 스마트도시상 운영", ["342,000", "416,080", "74,080"])])
    cell = next(c for c in cells(hit(table), 0) if c.value == "416,080")
    assert cell.column == "열3"
    for text in (cell.text, headline(cell), row_summary(table, cell.table_row),
                 *(c.text for c in extremes(hit(table), 0, table.rows, "max"))):
        assert "열" not in text
    assert "416,080" in row_summary(table, cell.table_row)


def test_a_count_is_asked_in_its_counter(tokenizer):
    """ "2020 서울빅데이터포럼 참석자 몇 명이었어" (the report never says) met a line counting 카드뉴스 3회 and 영상보고서
    4회: a count, but of sessions, not people."""
    assert intent_of(tokenizer, "2020 서울빅데이터포럼 참석자 몇 명이었어?").counter == "명"
    assert intent_of(tokenizer, "빅데이터캠퍼스 분원 몇 군데야?").counter == "군데"
    assert intent_of(tokenizer, "서울시재단 예산 얼마야?").counter == ""

    def fit(question: str, c: Candidate) -> float:
        return features(c, question_facts(intent_of(tokenizer, question), lambda t: True, 1.0))["counter_fit"]

    sessions = spans(hit(text_chunk("성과확산 콘텐츠 제작 : 카드뉴스 3회, 모션그래픽 4회 제작·배포")), 0)[0]
    people = spans(hit(text_chunk("2019 서울빅데이터포럼 개최 : 참석자 1,200명")), 0)[0]
    assert fit("참석자 몇 명이었어?", sessions) == 0
    assert fit("참석자 몇 명이었어?", people) == 1
    sites = table_chunk(["구분", "설치"], [("분원", ["8"])], unit="개소")
    assert fit("분원 몇 군데야?", next(iter(cells(hit(sites), 0)))) == 1  # 개소 counts places as 군데 does
    assert fit("5급 현원 몇 명이야?", next(c for c in cells(hit(STAFF), 0) if c.row == "5급")) == 1


SAFETY_AUDITS = "V. 2025년도 주요역점 시책 > 3-3. 재난안전 취약분야 선제적 안전감찰을 통한 생활안전망 강화"
SAFETY_LINES = {  # 감사위원회 p.17: five audits under two boxes, each chunked as a section of its own but one
    f"{SAFETY_AUDITS}": ["3-3. 재난안전 취약분야 선제적 안전감찰을 통한 생활안전망 강화"],
    f"{SAFETY_AUDITS} > 재난안전 취약분야 안전감찰 강화": ["□ 재난안전 취약분야 안전감찰 강화"],
    f"{SAFETY_AUDITS} > 재난안전 취약분야 안전감찰 강화 > 기계식주차장 안전관리실태 안전감찰": [
        "○ 기계식주차장 안전관리실태 안전감찰", "- (추진시기) 2025. 2월", "○ 우기철 풍수해 대비 예·경보시스템 관리실태 안전감찰",
        "- (추진시기) 2025. 5월 ~ 6월"],
    f"{SAFETY_AUDITS} > 재난안전 취약분야 안전감찰 강화 > 아케이드형 전통시장 안전관리실태 안전감찰": [
        "○ 아케이드형 전통시장 안전관리실태 안전감찰", "- (추진시기) 2025. 10월 ~ 11월"],
    f"{SAFETY_AUDITS} > 안전취약계층 생활밀착형 이용시설 안전 강화": ["□ 안전취약계층 생활밀착형 이용시설 안전 강화"],
    f"{SAFETY_AUDITS} > 안전취약계층 생활밀착형 이용시설 안전 강화 > 장애인 거주시설 관리실태 안전감찰": [
        "○ 장애인 거주시설 관리실태 안전감찰", "- (추진시기) 2025. 8월 ~ 9월"],
}


def _subtree(section: str) -> list[str]:
    return [ln for s, lines in SAFETY_LINES.items() if s == section or s.startswith(section + " > ") for ln in lines]


def _sibling_lists(tokenizer, question: str, section: str) -> list[Candidate]:
    from app.answer.candidates import ancestors

    chunk = text_chunk("\n".join(SAFETY_LINES[section]), section=section, page=17)
    subtrees = {("a.pdf", a): _subtree(a) for a in ancestors(section)}
    lines = {("a.pdf", section): SAFETY_LINES[section]}
    found = generate(intent_of(tokenizer, question), [hit(chunk)], lines, {}, {}, subtrees)
    return [c for c in found if c.kind == "list" and c.labels in {a.split(" > ")[-1] for _, a in subtrees}]


def test_headings_printed_alike_under_the_section_the_question_names_are_listed(tokenizer):
    """감사위원회 p.17: "올해 안전감찰 어떤 것들 잡혀 있어" found one audit's chunk; the five audits are headings of
    their own sections (or lines in another's) under 3-3, and no single section listed them."""
    section = f"{SAFETY_AUDITS} > 안전취약계층 생활밀착형 이용시설 안전 강화 > 장애인 거주시설 관리실태 안전감찰"
    found = {c.labels: c.items for c in _sibling_lists(tokenizer, "감사위원회 올해 안전감찰 어떤 것들 잡혀 있어?", section)}
    assert found["3-3. 재난안전 취약분야 선제적 안전감찰을 통한 생활안전망 강화"] == (
        "기계식주차장 안전관리실태 안전감찰", "우기철 풍수해 대비 예·경보시스템 관리실태 안전감찰",
        "아케이드형 전통시장 안전관리실태 안전감찰", "장애인 거주시설 관리실태 안전감찰")
    # the parent names 안전 but not 안전감찰 better than the audit's own heading does: no list of its one child
    assert "안전취약계층 생활밀착형 이용시설 안전 강화" not in found


def test_no_sibling_list_where_the_hits_own_heading_names_the_question_better(tokenizer):
    """ "출자·출연기관 종합감사 어디어디 해" was answered with the chapter's 13 goals, since the chapter's title
    holds 감사; the question is answered under the heading that names all its words."""
    section = f"{SAFETY_AUDITS} > 재난안전 취약분야 안전감찰 강화 > 아케이드형 전통시장 안전관리실태 안전감찰"
    assert _sibling_lists(tokenizer, "아케이드형 전통시장 안전감찰 점검 항목 뭐뭐야?", section) == []
