"""The committed corpus PDFs are reproducible and keep every source text.

Text is compared with all whitespace removed: pdfplumber merges and splits
spaces, and reportlab collapses runs of spaces, so only the characters count.
extract_text uses x_tolerance=1.5 (default 3 gives the same characters here,
since the PDFs carry real space glyphs; the smaller value just keeps spaces
between words). Tables use find_tables' default "lines" strategy, which finds
the ruled (GRID) tables.
"""
from __future__ import annotations

import importlib.util
import json
import re
from functools import cache
from pathlib import Path

import pytest

pdfplumber = pytest.importorskip("pdfplumber")

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO / "corpus"
X_TOLERANCE = 1.5
MANIFEST = json.loads((CORPUS / "manifest.json").read_text(encoding="utf-8"))
DOCS = [d["file"] for d in MANIFEST]


def _load_builder():
    spec = importlib.util.spec_from_file_location("build_pdfs", CORPUS / "build_pdfs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


builder = _load_builder()


def squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def source_text(file: str) -> str:
    """The source as rendered: glyph substitutions applied, as in the builder."""
    meta = next(d for d in MANIFEST if d["file"] == file)
    return builder.substitute((CORPUS / "src" / meta["source"]).read_text(encoding="utf-8"))


@cache
def extracted(file: str) -> tuple[list[str], list[list[list[str | None]]]]:
    """Per page squashed text, and every table found (default "lines" strategy)."""
    pages, tables = [], []
    with pdfplumber.open(CORPUS / file) as pdf:
        for page in pdf.pages:
            pages.append(squash(page.extract_text(x_tolerance=X_TOLERANCE) or ""))
            tables += page.extract_tables()
    return pages, tables


def test_manifest_lists_the_five_pdfs():
    assert len(MANIFEST) == 5
    for doc in MANIFEST:
        assert (CORPUS / doc["file"]).is_file()
        assert (CORPUS / "src" / doc["source"]).is_file()
        assert set(doc) - {"aliases"} == {"file", "title", "organization", "date", "kind", "source"}


def test_rebuild_is_byte_identical(tmp_path):
    fonts = [*builder.FONT_FILES.values(), builder.FALLBACK_FONT_FILE]
    missing = [str(f) for f in fonts if not f.is_file()]
    if missing:
        pytest.skip(f"font files absent, cannot rebuild: {missing}")
    builder.main(["--src", str(CORPUS / "src"), "--out", str(tmp_path)])
    for name in [*DOCS, "manifest.json"]:
        assert (tmp_path / name).read_bytes() == (CORPUS / name).read_bytes(), name


@pytest.mark.parametrize("file", DOCS)
def test_paragraph_lines_in_reading_order_each_on_one_page(file):
    pages, _ = extracted(file)
    whole = "".join(pages)
    cursor = 0
    for line in source_text(file).split("\n"):
        needle = squash(line)
        if "\t" in line or not needle:
            continue
        found = whole.find(needle, cursor)
        assert found >= 0, f"{file}: not found in order after offset {cursor}: {line!r}"
        cursor = found + len(needle)
        # paragraphs are never split across pages
        assert any(needle in page for page in pages), f"{file}: split across pages: {line!r}"


def test_purpose_sentence_of_000_on_exactly_one_page():
    file = "2025_서울시재단_주요업무보고.pdf"
    sentence = next(line for line in source_text(file).split("\n") if line.startswith("재단은 「민법」"))
    pages, _ = extracted(file)
    hits = [i + 1 for i, page in enumerate(pages) if squash(sentence) in page]
    assert len(hits) == 1, hits


@pytest.mark.parametrize("file", DOCS)
def test_table_cells_keep_their_text(file):
    # Stricter than "in the cells or the page text": every cell is found as a
    # cell of extract_tables(), since wrapped cells interleave in the page text.
    _, tables = extracted(file)
    cells = {squash(c) for table in tables for row in table for c in row if c}
    joined_cells = "".join(sorted(cells))
    for line in source_text(file).split("\n"):
        if "\t" not in line:
            continue
        for cell in line.split("\t"):
            if builder.HTML_TAG.search(cell):
                # HTML fragments are rendered as their text, one line per <p>/<li>
                for part in builder.cell_lines(cell):
                    assert squash(part) in joined_cells, f"{file}: HTML cell text missing: {part!r}"
            elif squash(cell):
                assert squash(cell) in cells, f"{file}: table cell text missing: {cell!r}"


@pytest.mark.parametrize("file", DOCS)
def test_ruled_tables_found_with_default_settings(file):
    source_tables = sum(1 for kind, _ in builder.parse_blocks(source_text(file)) if kind == "table")
    _, found = extracted(file)
    # a table split across pages is found once per page, so at least one per source table
    assert len(found) >= source_tables
    if file == "2025_서울시재단_주요업무보고.pdf":
        assert ["서울시 출연금", "13,797,110", "8,193,261", "5,603,849", "68.4%"] in [r for t in found for r in t]
