"""Run a gold set through the engine exactly as `docqa ask` does, score it, and write the results.

`docqa eval --gold FILE [--index-dir DIR] [--out results.jsonl] [--report DIR] [--limit N]` calls
:func:`run_eval`. Any gold file in the eval/gold_tool format works, so does any corpus: index it
with `docqa index --corpus DIR --index-dir DIR2`, then evaluate with `--index-dir DIR2`.
"""
from __future__ import annotations

import json
import time
import unicodedata
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Protocol

from app.models import Answer, Citation, SearchHit

from .gold_tool import GoldItem, load_gold
from .metrics import GroupMetrics, ItemRecord, Location, breakdown, group_metrics, record_correct

SEARCH_K = 10
MAX_FILE_ROWS = 8  # beyond this the terminal summary points to report.md


class EngineLike(Protocol):
    def ask(self, question: str) -> Answer: ...

    def search(self, query: str, k: int = 10) -> list[SearchHit]: ...


@dataclass
class EvalSummary:
    gold_path: str
    n_items: int
    seconds: float
    overall: GroupMetrics
    by_skill: dict[str, GroupMetrics]
    by_source: dict[str, GroupMetrics]
    by_file: dict[str, GroupMetrics]
    records: list[ItemRecord] = field(default_factory=list, repr=False)

    @property
    def accuracy(self) -> float | None:
        return self.overall.accuracy

    def to_dict(self) -> dict:
        return {
            "gold_path": self.gold_path,
            "n_items": self.n_items,
            "seconds": round(self.seconds, 2),
            "overall": self.overall.to_dict(),
            "by_skill": {k: v.to_dict() for k, v in self.by_skill.items()},
            "by_source": {k: v.to_dict() for k, v in self.by_source.items()},
            "by_file": {k: v.to_dict() for k, v in self.by_file.items()},
        }

    def to_text(self) -> str:
        """Compact table for the terminal."""
        o = self.overall
        lines = [
            f"정답셋 {self.gold_path}: {self.n_items}문항, 채점 {o.n_scored}문항, {self.seconds:.1f}초"
            + (f", 오류 {o.n_errors}건" if o.n_errors else ""),
            metrics_header(),
            metrics_row("전체 (all)", o),
        ]
        lines += [metrics_row(f"skill {k}", v) for k, v in self.by_skill.items()]
        lines += [metrics_row(f"source {k}", v) for k, v in self.by_source.items()]
        if len(self.by_file) <= MAX_FILE_ROWS:
            lines += [metrics_row(f"file {Path(k).stem}", v) for k, v in self.by_file.items()]
        else:
            lines.append(f"문서별 {len(self.by_file)}개: report.md 참조 (per-document table in report.md)")
        lines.append(
            f"기권 (abstention): 정밀도 precision {pct(o.abstain_precision)}, 재현율 recall {pct(o.abstain_recall)} "
            f"(기권 {o.n_abstained}건 / 답할 수 없는 문항 {o.n_unanswerable}건)"
        )
        if o.n_retrieval_by_file:
            lines.append(f"검색·인용: 쪽 번호 없는 {o.n_retrieval_by_file}문항은 파일만 맞으면 적중으로 셉니다 (file-level match)")
        return "\n".join(lines)


# ------------------------------------------------------------------ formatting helpers shared with report.py
def pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f}%"


def num(x: float | None, digits: int = 3) -> str:
    return "-" if x is None else f"{x:.{digits}f}"


def ms(x: float | None) -> str:
    return "-" if x is None else f"{x:,.0f}"


def display_width(text: str) -> int:
    """Terminal columns: Hangul and other wide characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def pad(text: str, width: int, right: bool = False) -> str:
    fill = " " * max(0, width - display_width(text))
    return fill + text if right else text + fill


def _clip(text: str, width: int) -> str:
    while display_width(text) > width:
        text = text[:-1]
    return text


TEXT_COLUMNS = (("n", 4), ("정답률", 7), ("인용", 7), ("R@1", 6), ("R@5", 6), ("MRR@10", 6), ("p50 ms", 7),
                ("p95 ms", 7))
NAME_WIDTH = 32


def metrics_header() -> str:
    return pad("구분 (group)", NAME_WIDTH) + "".join(" " + pad(h, w, right=True) for h, w in TEXT_COLUMNS)


def metrics_row(name: str, m: GroupMetrics) -> str:
    cells = (str(m.n), pct(m.accuracy), pct(m.citation_accuracy), pct(m.recall_at_1), pct(m.recall_at_5),
             num(m.mrr_at_10), ms(m.latency_p50_ms), ms(m.latency_p95_ms))
    return pad(_clip(name, NAME_WIDTH), NAME_WIDTH) + "".join(
        " " + pad(c, w, right=True) for c, (_, w) in zip(cells, TEXT_COLUMNS)
    )


# ------------------------------------------------------------------ gold items -> records
def _str_list(v: object) -> list[str]:
    return [s for s in v if isinstance(s, str) and s.strip()] if isinstance(v, list) else []


def is_answerable(item: GoldItem) -> bool:
    return item.skill != "unanswerable" and item.answer_type != "unanswerable"


def new_record(item: GoldItem) -> ItemRecord:
    """A record with the gold side filled in; optional gold fields may be missing (None)."""
    answerable = is_answerable(item)
    page = item.page if isinstance(item.page, int) and not isinstance(item.page, bool) else None
    return ItemRecord(
        id=item.id or f"line-{item.line}",
        question=item.question or "",
        skill=item.skill or ("unanswerable" if not answerable else "unknown"),
        source=item.source or "unknown",
        file=item.file or "",
        page=page,
        answerable=answerable,
        must_include=_str_list(item.must_include),
        accept_any=_str_list(item.accept_any),
        gold_answer=item.answer or "",
        answer="",
        abstained=False,
    )


def _citation_location(c: Citation) -> Location:
    return Location(c.file, c.page)


def ask_one(engine: EngineLike, rec: ItemRecord) -> Answer:
    """engine.ask, with an item failure recorded instead of ending the whole run."""
    start = time.perf_counter()
    try:
        return engine.ask(rec.question)
    except ImportError:
        raise  # a missing module is a setup problem, not an item failure
    except Exception as exc:  # noqa: BLE001 - one bad item must not lose the other results
        rec.error = f"{type(exc).__name__}: {exc}"
        return Answer(question=rec.question, answer=f"오류: {rec.error}", abstained=False,
                      latency_ms=round((time.perf_counter() - start) * 1000, 1))


def evaluate_item(engine: EngineLike, rec: ItemRecord) -> Answer:
    answer = ask_one(engine, rec)
    rec.answer, rec.abstained, rec.latency_ms = answer.answer, answer.abstained, answer.latency_ms
    rec.citations = [_citation_location(c) for c in answer.citations]
    try:
        rec.hits = [Location(h.file, h.page) for h in engine.search(rec.question, k=SEARCH_K)]
    except ImportError:
        raise
    except Exception as exc:  # noqa: BLE001
        rec.error = rec.error or f"search {type(exc).__name__}: {exc}"
    return answer


def result_line(rec: ItemRecord, answer: Answer) -> str:
    """The `docqa ask --json` object plus the gold id."""
    return json.dumps({"id": rec.id, **json.loads(answer.model_dump_json())}, ensure_ascii=False)


def detail_line(rec: ItemRecord) -> dict:
    """Per-item scoring detail for failure analysis (report_dir/items.jsonl)."""
    from .metrics import citation_correct, hit_rank

    gold = Location(rec.file, rec.page)
    d = asdict(rec)
    d["correct"] = record_correct(rec)
    d["citation_ok"] = citation_correct(rec.citations, gold) if rec.answerable and rec.file else None
    d["retrieval_rank"] = hit_rank(rec.hits, gold) if rec.answerable and rec.file else None
    return d


# ------------------------------------------------------------------ the run
def summarize(records: list[ItemRecord], gold_path: str, seconds: float) -> EvalSummary:
    return EvalSummary(
        gold_path=gold_path,
        n_items=len(records),
        seconds=seconds,
        overall=group_metrics(records),
        by_skill=breakdown(records, lambda r: r.skill),
        by_source=breakdown(records, lambda r: r.source),
        by_file=breakdown(records, lambda r: r.file),
        records=records,
    )


def run_eval(
    engine: EngineLike,
    gold_path: Path,
    out_path: Path | None,
    report_dir: Path | None,
    limit: int | None = None,
    progress: bool = True,
) -> EvalSummary:
    """Ask every gold question, score it, write results.jsonl and the report; return the summary."""
    from tqdm import tqdm

    items = load_gold(gold_path)
    if limit is not None:
        items = items[:limit]
    records = [new_record(it) for it in items]
    start = time.perf_counter()
    out = None
    if out_path is not None:
        out_path.parent.mkdir(parents=True, exist_ok=True)
        out = open(out_path, "w", encoding="utf-8")
    try:
        for rec in tqdm(records, desc="평가 (eval)", unit="문항", disable=not progress):
            answer = evaluate_item(engine, rec)
            if out is not None:
                out.write(result_line(rec, answer) + "\n")
                out.flush()  # a long run that is interrupted still leaves its results
    finally:
        if out is not None:
            out.close()
    summary = summarize(records, str(gold_path), time.perf_counter() - start)
    if report_dir is not None:
        from .report import write_report

        write_report(summary, report_dir)
    return summary
