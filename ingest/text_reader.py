"""Plain-text extraction -> blocks: tab-separated rows become grids, form feeds become pages."""
from __future__ import annotations

from pathlib import Path

from .models import Block, Grid, Line
from .normalize import strip_controls, strip_html
from .pdf_reader import IngestError

MAX_TEXT_BYTES = 50 * 1024 * 1024


def read_text(path: Path) -> tuple[list[Block], int]:
    """Blocks and page count (0 when the text has no form feeds, so pages are unknown)."""
    raw = path.read_bytes()
    if len(raw) > MAX_TEXT_BYTES:
        raise IngestError(f"텍스트 파일이 너무 큽니다 (text file too large: {len(raw)} bytes)")
    text = decode_text(raw)
    if not text.strip():
        raise IngestError("빈 파일입니다 (empty file)")
    pages = text.split("\f")
    paged = len(pages) > 1
    blocks: list[Block] = []
    for number, page_text in enumerate(pages, start=1):
        # form feeds are split on first: they are the page breaks; other control characters separate words
        blocks.extend(parse_lines(strip_controls(page_text).splitlines(), number if paged else None))
    return blocks, len(pages) if paged else 0


def decode_text(raw: bytes) -> str:
    """UTF-8 (with or without BOM), else CP949 as Korean public-sector tools still write it."""
    if b"\x00" in raw[:4096]:
        raise IngestError("바이너리 파일입니다: 텍스트가 아닙니다 (binary file, not text)")
    for encoding in ("utf-8-sig", "cp949"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise IngestError("문자 인코딩을 알 수 없습니다: UTF-8 또는 CP949로 저장해 주세요 (unknown text encoding)")


def _grid_or_line(rows: list[list[str]], page: int | None) -> Block:
    """A lone tab row is a label line split by a tab ("증 감<TAB>집행현황"), not a table."""
    if len(rows) == 1:
        return Line(" ".join(c for c in rows[0] if c), page)
    return Grid(rows, page)


def parse_lines(lines: list[str], page: int | None) -> list[Block]:
    blocks: list[Block] = []
    rows: list[list[str]] = []
    for line in lines:
        if "\t" in line:
            rows.append([strip_html(c).strip() for c in line.split("\t")])
            continue
        if rows:
            blocks.append(_grid_or_line(rows, page))
            rows = []
        text = strip_html(line).strip()
        for part in text.split("\n"):
            if part.strip():
                blocks.append(Line(part.strip(), page))
    if rows:
        blocks.append(_grid_or_line(rows, page))
    return blocks
