"""An index that never loses documents by accident: refused folders, prune, duplicates, remove/reindex,
generation reloads and writers in separate processes."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app.cli import main as cli_main
from app.config import Settings
from app.engine import REMOVED_DIR, Engine
from index.store import Duplicate, index_stamp, resolve_index_dir, writer_lock
from ingest.models import Chunk
from ingest.pipeline import read_chunks

REPO = Path(__file__).resolve().parent.parent
PYTHON = sys.executable

A_TEXT = "Ⅰ. 현황\n□ 인 력 : 12명\n가 기관의 올해 사업은 도서관 운영이다."
B_TEXT = "Ⅰ. 현황\n□ 예산\n구 분\t2025 예산\t2024 예산\n계\t1,000\t900"


@pytest.fixture()
def small(tmp_path, engine):
    """A two-report corpus with its own index (the session's model, loaded once)."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text(A_TEXT, encoding="utf-8")
    (corpus / "b.txt").write_text(B_TEXT, encoding="utf-8")
    settings = Settings().with_overrides(corpus_dir=corpus, index_dir=tmp_path / "index", model_dir=engine.model_dir)
    eng = Engine(settings)
    eng._encoder = engine.encoder
    eng.build()
    return eng


def files_of(index_dir: Path) -> set[str]:
    """The indexed files, read from docs.json (loading the whole index costs a Kiwi model load)."""
    return {d["file"] for d in json.loads((resolve_index_dir(index_dir) / "docs.json").read_text(encoding="utf-8"))}


def chunks_of(index_dir: Path) -> list[Chunk]:
    return read_chunks(resolve_index_dir(index_dir) / "chunks.jsonl")


def generation_of(index_dir: Path) -> int:
    return json.loads((resolve_index_dir(index_dir) / "meta.json").read_text(encoding="utf-8"))["generation"]


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = cli_main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


# ------------------------------------------------------------------ refused folders
@pytest.mark.parametrize("content", ["empty", "unsupported", "unreadable"])
def test_folder_without_a_readable_report_is_refused_and_the_index_still_answers(small, tmp_path, capsys, content):
    # An empty folder used to remove every document from the index and exit 0.
    folder = tmp_path / content
    folder.mkdir()
    if content == "unsupported":
        (folder / "메모.docx").write_bytes(b"PK\x03\x04 not a report")
    if content == "unreadable":
        (folder / "깨진.pdf").write_bytes(b"%PDF-1.4\n not really a pdf \n%%EOF")
    index_dir = small.settings.index_dir
    before = index_stamp(index_dir)
    code, _, err = run_cli(capsys, "index", "--corpus", str(folder), "--index-dir", str(index_dir), "--quiet")
    assert code == 2
    last = err.strip().splitlines()[-1]
    assert last.startswith("오류: 코퍼스 폴더에") and "index left unchanged" in last
    if content == "unreadable":
        assert "깨진.pdf" in err  # the file's own one-line reason comes first
    assert index_stamp(index_dir) == before  # nothing written
    assert files_of(index_dir) == {"a.txt", "b.txt"}
    hits = small.search("도서관 운영", k=1)
    assert hits[0].file == "a.txt"


# ------------------------------------------------------------------ prune only when asked
def test_file_deleted_from_folder_stays_indexed_until_prune(small, capsys):
    corpus, index_dir = small.settings.corpus_dir, small.settings.index_dir
    (corpus / "b.txt").unlink()
    code, out, _ = run_cli(capsys, "index", "--corpus", str(corpus), "--index-dir", str(index_dir), "--quiet")
    assert code == 0
    (kept,) = [line for line in out.splitlines() if "--prune" in line]
    assert kept.startswith("폴더에 없는 문서 1개는 색인에 남겨 둡니다") and kept.endswith("b.txt")
    assert files_of(index_dir) == {"a.txt", "b.txt"}
    code, out, _ = run_cli(capsys, "index", "--corpus", str(corpus), "--index-dir", str(index_dir), "--quiet",
                           "--prune")
    assert code == 0 and "삭제 1" in out
    assert files_of(index_dir) == {"a.txt"}


# ------------------------------------------------------------------ duplicates by content
def test_same_content_under_another_name_is_indexed_once(small, capsys):
    corpus, index_dir = small.settings.corpus_dir, small.settings.index_dir
    chunks_before = len(chunks_of(index_dir))
    shutil.copyfile(corpus / "a.txt", corpus / "a_사본.txt")
    (corpus / "c.txt").write_text("Ⅰ. 개요\n□ 새 보고서: 공원 조성 사업", encoding="utf-8")
    (corpus / "c_사본.txt").write_text("Ⅰ. 개요\n□ 새 보고서: 공원 조성 사업", encoding="utf-8")
    report = small.build()
    assert report.duplicates == [Duplicate("a_사본.txt", "a.txt"), Duplicate("c_사본.txt", "c.txt")]
    assert report.added == ["c.txt"]
    assert files_of(index_dir) == {"a.txt", "b.txt", "c.txt"}
    chunks = chunks_of(index_dir)
    c_chunks = sum(c.file == "c.txt" for c in chunks)
    assert c_chunks > 0 and len(chunks) == chunks_before + c_chunks  # the copies added nothing
    code, out, _ = run_cli(capsys, "index", "--corpus", str(corpus), "--index-dir", str(index_dir), "--quiet")
    assert code == 0
    assert "중복: a_사본.txt 은(는) a.txt 와 내용이 같아 색인하지 않았습니다 (duplicate of a.txt)" in out.splitlines()


# ------------------------------------------------------------------ remove, reindex, documents
def test_remove_reindex_and_documents_from_the_cli(small, capsys):
    corpus, index_dir = small.settings.corpus_dir, small.settings.index_dir
    flags = ["--corpus", str(corpus), "--index-dir", str(index_dir)]
    code, out, _ = run_cli(capsys, "documents", "--json", *flags[2:])
    listed = {d["file"]: d for d in json.loads(out)}
    assert code == 0 and set(listed) == {"a.txt", "b.txt"}
    assert listed["a.txt"]["chunks"] > 0 and listed["a.txt"]["indexed_at"].endswith("+00:00")

    code, out, _ = run_cli(capsys, "remove", "b.txt", *flags)
    assert code == 0 and out.startswith("색인에서 뺐습니다: b.txt")
    assert files_of(index_dir) == {"a.txt"}
    assert (corpus / REMOVED_DIR / "b.txt").read_text(encoding="utf-8") == B_TEXT and not (corpus / "b.txt").exists()
    code, _, _ = run_cli(capsys, "index", *flags, "--quiet")  # a removed report does not come back
    assert code == 0 and files_of(index_dir) == {"a.txt"}

    code, out, err = run_cli(capsys, "remove", "없는문서.pdf", *flags)
    assert code == 2 and not out and len(err.strip().splitlines()) == 1 and "색인에 없는 문서입니다" in err


def test_reindex_reads_one_report_again(small, capsys):
    corpus, index_dir = small.settings.corpus_dir, small.settings.index_dir
    flags = ["--corpus", str(corpus), "--index-dir", str(index_dir)]
    generation = generation_of(index_dir)
    b_chunks = {c.id for c in chunks_of(index_dir) if c.file == "b.txt"}
    (corpus / "a.txt").write_text(A_TEXT.replace("도서관", "미술관"), encoding="utf-8")
    report = small.reindex("a.txt")  # the engine the CLI calls, here with the session's model already loaded
    assert report.replaced == ["a.txt"] and report.embedded > 0
    chunks = chunks_of(index_dir)
    assert generation_of(index_dir) == generation + 1
    assert any("미술관" in c.text for c in chunks) and not any("도서관" in c.text for c in chunks)
    assert {c.id for c in chunks if c.file == "b.txt"} == b_chunks  # the other report untouched
    # Unchanged, it is still read again (no new vectors needed: the chunks are the same).
    code, out, _ = run_cli(capsys, "reindex", "a.txt", *flags, "--quiet")
    assert code == 0 and out.startswith("다시 색인했습니다: a.txt") and "새로 임베딩 0개" in out
    assert out.rstrip().endswith(f"세대 {generation + 2}")

    code, _, err = run_cli(capsys, "reindex", "../a.txt", *flags)
    assert code == 2 and "코퍼스 폴더에 파일이 없습니다" in err


# ------------------------------------------------------------------ readers see newer generations
def test_a_running_engine_answers_from_a_generation_written_elsewhere(small):
    reader = Engine(small.settings)
    reader._encoder = small.encoder
    assert reader.search("공원 조성 사업", k=3)[0].file != "park.txt"
    loaded = reader.index
    writer = Engine(small.settings)  # another process's engine, as far as the reader can tell
    writer._encoder = small.encoder
    park = small.settings.corpus_dir / "park.txt"
    park.write_text("Ⅰ. 개요\n□ 공원 조성 사업 예산은 4,321백만원이다.", encoding="utf-8")
    report = writer.add_document(park)
    assert report.added == ["park.txt"]
    assert reader.search("공원 조성 사업 예산", k=1)[0].file == "park.txt"  # no restart, no explicit reload
    assert reader.index is not loaded and reader.index.generation == report.generation
    assert "park.txt" in {d.file for d in reader.documents()}
    writer.remove("park.txt")
    assert "park.txt" not in {d.file for d in reader.documents()}


# ------------------------------------------------------------------ writers in two processes
LOCK_HOLDER = """
import sys, time
from pathlib import Path
from index.store import writer_lock
with writer_lock(Path(sys.argv[1])):
    print("locked", flush=True)
    time.sleep(float(sys.argv[2]))
"""


def test_writer_lock_makes_another_process_wait(tmp_path):
    index_dir = tmp_path / "index"
    holder = subprocess.Popen([PYTHON, "-c", LOCK_HOLDER, str(index_dir), "1.5"], cwd=REPO, stdout=subprocess.PIPE,
                              text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        start = time.monotonic()
        with writer_lock(index_dir):
            waited = time.monotonic() - start
        assert waited > 0.5, f"took the lock after {waited:.2f}s while another process held it"
    finally:
        holder.wait(timeout=30)


# Each process loads its engine (and index) first, then both act at the same moment, from the same generation.
WRITER = """
import sys, time
from pathlib import Path
from app.config import Settings
from app.engine import Engine

corpus, index_dir, go, action, target = sys.argv[1:6]
engine = Engine(Settings().with_overrides(corpus_dir=Path(corpus), index_dir=Path(index_dir)))
engine.index
if action == "upload":
    engine.encoder
print("ready", flush=True)
while not Path(go).exists():
    time.sleep(0.01)
if action == "remove":
    engine.remove(target)
else:
    from app.api import store_upload
    store_upload(engine, Path(target).name, Path(target).read_bytes())
print("done", flush=True)
"""


def _run_writers(settings: Settings, tmp_path: Path, action: str, targets: list[str], timeout: float) -> None:
    go = tmp_path / "go"
    env = {**os.environ, "DOCQA_MODEL_DIR": str(settings.model_dir)}
    procs = [subprocess.Popen([PYTHON, "-c", WRITER, str(settings.corpus_dir), str(settings.index_dir), str(go),
                               action, t], cwd=REPO, env=env, stdout=subprocess.PIPE, text=True) for t in targets]
    try:
        for p in procs:
            assert p.stdout.readline().strip() == "ready"
        go.touch()
        for p in procs:
            assert p.wait(timeout=timeout) == 0
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()


def test_two_processes_removing_at_once_both_take_effect(small, tmp_path):
    (small.settings.corpus_dir / "c.txt").write_text("Ⅰ. 개요\n□ 공원 조성 사업", encoding="utf-8")
    small.build()
    _run_writers(small.settings, tmp_path, "remove", ["a.txt", "b.txt"], timeout=60)
    assert files_of(small.settings.index_dir) == {"c.txt"}


@pytest.mark.slow
def test_two_processes_uploading_at_once_both_end_up_indexed(small, tmp_path):
    # Each process loads the model: about 10-20 s each on a busy 2-core machine.
    uploads = tmp_path / "uploads"
    uploads.mkdir()
    for name, topic in [("serve_upload.txt", "자전거 도로 확충"), ("chat_upload.txt", "스마트 쉼터 설치")]:
        body = "\n\n".join(f"□ {topic} {i}\n○ {topic} {i}단계 예산은 {100 + i:,}백만원이다." for i in range(20))
        (uploads / name).write_text(body, encoding="utf-8")
    _run_writers(small.settings, tmp_path, "upload", [str(p) for p in sorted(uploads.iterdir())], timeout=600)
    assert files_of(small.settings.index_dir) == {"a.txt", "b.txt", "chat_upload.txt", "serve_upload.txt"}
    small._index = None
    assert small.search("자전거 도로 확충 3단계 예산", k=1)[0].file == "serve_upload.txt"
    assert small.search("스마트 쉼터 설치 3단계 예산", k=1)[0].file == "chat_upload.txt"


# ------------------------------------------------------------------ every writer saves the loadable layout
def test_every_writer_saves_bm25_scores_and_a_new_generation(small):
    from index.store import BM25_DIR, DocIndex

    index_dir = small.settings.index_dir
    park = small.settings.corpus_dir / "park.txt"
    park.write_text("Ⅰ. 개요\n□ 공원 조성 사업 예산은 4,321백만원이다.", encoding="utf-8")
    start = generation_of(index_dir)

    def folder_build():
        (small.settings.corpus_dir / "b.txt").unlink()
        return small.build(prune=True)

    for step, write in enumerate([lambda: small.add_document(park), lambda: small.reindex("a.txt"),
                                  lambda: small.remove("park.txt"), folder_build], 1):
        report = write()
        assert report.generation == generation_of(index_dir) == start + step
        assert (index_dir / BM25_DIR / "params.index.json").exists()
        assert not (index_dir / "faiss.index").exists()
        loaded = DocIndex.load(index_dir)
        assert loaded.generation == report.generation and loaded.bm25.size == len(loaded.chunks)
        assert len(loaded.tokens) == len(loaded.chunks)
    assert {d.file for d in small.documents()} == {"a.txt"}


# ------------------------------------------------------------------ an index tokenized by another analyzer
def test_index_tokenized_otherwise_is_tokenized_again_and_saved(small, capsys):
    """An index saved by an earlier analyzer (meta.json without this tokenizer's name, stale tokens) is searched
    with fresh tokens, and the next `docqa index` saves them, BM25 scores included."""
    from index.lexical import KoreanTokenizer
    from index.store import BM25_DIR, DocIndex

    folder = resolve_index_dir(small.settings.index_dir)
    meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    assert meta["tokenizer"] == KoreanTokenizer.name
    del meta["tokenizer"]
    (folder / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
    stale = [["낡은"] for _ in json.loads((folder / "tokens.json").read_text(encoding="utf-8"))]
    (folder / "tokens.json").write_text(json.dumps(stale, ensure_ascii=False), encoding="utf-8")

    loaded = DocIndex.load(small.settings.index_dir)
    assert loaded.upgradable()
    assert ["낡은"] not in loaded.tokens and any("도서관" in t for t in loaded.tokens)
    assert loaded.chunks[loaded.lexical_scores("도서관 운영", None, 1)[0][0]].file == "a.txt"

    small._index = None
    capsys.readouterr()
    assert small.index.upgradable()
    note = capsys.readouterr().err.strip()
    assert len(note.splitlines()) == 1 and "docqa index" in note
    small.build()
    saved = json.loads((resolve_index_dir(small.settings.index_dir) / "meta.json").read_text(encoding="utf-8"))
    assert saved["tokenizer"] == KoreanTokenizer.name
    again = DocIndex.load(small.settings.index_dir)
    assert not again.upgradable() and ["낡은"] not in again.tokens
    assert (resolve_index_dir(small.settings.index_dir) / BM25_DIR / "params.index.json").exists()
