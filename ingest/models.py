"""Typed records that flow out of ingest: documents, pages, tables and chunks."""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass, field, fields
from typing import ClassVar, Literal

ChunkKind = Literal["text", "table"]

# A column printed without a header is named by its position ("열3"): a place to point at, not a label to show.
_UNNAMED_COLUMN = re.compile(r"열\d+")


def unnamed_column(j: int) -> str:
    return f"열{j + 1}"


def is_unnamed_column(label: str) -> bool:
    return bool(_UNNAMED_COLUMN.fullmatch(label))


@dataclass(frozen=True)
class DocumentMeta:
    """One report as described by corpus/manifest.json."""

    file: str
    title: str
    organization: str = ""
    date: str = ""
    source: str = ""
    kind: str = ""
    # Other names staff use for the organization or report ("디지털재단", "검토보고"); corpus facts, not code.
    aliases: tuple[str, ...] = ()

    @property
    def year(self) -> int | None:
        head = self.date[:4]
        return int(head) if head.isdigit() else None


Box = tuple[float, float, float, float]  # x0, top, x1, bottom in PDF points


@dataclass
class TableRow:
    header: str  # row label as printed (e.g. "서울시 출연금")
    values: list[str]  # cell texts as printed, aligned with Table.value_columns
    values_norm: list[str] = field(default_factory=list)  # numbers repaired/normalized for matching
    # Ruled PDF tables only: where the row label and each value cell are printed (empty when unknown).
    header_box: list[float] | None = None
    boxes: list[list[float] | None] = field(default_factory=list)  # aligned with values
    page: int | None = None  # where the row is printed: a table running onto the next page keeps one id


class TableShape:
    """What a table and a table chunk share: `columns[0]` names the row-label column and the other columns
    align with every `TableRow.values`. Callers ask for value columns and cells here instead of slicing."""

    @property
    def label_column(self) -> str:
        return self.columns[0] if self.columns else ""

    @property
    def value_columns(self) -> list[str]:
        return self.columns[1:]

    def cells(self, row: TableRow) -> list[tuple[str, str]]:
        """(column label, cell text) of one row, in printed order."""
        return list(zip(self.value_columns, row.values))

    def cell(self, row: str, column: str) -> str | None:
        """The text of the cell at a row label and a column label; None when the table has no such cell."""
        for r in self.rows:
            if r.header == row:
                return dict(self.cells(r)).get(column)
        return None

    def column_box(self, column: str) -> list[float] | None:
        """Where a value column's header is printed (ruled PDF tables only)."""
        if column not in self.value_columns:
            return None
        j = self.value_columns.index(column) + 1
        return self.column_boxes[j] if j < len(self.column_boxes) else None


@dataclass
class Table(TableShape):
    table_id: str
    caption: str
    unit: str
    as_of: str
    columns: list[str]  # merged (multi-row) column headers; columns[0] names the row-header column
    rows: list[TableRow]
    page: int | None
    section: str
    column_boxes: list[list[float] | None] = field(default_factory=list)  # header cells, aligned with columns


@dataclass(kw_only=True)
class Chunk:
    """What every chunk has: where it comes from and its text. A chunk is a `TextChunk` or a `TableChunk`;
    only table chunks have rows, columns and a unit, so callers ask `isinstance(c, TableChunk)`."""

    kind: ClassVar[ChunkKind]
    id: str
    text: str  # what is shown and quoted
    file: str
    title: str
    organization: str
    date: str
    page: int | None  # 1-based; None when the source has no pages
    section: str  # section path joined with " > "
    search_text: str = ""  # text used for lexical/dense indexing (adds title, section, "행: 열 = 값" lines)

    def to_json(self) -> str:
        return json.dumps({"kind": self.kind, **asdict(self)}, ensure_ascii=False)

    @classmethod
    def from_dict(cls, d: dict) -> TextChunk | TableChunk:
        """A chunk as written by `to_json` (also chunks.jsonl of older indexes, whose text chunks carried empty
        table fields)."""
        if d.get("kind") == "table":
            values = _known(TableChunk, d)
            values["rows"] = [TableRow(**r) for r in values.get("rows", [])]
            return TableChunk(**values)
        return TextChunk(**_known(TextChunk, d))


def _known(cls: type, d: dict) -> dict:
    names = {f.name for f in fields(cls)}
    return {k: v for k, v in d.items() if k in names}


@dataclass(kw_only=True)
class TextChunk(Chunk):
    """A run of lines under one section heading."""

    kind: ClassVar[ChunkKind] = "text"


@dataclass(kw_only=True)
class TableChunk(Chunk, TableShape):
    """A whole small table or a group of a long table's rows, with the table's header and unit."""

    kind: ClassVar[ChunkKind] = "table"
    table_id: str
    unit: str = ""
    as_of: str = ""
    caption: str = ""
    columns: list[str] = field(default_factory=list)
    rows: list[TableRow] = field(default_factory=list)  # the rows this chunk holds
    column_boxes: list[list[float] | None] = field(default_factory=list)  # header cell boxes


def stable_id(*parts: object) -> str:
    """Id that depends only on content and position, so re-ingesting gives the same ids."""
    h = hashlib.sha1("\x1f".join(str(p) for p in parts).encode("utf-8")).hexdigest()
    return h[:16]


@dataclass
class Line:
    """A line of running text in reading order."""

    text: str
    page: int | None


@dataclass
class Grid:
    """A table as extracted: rows of cell texts (ruled table, tab rows or aligned columns)."""

    rows: list[list[str]]
    page: int | None
    bbox: tuple[float, float, float, float] | None = None  # PDF points, for highlighting
    continues: bool = False  # the rest of the previous table after a page break (same header)
    # Ruled tables only: columns covered by the cell starting at each position (0 = inside a merged cell).
    spans: list[list[int]] | None = None
    boxes: list[list[Box | None]] | None = None  # ruled tables only: the drawn cell covering each position
    # a table drawn inside another's cell: that cell's text above it ("w 사 업 명 : … 지원사업", "(단위: 백만원)"),
    # which names what the inner table is about
    within: str = ""


Block = Line | Grid


@dataclass
class ParsedDocument:
    meta: DocumentMeta
    blocks: list[Block]
    pages: int  # 0 when the source has no page structure
