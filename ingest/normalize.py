"""Text repairs for messy report text: letter spacing, HTML cells, OCR-split numbers, units, dates."""
from __future__ import annotations

import html
import re
import unicodedata
from functools import lru_cache

_HANGUL = "가-힣"
# A run of single Hangul syllables separated by single spaces: "기 본 현 황".
# Not right after a digit or a Latin letter: "9월 총 합" is a month and a label, "7명 및 그" a count and prose.
_SPACED_RUN = re.compile(rf"(?<![{_HANGUL}0-9A-Za-z])([{_HANGUL}](?: [{_HANGUL}]){{%d,}})(?![{_HANGUL}])")
_SPACED_RUN_SHORT = re.compile(_SPACED_RUN.pattern % 1)
_SPACED_RUN_LONG = re.compile(_SPACED_RUN.pattern % 2)
# "□ 조 직 ▻ 3과", "❖ 위 원 : 7명": a label before its value is spaced out like a heading, even inside prose
_SPACED_LABEL = re.compile(rf"(?<![{_HANGUL}])([{_HANGUL}] [{_HANGUL}])(?= ?[:：▻▸►])")
_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9]*(?:\s[^>]*)?/?>")  # ASCII tags only: "<일반회계>" is text
_BLOCK_TAG = re.compile(r"</?(?:p|li|ul|ol|br|div|tr)\b[^>]*>", re.IGNORECASE)
_WS = re.compile(r"\s+")

# Korean outlines number their items 가. 나. 다. …; the range [가-하] would also take "음." opening a wrapped
# sentence's second line for one
ORDINAL_LETTER = "[가나다라마바사아자차카타파하]"
NUMBER = r"[△▲+\-]?\d{1,3}(?:,\d{3})+(?:\.\d+)?|[△▲+\-]?\d+(?:\.\d+)?"
_NUMBER_FULL = re.compile(rf"^(?:{NUMBER})%?$")


def squash_letter_spacing(text: str, short: bool = False) -> str:
    """Join letter-spaced Hangul ("기 본 현 황" -> "기본현황").

    Prose only joins runs of 3+ syllables, since "및 그" is ordinary Korean; labels
    (table cells, headings) are short enough that 2-syllable runs ("정 원") are safe.
    """
    pattern = _SPACED_RUN_SHORT if short else _SPACED_RUN_LONG
    text = pattern.sub(lambda m: m.group(1).replace(" ", ""), text)
    return text if short else _SPACED_LABEL.sub(lambda m: m.group(1).replace(" ", ""), text)


# HWP exports print the middle dot of "과·결원" as a Hangul vowel sign (ᆞ, ㆍ).
_INTERPUNCT = str.maketrans({"\u119e": "·", "\u318d": "·"})
# Letter-spaced digits glued to the word they count: "1 5 분도시기획과" -> "15분도시기획과".
_SPACED_DIGITS = re.compile(r"(?<![\d.,])\d(?: \d)+ ?(?=[가-힣])")


def clean_label(text: str) -> str:
    """Canonical form of a short label (row/column header, heading) for matching and display."""
    text = unicodedata.normalize("NFKC", text or "").translate(_INTERPUNCT)
    text = _WS.sub(" ", text).strip()
    text = _SPACED_DIGITS.sub(lambda m: m.group(0).replace(" ", ""), text)
    return squash_letter_spacing(text, short=True)


# Control characters some PDF exports print between words ("국세감면액은\x07’22년"): they read as spaces.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def strip_controls(text: str) -> str:
    """Control characters as spaces, so words a PDF separated with them stay apart and match."""
    return _CONTROL.sub(" ", text)


def strip_html(cell: str) -> str:
    """Render an HTML fragment cell as text, one line per paragraph or list item."""
    if "<" not in cell:
        return cell
    text = _BLOCK_TAG.sub("\n", cell)
    text = html.unescape(_TAG.sub("", text))
    lines = [_WS.sub(" ", ln).strip() for ln in text.split("\n")]
    return "\n".join(ln for ln in lines if ln)


# The answerer compacts the same labels and contexts for every candidate of a question (~3,000 calls each).
@lru_cache(maxsize=1 << 16)
def compact(text: str) -> str:
    """Whitespace-free form used for robust substring matching."""
    return _WS.sub("", unicodedata.normalize("NFKC", text or ""))


def is_number(cell: str) -> bool:
    c = cell.strip().replace(" ", "")
    return bool(c) and bool(_NUMBER_FULL.match(c))


def number_value(text: str) -> float | None:
    """Parse a printed figure: "△6,222" -> -6222.0, "39.1%" -> 39.1."""
    c = text.strip().replace(" ", "").rstrip("%")
    if not c or not _NUMBER_FULL.match(c):
        return None
    neg = c[0] in "△▲-"
    c = c.lstrip("△▲+-").replace(",", "")
    try:
        v = float(c)
    except ValueError:
        return None
    return -v if neg else v


_SPLIT_TAIL = re.compile(r",\d{3}(?:,\d{3})*")  # the tail OCR cut off a figure: ",523" of "18,627,523"
_SPLIT_HEAD = re.compile(r"[△▲\-]?[\d,]*\d")  # a whole figure it continues: no decimals, no %


def is_split_tail(cell: str) -> bool:
    return bool(_SPLIT_TAIL.fullmatch(cell.strip()))


def continues_figure(left: str, right: str) -> bool:
    """`right` is the comma-group tail OCR cut off the figure `left`: "18,627" + ",523"."""
    return is_split_tail(right) and bool(_SPLIT_HEAD.fullmatch(left.strip()))


def repair_split_numbers(cells: list[str]) -> list[str]:
    """Merge OCR-split figures across cells: ["18,627", ",523"] -> ["18,627,523"].

    Only merges when the fragment starts with a comma group, so real adjacent
    columns ("720", "6.0%") are never glued together.
    """
    out: list[str] = []
    for cell in cells:
        if out and continues_figure(out[-1], cell):
            out[-1] = out[-1].strip() + cell.strip()
            continue
        out.append(cell)
    return out


def number_forms(text: str) -> list[str]:
    """Extra lexical forms of every figure in text: "13,797,110" -> "13797110"."""
    return [m.replace(",", "") for m in re.findall(r"\d{1,3}(?:,\d{3})+", text)]


_UNIT = re.compile(r"단위\s*[:：]?\s*([^,)\]]+)")
_AS_OF = re.compile(
    r"([’'‘`]?\s*\d{2,4}\s*\.\s*\d{1,2}\s*\.?(?:\s*\d{1,2}\s*\.?)?|\d{2,4}\s*년\s*\d{1,2}\s*월(?:\s*\d{1,2}\s*일)?|[’'‘]\d{2}\.\s*\d{1,2}월)\s*기준"
)


def find_unit(line: str) -> str:
    """Unit named by a "(단위: 천원, %)" line, e.g. "천원"; "" when none."""
    m = _UNIT.search(line)
    if not m:
        return ""
    return m.group(1).replace(" ", "").strip()


def find_as_of(line: str) -> str:
    """As-of date of a "(’25. 10. 10. 기준, ...)" line, as printed."""
    m = _AS_OF.search(line)
    return _WS.sub(" ", m.group(1)).strip() if m else ""
