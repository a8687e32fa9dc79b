"""docqa command line: ingest, index, search, ask, eval, serve, chat."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .config import Settings


def _cmd_ingest(args: argparse.Namespace, settings: Settings) -> int:
    from ingest.pipeline import IngestError, ingest_corpus, write_chunks

    try:
        result = ingest_corpus(settings.corpus_dir, progress=not args.quiet)
    except IngestError as exc:
        print(f"오류: {exc}", file=sys.stderr)
        return 2
    write_chunks(result.chunks, args.out)
    for doc in result.documents:
        print(f"  {doc.file}: {doc.pages}쪽, 표 {doc.tables}개, 청크 {doc.chunks}개 ({doc.seconds:.1f}초)")
    for failure in result.failures:
        print(f"실패: {failure}", file=sys.stderr)
    pages = sum(d.pages for d in result.documents)
    tables = sum(d.tables for d in result.documents)
    print(
        f"문서 {len(result.documents)}개, {pages}쪽, 표 {tables}개, 청크 {len(result.chunks)}개, "
        f"실패 {len(result.failures)}개 -> {args.out}"
    )
    return 1 if result.failures else 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="docqa",
        description="한국어 보고서 질의응답 (Korean report QA): 정확한 수치와 쪽 인용으로 답합니다.",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("ingest", help="보고서를 읽어 청크로 만듭니다 (parse reports into chunks)")
    p.add_argument("--corpus", type=Path, help="보고서 폴더 (default: corpus/, env DOCQA_CORPUS)")
    p.add_argument("--out", type=Path, default=Path("var/chunks.jsonl"), help="청크 JSONL 출력 (default: var/chunks.jsonl)")
    p.add_argument("--quiet", action="store_true", help="진행 표시 없이 (no progress bar)")
    p.set_defaults(func=_cmd_ingest)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    settings = Settings().with_overrides(
        corpus_dir=getattr(args, "corpus", None), index_dir=getattr(args, "index_dir", None)
    )
    return args.func(args, settings)


if __name__ == "__main__":
    sys.exit(main())
