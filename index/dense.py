"""Dense search over the chunk vectors: exact up to a size, FAISS HNSW past it.

Exact search is one matrix-vector product over the (memory-mapped) vectors; a FAISS flat index would
only hold a second copy of them. Past `HNSW_FROM` rows an exact scan no longer fits the query budget
(docs/scale.md), so an HNSW graph is built, saved beside the vectors and read back at load.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

HNSW_FROM = 200_000  # rows; below this an exact scan keeps retrieval p95 under 250 ms here (docs/scale.md)
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 80
HNSW_EF_SEARCH = 128
EXACT_SUBSET = 50_000  # a filter leaving at most this many rows is searched exactly, whatever the size
GRAPH_FILE = "dense.hnsw.faiss"


class DenseIndex:
    def __init__(self, vectors: np.ndarray, graph=None) -> None:
        self.vectors = vectors
        self.graph = graph

    @classmethod
    def build(cls, vectors: np.ndarray) -> DenseIndex:
        if len(vectors) < HNSW_FROM:
            return cls(vectors)
        import faiss

        graph = faiss.IndexHNSWFlat(vectors.shape[1], HNSW_M, faiss.METRIC_INNER_PRODUCT)
        graph.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        graph.add(np.ascontiguousarray(vectors, dtype=np.float32))
        return cls(vectors, graph)

    def save(self, folder: Path) -> None:
        if self.graph is not None:
            import faiss

            faiss.write_index(self.graph, str(folder / GRAPH_FILE))

    @classmethod
    def load(cls, folder: Path, vectors: np.ndarray) -> DenseIndex:
        """The saved graph when there is one for these rows, else built (or exact below the threshold)."""
        path = folder / GRAPH_FILE
        if path.exists():
            import faiss

            graph = faiss.read_index(str(path))
            if graph.ntotal == len(vectors):
                return cls(vectors, graph)
        return cls.build(vectors)

    def search(self, query: np.ndarray, allowed: np.ndarray | None, k: int) -> list[tuple[int, float]]:
        """Top-k (row, cosine) among allowed rows; the filter applies before ranking."""
        n = len(self.vectors)
        if not n:
            return []
        q = np.ascontiguousarray(query, dtype=np.float32).reshape(-1)
        rows = None if allowed is None else np.flatnonzero(allowed)
        if rows is not None and not len(rows):
            return []
        if self.graph is None or (rows is not None and len(rows) <= EXACT_SUBSET):
            return _exact(self.vectors, q, rows, k)
        return self._approximate(q, rows, k)

    def _approximate(self, q: np.ndarray, rows: np.ndarray | None, k: int) -> list[tuple[int, float]]:
        import faiss

        params = faiss.SearchParametersHNSW(efSearch=max(HNSW_EF_SEARCH, k))
        if rows is not None:
            params.sel = faiss.IDSelectorBatch(rows.astype(np.int64))
        scores, ids = self.graph.search(q.reshape(1, -1), min(k, len(self.vectors)), params=params)
        return [(int(r), float(s)) for r, s in zip(ids[0], scores[0]) if r >= 0]


def _exact(vectors: np.ndarray, q: np.ndarray, rows: np.ndarray | None, k: int) -> list[tuple[int, float]]:
    scores = (vectors if rows is None else vectors[rows]) @ q
    top = top_k(scores, k)
    ids = top if rows is None else rows[top]
    return [(int(r), float(scores[t])) for r, t in zip(ids, top)]


def top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Positions of the k highest scores, ties by position as a stable full sort gives them, in O(n):
    at 10^5 rows a full argsort per search cost more than the search."""
    k = min(k, len(scores))
    if not k:
        return np.zeros(0, dtype=np.int64)
    kth = np.partition(scores, len(scores) - k)[len(scores) - k]
    candidates = np.flatnonzero(scores >= kth)
    return candidates[np.argsort(-scores[candidates], kind="stable")][:k]
