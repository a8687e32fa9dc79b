"""Blocks -> structure: section paths from outline markers, tables with caption, unit, headers and rows."""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from .models import (
    Block,
    Box,
    Grid,
    Line,
    Table,
    TableRow,
    is_unnamed_column,
    stable_id,
    unnamed_column,
)
from .normalize import (
    ORDINAL_LETTER,
    clean_label,
    compact,
    continues_figure,
    find_as_of,
    find_unit,
    is_number,
    is_split_tail,
    number_value,
    repair_split_numbers,
    squash_letter_spacing,
)

# Outline markers, highest level first. "-" and "※" items stay inside their section.
_ROMAN = re.compile(r"^(?:[ⅠⅡⅢⅣⅤⅥⅦⅧⅨⅩ]+|[IVX]{1,4}|\|)\s*[.．]\s*(\S.*)$")
# "Ⅵ 당면 현안": a chapter numeral printed without its period; a diagram's boxes in a row ("Ⅰ 지역사회보장전략
# Ⅱ 균형발전 전략") hold a second numeral, and a labelled fact ("Ⅰ 전략체계 : 4대 추진전략") is no title
_BARE_ROMAN = re.compile(r"^[ⅠⅡⅢⅣⅤⅥⅦⅧⅨⅩ]+\s+([^ⅠⅡⅢⅣⅤⅥⅦⅧⅨⅩ]+)$")
_NUMBERED = re.compile(r"^(\d{1,2})\s*[.．]\s+(\D.*)$")
_SUBNUMBERED = re.compile(rf"^(?:\(\d{{1,2}}\)|\d{{1,2}}-\d{{1,2}}\.?|{ORDINAL_LETTER}\.)\s*(\S.*)$")
_BOX = re.compile(r"^[□■◉◆▣]\s*(\S.*)$")
_CIRCLE = re.compile(r"^[○◦❍ㅇ●]\s*(\S.*)$")
# "3 관계성 범죄 재범 방지 및 피해자 보호 지원 강화": a work plan's program, its number printed in a box
# without a period; numbering restarts under every goal, so no sequence is required of it
_PROGRAM = re.compile(r"^([1-9]|1\d|20)\s+([가-힣「『<“‘'\"]\S*(?:\s+\S+)*)$")
_BARE_FIGURE = re.compile(r"(?:^|\s)[\d,.\-–—%]+(?=\s|$)")  # a table row's cells: "한복의상 - - -", "6 개월이하 6"
MAX_HEADING_CHARS = 40
_FOOTER = re.compile(r"^[-–]\s*\d+\s*[-–]$")  # page footers "- 1 -"
_NOISE = re.compile(_FOOTER.pattern + r"|^\d{1,3}$")  # footers and bare page numbers
# "Ⅵ. 당면 현안 ······ 21": a contents page repeats the headings printed later; read as headings, its lines
# became one-line sections that outranked the chapters they point to ("기획관 당면 현안" found page 3, not 25)
_CONTENTS_ENTRY = re.compile(r"[·.ㆍ∙・‥…]{4,}\s*\d{0,3}$|…{2,}\s*\d{1,3}$")
MAX_CIRCLE_CHARS = 25
MAX_CAPTION_CHARS = 30
CAPTION_CUT_CHARS = 60  # a caption is cut here; an item's full name fits ("대학일자리플러스센터(동아대, 동명대, 동서대) 지원사업")
_SENTENCE_END = re.compile(r"(?:다|음|함|임|됨|요)\s*[.。]?$")
_VALUE_WORDS = {"-", "–", "_", "순증", "순감", "皆增", "皆減", "신규", "—"}


@dataclass
class Section:
    """Current outline path; level i holds the heading at that level."""

    levels: list[str] = field(default_factory=lambda: [""] * 5)
    last_number: int = 0

    def set(self, level: int, title: str) -> None:
        self.levels[level] = clean_label(title)[:MAX_HEADING_CHARS]
        for deeper in range(level + 1, len(self.levels)):
            self.levels[deeper] = ""
        if level == 0:
            self.last_number = 0

    @property
    def title(self) -> str:
        """Deepest heading, used as a table caption when no caption line precedes the table."""
        return next((re.sub(r"^\S*[.．)]\s*", "", t) for t in reversed(self.levels) if t), "")

    @property
    def path(self) -> str:
        return " > ".join(t for t in self.levels if t)


def heading_level(text: str, section: Section, enumerated: bool = False) -> tuple[int, str] | None:
    """Outline level and title of a heading line, or None for body text. `enumerated`: the line is one item of
    a run of numbered lines printed one under the other (see `enumerated_lines`)."""
    if len(text) > 80:
        return None
    if _ROMAN.match(text) or ((m := _BARE_ROMAN.match(text)) and _bullet_title(m.group(1))):
        return 0, text
    if m := _NUMBERED.match(text):
        number = int(m.group(1))
        if number == section.last_number + 1 and _short_title(m.group(2)) and not enumerated:
            section.last_number = number
            return 1, text
        return None
    if (m := _PROGRAM.match(text)) and _program_title(m.group(2)) and not enumerated:
        return 1, m.group(2)
    if m := _SUBNUMBERED.match(text):
        return (2, text) if _short_title(m.group(1)) else None
    if m := _BOX.match(text):
        title = without_aside(m.group(1))
        return (3, title) if _bullet_title(title) else None
    if m := _CIRCLE.match(text):
        # "○" often opens a whole sentence in review reports; only short labels are headings.
        title = without_aside(m.group(1))
        return (4, title) if _bullet_title(title, MAX_CIRCLE_CHARS) else None
    return None


def enumerated_lines(blocks: list[Block]) -> set[int]:
    """Indices of the "N." (or "N 제목") lines that follow or precede "N-1." / "N+1." of the same style with
    nothing between them: a list's items, not headings. Without this, "6. 장제급여" and "7. 자활급여" of a law's
    "1. 생계급여 … 7. 자활급여" went on the outline after "5. 사업근거 및 추진경위" and cut the list in two."""
    items: set[int] = set()
    previous: tuple[int, str, int] | None = None  # (block index, style, number) of the last line, if numbered
    for idx, block in enumerate(blocks):
        if isinstance(block, Grid):
            previous = None
            continue
        if _dropped(block.text):
            continue
        numbered = _numbering(block.text)
        if numbered and previous and numbered == (previous[1], previous[2] + 1):
            items.update((previous[0], idx))
        previous = (idx, *numbered) if numbered else None
    return items


def _dropped(text: str) -> bool:
    """Page furniture and contents entries: lines `structure` reads past, so they part no list either."""
    return bool(_NOISE.match(text) or _CONTENTS_ENTRY.search(text))


def _numbering(text: str) -> tuple[str, int] | None:
    """Style and number of a numbered line: (".", 3) for "3. 제목", (" ", 3) for "3 제목"."""
    if m := _NUMBERED.match(text):
        return ".", int(m.group(1))
    if m := _PROGRAM.match(text):
        return " ", int(m.group(1))
    return None


# "ㅇ 사업비 : 436백만원(시비)", "□ 인력 : 정원 76 / 현원 75": a fact under the heading above, not a heading of
# its own (as one, it became a one-line chunk cut off from the program it belongs to); a colon inside
# brackets ("세입예산 (단위 : 천원)") is a caption's note
_LABELLED_VALUE = re.compile(r"^[^(（<\[:：]{1,20}[:：]\s*\S")


# "▣ 2024년 신청 추진 공모사업 * 미선정 사업 포함": an aside after an asterisk qualifies the title; left on, its
# "포함" read as a sentence's end, so the 2024 list was no heading and its table took the 2023 list's caption
_ASIDE = re.compile(r"\s+\*\s*\S.*$")


def without_aside(title: str) -> str:
    return _ASIDE.sub("", title).strip()


def _bullet_title(title: str, limit: int = MAX_HEADING_CHARS) -> bool:
    return _short_title(title, limit) and not _LABELLED_VALUE.match(title)


def _program_title(title: str) -> bool:
    """At least two words ("8 강북구", "17 미선정" are rows of a list) and no bare figure among them."""
    return _short_title(title) and len(title.split()) >= 2 and not _BARE_FIGURE.search(title)


def _short_title(title: str, limit: int = MAX_HEADING_CHARS) -> bool:
    return len(title) <= limit and not _SENTENCE_END.search(title)


# ---------------------------------------------------------------- tables

# A figure with a short unit or a note below it: "45명", "1,288본", "2등급", "13,971\n(시비 10,541, 국비 3,430)".
_FIGURE_WITH_UNIT = re.compile(r"[△▲+\-]?\d[\d,.]*\s?[가-힣㎡㎢%]{0,2}(?:\s*\(.{0,40}\))?", re.DOTALL)


_MEASURE = re.compile(r"[\d.,]+\s*/\s*[\d.,]")  # "29.49 / 1.5∼3": length / width


def _is_value(cell: str) -> bool:
    c = cell.strip()
    return is_number(c) or c in _VALUE_WORDS or bool(re.fullmatch(r"\(?[△▲]?[\d,.]+%?\)?(?:\s*\([\d.]+%\))?", c))


def _is_figure(cell: str) -> bool:
    """A body cell holding a figure, units and notes included; too broad for telling header rows ("3급")."""
    c = cell.strip()
    if _YEAR_CELL.match(c):
        return False
    if "\n" in c and all(_is_figure(line) for line in c.split("\n")):  # rows stacked in one cell
        return True
    return (_is_value(c) or bool(re.fullmatch(r"\([+\-]?[\d.,]+\)", c)) or bool(_FIGURE_WITH_UNIT.fullmatch(c))
            or bool(_MEASURE.match(c)))


_YEAR_CELL = re.compile(r"^(?:~?\s*(?:19|20)\d{2}(?:년도?)?(?:이후|~)?|[’'‘~]+\d{2}~?)$")
_DATED_LABEL = re.compile(r"^(?:19|20)\d{2}\s*(?:년도?)?\s*[가-힣]")


def _is_data_row(row: list[str]) -> bool:
    """Mostly figures, and not just years: "2025 | 2026 | 2027" is a header row of a plan table."""
    cells = [c.strip() for c in row[1:] if c.strip()]
    if not cells:
        return False
    values = [c for c in cells if _is_value(c) and not _YEAR_CELL.match(c)]
    return len(values) * 2 >= len(cells)


def header_row_count(rows: list[list[str]]) -> int:
    """Leading rows that are column headers: those before the first data row (at most 4)."""
    for i, row in enumerate(rows[:5]):
        if _is_data_row(row):
            return min(max(i, 1), 4) if i else 0
    return 0 if len(rows) > 1 and _opens_text_body(rows[0], rows[1]) else 1


PROSE_CELL_CHARS = 25  # letters: a cell this long is a sentence or a list of names, never a column's name


def _opens_text_body(first: list[str], second: list[str]) -> bool:
    """A table of words only may have no header row: its first row is numbered 1 above a 2 ("1 | 「국립자연유산원
    건립」 | / 핵심현안"), or holds a sentence over another sentence ("완료 (5) | 방법순찰 필요지역 분석, …")."""
    pairs = list(zip(first, second))
    if any(a.strip() == "1" and b.strip() == "2" for a, b in pairs):
        return True
    if len({compact(c) for c in first if compact(c)}) < 2:  # a title spanning the table
        return False
    return any(len(compact(a)) >= PROSE_CELL_CHARS and len(compact(b)) >= PROSE_CELL_CHARS for a, b in pairs[1:])


_FRAGMENT = re.compile(r"[가-힣](?: [가-힣])?")  # an OCR-split piece of a letter-spaced label: "집 형" | "행 액"
_CONTINUATION = re.compile(r"\(.{0,6}\)")  # "(%)" printed in the cell next to its label


def is_junk_header(cell: str) -> bool:
    """OCR debris in a header cell ("W C C 7", "Г", "· L. /", "(2020. 1. 01. 1"): no Hangul and no real word."""
    c = clean_label(cell)
    if not c or re.search(r"[가-힣]", c) or _CONTINUATION.fullmatch(c):
        return False
    tokens = c.split()
    return (
        not any(ch.isalnum() for ch in c)
        or any(ch.isalpha() and not ch.isascii() for ch in c)
        or (len(tokens) >= 3 and all(len(t) == 1 for t in tokens))
        or c.count("(") != c.count(")")
    )


def merge_headers(header_rows: list[list[str]], width: int, spans: list[list[int]] | None = None) -> list[str]:
    """One label per column from multi-row headers; a label spanning columns fills the cells it covers."""
    grid = [[clean_label(c) for c in r] + [""] * (width - len(r)) for r in header_rows]
    grid = [["" if is_junk_header(c) else c for c in r] for r in grid]
    if spans is not None:
        raw = [[c.strip() for c in r] + [""] * (width - len(r)) for r in header_rows]
        return _merge_ruled_headers(grid, width, spans, raw)
    for r in range(len(grid) - 1):
        for j in range(1, width):
            below_here = any(grid[rr][j] for rr in range(r + 1, len(grid)))
            below_left = any(grid[rr][j - 1] for rr in range(r + 1, len(grid)))
            if not grid[r][j] and grid[r][j - 1] and below_here and below_left:
                grid[r][j] = grid[r][j - 1]
    labels = []
    for j in range(width):
        parts: list[str] = []
        for r in range(len(grid)):
            if grid[r][j] and grid[r][j] not in parts:
                parts.append(grid[r][j])
        labels.append(" ".join(parts) or unnamed_column(j))
    return labels


def _merge_ruled_headers(grid: list[list[str]], width: int, spans: list[list[int]], raw: list[list[str]]) -> list[str]:
    """Headers of a ruled table, where the drawn cells say which labels span which columns.

    An upper label (other than a year) that covers a single column above a labelled cell is not a group header but
    debris of an OCR'd header split into cells ("행정 | g·기술? | 익군" over "전산 | 방송 통신 | 지적"),
    so it is dropped; pieces of one label split over two cells ("집 형 | 행 액", "집 행 률 | (%)") are
    joined first and then span both columns.
    """
    span = [([x for x in row[:width]] + [1] * width)[:width] for row in spans[: len(grid)]]
    span += [[1] * width for _ in range(len(grid) - len(span))]
    for r in range(len(grid) - 1):
        for j in range(2, width):  # never into the row-label column
            k = j - 1
            while k > 1 and span[r][k] == 0:
                k -= 1
            left, here = grid[r][k], grid[r][j]
            if not left or not here or span[r][j] != 1 or k + max(span[r][k], 1) != j:
                continue
            if _CONTINUATION.fullmatch(here) or (_FRAGMENT.fullmatch(_one_line(raw[r][k])) and _FRAGMENT.fullmatch(_one_line(raw[r][j]))):
                grid[r][k] = left + here
                span[r][k] = max(span[r][k], 1) + 1
                grid[r][j], span[r][j] = "", 0

    _hand_down_child_labels(grid, span, raw)

    def owner(r: int, j: int) -> tuple[str, int]:
        k = j
        while k > 0 and span[r][k] == 0:
            k -= 1
        width_k = max(span[r][k], 1)
        return (grid[r][k], width_k) if k + width_k > j else ("", 1)

    # A row naming every value column on its own ("광안대로 | 거가대로 | …" over "L=7.42 | L=8.20 | …") is the
    # columns' names, not debris: debris covers only some columns.
    named = [r for r in range(len(grid)) if width > 2 and all(owner(r, j)[0] and owner(r, j)[1] == 1 for j in range(1, width))]
    labels = []
    for j in range(width):
        parts: list[str] = []
        for r in range(len(grid)):
            label, covers = owner(r, j)
            below = any(owner(rr, j)[0] for rr in range(r + 1, len(grid)))
            # A year over one column ("2024년" over "확정(B)") is a real group header even unmerged, and so is
            # a dated name ("2024 최종예산" over its OCR misreading "2024 최동에산"): debris holds no year.
            dated = _YEAR_CELL.match(label) or _DATED_LABEL.match(label)
            if label and label not in parts and (covers > 1 or not below or dated or r in named) \
                    and not _read_twice(label, parts):
                parts.append(label)
        labels.append(" ".join(parts) or unnamed_column(j))
    return labels


def _read_twice(label: str, parts: list[str]) -> bool:
    """ "2024 최동에산" under "2024 최종예산": one dated name printed once and read on two header lines."""
    return bool(_DATED_LABEL.match(label)) and any(_DATED_LABEL.match(p) and p[:4] == label[:4] for p in parts)


def _one_line(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def _hand_down_child_labels(grid: list[list[str]], span: list[list[int]], raw: list[list[str]]) -> None:
    """A group cell whose box also took its children's text ("증감\n(B-A)\n(B-A)/A" over "" | "(B-A)/A")
    keeps its first line; the lines no child cell holds go, in order, to the empty child cells."""
    for r in range(len(grid) - 1):
        for k, width_k in enumerate(span[r]):
            lines = [clean_label(x) for x in raw[r][k].split("\n") if x.strip()]
            if width_k < 2 or len(lines) < 2:
                continue
            cols = range(k, min(k + width_k, len(grid[r + 1])))
            present = {grid[r + 1][j] for j in cols}
            empties = [j for j in cols if not grid[r + 1][j]]
            words = [w for x in lines[1:] for w in x.split()]
            if any(w in present for w in words):  # "(B-A) (B-A)/A" on one line: match word by word
                extra = [w for w in words if w not in present]
            else:
                extra = [x for x in lines[1:] if x not in present]
            if not extra or len(extra) != len(empties):
                continue
            grid[r][k] = lines[0]
            for j, label in zip(empties, extra):
                grid[r + 1][j], span[r + 1][j] = label, 1


def _fit_row(cells: list[str], width: int) -> list[str]:
    """Repair OCR-split numbers and fragmented labels so a row lines up with its columns."""
    cells = repair_split_numbers([c.strip() for c in cells])
    while len(cells) > width and len(cells) >= 2 and not _is_value(cells[0]) and not _is_value(cells[1]):
        cells = [f"{cells[0]} {cells[1]}".strip()] + cells[2:]
    while len(cells) > width and cells and not cells[-1]:
        cells.pop()
    while len(cells) > width and cells and not cells[0]:
        cells.pop(0)
    return cells + [""] * (width - len(cells))


def row_label(cells: list[str]) -> str:
    """Row header: the leading text cells ("AI 정책 글로벌 협력 연구"), letter spacing squashed.

    Rows without any figure (text tables) are labelled by their first cell only.
    """
    if not any(_is_figure(c) for c in cells[1:]):
        return clean_label(cells[0].replace("\n", " ")) if cells else ""
    parts = [cells[0].replace("\n", " ").strip()] if cells and cells[0].strip() else []  # column 0 is the label column
    for c in cells[1:] if parts else cells:
        if _is_figure(c) and parts:
            break
        if c.strip() and not _is_figure(c):
            parts.append(c.replace("\n", " ").strip())
        elif parts:
            break
    return clean_label(" ".join(parts))


def label_columns(body: list[list[str]], width: int, columns: list[str] | None = None) -> int:
    """How many leading columns hold the row label: those before the first column of figures.

    OCR'd tables spread one letter-spaced label over several cells ("세 | 외 | 수 | 입"); they all
    belong to the label. Tables without a column of figures keep the first cell as the label.
    """
    for j in range(1, width):
        filled = [r[j] for r in body if j < len(r) and r[j].strip()]
        if filled and sum(_is_figure(c) for c in filled) * 2 >= len(filled):
            # columns headed by a period ("2019 상") that hold words ("시범 | 100종") are a schedule's values,
            # not a label spread over cells (whose pieces are a letter or two: "세 | 외 | 수 | 입")
            dated = columns and any(_DATED_HEADER.search(columns[k]) for k in range(1, min(j, len(columns))))
            pieces = all(_fragment_column(body, k) for k in range(1, j))
            return 1 if dated and not pieces else j
    return 1


_DATED_HEADER = re.compile(r"20\d{2}|[’'‘]\d{2}")


def _fragment_column(body: list[list[str]], j: int) -> bool:
    """Mostly one- or two-letter cells: the pieces of a label OCR spread over several cells."""
    filled = [r[j].replace(" ", "").replace("\n", "") for r in body if j < len(r) and r[j].strip()]
    return not filled or sum(len(c) <= 2 for c in filled) * 2 >= len(filled)


def merge_split_columns(grid: Grid) -> Grid:
    """One figure column that OCR cut in two ("증 감 | 액" over "18,627 | ,523") becomes one column again.

    Repairing each row alone joins the figure but leaves the row a cell short, so every later value would
    slide one column left under the wrong header (증감률 reading the 집행액 figures). The columns are merged
    in every row instead, header cells joined ("증 감 액"), when most filled cells of a column are such tails.
    """
    width = max((len(r) for r in grid.rows), default=0)
    cut = [j for j in range(2, width) if _tail_column(grid.rows, j)]
    if not cut or not _mergeable(grid.spans, cut):
        return grid
    rows = [_joined_at(r, cut, _join_cells) for r in grid.rows]
    # both cells of a cut span one column each (`_mergeable`), so the joined cell keeps the left one's span
    spans = [_joined_at(s, cut, lambda left, _: left) for s in grid.spans] if grid.spans is not None else None
    boxes = [_joined_at(b, cut, lambda left, right: _union([left, right])) for b in grid.boxes] if grid.boxes is not None else None
    return Grid(rows, grid.page, grid.bbox, grid.continues, spans, boxes, grid.within)


def _tail_column(rows: list[list[str]], j: int) -> bool:
    filled = [r for r in rows if j < len(r) and r[j].strip()]
    tails = [r for r in filled if continues_figure(r[j - 1], r[j])]
    return len(tails) >= 2 and len(tails) * 2 > len(filled)


def _mergeable(spans: list[list[int]] | None, cut: list[int]) -> bool:
    """Only cells of one column each: a merged cell across the cut would lose its extent."""
    return spans is None or all(j >= len(s) or (s[j - 1] == 1 and s[j] == 1) for s in spans for j in cut)


def _joined_at(items: list, cut: list[int], join) -> list:
    """Each item at a cut position joined into the one on its left: cells, spans and boxes alike."""
    out = list(items)
    for j in reversed(cut):
        if j < len(out):
            out[j - 1:j + 1] = [join(out[j - 1], out[j])]
    return out


def _join_cells(left: str, right: str) -> str:
    """ "18,627" + ",523" -> "18,627,523"; header pieces keep a space: "증 감" + "액" -> "증 감 액"."""
    glue = "" if is_split_tail(right) else " "
    return f"{left.strip()}{glue}{right.strip()}".strip()


def build_table(grid: Grid, caption: str, unit: str, as_of: str, section: str, doc_key: str, ordinal: int,
                header: list[str] | None = None, repeats_header: bool = False) -> Table:
    """A Table from a grid; `header` gives the columns of a grid that continues the table above, used when
    the grid has no header of its own or only repeats the first header row (a table running onto a new page)."""
    grid = merge_split_columns(grid)
    kept = [i for i, r in enumerate(grid.rows) if any(c.strip() for c in r)]
    rows = [grid.rows[i] for i in kept]
    spans = [grid.spans[i] for i in kept] if grid.spans is not None and len(grid.spans) == len(grid.rows) else None
    cell_boxes = [grid.boxes[i] for i in kept] if grid.boxes is not None and len(grid.boxes) == len(grid.rows) else None
    # OCR-split figures make raw rows wider than the table; measure width after repair.
    width = max(len(repair_split_numbers(r)) for r in rows)
    n_head = header_row_count(rows)
    if n_head:
        columns = merge_headers(rows[:n_head], width, spans[:n_head] if spans else None)
    else:
        columns = [unnamed_column(j) for j in range(width)]
    head_boxes = _header_boxes(rows[:n_head], cell_boxes[:n_head] if cell_boxes else None, width)
    groups = _group_labels(rows, spans, n_head, width)
    if groups:
        keep = [i for i in range(len(rows)) if i < n_head or i not in groups]
        under = _groups_above(groups, keep[n_head:])
        rows, spans = [rows[i] for i in keep], [spans[i] for i in keep]
        cell_boxes = [cell_boxes[i] for i in keep] if cell_boxes else None
    fitted_rows = [_fit_row(cells, width) for cells in rows[n_head:]]
    fitted_boxes = [_fitted_boxes(cells, fitted, cell_boxes[n_head + i] if cell_boxes else None)
                    for i, (cells, fitted) in enumerate(zip(rows[n_head:], fitted_rows))]
    n_label = label_columns(fitted_rows, width, columns)
    stacked = [part for cells, boxes in zip(fitted_rows, fitted_boxes) for part in _split_stacked_row(cells, n_label, boxes)]
    body: list[TableRow] = []
    for fitted, boxes in stacked:
        if n_label > 1:
            shifted = _shift_values_right(fitted, n_label)
            boxes = boxes if shifted == fitted else [None] * len(fitted)
            fitted = shifted
        label = row_label(fitted) if n_label == 1 else _joined_label(fitted[:n_label])
        values = spread_packed_figures(fitted[n_label:])
        body.append(TableRow(header=label, values=values, values_norm=[v.replace(" ", "") for v in values],
                             header_box=_as_list(_union([b for c, b in zip(fitted[:n_label], boxes) if c.strip()])),
                             boxes=_as_lists(boxes[n_label:]), page=grid.page))
    _name_repeated_rows(body)
    if groups and len(body) == len(under):
        for row, group in zip(body, under):
            row.header = clean_label(f"{group} {row.header}")
    column_boxes = [_union(head_boxes[:n_label]), *head_boxes[n_label:]]
    if n_label > 1:
        columns = [columns[0], *_realign_orphan_labels(columns[1:n_label], columns[n_label:])]
    if header and len(header) == len(columns) and (n_head == 0 or repeats_header):
        columns = list(header)
    table_id = f"{doc_key}-t{ordinal:03d}"
    body_rows = rows[n_head:]
    names_labels = "구분" in columns[0].replace(" ", "") or columns[0] in _GENERIC_HEADER
    if body_rows and not names_labels and sum(_is_figure(r[0]) for r in body_rows if r) * 2 >= len(body_rows) \
            and not (n_label > 1 and _numbers_the_rows(body_rows)):
        # No row-label column (e.g. "계 | 승용 | 승합" over bare figures): keep the first cell as a value
        # and label rows by the caption, so the first figure is not dropped.
        columns = ["구분", *columns]
        column_boxes = [None, *head_boxes]
        labels = under if groups else [""] * len(fitted_rows)
        body = [TableRow(header=clean_label(group or caption) or "값", values=fitted,
                         values_norm=[v.replace(" ", "") for v in fitted], boxes=_as_lists(boxes), page=grid.page)
                for fitted, boxes, group in zip(fitted_rows, fitted_boxes, labels)]
    return Table(table_id, caption, unit, as_of, columns, body, grid.page, section, _as_lists(column_boxes))


def _group_labels(rows: list[list[str]], spans: list[list[int]] | None, n_head: int, width: int) -> dict[int, str]:
    """Body rows that are one label drawn across every column ("스마트빌리지 보급 및 확산(지역균형발전특별회계)",
    "[국정과제]"): a group the rows below belong to, not a row of empty values (index -> label)."""
    if not spans:
        return {}
    return {i: clean_label(rows[i][0].replace("\n", " ")) for i in range(n_head, len(rows))
            if spans[i] and spans[i][0] >= width and rows[i][0].strip() and not any(c.strip() for c in rows[i][1:])}


def _groups_above(groups: dict[int, str], kept: list[int]) -> list[str]:
    """For each kept row (by index, in order), the label of the last group row above it ("" before the first)."""
    out, group, starts = [], "", sorted(groups)
    for i in kept:
        while starts and starts[0] < i:
            group = groups[starts.pop(0)]
        out.append(group)
    return out


# a whole printed figure ("1,050", "177,000", "2.5%") or a dash for none; not an OCR piece such as "3,9" or "3,"
_FIGURE_TOKEN = re.compile(r"[△▲+\-]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?%?|[-–]")
_DASH = re.compile(r"[-–]")
MIN_PACKED = 3  # two figures in one cell are as often one figure the OCR split ("16 5") as two columns


def spread_packed_figures(values: list[str]) -> list[str]:
    """ "19 59 35 890" | "" | "" | "": a row whose column rules the PDF does not draw comes out as one cell of
    figures and empty cells after it; each figure goes to its own column, when exactly that many are empty.
    A range ("05.01 - 05.02") is one value, not three."""
    out = list(values)
    i = 0
    while i < len(out):
        tokens = out[i].split()
        k = len(tokens)
        packed = (k >= MIN_PACKED and all(_FIGURE_TOKEN.fullmatch(t) for t in tokens)
                  and any(t[-1].isdigit() for t in tokens) and not _is_range(tokens))
        if packed and i + k <= len(out) and not any(out[j].strip() for j in range(i + 1, i + k)) \
                and (i + k == len(out) or out[i + k].strip()):
            out[i:i + k] = tokens
            i += k
            continue
        i += 1
    return out


def _is_range(tokens: list[str]) -> bool:
    return any(_DASH.fullmatch(b) and not _DASH.fullmatch(a) and not _DASH.fullmatch(c)
               for a, b, c in zip(tokens, tokens[1:], tokens[2:]))


def _numbers_the_rows(rows: list[list[str]]) -> bool:
    """ "1 | 일반공공행정 | 45,767", "2 | 공공질서 및 안전 | 0": a first column counting 1, 2, 3 beside names
    numbers the rows (연번); its figures are no values, and with the names beside them it labels the rows.
    (A table of words only keeps the caption as label: "1" alone would name nothing.)"""
    counted = [r for r in rows if len(r) > 1 and r[0].strip().isdigit()]
    if len(counted) < MIN_NUMBERED_ROWS or sum(_is_figure(r[1]) for r in counted) * 2 >= len(counted):
        return False
    first = int(counted[0][0])
    return [int(r[0]) for r in counted] == list(range(first, first + len(counted)))


def _fitted_boxes(cells: list[str], fitted: list[str], boxes: list[Box | None] | None) -> list[Box | None]:
    """Cell boxes aligned with a fitted row; unknown when fitting merged or moved cells."""
    raw = [c.strip() for c in cells]
    if boxes is None or len(boxes) != len(raw) or raw + [""] * (len(fitted) - len(raw)) != fitted:
        return [None] * len(fitted)
    return list(boxes) + [None] * (len(fitted) - len(boxes))


def _header_boxes(header_rows: list[list[str]], boxes: list[list[Box | None]] | None, width: int) -> list[Box | None]:
    """The printed leaf header cell of each column: the lowest header cell with text covering it."""
    out: list[Box | None] = [None] * width
    if not boxes:
        return out
    for cells, row_boxes in zip(header_rows, boxes):
        for j in range(min(width, len(row_boxes))):
            owner = next((k for k in range(j, -1, -1) if k < len(cells) and cells[k].strip()), None)
            if row_boxes[j] is not None and owner is not None and row_boxes[owner] == row_boxes[j]:
                out[j] = row_boxes[j]
    return out


def _union(boxes: list[Box | None]) -> Box | None:
    known = [b for b in boxes if b is not None]
    if not known:
        return None
    return (min(b[0] for b in known), min(b[1] for b in known), max(b[2] for b in known), max(b[3] for b in known))


def _as_list(box: Box | None) -> list[float] | None:
    return list(box) if box is not None else None


def _as_lists(boxes: list[Box | None]) -> list[list[float] | None]:
    return [_as_list(b) for b in boxes]


def _name_repeated_rows(rows: list[TableRow]) -> None:
    """Rows whose label repeats ("국비" under both "계(부경대)" and "계(부산대)") get their group row's label.

    The group is found by the figures, since text tables lose indentation: a row whose first figure is
    the sum of the figures of the rows right below it is their parent.
    """
    labels = [compact(r.header) for r in rows]
    repeated = {x for x in labels if x and labels.count(x) > 1}
    if not repeated:
        return
    first = [number_value(r.values[0]) if r.values else None for r in rows]
    parent: dict[int, int] = {}
    for p, total in enumerate(first):
        if total is None or p in parent:
            continue
        running, q = 0.0, p + 1
        while q < len(rows) and first[q] is not None and running < total - 0.5:
            running += first[q]
            q += 1
        if q - p > 2 and abs(running - total) < 0.5:
            for child in range(p + 1, q):
                parent[child] = p
    named = {c: f"{rows[p].header} {rows[c].header}" for c, p in parent.items() if labels[c] in repeated and rows[p].header}
    for label in repeated:
        members = [i for i, x in enumerate(labels) if x == label]
        names = [named.get(i, rows[i].header) for i in members]
        if len(set(names)) == len(names):  # only when the group names tell the rows apart
            for i, name in zip(members, names):
                rows[i].header = name


def _joined_label(cells: list[str]) -> str:
    """Row label spread over several cells; a cell whose box swallowed the labels of the rows below
    (one of its lines is this row's own label cell) is left out."""
    parts = [c.strip() for c in cells if c.strip()]
    own = {clean_label(c) for c in parts if "\n" not in c}
    kept = [c for c in parts if "\n" not in c or not own & {clean_label(x) for x in c.split("\n")}]
    return clean_label(" ".join(c.replace("\n", " ") for c in kept))


def _split_stacked_row(cells: list[str], n_label: int,
                       boxes: list[Box | None]) -> list[tuple[list[str], list[Box | None]]]:
    """Rows a missing rule merged into one cell each ("1,467\n1,291\n1,527") become separate rows.

    The innermost label cell splits with the figures when it has as many lines; outer label cells
    (a group such as "행정운영\n경비" spanning the rows) stay whole on the first row. A split cell's
    box is cut into equal bands, one per line.
    """
    values = [c for c in cells[n_label:] if c.strip()]
    counts = {len(c.strip().split("\n")) for c in values}
    if len(counts) != 1 or (n := counts.pop()) < 2:
        return [(cells, boxes)]
    if not all(_is_figure(line) for c in values for line in c.strip().split("\n")):
        return [(cells, boxes)]
    out = [([""] * len(cells), [None] * len(cells)) for _ in range(n)]
    for j, cell in enumerate(cells):
        lines = cell.strip().split("\n")
        box = boxes[j] if j < len(boxes) else None
        if len(lines) == n and (j >= n_label or j == n_label - 1):
            for i, line in enumerate(lines):
                out[i][0][j] = line
                out[i][1][j] = _band(box, i, n)
        else:
            out[0][0][j], out[0][1][j] = cell, box
    return out


def _band(box: Box | None, i: int, n: int) -> Box | None:
    if box is None:
        return None
    height = (box[3] - box[1]) / n
    return (box[0], round(box[1] + i * height, 1), box[2], round(box[1] + (i + 1) * height, 1))


def _shift_values_right(cells: list[str], n_label: int) -> list[str]:
    """A row whose figures start inside the label cells (an OCR cell lost on the left) is moved right."""
    first = next((j for j in range(1, n_label) if _is_figure(cells[j])), None)
    if first is None:
        return cells
    figures = cells[first:]
    while figures and not figures[-1].strip():
        figures.pop()
    room = len(cells) - n_label
    if len(figures) > room:
        return cells
    return cells[:first] + [""] * (n_label - first) + [""] * (room - len(figures)) + figures


def _realign_orphan_labels(orphans: list[str], value_columns: list[str]) -> list[str]:
    """Header labels OCR printed over the label cells go, in order, to value columns with no readable label.

    ("2025 예산현액 | 2024 최종예산" sit left of the figures whose own header cells read "2020 4 1212-4".)
    """
    readable = [o for o in orphans if re.search(r"[가-힣]{2}", o) and not is_unnamed_column(o)]
    out = []
    for label in value_columns:
        if readable and (not re.search(r"[가-힣]", label) or is_unnamed_column(label)):
            out.append(readable.pop(0))
        else:
            out.append(label)
    return out


# ---------------------------------------------------------------- space-aligned tables in text lines

# one printed cell figure at the end of a text row: "153,799", "△3.9%", "51명"
_ROW_FIGURE = r"[△▲+\-]?[\d,]+(?:\.\d+)?(?:%|건|명|개|개소|곳|회|편)?"
_TRAILING_VALUES = re.compile(rf"^(?P<label>.*?)(?P<values>(?:\s+(?:{_ROW_FIGURE}|순증|순감|-))+)\s*$")


def split_aligned(text: str) -> tuple[str, list[str]] | None:
    """ "총 계 153,799 160,021 △6,222 △3.9%" -> ("총 계", [four values]) when ≥2 figures trail a label."""
    m = _TRAILING_VALUES.match(" " + text)
    if not m:
        return None
    values = m.group("values").split()
    label = m.group("label").strip()
    figures = [v for v in values if re.search(r"\d", v)]
    if len(values) < 2 or len(figures) < 2 or not label or len(label) > 40:
        return None
    if re.fullmatch(r"[\d\s.,\-~]+", label):  # a line of bare numbers (page numbers, dates) is not a row
        return None
    return label, values


# Some HWP-to-text extractions print a table row one cell per line, a mark before each cell: "계 (x-)" /
# "9,204,800" / "(x-)" / "9,604,800" ... The mark holds a share of the figure ("(x561,213)" over 1,122,426)
# or "-". Joined back, the row reads like any space-aligned one.
_CELL_MARK = re.compile(r"\(x[-△\d,.]*\)$")
_LABEL_PIECE = re.compile(r"^[가-힣()·ㆍ]{2,12}$")  # "공기관등에대한경" / "상적위탁사업비": a label wrapped over lines


def join_marked_cells(lines: list[Line]) -> list[Line]:
    """ "계 (x-)", "9,204,800", "(x-)", "9,604,800" -> "계 9,204,800 9,604,800": a row's cells on one line.
    A cell with nothing printed (two marks in a row) reads "-"."""
    out: list[Line] = []
    i = 0
    while i < len(lines):
        text = lines[i].text.strip()
        mark = _CELL_MARK.search(text)
        label = text[: mark.start()].strip() if mark else ""
        if mark and not label:
            label = _wrapped_label(out)
        if not label:
            out.append(lines[i])
            i += 1
            continue
        cells: list[str] = []
        j = i + 1
        after_mark = True
        while j < len(lines):
            cell = lines[j].text.strip()
            if _FOOTER.match(cell):
                # a page footer inside a row that runs on to the next page
                k = next((k for k in range(j, len(lines)) if not _NOISE.match(lines[k].text.strip())), len(lines))
                if k == len(lines) or not _continues_row(lines[k].text.strip(), label, after_mark):
                    break
                j = k
                continue
            if not _continues_row(cell, label, after_mark):
                break
            if _CELL_MARK.fullmatch(cell):
                cells += ["-"] if after_mark else []
                after_mark = True
            else:
                cells.append(cell)
                after_mark = False
            j += 1
        out.append(Line(" ".join([label, *cells]), lines[i].page))
        i = j
    return out


def _wrapped_label(out: list[Line]) -> str:
    """The row label printed over the one or two short lines before a lone cell mark, taken off `out`."""
    pieces: list[str] = []
    while out and len(pieces) < 2 and _LABEL_PIECE.match(out[-1].text.strip()):
        pieces.insert(0, out.pop().text.strip())
    return "".join(pieces)


def _continues_row(cell: str, label: str, after_mark: bool) -> bool:
    """A cell mark, or a figure right after one."""
    return bool(_CELL_MARK.fullmatch(cell)) or (after_mark and bool(split_aligned(f"{label} {cell} {cell}")))


# A budget table's header names its columns by letters: "최종예산 (A)", "2024예산(안) (B)", "증감 (B-A)",
# "(B-A)*100/A". Stacked over several lines, the words come out of column order; the letters put them back.
_LETTER = re.compile(r"\(\s*([A-Z](?:\s*[-+]\s*[A-Z])?)\s*\)(?!\s*\*)")
_RATIO = re.compile(r"\(\s*[A-Z]\s*-\s*[A-Z]\s*\)\s*[*×]\s*100\s*/\s*[A-Z]|\(\s*[A-Z]\s*-\s*[A-Z]\s*\)\s*/\s*[A-Z]")
_HEADER_YEAR = re.compile(r"^(?:19|20)\d{2}년도?$")


def _header_line(text: str) -> bool:
    """A short line of column words above a table: not a sentence, a footer, a unit line or a row of figures."""
    return not (len(text) > 60 or _FOOTER.match(text) or _SENTENCE_END.search(text) or find_unit(text)
                or split_aligned(text))


def lettered_header(lines: list[str], width: int) -> tuple[list[str], int] | None:
    """Column labels of a budget table whose header marks its columns (A), (B), (B-A) and (B-A)*100/A.

    Unlettered figure labels ("본예산") come first, then A, then B, the change and its rate: the order
    the letters define. A bare year ("2023년") belongs to the columns before B, which carries its own.
    Returns the labels (row-label column first) and how many lines were used, or None."""
    used = 0
    for back, text in enumerate(reversed(lines[-MAX_HEADER_LINES:]), start=1):
        if not _header_line(text):
            break
        used = back
    if not used:
        return None
    header = lines[len(lines) - used:]
    # the row-label column's "구 분" opens the header: a caption above it is not a column
    starts = [k for k, line in enumerate(header) if compact(line).startswith("구분")]
    header = header[starts[-1]:] if starts else header
    text = " ".join(header)
    letters = {compact(m.group(1)) for m in _LETTER.finditer(text)}
    if not {"A", "B", "B-A"} <= letters:
        return None
    ratio = bool(_RATIO.search(text))
    text = _RATIO.sub(" ", text)
    labelled: dict[str, str] = {}
    pending: list[str] = []  # words waiting for the letter printed after them, maybe on a later line
    spaced = _LETTER.sub(lambda m: f" ({compact(m.group(1))}) ", squash_letter_spacing(text, short=True))
    for w in spaced.split():
        if _LETTER.fullmatch(w):
            labelled[w[1:-1]] = pending.pop() if pending else ""
        elif w not in _GENERIC_HEADER:
            pending.append(w)
    years = [w for w in pending if _HEADER_YEAR.match(w)]
    rest = [w for w in pending if not _HEADER_YEAR.match(w) and w not in ("증감", "증감률") and not w.startswith("(")]
    before = years[0] if years else ""
    a_label = _plain_label(labelled["A"] or (rest.pop(0) if rest else ""))
    b_label = _plain_label(labelled["B"] or (rest.pop() if rest else ""))
    columns = [*(f"{before} {w}".strip() for w in rest), f"{before} {a_label} (A)".strip() if not re.search(r"20\d{2}", a_label)
               else f"{a_label} (A)", f"{b_label} (B)", "증감 (B-A)", *(["증감률 (%)"] if ratio else [])]
    if len(columns) != width:
        return None
    return ["구분", *(clean_label(c) for c in columns)], used


def _plain_label(label: str) -> str:
    """ "2024예산(안)" -> "2024 예산안": the words a question uses ("2024 예산안 얼마야")."""
    label = re.sub(r"\(안\)", "안", label)
    return re.sub(r"^((?:19|20)\d{2}년?)(?=[가-힣])", r"\1 ", label)


_YEAR = re.compile(r"[’']?\d{2,4}(?:년|년도)?")
_GENERIC_HEADER = {"현황", "구분", "사항별", "내역"}
MAX_HEADER_LINES = 8


def _groups(text: str) -> list[str]:
    """Header words of one line, a year joined to the label after it ("2024 예산안")."""
    tokens = squash_letter_spacing(text, short=True).split()
    groups: list[str] = []
    i = 0
    while i < len(tokens):
        if _YEAR.fullmatch(tokens[i]) and i + 1 < len(tokens) and not _YEAR.fullmatch(tokens[i + 1]):
            groups.append(f"{tokens[i]} {tokens[i + 1]}")
            i += 2
            continue
        groups.append(tokens[i])
        i += 1
    return groups


def _is_parent(group: str, labels: list[str]) -> bool:
    """A spanning header ("증감", "집행현황") over child labels already placed ("증감액", "집행액")."""
    stem = group[:2]
    return any(lab.startswith(stem) or group in lab for lab in labels)


def _split_one_line_header(groups: list[str], width: int) -> tuple[str, list[str]]:
    """One line holding the whole header. When the words after the first split evenly over the columns
    ("이용기간 | 과제 분석수 | 이용 방문자"), each column takes its share; otherwise the last words are the
    column labels and the first ones name the row-label column."""
    rest = len(groups) - 1
    # a line with figures is a row or a sentence read as a header, whose words are no column labels
    if rest > width and rest % width == 0 and not any(re.search(r"\d", g) for g in groups):
        size = rest // width
        return groups[0], [" ".join(groups[1 + k * size: 1 + (k + 1) * size]) for k in range(width)]
    return " ".join(groups[: len(groups) - width]), groups[len(groups) - width:]


def _header_from_lines(lines: list[str], width: int) -> tuple[list[str], int] | None:
    """Column labels for `width` value columns from the short lines above an unruled table.

    Reports often stack headers over several lines ("2020" / "예산현액" / "증 감 집행 현황" /
    "증감액 증감률 ..."): the nearest line gives the rightmost labels, a bare year attaches to the
    label after it, and a spanning parent ("증감") already contained in a child label is dropped.
    Returns the labels (row-label column first) and how many lines were used.
    """
    labels: list[str] = []
    row_label = ""
    used = 0
    for back, text in enumerate(reversed(lines[-MAX_HEADER_LINES:]), start=1):
        if not _header_line(text):
            break
        groups = _groups(text)
        if len(labels) + len(groups) > width and not labels:
            row_label, labels = _split_one_line_header(groups, width)
            used = back
            break
        placed = list(labels)  # parents are judged against lower lines only, not siblings on this line
        for g in reversed(groups):
            if _YEAR.fullmatch(g) and labels:
                labels[0] = f"{g} {labels[0]}"
            elif len(labels) < width and g not in _GENERIC_HEADER and not _is_parent(g, placed):
                labels.insert(0, g)
            elif len(labels) >= width and not _YEAR.fullmatch(g):
                row_label = g
        used = back
        if row_label:
            break
    if len(labels) != width:
        return None
    return [clean_label(row_label or "구분")] + [clean_label(x) for x in labels], used


_NOTE_HEADERS = {"증감사유", "사유", "비고", "내용", "주요내용"}
_NOTE_ROW = re.compile(r"^(?P<label>\S.*?)(?P<values>(?:\s+[△▲+\-]?[\d,]+(?:\.\d+)?%?){3,})\s+(?P<note>[^\d]{2,40})$")
_NOT_NOTE = re.compile(r"^[<(□■○◦●※\-·•ㅇ]|\d")


def _split_with_note(text: str, width: int) -> tuple[str, list[str], str] | None:
    """ "공유재산임대료 8,095 7,424 672 9.0% 공공요금 인상에 따른 관리비 인상 등" -> label, figures, note."""
    m = _NOTE_ROW.match(text)
    if not m or len(m.group("values").split()) != width or len(m.group("label")) > 40:
        return None
    return m.group("label").strip(), m.group("values").split(), m.group("note").strip()


def _wrapped_note_lines(lines: list[Line], j: int, width: int, limit: int = 4) -> int:
    """How many lines from j are a note wrapped below its row: short text lines followed by another row."""
    for n in range(limit):
        if j + n >= len(lines):
            return 0
        text = lines[j + n].text
        parsed = split_aligned(text) or _split_with_note(text, width)
        if parsed and n and len(parsed[1]) in (width, width - 1):
            return n
        if parsed or len(text) > 30 or _NOT_NOTE.search(text) or find_unit(text):
            return 0
    return 0


# "1 서울시 업종별 내외국인 신한카드 매출데이터 132": a ranking printed as numbered lines, one figure each
_NUMBERED_ROW = re.compile(rf"^(?P<n>\d{{1,3}})\s+(?P<label>\S.*?)\s+(?P<value>{_ROW_FIGURE})$")
_SERIAL_HEADERS = {"연번", "순번", "번호", "순위"}
MIN_NUMBERED_ROWS = 3  # fewer numbered lines read as an enumeration, not a table


def _numbered_grid(lines: list[Line], i: int) -> tuple[int, int, Grid] | None:
    """A header "연번 데이터명 이용건수" over lines numbered 1, 2, 3 … that each end in one figure; the
    label may hold spaces, so only the three-word header tells where its columns are."""
    head = lines[i - 1].text.split() if i else []
    if len(head) != 3 or head[0] not in _SERIAL_HEADERS:
        return None
    rows: list[list[str]] = []
    j = i
    while j < len(lines):
        m = _NUMBERED_ROW.match(lines[j].text.strip())
        if not m or int(m["n"]) != len(rows) + 1:
            break
        rows.append([m["label"], m["value"]])
        j += 1
    if len(rows) < MIN_NUMBERED_ROWS:
        return None
    return i - 1, j, Grid([head[1:], *rows], lines[i].page)


def aligned_grids(lines: list[Line]) -> list[tuple[int, int, Grid]]:
    """Runs of text lines that form a space-aligned numeric table: (start, end, grid) over `lines`."""
    found: list[tuple[int, int, Grid]] = []
    previous: tuple[int, list[str]] | None = None  # end line and header of the last table
    i = 0
    while i < len(lines):
        numbered = _numbered_grid(lines, i)
        if numbered:
            found.append(numbered)
            i = numbered[1]
            continue
        first = split_aligned(lines[i].text)
        if not first:
            i += 1
            continue
        width = len(first[1])
        j = i
        rows: list[list[str]] = []
        notes: dict[int, str] = {}  # row index -> text of a trailing note column ("증감사유")
        while j < len(lines):
            parsed = split_aligned(lines[j].text) or _split_with_note(lines[j].text, width)
            # A sub-row may leave its last column (a rate) blank: "사업비 140,438 149,893 △9,455".
            if not parsed or not (len(parsed[1]) == width or (width >= 4 and len(parsed[1]) == width - 1)):
                wrapped = _wrapped_note_lines(lines, j, width) if rows else 0
                if not wrapped:
                    break
                # a note wrapped onto its own lines below the row it explains
                notes[len(rows) - 1] = " ".join([notes.get(len(rows) - 1, ""), *(ln.text for ln in lines[j:j + wrapped])]).strip()
                j += wrapped
                continue
            if len(parsed) == 3:
                notes[len(rows)] = parsed[2]
            rows.append([parsed[0], *parsed[1], *[""] * (width - len(parsed[1]))])
            j += 1
        above = [ln.text for ln in lines[:i]]
        found_header = None
        if i > 0:
            with_note = _header_from_lines(above, width + 1)
            if with_note and (notes or with_note[0][-1] in _NOTE_HEADERS):
                found_header = with_note
                rows = [[*r, notes.get(n, "")] for n, r in enumerate(rows)]
            else:
                found_header = lettered_header(above, width) or _header_from_lines(above, width)
        if len(rows) < 2 and not found_header:  # one figure line is a table only under a real header
            i += 1
            continue
        start = i
        continues = False
        if found_header:
            header, used = found_header
            start = i - used
            rows.insert(0, header)
        elif previous and len(previous[1]) == width + 1 and all(_FOOTER.match(ln.text) for ln in lines[previous[0]:i]):
            rows.insert(0, previous[1])  # a table running on after a page footer keeps its header
            continues = True
        if len(rows[0]) == width + 1 and not split_aligned(" ".join(rows[0])):
            previous = (j, rows[0])
        found.append((start, j, Grid(rows, lines[i].page, continues=continues)))
        i = j
    return found


# ---------------------------------------------------------------- walking the document

@dataclass
class TextUnit:
    """A run of body text inside one section."""

    section: str
    page: int | None
    lines: list[str]


@dataclass
class Structured:
    texts: list[TextUnit]
    tables: list[Table]


def structure(blocks: list[Block], doc_key: str) -> Structured:
    blocks = _with_aligned_tables(blocks)
    section = Section()
    texts: list[TextUnit] = []
    tables: list[Table] = []
    recent: list[Line] = []  # lines since the last table, for caption/unit lookup
    pending: list[tuple[Table, int]] = []  # tables still missing a unit that may follow them
    last_grid = -2  # block index of the last table
    item = ""  # the last "② 지능형 CCTV 고도화(사업별설명서 281p)" item of the section: the program its tables are about
    enumerated = enumerated_lines(blocks)
    for idx, block in enumerate(blocks):
        if isinstance(block, Grid):
            if not any(c.strip() for r in block.rows for c in r):
                continue  # ruled boxes with nothing in them (layout frames) are not tables
            caption, unit, as_of = _caption_unit(recent, section.title)
            if item and _is_lettered(block):
                caption = item  # a budget review's per-program table sits under "② 지능형 CCTV 고도화(…)"
            if block.continues and tables:
                caption, unit, as_of = tables[-1].caption, tables[-1].unit, tables[-1].as_of
            if block.within:
                caption, unit, as_of = _nested_caption(block.within, caption, unit, as_of)
            header, repeats, continued = None, False, block.continues and bool(tables)
            # a table inside another's cell is its own table, however close it follows the outer one
            if tables and last_grid >= 0 and not block.within:
                # A ruled table drawn as two boxes (header + first row, then the rest), or running onto
                # the next page under a repeated first header row, is one table.
                repeats = _repeats_header(blocks[last_grid], block, blocks[last_grid + 1 : idx])
                if repeats or (last_grid == idx - 1 and tables[-1].page == block.page):
                    header = tables[-1].columns
                    caption, unit, as_of = tables[-1].caption, tables[-1].unit, tables[-1].as_of
                    continued = True
            table = build_table(block, caption, unit, as_of, section.path, doc_key, len(tables) + 1, header, repeats)
            if continued and table.columns == tables[-1].columns:
                # one table over two boxes or pages: its extremes, filters and lists run over all its rows
                table.table_id = tables[-1].table_id
            tables.append(table)
            last_grid = idx
            if not unit:
                pending.append((table, idx))
            recent = []
            continue
        text = block.text
        if _dropped(text):
            continue
        if pending and find_unit(text):
            for table, at in pending:
                # only a unit line right below a table is its own (004); after a caption it heads the next one
                if idx - at == 1:
                    table.unit = table.unit or find_unit(text)
                    table.as_of = table.as_of or find_as_of(text)
            pending = []
        level = heading_level(text, section, idx in enumerated)
        if level is not None:
            section.set(*level)
            item = ""
        if m := _CIRCLED_ITEM.match(text):
            item = clean_label(_TRAILING_NOTE.sub("", m.group(1)))
        recent.append(block)
        recent = recent[-4:]
        # Headings are short labels, so 2-syllable spacing ("인 력") is joined there too.
        _add_text(texts, section.path, block.page, squash_letter_spacing(text, short=level is not None))
    return Structured(texts, tables)


_CIRCLED_ITEM = re.compile(r"^[①-⑳]\s*(\S.{1,80})$")
_TRAILING_NOTE = re.compile(r"\s*\([^()]*(?:\)\s*)?$")  # "(사업별설명서 281p, 예산서 378p)", or its wrapped first half


def _is_lettered(grid: Grid) -> bool:
    """A budget table whose header names its columns (A) and (B) (see `lettered_header`)."""
    head = " ".join(grid.rows[0]) if grid.rows else ""
    return "(A)" in head and "(B)" in head


def _repeats_header(previous: Block, grid: Grid, between: list[Block]) -> bool:
    """The grid opens the next page with the same first row as the table that closed the page before."""
    if not isinstance(previous, Grid) or not previous.rows or not grid.rows or previous.page is None:
        return False
    if grid.page != previous.page + 1 or not all(isinstance(b, Line) and _NOISE.match(b.text) for b in between):
        return False
    return [clean_label(c) for c in previous.rows[0]] == [clean_label(c) for c in grid.rows[0]]


def _add_text(texts: list[TextUnit], section: str, page: int | None, text: str) -> None:
    if texts and texts[-1].section == section and texts[-1].page == page:
        texts[-1].lines.append(text)
        return
    texts.append(TextUnit(section, page, [text]))


def _caption_unit(recent: list[Line], section_title: str) -> tuple[str, str, str]:
    """Caption, unit and as-of date from the few lines just above a table."""
    unit = as_of = ""
    for line in reversed(recent):
        text = line.text
        unit = unit or find_unit(text)
        as_of = as_of or find_as_of(text)
        if text.startswith("(") and (find_unit(text) or find_as_of(text)):
            continue  # a "(’25. 10. 10. 기준, 단위: 천원)" line, not a caption
        caption = _caption_text(text)
        if caption and _short_title(caption, MAX_CAPTION_CHARS):
            return caption, unit, as_of
    return section_title, unit, as_of


_LONE_BULLET = re.compile(r"^(?:[wvlnq]|[^\w\s(（])\s+")  # Wingdings bullets come out as a lone "w" or "v"
_FIELD = re.compile(r"^([^:：]{1,12})[:：]\s*(\S.*)$")
MAX_FIELD_LABEL_CHARS = 6  # "사업명", "공모기간": a field's label, not a sentence with a colon in it


def _nested_caption(within: str, caption: str, unit: str, as_of: str) -> tuple[str, str, str]:
    """Caption, unit and as-of of a table inside another's cell, from that cell's text above it: its first line
    names the item ("w 사 업 명 : 대학일자리플러스센터(…) 지원사업"), a later line may give the unit."""
    lines = [ln.strip() for ln in within.split("\n") if ln.strip()]
    if not lines:
        return caption, unit, as_of
    first = _LONE_BULLET.sub("", lines[0])
    if (m := _FIELD.match(first)) and len(compact(m.group(1))) <= MAX_FIELD_LABEL_CHARS:  # "사 업 명 : X" names X
        first = m.group(2)
    named = clean_label(first)[:CAPTION_CUT_CHARS]
    return (named or caption, next(filter(None, map(find_unit, lines)), unit),
            next(filter(None, map(find_as_of, lines)), as_of))


def _caption_text(text: str) -> str:
    text = without_aside(re.sub(r"^[□■◉◆▣○◦❍●※\-·•▪ㅇ]\s*", "", text).strip())
    text = re.sub(r"\(\s*(?:단위|[’'‘]?\d).*?\)\s*$", "", text).strip()
    return clean_label(text)[:CAPTION_CUT_CHARS]


def _with_aligned_tables(blocks: list[Block]) -> list[Block]:
    """Replace runs of space-aligned lines with grids, keeping everything else in order."""
    out: list[Block] = []
    run: list[Line] = []

    def flush() -> None:
        run[:] = join_marked_cells(run)
        pos = 0
        for start, end, grid in aligned_grids(run):
            out.extend(run[pos:start])
            out.append(grid)
            pos = end
        out.extend(run[pos:])
        run.clear()

    for b in blocks:
        if isinstance(b, Line):
            run.append(b)
            continue
        flush()
        out.append(b)
    flush()
    return out


def table_key(doc_file: str) -> str:
    return stable_id(doc_file)[:8]
