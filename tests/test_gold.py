"""The gold Q&A set (eval/gold.jsonl): schema, mix, and evidence located in the corpus PDFs."""
from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from eval.gold_tool import (
    MIN_COMPARE,
    MIN_ITEMS,
    MIN_TABLE_CELL,
    MIN_UNANSWERABLE,
    check_mix,
    load_gold,
    validate,
    validate_fields,
)

REPO = Path(__file__).resolve().parent.parent
GOLD = REPO / "eval" / "gold.jsonl"
CORPUS = REPO / "corpus"
REPORTS = [
    "2025_서울시재단_주요업무보고.pdf",
    "2024_서울디지털재단_주요업무보고.pdf",
    "2025_디지털도시국_주요업무보고.pdf",
    "2020_서울디지털재단_주요업무보고.pdf",
    "2024_디지털정책관_예산안검토보고.pdf",
]


@pytest.fixture(scope="module")
def items():
    return load_gold(GOLD)


def test_size(items):
    assert len(items) >= MIN_ITEMS


def test_fields_and_ids(items):
    problems = [p for it in items for p in validate_fields(it)]
    dups = [i for i, n in Counter(it.id for it in items).items() if n > 1]
    assert not problems, "\n".join(problems)
    assert not dups, f"duplicate ids: {dups}"


def test_files_are_the_five_reports(items):
    unknown = {it.file for it in items} - set(REPORTS) - {""}
    assert not unknown, unknown
    assert all(it.file or it.skill == "unanswerable" for it in items)


def test_mix(items):
    n = len(items)
    skills = Counter(it.skill for it in items)
    assert skills["table_cell"] / n >= MIN_TABLE_CELL
    assert skills["compare"] / n >= MIN_COMPARE
    assert skills["unanswerable"] / n >= MIN_UNANSWERABLE
    assert all(it.source == "table" for it in items if it.skill == "table_cell")
    per_file = Counter(it.file for it in items if it.skill == "table_cell")
    assert all(per_file[f] > 0 for f in REPORTS), per_file
    assert check_mix(items, REPORTS) == []


def test_unanswerable_items(items):
    for it in items:
        if it.skill == "unanswerable":
            assert it.answer_type == "unanswerable" and it.must_include == [] and it.page is None and it.evidence == ""


def test_evidence_on_page(items):
    if not all((CORPUS / f).is_file() for f in REPORTS):
        pytest.skip("corpus PDFs not built")
    problems = validate(items, CORPUS)
    assert not problems, "\n".join(problems)
