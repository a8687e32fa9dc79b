"""The question sets of the answer-engine work: fields, class quotas, unique ids, the split rule, and
(slow) evidence on the stated page of the real PDFs."""
from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from eval.gold_tool import CLASSES, load_gold, validate, validate_fields
from eval.splits import split_of

REPO = Path(__file__).resolve().parent.parent
QUESTIONS = REPO / "eval" / "questions"
REALDATA = REPO.parent / "shared" / "realdata"
SETS = {
    "reports_a.jsonl": REPO / "corpus",
    "reports_b.jsonl": REPO / "corpus",
    "busan_a.jsonl": REALDATA / "busan_plans",
    "busan_b.jsonl": REALDATA / "busan_plans",
    "dacon.jsonl": REALDATA / "dacon_fiscal" / "train_source",
}
# Written without seeing the engine and never fitted on (eval/heldout/README.md): checked like the sets above,
# but outside their quotas.
HELDOUT = {
    "reports_c.jsonl": REPO / "corpus",
    "busan_c.jsonl": REALDATA / "busan_plans",
    "dacon_c.jsonl": REALDATA / "dacon_fiscal" / "train_source",
}
CORPUS_OF = {**SETS, **HELDOUT}
BUSAN = REALDATA / "busan_plans"
# Per-class minimums the answer-engine issue asked for, over all new sets together.
MINIMUMS = {"single_cell": 60, "multi_part": 60, "compare_years": 30, "compare_plans": 30, "superlative_filter": 30,
            "list_count": 40, "prose_fact": 60, "reason": 30, "unanswerable": 40}
# The Busan plans the customer keeps unseen: no question may come from them.
HELD_OUT = ("관광마이스국", "교통혁신국", "기획조정실", "문화체육국", "사회복지국", "상수도사업본부", "시민건강국",
            "여성가족국", "주택건축국", "첨단산업국", "해양농수산국", "환경물정책실")


@pytest.fixture(scope="module")
def items():
    return {name: load_gold(QUESTIONS / name) for name in SETS}


@pytest.fixture(scope="module")
def every_set(items):
    """The fitted sets and the held-out ones, by file name."""
    return {**items, **{name: load_gold(REPO / "eval" / "heldout" / name) for name in HELDOUT}}


def test_fields_and_classes(every_set):
    problems = [p for its in every_set.values() for it in its for p in validate_fields(it)]
    assert not problems, "\n".join(problems[:20])
    assert all(it.klass in CLASSES for its in every_set.values() for it in its)


def test_class_quotas_and_size(items):
    every = [it for its in items.values() for it in its]
    counts = Counter(it.klass for it in every)
    assert len(every) >= 400
    assert all(counts[k] >= n for k, n in MINIMUMS.items()), counts


def test_ids_are_unique_across_sets(every_set):
    ids = Counter(it.id for its in every_set.values() for it in its)
    ids.update(it.id for it in load_gold(REPO / "eval" / "gold.jsonl"))
    assert [i for i, n in ids.items() if n > 1] == []


def test_no_question_comes_from_a_held_out_plan(every_set):
    files = {f for name, corpus in CORPUS_OF.items() if corpus == BUSAN for it in every_set[name]
             for f in (it.file, it.file2) if f}
    assert not [f for f in files if any(org in f for org in HELD_OUT)]


def test_every_split_holds_every_class(items):
    every = [it for its in items.values() for it in its]
    for split in ("train", "dev", "test"):
        classes = {it.klass for it in every if split_of(it.id) == split}
        assert classes == set(MINIMUMS), split


# The Busan sets are checked the same way by `python -m eval.gold_tool validate` (minutes per 70-page plan).
@pytest.mark.parametrize("name", [name for name, corpus in CORPUS_OF.items() if corpus != BUSAN])
def test_evidence_is_on_the_stated_page(every_set, name):
    corpus = CORPUS_OF[name]
    if not corpus.is_dir():
        pytest.skip(f"{corpus} absent")
    problems = validate(every_set[name], corpus)
    assert not problems, "\n".join(problems[:20])
