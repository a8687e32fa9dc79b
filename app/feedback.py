"""Staff feedback on answers (👍/👎 with a comment), kept in SQLite; the 👎 ones exported as gold-set items.

An exported item carries the standalone question (a follow-up such as "그럼 2024년은?" means nothing alone),
the answer that was given and the page it cited; a maintainer writes the right answer, `must_include` and
`evidence`, then adds it to the eval set (eval/gold_tool.py validates it).
"""
from __future__ import annotations

import json
import re
import time
from pathlib import Path

from fastapi import APIRouter
from pydantic import BaseModel, Field, field_validator

from .models import Citation
from .state import connect

MAX_TEXT = 4000
EXPORT_ID_PREFIX = "g9"  # gold ids are gNNN-NNN; 9xx is free for items that come from feedback
_FIGURE = re.compile(r"\d[\d,]*(?:\.\d+)?")


class FeedbackIn(BaseModel):
    question: str = Field(min_length=1, max_length=MAX_TEXT, description="질문 (사용자가 입력한 그대로)")
    answer: str = Field(max_length=MAX_TEXT, description="받은 답변")
    rating: int = Field(description="1 = 👍, -1 = 👎")
    comment: str = Field("", max_length=MAX_TEXT, description="의견 (선택)")
    conversation_id: str | None = Field(None, max_length=64)
    resolved_question: str = Field("", max_length=MAX_TEXT, description="대화 맥락을 반영한 질문 (선택)")
    citations: list[Citation] = Field(default_factory=list, description="답변의 인용 (선택)")

    @field_validator("rating")
    @classmethod
    def _rating(cls, value: int) -> int:
        if value not in (1, -1):
            raise ValueError("rating 은 1(👍) 또는 -1(👎)이어야 합니다")
        return value


class FeedbackOut(BaseModel):
    id: int
    stored: bool = True


class FeedbackStore:
    def __init__(self, path: Path) -> None:
        self.path = path

    def add(self, item: FeedbackIn) -> int:
        citations = item.citations or self._turn_citations(item)
        resolved = item.resolved_question or self._turn_resolved(item) or item.question
        with connect(self.path) as conn:
            cur = conn.execute(
                "INSERT INTO feedback(created, question, answer, rating, comment, conversation_id, resolved_question,"
                " citations) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (time.time(), item.question.strip(), item.answer, item.rating, item.comment.strip(),
                 item.conversation_id, resolved, json.dumps([c.model_dump() for c in citations], ensure_ascii=False)),
            )
            return int(cur.lastrowid)

    def items(self, rating: int | None = None) -> list[dict]:
        with connect(self.path) as conn:
            conn.row_factory = _dict_row
            sql = "SELECT * FROM feedback" + (" WHERE rating = ?" if rating is not None else "") + " ORDER BY id"
            rows = conn.execute(sql, (rating,) if rating is not None else ()).fetchall()
        for r in rows:
            r["citations"] = json.loads(r["citations"])
        return rows

    def _turn(self, item: FeedbackIn) -> dict | None:
        """The conversation turn the feedback is about: the newest one with this question."""
        if not item.conversation_id:
            return None
        with connect(self.path) as conn:
            row = conn.execute("SELECT resolved, answer FROM turns WHERE conversation_id = ? AND question = ? "
                               "ORDER BY n DESC LIMIT 1", (item.conversation_id, item.question.strip())).fetchone()
        return {"resolved": row[0], "answer": json.loads(row[1])} if row else None

    def _turn_citations(self, item: FeedbackIn) -> list[Citation]:
        turn = self._turn(item)
        return [Citation(**c) for c in turn["answer"].get("citations", [])] if turn else []

    def _turn_resolved(self, item: FeedbackIn) -> str:
        turn = self._turn(item)
        return turn["resolved"] if turn else ""


def _dict_row(cursor, row) -> dict:
    return {d[0]: v for d, v in zip(cursor.description, row, strict=True)}


def gold_item(row: dict) -> dict:
    """A 👎 item in the gold-set format (eval/gold_tool.GoldItem): the answer given, the page it cited;
    `must_include` and `evidence` are left for the maintainer who corrects it."""
    from eval.gold_tool import GoldItem

    cited = row["citations"][0] if row["citations"] else {}
    n = int(row["id"])
    item = GoldItem(
        id=f"{EXPORT_ID_PREFIX}{n // 1000:02d}-{n % 1000:03d}",
        question=row["resolved_question"] or row["question"],
        answer=row["answer"],
        answer_type="number" if _FIGURE.search(row["answer"] or "") else "text",
        must_include=[], accept_any=[], skill="lookup", source="table" if _FIGURE.search(row["answer"] or "") else "prose",
        file=cited.get("file", ""), page=cited.get("page"), evidence="",
    )
    return item.to_dict()


def export_negative(store: FeedbackStore, out: Path) -> list[tuple[dict, dict]]:
    """Write every 👎 item to `out` (JSONL, gold format); returns (gold item, feedback row) pairs."""
    pairs = [(gold_item(r), r) for r in store.items(rating=-1)]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("".join(json.dumps(g, ensure_ascii=False) + "\n" for g, _ in pairs), encoding="utf-8")
    return pairs


def feedback_router(store: FeedbackStore) -> APIRouter:
    router = APIRouter()

    @router.post("/feedback", response_model=FeedbackOut, summary="답변에 대한 의견(👍/👎)을 남깁니다")
    def feedback(item: FeedbackIn) -> FeedbackOut:
        return FeedbackOut(id=store.add(item))

    return router
