"""HTTP API over the one Engine: ask, search, documents, page images, uploads (FastAPI; OpenAPI at /docs).

Routes that call the engine are plain `def` functions, so FastAPI runs them in its thread pool and a long
answer or an upload being indexed never blocks the event loop. Reads take no lock: the engine swaps in a
new index object after an update, and requests already running finish on the previous one.
"""
from __future__ import annotations

import tempfile
import unicodedata
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI, File, HTTPException, Query, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field, field_validator
from starlette.exceptions import HTTPException as StarletteHTTPException

from .access import Access, EngineViews, Grant, TokensFileError, claim_upload
from .config import Settings
from .conversation import ConversationAnswer, Conversations
from .engine import Engine
from .feedback import FeedbackStore, feedback_router
from .models import DocumentInfo, Filters, SearchHit
from .pages import PageError, parse_boxes, render_page_png

MAX_QUESTION_CHARS = 2000
UPLOAD_SUFFIXES = {".pdf", ".txt", ".hwp", ".hwpx"}
# HWP 5.x is an OLE compound file, HWPX a zip package.
UPLOAD_SIGNATURES = {".hwp": b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", ".hwpx": b"PK\x03\x04"}
MAX_NAME_BYTES = 200  # below the 255-byte file name limit; Korean letters take 3 bytes each in UTF-8
READ_BLOCK = 1 << 20
# Multipart framing around the file; a request larger than limit + this is refused before it is read.
MULTIPART_SLACK = 64 * 1024

ROUTING_ERRORS = {
    "Not Found": "요청한 주소를 찾을 수 없습니다",
    "Method Not Allowed": "허용되지 않는 요청 방식입니다",
}
QUESTION_ERROR = f"질문을 입력해 주세요: 공백을 뺀 1~{MAX_QUESTION_CHARS}자여야 합니다"


# ------------------------------------------------------------------ request/response models
class AskRequest(BaseModel):
    question: str = Field(description=f"한국어 질문 (1~{MAX_QUESTION_CHARS}자)", examples=["2025년 서울시재단 인력은 몇 명이야?"])
    filters: Filters | None = None
    conversation_id: str | None = Field(None, pattern=r"^[A-Za-z0-9_-]{1,64}$",
                                        description="이전 답변의 conversation_id: 후속 질문(\"그럼 2024년은?\")을 이어서 답합니다")

    @field_validator("question")
    @classmethod
    def _strip_question(cls, value: str) -> str:
        value = value.strip()
        if not 1 <= len(value) <= MAX_QUESTION_CHARS:
            raise ValueError(QUESTION_ERROR)
        return value


class FailureOut(BaseModel):
    file: str
    reason: str


class UploadReport(BaseModel):
    file: str = Field(description="저장된 파일 이름 (corpus 폴더 안)")
    status: str = Field(description="added | replaced | unchanged | duplicate")
    duplicate_of: str = Field("", description="status가 duplicate일 때: 내용이 같은 색인된 문서 (not indexed twice)")
    chunks: int = Field(description="이 문서의 색인 청크 수")
    pages: int
    added: list[str] = Field(default_factory=list)
    replaced: list[str] = Field(default_factory=list)
    removed: list[str] = Field(default_factory=list)
    embedded: int = Field(0, description="새로 임베딩한 청크 수")
    failures: list[FailureOut] = Field(default_factory=list, description="다른 문서의 색인 실패 (있다면)")
    seconds: float = 0.0


class RemovalReport(BaseModel):
    file: str = Field(description="색인에서 뺀 문서")
    documents: int = Field(description="남은 문서 수")
    generation: int = Field(description="갱신된 색인 세대")


class Health(BaseModel):
    status: str
    documents: int
    chunks: int


class ErrorOut(BaseModel):
    detail: str


# ------------------------------------------------------------------ uploads (shared with the chat UI)
class UploadError(Exception):
    """An upload refused or failed; `status` is the HTTP status, the message is Korean."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def max_upload_bytes(settings: Settings) -> int:
    return max(0, int(settings.max_upload_mb * 1024 * 1024))


def safe_filename(raw: str) -> str:
    """A plain file name for the corpus folder: directories stripped, Korean letters kept.

    Refuses names that are empty, dot-only, hidden or contain control characters rather than guessing.
    """
    name = unicodedata.normalize("NFC", raw or "")
    # Browsers on Windows may send "C:\\Users\\...\\x.pdf"; both separators are directory parts.
    name = name.replace("\\", "/").rsplit("/", 1)[-1].strip()
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn") for ch in name):
        raise UploadError(400, "파일 이름에 제어 문자가 있습니다: 이름을 바꿔 다시 올려 주세요")
    if not name or set(name) <= {"."} or name.startswith("."):
        raise UploadError(400, "파일 이름이 올바르지 않습니다: 예) 2025_기관명_주요업무보고.pdf")
    # Characters that break shells, URLs or Windows copies of the corpus become "_".
    name = "".join("_" if ch in '<>:"|?*%#' else ch for ch in name)
    name = " ".join(name.split())
    stem, dot, suffix = name.rpartition(".")
    if not dot:
        stem, suffix = name, ""
    while len(name.encode("utf-8")) > MAX_NAME_BYTES and stem:
        stem = stem[:-1]
        name = f"{stem}.{suffix}" if suffix else stem
    return name


def check_content(name: str, data: bytes) -> None:
    """Extension AND content must agree, so a renamed binary never reaches the ingester."""
    suffix = Path(name).suffix.lower()
    if suffix not in UPLOAD_SUFFIXES:
        raise UploadError(415, f"지원하지 않는 파일 형식입니다 ({suffix or '확장자 없음'}): PDF(.pdf), 한글(.hwp, .hwpx) 또는 텍스트(.txt) 보고서만 올릴 수 있습니다")
    if not data:
        raise UploadError(400, "빈 파일입니다")
    if suffix == ".pdf":
        # The PDF spec allows junk before the header, within the first 1 KB.
        if b"%PDF-" not in data[:1024]:
            raise UploadError(415, "PDF 파일이 아닙니다: 파일 내용이 PDF 형식(%PDF-)으로 시작하지 않습니다")
        return
    if suffix in UPLOAD_SIGNATURES:
        if not data.startswith(UPLOAD_SIGNATURES[suffix]):
            raise UploadError(415, f"한글 문서({suffix})가 아닙니다: 파일 내용이 {suffix} 형식이 아닙니다")
        return
    from ingest.pdf_reader import IngestError
    from ingest.text_reader import decode_text

    try:
        text = decode_text(data)  # the same UTF-8 / CP949 rule the ingester applies
    except IngestError as exc:
        raise UploadError(400, f"텍스트 파일을 읽을 수 없습니다: UTF-8 또는 CP949 텍스트만 올릴 수 있습니다 ({exc})") from exc
    if not text.strip():
        raise UploadError(400, "빈 텍스트 파일입니다")


def store_upload(engine: Engine, raw_name: str, data: bytes) -> UploadReport:
    """Validate, save into the corpus folder and index one uploaded report.

    A report that fails to ingest is taken out of the corpus folder again (or the replaced version is put
    back), so the index and the folder stay consistent and the next build does not trip on it.
    """
    limit = max_upload_bytes(engine.settings)
    if len(data) > limit:
        raise UploadError(413, f"파일이 너무 큽니다: 최대 {limit / 1024 / 1024:g}MB까지 올릴 수 있습니다")
    name = safe_filename(raw_name)
    check_content(name, data)
    corpus = engine.settings.corpus_dir.resolve()
    target = (corpus / name).resolve()
    if target.parent != corpus:  # belt and braces: safe_filename already removed every directory part
        raise UploadError(400, "파일 이름이 올바르지 않습니다")
    # The index's writer lock, held by every process: the backup/restore below never interleaves with
    # another upload of the same name, and uploads through serve and chat queue instead of losing each other.
    with engine.writing(), tempfile.TemporaryDirectory(prefix="docqa-upload-") as tmp:
        staged = Path(tmp) / name
        staged.write_bytes(data)  # staged outside the corpus, so a concurrent build never sees half a file
        previous = target.read_bytes() if target.exists() else None
        try:
            report = engine.add_document(staged)
        except BaseException:
            _restore(target, previous)
            raise
        failed = [f for f in report.failures if f.file == name]
        if failed:
            _restore(target, previous)
            raise UploadError(422, f"문서를 색인할 수 없습니다: {failed[0].reason}")
        duplicate_of = next((d.duplicate_of for d in report.duplicates if d.file == name), "")
        if duplicate_of:  # nothing was indexed, so the folder does not keep a second copy either
            _restore(target, previous)
    doc = engine.index.document(duplicate_of or name)
    status = ("duplicate" if duplicate_of else "added" if name in report.added
              else "replaced" if name in report.replaced else "unchanged")
    return UploadReport(
        file=name, status=status, duplicate_of=duplicate_of, chunks=doc.chunks if doc else 0,
        pages=doc.pages if doc else 0,
        added=report.added, replaced=report.replaced, removed=report.removed, embedded=report.embedded,
        failures=[FailureOut(file=f.file, reason=f.reason) for f in report.failures],
        seconds=round(report.seconds, 2),
    )


def _restore(target: Path, previous: bytes | None) -> None:
    """Put the corpus folder back as it was before a failed upload."""
    if previous is None:
        target.unlink(missing_ok=True)
    else:
        target.write_bytes(previous)


# ------------------------------------------------------------------ helpers
def _korean_validation_message(errors: list[dict[str, Any]]) -> str:
    parts = []
    for err in errors:
        loc = ".".join(str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path"))
        msg = str(err.get("msg", ""))
        if QUESTION_ERROR in msg:
            parts.append(QUESTION_ERROR)
        elif err.get("type") == "missing":
            parts.append(f"{loc}: 값이 필요합니다")
        elif err.get("type", "").endswith(("_type", "_parsing")):
            parts.append(f"{loc}: 형식이 올바르지 않습니다")
        elif "greater_than" in err.get("type", "") or "less_than" in err.get("type", ""):
            parts.append(f"{loc}: 허용 범위를 벗어났습니다")
        elif "too_short" in err.get("type", "") or "too_long" in err.get("type", ""):
            parts.append(f"{loc}: 길이가 허용 범위를 벗어났습니다")
        else:
            parts.append(f"{loc}: 값이 올바르지 않습니다")
    return "요청이 올바르지 않습니다 - " + "; ".join(dict.fromkeys(parts))


def _filters(files: list[str] | None, orgs: list[str] | None, years: list[int] | None) -> Filters | None:
    if not (files or orgs or years):
        return None
    return Filters(files=files or [], organizations=orgs or [], years=years or [])


def _document_path(engine: Engine, file: str) -> Path:
    """The corpus file behind an indexed document; 404 for anything else, including paths leaving the corpus."""
    doc = engine.index.document(file)
    corpus = engine.settings.corpus_dir.resolve()
    path = (corpus / file).resolve()
    if doc is None or path.parent != corpus or not path.is_file():
        raise HTTPException(404, f"색인된 문서가 아닙니다: {file}")
    if path.suffix.lower() != ".pdf" or not doc.pages:
        raise HTTPException(404, f"텍스트 문서에는 쪽 이미지가 없습니다: {file}")
    return path


# Module level: route annotations are resolved against module globals (postponed evaluation).
_bearer = HTTPBearer(auto_error=False, description="DOCQA_API_TOKEN 이 설정된 경우 필요합니다")


def require_token(request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> Grant:
    """The caller's grant: which organizations' reports this token may read (app/access.py)."""
    given = credentials.credentials if credentials and credentials.scheme.lower() == "bearer" else ""
    grant = request.app.state.access.grant(given)
    if grant is None:
        raise HTTPException(401, "인증이 필요합니다: Authorization: Bearer <토큰> 헤더를 보내 주세요",
                            headers={"WWW-Authenticate": "Bearer"})
    request.state.grant = grant  # for routers included with this dependency (app/openai_api.py)
    return grant


GrantDep = Annotated[Grant, Depends(require_token)]


class _UploadSizeGuard:
    """Refuses an oversized upload from its Content-Length, before multipart parsing spools it to disk."""

    def __init__(self, app, engine: Engine) -> None:
        self.app = app
        self.engine = engine

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST" and scope["path"].rstrip("/") == "/documents":
            length = dict(scope.get("headers") or []).get(b"content-length")
            limit = max_upload_bytes(self.engine.settings)
            if length and length.isdigit() and int(length) > limit + MULTIPART_SLACK:
                response = JSONResponse(
                    {"detail": f"파일이 너무 큽니다: 최대 {limit / 1024 / 1024:g}MB까지 올릴 수 있습니다"}, status_code=413
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


# ------------------------------------------------------------------ app
def create_app(engine: Engine, *, api_token: str | None = None) -> FastAPI:
    """The API over an already-created engine; `api_token` overrides `engine.settings.api_token`."""
    token = engine.settings.api_token if api_token is None else api_token
    access = Access(token, engine.settings.tokens_file)
    views = EngineViews(engine)

    app = FastAPI(
        title="docqa API",
        description="서울시 보고서 질의응답: 정확한 수치와 쪽 인용으로 답합니다 (offline Korean report QA).",
        version="0.1.0",
    )
    app.add_middleware(_UploadSizeGuard, engine=engine)
    app.state.engine = engine
    app.state.access = access
    guarded = [Depends(require_token)]
    errors = {401: {"model": ErrorOut}, 422: {"model": ErrorOut}}

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse({"detail": _korean_validation_message(list(exc.errors()))}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        # Starlette's own routing errors are English; staff see Korean.
        detail = ROUTING_ERRORS.get(str(exc.detail), exc.detail)
        return JSONResponse({"detail": detail}, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(UploadError)
    async def _upload_error(_: Request, exc: UploadError) -> JSONResponse:
        return JSONResponse({"detail": exc.message}, status_code=exc.status)

    from index.store import IndexMissing

    @app.exception_handler(IndexMissing)
    async def _no_index(_: Request, exc: IndexMissing) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=503)

    @app.get("/health", response_model=Health, summary="상태 확인 (인증 불필요)")
    def health() -> Health | JSONResponse:
        try:
            index = engine.index
        except IndexMissing:
            return JSONResponse(Health(status="no_index", documents=0, chunks=0).model_dump(), status_code=503)
        return Health(status="ok", documents=len(index.docs), chunks=len(index.chunks))

    conversations = Conversations(engine)
    app.state.conversations = conversations

    @app.post("/ask", response_model=ConversationAnswer, dependencies=guarded, responses=errors,
              summary="질문에 답합니다 (conversation_id 로 후속 질문)")
    def ask(request: AskRequest, grant: GrantDep) -> ConversationAnswer:
        talk = Conversations(views.for_grant(grant), conversations.store)
        return talk.ask(request.question, request.conversation_id, request.filters)

    from .openai_api import openai_router

    app.include_router(openai_router(lambda grant: Conversations(views.for_grant(grant), conversations.store)),
                       dependencies=guarded, responses=errors)
    app.include_router(feedback_router(FeedbackStore(conversations.store.path)), dependencies=guarded, responses=errors)

    @app.get("/search", response_model=list[SearchHit], dependencies=guarded, responses=errors,
             summary="관련 청크를 순위대로 찾습니다")
    def search(
        q: Annotated[str, Query(min_length=1, max_length=MAX_QUESTION_CHARS, description="검색어 또는 질문")],
        grant: GrantDep,
        k: Annotated[int, Query(ge=1, le=50, description="결과 수 (1~50)")] = 10,
        file: Annotated[list[str] | None, Query(description="이 문서만")] = None,
        org: Annotated[list[str] | None, Query(description="이 기관만")] = None,
        year: Annotated[list[int] | None, Query(description="이 연도만")] = None,
    ) -> list[SearchHit]:
        if not q.strip():
            raise HTTPException(422, "검색어를 입력해 주세요")
        return views.for_grant(grant).search(q.strip(), k=k, filters=_filters(file, org, year))

    @app.get("/documents", response_model=list[DocumentInfo], dependencies=guarded, responses=errors,
             summary="색인된 문서 목록")
    def documents(grant: GrantDep) -> list[DocumentInfo]:
        return views.for_grant(grant).documents()

    @app.get("/documents/{file}/pages/{n}.png", dependencies=guarded, summary="문서 쪽 이미지 (인용 부분 강조)",
             response_class=Response, responses={200: {"content": {"image/png": {}}}, 404: {"model": ErrorOut},
                                                 401: {"model": ErrorOut}})
    def page_image(
        file: str,
        n: int,
        grant: GrantDep,
        highlight: Annotated[str | None, Query(max_length=MAX_QUESTION_CHARS, description="강조할 인용문")] = None,
        boxes: Annotated[str | None, Query(max_length=MAX_QUESTION_CHARS, pattern=r"^[\d.,;]*$",
                                           description="강조할 칸: 인용의 boxes를 'x0,top,x1,bottom;...'로")] = None,
    ) -> Response:
        path = _document_path(views.for_grant(grant), file)
        try:
            png = render_page_png(path, n, highlight, parse_boxes(boxes or ""))
        except PageError as exc:
            raise HTTPException(404, str(exc)) from exc
        return Response(png, media_type="image/png", headers={"Cache-Control": "private, max-age=300"})

    @app.delete("/documents/{file}", response_model=RemovalReport, dependencies=guarded,
                responses={**errors, 404: {"model": ErrorOut}}, summary="문서를 색인에서 뺍니다 (파일은 corpus/removed/ 로)")
    def remove(file: str) -> RemovalReport:
        from index.store import DocumentNotFound

        try:
            report = engine.remove(file)
        except DocumentNotFound as exc:
            raise HTTPException(404, str(exc)) from exc
        return RemovalReport(file=file, documents=len(engine.index.docs), generation=report.generation)

    @app.post("/documents", response_model=UploadReport, dependencies=guarded,
              responses={**errors, 400: {"model": ErrorOut}, 413: {"model": ErrorOut}, 415: {"model": ErrorOut}},
              summary="보고서(PDF 또는 .txt)를 올려 색인에 추가합니다")
    def upload(file: Annotated[UploadFile, File(description="PDF 또는 UTF-8/CP949 텍스트 보고서")],
               grant: GrantDep) -> UploadReport:
        limit = max_upload_bytes(engine.settings)
        chunks: list[bytes] = []
        size = 0
        while block := file.file.read(READ_BLOCK):
            size += len(block)
            if size > limit:  # chunked uploads carry no Content-Length; stop reading at the limit
                raise UploadError(413, f"파일이 너무 큽니다: 최대 {limit / 1024 / 1024:g}MB까지 올릴 수 있습니다")
            chunks.append(block)
        if grant.organizations is not None:  # the report lands in the token's organization
            claim_upload(engine, grant, safe_filename(file.filename or ""))
        return store_upload(engine, file.filename or "", b"".join(chunks))

    return app


def serve(settings: Settings, host: str, port: int) -> None:
    """Create the engine once, load the index and model before the first request, then run uvicorn."""
    import sys

    import uvicorn

    from index.store import IndexMissing

    engine = Engine(settings)
    try:
        index = engine.index
    except IndexMissing as exc:
        print(f"오류: {exc}", file=sys.stderr)
        raise SystemExit(2) from exc
    engine.query_encoder  # noqa: B018 - loads the model now, so the first question is not the slow one
    from .conversation import resolver_for

    resolver_for(index).measure_words  # noqa: B018 - reads the tables' vocabulary now, not on the first follow-up
    try:
        app = create_app(engine)
    except TokensFileError as exc:
        print(f"오류: {exc}", file=sys.stderr)
        raise SystemExit(2) from exc
    print(f"docqa API: 문서 {len(index.docs)}개, 청크 {len(index.chunks)}개 - http://{host}:{port}/docs", flush=True)
    uvicorn.run(app, host=host, port=port, log_level="info")
