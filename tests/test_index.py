"""Index: hybrid retrieval over the real corpus, per-document updates, crash safety, Korean lexical tokens."""
from __future__ import annotations

import shutil

import numpy as np
import pytest

from app.config import Settings
from app.engine import Engine
from app.models import Filters
from index.fusion import table_match
from index.lexical import KoreanTokenizer
from index.store import DocIndex, build_or_update
from ingest.normalize import compact


def test_search_returns_the_budget_row_first(engine):
    hits = engine.search("2025년 서울시 출연금 예산현액", k=5)
    top = hits[0]
    assert top.file == "2025_서울시재단_주요업무보고.pdf" and top.page == 3
    assert "서울시 출연금 | 13,797,110" in top.text


def test_unchanged_corpus_does_no_embedding_work(engine):
    report = engine.build()
    assert report.embedded == 0 and not report.added and not report.replaced and not report.removed
    assert len(report.unchanged) == 5


def test_filters_apply_before_ranking(engine):
    only = Filters(files=["2024_디지털정책관_예산안검토보고.pdf"])
    hits = engine.search("서울시 출연금", k=10, filters=only)
    assert hits and all(h.file == only.files[0] for h in hits)
    tables = engine.search("예산", k=10, filters=Filters(kinds=["table"], years=[2020]))
    assert tables and all(h.kind == "table" and h.file.startswith("2020_") for h in tables)


def test_numbers_match_as_written_and_without_commas():
    tokens = KoreanTokenizer()("서울시 출연금 13,797,110천원, 증감률 △61.4%")
    assert "13,797,110" in tokens and "13797110" in tokens and "61.4" in tokens
    assert "출연금" in tokens and "서울시" in tokens


def test_head_count_words_are_terms_of_their_own():
    # kiwi reads "현원" as 현(determiner)+원: BM25 matched a head count question on "원", a word of every budget line
    tokens = KoreanTokenizer()("현원 | 51명 | 정원하고 현원 | 국비랑 시비 | 리모델링비")
    assert tokens.count("현원") == 2 and "국비" in tokens and "정원" in tokens
    assert "리모델링비" in tokens and "리모델링" in tokens  # the pieces of a glued word still match


def test_compound_names_match_their_parts():
    # without kiwi's default dictionary (~70 MB of a serving process) compounds come out in their parts
    tokens = KoreanTokenizer()("서울특별시의회 균형발전")
    assert {"서울특별시", "의회", "균형", "발전"} <= set(tokens)


def test_table_boost_needs_row_and_column_of_one_table(engine):
    chunk = next(c for c in engine.index.chunks if c.kind == "table" and c.caption == "세입 총괄"
                 and c.file.startswith("2025_서울시재단"))
    assert table_match(chunk, compact("2025 예산현액 서울시 출연금"))
    assert not table_match(chunk, compact("서울시 출연금 얼마"))


@pytest.fixture()
def small_corpus(tmp_path, engine):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text("Ⅰ. 현황\n□ 인 력 : 12명\n가 기관의 올해 사업은 도서관 운영이다.", encoding="utf-8")
    (corpus / "b.txt").write_text("Ⅰ. 현황\n□ 예산\n구 분\t2025 예산\t2024 예산\n계\t1,000\t900", encoding="utf-8")
    settings = Settings().with_overrides(corpus_dir=corpus, index_dir=tmp_path / "index",
                                         model_dir=engine.model_dir)
    return corpus, settings


def _counts(index: DocIndex) -> dict[str, int]:
    out: dict[str, int] = {}
    for c in index.chunks:
        out[c.file] = out.get(c.file, 0) + 1
    return out


def test_changed_and_removed_files_touch_only_their_chunks(small_corpus, engine):
    corpus, settings = small_corpus
    eng = Engine(settings)
    eng._encoder = engine.encoder  # share the loaded model; the index under test is separate
    first = eng.build()
    assert sorted(first.added) == ["a.txt", "b.txt"] and first.embedded > 0
    before = DocIndex.load(settings.index_dir)
    b_ids = {c.id for c in before.chunks if c.file == "b.txt"}

    (corpus / "a.txt").write_text("Ⅰ. 현황\n□ 인 력 : 15명\n가 기관의 올해 사업은 박물관 운영이다.", encoding="utf-8")
    second = eng.build()
    assert second.replaced == ["a.txt"] and second.unchanged == ["b.txt"]
    after = DocIndex.load(settings.index_dir)
    assert {c.id for c in after.chunks if c.file == "b.txt"} == b_ids
    assert _counts(after)["a.txt"] == _counts(before)["a.txt"]  # replaced, not duplicated
    assert any("박물관" in c.text for c in after.chunks) and not any("도서관" in c.text for c in after.chunks)
    assert after.vectors.shape[0] == len(after.chunks)

    (corpus / "b.txt").unlink()
    third = eng.build()  # a file gone from the folder stays indexed until pruned
    assert third.missing == ["b.txt"] and not third.removed
    assert set(_counts(DocIndex.load(settings.index_dir))) == {"a.txt", "b.txt"}
    fourth = eng.build(prune=True)
    assert fourth.removed == ["b.txt"]
    assert set(_counts(DocIndex.load(settings.index_dir))) == {"a.txt"}


def test_crash_while_saving_leaves_previous_index_loadable(small_corpus, engine, monkeypatch):
    corpus, settings = small_corpus
    eng = Engine(settings)
    eng._encoder = engine.encoder
    eng.build()
    (corpus / "c.txt").write_text("Ⅰ. 현황\n새 보고서 내용입니다.", encoding="utf-8")

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(np, "save", boom)
    with pytest.raises(OSError):
        eng.build()
    monkeypatch.undo()
    survivor = DocIndex.load(settings.index_dir)
    assert set(_counts(survivor)) == {"a.txt", "b.txt"}
    # the interrupted swap: only the ".old" copy exists; loading falls back to it
    old = settings.index_dir.with_name(settings.index_dir.name + ".old")
    settings.index_dir.rename(old)
    assert set(_counts(DocIndex.load(settings.index_dir))) == {"a.txt", "b.txt"}
    shutil.rmtree(old)


def test_other_model_means_full_reembedding(small_corpus, engine):
    corpus, settings = small_corpus
    eng = Engine(settings)
    eng._encoder = engine.encoder
    eng.build()
    _, report = build_or_update(corpus, settings.index_dir, lambda: engine.encoder, "another-model:123")
    assert report.embedded == len(DocIndex.load(settings.index_dir).chunks)


def test_missing_corpus_folder_leaves_the_index_alone(small_corpus, engine, capsys):
    # A mistyped --corpus used to remove every document from the index.
    from app.cli import main as cli_main

    corpus, settings = small_corpus
    eng = Engine(settings)
    eng._encoder = engine.encoder
    eng.build()
    code = cli_main(["index", "--corpus", str(corpus.parent / "typo"), "--index-dir", str(settings.index_dir),
                     "--quiet"])
    assert code == 2 and "코퍼스 폴더가 없습니다" in capsys.readouterr().err
    assert set(_counts(DocIndex.load(settings.index_dir))) == {"a.txt", "b.txt"}


def test_word_rarity_is_counted_on_a_sample_of_a_large_index(engine, monkeypatch):
    """Counting a word over 10^5 chunks took ~50 ms (400 ms p95 per question); past IDF_SAMPLE chunks the
    rarity comes from an even sample, while whether a word occurs at all stays exact."""
    from index import retrieval

    index = engine.index
    exact = retrieval.Retrieval(index, None)
    n = len(index.chunks)
    assert exact.idf("출연금") == pytest.approx(np.log(1 + (n + 1) / (sum(
        "출연금" in compact(c.search_text or c.text).lower() for c in index.chunks) + 0.5)))
    monkeypatch.setattr(retrieval, "IDF_SAMPLE", 100)
    sampled = retrieval.Retrieval(index, None)
    assert len(sampled._sample) <= 100
    assert sampled.idf("출연금") != exact.idf("출연금")
    assert sampled.idf("xyzq없는말") == pytest.approx(np.log(1 + (len(sampled._sample) + 1) / 0.5))
    texts = [compact(c.search_text or c.text).lower() for c in index.chunks]
    word = next(w for t in texts for w in (t[:12], t[-12:]) if len(w) == 12 and not any(w in s for s in sampled._sample))
    assert sampled._doc_freq(word) == 0  # the sample never saw it...
    assert sampled.known(word) and not sampled.known("xyzq없는말")  # ...yet the index holds it


def test_following_lines_run_into_the_next_chunk_of_the_same_report(engine):
    from index.retrieval import Retrieval

    index = engine.index
    view = Retrieval(index, None)
    chunks = index.chunks
    def lines(c):
        return [ln.strip() for ln in c.text.split("\n") if ln.strip()]

    i = next(i for i in range(len(chunks) - 2) if chunks[i].file == chunks[i + 1].file == chunks[i + 2].file
             and chunks[i + 1].kind == chunks[i + 2].kind == "text" and len(lines(chunks[i + 1])) == 1)
    assert view.following_lines(chunks[i].id, 2) == lines(chunks[i + 1]) + lines(chunks[i + 2])[:1]
    boundary = next(i for i in range(len(chunks) - 1) if chunks[i].file != chunks[i + 1].file)
    assert view.following_lines(chunks[boundary].id, 3) == []  # another report is not read on into
    before_table = next(i for i in range(len(chunks) - 1) if chunks[i + 1].kind == "table")
    assert view.following_lines(chunks[before_table].id, 3) == []
    assert view.following_lines("no-such-chunk", 3) == []


def test_subtree_lines_hold_a_section_and_every_section_under_it_in_reading_order(engine):
    from index.retrieval import Retrieval

    view = Retrieval(engine.index, None)
    chunk = next(c for c in engine.index.chunks if c.kind == "text" and c.section.count(" > ") >= 2)
    parent = chunk.section.rsplit(" > ", 1)[0]
    under = view.subtree_lines(chunk.file, parent)
    own = view.section_lines(chunk.file, chunk.section)
    assert own and all(ln in under for ln in own)
    assert view.section_lines(chunk.file, parent) == under[:len(view.section_lines(chunk.file, parent))]
    assert view.subtree_lines(chunk.file, "no such section") == []
    # a section whose name merely starts like another's is not under it
    assert view.subtree_lines(chunk.file, chunk.section[:-1]) == []
