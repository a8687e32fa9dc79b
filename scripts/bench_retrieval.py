"""Retrieval benchmark: R@1, R@5, MRR@10 of BM25, dense and fused retrieval against gold pages,
warm query latency and the memory of a loaded index. Fusion weights are chosen on half of the gold
set (odd item numbers) and reported on both halves, so the choice is not graded on its own data.

Usage: python scripts/bench_retrieval.py [--gold eval/gold.jsonl] [--index-dir var/index]
"""
from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.config import Settings
from app.engine import Engine
from index.fusion import FusionWeights
from index.retriever import DenseRetriever, HybridRetriever, LexicalRetriever


def metrics(ranks: list[int | None]) -> dict[str, float]:
    n = len(ranks) or 1
    return {
        "R@1": sum(r is not None and r < 1 for r in ranks) / n,
        "R@5": sum(r is not None and r < 5 for r in ranks) / n,
        "MRR@10": sum(1 / (r + 1) for r in ranks if r is not None and r < 10) / n,
    }


def first_hit(rows: list[int], chunks, item: dict) -> int | None:
    for rank, row in enumerate(rows):
        c = chunks[row]
        if c.file == item["file"] and c.page == item["page"]:
            return rank
    return None


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--gold", type=Path, default=Path("eval/gold.jsonl"))
    ap.add_argument("--index-dir", type=Path)
    args = ap.parse_args()
    engine = Engine(Settings().with_overrides(index_dir=args.index_dir))
    index = engine.index
    encoder = engine.encoder
    from index.fusion import SearchFilters

    def scoped(question: str) -> SearchFilters:
        return SearchFilters(**engine.scope(question).model_dump())
    items = [json.loads(x) for x in args.gold.read_text(encoding="utf-8").splitlines() if x.strip()]
    items = [i for i in items if i.get("page") and i.get("skill") != "unanswerable"]
    dev = [i for n, i in enumerate(items) if n % 2]
    test = [i for n, i in enumerate(items) if not n % 2]

    def run(retriever, subset):
        return [first_hit([r for r, _ in retriever.ranked(i["question"], 10)], index.chunks, i) for i in subset]

    results = {}
    for name, r in {"bm25": LexicalRetriever(index, k=10), "dense": DenseRetriever(index, encoder, k=10)}.items():
        results[name] = {"dev": metrics(run(r, dev)), "test": metrics(run(r, test))}

    grid = []
    for dense in (0.0, 0.3, 0.5, 0.7, 1.0, 1.5, 2.0):
        for rrf_k in (10, 20, 60):
            for boost in (0.0, 0.02):
                w = FusionWeights(dense=dense, rrf_k=rrf_k, table_boost=boost)
                m = metrics(run(HybridRetriever(index, encoder, k=10, weights=w), dev))
                grid.append((m["MRR@10"], dense, rrf_k, boost))
    best = max(grid)
    w = FusionWeights(dense=best[1], rrf_k=best[2], table_boost=best[3])
    fused = HybridRetriever(index, encoder, k=10, weights=w)
    results["fused"] = {"dev": metrics(run(fused, dev)), "test": metrics(run(fused, test)),
                        "weights": {"dense": w.dense, "rrf_k": w.rrf_k, "table_boost": w.table_boost}}
    default = HybridRetriever(index, encoder, k=10)
    results["fused_default"] = {"dev": metrics(run(default, dev)), "test": metrics(run(default, test))}

    def run_scoped(subset):  # what docqa search/ask do: the report the question names, then fusion
        return [first_hit([r for r, _ in HybridRetriever(index, encoder, k=10, filters=scoped(i["question"]))
                           .ranked(i["question"], 10)], index.chunks, i) for i in subset]

    results["fused_scoped"] = {"dev": metrics(run_scoped(dev)), "test": metrics(run_scoped(test))}

    latencies = []
    for i in items[:60]:
        t = time.perf_counter()
        default.ranked(i["question"], 10)
        latencies.append((time.perf_counter() - t) * 1000)
    latencies.sort()
    results["latency_ms"] = {"p50": statistics.median(latencies), "p95": latencies[int(0.95 * (len(latencies) - 1))]}
    results["max_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    results["items"] = {"dev": len(dev), "test": len(test)}
    print(json.dumps(results, ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
