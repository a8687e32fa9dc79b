"""Optional LLM mode against a local fake OpenAI-compatible server (loopback only, no network)."""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import ClassVar

import pytest

from app.config import Settings
from app.llm import check_answer, generate_answer
from ingest.models import TextChunk


def _chunk(text: str, page: int = 3) -> TextChunk:
    return TextChunk(id="c1", text=text, file="2025_서울시재단_주요업무보고.pdf", title="2025년 주요 업무보고",
                 organization="서울시재단", date="2025-11", page=page, section="세입 총괄")


CHUNKS = [_chunk("세입 총괄\n서울시 출연금 | 13,797,110 | 8,193,261"), _chunk("인력 : 57명", page=2)]


class FakeOpenAI(BaseHTTPRequestHandler):
    reply = ""
    seen: ClassVar[list[dict]] = []

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        FakeOpenAI.seen.append(body)
        payload = {
            "id": "x", "object": "chat.completion", "created": 0, "model": body.get("model", "m"),
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": FakeOpenAI.reply}}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
        }
        data = json.dumps(payload).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def fake_server():
    server = HTTPServer(("127.0.0.1", 0), FakeOpenAI)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/v1"
    server.shutdown()


def _settings(url: str) -> Settings:
    return Settings().with_overrides(llm_base_url=url, llm_model="fake", llm_timeout=5.0)


def test_generated_answer_keeps_figures_and_maps_markers(fake_server):
    FakeOpenAI.reply = "서울시 출연금은 13,797,110천원입니다 [1]."
    answer = generate_answer(_settings(fake_server), "서울시 출연금은?", CHUNKS)
    assert answer is not None and not answer.abstained
    assert "13,797,110" in answer.answer
    assert [(c.file, c.page) for c in answer.citations] == [("2025_서울시재단_주요업무보고.pdf", 3)]
    prompt = FakeOpenAI.seen[-1]["messages"][-1]["content"]
    assert "[1]" in prompt and "[2]" in prompt and "서울시 출연금은?" in prompt


def test_invented_figure_is_rejected(fake_server):
    FakeOpenAI.reply = "서울시 출연금은 14,000,000천원입니다 [1]."
    assert generate_answer(_settings(fake_server), "서울시 출연금은?", CHUNKS) is None


def test_uncited_answer_is_rejected(fake_server):
    FakeOpenAI.reply = "서울시 출연금은 13,797,110천원입니다."
    assert generate_answer(_settings(fake_server), "서울시 출연금은?", CHUNKS) is None


def test_refusal_becomes_abstention(fake_server):
    FakeOpenAI.reply = "문서에서 찾을 수 없습니다"
    answer = generate_answer(_settings(fake_server), "드론 예산은?", CHUNKS)
    assert answer is not None and answer.abstained


def test_unreachable_endpoint_falls_back():
    # Port 9 on loopback: connection refused at once, so the caller keeps its extractive answer.
    assert generate_answer(_settings("http://127.0.0.1:9/v1"), "질문", CHUNKS) is None


def test_figure_check_accepts_comma_free_spelling():
    answer = check_answer("q", "총 13797110천원 [1]", CHUNKS)
    assert answer is not None and answer.citations[0].page == 3


def test_a_generated_abstention_points_to_the_same_pages(fake_server, engine):
    """The LLM's "문서에서 찾을 수 없습니다" listed no pages to check, unlike the extractive abstention."""
    from app.engine import Engine

    FakeOpenAI.reply = "문서에서 찾을 수 없습니다"
    FakeOpenAI.seen.clear()
    llm = Engine(engine.settings.with_overrides(llm_base_url=fake_server, llm_model="fake", llm_timeout=5.0))
    answer = llm.ask("서울시재단 AI 해커톤 총상금은 얼마야?")
    assert len(FakeOpenAI.seen) == 1  # the endpoint answered, not the extractive path
    assert answer.abstained and answer.citations == []
    assert answer.related and {c.file for c in answer.related} == {"2025_서울시재단_주요업무보고.pdf"}


def test_a_program_the_reports_never_mention_is_not_asked_of_the_llm(fake_server, engine):
    """ "서울시재단 드론 사업": no context could back an answer, so the endpoint is not asked to guess."""
    from app.engine import Engine

    FakeOpenAI.reply = "드론 사업 예산은 254,600천원입니다. [1]"
    FakeOpenAI.seen.clear()
    llm = Engine(engine.settings.with_overrides(llm_base_url=fake_server, llm_model="fake", llm_timeout=5.0))
    answer = llm.ask("서울시재단 드론 사업 예산은?")
    assert FakeOpenAI.seen == []
    assert answer.abstained and answer.citations == []
    assert answer.related and {c.file for c in answer.related} == {"2025_서울시재단_주요업무보고.pdf"}
