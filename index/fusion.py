"""Hybrid search over a DocIndex: kiwi BM25 and dense ranks fused by weighted RRF, with metadata filters.

Kept apart from the llama-index retrievers (index/retriever.py) so that answering a question, which needs
only these hits, does not import llama-index (~0.8 s at start-up).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ingest.models import Chunk, TableChunk
from ingest.normalize import compact

from .store import DocIndex, Encoder


@dataclass
class SearchFilters:
    """Metadata filters, applied before ranking. Empty lists mean no restriction."""

    files: list[str] = field(default_factory=list)
    organizations: list[str] = field(default_factory=list)
    years: list[int] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)

    def mask(self, chunks: list[Chunk]) -> np.ndarray | None:
        if not (self.files or self.organizations or self.years or self.kinds):
            return None
        codes, representatives = _report_groups(chunks)
        return np.array([self.accepts(c) for c in representatives], dtype=bool)[codes]

    def accepts(self, c: Chunk) -> bool:
        if self.files and c.file not in self.files:
            return False
        if self.organizations and not any(o in c.organization or c.organization in o for o in self.organizations):
            return False
        if self.years and not any(str(y) in c.date[:4] or str(y) in c.title for y in self.years):
            return False
        return not self.kinds or c.kind in self.kinds


_GROUPS: dict[int, tuple[list[Chunk], np.ndarray, list[Chunk]]] = {}


def _report_groups(chunks: list[Chunk]) -> tuple[np.ndarray, list[Chunk]]:
    """Each chunk's group of chunks sharing every field a filter reads, and one chunk per group.

    A filter is decided once per group (about one per report) instead of once per chunk: at 10^5 chunks
    the per-chunk loop took ~70 ms and runs several times per question.
    """
    cached = _GROUPS.get(id(chunks))
    if cached is not None and cached[0] is chunks and len(cached[1]) == len(chunks):
        return cached[1], cached[2]
    keys: dict[tuple, int] = {}
    representatives: list[Chunk] = []
    codes = np.empty(len(chunks), dtype=np.int32)
    for i, c in enumerate(chunks):
        key = (c.file, c.organization, c.date, c.title, c.kind)
        code = keys.get(key)
        if code is None:
            code = keys[key] = len(representatives)
            representatives.append(c)
        codes[i] = code
    if len(_GROUPS) >= 4:  # a few loaded indexes at most (a reload keeps the old one until readers finish)
        _GROUPS.pop(next(iter(_GROUPS)))
    _GROUPS[id(chunks)] = (chunks, codes, representatives)
    return codes, representatives


@dataclass
class FusionWeights:
    """Weighted reciprocal-rank fusion; values chosen on the project's gold set (docs/retrieval.md)."""

    lexical: float = 1.0
    dense: float = 1.0
    rrf_k: int = 20
    table_boost: float = 0.02
    depth: int = 50


@dataclass(frozen=True)
class Hit:
    """One retrieved chunk with what each retriever thought of it (ranks are 0-based, None when unranked)."""

    chunk: Chunk
    row: int  # position in the index
    score: float  # fused
    lexical_rank: int | None = None
    dense_rank: int | None = None
    dense_score: float = 0.0  # cosine to the question


class HybridSearch:
    """Weighted RRF of lexical and dense ranks, plus a boost for a table naming the asked row and column."""

    def __init__(self, index: DocIndex, encoder: Encoder | None, filters: SearchFilters | None = None,
                 weights: FusionWeights | None = None) -> None:
        self.index = index
        self.encoder = encoder
        self.filters = filters or SearchFilters()
        self.weights = weights or FusionWeights()

    def hits(self, query: str, k: int) -> list[Hit]:
        w = self.weights
        mask = self.filters.mask(self.index.chunks)
        backend = getattr(self.index, "backend", None)  # set by the engine when DOCQA_BACKEND=milvus
        if backend is not None:
            return self._backend_hits(backend, query, mask, k)
        fused: dict[int, float] = {}
        lexical: dict[int, int] = {}
        dense: dict[int, tuple[int, float]] = {}
        for rank, (row, _) in enumerate(self.index.lexical_scores(query, mask, w.depth)):
            fused[row] = fused.get(row, 0.0) + w.lexical / (w.rrf_k + rank + 1)
            lexical[row] = rank
        if self.encoder is not None and w.dense > 0:
            vector = self.encoder.embed_queries([query])[0]
            for rank, (row, cosine) in enumerate(self.index.dense_scores(vector, mask, w.depth)):
                fused[row] = fused.get(row, 0.0) + w.dense / (w.rrf_k + rank + 1)
                dense[row] = (rank, cosine)
        if w.table_boost:
            q = compact(query)
            for row in fused:
                if table_match(self.index.chunks[row], q):
                    fused[row] += w.table_boost
        top = sorted(fused.items(), key=lambda item: -item[1])[:k]
        return [Hit(self.index.chunks[row], row, score, lexical.get(row), *dense.get(row, (None, 0.0)))
                for row, score in top]

    def _backend_hits(self, backend, query: str, mask: np.ndarray | None, k: int) -> list[Hit]:
        """One hybrid request fused by the backend's RRF; the table boost is added here, as for FAISS."""
        w = self.weights
        files = None
        if mask is not None:
            codes, representatives = _report_groups(self.index.chunks)
            files = sorted({representatives[g].file for g in np.unique(codes[mask])})
        vector = self.encoder.embed_queries([query])[0] if self.encoder is not None and w.dense > 0 else None
        found = backend.hybrid(self.index.tokenizer(query), vector, files, w.depth, w.rrf_k, w.depth)
        q = compact(query)
        scored = [(row, score + (w.table_boost if w.table_boost and table_match(self.index.chunks[row], q) else 0.0),
                   cosine) for row, score, cosine in found]
        scored.sort(key=lambda item: -item[1])
        return [Hit(self.index.chunks[row], row, score, None, None, cosine) for row, score, cosine in scored[:k]]


def table_match(chunk: Chunk, compact_query: str) -> bool:
    """The question names both a row label and a column label of this table chunk."""
    if not isinstance(chunk, TableChunk):
        return False
    row_hit = any(_label_in(r.header, compact_query) for r in chunk.rows)
    col_hit = any(_label_in(c, compact_query) for c in chunk.value_columns)
    return row_hit and col_hit


def _label_in(label: str, compact_query: str) -> bool:
    c = compact(label)
    if len(c) < 2:
        return False
    if c in compact_query:
        return True
    # Multi-word column labels ("2025 예산현액") count when every part is asked for.
    parts = [compact(p) for p in label.split() if len(compact(p)) >= 2]
    return len(parts) > 1 and all(p in compact_query for p in parts)
