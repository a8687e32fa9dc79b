"""Typed answer objects at the edge (CLI JSON, HTTP API, UI)."""
from __future__ import annotations

from pydantic import BaseModel, Field


class Citation(BaseModel):
    file: str
    title: str
    page: int | None = Field(None, description="1-based page; null when the source has no pages")
    section: str = ""
    quote: str = ""
    boxes: list[list[float]] = Field(default_factory=list,
                                     description="cited cell(s) with their row and column headers: x0, top, x1, bottom in PDF points")


class Evidence(BaseModel):
    """A figure (or sentence) the answer stands on, with where it is printed."""

    value: str
    unit: str = ""
    row: str = ""
    column: str = ""
    file: str
    page: int | None = None


class Answer(BaseModel):
    question: str
    answer: str
    abstained: bool
    citations: list[Citation] = Field(default_factory=list)
    evidence: list[Evidence] = Field(default_factory=list)
    related: list[Citation] = Field(
        default_factory=list,
        description="기권할 때 직접 확인해 볼 만한 가장 가까운 쪽들 (답의 근거가 아님; pages to check when abstaining)")
    latency_ms: float = 0.0


class Filters(BaseModel):
    """Restrict retrieval to some documents; empty means all."""

    files: list[str] = Field(default_factory=list)
    organizations: list[str] = Field(default_factory=list)
    years: list[int] = Field(default_factory=list)
    kinds: list[str] = Field(default_factory=list, description="chunk kinds: text, table")


class SearchHit(BaseModel):
    rank: int
    score: float
    file: str
    title: str
    page: int | None
    section: str
    kind: str
    text: str
    chunk_id: str


class DocumentInfo(BaseModel):
    file: str
    title: str
    organization: str
    date: str
    pages: int
    chunks: int
    tables: int
    indexed_at: str = Field("", description="이 판을 색인한 시각 (UTC, ISO 8601)")


ABSTAIN_TEXT = "문서에서 찾을 수 없습니다"
