"""Cell-precise citations: table rows keep their cells' boxes, and the page image marks only those."""
from __future__ import annotations

from pathlib import Path

import pdfplumber

from app.answer import cell_boxes
from app.answer.candidates import Candidate
from app.pages import parse_boxes, render_page_png
from index.fusion import Hit
from ingest.models import TableChunk
from ingest.pdf_reader import read_pdf
from ingest.structure import structure

REPO = Path(__file__).resolve().parent.parent
REPORT_002 = REPO / "corpus" / "2025_디지털도시국_주요업무보고.pdf"


def _staffing_table():
    blocks, _ = read_pdf(REPORT_002, pages={2})
    return structure(blocks, "d").tables[0]


def _text_in(box: list[float]) -> str:
    with pdfplumber.open(REPORT_002) as pdf:
        page = pdf.pages[1]
        return "".join((page.within_bbox(tuple(box)).extract_text() or "").split())


def test_table_rows_keep_the_boxes_of_their_cells():
    table = _staffing_table()
    row = next(r for r in table.rows if r.header == "디지털정책과")
    j = table.columns.index("정원") - 1
    assert _text_in(row.boxes[j]) == row.values[j] == "34"
    assert _text_in(row.header_box) == "디지털정책과"
    assert _text_in(table.column_boxes[j + 1]) == "정원"


def _candidate(table, row, column: str) -> Candidate:
    chunk = TableChunk(id="c", text="", file="f.pdf", title="", organization="", date="", page=2, section="", table_id="t",
                  columns=table.columns, rows=table.rows, column_boxes=table.column_boxes)

    return Candidate(kind="cell", hit=Hit(chunk=chunk, row=0, score=1.0), rank=0, labels="", text="", quote="",
                     column=column, table_row=row)


def test_a_cell_answer_cites_its_cell_row_label_and_column_header():
    table = _staffing_table()
    row = next(r for r in table.rows if r.header == "정보보안과")
    boxes = cell_boxes(_candidate(table, row, "정원"))
    assert [_text_in(b) for b in boxes] == ["정보보안과", "27", "정원"]


def test_page_image_marks_only_the_given_boxes():
    table = _staffing_table()
    row = next(r for r in table.rows if r.header == "정보보안과")
    cells = cell_boxes(_candidate(table, row, "정원"))
    only_cells = render_page_png(REPORT_002, 2, None, cells)
    assert render_page_png(REPORT_002, 2, "정보보안과 27", cells) == only_cells  # the quote no longer marks the page
    assert render_page_png(REPORT_002, 2, "정보보안과 27") != only_cells


def test_boxes_from_a_url_parameter():
    assert parse_boxes("1,2,3,4;5.5,6,7,8") == [[1, 2, 3, 4], [5.5, 6, 7, 8]]
    assert parse_boxes("1,2,3;1..2,3,4,5;") == []


def test_a_row_quote_marks_its_own_row_not_every_repeat_of_its_figures():
    from app.pages import highlight_boxes

    table = _staffing_table()
    row = next(r for r in table.rows if r.header == "정보보안과")
    top, bottom = row.header_box[1], row.header_box[3]
    quote = "정보보안과 | 27 | 5 | 14"  # not printed as one run; "정보보안과", "27" and "5" recur elsewhere
    with pdfplumber.open(REPORT_002) as pdf:
        boxes = highlight_boxes(pdf.pages[1], quote)
    assert boxes and all(top - 3 <= b[1] and b[3] <= bottom + 3 for b in boxes)
