"""Table extraction against hand-checked cells: scorer rules, header/label repairs, and a fast benchmark subset."""
from __future__ import annotations

import time

import pytest

from eval.table_bench import BENCH, GoldTable, HeaderIndex, load_bench, norm_value, run, score_table
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
