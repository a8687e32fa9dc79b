"""Per-token organization access (DOCQA_TOKENS_FILE), route by route: a token limited to 서울디지털재단 never
receives another organization's text, figure, citation or page."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.access import Access, TokensFileError, load_grants
from app.api import create_app
from app.engine import Engine

from .helpers import corpus_and_index_copy

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO / "corpus"
ORG = "서울디지털재단"
OWN = {"2020_서울디지털재단_주요업무보고.pdf", "2024_서울디지털재단_주요업무보고.pdf"}
FOUNDATION = "2025_서울시재단_주요업무보고.pdf"
FOUNDATION_Q = "서울시재단 2025년 서울시 출연금 예산현액은?"
FOUNDATION_FIGURE = "13,797,110"
ADMIN, LIMITED, ALL_TOKEN = "admin-token", "foundation-staff-token", "star-token"


@pytest.fixture(scope="module")
def access_engine(engine, tmp_path_factory) -> Engine:
    root = tmp_path_factory.mktemp("access")
    corpus, index_dir = corpus_and_index_copy(engine, root)
    tokens = root / "tokens.json"
    tokens.write_text(json.dumps({LIMITED: {"name": "재단 담당", "organizations": [ORG]},
                                  ALL_TOKEN: {"name": "전체 열람", "organizations": ["*"]}}, ensure_ascii=False))
    eng = Engine(engine.settings.with_overrides(corpus_dir=corpus, index_dir=index_dir, tokens_file=tokens))
    eng._encoder = engine.encoder
    return eng


@pytest.fixture(scope="module")
def app(access_engine):
    return create_app(access_engine, api_token=ADMIN)


def client_for(app, token: str) -> TestClient:
    return TestClient(app, headers={"Authorization": f"Bearer {token}"})


def files_of(body: dict) -> set[str]:
    return {c["file"] for c in body["citations"]} | {e["file"] for e in body["evidence"]}


def test_tokens_file_is_checked():
    with pytest.raises(TokensFileError):
        load_grants(Path("/nonexistent/tokens.json"))


def test_tokens_file_rejects_a_bad_entry(tmp_path):
    bad = tmp_path / "t.json"
    bad.write_text(json.dumps({"x": {"name": "a", "organizations": "서울디지털재단"}}))
    with pytest.raises(TokensFileError):
        load_grants(bad)
    assert Access("", None).open and not Access("t", None).open


def test_unknown_token_is_refused(app):
    assert client_for(app, "nope").get("/documents").status_code == 401
    assert TestClient(app).post("/ask", json={"question": FOUNDATION_Q}).status_code == 401


def test_documents_lists_only_the_organizations_reports(app, access_engine):
    limited = client_for(app, LIMITED).get("/documents").json()
    assert {d["file"] for d in limited} == OWN
    for token in (ADMIN, ALL_TOKEN):
        assert len(client_for(app, token).get("/documents").json()) == len(access_engine.index.docs)


def test_ask_for_another_organizations_figure(app):
    full = client_for(app, ADMIN).post("/ask", json={"question": FOUNDATION_Q}).json()
    assert FOUNDATION_FIGURE in full["answer"] and FOUNDATION in files_of(full)
    limited = client_for(app, LIMITED).post("/ask", json={"question": FOUNDATION_Q}).json()
    assert FOUNDATION_FIGURE not in json.dumps(limited, ensure_ascii=False)
    assert files_of(limited) <= OWN
    follow = client_for(app, LIMITED).post("/ask", json={"question": "그럼 2024년은?",
                                                          "conversation_id": limited["conversation_id"]}).json()
    assert files_of(follow) <= OWN


def test_ask_within_the_organization_still_answers(app):
    body = client_for(app, LIMITED).post("/ask", json={"question": "서울디지털재단 2024년 서울시출연금 예산현액 얼마예요?"}).json()
    assert "8,193,261" in body["answer"] and files_of(body) <= OWN


def test_search_ranks_only_the_organizations_chunks(app):
    hits = client_for(app, LIMITED).get("/search", params={"q": "서울시재단 세입 총괄 서울시 출연금", "k": 50}).json()
    assert hits and {h["file"] for h in hits} <= OWN
    assert not any(FOUNDATION_FIGURE in h["text"] for h in hits)
    # An explicit filter naming another organization's report yields nothing, not that report.
    other = client_for(app, LIMITED).get("/search", params={"q": "출연금", "file": FOUNDATION}).json()
    assert other == []


def test_openai_chat_is_filtered(app):
    reply = client_for(app, LIMITED).post("/v1/chat/completions", json={
        "model": "docqa", "messages": [{"role": "user", "content": FOUNDATION_Q}]}).json()
    assert FOUNDATION_FIGURE not in json.dumps(reply, ensure_ascii=False)
    assert {c["file"] for c in reply["docqa"]["citations"]} <= OWN
    with client_for(app, LIMITED).stream("POST", "/v1/chat/completions", json={
            "model": "docqa", "stream": True, "messages": [{"role": "user", "content": FOUNDATION_Q}]}) as r:
        streamed = "".join(r.iter_text())
    assert FOUNDATION_FIGURE not in streamed and "서울시재단" not in streamed.split("출처:")[-1]


def test_page_images_of_other_organizations_are_not_found(app):
    limited = client_for(app, LIMITED)
    assert limited.get(f"/documents/{FOUNDATION}/pages/3.png").status_code == 404
    assert limited.get("/documents/2024_서울디지털재단_주요업무보고.pdf/pages/3.png").status_code == 200
    assert client_for(app, ADMIN).get(f"/documents/{FOUNDATION}/pages/3.png").status_code == 200


def test_upload_lands_in_the_tokens_organization(app, access_engine):
    limited = client_for(app, LIMITED)
    text = "2026년 재단 시험 보고\n□ 사업 개요\n○ 재단 시험 사업 예산은 4,321백만원이다.\n".encode()
    r = limited.post("/documents", files={"file": ("2026_재단시험보고.txt", text, "text/plain")})
    assert r.status_code == 200, r.text
    doc = access_engine.index.document("2026_재단시험보고.txt")
    assert doc is not None and doc.organization == ORG
    assert "2026_재단시험보고.txt" in {d["file"] for d in limited.get("/documents").json()}
    # Another organization's report cannot be replaced through a restricted token.
    refused = limited.post("/documents", files={"file": (FOUNDATION, b"%PDF-1.4 x", "application/pdf")})
    assert refused.status_code == 403
    assert access_engine.index.document(FOUNDATION).organization == "서울시재단"
