"""llama-index retrievers over a DocIndex: dense (FAISS), lexical (kiwi BM25) and their fusion (index/fusion.py)."""
from __future__ import annotations

from llama_index.core.retrievers import BaseRetriever
from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode

from ingest.models import Chunk

from .fusion import FusionWeights, HybridSearch, SearchFilters
from .store import DocIndex, Encoder


def to_node(chunk: Chunk, score: float) -> NodeWithScore:
    node = TextNode(
        id_=chunk.id,
        text=chunk.text,
        metadata={k: getattr(chunk, k) for k in ("file", "title", "organization", "date", "page", "section", "kind",
                                                 "table_id", "unit", "caption")},
    )
    return NodeWithScore(node=node, score=score)


class _IndexRetriever(BaseRetriever):
    def __init__(self, index: DocIndex, k: int = 10, filters: SearchFilters | None = None) -> None:
        super().__init__()
        self.index = index
        self.k = k
        self.filters = filters or SearchFilters()

    def ranked(self, query: str, k: int) -> list[tuple[int, float]]:
        raise NotImplementedError

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        return [to_node(self.index.chunks[i], s) for i, s in self.ranked(query_bundle.query_str, self.k)]


class LexicalRetriever(_IndexRetriever):
    def ranked(self, query: str, k: int) -> list[tuple[int, float]]:
        return self.index.lexical_scores(query, self.filters.mask(self.index.chunks), k)


class DenseRetriever(_IndexRetriever):
    def __init__(self, index: DocIndex, encoder: Encoder, k: int = 10, filters: SearchFilters | None = None) -> None:
        super().__init__(index, k, filters)
        self.encoder = encoder

    def ranked(self, query: str, k: int) -> list[tuple[int, float]]:
        vector = self.encoder.embed_queries([query])[0]
        return self.index.dense_scores(vector, self.filters.mask(self.index.chunks), k)


class HybridRetriever(_IndexRetriever):
    """The fused search (index/fusion.py) as a llama-index retriever."""

    def __init__(self, index: DocIndex, encoder: Encoder | None, k: int = 10, filters: SearchFilters | None = None,
                 weights: FusionWeights | None = None) -> None:
        super().__init__(index, k, filters)
        self.search = HybridSearch(index, encoder, self.filters, weights)

    def ranked(self, query: str, k: int) -> list[tuple[int, float]]:
        return [(h.row, h.score) for h in self.search.hits(query, k)]
