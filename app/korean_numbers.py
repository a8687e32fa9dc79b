"""Korean money/number spellings: 천원/백만원/억원 conversions, "172억 1천4백만원", △ as minus, dates."""
from __future__ import annotations

import re

from ingest.normalize import number_value

UNIT_WON = {"원": 1, "천원": 1_000, "만원": 10_000, "백만원": 1_000_000, "천만원": 10_000_000, "억원": 100_000_000}
_DIGITS = {"일": 1, "이": 2, "삼": 3, "사": 4, "오": 5, "육": 6, "칠": 7, "팔": 8, "구": 9}
_SMALL = {"십": 10, "백": 100, "천": 1000}


def base_unit(unit: str) -> str:
    """The money/count part of a table's unit line: "천원,%" -> "천원"."""
    for part in re.split(r"[,/]", unit.replace(" ", "")):
        if part and part != "%":
            return part
    return ""


def to_won(value: float, unit: str) -> float | None:
    factor = UNIT_WON.get(base_unit(unit))
    return value * factor if factor else None


def format_eok(won: float) -> str:
    """13,797,110,000 -> "137억 9,711만원" (rounded to 만원), as staff write large sums."""
    sign = "-" if won < 0 else ""
    won = abs(won)
    eok, rest = divmod(round(won / 10_000), 10_000)
    if eok and rest:
        return f"{sign}{eok:,}억 {rest:,}만원"
    if eok:
        return f"{sign}{eok:,}억원"
    return f"{sign}{rest:,}만원"


def format_korean_amount(won: float) -> str:
    """2,007,800,000,000 -> "2조 78억원"; below 1조 as format_eok ("137억 9,711만원")."""
    sign = "-" if won < 0 else ""
    jo, rest = divmod(round(abs(won) / 10_000), 100_000_000)
    if not jo:
        return format_eok(won)
    eok, man = divmod(rest, 10_000)
    parts = [f"{jo:,}조"] + ([f"{eok:,}억"] if eok else []) + ([f"{man:,}만"] if man else [])
    return sign + " ".join(parts) + "원"


def parse_korean_amount(text: str) -> float | None:
    """ "172억 1천4백만원" -> 17,214,000,000 원; "3,618백만원" -> 3,618,000,000; None if no amount."""
    t = text.replace(" ", "").replace(",", "")
    m = re.fullmatch(r"(?:(\d+(?:\.\d+)?)억)?([\d일이삼사오육칠팔구십백천]*)(만|백만|천만)?원?", t)
    if m and (m.group(1) or m.group(2)):
        eok = float(m.group(1)) * 1e8 if m.group(1) else 0.0
        small = _sino(m.group(2)) if m.group(2) else 0
        mult = {"만": 1e4, "백만": 1e6, "천만": 1e7, None: 1e4 if eok else 1}[m.group(3)]
        if small is None:
            return None
        return eok + small * mult
    return None


def _sino(text: str) -> float | None:
    """ "1천4백" -> 1400, "9711" -> 9711, "천" -> 1000."""
    if text.isdigit():
        return float(text)
    total, current = 0, 0
    for ch in text:
        if ch.isdigit():
            current = current * 10 + int(ch)
        elif ch in _DIGITS:
            current = _DIGITS[ch]
        elif ch in _SMALL:
            total += (current or 1) * _SMALL[ch]
            current = 0
        else:
            return None
    return float(total + current)


def format_number(value: float, like: str = "") -> str:
    """Print a computed figure the way the report prints figures: thousands separators, △ for minus."""
    decimals = len(like.split(".")[1].rstrip("%")) if "." in like else (1 if abs(value) < 100 and value != int(value) else 0)
    body = f"{abs(value):,.{decimals}f}"
    return ("△" if value < 0 else "") + body


def value_of(cell: str) -> float | None:
    return number_value(cell.replace("(", "").replace(")", "").split()[0]) if cell.strip() else None


_SHORT_DATE = re.compile(r"[’'‘](\d{2})\s*\.\s*(\d{1,2})\s*\.\s*(\d{1,2})\s*\.?")


def expand_dates(text: str) -> str:
    """ "'25. 11. 4." -> "2025년 11월 4일", so either spelling matches."""
    return _SHORT_DATE.sub(lambda m: f"20{m.group(1)}년 {int(m.group(2))}월 {int(m.group(3))}일", text)
