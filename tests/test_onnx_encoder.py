"""Questions are embedded through ONNX Runtime with the same vectors and hits as sentence-transformers."""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from tests.conftest import REPO

GOLD = [json.loads(line)["question"] for line in (REPO / "eval" / "gold.jsonl").read_text(encoding="utf-8").splitlines()
        if line.strip()]


def _top5(engine, encoder, questions):
    from index.retriever import HybridRetriever

    return [[row for row, _ in HybridRetriever(engine.index, encoder, k=5).ranked(q, 5)] for q in questions]


@pytest.fixture(scope="module")
def torch_fp32(engine):
    """sentence-transformers in float32, as the graph was exported: the engine's own encoder may run bfloat16
    (DOCQA_EMBED_PRECISION=auto on a CPU with AMX), which embeds passages, not the questions compared here."""
    from index.embedder import Embedder

    if engine.encoder.precision == "float32":
        return engine.encoder
    return Embedder.from_dir(engine.model_dir, threads=engine.settings.threads, precision="float32")


def test_onnx_vectors_match_torch(engine, torch_fp32):
    from index.onnx_encoder import OnnxQueryEncoder

    onnx = engine.query_encoder
    assert isinstance(onnx, OnnxQueryEncoder)
    questions = GOLD[::8]
    a = np.concatenate([onnx.embed_queries([q]) for q in questions])
    b = torch_fp32.embed_queries(questions)
    assert a.shape == b.shape
    assert float((a * b).sum(axis=1).min()) >= 0.999
    # A padded batch gives each question the vector it gets alone.
    assert float((onnx.embed_queries(questions[:4]) * a[:4]).sum(axis=1).min()) >= 0.999


def test_onnx_same_top5_hits(engine, torch_fp32):
    questions = GOLD[::8]
    assert _top5(engine, engine.query_encoder, questions) == _top5(engine, torch_fp32, questions)


@pytest.mark.slow
def test_onnx_same_top5_hits_whole_gold_set(engine, torch_fp32):
    assert _top5(engine, engine.query_encoder, GOLD) == _top5(engine, torch_fp32, GOLD)


def test_missing_export_falls_back_with_one_line(engine, tmp_path, capsys):
    from app.engine import Engine

    eng = Engine(engine.settings.with_overrides(model_dir=engine.model_dir, model_cache=tmp_path))
    eng._encoder = engine.encoder
    assert eng.query_encoder is engine.encoder
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "ONNX" in err and "Traceback" not in err


def test_answering_never_imports_torch(engine):
    """A cold process answers the 2025 서울시 출연금 question with the ONNX encoder; torch, llama-index and the
    PDF parser (seconds of imports each) never loaded."""
    code = (
        "import sys, pathlib\n"
        "from app.config import Settings\nfrom app.engine import Engine\n"
        f"e = Engine(Settings().with_overrides(corpus_dir=pathlib.Path({str(engine.settings.corpus_dir)!r}),"
        f" index_dir=pathlib.Path({str(engine.settings.index_dir)!r})))\n"
        "a = e.ask('서울시재단 올해 서울시 출연금 예산 얼마야? 세입 총괄 기준으로 알려줘.')\n"
        "print(a.answer)\nprint([m for m in ('torch', 'sentence_transformers', 'llama_index', 'pdfplumber')"
        " if m in sys.modules])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], check=False, cwd=REPO, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    answer, imported = out.stdout.strip().splitlines()[-2:]
    assert "13,797,110" in answer
    assert imported == "[]"


def test_small_query_vocabulary_gives_the_full_tokenizers_ids(engine):
    """Questions are tokenized by the Korean/ASCII part of the 250k vocabulary (~70 MB instead of ~290 MB),
    with the ids the full tokenizer gives; a question with other characters (Hanja) uses the full one."""
    from tokenizers import Tokenizer

    from index.onnx_encoder import covered

    onnx = engine.query_encoder
    full = Tokenizer.from_file(str(engine.model_dir / "tokenizer.json"))
    full.enable_truncation(onnx.spec.max_length)
    texts = [c.text for c in engine.index.chunks[::5]] + GOLD + ["老人 복지 예산은?", "☎ 담당자 연락처 × 2"]
    normalize = onnx._tokenizer.normalizer.normalize_str
    assert sum(all(map(covered, normalize(t))) for t in texts) >= 0.9 * len(texts)
    assert not all(map(covered, normalize("老人 복지 예산은?")))
    for text in texts:
        ids, mask = onnx._encode([text])
        assert ids[0].tolist() == full.encode(text).ids, text[:60]
        assert mask[0].sum() == len(ids[0])
