"""Milvus backend (DOCQA_BACKEND=milvus): vectors, kiwi morphemes for BM25 and filter fields in Milvus,
searched in one hybrid request fused by Milvus's RRF ranker.

By default Milvus Lite, a file at <index-dir>/milvus.db with nothing to start; DOCQA_MILVUS_URI points
the same code at a Milvus standalone or cluster. Chunks, documents and the answer engine's view stay in
the docqa index folder: Milvus holds what is searched, rows are the index's row numbers.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

COLLECTION = "docqa_chunks"
DB_FILE = "milvus.db"
BATCH = 500
STATE = "milvus.json"  # which index generation the collection holds


class MilvusBackend:
    def __init__(self, uri: str) -> None:
        from pymilvus import MilvusClient

        self.uri = uri
        self.client = MilvusClient(uri)

    @classmethod
    def for_index(cls, index_dir: Path, uri: str = "") -> MilvusBackend:
        return cls(uri or str(Path(index_dir).resolve() / DB_FILE))

    def close(self) -> None:
        self.client.close()

    # ------------------------------------------------------------ writing
    def sync(self, index, index_dir: Path) -> bool:
        """Rewrite the collection from the index unless it already holds this index; True when written."""
        key = _index_key(index)
        state = Path(index_dir) / STATE
        if self.client.has_collection(COLLECTION) and state.exists() and json.loads(state.read_text()) == key:
            self.client.load_collection(COLLECTION)  # a new connection finds it released
            return False
        if self.client.has_collection(COLLECTION):
            self.client.drop_collection(COLLECTION)
        self._create(int(index.vectors.shape[1]))
        for start in range(0, len(index.chunks), BATCH):
            rows = range(start, min(start + BATCH, len(index.chunks)))
            self.client.insert(COLLECTION, [_entity(index, i) for i in rows])
        self.client.flush(COLLECTION)
        state.write_text(json.dumps(key))
        return True

    def _create(self, dim: int) -> None:
        from pymilvus import DataType, Function, FunctionType

        schema = self.client.create_schema(auto_id=False)
        schema.add_field("row", DataType.INT64, is_primary=True)
        schema.add_field("vector", DataType.FLOAT_VECTOR, dim=dim)
        # Space-joined kiwi morphemes: Milvus's "standard" tokenizer cannot split Korean into morphemes itself.
        schema.add_field("words", DataType.VARCHAR, max_length=65535, enable_analyzer=True,
                         analyzer_params={"tokenizer": "standard"})
        schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
        schema.add_field("file", DataType.VARCHAR, max_length=1024)
        schema.add_field("organization", DataType.VARCHAR, max_length=1024)
        schema.add_field("year", DataType.INT64)
        schema.add_field("kind", DataType.VARCHAR, max_length=64)
        schema.add_function(Function(name="bm25", function_type=FunctionType.BM25, input_field_names=["words"],
                                     output_field_names=["sparse"]))
        params = self.client.prepare_index_params()
        params.add_index("vector", index_type="FLAT", metric_type="IP")
        params.add_index("sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25")
        self.client.create_collection(COLLECTION, schema=schema, index_params=params)

    # ------------------------------------------------------------ searching
    def hybrid(self, words: list[str], vector: np.ndarray | None, files: list[str] | None, depth: int,
               rrf_k: int, k: int) -> list[tuple[int, float, float]]:
        """(row, RRF score, cosine to the question) of the top k, best first; `files` None means all."""
        from pymilvus import AnnSearchRequest, RRFRanker

        if files is not None and not files:
            return []
        expr = f"file in {json.dumps(files, ensure_ascii=False)}" if files is not None else ""
        requests = []
        if words:
            requests.append(AnnSearchRequest([" ".join(words)], "sparse", {"metric_type": "BM25"}, limit=depth,
                                             expr=expr))
        if vector is not None:
            requests.append(AnnSearchRequest([vector.astype(np.float32).tolist()], "vector", {"metric_type": "IP"},
                                             limit=depth, expr=expr))
        if not requests:
            return []
        result = self.client.hybrid_search(COLLECTION, requests, RRFRanker(rrf_k), limit=k, output_fields=["vector"])
        out = []
        for hit in result[0]:
            cosine = float(np.dot(np.asarray(hit["entity"]["vector"], dtype=np.float32), vector)) if vector is not None \
                else 0.0
            out.append((int(hit["row"] if "row" in hit else hit["id"]), float(hit["distance"]), cosine))
        return out


def _entity(index, i: int) -> dict:
    c = index.chunks[i]
    year = c.date[:4]
    return {"row": i, "vector": np.asarray(index.vectors[i], dtype=np.float32).tolist(),
            "words": " ".join(index.tokens[i]) or "_", "file": c.file, "organization": c.organization,
            "year": int(year) if year.isdigit() else 0, "kind": c.kind}


def _index_key(index) -> dict:
    return {"model_id": index.model_id, "chunks": len(index.chunks),
            "ids": hashlib.sha1("\n".join(c.id for c in index.chunks).encode()).hexdigest()}
