"""Table benchmark: hand-checked (row header path, column header path, value) triples vs. the extractor.

Usage: python -m eval.table_bench [--bench eval/tables/bench.jsonl] [--realdata DIR] [--tables]

Matching rules (docs/evaluation.md):

* A value matches when both sides agree after ``compact`` (whitespace-free NFKC); printed figures
  compare as numbers ("△6,222" == "-6222"), keeping a "%" sign.
* A header path matches when the predicted label, with whitespace and punctuation dropped, equals the
  gold levels joined in order, with any upper levels left out as long as the leaf stays and the
  shortened path still names exactly one row (or column) of that gold table. So "지출액" alone does
  not match "집행액 > 지출액" when "집행률 > 지출액" exists, and junk added to a label never matches.
  A gold row path of [] (a one-row table without row labels) matches any row label.
* Each gold table is compared with the extracted tables of its page that share most of their values
  with it; precision counts every triple of those tables, recall every gold triple.
"""
from __future__ import annotations

import argparse
import json
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path

from ingest.models import Table
from ingest.normalize import compact, number_value
from ingest.pdf_reader import read_pdf
from ingest.structure import structure, table_key

REPO = Path(__file__).resolve().parent.parent
BENCH = REPO / "eval" / "tables" / "bench.jsonl"
REALDATA = REPO.parent / "shared" / "realdata"
SOURCES = ("busan", "002", "004", "dacon")
MIN_SHARE = 0.3  # an extracted table belongs to a gold table when this share of its values is in it

Path_ = tuple[str, ...]
Triple = tuple[Path_, Path_, str]


@dataclass(frozen=True)
class GoldTable:
    id: str
    source: str
    file: str  # "corpus/..." (repo) or a path under the real-data folder
    page: int
    locator: str
    triples: tuple[Triple, ...]
    held_out: bool = False  # written after the extractor fixes and never used to tune them


@dataclass
class Score:
    tp: int = 0
    pred: int = 0
    gold: int = 0

    def add(self, other: Score) -> None:
        self.tp += other.tp
        self.pred += other.pred
        self.gold += other.gold

    @property
    def precision(self) -> float:
        return self.tp / self.pred if self.pred else 0.0

    @property
    def recall(self) -> float:
        return self.tp / self.gold if self.gold else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def load_bench(path: Path = BENCH) -> list[GoldTable]:
    tables = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        d = json.loads(line)
        triples = tuple((tuple(r), tuple(c), v) for r, c, v in d["triples"])
        tables.append(GoldTable(d["id"], d["source"], d["file"], d["page"], d["locator"], triples,
                                d.get("held_out", False)))
    return tables


def norm_label(text: str) -> str:
    """Header identity: letters, digits, Hangul and the signs that change meaning (%, parentheses, ~)."""
    text = unicodedata.normalize("NFKC", text or "")
    return "".join(ch for ch in text if ch.isalnum() or ch in "%()~").lower()


def norm_value(text: str) -> str:
    c = compact(text)
    number = number_value(c)
    if number is None:
        return c
    return f"{number:g}" + ("%" if c.endswith("%") else "")


def _spellings(path: Path_) -> set[str]:
    """Every way to name a header path: the leaf with any subset of its ancestors, in order."""
    if not path:
        return set()
    *upper, leaf = path
    out = set()
    for k in range(len(upper) + 1):
        for kept in combinations(upper, k):
            out.add(norm_label("".join((*kept, leaf))))
    return out


class HeaderIndex:
    """Which gold path a predicted label names, on one axis (rows or columns) of one gold table."""

    def __init__(self, paths: Iterable[Path_]):
        distinct = set(paths)
        owners: dict[str, set[Path_]] = defaultdict(set)
        for p in distinct:
            for s in _spellings(p):
                owners[s].add(p)
        self._unique = {s: next(iter(ps)) for s, ps in owners.items() if len(ps) == 1}
        self._full = {norm_label("".join(p)): p for p in distinct}

    def names(self, label: str, path: Path_) -> bool:
        if not path:
            return True
        key = norm_label(label)
        return self._full.get(key) == path or self._unique.get(key) == path


def table_triples(table: Table) -> list[tuple[str, str, str]]:
    """(row label, column label, value) of every filled cell of an extracted table."""
    out = []
    for row in table.rows:
        for col, value in table.cells(row):
            if value.strip():
                out.append((row.header, col, value))
    return out


def score_table(gold: GoldTable, predicted: Sequence[tuple[str, str, str]]) -> Score:
    rows = HeaderIndex(r for r, _, _ in gold.triples if r)
    cols = HeaderIndex(c for _, c, _ in gold.triples)
    open_gold: dict[str, list[Triple]] = defaultdict(list)
    for t in gold.triples:
        open_gold[norm_value(t[2])].append(t)
    tp = 0
    for row, col, value in predicted:
        candidates = open_gold.get(norm_value(value), [])
        for i, (grow, gcol, _) in enumerate(candidates):
            if rows.names(row, grow) and cols.names(col, gcol):
                candidates.pop(i)
                tp += 1
                break
    return Score(tp, len(predicted), len(gold.triples))


def assign(golds: Sequence[GoldTable], tables: Sequence[Table]) -> dict[str, list[Table]]:
    """Extracted tables of a page -> the gold table sharing most values with each (if enough)."""
    out: dict[str, list[Table]] = {g.id: [] for g in golds}
    gold_values = {g.id: Counter(norm_value(v) for _, _, v in g.triples) for g in golds}
    for table in tables:
        values = Counter(norm_value(v) for _, _, v in table_triples(table))
        if not values:
            continue
        best, shared, overlap = None, 0, 0.0
        for g in golds:
            n = sum((values & gold_values[g.id]).values())
            # Two tables of one page may repeat a row (a total); the closer fit in size wins.
            jaccard = n / sum((values | gold_values[g.id]).values())
            if jaccard > overlap:
                best, shared, overlap = g.id, n, jaccard
        if best and shared >= MIN_SHARE * sum(values.values()):
            out[best].append(table)
    return out


def resolve(file: str, realdata: Path) -> Path:
    return REPO / file if file.startswith("corpus/") else realdata / file


def extract_pages(path: Path, pages: set[int]) -> dict[int, list[Table]]:
    blocks, _ = read_pdf(path, pages=pages)
    by_page: dict[int, list[Table]] = defaultdict(list)
    for table in structure(blocks, table_key(path.name)).tables:
        by_page[table.page or 0].append(table)
    return by_page


def run(golds: Sequence[GoldTable], realdata: Path = REALDATA) -> dict[str, Score]:
    """Score per gold table id (missing files are skipped)."""
    by_file: dict[str, list[GoldTable]] = defaultdict(list)
    for g in golds:
        by_file[g.file].append(g)
    scores: dict[str, Score] = {}
    for file, items in by_file.items():
        path = resolve(file, realdata)
        if not path.exists():
            continue
        extracted = extract_pages(path, {g.page for g in items})
        for page in {g.page for g in items}:
            on_page = [g for g in items if g.page == page]
            mine = assign(on_page, extracted.get(page, []))
            for g in on_page:
                predicted = [t for table in mine[g.id] for t in table_triples(table)]
                scores[g.id] = score_table(g, predicted)
    return scores


def by_source(golds: Sequence[GoldTable], scores: dict[str, Score]) -> dict[str, Score]:
    totals: dict[str, Score] = {}
    for g in golds:
        if g.id in scores:
            totals.setdefault(g.source, Score()).add(scores[g.id])
            totals.setdefault("all", Score()).add(scores[g.id])
            if g.held_out:
                totals.setdefault("held-out", Score()).add(scores[g.id])
    return totals


def report(golds: Sequence[GoldTable], scores: dict[str, Score], per_table: bool = False) -> str:
    lines = [f"{'source':8} {'tables':>6} {'cells':>6} {'P':>6} {'R':>6} {'F1':>6}"]
    counts = Counter(g.source for g in golds if g.id in scores)
    counts["all"] = sum(counts.values())
    counts["held-out"] = sum(1 for g in golds if g.id in scores and g.held_out)
    totals = by_source(golds, scores)
    for name in [*SOURCES, "all", "held-out"]:
        s = totals.get(name)
        if s:
            n = counts[name]
            lines.append(f"{name:8} {n:>6} {s.gold:>6} {s.precision:6.3f} {s.recall:6.3f} {s.f1:6.3f}")
    if per_table:
        lines.append("")
        for g in sorted((g for g in golds if g.id in scores), key=lambda g: scores[g.id].f1):
            s = scores[g.id]
            lines.append(f"{g.id:10} F1 {s.f1:5.3f} P {s.precision:5.3f} R {s.recall:5.3f}  "
                         f"{Path(g.file).name} p{g.page} {g.locator}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description="Table benchmark: cell precision/recall per source")
    ap.add_argument("--bench", type=Path, default=BENCH)
    ap.add_argument("--realdata", type=Path, default=REALDATA)
    ap.add_argument("--tables", action="store_true", help="also list every table, worst first")
    args = ap.parse_args(argv)
    golds = load_bench(args.bench)
    scores = run(golds, args.realdata)
    print(report(golds, scores, args.tables))
    missing = len(golds) - len(scores)
    if missing:
        print(f"\n{missing} gold tables skipped (file not found under {args.realdata})")


if __name__ == "__main__":
    main()
