"""docqa command line: ingest, index, documents, remove, reindex, search, ask, eval, serve, chat."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from index.runtime import PRECISIONS

from .config import ConfigError, Settings, at_least


def _cmd_ingest(args: argparse.Namespace, settings: Settings) -> int:
    from ingest.pipeline import IngestError, ingest_corpus, write_chunks

    try:
        result = ingest_corpus(settings.corpus_dir, progress=not args.quiet, workers=settings.workers)
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


def _timing(report) -> str:
    """ "; 읽기 130초, 임베딩 176초" when anything was read, so a slow build says where its time went."""
    if not report.read_seconds:
        return ""
    return f"; 읽기 {report.read_seconds:.0f}초, 임베딩 {report.embed_seconds:.0f}초"


def _engine(settings: Settings):
    from .engine import Engine

    return Engine(settings)


def _cmd_index(args: argparse.Namespace, settings: Settings) -> int:
    from index.store import CorpusRefused

    try:
        report = _engine(settings).build(progress=not args.quiet, prune=args.prune)
    except CorpusRefused as exc:
        for failure in exc.failures:
            print(f"실패: {failure}", file=sys.stderr)
        print(f"오류: {exc}", file=sys.stderr)
        return 2
    _print_update(report)
    if report.missing:
        print(f"폴더에 없는 문서 {len(report.missing)}개는 색인에 남겨 둡니다 (kept; 빼려면 --prune 또는 "
              f"docqa remove FILE): {', '.join(report.missing)}")
    print(
        f"색인 완료 ({report.seconds:.1f}초{_timing(report)}): 추가 {len(report.added)}, 교체 {len(report.replaced)}, "
        f"삭제 {len(report.removed)}, 변경 없음 {len(report.unchanged)}, 중복 {len(report.duplicates)}, "
        f"새로 임베딩한 청크 {report.embedded}개 -> {settings.index_dir}"
    )
    return 1 if report.failures else 0


def _print_update(report) -> None:
    """Failures and duplicates of an index update, one line each."""
    for failure in report.failures:
        print(f"실패: {failure}", file=sys.stderr)
    for dup in report.duplicates:
        print(f"중복: {dup.file} 은(는) {dup.duplicate_of} 와 내용이 같아 색인하지 않았습니다 "
              f"(duplicate of {dup.duplicate_of})")


def _cmd_documents(args: argparse.Namespace, settings: Settings) -> int:
    docs = _engine(settings).documents()
    if args.json:
        print(json.dumps([d.model_dump() for d in docs], ensure_ascii=False, indent=1))
        return 0
    for d in docs:
        print(f"{d.file}\t{d.title}\t{d.pages}쪽\t표 {d.tables}\t청크 {d.chunks}\t{d.indexed_at or '-'}")
    print(f"문서 {len(docs)}개 (파일, 제목, 쪽, 표, 청크, 색인 시각)")
    return 0


def _cmd_remove(args: argparse.Namespace, settings: Settings) -> int:
    from .engine import REMOVED_DIR

    report = _engine(settings).remove(args.file)
    print(f"색인에서 뺐습니다: {args.file} (removed; 파일은 {settings.corpus_dir / REMOVED_DIR} 로 옮김), "
          f"세대 {report.generation}")
    return 0


def _cmd_reindex(args: argparse.Namespace, settings: Settings) -> int:
    engine = _engine(settings)
    report = engine.reindex(args.file, progress=not args.quiet)
    _print_update(report)
    if report.failures:
        print(f"다시 읽지 못해 이전 판을 유지합니다: {args.file} (kept the previous version)", file=sys.stderr)
        return 1
    if report.duplicates:
        return 1
    doc = engine.index.document(args.file)
    print(f"다시 색인했습니다: {args.file}, 청크 {doc.chunks if doc else 0}개, 새로 임베딩 {report.embedded}개 "
          f"({report.seconds:.1f}초), 세대 {report.generation}")
    return 0


def _filters(args: argparse.Namespace):
    from .models import Filters

    return Filters(files=args.file or [], organizations=args.org or [], years=args.year or [], kinds=args.kind or [])


def _cmd_search(args: argparse.Namespace, settings: Settings) -> int:
    hits = _engine(settings).search(args.query, k=args.k, filters=_filters(args))
    if args.json:
        print(json.dumps([h.model_dump() for h in hits], ensure_ascii=False, indent=1))
        return 0
    for h in hits:
        page = f"p.{h.page}" if h.page else "쪽 없음"
        print(f"{h.rank:2d}. [{h.score:.4f}] {h.title} · {page} · {h.section} ({h.file}, {h.kind})")
        print("    " + h.text.replace("\n", " / ")[:200])
    return 0


def _cmd_ask(args: argparse.Namespace, settings: Settings) -> int:
    if not args.question.strip():  # before anything loads: refusing takes no model
        print("오류: 질문을 입력해 주세요 (empty question)", file=sys.stderr)
        return 2
    server = args.server or settings.server_url
    if server:
        answer = _ask_server(server, args, settings)
        if answer is None:
            return 2
    else:
        answer = _engine(settings).ask(args.question, filters=_filters(args))
    if args.json:
        print(answer.model_dump_json())
        return 0
    print(answer.answer)
    if answer.related:
        print("  확인해 볼 만한 곳 (pages to check):")
    for i, c in enumerate(answer.citations or answer.related, start=1):
        page = f"p.{c.page}" if c.page else "쪽 없음"
        print(f"  [{i}] {c.title} · {page} · {c.section} ({c.file})")
        if c.quote:
            print(f"      \"{c.quote}\"")
    return 0


SERVER_TIMEOUT = 120.0  # seconds; a first question on a cold server loads its model


def _ask_server(url: str, args: argparse.Namespace, settings: Settings):
    """POST /ask to a running `docqa serve`; the Answer, or None after printing why not."""
    import httpx

    from .models import Answer

    headers = {"Authorization": f"Bearer {settings.api_token}"} if settings.api_token else {}
    body = {"question": args.question, "filters": _filters(args).model_dump()}
    try:
        r = httpx.post(url.rstrip("/") + "/ask", json=body, headers=headers, timeout=SERVER_TIMEOUT)
    except httpx.HTTPError as exc:
        print(f"오류: 서버에 연결할 수 없습니다: {url} (cannot reach the server: {exc})", file=sys.stderr)
        return None
    if r.status_code != 200:
        try:
            detail = r.json().get("detail", r.text)
        except ValueError:
            detail = r.text[:200]
        print(f"오류: 서버가 HTTP {r.status_code} 로 답했습니다: {detail}", file=sys.stderr)
        return None
    return Answer.model_validate(r.json())


DEFAULT_GOLD = Path("eval/gold.jsonl")


def _load_index(engine) -> None:
    """Load before the run: a missing or broken index would otherwise fail every item and still exit 0."""
    from index.store import IndexMissing

    try:
        engine.index  # noqa: B018 - the property loads the index
    except (OSError, ValueError, KeyError) as exc:  # a half-written or foreign index directory
        raise IndexMissing(f"색인을 불러올 수 없습니다 (cannot load the index): {exc}") from exc


def _cmd_eval(args: argparse.Namespace, settings: Settings) -> int:
    from eval.runner import EvalSetupError, check_gold_files, run_eval, summary_text
    from index.store import IndexMissing

    gold = args.gold or [DEFAULT_GOLD]
    try:
        check_gold_files(gold)  # before the model loads: a typo should fail in a second
        engine = _engine(settings)
        _load_index(engine)
        summary = run_eval(engine, gold, out_path=args.out, report_dir=args.report, limit=args.limit,
                           progress=not args.quiet, split=args.split)
    except (EvalSetupError, IndexMissing) as exc:
        print(f"오류: {exc}", file=sys.stderr)
        return 2
    print(summary_text(summary))
    return 0


def _cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    from .api import serve

    serve(settings, host=args.host, port=args.port)
    return 0


def _cmd_chat(args: argparse.Namespace, settings: Settings) -> int:
    from .chat import launch

    return launch(settings, port=args.port, headless=args.headless, address=args.host)


def _cmd_feedback_export(args: argparse.Namespace, settings: Settings) -> int:
    from .feedback import FeedbackStore, export_negative
    from .state import state_path

    pairs = export_negative(FeedbackStore(state_path(settings.index_dir)), args.out)
    for item, row in pairs:
        comment = f" - 의견: {row['comment']}" if row["comment"] else ""
        print(f"  {item['id']}: {item['question']}{comment}")
    print(f"👎 {len(pairs)}건 -> {args.out} (정답·must_include·evidence 를 고쳐 정답셋에 추가하세요)")
    return 0


def _add_filter_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--file", action="append", help="이 문서만 (document file name; repeatable)")
    p.add_argument("--org", action="append", help="이 기관만 (organization; repeatable)")
    p.add_argument("--year", action="append", type=int, help="이 연도만 (year; repeatable)")
    p.add_argument("--kind", action="append", choices=["text", "table"], help="청크 종류 (chunk kind)")


def _add_index_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--index-dir", type=Path, help="색인 폴더 (default: var/index, env DOCQA_INDEX_DIR)")


def _add_workers_flag(p: argparse.ArgumentParser) -> None:
    p.add_argument("--workers", type=int, help="문서를 읽는 프로세스 수 (parsing processes; default: CPU cores, env DOCQA_WORKERS)")


def _add_precision_flag(p: argparse.ArgumentParser) -> None:
    p.add_argument("--precision", choices=PRECISIONS,
                   help="임베딩 정밀도 (passage embedding precision; default: auto = bfloat16 on CPUs with AMX, "
                        "env DOCQA_EMBED_PRECISION)")


def build_parser() -> argparse.ArgumentParser:
    from eval.splits import ALL, SPLITS

    parser = argparse.ArgumentParser(
        prog="docqa",
        description="한국어 보고서 질의응답 (Korean report QA): 정확한 수치와 쪽 인용으로 답합니다.",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("ingest", help="보고서를 읽어 청크로 만듭니다 (parse reports into chunks)")
    p.add_argument("--corpus", type=Path, help="보고서 폴더 (default: corpus/, env DOCQA_CORPUS)")
    p.add_argument("--out", type=Path, default=Path("var/chunks.jsonl"), help="청크 JSONL 출력 (default: var/chunks.jsonl)")
    _add_workers_flag(p)
    p.add_argument("--quiet", action="store_true", help="진행 표시 없이 (no progress bar)")
    p.set_defaults(func=_cmd_ingest)

    p = sub.add_parser("index", help="색인을 만들거나 갱신합니다: 바뀐 문서만 다시 처리 (build/update the index)")
    p.add_argument("--corpus", type=Path, help="보고서 폴더 (default: corpus/, env DOCQA_CORPUS)")
    _add_index_flags(p)
    _add_workers_flag(p)
    _add_precision_flag(p)
    p.add_argument("--quiet", action="store_true", help="진행 표시 없이 (no progress bar)")
    p.add_argument("--prune", action="store_true",
                   help="폴더에서 지운 파일을 색인에서도 뺍니다 (remove documents whose file left the folder)")
    p.set_defaults(func=_cmd_index)

    p = sub.add_parser("documents", help="색인된 문서 목록: 파일, 제목, 쪽, 표, 청크, 색인 시각 (indexed documents)")
    p.add_argument("--json", action="store_true", help="JSON으로 출력")
    _add_index_flags(p)
    p.set_defaults(func=_cmd_documents)

    p = sub.add_parser("remove", help="문서를 색인에서 뺍니다; 파일은 corpus/removed/ 로 옮깁니다 (remove a document)")
    p.add_argument("file", help="문서 파일 이름 (as listed by 'docqa documents')")
    p.add_argument("--corpus", type=Path, help="보고서 폴더 (default: corpus/, env DOCQA_CORPUS)")
    _add_index_flags(p)
    p.set_defaults(func=_cmd_remove)

    p = sub.add_parser("reindex", help="문서 하나를 다시 읽어 색인합니다 (re-read one report)")
    p.add_argument("file", help="코퍼스 폴더 안의 파일 이름 (file name in the corpus folder)")
    p.add_argument("--corpus", type=Path, help="보고서 폴더 (default: corpus/, env DOCQA_CORPUS)")
    _add_workers_flag(p)
    _add_precision_flag(p)
    p.add_argument("--quiet", action="store_true", help="진행 표시 없이 (no progress bar)")
    _add_index_flags(p)
    p.set_defaults(func=_cmd_reindex)

    p = sub.add_parser("search", help="관련 청크를 순위대로 보여 줍니다 (ranked chunks)")
    p.add_argument("query", help="검색어 또는 질문")
    p.add_argument("--k", type=int, default=10, help="결과 수 (default 10)")
    p.add_argument("--json", action="store_true", help="JSON으로 출력")
    _add_index_flags(p)
    _add_filter_flags(p)
    p.set_defaults(func=_cmd_search)

    p = sub.add_parser("ask", help="질문에 수치와 인용으로 답합니다 (answer with citations)")
    p.add_argument("question", help="질문 (Korean question)")
    p.add_argument("--json", action="store_true", help="JSON 한 개로 출력 (single JSON object)")
    p.add_argument("--server", help="실행 중인 docqa serve 주소로 묻습니다 (e.g. http://127.0.0.1:8000; env DOCQA_SERVER)")
    _add_index_flags(p)
    _add_filter_flags(p)
    p.set_defaults(func=_cmd_ask)

    p = sub.add_parser("eval", help="정답셋으로 정확도를 잽니다 (evaluate against a gold set)")
    p.add_argument("--gold", type=Path, action="append",
                   help="정답셋 JSONL, 여러 번 지정하면 합쳐서 평가 (repeatable; default eval/gold.jsonl)")
    p.add_argument("--split", choices=[*SPLITS, ALL], default=ALL,
                   help="이 분할의 문항만 (only this split of the items; default all)")
    p.add_argument("--out", type=Path, default=Path("var/eval/results.jsonl"), help="문항별 결과 JSONL")
    p.add_argument("--report", type=Path, default=Path("var/eval/report"), help="보고서(Markdown, PNG) 폴더")
    p.add_argument("--limit", type=int, help="앞의 N문항만 (first N items only)")
    p.add_argument("--quiet", action="store_true", help="진행 표시 없이")
    _add_index_flags(p)
    p.set_defaults(func=_cmd_eval)

    p = sub.add_parser("serve", help="HTTP API 서버 (FastAPI; OpenAPI at /docs)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    _add_index_flags(p)
    p.set_defaults(func=_cmd_serve)

    p = sub.add_parser("chat", help="Streamlit 채팅 화면을 엽니다 (staff chat UI)")
    p.add_argument("--host", default=None, help="listen address (default 127.0.0.1, env DOCQA_CHAT_ADDRESS)")
    p.add_argument("--port", type=int, default=8501)
    p.add_argument("--headless", action="store_true", help="브라우저를 자동으로 열지 않음")
    _add_index_flags(p)
    p.set_defaults(func=_cmd_chat)

    p = sub.add_parser("feedback", help="사용자 의견(👍/👎) (staff feedback)")
    feedback = p.add_subparsers(dest="feedback_command", required=True)
    p = feedback.add_parser("export", help="👎 답변을 정답셋 형식으로 내보냅니다 (export 👎 items as gold items)")
    p.add_argument("--out", type=Path, default=Path("var/eval/feedback_gold.jsonl"), help="JSONL 출력")
    _add_index_flags(p)
    p.set_defaults(func=_cmd_feedback_export)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args, _settings(args))
    except KeyboardInterrupt:
        print("중단했습니다 (interrupted)", file=sys.stderr)
        return 130
    except Exception as exc:
        if not isinstance(exc, _user_errors()):
            raise
        print(f"오류: {exc}", file=sys.stderr)  # a user's mistake is one line, not a traceback
        return 2


def _settings(args: argparse.Namespace) -> Settings:
    workers = getattr(args, "workers", None)
    if workers is not None:
        at_least("--workers", workers)
    return Settings().with_overrides(
        corpus_dir=getattr(args, "corpus", None), index_dir=getattr(args, "index_dir", None), workers=workers,
        embed_precision=getattr(args, "precision", None),
    )


def _user_errors() -> tuple[type[Exception], ...]:
    """Errors a user can fix (missing index, wrong path or file name, a bad setting); the message says how."""
    from index.store import CorpusRefused, DocumentNotFound, IndexMissing

    return IndexMissing, CorpusRefused, DocumentNotFound, FileNotFoundError, ConfigError


if __name__ == "__main__":
    sys.exit(main())
