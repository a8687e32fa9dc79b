"""The narrow view of an index that the answerer uses: hits within some reports, word statistics,
the lines of a section, and the question's morphemes. The answerer never sees the whole engine."""
from __future__ import annotations

import math
from collections import defaultdict
from functools import cached_property
from itertools import islice

import numpy as np

from ingest.models import TableChunk, TableRow
from ingest.normalize import compact

from .fusion import Hit, HybridSearch, SearchFilters
from .store import DocIndex, Encoder, IndexedDocument

# Chunks counted for a word's rarity. Below this every chunk is counted; above it an even sample is, since a
# substring count over 10^5 chunks takes ~50 ms per word (scripts/bench_scale.py: 400 ms p95 per question).
IDF_SAMPLE = 10_000


class Retrieval:
    def __init__(self, index: DocIndex, encoder: Encoder | None) -> None:
        self.index = index
        self.encoder = _LastQuery(encoder) if encoder is not None else None
        self._df: dict[str, int] = {}

    @property
    def docs(self) -> list[IndexedDocument]:
        return self.index.docs

    def hits(self, question: str, files: list[str], k: int) -> list[Hit]:
        return HybridSearch(self.index, self.encoder, SearchFilters(files=files)).hits(question, k)

    def morphemes(self, text: str) -> list[tuple[str, str]]:
        return self.index.tokenizer.morphemes(text)

    def words(self, text: str) -> list[str]:
        return self.index.tokenizer(text)

    @cached_property
    def _compact_texts(self) -> list[str]:
        return [compact(c.search_text or c.text).lower() for c in self.index.chunks]

    @cached_property
    def _sample(self) -> list[str]:
        return self._compact_texts[:: math.ceil(len(self._compact_texts) / IDF_SAMPLE) or 1]

    def _doc_freq(self, term: str) -> int:
        """Chunks of the sample holding the word."""
        if term not in self._df:
            self._df[term] = sum(1 for t in self._sample if term in t)
        return self._df[term]

    def idf(self, term: str) -> float:
        """Rarity of a word as a substring of chunks, so compounds ("집행률") count like the text prints them."""
        return math.log(1 + (len(self._sample) + 1) / (self._doc_freq(term) + 0.5))

    def known(self, term: str) -> bool:
        """Whether any chunk holds the word: exact, even where the sample missed it."""
        if self._doc_freq(term) > 0:
            return True
        # below IDF_SAMPLE the sample is every chunk: a zero count is already the answer
        return len(self._sample) < len(self._compact_texts) and any(term in t for t in self._compact_texts)

    def mentions(self, term: str, files: list[str]) -> bool:
        """Whether any chunk of these reports holds the word (all reports when `files` is empty)."""
        if not files:
            return self.known(term)
        return any(term in t for f in files for t in self._compact_texts_by_file.get(f, ()))

    @cached_property
    def _compact_texts_by_file(self) -> dict[str, list[str]]:
        """The compact chunk texts grouped by report, so a scoped check reads only those reports."""
        by_file: dict[str, list[str]] = defaultdict(list)
        for t, c in zip(self._compact_texts, self.index.chunks):
            by_file[c.file].append(t)
        return by_file

    @cached_property
    def _section_lines(self) -> dict[tuple[str, str], list[str]]:
        lines: dict[tuple[str, str], list[str]] = defaultdict(list)
        for c in self.index.chunks:
            if c.kind == "text":
                lines[(c.file, c.section)].extend(ln.strip() for ln in c.text.split("\n") if ln.strip())
        return lines

    def section_lines(self, file: str, section: str) -> list[str]:
        return self._section_lines.get((file, section), [])

    @cached_property
    def _sections_by_file(self) -> dict[str, list[str]]:
        by_file: dict[str, list[str]] = defaultdict(list)
        for file, section in self._section_lines:  # in reading order: a dict keeps its first insertion
            by_file[file].append(section)
        return by_file

    def subtree_lines(self, file: str, section: str) -> list[str]:
        """The lines of a section and of every section under it, in reading order."""
        under = section + " > "
        return [ln for s in self._sections_by_file.get(file, ()) if s == section or s.startswith(under)
                for ln in self._section_lines[(file, s)]]

    @cached_property
    def _position(self) -> dict[str, int]:
        return {c.id: i for i, c in enumerate(self.index.chunks)}

    def following_lines(self, chunk_id: str, n: int) -> list[str]:
        """The first `n` lines of text after a chunk in its report: a heading chunked alone ("□ … 종합감사 실시")
        is followed by its items in the next chunk. A table or another report ends them."""
        chunks = self.index.chunks
        i = self._position.get(chunk_id)
        if i is None:
            return []
        out: list[str] = []
        for c in islice(chunks, i + 1, None):  # no copy of the index's tail per hit
            if len(out) >= n or c.file != chunks[i].file or c.kind != "text":
                break
            out.extend(ln.strip() for ln in c.text.split("\n") if ln.strip())
        return out[:n]

    @cached_property
    def _table_rows(self) -> dict[tuple[str, str | None], list[TableRow]]:
        rows: dict[tuple[str, str | None], list[TableRow]] = defaultdict(list)
        for c in self.index.chunks:
            if isinstance(c, TableChunk):
                rows[(c.file, c.table_id)].extend(c.rows)
        return rows

    def table_rows(self, file: str, table_id: str | None) -> list[TableRow]:
        """Every row of one table, across the chunks it was split into."""
        return self._table_rows.get((file, table_id), [])


class _LastQuery:
    """The encoder with the last question's vector kept: a question scoped to two reports is retrieved three
    times (together and per report) but embedded once."""

    def __init__(self, encoder: Encoder) -> None:
        self.encoder = encoder
        self._last: tuple[str, np.ndarray] | None = None

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        if len(texts) != 1:
            return self.encoder.embed_queries(texts)
        last = self._last  # one read: another thread may replace it meanwhile
        if last is None or last[0] != texts[0]:
            last = (texts[0], self.encoder.embed_queries(texts))
            self._last = last
        return last[1]
