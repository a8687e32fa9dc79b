"""Corpus folder -> chunks: reads the manifest, parses each file, collects per-file failures."""
from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from .chunker import chunk_document
from .hwp_reader import HWP_SUFFIXES, read_hwp
from .models import Chunk, DocumentMeta, ParsedDocument
from .pdf_reader import IngestError, read_pdf
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


def parse_file(path: Path, meta: DocumentMeta) -> ParsedDocument:
    suffix = path.suffix.lower()
    if suffix in PDF_SUFFIXES:
        blocks, pages = read_pdf(path)
    elif suffix in TEXT_SUFFIXES:
        blocks, pages = read_text(path)
    elif suffix in HWP_SUFFIXES:
        blocks, pages = read_hwp(path)
    else:
        raise IngestError(f"지원하지 않는 파일 형식입니다: {suffix} (unsupported file type; use PDF, HWP/HWPX or text)")
    return ParsedDocument(meta, blocks, pages)


def ingest_file(path: Path, meta: DocumentMeta) -> tuple[list[Chunk], DocumentStats]:
    import time

    start = time.perf_counter()
    parsed = parse_file(path, meta)
    doc = structure(parsed.blocks, table_key(meta.file))
    chunks = chunk_document(meta, doc)
    if not chunks:
        raise IngestError("추출된 내용이 없습니다 (no text could be extracted)")
    stats = DocumentStats(meta.file, parsed.pages, len(doc.tables), len(chunks), time.perf_counter() - start)
    return chunks, stats


def ingest_paths(paths: Iterable[Path], manifest: dict[str, DocumentMeta], progress: bool = False) -> IngestResult:
    result = IngestResult()
    paths = list(paths)
    for path in tqdm(paths, desc="문서 읽는 중 (ingest)", unit="문서", disable=not progress):
        try:
            chunks, stats = ingest_file(path, meta_for(path, manifest))
        except IngestError as exc:
            result.failures.append(Failure(path.name, str(exc)))
            continue
        except OSError as exc:
            result.failures.append(Failure(path.name, f"파일을 읽을 수 없습니다 (cannot read file: {exc.strerror})"))
            continue
        except Exception as exc:  # noqa: BLE001 - a parser bug on one report must not stop the others
            result.failures.append(Failure(path.name, f"처리 중 오류가 났습니다 (unexpected {type(exc).__name__}: {exc})"))
            continue
        result.chunks.extend(chunks)
        result.documents.append(stats)
    return result


def ingest_corpus(corpus_dir: Path, progress: bool = False) -> IngestResult:
    if not corpus_dir.is_dir():
        raise IngestError(f"코퍼스 폴더가 없습니다: {corpus_dir} (corpus folder not found)")
    return ingest_paths(corpus_files(corpus_dir), load_manifest(corpus_dir), progress)


def write_chunks(chunks: list[Chunk], out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(out.suffix + ".tmp")
    tmp.write_text("".join(c.to_json() + "\n" for c in chunks), encoding="utf-8")
    tmp.replace(out)


def read_chunks(path: Path) -> list[Chunk]:
    return [Chunk.from_dict(json.loads(line)) for line in path.read_text(encoding="utf-8").splitlines() if line]
