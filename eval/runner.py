"""Run gold sets through the engine exactly as `docqa ask` does, score them, and write the results.

`docqa eval --gold FILE [--gold FILE2 ...] [--split train|dev|test|all] [--index-dir DIR] [--out results.jsonl]
[--report DIR] [--limit N]` calls :func:`run_eval`. Any gold file in the eval/gold_tool format works, so does
any corpus: index it with `docqa index --corpus DIR --index-dir DIR2`, then evaluate with `--index-dir DIR2`.
Beside the engine every item is also answered by the top-passage baseline, built from the same search hits.
"""
from __future__ import annotations

import json
import time
from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Protocol, TextIO

from app.models import ABSTAIN_TEXT, Answer, Citation, SearchHit

from .fmt import (
    BASELINE_NOTE,
    engine_checks,
    group_label,
    metrics_header,
    metrics_row,
    pct,
    worth_showing,
)
from .gold_tool import GoldItem, load_gold
from .metrics import (
    CITATION_TOP,
    MAX_ANSWER_CHARS,
    EvalSummary,
    ItemRecord,
    Location,
    summarize,
)
from .splits import ALL, SPLITS, split_of

SEARCH_K = 10
MAX_FILE_ROWS = 8  # beyond this the terminal summary points to report.md


class EngineLike(Protocol):
    def ask(self, question: str) -> Answer: ...

    def search(self, query: str, k: int = 10) -> list[SearchHit]: ...


class EvalSetupError(Exception):
    """The run cannot start: a gold file is missing or unreadable, or the split is unknown."""


# ------------------------------------------------------------------ terminal summary
def summary_text(summary: EvalSummary) -> str:
    """Compact engine-vs-baseline table for the terminal."""
    e, b = summary.engine, summary.baseline
    o = e.overall
    scope = "" if summary.split == ALL else f" [{summary.split}]"
    lines = [
        f"정답셋 {', '.join(summary.gold_paths)}{scope}: {summary.n_items}문항, 채점 {o.n_scored}문항, "
        f"{summary.seconds:.1f}초" + (f", 오류 {o.n_errors}건" if o.n_errors else ""),
        BASELINE_NOTE,
        metrics_header(),
        metrics_row("전체 (all)", o, b.overall),
    ]
    for grouping, groups in e.groups.items():
        if not worth_showing(groups):
            continue
        if grouping == "file" and len(groups) > MAX_FILE_ROWS:
            lines.append(f"문서별 {len(groups)}개: report.md 참조 (per-document table in report.md)")
            continue
        lines += [metrics_row(f"{grouping} {group_label(grouping, k)}", m, b.groups[grouping][k])
                  for k, m in groups.items()]
    lines.append(
        f"기권 (abstention): 정밀도 precision {pct(o.abstain_precision)}, 재현율 recall {pct(o.abstain_recall)} "
        f"(기권 {o.n_abstained}건 / 답할 수 없는 문항 {o.n_unanswerable}건)"
    )
    lines += [f"{label}: {value}" for label, value in engine_checks(o)]
    if o.n_retrieval_by_file:
        lines.append(f"검색·인용: 쪽 번호 없는 {o.n_retrieval_by_file}문항은 파일만 맞으면 적중으로 셉니다 (file-level match)")
    return "\n".join(lines)


# ------------------------------------------------------------------ gold items -> records
def _str_list(v: object) -> list[str]:
    return [s for s in v if isinstance(s, str) and s.strip()] if isinstance(v, list) else []


def _page(v: object) -> int | None:
    return v if isinstance(v, int) and not isinstance(v, bool) else None


def is_answerable(item: GoldItem) -> bool:
    return item.skill != "unanswerable" and item.answer_type != "unanswerable"


def record_id(item: GoldItem) -> str:
    return item.id or f"line-{item.line}"


def new_record(item: GoldItem) -> ItemRecord:
    """A record with the gold side filled in; optional gold fields may be missing (None)."""
    answerable = is_answerable(item)
    rid = record_id(item)
    return ItemRecord(
        id=rid,
        question=item.question or "",
        skill=item.skill or ("unanswerable" if not answerable else "unknown"),
        source=item.source or "unknown",
        file=item.file or "",
        page=_page(item.page),
        answerable=answerable,
        must_include=_str_list(item.must_include),
        accept_any=_str_list(item.accept_any),
        gold_answer=item.answer or "",
        answer="",
        abstained=False,
        klass=item.klass or "",
        split=split_of(rid),
        answer_type=item.answer_type or "",
        file2=item.file2 or "",
        page2=_page(item.page2),
    )


def check_gold_files(gold_paths: Sequence[Path]) -> None:
    missing = [str(p) for p in gold_paths if not p.is_file()]
    if missing:
        raise EvalSetupError(f"정답셋 파일이 없습니다 (gold file not found): {', '.join(missing)}")


def load_items(gold_paths: Sequence[Path], split: str = ALL) -> list[GoldItem]:
    """Items of all gold files, in file order, restricted to one split unless `split` is "all"."""
    if split not in (*SPLITS, ALL):
        raise EvalSetupError(f"알 수 없는 분할입니다 (unknown split): {split}")
    check_gold_files(gold_paths)
    try:
        items = [it for p in gold_paths for it in load_gold(p)]
    except ValueError as exc:
        raise EvalSetupError(f"정답셋을 읽을 수 없습니다 (unreadable gold file): {exc}") from exc
    return items if split == ALL else [it for it in items if split_of(record_id(it)) == split]


# ------------------------------------------------------------------ one item
def _citation_location(c: Citation) -> Location:
    return Location(c.file, c.page)


def _ms_since(start: float) -> float:
    return round((time.perf_counter() - start) * 1000, 1)


def ask_one(engine: EngineLike, rec: ItemRecord) -> Answer:
    """engine.ask, with an item failure recorded instead of ending the whole run."""
    start = time.perf_counter()
    try:
        return engine.ask(rec.question)
    except ImportError:
        raise  # a missing module is a setup problem, not an item failure
    except Exception as exc:  # noqa: BLE001 - one bad item must not lose the other results
        rec.error = f"{type(exc).__name__}: {exc}"
        return Answer(question=rec.question, answer=f"오류: {rec.error}", abstained=False, latency_ms=_ms_since(start))


def search_one(engine: EngineLike, rec: ItemRecord) -> list[SearchHit]:
    """engine.search, timed (it is the baseline's whole cost); a failure leaves no hits."""
    start = time.perf_counter()
    try:
        hits = engine.search(rec.question, k=SEARCH_K)
    except ImportError:
        raise
    except Exception as exc:  # noqa: BLE001
        rec.search_error = f"{type(exc).__name__}: {exc}"
        hits = []
    rec.search_latency_ms = _ms_since(start)
    return hits


def apply_baseline(rec: ItemRecord, hits: Sequence[SearchHit]) -> None:
    """What retrieval alone would answer: the top passage, cut to the longest answer that can score."""
    if not hits:
        rec.baseline_answer, rec.baseline_abstained, rec.baseline_citations = ABSTAIN_TEXT, True, []
        return
    rec.baseline_answer, rec.baseline_abstained = hits[0].text[:MAX_ANSWER_CHARS], False
    rec.baseline_citations = [Location(h.file, h.page) for h in hits[:CITATION_TOP]]


def evaluate_item(engine: EngineLike, rec: ItemRecord) -> Answer:
    answer = ask_one(engine, rec)
    rec.answer, rec.abstained, rec.latency_ms = answer.answer, answer.abstained, answer.latency_ms
    rec.citations = [_citation_location(c) for c in answer.citations]
    hits = search_one(engine, rec)
    rec.hits = [Location(h.file, h.page) for h in hits]
    apply_baseline(rec, hits)
    return answer


def result_line(rec: ItemRecord, answer: Answer) -> str:
    """The `docqa ask --json` object plus the gold id."""
    return json.dumps({"id": rec.id, **json.loads(answer.model_dump_json())}, ensure_ascii=False)


# ------------------------------------------------------------------ the run
def _results_file(out_path: Path | None) -> AbstractContextManager[TextIO | None]:
    if out_path is None:
        return nullcontext()
    out_path.parent.mkdir(parents=True, exist_ok=True)
    return open(out_path, "w", encoding="utf-8")


def run_eval(
    engine: EngineLike,
    gold_paths: Sequence[Path],
    out_path: Path | None,
    report_dir: Path | None,
    limit: int | None = None,
    progress: bool = True,
    split: str = ALL,
) -> EvalSummary:
    """Ask every gold question of the split, score engine and baseline, write results.jsonl and the report."""
    from tqdm import tqdm

    items = load_items(gold_paths, split)
    if limit is not None:
        items = items[:limit]
    records = [new_record(it) for it in items]
    start = time.perf_counter()
    with _results_file(out_path) as out:
        for rec in tqdm(records, desc="평가 (eval)", unit="문항", disable=not progress):
            answer = evaluate_item(engine, rec)
            if out is not None:
                out.write(result_line(rec, answer) + "\n")
                out.flush()  # a long run that is interrupted still leaves its results
    summary = summarize(records, [str(p) for p in gold_paths], split, time.perf_counter() - start)
    if report_dir is not None:
        from .report import write_report

        write_report(summary, report_dir)
    return summary
