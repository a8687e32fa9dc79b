"""Structured document -> chunks: whole small tables or row groups, and section-bounded text."""
from __future__ import annotations

from .models import (
    Chunk,
    DocumentMeta,
    Table,
    TableChunk,
    TableRow,
    TextChunk,
    stable_id,
)
from .normalize import number_forms
from .structure import Structured, TextUnit

MAX_TABLE_ROWS = 10
MAX_TEXT_CHARS = 600


def chunk_document(meta: DocumentMeta, doc: Structured) -> list[Chunk]:
    chunks: list[Chunk] = []
    for unit in doc.texts:
        chunks.extend(_text_chunks(meta, unit))
    for table in doc.tables:
        chunks.extend(_table_chunks(meta, table))
    return chunks


def _base(meta: DocumentMeta, page: int | None, section: str) -> dict:
    return {"file": meta.file, "title": meta.title, "organization": meta.organization, "date": meta.date,
            "page": page, "section": section}


def _text_chunks(meta: DocumentMeta, unit: TextUnit) -> list[TextChunk]:
    out: list[TextChunk] = []
    for i, part in enumerate(_pack(unit.lines, MAX_TEXT_CHARS)):
        text = "\n".join(part)
        search = f"{meta.title} {meta.organization} | {unit.section}\n{text}"
        out.append(
            TextChunk(
                id=stable_id(meta.file, unit.page, unit.section, i, text),
                text=text,
                search_text=_with_number_forms(search),
                **_base(meta, unit.page, unit.section),
            )
        )
    return out


def _pack(lines: list[str], limit: int) -> list[list[str]]:
    groups: list[list[str]] = [[]]
    size = 0
    for line in lines:
        if groups[-1] and size + len(line) > limit:
            groups.append([])
            size = 0
        groups[-1].append(line)
        size += len(line) + 1
    return [g for g in groups if g]


def _table_chunks(meta: DocumentMeta, table: Table) -> list[TableChunk]:
    groups = [table.rows[i : i + MAX_TABLE_ROWS] for i in range(0, len(table.rows), MAX_TABLE_ROWS)] or [[]]
    out: list[TableChunk] = []
    for n, rows in enumerate(groups):
        text = render_table(table, rows)
        cell_lines = "\n".join(row_facts(table, row) for row in rows)
        search = (
            f"{meta.title} {meta.organization} | {table.section}\n{table.caption} (단위: {table.unit})\n{cell_lines}"
        )
        out.append(
            TableChunk(
                id=stable_id(meta.file, table.table_id, n, text),
                text=text,
                table_id=table.table_id,
                unit=table.unit,
                as_of=table.as_of,
                caption=table.caption,
                columns=table.columns,
                rows=rows,
                column_boxes=table.column_boxes,
                search_text=_with_number_forms(search),
                **_base(meta, table.page, table.section),
            )
        )
    return out


def render_table(table: Table, rows: list[TableRow]) -> str:
    """Readable text of a table part: caption, unit line, header, rows as ' | '-joined cells."""
    head = [table.caption] if table.caption else []
    meta = ", ".join(x for x in (f"{table.as_of} 기준" if table.as_of else "", f"단위: {table.unit}" if table.unit else "") if x)
    if meta:
        head.append(f"({meta})")
    head.append(" | ".join(table.columns))
    body = [" | ".join([r.header or "", *[v.replace("\n", " ") for v in r.values]]) for r in rows]
    return "\n".join(head + body)


def row_facts(table: Table, row: TableRow) -> str:
    """'행: 열 = 값' for each filled cell, so one cell can be matched lexically."""
    facts = []
    for col, value in table.cells(row):
        value = value.replace("\n", " ").strip()
        if value and value != row.header:
            facts.append(f"{col} = {value}")
    return f"{row.header}: " + "; ".join(facts)


def _with_number_forms(text: str) -> str:
    forms = number_forms(text)
    return text + ("\n" + " ".join(forms) if forms else "")
