"""PDF -> blocks (text lines and table grids) per page, in reading order, through pdfplumber."""
from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import TYPE_CHECKING

from .models import Block, Box, Grid, Line
from .normalize import strip_controls

if TYPE_CHECKING:  # pdfplumber is imported when a PDF is read: answering questions never needs it
    import pdfplumber
    from pdfplumber.page import Page
    from pdfplumber.table import Table as PlumberTable

# Ruled tables only: the reports' unruled tables come out of the text lines instead
# (structure.aligned_tables), which is more faithful than pdfplumber's "text" strategy.
TABLE_SETTINGS = {
    "vertical_strategy": "lines",
    "horizontal_strategy": "lines",
    "snap_tolerance": 3,
    "join_tolerance": 3,
    "intersection_tolerance": 3,
}
TEXT_X_TOLERANCE = 1.5  # Nanum/HWP exports put narrow gaps between syllables; 3 (default) glues words.
# HWP's house style leaves a table's outer left and right sides undrawn: its rows are full-width rules with
# ruled columns between. Rules within this many points of one another start and end together.
RULE_TOLERANCE = 3
# A band between two rules with no column rule is still a table row (a group label merged across all columns)
# when its one line of text stands clear of both sides by this share of the width and is off-centre by at most
# twice that; a title between two tables (at the left, a unit at the right) is not.
CENTRED_SHARE = 0.1
MIN_TABLE_RULES = 3  # two bands, a header and one row: fewer rules are a box or an underline


class IngestError(Exception):
    """A file that cannot be ingested; the message names the reason in Korean and English."""


def read_pdf(path: Path, pages: set[int] | None = None) -> tuple[list[Block], int]:
    """Blocks of every page (or of the 1-based `pages` only) and the page count. Raises IngestError for unusable files."""
    part = read_pdf_part(path, pages)
    if part.chars == 0:
        raise IngestError(NO_TEXT)
    return part.blocks, part.pages


NO_TEXT = "텍스트가 없는 PDF입니다: 스캔 이미지일 수 있어 OCR이 필요합니다 (image-only PDF, no text layer)"


@dataclass
class PdfPart:
    """Some pages of a PDF as read; parts read in other processes join in page order."""

    blocks: list[Block]
    chars: int  # characters on the pages read: a whole file with none has no text layer
    pages: int  # the file's page count


def pdf_page_count(path: Path) -> int:
    """Pages in a PDF (opening costs ~30 ms: cheap enough to plan page-range work)."""
    with _open(path) as pdf:
        return len(_pages(pdf))


def read_pdf_part(path: Path, pages: set[int] | range | None = None) -> PdfPart:
    """Blocks of the 1-based `pages` (all when None); pages are read independently, so parts can be read apart."""
    with _open(path) as pdf:
        all_pages = _pages(pdf)
        blocks: list[Block] = []
        chars = 0
        for number, page in enumerate(all_pages, start=1):
            if pages is not None and number not in pages:
                continue
            page_blocks, n = _read_page(page, number)
            blocks.extend(page_blocks)
            chars += n
            page.close()
        return PdfPart(blocks, chars, len(all_pages))


def _open(path: Path) -> pdfplumber.PDF:
    import pdfplumber

    try:
        return pdfplumber.open(path)
    except Exception as exc:  # pdfminer raises many types for broken files
        raise IngestError(_open_error(exc)) from exc


def _pages(pdf: pdfplumber.PDF) -> list[Page]:
    try:
        pages = pdf.pages
    except Exception as exc:
        raise IngestError(_open_error(exc)) from exc
    if not pages:
        raise IngestError("페이지가 없는 PDF입니다 (empty PDF)")
    return pages


def _open_error(exc: Exception) -> str:
    name = type(exc).__name__
    if "Password" in name or "Password" in repr(exc) or "encrypt" in str(exc).lower():
        return "암호로 보호된 PDF입니다 (encrypted PDF)"
    return f"PDF를 열 수 없습니다: 손상되었거나 PDF가 아닙니다 (corrupt or not a PDF: {name})"


def _read_page(page: Page, number: int) -> tuple[list[Block], int]:
    # Some exports overprint headings to fake bold ("기기기본본본"); dedupe removes the copies.
    page = page.dedupe_chars(tolerance=1)
    sides = _open_sides(page)
    settings = {**TABLE_SETTINGS, "explicit_vertical_lines": sides} if sides else TABLE_SETTINGS
    tables = [t for t in page.find_tables(settings) if _is_data_table(t)]
    boxes = [t.bbox for t in tables]

    def outside(obj: dict) -> bool:
        return not any(_inside(obj, b) for b in boxes)

    placed: list[tuple[float, Block]] = []
    text_page = page.filter(outside) if boxes else page
    for ln in text_page.extract_text_lines(x_tolerance=TEXT_X_TOLERANCE, return_chars=False):
        text = strip_controls(ln["text"]).strip()
        if text:
            placed.append((ln["top"], Line(text, number)))
    for table in tables:
        spans, boxes = _cell_layout(table)
        grid = Grid(_table_rows(page, table), number, tuple(table.bbox), spans=spans, boxes=boxes,
                    within=_enclosing_text(page, table, tables))
        placed.append((table.bbox[1], grid))
    placed.sort(key=lambda item: item[0])
    return [b for _, b in placed], len(page.chars)


def _open_sides(page: Page) -> list[dict]:
    """The undrawn outer sides of open-sided tables, as vertical edges pdfplumber can close their cells with.

    A table is a run of full-width rules whose bands each hold text and a column rule (or a centred label
    merged across the row); its sides run from its first rule to its last at the rules' ends.
    """
    from pdfplumber.table import TableFinder, TableSettings

    edges = TableFinder(page, TableSettings.resolve(TABLE_SETTINGS)).get_edges()
    verticals = [e for e in edges if e["orientation"] == "v"]
    horizontals = [e for e in edges if e["orientation"] == "h"]
    sets = _rule_sets(horizontals)
    words = page.extract_words(x_tolerance=TEXT_X_TOLERANCE) if sets else []
    sides: list[dict] = []
    for (x0, x1), tops in sets.items():
        for top, bottom in _ruled_runs(x0, x1, tops, verticals, horizontals, words):
            # a side already drawn is left alone: an edge beside it would move it when pdfplumber snaps them
            sides.extend(_edge(x, top, bottom) for x in (x0, x1) if not _drawn(x, top, bottom, verticals))
    return sides


def _rule_sets(horizontals) -> dict[tuple[float, float], list[float]]:
    """Horizontal rules grouped by where they start and end, each group's tops in order."""
    sets: dict[tuple[float, float], list[float]] = {}
    for e in horizontals:
        key = next((k for k in sets if abs(k[0] - e["x0"]) <= RULE_TOLERANCE and abs(k[1] - e["x1"]) <= RULE_TOLERANCE),
                   (e["x0"], e["x1"]))
        sets.setdefault(key, []).append(e["top"])
    return {k: sorted(v) for k, v in sets.items() if len(v) >= MIN_TABLE_RULES}


def _ruled_runs(x0: float, x1: float, tops: list[float], verticals: list[dict], horizontals: list[dict],
                words: list[dict]):
    """(top, bottom) of each run of two or more table bands between consecutive rules."""
    run: list[float] = []
    for top, bottom in pairwise(tops):
        if bottom - top <= RULE_TOLERANCE:
            continue
        # an empty band is no row: the gap between an org chart's boxes holds only the lines joining them
        inside = [w for w in words if x0 <= (w["x0"] + w["x1"]) / 2 <= x1 and top <= (w["top"] + w["bottom"]) / 2 <= bottom]
        row = bool(inside) and not _crossed(x0, x1, top, bottom, horizontals) and (
            _column_ruled(x0, x1, top, bottom, verticals) or (bool(run) and _centred_label(x0, x1, inside)))
        if row:
            run = run or [top]
            run.append(bottom)
            continue
        if len(run) >= MIN_TABLE_RULES:
            yield run[0], run[-1]
        run = []
    if len(run) >= MIN_TABLE_RULES:
        yield run[0], run[-1]


def _crossed(x0: float, x1: float, top: float, bottom: float, horizontals: list[dict]) -> bool:
    """A band crossed by a rule as wide as its set is no row of it: the set's rules are one column's."""
    return any(top + RULE_TOLERANCE < h["top"] < bottom - RULE_TOLERANCE
               and h["x0"] <= x0 + RULE_TOLERANCE and h["x1"] >= x1 - RULE_TOLERANCE for h in horizontals)


def _column_ruled(x0: float, x1: float, top: float, bottom: float, verticals: list[dict]) -> bool:
    return any(x0 + RULE_TOLERANCE < v["x0"] < x1 - RULE_TOLERANCE and _through(v, top, bottom) for v in verticals)


def _drawn(x: float, top: float, bottom: float, verticals: list[dict]) -> bool:
    return any(abs(v["x0"] - x) <= RULE_TOLERANCE and _through(v, top, bottom) for v in verticals)


def _through(vertical: dict, top: float, bottom: float) -> bool:
    """The vertical rule runs from `top` to `bottom` (within the tolerance)."""
    return vertical["top"] <= top + RULE_TOLERANCE and vertical["bottom"] >= bottom - RULE_TOLERANCE


def _centred_label(x0: float, x1: float, words: list[dict]) -> bool:
    """One line of text standing clear of both sides, about as far from each: a label merged across the row."""
    if max(w["top"] for w in words) - min(w["top"] for w in words) > min(w["bottom"] - w["top"] for w in words) / 2:
        return False
    left, right = min(w["x0"] for w in words) - x0, x1 - max(w["x1"] for w in words)
    margin = CENTRED_SHARE * (x1 - x0)
    return min(left, right) >= margin and abs(left - right) <= 2 * margin


def _edge(x: float, top: float, bottom: float) -> dict:
    return {"object_type": "side_edge", "orientation": "v", "x0": x, "x1": x, "top": top, "bottom": bottom,
            "height": bottom - top, "width": 0}


def _enclosing_text(page: Page, table: PlumberTable, tables: list[PlumberTable]) -> str:
    """For a table drawn inside a cell of another, the text of that cell above it (what it is about)."""
    x0, top, x1, bottom = table.bbox
    for other in tables:
        if other is table:
            continue
        for cx0, ctop, cx1, cbottom in (c for c in other.cells if c is not None):
            if cx0 <= x0 and x1 <= cx1 and ctop <= top and bottom <= cbottom:
                return _crop_text(page, (cx0, ctop, cx1, top))
    return ""


def _is_data_table(table: PlumberTable) -> bool:
    """A grid with at least two rows and two columns; single boxes (org charts, callouts) stay text."""
    rows = table.rows
    return len(rows) >= 2 and max(len(r.cells) for r in rows) >= 2


def _inside(obj: dict, bbox: tuple[float, float, float, float]) -> bool:
    x0, top, x1, bottom = bbox
    cx = (obj["x0"] + obj["x1"]) / 2
    cy = (obj["top"] + obj["bottom"]) / 2
    return x0 <= cx <= x1 and top <= cy <= bottom


def _table_rows(page: Page, table: PlumberTable) -> list[list[str]]:
    """Cell texts; cells pdfplumber lost to a missing rule are read back from their row x column box."""
    extracted = [[None if c is None else strip_controls(c) for c in r]
                 for r in table.extract(x_tolerance=TEXT_X_TOLERANCE)]
    if all(c is not None for r in extracted for c in r):
        return [[c.strip() for c in r] for r in extracted]
    col_spans = _column_spans(table)
    cells = [c for c in table.cells if c is not None]
    # Text already owned by a detected cell (e.g. a header merged across columns) must not be read twice.
    orphans = page.filter(lambda o: not any(_inside(o, c) for c in cells))
    rows: list[list[str]] = []
    for row, texts in zip(table.rows, extracted):
        filled = []
        for i, text in enumerate(texts):
            box = _lost_cell_box(row, i, col_spans) if text is None else None
            filled.append((text or "").strip() if box is None else _crop_text(orphans, box))
        rows.append(filled)
    return rows


def _column_spans(table: PlumberTable) -> dict[int, tuple[float, float]]:
    spans: dict[int, tuple[float, float]] = {}
    for row in table.rows:
        for i, cell in enumerate(row.cells):
            if cell is not None and i not in spans:
                spans[i] = (cell[0], cell[2])
    return spans


def _lost_cell_box(row, i: int, spans: dict[int, tuple[float, float]]):
    if i not in spans:
        return None
    x0, x1 = spans[i]
    top, bottom = row.bbox[1], row.bbox[3]
    return (x0, top, x1, bottom)


def _crop_text(page: Page, bbox) -> str:
    try:
        region = page.within_bbox(bbox, strict=False)
    except ValueError:
        return ""
    text = region.extract_text(x_tolerance=TEXT_X_TOLERANCE) or ""
    return strip_controls(text).strip()


def _cell_layout(table: PlumberTable) -> tuple[list[list[int]], list[list[Box | None]]]:
    """Per grid position: how many columns the cell starting there covers (0 where a merged cell covers
    it), and the box of the drawn cell covering it (PDF points), for cell-precise highlights.

    pdfplumber's extract() gives None for covered positions but also for cells lost to a missing rule,
    so the ruled cells' geometry decides which header labels really span several columns.
    """
    n_rows = len(table.rows)
    col_spans = _column_spans(table)
    n_cols = max((len(r.cells) for r in table.rows), default=0)
    row_boxes = [r.bbox for r in table.rows]
    spans = [[1] * n_cols for _ in range(n_rows)]
    boxes: list[list[Box | None]] = [[None] * n_cols for _ in range(n_rows)]
    for x0, top, x1, bottom in (c for c in table.cells if c is not None):
        # A row's box grows with the merged cells starting in it, so rows and columns are placed by their start.
        rows = [i for i, (_, t, _, _) in enumerate(row_boxes) if top - 1 <= t < bottom - 1]
        cols = [j for j, (a, _) in sorted(col_spans.items()) if x0 - 1 <= a < x1 - 1 and j < n_cols]
        if not rows or not cols:
            continue
        box = (round(x0, 1), round(top, 1), round(x1, 1), round(bottom, 1))
        for i in rows:
            for j in cols:
                spans[i][j] = 0
                boxes[i][j] = box
        spans[rows[0]][cols[0]] = len(cols)
    return spans, boxes
