"""Ingest on the real corpus PDFs, real third-party PDFs (fixtures) and broken files."""
from __future__ import annotations

from pathlib import Path

import pytest

from app.cli import main as cli_main
from ingest.models import Chunk, DocumentMeta, Grid, Line, TableChunk, TextChunk
from ingest.normalize import clean_label, repair_split_numbers, squash_letter_spacing
from ingest.pipeline import (
    PAGES_PER_TASK,
    ingest_corpus,
    ingest_file,
    ingest_paths,
    load_manifest,
    read_chunks,
    write_chunks,
)
from ingest.structure import aligned_grids, lettered_header, structure
from ingest.text_reader import parse_lines

from .conftest import CORPUS, FIXTURES

REPORT_000 = CORPUS / "2025_서울시재단_주요업무보고.pdf"


@pytest.fixture(scope="module")
def chunks_000():
    meta = load_manifest(CORPUS)[REPORT_000.name]
    chunks, stats = ingest_file(REPORT_000, meta)
    return chunks, stats


def _cell(chunk, row_label: str, column: str) -> str:
    j = chunk.columns.index(column)
    row = next(r for r in chunk.rows if r.header == row_label)
    return row.values[j - 1]


def test_budget_table_of_000_keeps_caption_unit_and_cell(chunks_000):
    chunks, stats = chunks_000
    table = next(c for c in chunks if c.kind == "table" and c.caption == "세입 총괄")
    assert table.unit == "천원"
    assert table.as_of == "’25. 10. 10."
    assert table.page == 3
    assert table.columns[:3] == ["구분", "2025 예산현액", "2024 최종예산"]
    assert _cell(table, "서울시 출연금", "2025 예산현액") == "13,797,110"
    assert "서울시 출연금: 2025 예산현액 = 13,797,110" in table.search_text
    assert "13797110" in table.search_text  # figures are matchable without commas too
    assert table.section.endswith("세입 총괄") and table.title == "2025년 주요 업무보고"
    assert stats.pages == 18 and stats.tables >= 15


def test_table_chunks_answer_cells_by_row_and_column(chunks_000):
    """The table API: value columns without the row-label column, a cell by its labels, None for no such cell."""
    table = next(c for c in chunks_000[0] if c.kind == "table" and c.caption == "세입 총괄")
    assert table.label_column == "구분" and table.value_columns[0] == "2025 예산현액"
    assert table.cell("서울시 출연금", "2024 최종예산") == "8,193,261"
    assert table.cell("서울시 출연금", "없는 열") is None and table.cell("없는 행", "2024 최종예산") is None
    row = next(r for r in table.rows if r.header == "서울시 출연금")
    assert table.cells(row)[0] == ("2025 예산현액", "13,797,110")


def test_chunk_metadata_is_complete_and_ids_stable(chunks_000):
    chunks, _ = chunks_000
    again, _ = ingest_file(REPORT_000, load_manifest(CORPUS)[REPORT_000.name])
    assert [c.id for c in chunks] == [c.id for c in again]
    assert len({c.id for c in chunks}) == len(chunks)
    for c in chunks:
        assert c.file == REPORT_000.name and c.organization == "서울시재단" and c.date == "2025-11"
        assert c.page is not None and 1 <= c.page <= 18
        assert isinstance(c, TableChunk | TextChunk)
        assert (c.kind == "table") == isinstance(c, TableChunk)


def test_staffing_table_headcounts(chunks_000):
    chunks, _ = chunks_000
    staff = next(c for c in chunks if c.kind == "table" and "정원" in [r.header for r in c.rows])
    assert _cell(staff, "정원", "계") == "51"
    assert _cell(staff, "현원", "5급") == "23"
    assert _cell(staff, "과부족", "계") == "△6"


def test_text_chunks_never_span_two_sections(chunks_000):
    chunks, _ = chunks_000
    sections = [c.section for c in chunks if c.kind == "text"]
    assert len(set(sections)) > 20
    for c in chunks:
        if c.kind == "text":
            assert len(c.text) <= 800


def test_space_separated_tables_of_004_become_tables():
    path = CORPUS / "2024_디지털정책관_예산안검토보고.pdf"
    chunks, stats = ingest_file(path, load_manifest(CORPUS)[path.name])
    table = next(c for c in chunks if c.kind == "table" and any(r.header == "총계" for r in c.rows)
                 and "153,799" in c.text)
    assert table.columns == ["사항별", "2024 예산안", "2023 예산액", "증감액", "증감률(%)"]
    assert _cell(table, "총계", "증감액") == "△6,222"
    assert table.unit == "백만원"
    assert stats.tables >= 40


def test_rows_printed_one_cell_per_line_are_joined_under_their_lettered_header():
    """The 2024 디지털정책관 검토보고 prints 14 per-program budget tables one cell per line, "(x-)" between
    the cells, under a header stacked over four lines. They were text: "지능형 CCTV 고도화 … 얼마나
    줄었어" had no cell to answer from. A row also runs on past a page footer."""
    lines = [Line(t, 43) for t in [
        "② 지능형 CCTV 고도화(사업별설명서 281p, 예산서 378p)", "(단위 : 천원)", "구 분", "2023년 2024예산(안)",
        "(B) 증감 (B-A)", "본예산 최종예산 (A) (B-A)*100/A", "계 (x-)", "9,204,800", "(x-)", "9,604,800", "(x-)",
        "8,171,600", "(x-)", "△1,433,200", "(x-)", "△15", "사무관리비 (x-)", "12,300", "(x-)", "- 43 -"]]
    lines += [Line(t, 44) for t in ["12,300", "(x-)", "9,100", "(x-)", "△3,200", "(x-)", "△26", "○ 다음 문단"]]
    table, = structure(lines, "t").tables
    assert table.columns == ["구분", "2023년 본예산", "2023년 최종예산 (A)", "2024 예산안 (B)", "증감 (B-A)", "증감률 (%)"]
    assert [r.header for r in table.rows] == ["계", "사무관리비"]
    assert table.rows[0].values[3] == "△1,433,200" and table.rows[1].values == ["12,300", "12,300", "9,100", "△3,200", "△26"]
    assert table.caption == "지능형 CCTV 고도화" and table.unit == "천원"


def test_lettered_header_of_four_columns_keeps_the_year_of_a():
    assert lettered_header(["구 분 2024년 예산요구안(A)", "(출연동의안) 2024예산(안) (B) 증감 (B-A)", "(B-A)*100/A"], 4) == (
        ["구분", "2024년 예산요구안 (A)", "2024 예산안 (B)", "증감 (B-A)", "증감률 (%)"], 3)
    assert lettered_header(["구 분", "2024 예산안", "2023 예산액"], 2) is None  # no letters: not this kind


def test_budget_review_tables_printed_cell_by_cell_are_tables():
    path = CORPUS / "2024_디지털정책관_예산안검토보고.pdf"
    chunks, _ = ingest_file(path, load_manifest(CORPUS)[path.name])
    lettered = [c for c in chunks if c.kind == "table" and "증감 (B-A)" in c.columns]
    assert len({c.table_id for c in lettered}) >= 14
    cctv = next(c for c in lettered if c.caption == "지능형 CCTV 고도화")
    assert cctv.page == 43 and _cell(cctv, "계", "증감 (B-A)") == "△1,433,200"
    assert not any("(x-)" in c.text for c in chunks)


def test_multi_line_header_of_unruled_2020_table():
    path = CORPUS / "2020_서울디지털재단_주요업무보고.pdf"
    chunks, _ = ingest_file(path, load_manifest(CORPUS)[path.name])
    table = next(c for c in chunks if c.kind == "table" and c.page == 1 and "집행률" in c.columns)
    assert table.columns == ["구분", "2020 예산현액", "2019 최종예산", "증감액", "증감률", "집행액", "집행률"]
    assert _cell(table, "인건비", "2020 예산현액") == "2,415,915"


def test_table_continues_after_page_footer_with_its_header():
    lines = [Line(t, 1) for t in ["사 항 별 2024 예산안 2023 예산액", "총 계 17,214 14,237", "일반회계 13,596 14,237",
                                 "- 3 -", "세외수입 12,950 13,252", "보조금 635 716"]]
    grids = aligned_grids(lines)
    assert len(grids) == 2
    assert grids[1][2].continues and grids[1][2].rows[0] == ["사항별", "2024 예산안", "2023 예산액"]


def test_a_table_running_onto_the_next_page_keeps_one_id_and_each_row_its_page():
    """Each page of a table under a repeated header got its own id, so a list or an extreme over the
    table saw one page's rows (2025 서울시재단 p.6-7: "AI 행정서비스 4종 모델", two models per page)."""
    head = ["모델명", "추진현황"]
    doc = structure([Grid([head, ["범용 AI 업무매뉴얼", "개발 완료"], ["영유아 보육행정", "개발 중"]], 6), Line("- 6 -", 6),
                     Grid([head, ["제안요청서 생성 AI", "개발 중"], ["대사증후군 상담 AI", "기획"]], 7)], "k")
    assert len({t.table_id for t in doc.tables}) == 1
    assert [(r.header, r.page) for t in doc.tables for r in t.rows] == [
        ("범용 AI 업무매뉴얼", 6), ("영유아 보육행정", 6), ("제안요청서 생성 AI", 7), ("대사증후군 상담 AI", 7)]
    other = structure([Grid([head, ["a", "b"], ["c", "d"]], 6), Line("□ 다른 표", 7), Grid([head, ["e", "f"], ["g", "h"]], 7)], "k")
    assert len({t.table_id for t in other.tables}) == 2  # a caption between them: two tables


def test_the_four_ai_models_table_of_two_pages_is_one_table():
    path = CORPUS / "2025_서울시재단_주요업무보고.pdf"
    chunks, stats = ingest_file(path, load_manifest(CORPUS)[path.name])
    models = [c for c in chunks if isinstance(c, TableChunk) and c.caption.startswith("AI 행정서비스 4종")]
    assert {c.page for c in models} == {6, 7} and len({c.table_id for c in models}) == 1
    assert [r.page for c in models for r in c.rows] == [6, 6, 7, 7]
    assert stats.tables == len({c.table_id for c in chunks if isinstance(c, TableChunk)})


def test_a_month_header_keeps_its_last_month_apart_from_the_total():
    """ "9월 총 합" was joined into one label "9월총합" (a spaced run right after a digit), so the month header
    came one label short and the visitors table (2024 디지털정책관 검토보고 p.25) got columns 열1..열11."""
    assert squash_letter_spacing("9월 총 합", short=True) == "9월 총합"
    assert squash_letter_spacing("위원 7명 및 그 외") == "위원 7명 및그외"  # "명" stays with its 7
    lines = [Line(t, 25) for t in ["구 분 1월 2월 3월 4월 5월 6월 7월 8월 9월 총 합",
                                  "방문자 수 13,097 14,013 10,088 8,212 9,466 14,609 16,562 19,310 19,331 124,688",
                                  "다운로드 수 6,383 5,104 2,807 2,560 3,065 2,657 2,534 2,101 1,430 28,641"]]
    (_, _, grid), = aligned_grids(lines)
    assert grid.rows[0][9:] == ["9월", "총합"] and grid.rows[1][9] == "19,331"


def test_a_labelled_value_stays_with_the_program_above():
    """ "ㅇ 사업비 : 436백만원(시비)" states a fact of the program under its heading; as a heading of its own it
    became a one-line chunk no question retrieved (Busan 자치경찰위원회 p.20)."""
    doc = structure([Line("□ 사업개요", 20), Line("ㅇ 사업내용", 20), Line("- 스토킹 피해자 맞춤형 지원", 20),
                     Line("ㅇ 사업비 : 436백만원(시비)", 20), Line("□ 세입예산 (단위 : 천원)", 20), Line("계 100", 20)], "k")
    budget = next(t for t in doc.texts if "436백만원" in "\n".join(t.lines))
    assert budget.section.endswith("사업내용") and "스토킹 피해자 맞춤형 지원" in budget.lines[-2]
    assert doc.texts[-1].section.startswith("세입예산")  # a colon in a caption's brackets is still a heading


def test_a_work_plans_numbered_program_heads_its_section():
    """Busan plans print each program as "3 관계성 범죄 …" (number in a box, no period, restarting under every
    goal): its lines were filed under the previous program's last heading ("향후계획")."""
    lines = ["Ⅲ. 주요업무 추진계획", "1 치안 현장과의 소통", "□ 향후계획", "ㅇ 실무협의회 개최",
             "3 관계성 범죄 재범 방지 및 피해자 보호 지원 강화", "❖ 고위험 피해자 맞춤형 보호", "8 강북구",
             "2 상시 메타버스 한복의상 - - -"]
    doc = structure([Line(t, 20) for t in lines], "k")
    program = next(t for t in doc.texts if "❖ 고위험 피해자 맞춤형 보호" in t.lines)
    assert program.section == "III. 주요업무 추진계획 > 관계성 범죄 재범 방지 및 피해자 보호 지원 강화"
    # one word, or a row of figures, is a list's row, not a program
    assert "8 강북구" in program.lines and "2 상시 메타버스 한복의상 - - -" in program.lines


def test_letter_spaced_heading_normalizes():
    assert squash_letter_spacing("Ⅰ. 기 본 현 황") == "Ⅰ. 기본현황"
    assert clean_label("정 원") == "정원"
    assert clean_label("디 지 털 정 책 과") == "디지털정책과"
    # ordinary prose keeps its spaces: "및 그" is two words
    assert squash_letter_spacing("사업 및 그 밖에 필요한 사항") == "사업 및 그 밖에 필요한 사항"
    # a spaced label before its value, inside a prose line: "조직" must match the question's word
    assert squash_letter_spacing("\uf000 조 직 ▻ 3과 1단 ❖ 위 원 : 7명, 및 그 밖에") == "\uf000 조직 ▻ 3과 1단 ❖ 위원 : 7명, 및 그 밖에"
    doc = structure([Line("Ⅰ. 일 반 현 황", 1), Line("□ 기 본 현 황", 1), Line("재단은 2본부 8팀이다.", 1)], "k")
    assert doc.texts[-1].section == "I. 일반현황 > 기본현황"  # labels are NFKC: Ⅰ and I match alike


def test_ocr_split_numbers_are_repaired_for_matching():
    assert repair_split_numbers(["디지털정책과", "31,197,212", "11,329", ",477", "57.0%"]) == [
        "디지털정책과", "31,197,212", "11,329,477", "57.0%"]
    assert repair_split_numbers(["720", "6.0%"]) == ["720", "6.0%"]
    blocks = parse_lines(["구 분\t2025 예산\t2024 예산\t증감액\t증감률",
                          "데 이 터 센 터\t52,700,772\t57,209,052\t△4,508\t,280\t△7.9%",
                          "정 보 보 안 과\t10,361,254\t6,942,723\t3,418\t,531\t49.2%"], None)
    table = structure(blocks, "k").tables[0]
    row = table.rows[0]
    assert row.header == "데이터센터"
    assert row.values == ["52,700,772", "57,209,052", "△4,508,280", "△7.9%"]


def test_a_figure_column_cut_in_two_with_its_header_stays_one_column():
    """OCR cut "증감액" into "증 감 | 액" and each figure into "18,627 | ,523". Rows repaired one by one came out
    a cell short, so 증감률 read the 집행액 figures and 디지털정책과's 57.0% stood under a column named "액"."""
    head = ["구 분", "2024 최동에산", "증 감", "액", "증 감 률", "집 행 액"]
    rows = [["계", "167,297,642", "18,627", ",523", "11.1%", "152,727,907"],
            ["디지털정책과", "19,867,735", "11,329", ",477", "57.0%", "22,755,409"]]
    table = structure([Grid([head, *rows], 3, spans=[[1] * 6] * 3)], "k").tables[0]
    assert table.columns == ["구분", "2024 최동에산", "증감액", "증감률", "집행액"]
    assert table.rows[1].values == ["19,867,735", "11,329,477", "57.0%", "22,755,409"]


def test_a_column_numbering_the_rows_is_no_column_of_figures():
    """ "1 | 중소기업 | 26,889": the 연번 column counting 1, 2, 3 read as the table's first figures, so every row was
    labelled by the caption and each figure stood one column right ("2021 실적" holding the names; FIS 조세지출 p.5)."""
    head = ["분야", "", "2021 실적", "2021 비중"]
    rows = [["1", "중소기업", "26,889", "4.7"], ["2", "연구개발", "30,270", "5.3"], ["3", "국제자본거래", "1", "0.0"],
            ["합 계", "합 계", "570,248", "100.0"]]
    table = structure([Line("<표 4> 분야별 조세지출", 5), Grid([head, *rows], 5)], "k").tables[0]
    assert table.columns[1:] == ["2021 실적", "2021 비중"]
    assert [(r.header, r.values[0]) for r in table.rows[:2]] == [("1 중소기업", "26,889"), ("2 연구개발", "30,270")]
    # a first column of real figures still has no label column of its own
    sums = structure([Line("<표> 차종별", 1), Grid([["계", "승용", "승합"], ["1,559", "1,300", "259"]], 1)], "k")
    assert sums.tables[0].rows[0].values[0] == "1,559"


def test_the_2025_expenditure_table_reads_its_change_rate_and_final_budget():
    """The 세출 총괄 table of 2025 디지털도시국 p.3: the split 증감액 column and "2024 최종 예산", printed above its
    OCR misreading "2024 최동에산", which was dropped as debris."""
    path = CORPUS / "2025_디지털도시국_주요업무보고.pdf"
    chunks, _ = ingest_file(path, load_manifest(CORPUS)[path.name])
    table = [c for c in chunks if isinstance(c, TableChunk) and c.caption == "세출 총괄"]
    columns = table[0].columns
    rows = {r.header.replace(" ", ""): r.values for c in table for r in c.rows}
    assert rows["디지털정책과"][columns.index("증감 증감률") - 1] == "57.0%"
    assert rows["데이터센터"][columns.index("2024 최종 예산") - 1] == "57,209,052"

def test_html_cells_and_angle_bracket_labels():
    blocks = parse_lines(["부 서 명\t업 무 내 용", "<p>AI전략 사업팀</p>\t<ul><li>○ 글로벌 협력</li><li>- 공모사업</li></ul>",
                          "<일반회계> 13,596 14,237 △641 △4.5%"], None)
    grid = blocks[0]
    assert isinstance(grid, Grid) and grid.rows[1] == ["AI전략 사업팀", "○ 글로벌 협력\n- 공모사업"]
    assert blocks[1].text.startswith("<일반회계>")  # Korean in angle brackets is text, not markup


def test_form_feeds_give_pages_and_plain_text_has_none(tmp_path):
    paged = tmp_path / "paged.txt"
    paged.write_text("Ⅰ. 현황\n첫 쪽 내용입니다.\f둘째 쪽 내용입니다.", encoding="utf-8")
    plain = tmp_path / "plain.txt"
    plain.write_text("Ⅰ. 현황\n쪽 구분이 없는 보고서입니다.", encoding="cp949")
    result = ingest_paths([paged, plain], {})
    assert not result.failures
    pages = {c.text.split("\n")[-1]: c.page for c in result.chunks}
    assert pages["둘째 쪽 내용입니다."] == 2
    assert all(c.page is None for c in result.chunks if c.file == "plain.txt")


def test_busan_fixture_recovers_cells_lost_to_missing_rules():
    path = FIXTURES / "busan_gihoekgwan_p5-6.pdf"
    chunks, stats = ingest_file(path, DocumentMeta(file=path.name, title="기획관 주요업무계획"))
    staff = next(c for c in chunks if c.kind == "table" and c.caption == "정원 및 현원")
    assert [r.header for r in staff.rows] == ["정원", "현원", "과부족"]
    assert staff.rows[0].values[-1] == "5"  # last column had no rule on its right
    assert staff.unit == ""  # the "(단위 : 백만원)" below belongs to the next table
    budget = next(c for c in chunks if c.kind == "table" and c.caption == "2025년 예산")
    assert budget.unit == "백만원" and budget.rows[1].values[0] == "33,257"
    assert stats.pages == 2


def test_a_table_inside_a_cell_is_captioned_by_what_the_cell_names():
    """청년산학국 p.42: each 공모사업 row holds its own budget table, which took the appendix's title as caption,
    so "대학일자리플러스센터 지원사업 총사업비" found no table naming the program."""
    path = FIXTURES / "busan_cheongnyeon_p42.pdf"
    chunks, _ = ingest_file(path, DocumentMeta(file=path.name, title="청년산학국 주요업무계획"))
    inner = [c for c in chunks if c.kind == "table" and "총사업비" in c.columns]
    assert [c.caption for c in inner] == ["2024년도 지역특화 청년사업",
                                          "대학일자리플러스센터(동아대, 동명대, 동서대) 지원사업 [국가직접지원"]
    assert [(c.unit, c.rows[0].header, c.rows[0].values[0]) for c in inner] == [("백만원", "계", "40"),
                                                                               ("백만원", "계", "5,120")]


def test_a_table_without_outer_side_rules_keeps_its_first_and_last_columns():
    """자치경찰위원회 p.22: the 공모사업 lists draw full-width rules but no left or right side, so pdfplumber
    found only the middle columns; 연번 and 선정현황 ("미선정") were lost as loose text lines."""
    path = FIXTURES / "busan_jachigyeongchal_p22.pdf"
    chunks, _ = ingest_file(path, DocumentMeta(file=path.name, title="자치경찰위원회 주요업무계획"))
    table = next(c for c in chunks if c.kind == "table" and "선정현황" in c.columns)
    rows = [dict(zip(table.columns[1:], r.values)) for r in table.rows]
    assert [r["선정현황"] for r in rows if r["선정현황"]] == ["선정", "미선정", "미선정", "선정", "선정", "미선정"]
    drone = next(r for r in rows if r["공모명"].startswith("드론 스마트폴"))
    assert (drone["연번"], drone["선정현황"]) == ("2", "미선정")


def test_an_asterisk_aside_after_a_title_is_no_part_of_the_caption():
    """자치경찰위원회 p.22: "▣ 2024년 신청 추진 공모사업 * 미선정 사업 포함" ends in 포함, read as a sentence's end,
    so the 2024 list took the 2023 list's caption and a question about 2024 met a table about 2023."""
    path = FIXTURES / "busan_jachigyeongchal_p22.pdf"
    chunks, _ = ingest_file(path, DocumentMeta(file=path.name, title="자치경찰위원회 주요업무계획"))
    tables = {c.columns[-1]: c for c in chunks if c.kind == "table"}
    assert tables["추진여부"].caption == "2023년 신청 추진 공모사업"
    assert tables["선정현황"].caption == "2024년 신청 추진 공모사업"
    assert tables["선정현황"].section.endswith("2024년 신청 추진 공모사업")


def test_a_label_drawn_across_every_column_groups_the_rows_below_it():
    """자치경찰위원회 p.22: "스마트빌리지 보급 및 확산(지역균형발전특별회계)" spans the whole row; read as a row of
    empty values it made the 2024 list eight items long where it names six applications."""
    path = FIXTURES / "busan_jachigyeongchal_p22.pdf"
    chunks, _ = ingest_file(path, DocumentMeta(file=path.name, title="자치경찰위원회 주요업무계획"))
    table = next(c for c in chunks if c.kind == "table" and "선정현황" in c.columns)
    assert [r.values[0] for r in table.rows] == ["1", "2", "3", "4", "5", "6"]
    # the label merged across the row stays one piece, not split at the columns below it
    assert [r.header for r in table.rows[2:4]] == ["스마트빌리지 보급 및 확산(지역균형발전특별회계)",
                                                   "주민과 함께 더 안심, 우리동네 만들기 사업(특별교부세)"]


def test_an_org_chart_drawn_with_rules_stays_text_while_the_open_sided_tables_beside_it_are_read():
    """보건환경연구원 p.6: the org chart's boxes share their rules' ends, like an open-sided table's rows, but the
    gaps between them hold no text, so they are no table; the staffing table below keeps its rows."""
    path = FIXTURES / "busan_bohwan_p6.pdf"
    chunks, _ = ingest_file(path, DocumentMeta(file=path.name, title="보건환경연구원 주요업무계획"))
    tables = [c for c in chunks if c.kind == "table"]
    assert not [c for c in tables if any("연구부" in col for col in c.columns)]
    staff = next(c for c in tables if any(r.header == "정원" for r in c.rows))
    assert next(r for r in staff.rows if r.header == "정원").values[0] == "153"


def test_dacon_fixture_budget_table():
    path = FIXTURES / "dacon_changup.pdf"
    chunks, _ = ingest_file(path, DocumentMeta(file=path.name, title="창업사업화지원"))
    table = next(c for c in chunks if c.kind == "table" and "예산 총괄표" in c.caption)
    assert table.unit == "백만원"
    row = next(r for r in table.rows if r.header == "창업사업화지원")
    assert "377,656" in row.values


# ------------------------------------------------------------------ bad input

def _bad_files(tmp: Path) -> dict[str, Path]:
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    files = {}
    corrupt = tmp / "corrupt.pdf"
    corrupt.write_bytes(REPORT_000.read_bytes()[:5000])
    files["corrupt"] = corrupt
    empty = tmp / "empty.pdf"
    empty.write_bytes(b"")
    files["empty"] = empty
    image_only = tmp / "scan.pdf"
    c = canvas.Canvas(str(image_only), pagesize=A4)
    c.rect(100, 100, 300, 300, fill=1)
    c.showPage()
    c.save()
    files["image"] = image_only
    locked = tmp / "locked.pdf"
    c = canvas.Canvas(str(locked), pagesize=A4, encrypt="secret")
    c.drawString(100, 700, "secret report")
    c.showPage()
    c.save()
    files["encrypted"] = locked
    binary = tmp / "binary.txt"
    binary.write_bytes(b"\x00\x01\x02PK\x03\x04" * 100)
    files["binary"] = binary
    garbled = tmp / "garbled.txt"
    garbled.write_bytes(bytes([0x80, 0xFF, 0xFE, 0x81, 0x20]) * 50)
    files["encoding"] = garbled
    return files


def test_bad_files_fail_cleanly_and_others_are_ingested(tmp_path):
    files = _bad_files(tmp_path)
    good = tmp_path / "good.txt"
    good.write_text("Ⅰ. 현황\n□ 인 력 : 57명\n정상 보고서 내용입니다.", encoding="utf-8")
    result = ingest_paths([*files.values(), good], {})
    reasons = {f.file: f.reason for f in result.failures}
    assert set(reasons) == {p.name for p in files.values()}
    assert "손상" in reasons["corrupt.pdf"] or "암호" in reasons["corrupt.pdf"]
    assert "PDF" in reasons["empty.pdf"]
    assert "OCR" in reasons["scan.pdf"]
    assert "암호" in reasons["locked.pdf"]
    assert "바이너리" in reasons["binary.txt"]
    assert "인코딩" in reasons["garbled.txt"]
    assert all("\n" not in r for r in reasons.values())
    assert {c.file for c in result.chunks} == {"good.txt"}


def test_workers_read_page_ranges_and_give_the_same_chunks(tmp_path):
    # Issue 12: files and 8-page ranges of large PDFs are parsed in worker processes; pages are independent,
    # so the chunks (ids, cells, pages, order) must be exactly those of one process, failures included.
    pdfs = [CORPUS / "2024_디지털정책관_예산안검토보고.pdf", REPORT_000]
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"%PDF-1.4 garbage")
    manifest = load_manifest(CORPUS)
    alone = ingest_paths([*pdfs, broken], manifest, workers=1)
    split = ingest_paths([*pdfs, broken], manifest, workers=2)
    assert max(d.pages for d in split.documents) > PAGES_PER_TASK  # at least one file was cut into ranges
    assert [c.to_json() for c in split.chunks] == [c.to_json() for c in alone.chunks]
    assert [(d.file, d.pages, d.tables, d.chunks) for d in split.documents] == \
        [(d.file, d.pages, d.tables, d.chunks) for d in alone.documents]
    assert [f.file for f in split.failures] == ["broken.pdf"] and "PDF" in split.failures[0].reason


def test_text_and_table_chunks_are_distinct_types(chunks_000, tmp_path):
    chunks, _ = chunks_000
    tables = [c for c in chunks if isinstance(c, TableChunk)]
    texts = [c for c in chunks if isinstance(c, TextChunk)]
    assert tables and texts and len(tables) + len(texts) == len(chunks)
    assert not hasattr(texts[0], "rows") and not hasattr(texts[0], "unit")
    budget = next(c for c in tables if c.caption == "세입 총괄")
    assert budget.cell("서울시 출연금", budget.value_columns[0]) == "13,797,110"
    out = tmp_path / "chunks.jsonl"
    write_chunks(chunks, out)
    again = read_chunks(out)
    assert [type(c) for c in again] == [type(c) for c in chunks] and again == chunks


def test_chunks_of_an_older_index_load_as_their_type():
    # chunks.jsonl written before the split: text chunks carried empty table fields.
    old_text = {"id": "a", "text": "인력 : 57명", "file": "f.pdf", "title": "t", "organization": "o", "date": "2025",
                "page": 2, "section": "s", "kind": "text", "table_id": None, "unit": "", "as_of": "", "caption": "",
                "columns": [], "rows": [], "column_boxes": [], "search_text": "인력 57명"}
    old_table = {**old_text, "id": "b", "kind": "table", "table_id": "T1", "unit": "천원", "columns": ["구분", "2025"],
                 "rows": [{"header": "인건비", "values": ["2,824,210"]}]}
    text, table = Chunk.from_dict(old_text), Chunk.from_dict(old_table)
    assert isinstance(text, TextChunk) and text.search_text == "인력 57명" and text.page == 2
    assert isinstance(table, TableChunk) and table.unit == "천원" and table.cell("인건비", "2025") == "2,824,210"


def test_cli_ingest_reports_failures_with_exit_code(tmp_path, capsys):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "ok.txt").write_text("Ⅰ. 현황\n정상 보고서입니다.", encoding="utf-8")
    (corpus / "broken.pdf").write_bytes(b"%PDF-1.4 garbage")
    out = tmp_path / "chunks.jsonl"
    code = cli_main(["ingest", "--corpus", str(corpus), "--out", str(out), "--quiet"])
    captured = capsys.readouterr()
    assert code == 1
    assert "broken.pdf" in captured.err and "실패" in captured.err
    assert "문서 1개" in captured.out and "실패 1개" in captured.out
    assert [c.file for c in read_chunks(out)] == ["ok.txt"]


@pytest.mark.slow
def test_whole_corpus_ingests_with_pages_and_tables():
    result = ingest_corpus(CORPUS)
    assert not result.failures
    assert len(result.documents) == 5
    for doc in result.documents:
        assert doc.pages > 0 and doc.tables > 0
    assert all(c.page for c in result.chunks)


def test_year_columns_are_headers_not_data():
    # Busan 청년산학국 p.49 "연차별 투자계획": a header of years was read as a data row before.
    blocks = parse_lines(["구분\t총사업비\t기투자\t2025\t2026\t2027\t2028년이후",
                          "계\t6,139\t-\t1,243\t1,243\t1,218\t2,435",
                          "국비\t2,500\t-\t500\t500\t500\t1,000"], None)
    table = structure(blocks, "k").tables[0]
    assert table.columns == ["구분", "총사업비", "기투자", "2025", "2026", "2027", "2028년이후"]
    assert [r.header for r in table.rows] == ["계", "국비"]


def test_empty_ruled_grid_is_skipped_not_fatal():
    # Busan 교통혁신국 / Dacon FIS PDFs have empty ruled frames; they crashed build_table before.
    doc = structure([Line("□ 현황", 1), Grid([["", ""], ["", " "]], 1), Line("본문입니다.", 1)], "k")
    assert doc.tables == [] and doc.texts[-1].lines[-1] == "본문입니다."


def test_unexpected_parser_error_fails_one_file_only(tmp_path, monkeypatch):
    from ingest import pipeline

    good = tmp_path / "good.txt"
    good.write_text("Ⅰ. 현황\n정상 보고서입니다.", encoding="utf-8")
    bad = tmp_path / "bad.txt"
    bad.write_text("Ⅰ. 현황\n문제 보고서입니다.", encoding="utf-8")
    real = pipeline.structure

    def flaky(blocks, key):
        if any(getattr(b, "text", "") == "문제 보고서입니다." for b in blocks):
            raise ValueError("boom")
        return real(blocks, key)

    monkeypatch.setattr(pipeline, "structure", flaky)
    result = ingest_paths([bad, good], {})
    assert [f.file for f in result.failures] == ["bad.txt"] and "ValueError" in result.failures[0].reason
    assert {c.file for c in result.chunks} == {"good.txt"}


def test_first_column_of_figures_is_kept():
    # Busan 등록 자동차: the 계 column (first cell a figure) was dropped from every row.
    blocks = [Line("□ 자동차 등록 현황", 1),
              Grid([["계", "승용", "승합", "화물"], ["1,559,310", "1,300,000", "50,000", "209,310"]], 1)]
    table = structure(blocks, "k").tables[0]
    assert table.columns == ["구분", "계", "승용", "승합", "화물"]
    assert table.rows[0].header == "자동차 등록 현황"
    assert table.rows[0].values == ["1,559,310", "1,300,000", "50,000", "209,310"]


def test_control_characters_between_words_read_as_spaces():
    """The FIS 재정융자 report prints BEL (\\x07) between words: chunks and answers showed "기후대응기금은\\x07총",
    and "탄소중립 실현" never matched a question's words."""
    import re

    from ingest.pdf_reader import read_pdf

    blocks, _ = read_pdf(FIXTURES / "fis_fiscal_loans_p8.pdf")
    text = "\n".join(getattr(b, "text", "") for b in blocks)
    assert not re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", text)
    words = text.split()
    assert "기후대응기금은" in words and "2.4조원" in words


def test_control_characters_in_text_files_read_as_spaces(tmp_path):
    """Text copied out of such a PDF keeps its BEL and record separators; form feeds still break pages."""
    path = tmp_path / "copied.txt"
    path.write_text("Ⅰ. 현황\n기후대응기금은\x07총 2.4조원\x1c규모\f둘째 쪽", encoding="utf-8")
    result = ingest_paths([path], {})
    assert not result.failures
    words = "\n".join(c.text for c in result.chunks).split()
    assert {"기후대응기금은", "총", "2.4조원", "규모"} <= set(words)
    assert {c.page for c in result.chunks} == {1, 2}


def test_control_characters_in_hwp_paragraphs_read_as_spaces():
    from ingest.hwp_reader import _lines

    assert _lines("탄소중립\x07실현\x1f\n\x00\n재정융자") == ["탄소중립 실현", "재정융자"]


def test_a_status_table_without_header_keeps_its_first_row():
    """2024 서울디지털재단 p.7 prints "완료 (5) | 방법순찰 …, 공공 도서관 최적 입지 분석, …" with no header above it;
    that row was read as the column names, so "완료된 건 뭐뭐야" found only 진행 중 and 추가 접수."""
    path = CORPUS / "2024_서울디지털재단_주요업무보고.pdf"
    chunks, _ = ingest_file(path, load_manifest(CORPUS)[path.name])
    tables = [c for c in chunks if isinstance(c, TableChunk) and c.page == 7 and any(r.header == "진행 중 (3)" for r in c.rows)]
    assert len(tables) == 1
    done = next(r for r in tables[0].rows if r.header == "완료 (5)")
    assert "공공 도서관 최적 입지" in " ".join(done.values)


def test_a_contents_page_makes_no_headings_and_a_chapter_numeral_without_its_period_is_one():
    """기획관 pp.3 and 25: the contents line "Ⅵ. 당면 현안 ····· 21" became a section of its own that outranked the
    chapter, and the chapter itself, "Ⅵ 당면 현안" printed without a period, was read as body text under the
    previous chapter's last program, so "기획관 당면 현안 몇 개야" met the contents page."""
    path = FIXTURES / "busan_gihoekgwan_p3_p25.pdf"
    chunks, _ = ingest_file(path, DocumentMeta(file=path.name, title="기획관 주요업무계획"))
    assert not [c.section for c in chunks if "···" in c.section + c.text]
    issues = next(c for c in chunks if "부산글로벌허브도시 조성 특별법 제정" in c.text)
    assert issues.page == 2
    assert issues.section.startswith("VI 당면 현안")


def test_contents_entries_in_either_leader_style_are_dropped():
    """ "기획관 당면 현안 몇 개고 뭐야" was answered "Ⅵ. 당면 현안 ······ 21 Ⅰ. 기본현황 …": the contents page."""
    lines = [Line(t, 2) for t in ["Ⅵ. 당면 현안 ························· 21", "Ⅴ. 주요 업무 …… 9", "Ⅰ. 기본현황",
                                  "□ 기구 및 조직도 5 담당관 1 추진단 20 팀"]]
    texts = structure(lines, "t").texts
    assert [ln for t in texts for ln in t.lines] == ["Ⅰ. 기본현황", "□ 기구 및 조직도 5 담당관 1 추진단 20 팀"]


def test_numbered_lines_printed_one_under_another_are_a_list_not_the_outline():
    """생계급여 p.2: a law's "1. 생계급여 … 7. 자활급여" under "5. 사업근거 및 추진경위". "6. 장제급여" and
    "7. 자활급여" went on the outline, so the document's own "6. 주요내용" and "7. 사업 집행절차" did not."""
    prelude = ["1. 사업코드 정보", "(표)", "2. 사업 성격", "(표)", "3. 사업 지원 형태 및 지원율", "(표)",
               "4. 사업목적", "저소득층에게 필요한 급여를 실시하여 최저생활을 보장", "5. 사업근거 및 추진경위"]
    lines = [Line(t, 2) for t in [*prelude, "제7조(급여의 종류) ① 이 법에 따른 급여의 종류는 다음 각 호와 같다.",
        "1. 생계급여", "2. 주거급여", "3. 의료급여", "4. 교육급여", "5. 해산급여(解産給與)", "6. 장제급여(葬祭給與)",
        "7. 자활급여", "② 수급권자에 대한 급여는 수급자의 필요에 따라 급여의 전부 또는 일부를 실시한다.",
        "6. 주요내용", "① 사업규모", "7. 사업 집행절차", "보건복지부(정책결정, 보조금 교부) → 시도(보조금 교부)"]]
    sections = {ln: t.section for t in structure(lines, "t").texts for ln in t.lines}
    assert sections["6. 장제급여(葬祭給與)"] == sections["7. 자활급여"] == "5. 사업근거 및 추진경위"
    assert sections["① 사업규모"] == "6. 주요내용"
    assert sections["보건복지부(정책결정, 보조금 교부) → 시도(보조금 교부)"] == "7. 사업 집행절차"


def test_a_wrapped_sentence_opening_with_eum_is_no_lettered_heading():
    """2024 디지털정책관 p.31: "음. 2024년도 예산으로 …" (the end of the sentence above, wrapped) was read as a
    "가." heading, and the review's next pages sat under it."""
    lines = [Line(t, 31) for t in ["가. 디지털정책담당관", "비 지원을 통해 추진하는 사업으로 균형발전특별회계로 편성 되었",
                                   "음. 2024년도 예산으로 36억 1천8백만원이 편성되어, 23년 3월", "나. 빅데이터담당관"]]
    sections = {ln: t.section for t in structure(lines, "t").texts for ln in t.lines}
    assert sections["음. 2024년도 예산으로 36억 1천8백만원이 편성되어, 23년 3월"] == "가. 디지털정책담당관"
    assert sections["나. 빅데이터담당관"] == "나. 빅데이터담당관"


def test_an_overview_of_programs_numbered_without_a_period_is_a_list():
    """보건환경연구원 pp.15-16: the chapter's six programs and each program's three tasks, printed one under
    another as "1 감염병 신속 검사 …", were each a one-line section."""
    lines = [Line(t, 15) for t in ["Ⅳ. 2025년 주요업무계획", "1 감염병 신속 검사 및 병원체 실험실 감시",
                                   "2 안전한 식·의약품 유통을 통한 건강도시 구현", "3 맑은 공기, 모두가 안전한 도시 환경 조성"]]
    lines += [Line(t, 16) for t in ["1. 감염병 신속 검사 및 병원체 실험실 감시", "1 바이러스 감염병 확인 검사 및 감시",
                                    "2 세균성 감염병 확인 검사 및 감시", "▴ 신종·해외유입 감염병 검사 ▴ 백일해 검사"]]
    sections = {ln: t.section for t in structure(lines, "t").texts for ln in t.lines}
    assert sections["2 안전한 식·의약품 유통을 통한 건강도시 구현"] == "IV. 2025년 주요업무계획"
    program = "IV. 2025년 주요업무계획 > 1. 감염병 신속 검사 및 병원체 실험실 감시"
    assert sections["2 세균성 감염병 확인 검사 및 감시"] == sections["▴ 신종·해외유입 감염병 검사 ▴ 백일해 검사"] == program
