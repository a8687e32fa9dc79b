"""Table extraction against hand-checked cells: scorer rules, header/label repairs, and a fast benchmark subset."""
from __future__ import annotations

import time

import pytest

from eval.table_bench import (
    BENCH,
    GoldTable,
    HeaderIndex,
    load_bench,
    norm_value,
    run,
    score_table,
)
from ingest.models import Grid
from ingest.structure import build_table, is_junk_header, merge_headers

# ------------------------------------------------------------------ scorer rules


def test_header_index_accepts_unique_leaf_and_rejects_ambiguous_or_junk():
    cols = HeaderIndex([("집행액", "지출액"), ("집행률(%)", "지출액"), ("예산현액",)])
    assert cols.names("집 행 액 지출액", ("집행액", "지출액"))
    assert not cols.names("지출액", ("집행액", "지출액"))  # two columns end in 지출액
    assert cols.names("예산현액", ("예산현액",))
    assert not cols.names("예산현액 W C C 7", ("예산현액",))  # junk carried into the name never matches
    # a generator is read once: the full path must still match when the leaf alone is ambiguous
    axis = HeaderIndex(p for p in [("계",), ("국유림", "계")])
    assert axis.names("계", ("계",)) and axis.names("국유림 계", ("국유림", "계"))


def test_values_compare_as_printed_figures():
    assert norm_value("△6,222") == norm_value("-6222")
    assert norm_value("271\n(100%)") == norm_value("271 (100%)")
    assert norm_value("9.0%") != norm_value("9.0")


def test_score_counts_each_gold_cell_once():
    gold = GoldTable("t", "x", "f.pdf", 1, "", ((("정원",), ("계",), "44"), (("현원",), ("계",), "46")))
    s = score_table(gold, [("정원", "계", "44"), ("정원", "계", "44"), ("현원", "합계", "46")])
    assert (s.tp, s.pred, s.gold) == (1, 3, 2)


# ------------------------------------------------------------------ header and label repairs


def test_ocr_junk_header_row_is_not_carried_into_column_names():
    # 002's staffing table: a junk first row and fragments of "행정·기술직군" above the real labels.
    header = [
        ["(2020. 1. 01. 1", "", "", "", "· L. /", ""],
        ["", "", "", "", "직종별 현원", ""],
        ["구 분", "정원", "", "행정", "g·기술?", "과부족"],
        ["", "", "합계", "행정", "전산", ""],
    ]
    spans = [[1] * 6 for _ in header]
    labels = merge_headers(header, 6, spans)
    assert labels[1:] == ["정원", "합계", "행정", "전산", "과부족"]


def test_header_label_split_over_two_cells_spans_both_columns():
    header = [["구 분", "예 산 현 액", "집 형", "행 액", "집 행 률", "(%)"],
              ["Г", "W C C 7", "원 인 행 위 액", "지 출 액", "원 인 행 위", "지 출 액"]]
    labels = merge_headers(header, 6, [[1] * 6, [1] * 6])
    assert labels[1:] == ["예산현액", "집형행액 원인행위액", "집형행액 지출액", "집행률(%) 원인행위", "집행률(%) 지출액"]


def test_ruled_group_header_keeps_its_span():
    # Dacon "2024년" drawn over 정부안 | 확정(B): a real merged cell, kept over both children.
    header = [["사업명", "2022년 결산", "2024년", ""], ["", "", "정부안", "확정(B)"]]
    labels = merge_headers(header, 4, [[1, 1, 2, 0], [0, 0, 1, 1]])
    assert labels[1:] == ["2022년 결산", "2024년 정부안", "2024년 확정(B)"]


def test_junk_header_cells():
    assert is_junk_header("W C C 7") and is_junk_header("Г") and is_junk_header("(2020. 1. 01. 1")
    assert not is_junk_header("(%)") and not is_junk_header("CCTV") and not is_junk_header("2024")


def test_letter_spaced_row_label_split_across_cells_is_one_label():
    grid = Grid(rows=[["구 분", "", "", "", "2025 예산현액", "2024 최종예산"],
                      ["세", "외", "수", "입", "10,970,340", "12,950,903"],
                      ["", "경 상 적", "세 외", "수 입", "7,670,173", "9,068,594"]], page=2)
    table = build_table(grid, "세입 총괄", "천원", "", "", "d", 1)
    assert [r.header for r in table.rows] == ["세외수입", "경상적세외수입"]
    assert table.rows[0].values == ["10,970,340", "12,950,903"]
    assert table.columns[1:] == ["2025 예산현액", "2024 최종예산"]


def test_figure_with_unit_is_a_value_not_part_of_the_row_label():
    grid = Grid(rows=[["구분", "계", "3급"], ["정원", "45명", "1"], ["현원", "51명", "1"]], page=5)
    table = build_table(grid, "인력", "명", "", "", "d", 1)
    assert [(r.header, r.values) for r in table.rows] == [("정원", ["45명", "1"]), ("현원", ["51명", "1"])]
    assert table.columns == ["구분", "계", "3급"]


# ------------------------------------------------------------------ benchmark


def test_bench_has_at_least_40_tables_from_every_source():
    golds = load_bench(BENCH)
    assert len(golds) >= 40
    assert {g.source for g in golds} >= {"busan", "002", "004", "dacon"}
    assert len({g.id for g in golds}) == len(golds)


def test_fast_subset_of_the_benchmark_reads_right():
    """002 and 004 pages shipped in corpus/: the staffing and revenue tables of the OCR'd report among them."""
    golds = [g for g in load_bench(BENCH) if g.file.startswith("corpus/") and g.page <= 2]
    assert len(golds) >= 5
    start = time.perf_counter()
    scores = run(golds)
    assert time.perf_counter() - start < 20
    tp = sum(s.tp for s in scores.values())
    pred = sum(s.pred for s in scores.values())
    gold = sum(s.gold for s in scores.values())
    f1 = 2 * tp / (pred + gold)
    assert f1 >= 0.9, {k: round(v.f1, 3) for k, v in scores.items()}
    assert scores[next(g.id for g in golds if g.locator.startswith("인력"))].f1 >= 0.95


@pytest.mark.parametrize("value", ["2025년", "2024년도"])
def test_year_labels_stay_row_labels(value):
    grid = Grid(rows=[["구분", "계", "공원관리부"], [value, "2,917", "1,265"]], page=5)
    assert build_table(grid, "예산", "", "", "", "d", 1).rows[0].header == value


# ------------------------------------------------------------------ more shapes from the benchmark


def test_group_cell_hands_its_children_labels_down():
    # pdfplumber gives the merged "증감" box the text of the child cell it overlaps.
    header = [["사업명", "2024년", "", "증감\n(B-A) (B-A)/A", ""], ["", "정부안", "확정(B)", "", "(B-A)/A"]]
    labels = merge_headers(header, 5, [[1, 2, 0, 2, 0], [0, 1, 1, 0, 1]])
    assert labels[1:] == ["2024년 정부안", "2024년 확정(B)", "증감 (B-A)", "증감 (B-A)/A"]


def test_year_over_one_column_stays_a_group_header():
    header = [["사업명", "2023년", "", "2024년"], ["", "본예산(A)", "추경", "확정(B)"]]
    labels = merge_headers(header, 4, [[1, 2, 0, 1], [0, 1, 1, 1]])
    assert labels[1:] == ["2023년 본예산(A)", "2023년 추경", "2024년 확정(B)"]


def test_dacon_budget_header_from_the_real_pdf():
    from ingest.pdf_reader import read_pdf
    from ingest.structure import structure

    from .conftest import FIXTURES

    blocks, _ = read_pdf(FIXTURES / "dacon_changup.pdf", pages={1})
    table = next(t for t in structure(blocks, "d").tables if t.rows and t.rows[0].header == "창업사업화지원")
    assert table.columns[1:] == ["2022년 결산", "2023년 본예산(A)", "2023년 추경", "2024년 확정(B)", "증감 (B-A)", "증감 (B-A)/A"]
    assert table.rows[0].values[-2:] == ["△11,254", "△2.9"]


def test_rows_stacked_in_one_ruled_cell_are_split():
    grid = Grid(rows=[["정책사업", "단위사업", "’25년 예산(A)", "’24년 예산(B)"],
                      ["행정운영\n경비", "인력운영비\n기본경비", "4,920\n114", "4,813\n113"]], page=6)
    table = build_table(grid, "세출예산", "", "", "", "d", 1)
    assert [(r.header, r.values) for r in table.rows] == [
        ("행정운영 경비 인력운영비", ["4,920", "4,813"]), ("기본경비", ["114", "113"])]


def test_measurement_cells_are_values():
    grid = Grid(rows=[["구분", "자전거 도로", "진·출입구"], ["계", "29.49 / 1.5∼3", "24"], ["삼락", "5.5 / 1.5", "5"]], page=6)
    table = build_table(grid, "일반시설", "", "", "", "d", 1)
    assert [(r.header, r.values) for r in table.rows] == [("계", ["29.49 / 1.5∼3", "24"]), ("삼락", ["5.5 / 1.5", "5"])]


def test_figures_shifted_into_the_label_cells_move_back():
    grid = Grid(rows=[["구 분", "", "", "2025 예산현액", "2024 최종예산"],
                      ["세", "외", "수 입", "10,970,340", "12,950,903"],
                      ["", "자 치 단 체 간 부 담", "2,247,771", "2,523,814", ""],
                      ["", "과", "징 금", "15,000", "15,000"],
                      ["", "기 타", "과 태 료", "351,000", "358,358"]], page=3)
    table = build_table(grid, "세입 총괄", "", "", "", "d", 1)
    assert (table.rows[1].header, table.rows[1].values) == ("자치단체간부담", ["2,247,771", "2,523,814"])


def test_header_labels_printed_over_the_label_cells_go_to_unreadable_value_columns():
    grid = Grid(rows=[["구 분", "", "2025 예산현액", "2024 최종예산", "", ""],
                      ["", "", "•", "Ľ.", "2020 4 1212-4", "2024 764112"],
                      ["계", "", "", "", "15,113,124", "18,198,907"],
                      ["세", "외", "수", "입", "10,970,340", "12,950,903"]], page=2, spans=[[1] * 6 for _ in range(4)])
    table = build_table(grid, "세입 총괄", "", "", "", "d", 1)
    assert table.columns[1:] == ["2025 예산현액", "2024 최종예산"]


def test_label_cell_that_swallowed_the_rows_below_is_left_out():
    grid = Grid(rows=[["구 분", "", "2024년 등급", "2024년 점수"],
                      ["종합청렴도", "", "2등급", "(83.9)"],
                      ["청렴 체감도 (60점)\n① 외부체감도 (70%)", "청렴 체감도 (60점)", "2등급", "(82.0)"]], page=20)
    table = build_table(grid, "종합청렴도 현황", "", "", "", "d", 1)
    assert table.rows[1].header == "청렴 체감도 (60점)"


def test_repeated_row_labels_get_their_group_row():
    grid = Grid(rows=[["구 분", "총사업비", "2025"], ["계(부경대)", "12,000", "1,600"], ["국 비", "10,000", "1,500"],
                      ["시 비", "1,000", "-"], ["기 타", "1,000", "100"], ["계(부산대)", "11,828", "1,527"],
                      ["국 비", "9,750", "1,500"], ["시 비", "1,039", "-"], ["기 타", "1,039", "27"]], page=48)
    headers = [r.header for r in build_table(grid, "연차별 투자계획", "", "", "", "d", 1).rows]
    assert headers == ["계(부경대)", "계(부경대) 국비", "계(부경대) 시비", "계(부경대) 기타",
                       "계(부산대)", "계(부산대) 국비", "계(부산대) 시비", "계(부산대) 기타"]


def test_labels_join_spaced_digits_and_read_jamo_dots():
    from ingest.normalize import clean_label

    assert clean_label("1 5 분도시기획과") == "15분도시기획과"
    assert clean_label("2024 2025") == "2024 2025"
    assert clean_label("과ᆞ결원") == "과·결원"


def _lines(page: int, *texts: str):
    from ingest.models import Line

    return [Line(t, page) for t in texts]


def test_aligned_table_with_a_wrapped_note_column_and_a_blank_rate():
    from ingest.structure import structure

    blocks = _lines(7, "예산과목", "2024년", "예산안", "2023년", "최종예산", "증감액 증감률(%) 증감사유",
                    "계 17,214 14,237 2,977 20.9%",
                    "공유재산임대료 8,095 7,424 672 9.0% 공공요금 인상에 따른 관리비 인상 등",
                    "기타이자수입 141 63 78 123.6%", "CCTV 설치사업 예산 증가 등에 따른", "발생이자 증가",
                    "사업비 140,438 149,893 △9,455", "임시적세외수입 3,509 4,837 -1,328 -27.5%")
    table = structure(blocks, "d").tables[0]
    assert table.columns[1:] == ["2024년 예산안", "2023년 최종예산", "증감액", "증감률(%)", "증감사유"]
    rows = {r.header: r.values for r in table.rows}
    assert rows["공유재산임대료"][-1] == "공공요금 인상에 따른 관리비 인상 등"
    assert rows["기타이자수입"][-1] == "CCTV 설치사업 예산 증가 등에 따른 발생이자 증가"
    assert rows["사업비"] == ["140,438", "149,893", "△9,455", "", ""]
    assert rows["임시적세외수입"][0] == "3,509"


def test_numbered_lines_with_one_figure_each_under_a_serial_header_are_a_table():
    """ "연번 데이터명 이용건수" over "1 서울시 … 매출데이터 132": names hold spaces, one figure ends each line."""
    from ingest.structure import structure

    blocks = _lines(59, "□ 빅데이터 캠퍼스 데이터이용 현황", "연번 데이터명 이용건수(‘23.10월)",
                    "1 서울시 업종별 내외국인 신한카드 매출데이터 132", "2 서울시 10m 도로구간별 추정 유동인구 데이터 89",
                    "3 서울시 00~14년 집계구별 사업체 통계 48", "붙임7 빅데이터 분석서비스 수행 목록")
    table = structure(blocks, "d").tables[0]
    assert table.columns == ["데이터명", "이용건수(‘23.10월)"]
    assert [(r.header, r.values) for r in table.rows] == [
        ("서울시 업종별 내외국인 신한카드 매출데이터", ["132"]), ("서울시 10m 도로구간별 추정 유동인구 데이터", ["89"]),
        ("서울시 00~14년 집계구별 사업체 통계", ["48"])]
    # two numbered lines, or lines not numbered 1, 2, 3 in turn, stay text
    assert not structure(blocks[:4], "d").tables
    assert not structure(_lines(1, "연번 사업명 예산", "1 가 사업 10", "3 나 사업 20", "4 다 사업 30"), "d").tables


def test_a_one_line_header_whose_words_split_evenly_gives_each_column_its_share():
    """ "이용기간 과제 분석수 이용 방문자" over two value columns: 과제 분석수 | 이용 방문자, not 이용 | 방문자."""
    from ingest.structure import structure

    blocks = _lines(58, "이용기간 과제 분석수 이용 방문자", "계 2,931건 13,330명", "‘23. 1. ~ 9. 492건 1,500명")
    table = structure(blocks, "d").tables[0]
    assert table.columns == ["이용기간", "과제 분석수", "이용 방문자"]
    assert table.rows[0].header == "계" and table.rows[0].values == ["2,931건", "13,330명"]


def test_figures_packed_in_one_cell_go_to_the_empty_cells_after_it():
    """인재개발원 p.19: "디지털 역량 | 19 59 35 890 | | |" — the column rules are not drawn, so the 2025 plan's
    890명 sat in the 과정 수 column and no cell of 교육 인원 held it."""
    from ingest.structure import spread_packed_figures

    assert spread_packed_figures(["19 59 35 890", "", "", "", "디지털 역량", "16 39 21 502", "", "", ""]) == [
        "19", "59", "35", "890", "디지털 역량", "16", "39", "21", "502"]
    assert spread_packed_figures(["941 - - 177,000", "", "", ""]) == ["941", "-", "-", "177,000"]
    # too few empty cells, more empty cells than figures, words, a range or OCR pieces: the cell stays as printed
    assert spread_packed_figures(["3 112 10", "5", ""]) == ["3 112 10", "5", ""]
    assert spread_packed_figures(["3 112 10", "", "", ""]) == ["3 112 10", "", "", ""]
    assert spread_packed_figures(["2 55명 11", "", ""]) == ["2 55명 11", "", ""]
    assert spread_packed_figures(["05.01 - 05.02", "", ""]) == ["05.01 - 05.02", "", ""]
    assert spread_packed_figures(["3, 30 5", "", ""]) == ["3, 30 5", "", ""]
    assert spread_packed_figures(["16 5", ""]) == ["16 5", ""]


def test_ruled_table_in_two_boxes_and_across_a_page_keeps_its_header():
    from ingest.models import Line
    from ingest.structure import structure

    head = Grid(rows=[["구분", "계", "4급"], ["계", "38", "2"]], page=5, spans=[[1] * 3, [1] * 3])
    rest = Grid(rows=[["시", "26", "1"], ["경찰청(파견)", "10", "1"]], page=5, spans=[[1] * 3, [1] * 3])
    first = Grid(rows=[["구 분", "2025", "2024"], ["가", "1", "2"]], page=2, spans=[[1] * 3, [1] * 3])
    after_break = Grid(rows=[["구 분", "2025", "2024"], ["나", "3", "4"]], page=3, spans=[[1] * 3, [1] * 3])
    tables = structure([head, rest, Line("- 4 -", 5), first, Line("- 2 -", 2), after_break], "d").tables
    assert tables[1].columns == ["구분", "계", "4급"]
    assert tables[3].columns == tables[2].columns and tables[3].caption == tables[2].caption


def test_a_header_row_naming_every_column_is_kept_over_a_second_header_row():
    """ "광안대로 | 거가대로 | 부산항대교" over "L=7.42 | L=8.20 | L=3.37": one name per column is no OCR debris."""
    from ingest.structure import merge_headers

    rows = [["구분", "광안대로", "거가대로", "부산항대교"], ["규모 (km,m)", "L=7.42", "L=8.20", "L=3.37"]]
    labels = merge_headers(rows, 4, [[1, 1, 1, 1], [1, 1, 1, 1]])
    assert labels[1:] == ["광안대로 L=7.42", "거가대로 L=8.20", "부산항대교 L=3.37"]


def test_a_text_table_numbered_from_its_first_row_has_no_header_row():
    # 2025 낙동강관리본부 p.23: the issues table prints no header; its first row is issue 1
    grid = Grid(rows=[["1", "「국립자연유산원 건립」부산 유치", "/ 핵심현안"],
                      ["2", "맥도생태공원 습지복원 사업(엄궁대교 대체서식지)", "/ 신규사업"],
                      ["3", "「낙동선셋 화명에코파크」 조성", "/ 핵심현안"]], page=23)
    table = build_table(grid, "", "", "", "", "d", 1)
    assert len(table.rows) == 3
    assert table.rows[0].values[-1] == "/ 핵심현안"
    assert "국립자연유산원" in " ".join([table.rows[0].header, *table.rows[0].values])


def test_a_sentence_over_a_sentence_is_a_body_row_not_a_header():
    # 2024 서울디지털재단 p.7: "완료 (5)" is the first of three status rows, each naming its analyses
    grid = Grid(rows=[["완료 (5)", "방법순찰 필요지역 분석(자치경찰위원회), 공공 도서관 최적 입지 분석(중랑구), 레드로드 조성사업 효과 분석(마포구)"],
                      ["진행 중 (3)", "배출가스 및 공회전 단속 최적 지역 분석(기후환경본부), 주요 공원 이용객 특성 분석(푸른도시여가국)"]],
                page=7)
    table = build_table(grid, "", "", "", "", "d", 1)
    assert [r.header for r in table.rows] == ["완료 (5)", "진행 중 (3)"]


def test_a_text_table_with_short_column_names_keeps_its_header():
    grid = Grid(rows=[["구분", "주요내용"],
                      ["추진배경", "스마트 도시 전환과 디지털 환경 변화에 대한 효과적 대응 필요"],
                      ["사업내용", "디지털역량 실태조사, 자치구 스마트도시 현황진단, 서비스 기획 등"]], page=3)
    table = build_table(grid, "", "", "", "", "d", 1)
    assert table.columns == ["구분", "주요내용"]
    assert [r.header for r in table.rows] == ["추진배경", "사업내용"]
