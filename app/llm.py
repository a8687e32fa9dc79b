"""Optional generated answers through an OpenAI-compatible endpoint (vLLM, Ollama, a site gateway).

The extractive answer stays the default and the fallback: a generated answer is only returned when it
cites the retrieved chunks with [n] markers and every figure in it appears verbatim in what it cites.
"""
from __future__ import annotations

import re

from ingest.models import Chunk

from .config import Settings
from .models import ABSTAIN_TEXT, Answer, Citation

SYSTEM_PROMPT = (
    "당신은 서울시 공무원을 돕는 보고서 질의응답 도우미입니다. 아래 [n] 번호가 붙은 발췌문만 근거로 한국어로 "
    "짧게 답하세요. 수치는 발췌문에 적힌 그대로(단위 포함) 옮기고, 근거 문장 뒤에 [n] 번호를 붙이세요. "
    f"발췌문에 답이 없으면 정확히 '{ABSTAIN_TEXT}'라고만 답하세요. 추측하지 마세요."
)
MAX_CONTEXT_CHARS = 1200
_MARKER = re.compile(r"\[(\d{1,2})\]")
_FIGURE = re.compile(r"\d[\d,]*(?:\.\d+)?")


def build_prompt(question: str, chunks: list[Chunk]) -> str:
    parts = []
    for n, c in enumerate(chunks, start=1):
        page = f"p.{c.page}" if c.page else "쪽 없음"
        parts.append(f"[{n}] {c.title} · {page} · {c.section}\n{c.text[:MAX_CONTEXT_CHARS]}")
    return "발췌문:\n" + "\n\n".join(parts) + f"\n\n질문: {question}\n답변:"


def generate_answer(settings: Settings, question: str, chunks: list[Chunk]) -> Answer | None:
    """A checked generated answer, or None so the caller keeps the extractive one."""
    if not settings.llm_base_url or not chunks:
        return None
    try:
        text = _complete(settings, build_prompt(question, chunks))
    except Exception:  # noqa: BLE001 - endpoint down, slow or malformed: the extractive answer stands
        return None
    return check_answer(question, text, chunks)


def check_answer(question: str, text: str, chunks: list[Chunk]) -> Answer | None:
    text = (text or "").strip()
    if not text:
        return None
    if ABSTAIN_TEXT.replace(" ", "") in text.replace(" ", "") and not _MARKER.search(text):
        return Answer(question=question, answer=ABSTAIN_TEXT, abstained=True, citations=[])
    cited = sorted({int(n) for n in _MARKER.findall(text) if 1 <= int(n) <= len(chunks)})
    if not cited:
        return None
    evidence = "".join(chunks[n - 1].text for n in cited).replace(" ", "")
    evidence_plain = evidence.replace(",", "")
    for figure in _FIGURE.findall(_MARKER.sub("", text)):
        if figure not in evidence and figure.replace(",", "") not in evidence_plain:
            return None  # a figure the cited chunks do not contain: never pass it on
    citations = [
        Citation(file=c.file, title=c.title, page=c.page, section=c.section, quote=c.text.split("\n")[0][:160])
        for c in (chunks[n - 1] for n in cited)
    ]
    return Answer(question=question, answer=text, abstained=False, citations=citations)


def _complete(settings: Settings, prompt: str) -> str:
    from llama_index.core.llms import ChatMessage
    from llama_index.llms.openai_like import OpenAILike

    llm = OpenAILike(
        model=settings.llm_model or "default",
        api_base=settings.llm_base_url,
        api_key=settings.llm_api_key or "not-needed",
        is_chat_model=True,
        timeout=settings.llm_timeout,
        max_retries=0,
        temperature=0.0,
    )
    response = llm.chat([ChatMessage(role="system", content=SYSTEM_PROMPT), ChatMessage(role="user", content=prompt)])
    return response.message.content or ""
