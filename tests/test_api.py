"""HTTP API over a real Engine on a temporary copy of the corpus, so uploads never touch the repository."""
from __future__ import annotations

import io
import re
import socket
import threading
import time
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from app.api import UploadError, create_app, safe_filename, store_upload
from app.engine import Engine
from app.models import ABSTAIN_TEXT, Answer
from index.store import file_sha256
from ingest.pipeline import meta_for

from .helpers import corpus_and_index_copy

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO / "corpus"
FOUNDATION = "2025_서울시재단_주요업무보고.pdf"
BUDGET_Q = "서울시재단 2025년 서울시 출연금 예산현액은?"
OFF_TOPIC_Q = "화성 탐사선 발사 예산은 얼마야?"
HANGUL = re.compile(r"[가-힣]")

VOUCHER_LINES = [
    "2026년 청년 디지털 바우처 사업 보고",
    "□ 사업 개요",
    "○ 청년 디지털 바우처 지원 예산은 3,210백만원이다.",
    "○ 지원 대상은 서울 거주 청년 1,500명이다.",
]


# ------------------------------------------------------------------ fixtures
@pytest.fixture(scope="module")
def api_engine(engine, tmp_path_factory) -> Engine:
    """An Engine on a tmp copy of the corpus, starting from a copy of the session index (no re-embedding)."""
    corpus, index_dir = corpus_and_index_copy(engine, tmp_path_factory.mktemp("api"))
    eng = Engine(engine.settings.with_overrides(corpus_dir=corpus, index_dir=index_dir, api_token=""))
    eng._encoder = engine.encoder  # same model directory: reuse the loaded model instead of loading it twice
    report = eng.build()
    assert not report.added and not report.embedded, "the copied index should already match the copied corpus"
    return eng


@pytest.fixture(scope="module")
def client(api_engine) -> TestClient:
    return TestClient(create_app(api_engine, api_token=""))


@pytest.fixture()
def small_limit(monkeypatch, api_engine):
    monkeypatch.setattr(api_engine, "settings", api_engine.settings.with_overrides(max_upload_mb=0.001))  # ~1 KB


def korean(detail: object) -> bool:
    return isinstance(detail, str) and bool(HANGUL.search(detail))


def tiny_pdf(lines: list[str]) -> bytes:
    """A one-page Korean PDF made on the fly (reportlab's built-in CID font: no font file needed)."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont("HYSMyeongJo-Medium"))
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A4)
    c.setFont("HYSMyeongJo-Medium", 11)
    for i, line in enumerate(lines):
        c.drawString(60, 800 - 20 * i, line)
    c.showPage()
    c.save()
    return buf.getvalue()


def upload(client: TestClient, name: str, data: bytes, headers: dict | None = None) -> httpx.Response:
    return client.post("/documents", files={"file": (name, data, "application/octet-stream")}, headers=headers)


def highlighted_pixels(png: bytes) -> int:
    """Pixels tinted by the translucent yellow highlight: the page itself is black on white (r == g == b)."""
    import numpy as np
    from PIL import Image

    rgb = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=np.int16)
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    return int(((r > 200) & (g > 180) & (r - b > 50)).sum())


# ------------------------------------------------------------------ health, ask
def test_health(client, api_engine):
    r = client.get("/health")
    assert r.status_code == 200
    body = r.json()
    assert body == {"status": "ok", "documents": len(api_engine.index.docs), "chunks": len(api_engine.index.chunks)}
    assert body["documents"] >= 5 and body["chunks"] > 100


def test_openapi_docs(client):
    assert client.get("/docs").status_code == 200
    spec = client.get("/openapi.json").json()
    assert {"/ask", "/search", "/documents", "/documents/{file}/pages/{n}.png", "/health"} <= set(spec["paths"])


def test_ask_returns_the_answer_object(client, api_engine):
    r = client.post("/ask", json={"question": f"  {BUDGET_Q}  "})
    assert r.status_code == 200, r.text
    answer = Answer.model_validate(r.json())
    assert answer.question == BUDGET_Q  # stripped
    assert not answer.abstained
    assert "13,797,110" in answer.answer
    assert answer.citations and answer.citations[0].file == FOUNDATION and answer.citations[0].page == 3
    # Same object as `docqa ask --json` (both call Engine.ask), apart from timing.
    direct = api_engine.ask(BUDGET_Q)
    assert answer.model_dump(exclude={"latency_ms"}) == direct.model_dump(exclude={"latency_ms"})


def test_ask_abstains(client):
    r = client.post("/ask", json={"question": OFF_TOPIC_Q})
    assert r.status_code == 200
    body = r.json()
    assert body["abstained"] is True and body["answer"] == ABSTAIN_TEXT


def test_ask_with_filters(client):
    r = client.post("/ask", json={"question": BUDGET_Q, "filters": {"files": [FOUNDATION], "years": [2025]}})
    assert r.status_code == 200
    assert {c["file"] for c in r.json()["citations"]} == {FOUNDATION}


@pytest.mark.parametrize(
    "payload",
    [
        {"question": ""},
        {"question": "   \n\t "},
        {"question": "가" * 10_000},
        {"question": 123},
        {"question": None},
        {"question": ["질문"]},
        {},
        {"question": "인력은?", "filters": {"years": ["작년"]}},
        {"question": "인력은?", "filters": "전체"},
    ],
    ids=["empty", "blank", "10k-chars", "int", "null", "list", "missing", "bad-filter-year", "bad-filters"],
)
def test_ask_rejects_bad_input(client, payload):
    r = client.post("/ask", json=payload)
    assert r.status_code == 422
    assert korean(r.json()["detail"])


def test_ask_question_length_message(client):
    for question in ("", "가" * 2001):
        detail = client.post("/ask", json={"question": question}).json()["detail"]
        assert "1~2000자" in detail
    assert client.post("/ask", json={"question": "가" * 2000}).status_code == 200


def test_ask_rejects_non_json(client):
    r = client.post("/ask", content=b"question=hi", headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 422 and korean(r.json()["detail"])


# ------------------------------------------------------------------ search, documents
def test_search_ranked_hits(client):
    r = client.get("/search", params={"q": "서울시 출연금 예산현액", "k": 3})
    assert r.status_code == 200
    hits = r.json()
    assert [h["rank"] for h in hits] == [1, 2, 3]
    assert all({"file", "page", "section", "score"} <= set(h) for h in hits)
    assert [h["score"] for h in hits] == sorted((h["score"] for h in hits), reverse=True)
    assert hits[0]["file"] == FOUNDATION


def test_search_filter_by_file(client):
    other = "2024_서울디지털재단_주요업무보고.pdf"
    hits = client.get("/search", params={"q": "예산", "k": 5, "file": other}).json()
    assert hits and {h["file"] for h in hits} == {other}


@pytest.mark.parametrize("params", [{"q": "예산", "k": 0}, {"q": "예산", "k": 51}, {"q": "예산", "k": "열"},
                                    {"k": 3}, {"q": ""}, {"q": "   "}, {"q": "가" * 2001}])
def test_search_rejects_bad_input(client, params):
    r = client.get("/search", params=params)
    assert r.status_code == 422 and korean(r.json()["detail"])


def test_documents(client):
    docs = client.get("/documents").json()
    by_file = {d["file"]: d for d in docs}
    assert FOUNDATION in by_file
    doc = by_file[FOUNDATION]
    assert doc["title"] and doc["organization"] == "서울시재단" and doc["date"].startswith("2025")
    assert doc["pages"] == 18 and doc["chunks"] > 0


# ------------------------------------------------------------------ page images
def test_page_png_with_highlight(client):
    url = f"/documents/{FOUNDATION}/pages/3.png"
    plain = client.get(url)
    assert plain.status_code == 200 and plain.headers["content-type"] == "image/png"
    assert plain.content.startswith(b"\x89PNG\r\n\x1a\n")
    marked = client.get(url, params={"highlight": "서울시 출연금 13,797,110"})
    assert marked.status_code == 200
    # Whitespace-insensitive: the row prints "서울시 출연금" and the figure in separate cells.
    assert highlighted_pixels(marked.content) > highlighted_pixels(plain.content) + 500
    again = client.get(url, params={"highlight": "서울시 출연금 13,797,110"})
    assert again.content == marked.content  # served from the in-memory cache


@pytest.mark.parametrize(
    "path",
    [
        f"/documents/{FOUNDATION}/pages/0.png",
        f"/documents/{FOUNDATION}/pages/999.png",
        "/documents/없는문서.pdf/pages/1.png",
        "/documents/manifest.json/pages/1.png",  # in the corpus folder but not an indexed document
        "/documents/..%2F..%2Fetc%2Fpasswd/pages/1.png",
        "/documents/%2E%2E/pages/1.png",
    ],
)
def test_page_png_not_found(client, path):
    r = client.get(path)
    assert r.status_code == 404
    assert korean(r.json()["detail"])


def test_page_png_bad_page_number(client):
    assert client.get(f"/documents/{FOUNDATION}/pages/셋.png").status_code == 422


# ------------------------------------------------------------------ uploads
def test_upload_text_report_becomes_searchable(client, api_engine):
    text = "\n".join(VOUCHER_LINES).replace("2026년 청년", "2026년 청년 텍스트판") + "\n"
    r = upload(client, "청년_바우처_보고.txt", text.encode("utf-8"))
    assert r.status_code == 200, r.text
    report = r.json()
    assert report["file"] == "청년_바우처_보고.txt" and report["status"] == "added" and report["chunks"] > 0
    assert (api_engine.settings.corpus_dir / "청년_바우처_보고.txt").exists()
    hits = client.get("/search", params={"q": "청년 디지털 바우처 지원 예산", "k": 3}).json()
    assert hits[0]["file"] == "청년_바우처_보고.txt"
    assert "청년_바우처_보고.txt" in {d["file"] for d in client.get("/documents").json()}
    # Text documents have no pages to render.
    r = client.get("/documents/청년_바우처_보고.txt/pages/1.png")
    assert r.status_code == 404 and "텍스트" in r.json()["detail"]
    # Same name, new content: replaced, not duplicated.
    r = upload(client, "청년_바우처_보고.txt", (text + "○ 신청 기간은 3월부터 5월까지이다.\n").encode("utf-8"))
    assert r.status_code == 200 and r.json()["status"] == "replaced"


def test_an_upload_that_embedded_checks_the_query_encoder_export(client, api_engine, monkeypatch):
    # Issue 12: `docqa index` exported the ONNX query encoder but uploads did not, so an index begun by
    # uploads kept answering through torch.
    calls = []
    monkeypatch.setattr(type(api_engine), "ensure_onnx", lambda self: calls.append(self))
    text = "\n".join(VOUCHER_LINES).replace("2026년 청년", "2026년 청년 수출판") + "\n"
    r = upload(client, "청년_바우처_수출.txt", text.encode("utf-8"))
    assert r.status_code == 200 and r.json()["status"] == "added"
    assert calls == [api_engine]


def test_upload_cp949_text(client):
    r = upload(client, "cp949_보고.txt", "○ 스마트 가로등 설치 예산은 777백만원이다.\n".encode("cp949"))
    assert r.status_code == 200, r.text
    hits = client.get("/search", params={"q": "스마트 가로등 설치 예산", "k": 1}).json()
    assert hits[0]["file"] == "cp949_보고.txt"


def test_upload_pdf_with_traversal_name_stays_in_corpus(client, api_engine):
    corpus = api_engine.settings.corpus_dir.resolve()
    r = upload(client, "../../x.pdf", tiny_pdf(VOUCHER_LINES))
    assert r.status_code == 200, r.text
    assert r.json()["file"] == "x.pdf" and r.json()["pages"] == 1
    assert (corpus / "x.pdf").is_file()
    assert not (corpus.parent / "x.pdf").exists() and not (corpus.parent.parent / "x.pdf").exists()
    hits = client.get("/search", params={"q": "청년 디지털 바우처 지원 대상", "k": 5, "file": "x.pdf"}).json()
    assert hits and hits[0]["page"] == 1
    page = client.get("/documents/x.pdf/pages/1.png", params={"highlight": "지원 예산은 3,210백만원"})
    assert page.status_code == 200 and highlighted_pixels(page.content) > 100


def test_upload_hwpx_report_becomes_searchable(client, api_engine):
    from .conftest import FIXTURES

    r = upload(client, "C반_기말고사.hwpx", (FIXTURES / "grades_table.hwpx").read_bytes())
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "added" and r.json()["chunks"] > 0 and r.json()["pages"] == 1
    hits = client.get("/search", params={"q": "개똥이 국어 점수", "k": 3, "file": "C반_기말고사.hwpx"}).json()
    table = next(h for h in hits if h["kind"] == "table")
    assert table["page"] == 1 and "개똥이 | 89 | 65 | 78" in table["text"]


@pytest.mark.parametrize(("raw", "name"), [("..\\..\\윈도우.txt", "윈도우.txt"), ("/etc/절대경로.txt", "절대경로.txt"),
                                         ("a/b/../../c/중첩.txt", "중첩.txt"), ("../../x.pdf", "x.pdf")])
def test_safe_filename_strips_directories(raw, name):
    assert safe_filename(raw) == name


@pytest.mark.parametrize("raw", ["..", ".", "", "../..", ".hidden.txt", "a\x00b.txt", "줄\n바꿈.txt", "탭\t.txt"])
def test_safe_filename_rejects(raw):
    with pytest.raises(UploadError) as err:
        safe_filename(raw)
    assert err.value.status == 400 and korean(err.value.message)


def test_safe_filename_keeps_korean():
    assert safe_filename("2025_서울시재단_주요업무보고.pdf") == "2025_서울시재단_주요업무보고.pdf"
    assert safe_filename("C:\\Users\\직원\\보고서 (최종).pdf") == "보고서 (최종).pdf"
    assert safe_filename('a<b>:c"d|e?f*.txt') == "a_b__c_d_e_f_.txt"
    long = safe_filename("가" * 200 + ".pdf")
    assert long.endswith(".pdf") and len(long.encode()) <= 200


@pytest.mark.parametrize(
    ("name", "data", "status"),
    [
        ("가짜.pdf", b"hello, not a pdf", 415),  # wrong magic bytes
        ("이미지.pdf", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, 415),
        ("보고서.docx", b"PK\x03\x04" + b"\x00" * 64, 415),  # unsupported extension
        ("가짜.hwp", b"PK\x03\x04" + b"\x00" * 64, 415),  # a zip is not HWP 5.x
        ("가짜.hwpx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 64, 415),  # an OLE file is not HWPX
        ("보고서.exe", b"MZ" + b"\x00" * 64, 415),
        ("확장자없음", "내용".encode(), 415),
        ("바이너리.txt", b"\x00\x01\x02binary\x00", 400),  # not text
        ("빈파일.txt", b"", 400),
        ("공백.txt", b"   \n  ", 400),
        ("..", b"%PDF-1.4", 400),
    ],
)
def test_upload_rejected(client, api_engine, name, data, status):
    before = sorted(p.name for p in api_engine.settings.corpus_dir.iterdir())
    r = upload(client, name, data)
    assert r.status_code == status, r.text
    assert korean(r.json()["detail"])
    assert sorted(p.name for p in api_engine.settings.corpus_dir.iterdir()) == before


def test_upload_too_large(client, api_engine, small_limit):
    # Just over the limit: caught while reading the body.
    r = upload(client, "조금큼.txt", ("가" * 1000).encode("utf-8"))
    assert r.status_code == 413 and "MB" in r.json()["detail"]
    # Far over: refused from Content-Length before the body is parsed.
    r = upload(client, "많이큼.txt", ("가" * 100_000).encode("utf-8"))
    assert r.status_code == 413 and korean(r.json()["detail"])
    assert not (api_engine.settings.corpus_dir / "조금큼.txt").exists()


def test_upload_without_file_field(client):
    r = client.post("/documents", data={"x": "y"})
    assert r.status_code == 422 and korean(r.json()["detail"])


def test_failed_ingest_is_422_and_index_stays_usable(client, api_engine):
    before_docs = client.get("/documents").json()
    r = upload(client, "깨진.pdf", b"%PDF-1.4\n this is not really a pdf \n%%EOF")
    assert r.status_code == 422 and "색인할 수 없습니다" in r.json()["detail"]
    assert not (api_engine.settings.corpus_dir / "깨진.pdf").exists()  # taken out again
    assert client.get("/documents").json() == before_docs
    assert client.get("/health").json()["status"] == "ok"
    assert "13,797,110" in client.post("/ask", json={"question": BUDGET_Q}).json()["answer"]


def test_failed_replacement_keeps_previous_version(client, api_engine):
    original = tiny_pdf(["○ 공공 와이파이 확충 예산은 1,234백만원이다."])
    assert upload(client, "와이파이.pdf", original).status_code == 200
    r = upload(client, "와이파이.pdf", b"\x00\x00 binary")
    assert r.status_code == 415  # refused before ingest
    r = upload(client, "와이파이.pdf", tiny_pdf([]))  # a valid PDF without text: the ingester refuses it
    assert r.status_code == 422 and "텍스트" in r.json()["detail"]
    assert (api_engine.settings.corpus_dir / "와이파이.pdf").read_bytes() == original  # put back
    hits = client.get("/search", params={"q": "공공 와이파이 확충 예산", "k": 1}).json()
    assert hits[0]["file"] == "와이파이.pdf"
    # Folder and index agree again: the indexed hash is the restored file's.
    path = api_engine.settings.corpus_dir / "와이파이.pdf"
    assert api_engine.index.document("와이파이.pdf").sha256 == file_sha256(path, meta_for(path, {}))


# ------------------------------------------------------------------ token
def test_bearer_token(api_engine):
    secured = TestClient(create_app(api_engine, api_token="s3cret"))
    good = {"Authorization": "Bearer s3cret"}
    assert secured.get("/health").status_code == 200  # always open for probes
    for method, url, kwargs in [
        ("get", "/documents", {}),
        ("get", "/search?q=예산", {}),
        ("post", "/ask", {"json": {"question": BUDGET_Q}}),
        ("get", f"/documents/{FOUNDATION}/pages/1.png", {}),
        ("post", "/documents", {"files": {"file": ("a.txt", b"x")}}),
    ]:
        call = getattr(secured, method)
        r = call(url, **kwargs)
        assert r.status_code == 401 and korean(r.json()["detail"]), url
        assert r.headers["www-authenticate"] == "Bearer"
        assert call(url, headers={"Authorization": "Bearer wrong"}, **kwargs).status_code == 401
        assert call(url, headers={"Authorization": "Basic s3cret"}, **kwargs).status_code == 401
    assert secured.get("/documents", headers=good).status_code == 200
    assert secured.post("/ask", json={"question": BUDGET_Q}, headers=good).status_code == 200


def test_token_from_settings(api_engine, monkeypatch):
    monkeypatch.setattr(api_engine, "settings", api_engine.settings.with_overrides(api_token="from-settings"))
    secured = TestClient(create_app(api_engine))
    assert secured.get("/documents").status_code == 401
    assert secured.get("/documents", headers={"Authorization": "Bearer from-settings"}).status_code == 200
    monkeypatch.undo()
    assert TestClient(create_app(api_engine)).get("/documents").status_code == 200  # no token: open


# ------------------------------------------------------------------ concurrency over a real server
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_ask_while_upload_is_indexed(api_engine):
    """/ask keeps answering from the previous index while an upload is being indexed on a real uvicorn."""
    import uvicorn

    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(api_engine, api_token=""), host="127.0.0.1", port=port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        assert server.started
        # Enough distinct paragraphs that indexing takes a while (new chunks must be embedded).
        body = "\n\n".join(f"□ 과제 {i}\n○ 동시성 시험 과제 {i}번의 예산은 {1000 + i:,}백만원이며 담당 부서는 디지털정책과 {i}팀이다."
                           for i in range(40))
        result: dict = {}

        def do_upload() -> None:
            with httpx.Client(base_url=base, timeout=300) as c:
                result["upload"] = c.post("/documents", files={"file": ("동시성_시험.txt", body.encode())})
            result["upload_done"] = time.monotonic()

        uploader = threading.Thread(target=do_upload)
        started = time.monotonic()
        uploader.start()
        answers: list[tuple[float, httpx.Response]] = []
        with httpx.Client(base_url=base, timeout=60) as c:
            while uploader.is_alive() or len(answers) < 3:
                answers.append((time.monotonic(), c.post("/ask", json={"question": BUDGET_Q})))
        uploader.join()
        assert result["upload"].status_code == 200, result["upload"].text
        assert all(r.status_code == 200 and "13,797,110" in r.json()["answer"] for _, r in answers)
        during = [t for t, _ in answers if t < result["upload_done"]]
        assert during, f"no /ask finished while indexing ({result['upload_done'] - started:.1f}s)"
        with httpx.Client(base_url=base, timeout=60) as c:
            hits = c.get("/search", params={"q": "동시성 시험 과제 7번의 예산", "k": 1}).json()
        assert hits[0]["file"] == "동시성_시험.txt"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


# ------------------------------------------------------------------ document management
DIGITAL_2020 = "2020_서울디지털재단_주요업무보고.pdf"
DIGITAL_2020_Q = "2020년 서울디지털재단 서울시 출연금 예산현액이랑 징수율 알려줘."  # gold g003-004


@pytest.fixture()
def own_engine(engine, tmp_path) -> Engine:
    """Like `api_engine`, for tests that remove documents: a fresh copy each time."""
    corpus, index_dir = corpus_and_index_copy(engine, tmp_path)
    eng = Engine(engine.settings.with_overrides(corpus_dir=corpus, index_dir=index_dir, api_token=""))
    eng._encoder = engine.encoder
    return eng


def test_delete_document_removes_it_from_documents_and_later_citations(own_engine):
    secured = TestClient(create_app(own_engine, api_token="s3cret"))
    good = {"Authorization": "Bearer s3cret"}
    before = secured.post("/ask", json={"question": DIGITAL_2020_Q}, headers=good).json()
    assert DIGITAL_2020 in {c["file"] for c in before["citations"]}
    count = len(secured.get("/documents", headers=good).json())

    r = secured.delete(f"/documents/{DIGITAL_2020}")
    assert r.status_code == 401 and korean(r.json()["detail"])
    r = secured.delete(f"/documents/{DIGITAL_2020}", headers=good)
    assert r.status_code == 200, r.text
    assert r.json()["file"] == DIGITAL_2020 and r.json()["documents"] == count - 1

    assert DIGITAL_2020 not in {d["file"] for d in secured.get("/documents", headers=good).json()}
    after = secured.post("/ask", json={"question": DIGITAL_2020_Q}, headers=good).json()
    assert DIGITAL_2020 not in {c["file"] for c in after["citations"]}
    assert "4,014,211" not in after["answer"]
    hits = secured.get("/search", params={"q": "서울디지털재단 2020 출연금", "k": 50}, headers=good).json()
    assert DIGITAL_2020 not in {h["file"] for h in hits}
    assert secured.get(f"/documents/{DIGITAL_2020}/pages/1.png", headers=good).status_code == 404
    # The file is kept aside, so `docqa index` does not bring the report back.
    assert (own_engine.settings.corpus_dir / "removed" / DIGITAL_2020).is_file()
    assert not (own_engine.settings.corpus_dir / DIGITAL_2020).exists()
    assert DIGITAL_2020 not in {d.file for d in own_engine.index.docs} and not own_engine.build().added

    r = secured.delete(f"/documents/{DIGITAL_2020}", headers=good)
    assert r.status_code == 404 and "색인에 없는 문서" in r.json()["detail"]


def test_upload_of_an_indexed_report_under_another_name_is_a_duplicate(client, api_engine):
    chunks = len(api_engine.index.chunks)
    r = upload(client, "재단_업무보고_사본.pdf", (CORPUS / FOUNDATION).read_bytes())
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "duplicate" and body["duplicate_of"] == FOUNDATION and not body["added"]
    assert "재단_업무보고_사본.pdf" not in {d["file"] for d in client.get("/documents").json()}
    assert not (api_engine.settings.corpus_dir / "재단_업무보고_사본.pdf").exists()
    assert len(api_engine.index.chunks) == chunks


def test_serving_engine_sees_an_upload_made_by_another_engine(own_engine):
    served = TestClient(create_app(own_engine, api_token=""))
    assert served.get("/health").json()["status"] == "ok"
    other = Engine(own_engine.settings)  # the chat's engine, or a CLI run, on the same index
    other._encoder = own_engine.encoder
    report = store_upload(other, "다른_프로세스.txt", "\n".join(VOUCHER_LINES).encode("utf-8"))
    assert report.status == "added"
    assert "다른_프로세스.txt" in {d["file"] for d in served.get("/documents").json()}
    hits = served.get("/search", params={"q": "청년 디지털 바우처 지원 대상", "k": 1}).json()
    assert hits[0]["file"] == "다른_프로세스.txt"
