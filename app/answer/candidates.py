"""Typed answer candidates generated from retrieved chunks: cells, rows, extremes, differences, spans, lists.

Generators only propose; the fitted scorer (scorer.py) decides. Each candidate knows its own labels
(what it says about itself: row and column headers, or its sentence) apart from its context (caption,
section), since the features weigh the two differently.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from index.fusion import Hit
from ingest.models import Chunk, TableChunk, TableRow, is_unnamed_column
from ingest.normalize import ORDINAL_LETTER, compact

from ..korean_numbers import base_unit, value_of
from .intent import Intent

TOTAL_ROWS = frozenset({"계", "합계", "총계", "총합계", "소계", "총괄", "전체"})
_RATE_COLUMN = re.compile(r"[률율]|비율|비중|%|/\s*[A-Z]")
_HEADCOUNT = re.compile(r"정원|현원|인력|인원|과부족|직급|직원")
_SPLIT = re.compile(r"(?<=[다음함됨임])\.\s+|\n")
# Words a sentence states a reason or an opinion with: "주된 사유는", "감액 요인으로", "~에 따른 것으로".
STATED_REASON = re.compile(r"사유|요인|때문|기인|원인|따른\s*것|에\s*따른|위하여|위해|필요|지적|의견|권고|바람직")
_META_LINE = re.compile(r"^\(.*(?:기준|단위).*\)$")
# "기획재정부. (2023). 「2023년도 조세지출 기본계획」.": a reference list names sources, it answers nothing
_REFERENCE_LINE = re.compile(r"\.\s*\((?:19|20)\d{2}[a-z]?\)\.")
_ITEM = re.compile(rf"^(?:\d{{1,2}}[.)]|[-－・◦▪○❍●•ㅇ□■▸▹◈◇◊◆∘✔✓◾]|[①-⑳]|{ORDINAL_LETTER}[.)])\s*\S")
_SUB_ITEM = re.compile(r"^(?:[-－・◦▪•※▸▹]|\(\S+\))\s*")
FIGURE_TYPES = ("amount", "count", "rate", "date")
SPAN_WIDTHS = (1, 2, 3)
AFTER_LINES = 3  # lines kept after a sentence, for answers that are read rather than looked up
READ_ON_LINES = 2 * AFTER_LINES  # at most, for a reason whose sentence runs on past them
MAX_LIST_ITEMS = 12
LIST_CAPTION_LINES = 2


@dataclass
class Candidate:
    kind: str  # cell | row | extreme | difference | span | list | filter | tagged
    hit: Hit
    rank: int  # retrieval rank of its chunk, 0-based
    labels: str  # what the candidate says about itself: row + column headers, or its own sentence(s)
    text: str  # the answer as shown
    quote: str  # what the citation quotes
    value: str = ""  # the printed figure a cell answers with
    unit: str = ""
    row: str = ""
    column: str = ""
    direction: str = ""  # extremes: "max" / "min"; filters: "down" / "up"
    group: int = 0  # extremes and filters: how many rows were weighed
    aggregate: bool = False  # extremes: the row sums rows below it
    items: tuple[str, ...] = ()  # lists: the names listed, all of them (the text shows the first few)
    change_rate: float | None = None  # table differences: the change in percent of the earlier year's figure
    after: str = ""  # spans: the lines that follow in the chunk
    before: str = ""  # spans: the line before (a reason is often stated just above the measure)
    parent: str = ""  # spans: the outline item its first line sits under ("o 용량제 시범 운영" over "- 소요예산 : …")
    table_row: TableRow | None = None
    features: dict[str, float] = field(default_factory=dict)
    probability: float = 0

    @property
    def chunk(self) -> Chunk:
        return self.hit.chunk

    @property
    def page(self) -> int | None:
        """Where the answer is printed: a row of a table that runs onto the next page may sit past its hit's page."""
        if self.table_row is not None and self.table_row.page is not None:
            return self.table_row.page
        return self.chunk.page


def is_listing(intent: Intent) -> bool:
    return intent.operation in ("list", "count") or intent.answer_type == "list"


def generate(intent: Intent, hits: list[Hit], section_lines: dict[tuple[str, str], list[str]],
             table_rows: dict[tuple[str, str], list[TableRow]],
             following: dict[str, list[str]] | None = None,
             subtrees: dict[tuple[str, str], list[str]] | None = None) -> list[Candidate]:
    """All candidates from the retrieved chunks; `section_lines` holds every text line per (file, section),
    `table_rows` every row of a table per (file, table id), since a long table spans several chunks,
    `following` the text lines after a chunk (chunk id -> lines), read after a sentence that ends its chunk,
    and `subtrees` the lines under a hit's parent and grandparent sections, for the lists its heading is in."""
    following = following or {}
    subtrees = subtrees or {}
    out: list[Candidate] = []
    seen_tables: set[tuple[str, str | None]] = set()
    listed: set[tuple] = set()  # tables by (file, table id); sibling lists by (file, section, bullet kind)
    listing = is_listing(intent)
    # "조직 어떻게 돼? 과 이름 알려줘" asks for the chart's units, though no list word says so
    charting = listing or intent.answer_type in UNIT_NAME_TYPES
    for rank, hit in enumerate(hits):
        if isinstance(hit.chunk, TableChunk):
            out += cells(hit, rank, figures_only=intent.answer_type in FIGURE_TYPES)
            out += rows(hit, rank)
            key = (hit.chunk.file, hit.chunk.table_id)
            if intent.operation in ("superlative", "filter") and key not in seen_tables:
                seen_tables.add(key)
                whole = [r for r in table_rows.get(key) or hit.chunk.rows if not _excluded(r, intent.excluded)]
                if intent.operation == "filter":
                    out += filtered(hit, rank, whole, intent.direction)
                else:
                    out += extremes(hit, rank, whole, intent.direction) + row_extremes(hit, rank, intent)
            if listing and key not in listed:
                listed.add(key)  # a table of several chunks lists all its rows, once, at its best chunk's rank
                every_row = table_rows.get(key) or hit.chunk.rows
                out += column_lists(hit, rank, every_row) + category_rows(hit, rank, every_row, intent.terms,
                                                                         intent.question)
            if intent.operation == "compare":
                out += differences(hit, rank)
            if charting:
                out += unit_names(hit, rank, intent.units)
        else:
            out += spans(hit, rank, whole_sentences=intent.answer_type == "reason",
                         following=following.get(hit.chunk.id, []))
            if intent.operation == "compare":
                out += span_differences(hit, rank, intent.terms)
            if listing:
                own = section_lines.get((hit.chunk.file, hit.chunk.section), [])
                out += lists(hit, rank, own)
                out += labelled_items(hit, rank)
                out += inline_lists(hit, rank)
                for above in ancestors(hit.chunk.section):
                    lines = subtrees.get((hit.chunk.file, above), [])
                    # the heading just under `above` has siblings; the hit's own heading, cousins
                    below = hit.chunk.section.removeprefix(f"{above} > ").split(" > ")
                    for kind in dict.fromkeys(_heading_kind(lines, h) for h in (below[0], below[-1])):
                        if kind and (hit.chunk.file, above, kind) not in listed:
                            listed.add((hit.chunk.file, above, kind))  # once, at the best rank under `above`
                            out += sibling_list(hit, rank, above, kind, lines, intent.terms)
            if charting:
                out += unit_names(hit, rank, intent.units)
    return out


# ------------------------------------------------------------------ tables

def unit_for(chunk: TableChunk, column: str, value: str) -> str:
    """The unit a figure is printed in: the table's unit line, % in the cell or named over a rate column, or 명
    for staffing tables."""
    if value.strip().endswith("%") or not re.search(r"\d", value):
        return ""
    if not value.strip()[-1].isdigit():
        return ""  # "51명", "3종": the cell prints its own unit
    if _RATE_COLUMN.search(column):
        # "증감률 (%) | 105": the header, or a unit line "(단위: 천원, %)", names the percent the cells leave out
        return "%" if "%" in column or "%" in chunk.unit else ""
    unit = base_unit(chunk.unit)
    if unit == "%":
        return "%"
    if not unit and _HEADCOUNT.search(f"{chunk.caption} {chunk.section} {column}"):
        return "명"
    return unit


def row_text_labels(row: TableRow) -> str:
    """The row header and the row's text cells (a program name in a budget list is a text cell)."""
    return " ".join([row.header, *_text_cells(row)])


def _text_cells(row: TableRow, skip: int | None = None) -> list[str]:
    """The row's cells that name rather than measure (no figure, at most 60 characters), but column `skip`."""
    return [v for i, v in enumerate(row.values) if i != skip and v.strip() and value_of(v) is None and len(v) <= 60]


_SUBTOTAL = re.compile(r"(?:소계|합계|총계|총괄)$")
_PARENTHESES = re.compile(r"\([^)]*\)")
_TOTAL_BUDGET = re.compile(r"^총예산")  # "총 예산 (계)" closing a budget list; "총 연장" of a sideways table is a measure


def is_total(row: TableRow) -> bool:
    """ "합계", "합계 (일반회계)", and subtotal rows that name their group ("행정 운영 경비 소계")."""
    return is_total_label(row.header)


def is_total_label(label: str) -> bool:
    """A row's or a column's label that names a total: "합계 (일반회계)" as much as "합계"."""
    text = _PARENTHESES.sub("", compact(label))
    return text in TOTAL_ROWS or bool(_SUBTOTAL.search(text))


def sums_rows(row: TableRow) -> bool:
    """A row no superlative, filter or list over the table counts: a total, or the "총 예산" closing a budget
    list. The total features stay with `is_total`'s rows, on which they were fitted."""
    return is_total(row) or bool(_TOTAL_BUDGET.match(compact(row.header)))


def _excluded(row: TableRow, excluded: tuple[tuple[str, ...], ...]) -> bool:
    """A row the question set aside ("인건비 말고"): its labels hold every word of an excluded item."""
    labels = compact(row_text_labels(row)).lower()
    return any(all(w in labels for w in item) for item in excluded)


def _row_quote(chunk: TableChunk, row: TableRow) -> str:
    cells = " | ".join([row.header, *[v.replace("\n", " ") for v in row.values]])
    return (f"{chunk.caption}: " if chunk.caption else "") + cells


def row_summary(chunk: TableChunk, row: TableRow, skip: int | None = None) -> str:
    """ "인건비: 2025 예산현액 2,824,210천원, 증감률 13.5%": the row's cells with their column labels."""
    parts = []
    for j, (col, val) in enumerate(zip(chunk.value_columns, row.values)):
        val = val.replace("\n", " ").strip()
        if j == skip or not val or val == row.header or val == "-":
            continue
        text = f"{val}{unit_for(chunk, col, val)}" if col else val
        parts.append(spaced(column_label(col), text))
    return f"{row.header}: " + ", ".join(parts)


def column_label(column: str) -> str:
    """A column's label as an answer prints it: none for a column printed without a header ("열3")."""
    return "" if is_unnamed_column(column) else column


def spaced(*parts: str) -> str:
    return " ".join(p for p in parts if p)


def labelled(*labels: str) -> str:
    """ "서울시 출연금, 2025 예산현액", or "서울시 출연금" where the column has no header."""
    return ", ".join(label for label in labels if label)


# "연번 | 주관부처 | 공모명": a serial number counts the rows, it is no figure of anything
_SERIAL_COLUMN = re.compile(r"(?:연번|순번|번호|no\.?)", re.IGNORECASE)


def is_serial(column: str) -> bool:
    return bool(_SERIAL_COLUMN.fullmatch(compact(column)))


def cells(hit: Hit, rank: int, figures_only: bool = False) -> list[Candidate]:
    """Every filled cell but serial numbers; for a figure question only cells that hold a figure (a text cell
    is a label there)."""
    chunk = hit.chunk
    serial = [is_serial(col) for col in chunk.value_columns]
    out = []
    for row in chunk.rows:
        row_labels = row_text_labels(row)
        for j, (col, val) in enumerate(zip(chunk.value_columns, row.values)):
            val = val.replace("\n", " ").strip()
            if serial[j] or not val or val in ("-", row.header) or (figures_only and not re.search(r"\d", val)):
                continue
            unit = unit_for(chunk, col, val)
            out.append(Candidate(
                kind="cell", hit=hit, rank=rank, labels=f"{row_labels} {col}",
                text=f"{val}{unit} ({labelled(row.header, column_label(col))})",
                quote=_row_quote(chunk, row), value=val, unit=unit, row=row.header, column=col, table_row=row,
            ))
    return out


def rows(hit: Hit, rank: int) -> list[Candidate]:
    chunk = hit.chunk
    return [
        Candidate(kind="row", hit=hit, rank=rank, labels=row_text_labels(row), text=row_summary(chunk, row),
                  quote=_row_quote(chunk, row), row=row.header, table_row=row)
        for row in chunk.rows if any(v.strip() for v in row.values)
    ]


def _numeric(val: str) -> float | None:
    return value_of(val) if val.strip() and not val.strip().endswith("%") else None


_LEADING_NUMBER = re.compile(r"^[△▲-]?\d{1,3}(?:,\d{3})+(?:\.\d+)?|^[△▲-]?\d+(?:\.\d+)?")


def leading_number(cell: str) -> float | None:
    """The figure a cell starts with: "119개소 (1,070㎡)" -> 119; None when it starts with text."""
    m = _LEADING_NUMBER.match(cell.strip())
    return value_of(m.group()) if m else None


def _directions(direction: str) -> tuple[str, ...]:
    """ "가장 큰" asks for the largest only; a superlative with no direction word gets both."""
    return (direction,) if direction else ("max", "min")


def extremes(hit: Hit, rank: int, table: list[TableRow], direction: str = "") -> list[Candidate]:
    """Per figure column of the whole table, the row with the largest or smallest value (total rows excluded).

    When that row sums the rows below it ("사업비" over its programs), the extreme among the rows that sum
    nothing is offered too: which level the question means is the scorer's call (`aggregate`)."""
    chunk = hit.chunk
    body = [r for r in table if not sums_rows(r)]
    sums = aggregate_rows(body, len(chunk.value_columns))
    out = []
    for j, col in enumerate(chunk.value_columns):
        if is_serial(col):
            continue
        rate = any(r.values[j].strip().endswith("%") for r in body if j < len(r.values))
        scored = [(leading_number(r.values[j]), i) for i, r in enumerate(body) if j < len(r.values) and r.values[j].strip()]
        scored = [(v, i) for v, i in scored if v is not None]
        if len(scored) < 2:
            continue
        leaves = [(v, i) for v, i in scored if i not in sums]
        for way in _directions(direction):
            pick = max if way == "max" else min
            chosen = [pick(scored, key=lambda x: x[0])[1]]
            if chosen[0] in sums and len(leaves) >= 2:
                chosen.append(pick(leaves, key=lambda x: x[0])[1])
            for i in chosen:
                row = body[i]
                group = len(scored) if i == chosen[0] else len(leaves)
                val = row.values[j].strip()
                unit = "" if rate else unit_for(chunk, col, val)
                word = "가장 큼" if way == "max" else "가장 작음"
                out.append(Candidate(
                    kind="extreme", hit=hit, rank=rank, labels=f"{row_text_labels(row)} {col}",
                    text=f"{row_text_labels(row)}: {spaced(column_label(col), val + unit)} ({word}, {group}개 중)",
                    quote=_row_quote(chunk, row), value=val, unit=unit, row=row.header, column=col,
                    direction=way, table_row=row, group=group, aggregate=i in sums,
                ))
    return out


def aggregate_rows(rows: list[TableRow], width: int) -> set[int]:
    """Rows whose figure in some column is the sum of two or more rows right below them ("사업비" over its
    programs), within the rounding of those rows (half a unit each)."""
    out: set[int] = set()
    for j in range(width):
        col = [_numeric(r.values[j]) if j < len(r.values) else None for r in rows]
        for i, total in enumerate(col):
            if total is None or total <= 0:
                continue
            run = 0.0
            for k in range(i + 1, len(col)):
                if col[k] is None or col[k] < 0:
                    break
                run += col[k]
                if k - i >= 2 and abs(run - total) <= (k - i) / 2:
                    out.add(i)
                    break
                if run > total + (k - i) / 2:
                    break
    return out


def row_extremes(hit: Hit, rank: int, intent: Intent) -> list[Candidate]:
    """Tables printed sideways (one row per measure, one column per place): the column with the extreme value.

    Only rows the question names, and only when it names none of the columns: across the columns of an unnamed
    row ("데이터센터 | 정원 67 | 현원 65 | 4급 3"), or of a row whose column the question asks for ("예산 제일 큰
    사업": 예산현액 ≥ 원인행위액 ≥ 지출액), the largest is a measure asked down the table, not a place."""
    chunk = hit.chunk
    cols = chunk.value_columns
    direction = intent.direction
    out = []
    # a change or rate column is not one more place to compare ("2025 예산현액 | 2024 최종예산 | 증감액 | 증감률")
    parallel = [j for j, col in enumerate(cols) if not _TOTAL_COLUMN.search(col) and not _CHANGE_COLUMN.search(col)
                and not any(j < len(r.values) and r.values[j].strip().endswith("%") for r in chunk.rows)]
    words = [t for t in intent.terms if len(t) >= 2 and not t.isdigit()]  # "7곳 중" names no column "L=7.42"
    if any(t in compact(cols[j]).lower() for j in parallel for t in words):
        return []
    for row in chunk.rows:
        header = compact(row.header).lower()
        if not any(t in header for t in words):
            continue
        scored = [(leading_number(row.values[j]), j) for j in parallel if j < len(row.values)]
        scored = [(v, j) for v, j in scored if v is not None]
        if len(scored) < 3:
            continue
        picks = {"max": max(scored), "min": min(scored)}
        for way in _directions(direction):
            j = picks[way][1]
            val = row.values[j].strip()
            word = "가장 큼" if way == "max" else "가장 작음"
            label = column_label(cols[j])
            out.append(Candidate(
                kind="extreme", hit=hit, rank=rank, labels=f"{row.header} {cols[j]}",
                text=f"{label + ': ' if label else ''}{row.header} {val} ({word}, {len(scored)}개 중)",
                quote=_row_quote(chunk, row),
                value=val, unit="", row=row.header, column=cols[j], direction=way, table_row=row, group=len(scored),
            ))
    return out


_CHANGE_COLUMN = re.compile(r"증감|대비|차이|변동")


def filtered(hit: Hit, rank: int, table: list[TableRow], direction: str) -> list[Candidate]:
    """ "예산이 줄어든 곳은": per change column (증감, 증감률), the rows whose change has the asked sign."""
    chunk = hit.chunk
    out = []
    for j, col in enumerate(chunk.value_columns):
        if not _CHANGE_COLUMN.search(col):
            continue
        signed = [(leading_number(r.values[j]), r) for r in table if not sums_rows(r) and j < len(r.values)]
        signed = [(v, r) for v, r in signed if v is not None]
        picked = [r for v, r in signed if (v < 0 if direction == "down" else v > 0)]
        if len(signed) < 2 or not picked or len(picked) == len(signed):
            continue
        listed = "; ".join(f"{row_text_labels(r)} ({spaced(column_label(col), r.values[j].strip())})"
                           for r in picked[:MAX_LIST_ITEMS])
        out.append(Candidate(
            kind="filter", hit=hit, rank=rank, labels=f"{' '.join(row_text_labels(r) for r in picked)} {col}",
            text=f"{len(picked)}개: {listed}", quote=_row_quote(chunk, picked[0]), value=picked[0].values[j].strip(),
            row=picked[0].header, column=col, direction=direction, table_row=picked[0], group=len(signed),
            items=tuple(row_text_labels(r) for r in picked),
        ))
    return out


CATEGORY_CHARS = 12  # letters: a category cell is a short tag ("신규사업", "미선정"), not a name
_WORDLESS = re.compile(r"[^0-9a-z가-힣]")


def category_rows(hit: Hit, rank: int, table: list[TableRow], terms: tuple[str, ...],
                  question: str = "") -> list[Candidate]:
    """ "현안 중 신규사업으로 분류된 건": the rows that a column of short repeated tags marks with the tag the question
    names (its words cover more than half the tag's letters)."""
    chunk = hit.chunk
    body = [r for r in table if not sums_rows(r)]
    words = [t for t in terms if len(t) >= 2 and not t.isdigit()]
    shared_header = len({r.header for r in body}) == 1  # "VI" down a merged first column names no row
    out = []
    for j, col in enumerate(chunk.value_columns):
        tags = [compact(r.values[j]).lower() if j < len(r.values) else "" for r in body]
        kinds = {t for t in tags if t}
        if not 2 <= len(kinds) <= len(body) / 2 or any(len(k) > CATEGORY_CHARS or value_of(k) is not None for k in kinds):
            continue
        # the question must name the tag, not share a syllable pair with it ("ai" is not the tag "비전ai")
        named = [k for k in sorted(kinds) if sum(len(w) for w in words if w in k) * 2 > len(_WORDLESS.sub("", k))]
        for kind in _most_specific(named, compact(question).lower()):
            picked = [r for r, t in zip(body, tags) if t == kind]
            names = [_name_without(r, j, shared_header) for r in picked]
            shown = "; ".join(names[:MAX_LIST_ITEMS])
            out.append(Candidate(
                kind="tagged", hit=hit, rank=rank, labels=f"{picked[0].values[j]} {col}", text=f"{len(picked)}개: {shown}",
                quote=_row_quote(chunk, picked[0]), value=picked[0].values[j].strip(), row=picked[0].header, column=col,
                table_row=picked[0], group=len(body), items=tuple(names),
            ))
    return out


def _most_specific(tags: list[str], asked: str) -> list[str]:
    """Of tags holding one another ("선정" in "미선정"), the longer when the question prints it whole, else the shorter:
    "미선정 건 뭐야" asks for 미선정 only, "선정된 거 뭐야" for 선정 only."""
    return [t for t in tags
            if not any(t != o and t in o and o in asked for o in tags)
            and (t in asked or not any(o != t and o in t for o in tags))]


def _name_without(row: TableRow, j: int, shared_header: bool) -> str:
    """The row's labels without its cell in column `j` (the tag it was picked by)."""
    texts = _text_cells(row, skip=j)
    return " ".join(texts if shared_header and texts else [row.header, *texts]).strip()


# "합계", or the last label of a header path ("재원별 사업비(백만원) 합계"); "일반회계" is no total
_TOTAL_COLUMN = re.compile(r"(?:^|\s)(?:계|합계|총계|소계|전체)$")


def column_lists(hit: Hit, rank: int, table: list[TableRow]) -> list[Candidate]:
    """ "어떤 사업들이야": the row labels down the whole table, counted (total rows left out)."""
    chunk = hit.chunk
    names = [row_text_labels(r) for r in table if not sums_rows(r)]
    names = [n for n in dict.fromkeys(n.strip() for n in names) if n]
    if len(names) < 2:
        return []
    shown = "; ".join(names[:MAX_LIST_ITEMS])
    labels = f"{chunk.caption} {chunk.section.split(' > ')[-1]} {chunk.label_column}"
    return [Candidate(kind="list", hit=hit, rank=rank, labels=labels, text=f"{len(names)}개: {shown}",
                      quote=_row_quote(chunk, chunk.rows[0]), items=tuple(names))]


_YEARISH = re.compile(r"20\d{2}|[’'‘]\d{2}")


def differences(hit: Hit, rank: int) -> list[Candidate]:
    """Two figure columns of one row that name different years (or 예산안/현액 pairs): their difference."""
    from ..korean_numbers import format_number

    chunk = hit.chunk
    cols = chunk.value_columns
    # each dated column's year, read once: "2024", "’24년" and "‘24년" are one year
    year = {j: (years_of(c) or [0])[0] for j, c in enumerate(cols) if _YEARISH.search(c)}
    out = []
    for row in chunk.rows:
        nums = [j for j in year if j < len(row.values) and _numeric(row.values[j]) is not None]
        for a_i, first in enumerate(nums):
            for second in nums[a_i + 1:]:
                if year[first] == year[second]:
                    continue  # one year twice ("총사업비 (‘24년)" beside "’24년 예산"): no change to show
                # the change runs from the earlier year to the later, whichever the table prints first
                # ("2023년 최종예산 (A) | 2024예산(안) (B)" as well as "2024 예산안 | 2023 예산액")
                a, b = sorted((first, second), key=lambda j: -year[j])
                va, vb = _numeric(row.values[a]), _numeric(row.values[b])
                unit = unit_for(chunk, cols[a], row.values[a])
                # two rates differ by percentage points, and a change of a rate in percent would mislead
                apart = "%p" if unit == "%" else unit
                diff = va - vb
                value = format_number(diff, row.values[a])
                rate = diff / vb * 100 if vb and unit != "%" else None
                pct = f", {rate:+.1f}%" if rate is not None else ""
                text = (f"{row.header}: {cols[a]} {row.values[a].strip()}{unit}, {cols[b]} {row.values[b].strip()}{unit} "
                        f"→ 차이 {value}{apart}{pct}")
                out.append(Candidate(
                    kind="difference", hit=hit, rank=rank, labels=f"{row_text_labels(row)} {cols[a]} {cols[b]}",
                    text=text, quote=_row_quote(chunk, row), value=value, unit=apart,
                    row=row.header, column=f"{cols[a]} − {cols[b]}", table_row=row,
                    change_rate=rate,
                ))
    return out


# ------------------------------------------------------------------ prose

def pieces(text: str) -> list[str]:
    """Sentences and list items; "(’25. 10. 16. 기준, 단위: 명)" lines are labels and "기획재정부. (2023). 「…」."
    lines references, not answers (a contents page's entries never reach here: ingest drops them)."""
    stripped = (p.strip() for p in _SPLIT.split(text))
    return [p for p in stripped if len(p) >= 4 and not _META_LINE.match(p)
            and not _REFERENCE_LINE.search(p)]


def spans(hit: Hit, rank: int, whole_sentences: bool = False, following: list[str] = ()) -> list[Candidate]:
    """A line alone, and with the one or two lines after it (a bullet and its sub-bullets); for a reason,
    the lines after it run on to the end of the sentence they leave open, into the next chunk if need be."""
    lines = pieces(hit.chunk.text)
    read_on = lines + pieces("\n".join(following))
    parents = outline_parents(lines)
    out = []
    for i in range(len(lines)):
        for width in SPAN_WIDTHS:
            if i + width > len(lines):
                break
            text = " ".join(lines[i:i + width])
            out.append(Candidate(kind="span", hit=hit, rank=rank, labels=text, text=text, quote=text,
                                 after=" ".join(_after(read_on, i + width, whole_sentences)),
                                 before=lines[i - 1] if i else "", parent=parents[i]))
    return out


# Outline markers from the outermost in: Korean reports nest □ over ○/ㅇ over - over ▶/·/* (a wrapped
# line or a sentence carries no marker and stays under its item's parent).
_OUTLINE = (re.compile(r"^[□■◉❖]"), re.compile(r"^(?:[○ㅇ◦❍●◈]|[oO]\s)"), re.compile(r"^[-－‐∙]"),
            re.compile(r"^[▶▸▹·•▪*※]"))


def _outline_level(line: str) -> int | None:
    return next((i for i, rx in enumerate(_OUTLINE) if rx.match(line)), None)


def outline_parents(lines: list[str]) -> list[str]:
    """Per line, the nearest line above it one or more outline levels out ("" at the top)."""
    stack: list[tuple[int, str]] = []
    out = []
    for line in lines:
        level = _outline_level(line)
        if level is None:
            out.append(out[-1] if out else "")
            continue
        while stack and stack[-1][0] >= level:
            stack.pop()
        out.append(stack[-1][1] if stack else "")
        stack.append((level, line))
    return out


# A printed line that stops mid-sentence: not after a sentence ending, a closing bracket or a figure.
_ENDED = re.compile(r"(?:[다음함됨임요][.]?|[.?!:;)\]」』”’]|\d[\d,.]*\s*[%명건개원천억조]?)$")


def _after(lines: list[str], start: int, whole_sentences: bool) -> list[str]:
    """The lines after a span: AFTER_LINES of them, and with `whole_sentences` on to the end of the sentence
    the last one leaves open (a PDF wraps "주요 감액 요인으로는 …" over lines, and the reason comes last)."""
    end = min(start + AFTER_LINES, len(lines))
    while whole_sentences and start < end < min(start + READ_ON_LINES, len(lines)) \
            and not _ENDED.search(lines[end - 1]):
        end += 1
    return lines[start:end]


_COUNTED = re.compile(r"(△?\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?)\s*(명|건|개[팀소사]?|팀|원|천원|백만원|억원|%)")
_ARROW = re.compile(r"[→➠⇒➡]|->")
ARROW_GAP = 25  # characters: "67개팀(190명) → 예선 : 23개팀" still reads as one count before and after
YEAR_MARK = re.compile(r"(20\d{2})|[’'‘`](\d{2})(?!\d)")  # "2024", "’24"


def years_of(text: str) -> list[int]:
    """The years `text` names, in order: "’25년 … (’24년" -> [2025, 2024]."""
    return [_year(m) for m in YEAR_MARK.finditer(text)]


def _year(m: re.Match) -> int:
    """The year a YEAR_MARK match (or a pattern built on it) reads: "2024" or "’24" -> 2024."""
    return int(m.group(1) or f"20{m.group(2)}")


def span_differences(hit: Hit, rank: int, terms: tuple[str, ...] = ()) -> list[Candidate]:
    """A sentence with two figures of one measure (a before and an after): their difference, with the sentence.

    Figures of one unit are paired only when they read as one measure twice: an arrow between them, one label
    printed before each, each under its own year, or each after a label the question names ("지정공모 90팀,
    자유공모 32팀"); "위반혐의 조사 627건 행정처분 결정 86건" are two measures and their difference means nothing."""
    from ..korean_numbers import format_number

    out = []
    for c in spans(hit, rank):
        found = list(_COUNTED.finditer(c.text))
        labels = [c.text[(found[i - 1].end() if i else 0):m.start()] for i, m in enumerate(found)]
        for i, m in enumerate(found):
            j = next((k for k in range(i + 1, len(found)) if found[k].group(2) == m.group(2)), None)
            if j is None or not _one_measure(c.text, m, found[j], labels[i], labels[j], terms):
                continue
            (a, unit), b = m.groups(), found[j].group(1)
            va, vb = value_of(a), value_of(b)
            if va is None or vb is None or va == vb:
                continue
            diff = format_number(abs(va - vb), a)
            out.append(Candidate(kind="difference", hit=hit, rank=rank, labels=c.labels,
                                 text=f"{diff}{unit} 차이 ({a}{unit} → {b}{unit}): {unbullet(c.text)}",
                                 quote=c.quote, value=diff, unit=unit))
    return out


def _one_measure(text: str, a: re.Match, b: re.Match, label_a: str, label_b: str, terms: tuple[str, ...]) -> bool:
    between = text[a.end():b.start()]
    if _ARROW.search(between) and len(between) <= ARROW_GAP:
        return True
    key_a, key_b = _label_key(label_a), _label_key(label_b)
    if len(key_b) >= 2 and key_a.endswith(key_b):
        return True
    year_a, year_b = _year_of(text, a), _year_of(text, b)
    # a later year printed first, with a measure named between ("200명(’20) - 활동확대 : 464명(’19)"), pairs
    # the end of one measure with the start of the next
    if year_a and year_b and year_a != year_b and (year_a < year_b or not key_b.replace("년", "")):
        return True
    return _names_asked(key_a, terms) and _names_asked(key_b, terms) and key_a != key_b


def _label_key(label: str) -> str:
    return re.sub(r"[^가-힣A-Za-z]", "", YEAR_MARK.sub("", label))


_YEAR_AFTER = re.compile(rf"\s*\(\s*(?:{YEAR_MARK.pattern})")


def _year_of(text: str, figure: re.Match) -> int | None:
    """The year a figure is of: printed just after it ("34명(’19)"), else the last one before it ("2019년 34명")."""
    if m := _YEAR_AFTER.match(text, figure.end()):
        return _year(m)
    return _last_year(text[:figure.start()])


def _last_year(text: str) -> int | None:
    years = years_of(text)
    return years[-1] if years else None


def _names_asked(key: str, terms: tuple[str, ...]) -> bool:
    """The label ends in a word the question uses: "(접수결과) 총 122팀, 331명 참여 (지정공모" ends in 지정공모."""
    return any(key.endswith(t) for t in terms if len(t) >= 2)


def lists(hit: Hit, rank: int, section_lines: list[str]) -> list[Candidate]:
    """The items under the chunk's heading, across all chunks of that section, counted: one list per bullet
    kind ("1." items apart from the "①" paragraphs of the law they are quoted in)."""
    heading = hit.chunk.section.split(" > ")[-1]
    own = compact(unbullet(heading))
    lines = [step for ln in section_lines for step in _steps_apart(ln)]
    items = [i for i, ln in enumerate(lines) if _item_kind(ln) and compact(unbullet(ln)) != own]
    kinds: dict[str, list[int]] = {}
    for i in items:
        kinds.setdefault(_bullet_kind(lines[i]), []).append(i)
    out = []
    for run in [run for same in kinds.values() for run in _numbered_runs(same, lines)]:
        # "○ (감사대상) …; ○ (감사방향) …" are facts about one thing, listed by their labels (labelled_items)
        if len(run) < 2 or all(_LABEL.match(lines[i].strip()) for i in run):
            continue
        names = [unbullet(lines[i]) for i in run]
        # the lines just above the first item name what is listed ("<사업추진 절차>" over its steps)
        above = " ".join(lines[max(0, run[0] - LIST_CAPTION_LINES):run[0]])
        out.append(Candidate(kind="list", hit=hit, rank=rank, labels=f"{heading} {above}",
                             text=f"{len(run)}개: " + "; ".join(names[:MAX_LIST_ITEMS]), quote=lines[run[0]],
                             items=tuple(names)))
    return out


SIBLING_LEVELS = 2  # a heading's siblings under its parent, and its cousins under its grandparent


def ancestors(section: str) -> list[str]:
    """ "A > B > C" -> ["A > B", "A"]: the sections a heading's siblings and cousins are listed in."""
    parts = section.split(" > ")
    return [" > ".join(parts[:n]) for n in range(len(parts) - 1, max(0, len(parts) - 1 - SIBLING_LEVELS), -1)]


def _heading_kind(lines: list[str], heading: str) -> str:
    """The bullet a heading is printed with ("○", "0." for "1."), found by its line; "" when it has none."""
    flat = compact(unbullet(heading))
    line = next((ln for ln in lines if flat and compact(unbullet(ln)).startswith(flat)), "")
    return _item_kind(line)


def sibling_list(hit: Hit, rank: int, above: str, kind: str, lines: list[str],
                 terms: tuple[str, ...]) -> list[Candidate]:
    """The headings printed like the one the hit is under, in a section above it that names the question's
    words at least as fully as the hit's own heading: "○ 기계식주차장 … 안전감찰" is one of five 안전감찰 listed
    under "3-3. 재난안전 취약분야 선제적 안전감찰", each chunked apart.

    A name printed twice ("사업개요; 추진실적; 향후일정; 사업개요; …") is a layout repeated per program, and
    "○ (감사대상) …; ○ (감사방향) …" are facts about one thing (labelled_items): neither is a list of things."""
    heading = above.split(" > ")[-1]
    named = _terms_named(heading, terms)
    # "출자·출연기관 종합감사 실시" names what is asked better than the chapter it sits in: the list is its own
    if not named or named < _terms_named(hit.chunk.section.split(" > ")[-1], terms):
        return []
    rows = [ln for ln in lines if _item_kind(ln) == kind]
    items = [unbullet(ln) for ln in rows]
    if len(items) < 2 or len(set(items)) < len(items) or any(_LABEL.match(ln) for ln in rows):
        return []
    return [Candidate(kind="list", hit=hit, rank=rank, labels=heading, quote=rows[0], items=tuple(items),
                      text=f"{len(items)}개: " + "; ".join(items[:MAX_LIST_ITEMS]))]


def _terms_named(heading: str, terms: tuple[str, ...]) -> int:
    flat = compact(heading)
    return sum(t in flat for t in terms if len(t) >= 2)


_CIRCLED = re.compile(r"[①-⑳]")


def _steps_apart(line: str) -> list[str]:
    """ "① 사업공고 ② 신청 ③ 선정평가": a flow chart drawn on one line holds one step per circled number."""
    starts = [m.start() for m in _CIRCLED.finditer(line)]
    if len(starts) < 2 or starts[0] != 0:
        return [line]
    return [line[a:b].strip() for a, b in zip(starts, [*starts[1:], len(line)])]


def _numbered_runs(items: list[int], lines: list[str]) -> list[list[int]]:
    """Circled steps that start again at ① begin another procedure (two programs' flows in one section)."""
    runs: list[list[int]] = [[]]
    for i in items:
        if lines[i].startswith("①") and runs[-1]:
            runs.append([])
        runs[-1].append(i)
    return runs


_LABEL = re.compile(r"^(?:[-－・◦▪•ㅇ○▸▹*]\s*)?\(([^()]{2,30})\)")


def labelled_items(hit: Hit, rank: int) -> list[Candidate]:
    """Runs of lines that each open with a "(label)": "(비-스페이스) …", "(기술혁신지원센터) …" list their labels."""
    out: list[Candidate] = []
    run: list[tuple[str, str]] = []
    for line in [*hit.chunk.text.split("\n"), ""]:
        m = _LABEL.match(line.strip())
        if m:
            run.append((m.group(1).strip(), line.strip()))
            continue
        if len(run) >= 2:
            names = "; ".join(label for label, _ in run[:MAX_LIST_ITEMS])
            out.append(Candidate(kind="list", hit=hit, rank=rank, labels=" ".join(ln for _, ln in run),
                                 text=f"{len(run)}개: {names}", quote=run[0][1],
                                 items=tuple(label for label, _ in run)))
        run = []
    return out


INLINE_ITEMS = 3  # names a line runs together with commas before it reads as a list, not a sentence's clauses
INLINE_ITEM_CHARS = 15  # letters: longer "parts" are clauses ("민간운영기관은 참여신청 접수·승인, 요건심사 등 수행")


def inline_lists(hit: Hit, rank: int) -> list[Candidate]:
    """Names run together on one line, after its "(label)" or inside its parentheses: "- (내부/4종) 안구 상태
    검진기, 치아우식 진단기, 치매 예방 체험, 챗GPT 프롬프트 체험" lists four solutions, though no line is bulleted."""
    heading = hit.chunk.section.split(" > ")[-1]
    lines = hit.chunk.text.split("\n")
    out: list[Candidate] = []
    for i, line in enumerate(lines):
        body = unbullet(line)
        label = _LABEL.match(body)
        groups = [body[label.end():] if label else body, *_PARENTHESIZED.findall(body)]
        # an unlabelled run is named by the line above it: "○ (감사대상) 출자·출연 4개 기관" over the four
        caption = "" if label or not i else lines[i - 1]
        for names in (_names_apart(g) for g in groups):
            if not names:
                continue
            out.append(Candidate(kind="list", hit=hit, rank=rank, labels=f"{heading} {caption} {line}",
                                 text=f"{len(names)}개: " + "; ".join(names[:MAX_LIST_ITEMS]), quote=line.strip(),
                                 items=tuple(names)))
    return out


_PARENTHESIZED = re.compile(r"\(([^()]*,[^()]*)\)")


def _names_apart(text: str) -> list[str]:
    """ "A(2월), B(2월), C 등 3건 참여" -> ["A(2월)", "B(2월)", "C"]; [] unless every part is a short name, not
    a clause that a verb joins to the next ("…를 추진하고, …를 확보하며, …")."""
    parts, depth, start = [], 0, 0
    for j, ch in enumerate(text):
        depth += (ch == "(") - (ch == ")")
        if ch == "," and depth == 0 and not text[j + 1:j + 2].isdigit():  # "4조 7,692억원" is one figure
            parts.append(text[start:j])
            start = j + 1
    parts = [p.strip() for p in [*parts, _LIST_END.split(text[start:])[0]]]
    # "사업규모 : L=54km, 정거장 7개소, 사업비 …" gives a field's facts, not names
    if len(parts) < INLINE_ITEMS or any(_CLAUSE_END.search(p) or ":" in p for p in parts):
        return []
    bare = [compact(re.sub(r"\([^()]*\)", "", p)) for p in parts]  # "박람회(7.31.)": a name and its date
    return parts if all(2 <= len(b) <= INLINE_ITEM_CHARS for b in bare) else []


_LIST_END = re.compile(r"\s+등(?:\s|$)")  # "…, C 등 4건 행사 참여": the sentence goes on after the last name
_CLAUSE_END = re.compile(r"(?:[하되였했]고|[하되했이으]며|하여|되어|지만|는데)$")


UNIT_NAME_TYPES = ("list", "text")
_HEAD_COUNT = re.compile(r"\(\s*\d+\s*명?\s*\)")


def unit_names(hit: Hit, rank: int, units: tuple[str, ...]) -> list[Candidate]:
    """An organization chart's boxes: lines made only of unit names ("교육 지 원과 전문교육과역량교육과", head
    counts aside), read apart at each unit suffix, since the PDF layout runs boxes and their letters together."""
    if not units:
        return []
    name, only_names = _unit_patterns(units)
    names: list[str] = []
    first = ""
    for line in _chart_lines(hit.chunk):
        flat = compact(_HEAD_COUNT.sub("", line))
        if len(flat) < 3 or not only_names.fullmatch(flat):
            continue
        first = first or line.strip()
        names += [n for n in name.findall(flat) if n not in names]
    if len(names) < 2:
        return []
    shown = "; ".join(names[:MAX_LIST_ITEMS])
    return [Candidate(kind="list", hit=hit, rank=rank, labels=" ".join(names), text=f"{len(names)}개: {shown}",
                      quote=first, items=tuple(names))]


def _chart_lines(chunk: Chunk) -> list[str]:
    """A text's lines; a table's header cells one by one, since a staffing or budget table heads its columns
    with the units ("구분 | 계 | 홍보담당관 | 공보담당관") where the chart itself is drawn as separate boxes."""
    if isinstance(chunk, TableChunk):
        return chunk.columns[1:]
    return chunk.text.split("\n")


@lru_cache(maxsize=64)
def _unit_patterns(units: tuple[str, ...]) -> tuple[re.Pattern, re.Pattern]:
    """One unit name ("전문교육과"), and a line made of nothing else; built once per set of suffixes asked."""
    # a name may start with a figure ("15분도시기획과"), but "5개팀" counts teams and names none
    name = re.compile(r"\d*[가-힣]{2,12}?(?:" + "|".join(sorted(units, key=len, reverse=True)) + ")")
    return name, re.compile(f"(?:{name.pattern})+")


def _item_kind(line: str) -> str:
    """The bullet kind of an outline item ("○ …", "1. …"); "" for a sub-item ("- …", "(주) …") or a plain line."""
    return _bullet_kind(line) if _ITEM.match(line) and not _SUB_ITEM.match(line) else ""


def _bullet_kind(line: str) -> str:
    """ "1." and "2)" are one kind, "①" and "②" another, "□" another: digits are folded away."""
    line = line.strip()
    if _CIRCLED.match(line):  # str.isdigit() holds for them too
        return "①"
    return re.sub(r"\d+", "0", line[:2])[:2] if line[:1].isdigit() else line[:1]


_BULLET = re.compile(rf"^(?:[□■○◦❍●・·•▪ㅇ※\-－▸▹◈◇◊◆∘✔✓◾]\s*|\d{{1,2}}[.)]\s*|[①-⑳]\s*|{ORDINAL_LETTER}[.)]\s*)+")


def unbullet(text: str) -> str:
    """ "□ 인력 : 57명" -> "인력 : 57명": outline markers are layout, not answer."""
    return _BULLET.sub("", text.strip())
