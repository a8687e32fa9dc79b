"""Convert the Dacon fiscal QA set (train_available_pdfs.csv) into the gold format of eval/gold_tool.

The CSV has free-form answers and no page numbers, so the scoring strings are derived:

* figures: every number in the answer as written (``3,000억원`` -> ``3,000``), minus numbers the
  question already states; very short ones keep their unit (``2%``, ``6개월``) so a stray digit
  elsewhere in an answer cannot match. At most three, longest first. A single figure also gets
  its other comma form in ``accept_any`` (``657680`` <-> ``657,680``), since the PDFs and the CSV
  disagree on thousands separators. When the figures are exactly one date ("2021년 10월"), its
  abbreviated spellings ("’21.10", "‘21.10", ...) are accepted too, as the reports write dates so.
* otherwise 1-2 key terms: noun compounds kiwipiepy finds in the answer that are not in the
  question and do occur in the source PDF, the rarest in that PDF first.
* an item where neither works keeps empty ``must_include`` and ``accept_any``: the runner counts it
  for retrieval, citations and latency, but not for accuracy (not scorable).

``page`` is null and ``evidence`` empty for every item, so retrieval and citations match on the
file alone (see eval/metrics.py).

    python -m eval.dacon [--csv ../shared/realdata/dacon_fiscal/train_available_pdfs.csv] [--out eval/data/dacon_gold.jsonl]
"""
from __future__ import annotations

import argparse
import csv
import re
import sys
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from .gold_tool import GoldItem, save_gold, squash

REPO = Path(__file__).resolve().parent.parent
DEFAULT_CSV = REPO.parent / "shared" / "realdata" / "dacon_fiscal" / "train_available_pdfs.csv"
DEFAULT_OUT = REPO / "eval" / "data" / "dacon_gold.jsonl"

MAX_FIGURES = 3
MAX_TERMS = 2
SHORT_FIGURE_DIGITS = 2  # figures this short carry their unit
NOUN_TAGS = ("NNG", "NNP", "SL", "SH")
# Nouns that occur in almost any answer and say nothing about its content.
STOP_TERMS = {"경우", "이상", "이하", "내용", "포함", "대상", "사업", "지원", "통해", "위해", "관련", "등", "것", "수", "때문"}

_FIGURE = re.compile(r"\d[\d,]*(?:\.\d+)?")
# Counters and units a short figure keeps ('6개월', '34세', '2%'); '제2벤처붐' has none, so its '2' is no figure.
UNITS = set("%년월일세개명조억만천원호항번배곳건회차층시분초주종권대급기인부석배위㎡")


@dataclass(frozen=True)
class DaconRow:
    sample_id: str
    source: str
    source_path: str
    question: str
    answer: str

    @property
    def file(self) -> str:
        return unicodedata.normalize("NFC", Path(self.source_path).name)


def read_csv(path: Path) -> list[DaconRow]:
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return [
            DaconRow(r["SAMPLE_ID"].strip(), r["Source"].strip(), r["Source_path"].strip(),
                     r["Question"].strip(), r["Answer"].strip())
            for r in csv.DictReader(fh)
        ]


# ------------------------------------------------------------------ figures
def _digits(figure: str) -> str:
    return figure.replace(",", "").rstrip(".")


def _n_digits(figure: str) -> int:
    return len(re.sub(r"\D", "", figure))


def _with_unit(text: str, match: re.Match) -> str:
    """A short figure plus the character after it when that is a unit; '' for a bare single digit."""
    figure = match.group().rstrip(",.")
    end = match.start() + len(figure)
    if _n_digits(figure) <= SHORT_FIGURE_DIGITS and end < len(text) and text[end] in UNITS:
        return figure + text[end]
    return "" if _n_digits(figure) < 2 else figure


def figures(answer: str, question: str) -> list[str]:
    """Figures of the answer not already stated by the question, most distinctive first."""
    asked = {_digits(m.group()) for m in _FIGURE.finditer(question)}
    found: list[str] = []
    for m in _FIGURE.finditer(answer):
        digits = _digits(m.group().rstrip(",."))
        # '2017' repeats a question's '17 and '17' a question's 2017: both say nothing new.
        if not digits or any(digits.endswith(a) or a.endswith(digits) for a in asked if a):
            continue
        fig = _with_unit(answer, m)
        if fig and fig not in found:
            found.append(fig)
    if any(_n_digits(f) >= 2 for f in found):
        found = [f for f in found if _n_digits(f) >= 2]  # a lone digit matches too much by chance
    found.sort(key=lambda f: -_n_digits(f))  # stable: ties keep answer order
    return found[:MAX_FIGURES]


def comma_variant(figure: str) -> str | None:
    """The same integer with/without thousands separators, None when there is no other form."""
    if "," in figure:
        return figure.replace(",", "")
    m = re.fullmatch(r"(\d{4,})(\D*)", figure)
    if not m or (len(m.group(1)) == 4 and 1900 <= int(m.group(1)) <= 2099):
        return None  # a year is never written with a comma
    return f"{int(m.group(1)):,}{m.group(2)}"


# The reports abbreviate dates ("’21.10월", "‘93.12월", "’17.11.29") where the CSV spells "2021년 10월".
_DATE = re.compile(r"((?:19|20)\d{2})\s*년(?:\s*(\d{1,2})\s*월(?:\s*(\d{1,2})\s*일)?)?")
YEAR_QUOTES = ("’", "‘", "'")


def date_variants(answer: str, must: list[str]) -> list[str]:
    """Abbreviated spellings of the answer's first date, when the figures are exactly that date's parts.

    Only then: an abbreviated date alone must not satisfy an answer that also needs another figure.
    """
    m = _DATE.search(answer)
    if not m:
        return []
    year, month, day = m.group(1), m.group(2), m.group(3)
    parts = {year} | ({month + "월", month} if month else set()) | ({day + "일", day} if day else set())
    if not must or not set(must) <= parts:
        return []
    yy = year[2:]
    tails = [""]
    if month:
        months = {month, month.zfill(2)}
        tails = [f".{mm}" + (f".{day}" if day else "") for mm in sorted(months)]
    return [f"{q}{yy}{t}" for q in YEAR_QUOTES for t in tails]


# ------------------------------------------------------------------ key terms
class TermFinder:
    """Noun compounds of an answer, ranked by rarity in the source PDF."""

    def __init__(self) -> None:
        from kiwipiepy import Kiwi

        self._kiwi = Kiwi()

    def nouns(self, text: str) -> list[str]:
        """Runs of adjacent noun morphemes, as written ('지방 교부세' tokens -> '지방교부세' if contiguous)."""
        runs: list[tuple[int, int]] = []
        for tok in self._kiwi.tokenize(text):
            if not tok.tag.startswith(NOUN_TAGS):
                continue
            if runs and runs[-1][1] == tok.start:
                runs[-1] = (runs[-1][0], tok.start + tok.len)
            else:
                runs.append((tok.start, tok.start + tok.len))
        out: list[str] = []
        for start, end in runs:
            term = text[start:end]
            if len(term) >= 2 and term not in STOP_TERMS and term not in out:
                out.append(term)
        return out

    def key_terms(self, answer: str, question: str, pdf_text: str) -> list[str]:
        q = squash(question)
        candidates = [t for t in self.nouns(answer) if squash(t) not in q]
        counted = [(pdf_text.count(squash(t)), t) for t in candidates]
        present = [(n, t) for n, t in counted if n > 0]  # a term the report never uses is a paraphrase
        # Compounds of three or more syllables first (a two-syllable noun is often generic), rarest first.
        present.sort(key=lambda nt: (len(nt[1]) < 3, nt[0], -len(nt[1])))
        return [t for _, t in present[:MAX_TERMS]]


def pdf_text(path: Path) -> str:
    """Squashed text of the whole PDF ('' when it is missing)."""
    if not path.exists():
        return ""
    import pdfplumber

    with pdfplumber.open(path) as pdf:
        return squash("".join(p.extract_text() or "" for p in pdf.pages))


# ------------------------------------------------------------------ conversion
def to_gold(row: DaconRow, finder: TermFinder, text: str) -> GoldItem:
    figs = figures(row.answer, row.question)
    must: list[str] = []
    accept: list[str] = []
    if figs:
        must = figs
        variant = comma_variant(figs[0]) if len(figs) == 1 else None
        accept = ([variant] if variant else []) + date_variants(row.answer, figs)
        skill, source, answer_type = "table_cell", "table", "number"
    else:
        must = finder.key_terms(row.answer, row.question, text)
        skill, source, answer_type = "lookup", "prose", "text"
    return GoldItem(
        id=row.sample_id, question=row.question, answer=row.answer, answer_type=answer_type,
        must_include=must, accept_any=accept, skill=skill, source=source, file=row.file, page=None, evidence="",
    )


def convert(csv_path: Path, pdf_dir: Path | None = None) -> tuple[list[GoldItem], list[str]]:
    """Gold items for every CSV row, and problems (missing PDFs)."""
    rows = read_csv(csv_path)
    pdf_dir = pdf_dir or csv_path.parent
    finder = TermFinder()
    texts: dict[str, str] = {}
    problems: list[str] = []
    items = []
    for row in rows:
        path = (pdf_dir / row.source_path).resolve() if row.source_path.startswith(".") else pdf_dir / row.source_path
        if row.file not in texts:
            texts[row.file] = pdf_text(path)
            if not texts[row.file]:
                problems.append(f"{row.sample_id}: PDF not found or empty: {path}")
        items.append(to_gold(row, finder, texts[row.file]))
    return items, problems


def scorable(item: GoldItem) -> bool:
    return bool(item.must_include or item.accept_any)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m eval.dacon", description=__doc__.split("\n\n")[0])
    ap.add_argument("--csv", type=Path, default=DEFAULT_CSV)
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = ap.parse_args(argv)
    items, problems = convert(args.csv)
    for p in problems:
        print(p, file=sys.stderr)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    save_gold(items, args.out)
    n_fig = sum(1 for it in items if it.skill == "table_cell")
    n_term = sum(1 for it in items if it.skill == "lookup" and scorable(it))
    n_ok = sum(1 for it in items if scorable(it))
    print(f"{len(items)}문항 -> {args.out}: 채점 가능 {n_ok}/{len(items)} ({n_ok / max(1, len(items)):.1%}; "
          f"수치 {n_fig}, 핵심어 {n_term}, 채점 불가 {len(items) - n_ok})")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
