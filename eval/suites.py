"""The question sets and the corpus each is asked over: one place that `make eval-all` and the scorer fit share."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
REALDATA = REPO.parent / "shared" / "realdata"
SHARED_EVAL = REPO.parent / "shared" / "eval"


@dataclass(frozen=True)
class Suite:
    name: str
    golds: tuple[Path, ...]
    corpus: Path
    index_dir: Path
    fit: bool = True  # False: a test set written outside the team, never fitted on

    def available(self) -> bool:
        return self.corpus.is_dir() and all(g.is_file() for g in self.golds)


SUITES = (
    Suite("reports", (REPO / "eval/gold.jsonl", REPO / "eval/questions/reports_a.jsonl",
                      REPO / "eval/questions/reports_b.jsonl"), REPO / "corpus", REPO / "var/index"),
    Suite("busan", (REPO / "eval/questions/busan_a.jsonl", REPO / "eval/questions/busan_b.jsonl"),
          REALDATA / "busan_plans", REPO / "var/index-busan"),
    Suite("dacon", (REPO / "eval/questions/dacon.jsonl",), REALDATA / "dacon_fiscal" / "train_source",
          REPO / "var/index-dacon"),
    Suite("busan_staff", (SHARED_EVAL / "busan_staff_questions.jsonl",), REALDATA / "busan_plans",
          REPO / "var/index-busan", fit=False),
)


def suite(name: str) -> Suite:
    return next(s for s in SUITES if s.name == name)
