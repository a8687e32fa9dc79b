"""Growth: the bench script at a small size, and the approximate dense index against exact search."""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from tests.conftest import REPO


def test_bench_scale_prints_one_json_line(engine):
    out = subprocess.run(
        [sys.executable, "scripts/bench_scale.py", "--chunks", "2000", "--questions", "5", "--json",
         "--source", str(engine.settings.index_dir)],
        check=False, cwd=REPO, capture_output=True, text=True, timeout=300,
    )
    assert out.returncode == 0, out.stderr
    lines = out.stdout.strip().splitlines()
    assert len(lines) == 1
    result = json.loads(lines[0])
    assert result["chunks"] == 2000
    for key in ("build_s", "query_p50_ms", "query_p95_ms", "rss_mb"):
        assert isinstance(result[key], int | float) and result[key] > 0, key
    assert result["query_p50_ms"] <= result["query_p95_ms"]
    assert result["dense"] == "exact"


def test_hnsw_finds_what_exact_search_finds(monkeypatch, tmp_path):
    from index import dense

    rng = np.random.default_rng(1)
    vectors = rng.standard_normal((3000, 64)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    monkeypatch.setattr(dense, "HNSW_FROM", 1000)
    index = dense.DenseIndex.build(vectors)
    assert index.graph is not None
    index.save(tmp_path)
    loaded = dense.DenseIndex.load(tmp_path, vectors)
    assert loaded.graph is not None and loaded.graph.ntotal == len(vectors)
    queries = vectors[:50] + 0.1 * rng.standard_normal((50, 64)).astype(np.float32)
    found = 0
    for q in queries:
        exact = {r for r, _ in dense._exact(vectors, q, None, 10)}
        found += len(exact & {r for r, _ in loaded.search(q, None, 10)})
    assert found / 500 >= 0.95
    # A filter leaving few rows is answered exactly, from those rows only.
    allowed = np.zeros(len(vectors), dtype=bool)
    allowed[100:140] = True
    rows = [r for r, _ in loaded.search(queries[0], allowed, 10)]
    assert rows == [r for r, _ in dense._exact(vectors, queries[0], np.flatnonzero(allowed), 10)]
    assert all(100 <= r < 140 for r in rows)


def test_saved_bm25_scores_match_a_rebuilt_index(engine, tmp_path):
    from index.lexical import BM25Index
    from index.store import BM25_DIR, DocIndex

    loaded = DocIndex.load(engine.settings.index_dir)
    assert (loaded._saved / BM25_DIR / "params.index.json").exists()
    rebuilt = BM25Index(loaded.tokens)
    words = engine.index.tokenizer("서울시 출연금 2025 예산현액")
    allowed = np.array([c.file.startswith("2025") for c in loaded.chunks])
    assert np.allclose(loaded.bm25.scores(words), rebuilt.scores(words))
    masked = loaded.bm25.scores(words, allowed)
    assert np.all(masked[~allowed] == 0) and np.allclose(masked[allowed], rebuilt.scores(words)[allowed])
    assert not (engine.settings.index_dir / "faiss.index").exists()


def test_workers_come_from_environment_and_flags(monkeypatch):
    from app.config import Settings

    monkeypatch.setenv("DOCQA_WORKERS", "3")
    assert Settings().workers == 3
    assert Settings().with_overrides(workers=1).workers == 1


def test_bench_ingest_upload_is_answerable(engine):
    # Issue 12: the upload benchmark adds a report to a copy of a loaded index and asks about it at once.
    out = subprocess.run(
        [sys.executable, "scripts/bench_ingest.py", "--upload", "tests/fixtures/busan_gihoekgwan_p5-6.pdf",
         "--index-dir", str(engine.settings.index_dir), "--corpus", str(engine.settings.corpus_dir),
         "--workers", "2", "--question", "부울경초광역 경제동맹추진단 2025년 세출 예산은?"],
        check=False, cwd=REPO, capture_output=True, text=True, timeout=600,
    )
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["file"] == "busan_gihoekgwan_p5-6.pdf" and result["pages"] == 2 and result["chunks"] > 0
    assert 0 < result["upload_s"] <= result["until_answer_s"]
    assert "문서에서 찾을 수 없습니다" not in result["answer"]
    assert result["cited"][0] == "busan_gihoekgwan_p5-6.pdf" and "300" in result["answer"]


@pytest.mark.parametrize(("env", "argv", "named"), [
    ({"DOCQA_WORKERS": "abc"}, ["documents"], "DOCQA_WORKERS"),
    ({"DOCQA_THREADS": "0"}, ["documents"], "DOCQA_THREADS"),
    ({}, ["index", "--workers", "0"], "--workers"),
])
def test_a_bad_number_setting_is_one_line_and_exit_2(monkeypatch, capsys, env, argv, named):
    from app.cli import main

    for k, v in env.items():
        monkeypatch.setenv(k, v)
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and named in err and err.startswith("오류:")
