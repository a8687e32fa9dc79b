"""DOCQA_BACKEND=milvus: Milvus Lite inside the index folder answers like the default backend."""
from __future__ import annotations

import shutil

import pytest

pytest.importorskip("pymilvus")

QUESTION = "서울시재단 올해 서울시 출연금 예산 얼마야? 세입 총괄 기준으로 알려줘."


def test_milvus_lite_answers_the_2025_contribution(engine, tmp_path):
    from app.engine import Engine
    from index.milvus_backend import DB_FILE, MilvusBackend

    index_dir = tmp_path / "index"
    shutil.copytree(engine.settings.index_dir, index_dir)
    eng = Engine(engine.settings.with_overrides(index_dir=index_dir, backend="milvus"))
    eng._encoder = engine.encoder
    eng.build()
    assert (index_dir / DB_FILE).exists()
    assert isinstance(eng.index.backend, MilvusBackend)
    answer = eng.ask(QUESTION)
    assert "13,797,110" in answer.answer
    assert answer.citations[0].file == "2025_서울시재단_주요업무보고.pdf" and answer.citations[0].page == 3
    # Scoped to one report, every hit comes from it.
    hits = eng.retrieval().hits(QUESTION, ["2024_디지털정책관_예산안검토보고.pdf"], 10)
    assert hits and {h.chunk.file for h in hits} == {"2024_디지털정책관_예산안검토보고.pdf"}
    eng.index.backend.close()


def test_milvus_engine_reloads_a_generation_written_elsewhere(engine, tmp_path):
    from app.config import Settings
    from app.engine import Engine
    from index.milvus_backend import DB_FILE, MilvusBackend

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text("Ⅰ. 현황\n□ 인 력 : 12명\n가 기관의 올해 사업은 도서관 운영이다.", encoding="utf-8")
    settings = Settings().with_overrides(corpus_dir=corpus, index_dir=tmp_path / "index", model_dir=engine.model_dir)
    writer = Engine(settings)  # the default backend: another process's CLI or upload, as far as the reader can tell
    writer._encoder = engine.encoder
    writer.build()
    reader = Engine(settings.with_overrides(backend="milvus"))
    reader._encoder = engine.encoder
    assert reader.search("도서관 운영", k=1)[0].file == "a.txt"
    park = corpus / "park.txt"
    park.write_text("Ⅰ. 개요\n□ 공원 조성 사업 예산은 4,321백만원이다.", encoding="utf-8")
    report = writer.add_document(park)
    assert reader.search("공원 조성 사업 예산", k=1)[0].file == "park.txt"
    assert reader.index.generation == report.generation
    assert isinstance(reader.index.backend, MilvusBackend) and (settings.index_dir / DB_FILE).exists()
    reader.index.backend.close()
