"""Gold Q&A set for the customer's reports: loading, validation against the PDFs, page assignment.

The gold set lives in eval/gold.jsonl, one JSON object per line with exactly the fields of
:class:`GoldItem`. Evidence strings are located in the rendered PDFs (corpus/*.pdf) with
pdfplumber, whitespace-insensitively, against ``page.extract_text()`` and the cell texts of
``page.extract_tables()``.

CLI::

    python -m eval.gold_tool validate eval/gold.jsonl --corpus corpus
    python -m eval.gold_tool assign-pages eval/gold.jsonl --corpus corpus [--write]
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from dataclasses import asdict, dataclass, field, fields
from functools import lru_cache
from pathlib import Path
from typing import Any

from ingest.normalize import compact

ANSWER_TYPES = ("number", "date", "text", "list", "unanswerable")
CLASSES = (
    "single_cell", "multi_part", "compare_years", "compare_plans", "superlative_filter",
    "list_count", "prose_fact", "reason", "unanswerable",
)
SKILLS = ("lookup", "table_cell", "compare", "count_list", "unanswerable")
SOURCES = ("table", "prose")
ID_RE = re.compile(r"^g\d{3}-\d{3}$")
EVIDENCE_MIN, EVIDENCE_MAX = 5, 60
MUST_INCLUDE_MAX = 3

# Mix constraints of the gold set (fractions of all items).
MIN_TABLE_CELL = 0.40
MIN_COMPARE = 0.10
MIN_UNANSWERABLE = 0.08
MIN_ITEMS = 150


@dataclass
class GoldItem:
    id: str
    question: str
    answer: str
    answer_type: str
    must_include: list[str]
    accept_any: list[str]
    skill: str
    source: str
    file: str
    page: int | None
    evidence: str
    # Optional: the question class, and for comparisons across two documents the second source.
    klass: str | None = None
    file2: str | None = None
    page2: int | None = None
    evidence2: str | None = None
    # Bookkeeping, never written back: keys present in the JSON line that are not fields,
    # fields that were absent, and the 1-based line number.
    extra_keys: list[str] = field(default_factory=list, compare=False, repr=False)
    missing_keys: list[str] = field(default_factory=list, compare=False, repr=False)
    line: int = field(default=0, compare=False, repr=False)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        for k in ("extra_keys", "missing_keys", "line"):
            d.pop(k)
        klass = d.pop("klass")
        if klass is not None:
            d["class"] = klass
        for k in OPTIONAL_FIELDS:
            if d.get(k) is None:
                d.pop(k, None)
        return d


# "class" is a Python keyword, so the JSON key maps to the attribute `klass`.
OPTIONAL_FIELDS = ("klass", "file2", "page2", "evidence2")
JSON_KEY = {"klass": "class"}
FIELD_NAMES = tuple(
    f.name for f in fields(GoldItem) if f.name not in ("extra_keys", "missing_keys", "line", *OPTIONAL_FIELDS)
)
ALL_KEYS = FIELD_NAMES + tuple(JSON_KEY.get(k, k) for k in OPTIONAL_FIELDS)


def load_gold(path: str | Path) -> list[GoldItem]:
    """Parse a gold JSONL file. Missing/extra keys are recorded on the item for validate()."""
    items: list[GoldItem] = []
    with open(path, encoding="utf-8") as fh:
        for lineno, raw in enumerate(fh, 1):
            if not raw.strip():
                continue
            try:
                obj = json.loads(raw)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}:{lineno}: invalid JSON: {exc}") from exc
            if not isinstance(obj, dict):
                # A bad line is a bad value of the file: callers handle every format error as ValueError.
                raise ValueError(f"{path}:{lineno}: expected a JSON object")  # noqa: TRY004
            kwargs = {name: obj.get(JSON_KEY.get(name, name)) for name in FIELD_NAMES + OPTIONAL_FIELDS}
            item = GoldItem(**kwargs)
            item.missing_keys = [n for n in FIELD_NAMES if n not in obj]
            item.extra_keys = sorted(k for k in obj if k not in ALL_KEYS)
            item.line = lineno
            items.append(item)
    return items


def save_gold(items: list[GoldItem], path: str | Path) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        fh.writelines(json.dumps(it.to_dict(), ensure_ascii=False) + "\n" for it in items)


# ---------------------------------------------------------------------------------------------
# PDF text access


def squash(text: str) -> str:
    """Normalization used for all evidence matching: the product's one normalizer (NFKC, no whitespace)."""
    return compact(text)


@lru_cache(maxsize=16)
def _pdf_pages(path: str, mtime: float) -> tuple[tuple[str, ...], int]:
    """Squashed extract_text() of every page (tables are read lazily, see _page_cells)."""
    import pdfplumber

    with pdfplumber.open(path) as pdf:
        texts = tuple(squash(p.extract_text() or "") for p in pdf.pages)
    return texts, len(texts)


@lru_cache(maxsize=4096)
def _page_cells(path: str, mtime: float, page_no: int) -> tuple[str, ...]:
    """Squashed cell texts and row texts (cells joined) of the tables on one page (1-based)."""
    import pdfplumber

    out: list[str] = []
    with pdfplumber.open(path) as pdf:
        page = pdf.pages[page_no - 1]
        for table in page.extract_tables() or []:
            for row in table:
                cells = [squash(c) for c in row if c]
                out.extend(cells)
                out.append("".join(cells))
    return tuple(out)


class Corpus:
    """Page texts of the PDFs in one corpus directory."""

    def __init__(self, corpus_dir: str | Path):
        self.dir = Path(corpus_dir)

    def files(self) -> list[str]:
        return sorted(p.name for p in self.dir.glob("*.pdf")) if self.dir.is_dir() else []

    def _key(self, file: str) -> tuple[str, float]:
        p = self.dir / file
        return str(p), p.stat().st_mtime

    def n_pages(self, file: str) -> int:
        return _pdf_pages(*self._key(file))[1]

    def on_page(self, file: str, page: int, evidence: str) -> bool:
        needle = squash(evidence)
        if not needle:
            return False
        path, mtime = self._key(file)
        texts, n = _pdf_pages(path, mtime)
        if not 1 <= page <= n:
            return False
        if needle in texts[page - 1]:
            return True
        return any(needle in cell for cell in _page_cells(path, mtime, page))

    def find_pages(self, file: str, evidence: str) -> list[int]:
        """1-based pages whose extract_text() contains the evidence; only when no page text
        does, pages whose table cells contain it (table extraction is slow, so it is the
        fallback)."""
        needle = squash(evidence)
        if not needle:
            return []
        path, mtime = self._key(file)
        texts, n = _pdf_pages(path, mtime)
        hits = [i + 1 for i, t in enumerate(texts) if needle in t]
        if hits:
            return hits
        return [p for p in range(1, n + 1) if any(needle in c for c in _page_cells(path, mtime, p))]


# ---------------------------------------------------------------------------------------------
# Validation


def _is_str_list(v: Any) -> bool:
    return isinstance(v, list) and all(isinstance(s, str) for s in v)


def _types_ok(it: GoldItem) -> bool:
    """True when the item is complete enough for the PDF checks."""
    return (
        not it.missing_keys
        and isinstance(it.id, str)
        and isinstance(it.file, str)
        and isinstance(it.evidence, str)
        and isinstance(it.skill, str)
        and (it.page is None or (isinstance(it.page, int) and not isinstance(it.page, bool)))
    )


def validate_fields(it: GoldItem) -> list[str]:
    """Checks that need no PDF."""
    where = f"{it.id or '?'} (line {it.line})"
    probs: list[str] = []
    for k in it.missing_keys:
        probs.append(f"{where}: missing field '{k}'")
    for k in it.extra_keys:
        probs.append(f"{where}: unknown field '{k}'")
    if it.missing_keys:
        return probs

    if not isinstance(it.id, str) or not ID_RE.match(it.id):
        probs.append(f"{where}: id must look like 'g000-012'")
    for name in ("question", "answer"):
        v = getattr(it, name)
        if not isinstance(v, str) or not v.strip():
            probs.append(f"{where}: '{name}' must be a non-empty string")
    if it.answer_type not in ANSWER_TYPES:
        probs.append(f"{where}: answer_type {it.answer_type!r} not in {ANSWER_TYPES}")
    if it.skill not in SKILLS:
        probs.append(f"{where}: skill {it.skill!r} not in {SKILLS}")
    if it.source not in SOURCES:
        probs.append(f"{where}: source {it.source!r} not in {SOURCES}")
    if not _is_str_list(it.must_include):
        probs.append(f"{where}: must_include must be a list of strings")
    if not _is_str_list(it.accept_any):
        probs.append(f"{where}: accept_any must be a list of strings")
    if not isinstance(it.file, str):
        probs.append(f"{where}: file must be a string")
    if it.page is not None and (not isinstance(it.page, int) or isinstance(it.page, bool)):
        probs.append(f"{where}: page must be an integer or null")
    if not isinstance(it.evidence, str):
        probs.append(f"{where}: evidence must be a string")
    if probs:
        return probs

    if it.klass is not None and it.klass not in CLASSES:
        probs.append(f"{where}: class {it.klass!r} not in {CLASSES}")
    if it.klass == "unanswerable" and it.skill != "unanswerable":
        probs.append(f"{where}: class 'unanswerable' needs skill 'unanswerable'")
    if (it.file2 is None) != (it.evidence2 is None) or (it.file2 is None) != (it.page2 is None):
        probs.append(f"{where}: file2, page2 and evidence2 go together")
    unans = it.skill == "unanswerable" or it.answer_type == "unanswerable"
    if unans:
        if it.skill != "unanswerable" or it.answer_type != "unanswerable":
            probs.append(f"{where}: skill and answer_type must both be 'unanswerable'")
        if it.must_include:
            probs.append(f"{where}: unanswerable item must have empty must_include")
        if it.page is not None:
            probs.append(f"{where}: unanswerable item must have page null")
        if it.evidence:
            probs.append(f"{where}: unanswerable item must have empty evidence")
        return probs

    if not 1 <= len(it.must_include) <= MUST_INCLUDE_MAX:
        probs.append(f"{where}: must_include needs 1-{MUST_INCLUDE_MAX} strings")
    if any(not s.strip() for s in it.must_include + it.accept_any):
        probs.append(f"{where}: empty string in must_include/accept_any")
    ans = squash(it.answer)
    for s in it.must_include:
        if squash(s) not in ans:
            probs.append(f"{where}: must_include {s!r} does not occur in the answer")
    if it.skill == "table_cell" and it.source != "table":
        probs.append(f"{where}: table_cell items must have source 'table'")
    if not it.file:
        probs.append(f"{where}: answerable item needs a file")
    if not EVIDENCE_MIN <= len(it.evidence) <= EVIDENCE_MAX:
        probs.append(f"{where}: evidence must be {EVIDENCE_MIN}-{EVIDENCE_MAX} chars (is {len(it.evidence)})")
    if it.page is None:
        probs.append(f"{where}: answerable item needs a page")
    return probs


def validate(items: list[GoldItem], corpus_dir: str | Path) -> list[str]:
    """All problems of a gold set: fields, enums, duplicate ids, files, pages and evidence."""
    probs: list[str] = []
    corpus = Corpus(corpus_dir)
    known = set(corpus.files())
    seen: Counter[str] = Counter(it.id for it in items if isinstance(it.id, str))
    for dup, n in sorted(seen.items()):
        if n > 1:
            probs.append(f"duplicate id {dup} ({n} times)")

    for it in items:
        probs.extend(validate_fields(it))
        if not _types_ok(it):
            continue
        where = f"{it.id} (line {it.line})"
        if it.file and it.file not in known:
            probs.append(f"{where}: unknown file {it.file!r} (not a PDF in {corpus_dir})")
            continue
        if it.skill == "unanswerable" or not it.file or it.page is None:
            continue
        probs.extend(_evidence_problems(corpus, where, it.file, it.page, it.evidence))
        if it.file2 is None:
            continue
        if it.file2 not in known:
            probs.append(f"{where}: unknown file2 {it.file2!r} (not a PDF in {corpus_dir})")
            continue
        probs.extend(_evidence_problems(corpus, where, it.file2, it.page2, it.evidence2))
    return probs


def _evidence_problems(corpus: Corpus, where: str, file: str, page: int | None, evidence: str | None) -> list[str]:
    """Evidence must sit on the stated page, and on that page only."""
    if not isinstance(page, int) or not isinstance(evidence, str):
        return [f"{where}: page and evidence of {file} must be an integer and a string"]
    n = corpus.n_pages(file)
    if not 1 <= page <= n:
        return [f"{where}: page {page} out of range 1..{n} for {file}"]
    pages = corpus.find_pages(file, evidence)
    if not corpus.on_page(file, page, evidence):
        hint = f" (found on pages {pages})" if pages else " (not found anywhere in the file)"
        return [f"{where}: evidence {evidence!r} not on page {page} of {file}{hint}"]
    if len(pages) > 1:
        return [f"{where}: evidence {evidence!r} is ambiguous, found on pages {pages}"]
    return []


def assign_pages(items: list[GoldItem], corpus_dir: str | Path) -> list[str]:
    """Fill `page` of every answerable item from its evidence. Returns problems: evidence not
    found, or found on several pages (then the page is left unchanged and the evidence must be
    made more specific)."""
    corpus = Corpus(corpus_dir)
    known = set(corpus.files())
    probs: list[str] = []
    for it in items:
        if it.skill == "unanswerable":
            it.page = None
            continue
        if it.file not in known:
            probs.append(f"{it.id}: unknown file {it.file!r}")
            continue
        pages = corpus.find_pages(it.file, it.evidence)
        if len(pages) == 1:
            it.page = pages[0]
        elif not pages:
            probs.append(f"{it.id}: evidence {it.evidence!r} not found in {it.file}")
        else:
            probs.append(f"{it.id}: evidence {it.evidence!r} found on several pages {pages} of {it.file}")
    return probs


# ---------------------------------------------------------------------------------------------
# Mix


def mix(items: list[GoldItem]) -> dict[str, Counter]:
    return {
        "skill": Counter(it.skill for it in items),
        "source": Counter(it.source for it in items),
        "file": Counter(it.file for it in items),
        "answer_type": Counter(it.answer_type for it in items),
        "table_cell_file": Counter(it.file for it in items if it.skill == "table_cell"),
    }


def check_mix(items: list[GoldItem], expected_files: list[str] | None = None) -> list[str]:
    """Mix constraints: >=40% table cells (in every report), >=10% compare, >=8% unanswerable."""
    n = len(items)
    if n == 0:
        return ["gold set is empty"]
    m = mix(items)
    probs = []
    for skill, lo in (("table_cell", MIN_TABLE_CELL), ("compare", MIN_COMPARE), ("unanswerable", MIN_UNANSWERABLE)):
        share = m["skill"][skill] / n
        if share < lo:
            probs.append(f"mix: {skill} is {share:.1%} of items, needs >= {lo:.0%}")
    bad_source = [it.id for it in items if it.skill == "table_cell" and it.source != "table"]
    if bad_source:
        probs.append(f"mix: table_cell items without source 'table': {bad_source}")
    files = expected_files if expected_files is not None else sorted({it.file for it in items if it.file})
    for f in files:
        if m["table_cell_file"][f] == 0:
            probs.append(f"mix: no table_cell item for {f}")
    return probs


def format_mix(items: list[GoldItem]) -> str:
    n = len(items) or 1
    m = mix(items)
    lines = [f"items: {len(items)}"]
    for key in ("skill", "source", "answer_type", "file", "table_cell_file"):
        lines.append(f"{key}:")
        for name, c in sorted(m[key].items(), key=lambda kv: (-kv[1], kv[0])):
            denom = n if key != "table_cell_file" else (m["skill"]["table_cell"] or 1)
            lines.append(f"  {name or '(none)':<40} {c:4d}  {c / denom:6.1%}")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# CLI


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m eval.gold_tool", description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    v = sub.add_parser("validate", help="check a gold file against the corpus PDFs")
    v.add_argument("gold")
    v.add_argument("--corpus", default="corpus")
    a = sub.add_parser("assign-pages", help="fill `page` from `evidence`")
    a.add_argument("gold")
    a.add_argument("--corpus", default="corpus")
    a.add_argument("--write", action="store_true", help="write the pages back into the gold file")
    args = ap.parse_args(argv)

    items = load_gold(args.gold)
    if args.cmd == "validate":
        classed = bool(items) and all(it.klass for it in items)
        # Class-labelled question sets have their own per-class quotas; the skill mix is gold.jsonl's rule.
        probs = validate(items, args.corpus) + ([] if classed else check_mix(items))
        for p in probs:
            print(p)
        print(format_mix(items))
        if classed:
            print("class:")
            for name, c in sorted(Counter(it.klass for it in items).items(), key=lambda kv: -kv[1]):
                print(f"  {name:<40} {c:4d}")
        print(f"problems: {len(probs)}")
        return 1 if probs else 0

    probs = assign_pages(items, args.corpus)
    for p in probs:
        print(p)
    if args.write:
        save_gold(items, args.gold)
        print(f"wrote {args.gold}")
    print(f"problems: {len(probs)}")
    return 1 if probs else 0


if __name__ == "__main__":
    sys.exit(main())
