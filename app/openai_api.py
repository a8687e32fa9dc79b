"""OpenAI-compatible chat API, so chat front-ends and gateways that speak it can use docqa as model `docqa`.

`POST /v1/chat/completions` answers the last user message, with the earlier user messages as the conversation
(follow-ups are resolved as in `/ask`); the reply is the answer followed by its numbered sources
("[1] 제목 · p.N"). `stream: true` sends the same reply as server-sent events ending with `data: [DONE]`.
"""
from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any, Literal

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from .models import Answer, Citation

MODEL_ID = "docqa"
STREAM_PIECE_CHARS = 24  # the answer is whole at once; pieces only let a front-end show it as it arrives
MAX_MESSAGE_CHARS = 2000


class Message(BaseModel):
    model_config = ConfigDict(extra="ignore")

    role: str
    content: str | list[dict[str, Any]] | None = None

    def text(self) -> str:
        """Plain text of a message; OpenAI clients may send content as a list of typed parts."""
        if isinstance(self.content, list):
            return " ".join(str(p.get("text", "")) for p in self.content if p.get("type") == "text")
        return self.content or ""


class ChatRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")  # temperature, max_tokens, ... mean nothing to an extractive answer

    model: str = MODEL_ID
    messages: list[Message] = Field(min_length=1)
    stream: bool = False


class ModelCard(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str = "docqa"


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelCard]


def source_lines(citations: list[Citation], titles: dict[str, str]) -> list[str]:
    """ "[1] 2025년 주요 업무보고 (서울시재단) · p.3", as staff cite reports."""
    out = []
    for i, c in enumerate(citations, start=1):
        page = f"p.{c.page}" if c.page else "쪽 없음"
        out.append(f"[{i}] {titles.get(c.file, c.title)} · {page}")
    return out


def reply_text(answer: Answer, titles: dict[str, str]) -> str:
    if answer.abstained and answer.related:
        return answer.answer + "\n\n확인해 볼 만한 곳:\n" + "\n".join(source_lines(answer.related, titles))
    if answer.abstained or not answer.citations:
        return answer.answer
    return answer.answer + "\n\n출처:\n" + "\n".join(source_lines(answer.citations, titles))


def display_titles(docs) -> dict[str, str]:
    """file -> title, with the organization added where two reports share a title."""
    counts: dict[str, int] = {}
    for d in docs:
        counts[d.title] = counts.get(d.title, 0) + 1
    return {d.file: f"{d.title} ({d.organization})" if counts[d.title] > 1 and d.organization else d.title
            for d in docs}


def _questions(messages: list[Message]) -> list[str]:
    if messages[-1].role != "user":
        raise HTTPException(422, "마지막 메시지는 사용자(user) 질문이어야 합니다")
    questions = [" ".join(m.text().split()) for m in messages if m.role == "user"]
    last = questions[-1]
    if not 1 <= len(last) <= MAX_MESSAGE_CHARS:
        raise HTTPException(422, f"질문을 입력해 주세요: 공백을 뺀 1~{MAX_MESSAGE_CHARS}자여야 합니다")
    return [q for q in questions[:-1] if q] + [last]


def _chunk(cid: str, created: int, delta: dict, finish: str | None = None) -> str:
    body = {"id": cid, "object": "chat.completion.chunk", "created": created, "model": MODEL_ID,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
    return f"data: {json.dumps(body, ensure_ascii=False)}\n\n"


def _events(cid: str, created: int, text: str) -> Iterator[str]:
    yield _chunk(cid, created, {"role": "assistant", "content": ""})
    for start in range(0, len(text), STREAM_PIECE_CHARS):
        yield _chunk(cid, created, {"content": text[start:start + STREAM_PIECE_CHARS]})
    yield _chunk(cid, created, {}, "stop")
    yield "data: [DONE]\n\n"


def openai_router(conversations_for) -> APIRouter:
    """`conversations_for(grant)`: the conversation logic over the engine the caller's token may read; the grant
    is the one the API's token dependency put on `request.state`."""
    router = APIRouter(prefix="/v1", tags=["OpenAI 호환"])

    @router.get("/models", response_model=ModelList, summary="모델 목록 (docqa 하나)")
    def models() -> ModelList:
        return ModelList(data=[ModelCard(id=MODEL_ID, created=int(time.time()))])

    @router.post("/chat/completions", summary="OpenAI 호환 채팅 응답 (stream 지원)")
    def chat_completions(body: ChatRequest, request: Request) -> Any:
        conversations = conversations_for(request.state.grant)
        answer, resolution = conversations.replay(_questions(body.messages))
        text = reply_text(answer, display_titles(conversations.engine.index.docs))
        cid, created = f"chatcmpl-{uuid.uuid4().hex}", int(time.time())
        if body.stream:
            return StreamingResponse(_events(cid, created, text), media_type="text/event-stream",
                                     headers={"Cache-Control": "no-cache"})
        return {
            "id": cid, "object": "chat.completion", "created": created, "model": MODEL_ID,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
            # Not part of OpenAI's schema; clients ignore it, docqa-aware ones read the figures and pages.
            "docqa": {"resolved_question": resolution.resolved, "abstained": answer.abstained,
                      "citations": [c.model_dump() for c in answer.citations],
                      "evidence": [e.model_dump() for e in answer.evidence]},
        }

    return router
