"""Corpus folder -> chunks: reads the manifest, parses each file, collects per-file failures."""
from __future__ import annotations

import json
import time
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path

from tqdm import tqdm

from .chunker import chunk_document
from .hwp_reader import HWP_SUFFIXES, read_hwp
from .models import Block, Chunk, DocumentMeta, ParsedDocument
from .pdf_reader import NO_TEXT, IngestError, pdf_page_count, read_pdf_part
from .structure import structure, table_key
from .text_reader import read_text

PDF_SUFFIXES = {".pdf"}
TEXT_SUFFIXES = {".txt", ".text", ".md"}
SUPPORTED = PDF_SUFFIXES | TEXT_SUFFIXES | HWP_SUFFIXES


@dataclass
class DocumentStats:
    file: str
    pages: int
    tables: int
    chunks: int
    seconds: float


@dataclass
class Failure:
    file: str
    reason: str

    def __str__(self) -> str:
        return f"{self.file}: {self.reason}"


@dataclass
class IngestResult:
    chunks: list[Chunk] = field(default_factory=list)
    documents: list[DocumentStats] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)


def load_manifest(corpus_dir: Path) -> dict[str, DocumentMeta]:
    """file name -> metadata; an absent manifest is fine (titles fall back to file names)."""
    path = corpus_dir / "manifest.json"
    if not path.exists():
        return {}
    entries = json.loads(path.read_text(encoding="utf-8"))
    fields = DocumentMeta.__dataclass_fields__
    metas = {}
    for e in entries:
        values = {k: v for k, v in e.items() if k in fields}
        values["aliases"] = tuple(values.get("aliases", ()))
        metas[e["file"]] = DocumentMeta(**values)
    return metas


def meta_for(path: Path, manifest: dict[str, DocumentMeta]) -> DocumentMeta:
    return manifest.get(path.name) or DocumentMeta(file=path.name, title=path.stem)


def corpus_files(corpus_dir: Path) -> list[Path]:
    """Report files directly in the corpus folder (sub-folders such as src/ hold sources, not reports)."""
    return sorted(p for p in corpus_dir.iterdir() if p.is_file() and p.suffix.lower() in SUPPORTED)


def ingest_file(path: Path, meta: DocumentMeta) -> tuple[list[Chunk], DocumentStats]:
    """One file in this process: what `ingest_paths` does per file with one worker."""
    blocks, pages, seconds = _join([_read(_Part(path))])
    return _chunk(ParsedDocument(meta, blocks, pages), seconds)


def _chunk(parsed: ParsedDocument, seconds: float) -> tuple[list[Chunk], DocumentStats]:
    start = time.perf_counter()
    doc = structure(parsed.blocks, table_key(parsed.meta.file))
    chunks = chunk_document(parsed.meta, doc)
    if not chunks:
        raise IngestError("추출된 내용이 없습니다 (no text could be extracted)")
    stats = DocumentStats(parsed.meta.file, parsed.pages, len({t.table_id for t in doc.tables}), len(chunks),
                          seconds + time.perf_counter() - start)
    return chunks, stats


# Pages read per task: a 70-page upload keeps two workers busy, and re-opening the PDF per task (~30 ms) is noise.
PAGES_PER_TASK = 8


@dataclass(frozen=True)
class _Part:
    """A unit of parsing work: a whole file, or a PDF's pages first..last (1-based, inclusive)."""

    path: Path
    first: int = 0
    last: int = 0


@dataclass
class _Read:
    """What a worker sends back for one part."""

    blocks: list[Block]
    pages: int  # the file's page count
    chars: int  # characters read (PDF): a whole file with none has no text layer
    seconds: float


def _read(part: _Part) -> _Read:
    start = time.perf_counter()
    suffix = part.path.suffix.lower()
    if suffix in PDF_SUFFIXES:
        pdf = read_pdf_part(part.path, range(part.first, part.last + 1) if part.last else None)
        return _Read(pdf.blocks, pdf.pages, pdf.chars, time.perf_counter() - start)
    if suffix in TEXT_SUFFIXES:
        blocks, pages = read_text(part.path)
    elif suffix in HWP_SUFFIXES:
        blocks, pages = read_hwp(part.path)
    else:
        raise IngestError(f"지원하지 않는 파일 형식입니다: {suffix} (unsupported file type; use PDF, HWP/HWPX or text)")
    return _Read(blocks, pages, 1, time.perf_counter() - start)


def _plan(path: Path, workers: int) -> list[_Part]:
    """Large PDFs are cut into page ranges so one long upload uses every worker."""
    if workers < 2 or path.suffix.lower() not in PDF_SUFFIXES:
        return [_Part(path)]
    pages = pdf_page_count(path)
    if pages <= PAGES_PER_TASK:
        return [_Part(path)]
    return [_Part(path, first, min(first + PAGES_PER_TASK - 1, pages))
            for first in range(1, pages + 1, PAGES_PER_TASK)]


def _failure(path: Path, exc: BaseException) -> Failure:
    if isinstance(exc, IngestError):
        return Failure(path.name, str(exc))
    if isinstance(exc, OSError):
        return Failure(path.name, f"파일을 읽을 수 없습니다 (cannot read file: {exc.strerror})")
    return Failure(path.name, f"처리 중 오류가 났습니다 (unexpected {type(exc).__name__}: {exc})")


def ingest_paths(paths: Iterable[Path], manifest: dict[str, DocumentMeta], progress: bool = False,
                 workers: int = 1) -> IngestResult:
    """Chunks of every file, in the order given. With `workers` > 1, files and page ranges of large PDFs are
    parsed in that many processes: parsing is pdfminer's pure-Python content-stream reading, so threads would not
    help. Pages are read independently of each other, so the chunks are the same as with one worker."""
    plans = [(path, _planned(path, workers)) for path in paths]
    result = IngestResult()
    bar = tqdm(total=len(plans), desc="문서 읽는 중 (ingest)", unit="문서", disable=not progress)
    parts = sum(len(plan) for _, plan in plans if isinstance(plan, list))
    with bar, _executor(workers if parts > 1 else 1) as pool:
        for path, outcome in _parsed(plans, pool):
            bar.update()
            if isinstance(outcome, BaseException):
                result.failures.append(_failure(path, outcome))
                continue
            blocks, pages, seconds = outcome
            try:
                chunks, stats = _chunk(ParsedDocument(meta_for(path, manifest), blocks, pages), seconds)
            except Exception as exc:  # noqa: BLE001 - a parser bug on one report must not stop the others
                result.failures.append(_failure(path, exc))
                continue
            result.chunks.extend(chunks)
            result.documents.append(stats)
    return result


def _planned(path: Path, workers: int) -> list[_Part] | BaseException:
    try:
        return _plan(path, workers)
    except Exception as exc:  # noqa: BLE001 - reported per file with the others
        return exc


def _executor(workers: int):
    if workers < 2:
        return nullcontext(None)
    # spawn: the caller may hold torch/ONNX threads, which a forked child must not inherit.
    return ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn"))


def _parsed(plans: list[tuple[Path, list[_Part] | BaseException]], pool: ProcessPoolExecutor | None):
    """(path, (blocks, pages, seconds) or the exception) per file, in the given order."""
    submitted = [(path, plan if isinstance(plan, BaseException) or pool is None
                  else [pool.submit(_read, part) for part in plan]) for path, plan in plans]
    for path, work in submitted:
        if isinstance(work, BaseException):
            yield path, work
            continue
        try:
            yield path, _join([w.result() if pool else _read(w) for w in work])
        except Exception as exc:  # noqa: BLE001 - a parser bug on one report must not stop the others
            yield path, exc


def _join(parts: list[_Read]) -> tuple[list[Block], int, float]:
    if sum(p.chars for p in parts) == 0:
        raise IngestError(NO_TEXT)
    return [b for p in parts for b in p.blocks], parts[0].pages, sum(p.seconds for p in parts)


def ingest_corpus(corpus_dir: Path, progress: bool = False, workers: int = 1) -> IngestResult:
    if not corpus_dir.is_dir():
        raise IngestError(f"코퍼스 폴더가 없습니다: {corpus_dir} (corpus folder not found)")
    return ingest_paths(corpus_files(corpus_dir), load_manifest(corpus_dir), progress, workers)


def write_chunks(chunks: list[Chunk], out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(out.suffix + ".tmp")
    tmp.write_text("".join(c.to_json() + "\n" for c in chunks), encoding="utf-8")
    tmp.replace(out)


def read_chunks(path: Path) -> list[Chunk]:
    return [Chunk.from_dict(json.loads(line)) for line in path.read_text(encoding="utf-8").splitlines() if line]
