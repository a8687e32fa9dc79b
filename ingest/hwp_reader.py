"""HWP 5.x and HWPX -> blocks (text lines and table grids) in reading order, through hwp-hwpx-parser.

The library opens the containers (OLE streams, zlib sections, record framing; HWPX zip and section
list). Its tables are ragged cell lists without cell addresses or spans, so merged cells would shift
values into the wrong columns; cells are therefore placed here from the records it already parses
(HWP LIST_HEADER cell address/span, HWPX hp:cellAddr/hp:cellSpan).

Pages: the saved layout of each top-level paragraph (HWP PARA_LINE_SEG, HWPX hp:lineseg) restarts its
vertical position at the top of every page, and explicit page breaks are flagged; both start a new
page. A file saved without layout (some converters) has only its explicit breaks, so it may be page 1.
"""
from __future__ import annotations

import itertools
import re
import struct
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

from .models import Block, Grid, Line
from .normalize import strip_controls
from .pdf_reader import IngestError

HWP_SUFFIXES = {".hwp", ".hwpx"}
MAX_HEADER_ROWS = 3  # a taller first-row cell is a body cell (a note beside every row), not a header


@dataclass
class _Para:
    text: str
    page: int


@dataclass
class _Cell:
    row: int
    col: int
    rowspan: int
    colspan: int
    items: list[_Para | _Table] = field(default_factory=list)


@dataclass
class _Table:
    rows: int
    cols: int
    cells: list[_Cell]
    page: int


_Item = _Para | _Table


class _Pager:
    """Page number of top-level paragraphs from break flags and restarting line positions."""

    def __init__(self) -> None:
        self.page = 1
        self.last_pos: int | None = None

    def start(self, page_break: bool, positions: list[int]) -> int:
        """Page of a paragraph beginning here; afterwards self.page is the page it ends on."""
        if self.last_pos is not None and (page_break or (positions and positions[0] < self.last_pos)):
            self.page += 1
        first = self.page
        self.page += sum(b < a for a, b in itertools.pairwise(positions))
        if positions:
            self.last_pos = positions[-1]
        elif page_break:
            self.last_pos = 0
        return first


def read_hwp(path: Path) -> tuple[list[Block], int]:
    """Blocks and page count of a .hwp or .hwpx file. Raises IngestError for unusable files."""
    items = _read_hwpx(path) if path.suffix.lower() == ".hwpx" else _read_hwp5(path)
    blocks = _blocks(items)
    pages = max((b.page or 1 for b in blocks), default=0)
    return blocks, pages


# ---------------------------------------------------------------- items -> blocks

def _blocks(items: list[_Item], page: int | None = None) -> list[Block]:
    out: list[Block] = []
    for item in items:
        where = page or item.page
        if isinstance(item, _Para):
            out.extend(Line(t, where) for t in _lines(item.text))
        elif _is_data_table(grid := _grid(item)):
            out.append(Grid(_table_rows(item, grid), where))
        else:
            # One-row or one-column boxes (title frames, callouts) hold text, maybe a real table inside.
            for cell in sorted(item.cells, key=lambda c: (c.row, c.col)):
                out.extend(_blocks(cell.items, where))
    return out


def _is_data_table(grid: list[list[str]]) -> bool:
    """Two rows with two filled cells; else a frame around text (title bars, boxed notes, banners)."""
    return sum(sum(1 for c in row if c.strip()) >= 2 for row in grid) >= 2


def _table_rows(table: _Table, grid: list[list[str]]) -> list[list[str]]:
    """The grid with spanned header rows and label columns folded, as the structure step expects.

    The file states what the text-based header guess cannot see (year and half-year header rows hold
    no figures): header cells in the first row span exactly the header rows, and the top-left cell
    ("구분", "추진 과제") spans the row-label columns. Header rows become one row of header paths
    ("추진일정 2019 상"); label columns one label per row ("대분류 소분류").
    """
    head = _header_rows(table)
    if 1 < head < len(grid):
        grid = [[_join([row[j] for row in grid[:head]]) for j in range(len(grid[0]))], *grid[head:]]
    corner = _corner(table)
    if corner is not None and 1 < corner.colspan < len(grid[0]):
        grid = [[_join(row[: corner.colspan]), *row[corner.colspan :]] for row in grid]
    return _without_empty_columns(grid)


def _without_empty_columns(grid: list[list[str]]) -> list[list[str]]:
    """Spacer columns (narrow gutters with no text in any row) are not table columns."""
    keep = [j for j in range(len(grid[0])) if any(row[j].strip() for row in grid)]
    return [[row[j] for j in keep] for row in grid]


def _join(parts: list[str]) -> str:
    """Distinct non-empty texts in order, space-joined (a spanned cell's copies count once)."""
    seen: list[str] = []
    for p in parts:
        p = p.strip()
        if p and p not in seen:
            seen.append(p)
    return " ".join(seen)


def _grid(table: _Table) -> list[list[str]]:
    """Cell texts on the table's row x column grid.

    A cell spanning rows repeats down (a group label, or a value shared by those rows). A cell
    spanning columns repeats across only in the header rows, where it heads each column below it;
    in the body its text stays in its first column, as a PDF table reads.
    """
    rows = max([table.rows, *(c.row + c.rowspan for c in table.cells)])
    cols = max([table.cols, *(c.col + c.colspan for c in table.cells)])
    grid = [[""] * cols for _ in range(rows)]
    head = _header_rows(table)
    for cell in table.cells:
        text = _cell_text(cell.items)
        for r in range(cell.row, cell.row + max(cell.rowspan, 1)):
            across = cell.colspan if r < head and cell.col > 0 else 1
            for k in range(cell.col, cell.col + max(across, 1)):
                grid[r][k] = text
    return grid


def _header_rows(table: _Table) -> int:
    """Rows spanned by the tallest first-row cell ("구분" or "배점" over a two-row header), at most 3."""
    spans = [c.rowspan for c in table.cells if c.row == 0]
    tallest = max(spans, default=1)
    return tallest if 1 < tallest <= MAX_HEADER_ROWS and tallest < table.rows else 1


def _corner(table: _Table) -> _Cell | None:
    return next((c for c in table.cells if c.row == 0 and c.col == 0), None)


def _cell_text(items: list[_Item]) -> str:
    """Paragraphs one per line, a nested table flattened row by row."""
    lines: list[str] = []
    for item in items:
        if isinstance(item, _Para):
            lines.extend(_lines(item.text))
            continue
        for row in _grid(item):
            words = [c.replace("\n", " ") for i, c in enumerate(row) if c and c not in row[:i]]
            if words:
                lines.append(" ".join(words))
    return "\n".join(lines)


def _lines(text: str) -> list[str]:
    """Non-empty lines with tabs, control characters and space runs as one space, as the PDF reader yields them."""
    return [" ".join(t.split()) for t in strip_controls(text).split("\n") if t.strip()]


# ---------------------------------------------------------------- HWP 5.x (OLE records)

_PARA_HEADER, _PARA_TEXT, _LINE_SEG, _CTRL_HEADER, _LIST_HEADER, _TABLE = 66, 67, 69, 71, 72, 77
_PAGE_BREAK = 0x04  # PARA_HEADER column/page break bits: 0x01 section, 0x04 page
_SECTION_BREAK = 0x01
_CHAR_CONTROLS = {0, 10, 13, 24, 25, 26, 27, 28, 29, 30, 31}  # one wchar; all other controls take eight
_SKIPPED_CTRLS = {b"head", b"foot"}  # page headers/footers repeat on every page; footnotes follow their paragraph
_Record = tuple[int, int, bytes]


def _read_hwp5(path: Path) -> list[_Item]:
    # imported at read time only: answering questions never needs it
    from hwp_hwpx_parser import HWP5Reader

    _check_hwp5_signature(path)
    reader = HWP5Reader(path)
    try:
        reader._open()
        if reader.is_encrypted():
            raise IngestError("암호로 보호된 HWP 문서입니다 (encrypted HWP)")
        sections = list(reader._iter_sections())
        if not sections:
            if reader._ole.exists("ViewText/Section0"):
                raise IngestError("배포용(보기 전용) HWP 문서는 읽을 수 없습니다 (distribution-only HWP, body is encrypted)")
            raise IngestError("HWP 본문이 없습니다: 손상된 파일입니다 (no BodyText in HWP)")
        pager = _Pager()
        items: list[_Item] = []
        for index in sections:
            records = list(reader._parse_records(reader._read_section(index)))
            items.extend(_hwp5_list(records, 0, 0, pager)[0])
        return items
    except IngestError:
        raise
    except Exception as exc:  # olefile, zlib and struct raise many types for broken files
        raise IngestError(f"HWP를 열 수 없습니다: 손상되었거나 HWP 5.x 파일이 아닙니다 (corrupt or not HWP 5.x: {type(exc).__name__})") from exc
    finally:
        reader._close()


def _check_hwp5_signature(path: Path) -> None:
    with path.open("rb") as f:
        head = f.read(32)
    if head.startswith(b"HWP Document File"):
        raise IngestError("HWP 3.0 이전 형식은 지원하지 않습니다: 한글에서 HWP 5.x나 HWPX로 저장해 주세요 (HWP 3.x file)")


def _hwp5_list(records: list[_Record], i: int, level: int, pager: _Pager | None, page: int = 1) -> tuple[list[_Item], int]:
    """Paragraphs at `level` starting at records[i], until a record at a lower level or another list."""
    items: list[_Item] = []
    while i < len(records):
        tag, lvl, _ = records[i]
        if lvl < level or (lvl == level and tag != _PARA_HEADER):
            break
        if tag != _PARA_HEADER:
            i += 1
            continue
        para_items, i = _hwp5_paragraph(records, i, pager, page)
        items.extend(para_items)
    return items, i


def _hwp5_paragraph(records: list[_Record], i: int, pager: _Pager | None, page: int) -> tuple[list[_Item], int]:
    _, level, header = records[i]
    end = _subtree_end(records, i)
    text = ""
    positions: list[int] = []
    controls: list[int] = []
    for j in range(i + 1, end):
        tag, lvl, data = records[j]
        if lvl != level + 1:
            continue
        if tag == _PARA_TEXT:
            text = _decode_text(data)
        elif tag == _LINE_SEG:
            positions = [struct.unpack_from("<i", data, k * 36 + 4)[0] for k in range(len(data) // 36)]
        elif tag == _CTRL_HEADER:
            controls.append(j)
    if pager is not None:
        breaks = header[11] & (_PAGE_BREAK | _SECTION_BREAK) if len(header) > 11 else 0
        page = pager.start(bool(breaks), positions)
    items: list[_Item] = [_Para(text, page)] if text.strip() else []
    for j in controls:
        items.extend(_hwp5_control(records, j, page))
    return items, end


def _hwp5_control(records: list[_Record], i: int, page: int) -> list[_Item]:
    _, level, data = records[i]
    ctrl = data[:4][::-1]  # the id is a little-endian four-letter code: b" lbt" -> b"tbl "
    if ctrl in _SKIPPED_CTRLS:
        return []
    end = _subtree_end(records, i)
    if ctrl == b"tbl ":
        return [_hwp5_table(records, i + 1, end, level + 1, page)]
    # Text boxes and other shapes: every paragraph list inside, in order.
    items: list[_Item] = []
    j = i + 1
    while j < end:
        tag, lvl, _ = records[j]
        if tag == _LIST_HEADER:
            found, j = _hwp5_list(records, j + 1, lvl, None, page)
            items.extend(found)
            continue
        j += 1
    return items


def _hwp5_table(records: list[_Record], i: int, end: int, level: int, page: int) -> _Table:
    rows = cols = 0
    cells: list[_Cell] = []
    j = i
    while j < end:
        tag, lvl, data = records[j]
        if tag == _TABLE and lvl == level:
            rows, cols = struct.unpack_from("<HH", data, 4)
        if tag == _LIST_HEADER and lvl == level and len(data) >= 16:
            # LIST_HEADER: paragraph count, flags (8 bytes), then column, row, column span, row span
            col, row, colspan, rowspan = struct.unpack_from("<HHHH", data, 8)
            items, j = _hwp5_list(records, j + 1, level, None, page)
            cells.append(_Cell(row, col, rowspan, colspan, items))
            continue
        j += 1
    return _Table(rows, cols, cells, page)


def _subtree_end(records: list[_Record], i: int) -> int:
    level = records[i][1]
    j = i + 1
    while j < len(records) and records[j][1] > level:
        j += 1
    return j


def _decode_text(data: bytes) -> str:
    """PARA_TEXT as text. The library's decoder keeps a tab's seven-wchar payload as text ("翌ȃ")."""
    out: list[str] = []
    i = 0
    while i + 1 < len(data):
        code = data[i] | data[i + 1] << 8
        if code >= 32:
            out.append(chr(code))
            i += 2
            continue
        if code == 9:
            out.append("\t")
        elif code == 10:
            out.append("\n")
        elif code in (30, 31):  # non-breaking and fixed-width spaces
            out.append(" ")
        i += 2 if code in _CHAR_CONTROLS else 16
    return "".join(out)


# ---------------------------------------------------------------- HWPX (zip of XML sections)

_HP = "{http://www.hancom.co.kr/hwpml/2011/paragraph}"
_CTRL, _NOTES = f"{_HP}ctrl", {f"{_HP}footNote", f"{_HP}endNote"}
_NOT_BODY = {f"{_HP}header", f"{_HP}footer", f"{_HP}secPr"}  # repeated page headers/footers, page setup


def _read_hwpx(path: Path) -> list[_Item]:
    from hwp_hwpx_parser import HWPXReader

    reader = HWPXReader(path)
    try:
        reader._open()
        if reader.is_encrypted():
            raise IngestError("암호로 보호된 HWPX 문서입니다 (encrypted HWPX)")
        sections = sorted(reader._get_section_files(), key=lambda n: int(re.sub(r"\D", "", n) or 0))
        if not sections:
            raise IngestError("HWPX 본문(Contents/section*.xml)이 없습니다 (no sections in HWPX)")
        pager = _Pager()
        items: list[_Item] = []
        for name in sections:
            root = ET.fromstring(reader._zipfile.read(name))
            for p in root.findall(f"{_HP}p"):
                items.extend(_hwpx_paragraph(p, pager, 1))
        return items
    except IngestError:
        raise
    except Exception as exc:  # zipfile, zlib and the XML parser raise many types for broken files
        raise IngestError(f"HWPX를 열 수 없습니다: 손상되었거나 HWPX 파일이 아닙니다 (corrupt or not HWPX: {type(exc).__name__})") from exc
    finally:
        reader._close()


def _hwpx_paragraph(p: ET.Element, pager: _Pager | None, page: int) -> list[_Item]:
    if pager is not None:
        positions = [int(s.get("vertpos", "0")) for s in p.findall(f"{_HP}linesegarray/{_HP}lineseg")]
        page = pager.start(p.get("pageBreak") == "1", positions)
    texts: list[str] = []
    objects: list[_Item] = []
    for run in p.findall(f"{_HP}run"):
        for child in run:
            if child.tag == f"{_HP}t":
                texts.append(_hwpx_text(child))
            elif child.tag == f"{_HP}tbl":
                objects.append(_hwpx_table(child, page))
            elif child.tag == _CTRL:
                for note in (g for g in child if g.tag in _NOTES):
                    objects.extend(_hwpx_lists(note, page))
            elif child.tag not in _NOT_BODY:
                objects.extend(_hwpx_lists(child, page))  # text boxes: hp:rect > hp:drawText > hp:subList
    text = "".join(texts)
    return ([_Para(text, page)] if text.strip() else []) + objects


def _hwpx_lists(elem: ET.Element, page: int) -> list[_Item]:
    """Paragraphs of the outermost hp:subList elements inside elem (nested ones come with their table)."""
    items: list[_Item] = []
    for child in elem:
        if child.tag == f"{_HP}subList":
            for q in child.findall(f"{_HP}p"):
                items.extend(_hwpx_paragraph(q, None, page))
        else:
            items.extend(_hwpx_lists(child, page))
    return items


def _hwpx_text(t: ET.Element) -> str:
    """hp:t text with its inline tabs and line breaks (the library keeps only the text before them)."""
    parts = [t.text or ""]
    for child in t:
        if child.tag == f"{_HP}tab":
            parts.append("\t")
        elif child.tag == f"{_HP}lineBreak":
            parts.append("\n")
        parts.append(child.tail or "")
    return "".join(parts)


def _hwpx_table(tbl: ET.Element, page: int) -> _Table:
    cells: list[_Cell] = []
    for tr in tbl.findall(f"{_HP}tr"):
        for tc in tr.findall(f"{_HP}tc"):
            addr = tc.find(f"{_HP}cellAddr")
            span = tc.find(f"{_HP}cellSpan")
            items = _hwpx_lists(tc, page)
            cells.append(_Cell(
                row=int(addr.get("rowAddr", "0")) if addr is not None else len(cells),
                col=int(addr.get("colAddr", "0")) if addr is not None else 0,
                rowspan=int(span.get("rowSpan", "1")) if span is not None else 1,
                colspan=int(span.get("colSpan", "1")) if span is not None else 1,
                items=items,
            ))
    return _Table(int(tbl.get("rowCnt", "0")), int(tbl.get("colCnt", "0")), cells, page)
