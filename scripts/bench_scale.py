"""How build time, query latency and memory grow with the number of chunks.

    python scripts/bench_scale.py --chunks 100000 --json

Builds an index of N chunks from a real index (default: the corpus index in var/index): copies of its
reports under new names, each text chunk recombined with another report's text chunk (text and kiwi
morphemes alike, so nothing is re-analysed), with vectors generated as perturbed real vectors
(embedding 10^5 passages would take hours here). Then a separate process loads it as a server would and
answers the gold questions through the full path (scope, dense + lexical + fusion, answer), printing
one JSON line {"chunks", "build_s", "load_s", "query_p50_ms", "query_p95_ms", "retrieve_p50_ms",
"retrieve_p95_ms", "rss_mb", "dense"} (retrieve_*: scoped hybrid search alone, the part that grows with N).
With --recall, the approximate index's recall@10 against exact search is added for the same questions.
"""
from __future__ import annotations

import argparse
import json
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

GOLD = REPO / "eval" / "gold.jsonl"
_YEAR = re.compile(r"(?<!\d)(?:19|20)\d\d(?!\d)")
NOISE = 0.35  # perturbation of the copied vectors: neighbours stay meaningful, no two rows are equal


def synthesize(source, n: int, archive: str = "organizations", seed: int = 0):
    """N chunks, their vectors, tokens and documents, grown from `source` (a loaded DocIndex)."""
    from index.store import IndexedDocument

    rng = np.random.default_rng(seed)
    m = len(source.chunks)
    text_rows = np.array([i for i, c in enumerate(source.chunks) if c.kind == "text"])
    chunks, tokens, docs, origin = [], [], [], []
    copy = 0
    while len(chunks) < n:
        # Copy 0 is the real corpus as is, so the gold questions keep their answers.
        prefix = "" if copy == 0 else f"c{copy:05d}_"
        for i, c in enumerate(source.chunks[: n - len(chunks)]):
            t = source.tokens[i]
            if copy and c.kind == "text" and len(text_rows):
                k = int(rng.choice(text_rows))
                other = source.chunks[k]
                c = replace(c, text=c.text + "\n" + other.text, search_text=(c.search_text or c.text) + "\n"
                            + (other.search_text or other.text))
                t = t + source.tokens[k]
            chunks.append(_copy(replace(c, id=f"{prefix}{c.id}", file=prefix + c.file), copy, archive))
            tokens.append(t)
            origin.append(i)
        files = {ch.file for ch in chunks[-m:]}
        docs.extend(_copy(IndexedDocument(**{**d.__dict__, "file": prefix + d.file}), copy, archive)
                    for d in source.docs if prefix + d.file in files)
        copy += 1
    base = np.asarray(source.vectors)[origin]
    noise = rng.standard_normal(base.shape).astype(np.float32) * (NOISE / np.sqrt(base.shape[1]))
    noise[: min(m, n)] = 0.0
    vectors = base + noise
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return chunks, vectors.astype(np.float32), tokens, docs


def _copy(item, copy: int, archive: str):
    """Copy g of a chunk or document: another organization's report ("organizations": a city's archive of
    many bodies), or the same organization's report g years earlier ("years": one body's long history)."""
    if not copy:
        return item
    if archive == "years":
        back = lambda text: _YEAR.sub(lambda m: str(int(m.group()) - copy), text)
        return replace(item, file=back(item.file), date=back(item.date), title=back(item.title))
    renamed = replace(item, organization=f"가상{copy}{item.organization}")
    return replace(renamed, aliases=tuple(f"가상{copy}{a}" for a in item.aliases)) if hasattr(item, "aliases") else renamed


def build(source_dir: Path, n: int, out: Path, hnsw_from: int | None, archive: str) -> float:
    from index import dense
    from index.store import DocIndex

    source = DocIndex.load(source_dir)
    chunks, vectors, tokens, docs = synthesize(source, n, archive)
    if hnsw_from is not None:
        dense.HNSW_FROM = hnsw_from
    start = time.perf_counter()
    index = DocIndex(chunks, vectors, docs, source.model_id, source.tokenizer, tokens)
    index.save(out)
    return time.perf_counter() - start


def serve(index_dir: Path, questions: int, recall: bool) -> dict:
    """Runs in a fresh process: load as `docqa serve` does, then answer; memory is this process's peak."""
    from app.config import Settings
    from app.engine import Engine

    gold = [json.loads(line)["question"] for line in GOLD.read_text(encoding="utf-8").splitlines() if line.strip()]
    gold = gold[:: max(1, len(gold) // questions)][:questions]
    engine = Engine(Settings().with_overrides(index_dir=index_dir))
    start = time.perf_counter()
    _ = engine.index, engine.query_encoder, engine.scorer
    load_s = time.perf_counter() - start
    engine.ask(gold[0])  # the first question builds per-index caches; a server pays it once
    times = []
    for q in gold:
        t = time.perf_counter()
        engine.ask(q)
        times.append((time.perf_counter() - t) * 1000)
    retrieve = []
    for q in gold:
        t = time.perf_counter()
        engine.search(q, k=10)
        retrieve.append((time.perf_counter() - t) * 1000)
    result = {
        "load_s": round(load_s, 2),
        "query_p50_ms": round(float(np.percentile(times, 50)), 1),
        "query_p95_ms": round(float(np.percentile(times, 95)), 1),
        "retrieve_p50_ms": round(float(np.percentile(retrieve, 50)), 1),
        "retrieve_p95_ms": round(float(np.percentile(retrieve, 95)), 1),
        "rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "dense": "hnsw" if engine.index.dense.graph is not None else "exact",
    }
    if recall and engine.index.dense.graph is not None:
        result["recall_at_10"] = round(dense_recall(engine, gold), 4)
    return result


def dense_recall(engine, questions: list[str]) -> float:
    """Share of the exact top-10 that the approximate index also returns, averaged over questions."""
    from index.dense import _exact

    dense = engine.index.dense
    found = 0
    for q in questions:
        v = engine.query_encoder.embed_queries([q])[0]
        exact = {r for r, _ in _exact(dense.vectors, v, None, 10)}
        found += len(exact & {r for r, _ in dense.search(v, None, 10)})
    return found / (10 * len(questions))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--chunks", type=int, required=True)
    p.add_argument("--source", type=Path, default=REPO / "var" / "index", help="a built index to grow from")
    p.add_argument("--questions", type=int, default=60, help="gold questions timed")
    p.add_argument("--hnsw-from", type=int, default=None, help="override the exact/HNSW switch (rows)")
    p.add_argument("--recall", action="store_true", help="report HNSW recall@10 against exact search")
    p.add_argument("--archive", choices=("organizations", "years"), default="organizations",
                   help="copies as other organizations' reports, or as one organization's earlier years")
    p.add_argument("--keep", type=Path, default=None, help="write the index here instead of a temp dir")
    p.add_argument("--json", action="store_true", help="print one JSON line")
    p.add_argument("--serve", type=Path, default=None, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.serve:
        print(json.dumps(serve(args.serve, args.questions, args.recall)))
        return
    tmp = Path(tempfile.mkdtemp(prefix="docqa-bench-"))
    out = args.keep or tmp / "index"
    try:
        build_s = build(args.source, args.chunks, out, args.hnsw_from, args.archive)
        cmd = [sys.executable, __file__, "--chunks", str(args.chunks), "--serve", str(out),
               "--questions", str(args.questions)] + (["--recall"] if args.recall else [])
        served = subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=REPO)
        result = {"chunks": args.chunks, "archive": args.archive, "build_s": round(build_s, 2)} | json.loads(served.stdout.splitlines()[-1])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(json.dumps(result) if args.json else "\n".join(f"{k}: {v}" for k, v in result.items()))


if __name__ == "__main__":
    main()
