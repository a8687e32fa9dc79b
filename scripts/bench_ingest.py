"""Ingest throughput: build an index of a folder from nothing, or upload one report into a running engine.

Prints one JSON line. Build: {"documents", "pages", "chunks", "workers", "read_s", "embed_s", "total_s"}.
Upload (`--upload FILE`): a copy of `--index-dir` and its corpus is loaded and asked one question first, as a
serving process would be; then FILE is added and `--question` asked:
{"file", "pages", "chunks", "upload_s", "ask_s", "until_answer_s", "answer", "cited"}.

Usage:
  python scripts/bench_ingest.py --corpus ../shared/realdata/busan_plans [--workers 2]
  python scripts/bench_ingest.py --upload "../shared/realdata/busan_plans/2025년 첨단산업국 주요업무계획.pdf" \
      --index-dir var/index --corpus corpus --question "첨단산업국 2025년 예산은?"
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.config import Settings
from app.engine import Engine


def build(corpus: Path, workers: int | None) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        engine = Engine(Settings().with_overrides(corpus_dir=corpus, index_dir=Path(tmp) / "index", workers=workers))
        start = time.perf_counter()
        report = engine.build()
        total = time.perf_counter() - start
        docs = engine.index.docs
        return {"documents": len(docs), "pages": sum(d.pages for d in docs), "chunks": len(engine.index.chunks),
                "workers": engine.settings.workers, "read_s": round(report.read_seconds, 1),
                "embed_s": round(report.embed_seconds, 1), "total_s": round(total, 1)}


def upload(file: Path, index_dir: Path, corpus: Path, question: str, workers: int | None) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        shutil.copytree(index_dir, Path(tmp) / "index")
        shutil.copytree(corpus, Path(tmp) / "corpus")
        engine = Engine(Settings().with_overrides(corpus_dir=Path(tmp) / "corpus", index_dir=Path(tmp) / "index",
                                                  workers=workers))
        engine.ask("보고서 목록")  # a serving process has its index and query encoder loaded
        start = time.perf_counter()
        engine.add_document(file)
        uploaded = time.perf_counter()
        answer = engine.ask(question)
        done = time.perf_counter()
        doc = engine.index.document(file.name)
        return {"file": file.name, "pages": doc.pages if doc else 0, "chunks": doc.chunks if doc else 0,
                "upload_s": round(uploaded - start, 1), "ask_s": round(done - uploaded, 1),
                "until_answer_s": round(done - start, 1), "answer": answer.answer,
                "cited": [c.file for c in answer.citations]}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", type=Path, required=True, help="folder of reports (build), or the index's corpus (upload)")
    ap.add_argument("--workers", type=int, help="parsing processes (default: Settings, DOCQA_WORKERS)")
    ap.add_argument("--upload", type=Path, help="one report to add to a copy of --index-dir")
    ap.add_argument("--index-dir", type=Path, default=Path("var/index"))
    ap.add_argument("--question", default="", help="asked right after the upload")
    args = ap.parse_args()
    if args.upload:
        result = upload(args.upload, args.index_dir, args.corpus, args.question, args.workers)
    else:
        result = build(args.corpus, args.workers)
    print(json.dumps(result, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
