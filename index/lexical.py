"""Korean lexical index: bm25s over kiwi morphemes, wrapped as a llama-index retriever.

llama-index's own BM25Retriever ignores custom tokenizers, so bm25s is wrapped directly.
"""
from __future__ import annotations

import re
from functools import cached_property
from pathlib import Path

import bm25s
import numpy as np
from kiwipiepy import Kiwi

# Content morphemes: nouns, numerals, verb/adjective stems, roots, foreign words, Hanja, numbers.
CONTENT_TAGS = ("NNG", "NNP", "NNB", "NR", "NP", "VV", "VA", "XR", "SL", "SH", "SN")
_NUMBER = re.compile(r"\d[\d,]*(?:\.\d+)?")


class KoreanTokenizer:
    """One reused Kiwi instance (loading it costs ~1 s); thread-safe for tokenize().

    Kiwi's multi-word dictionary (Wikipedia titles such as "러브 버그") is not loaded: it costs ~200 MB and
    ~3 s at every start and changed the tokens of 5 of the corpus's 725 chunks. Nor is its default dictionary
    (compounds such as "서울특별시의회" kept whole): ~50 MiB of a serving process, with train/dev answers and
    retrieval MRR unchanged (252/91 vs 253/90, MRR 0.820 vs 0.818); a compound now also matches its parts."""

    # Saved with an index: an index tokenized by another analyzer is tokenized again when loaded.
    name = "kiwi/no-multi-no-default-dict/glued+pieces"

    def __init__(self) -> None:
        self._kiwi = Kiwi(load_multi_dict=False, load_default_dict=False)

    def morphemes(self, text: str) -> list[tuple[str, str]]:
        """(form, tag) of every morpheme, for parsing questions (particles and endings included).

        Adjacent nouns written as one word where one is a single syllable are joined back: kiwi splits
        "국비랑" into "국"+"비", "리모델링비" into "리모델링"+"비" and "현원" into "현"+"원", which are the
        words staff mean.
        """
        return [(form, tag) for form, tag, _ in self._glued(text)]

    def _glued(self, text: str) -> list[tuple[str, str, list[tuple[str, str]]]]:
        """(form, tag, pieces): `pieces` are kiwi's own morphemes a glued word was made of."""
        out: list[tuple[str, str, list[tuple[str, str]]]] = []
        end = -1
        for tok in self._kiwi.tokenize(text):
            # "현원" read as 현(determiner)+원(counter) is the word 현원 too.
            # "현원" after a verb ("정원하고 현원") comes out as 현(NNP)+원(NR, a numeral): glued too.
            glued = tok.start == end and out and out[-1][1].startswith(("NN", "MM")) and tok.tag.startswith(("NN", "NR"))
            if glued and (len(tok.form) == 1 or len(out[-1][0]) == 1):
                form, _, pieces = out[-1]
                out[-1] = (form + tok.form, "NNG", [*pieces, (tok.form, tok.tag)])
            else:
                out.append((tok.form, tok.tag, [(tok.form, tok.tag)]))
            end = tok.start + tok.len
        return out

    def __call__(self, text: str) -> list[str]:
        """Content morphemes as BM25 terms, and a glued word besides its pieces: kiwi reads "현원" as
        현(determiner)+원, which left only "원", a word of every budget line, to match a head count; the
        pieces stay so that "사업" still matches "사업비"."""
        tokens: list[str] = []
        for word, _, pieces in self._glued(text):
            if len(pieces) > 1:
                tokens.append(word.lower())
            for form, tag in pieces:
                if not tag.startswith(CONTENT_TAGS):
                    continue
                form = form.lower()
                tokens.append(form)
                if tag == "SN" and "," in form:
                    tokens.append(form.replace(",", ""))  # "13,797,110" also matches "13797110"
        # Figures kiwi folds into other tags (e.g. "39.1%", dates) are still matchable as written.
        for number in _NUMBER.findall(text):
            if number not in tokens and len(number) > 1:
                tokens.append(number)
                if "," in number:
                    tokens.append(number.replace(",", ""))
        return tokens


class BM25Index:
    """bm25s over pre-tokenized documents; scores every document so filters apply before ranking."""

    def __init__(self, tokenized: list[list[str]] | None = None, *, bm25: bm25s.BM25 | None = None,
                 size: int = 0) -> None:
        self._bm25 = bm25 or bm25s.BM25(k1=1.2, b=0.75)
        self.size = len(tokenized) if tokenized is not None else size
        if tokenized:
            self._bm25.index(tokenized, show_progress=False)

    def save(self, folder: Path) -> None:
        if self.size:
            self._bm25.save(str(folder), show_progress=False)

    @classmethod
    def load(cls, folder: Path, size: int) -> BM25Index | None:
        """The saved scores, memory-mapped; None when absent (an index from before they were saved)."""
        if not size:
            return cls([])
        if not (folder / "params.index.json").exists():
            return None
        return cls(bm25=bm25s.BM25.load(str(folder), mmap=True, show_progress=False), size=size)

    def scores(self, query_tokens: list[str], allowed: np.ndarray | None = None) -> np.ndarray:
        """BM25 of every document; rows outside `allowed` score 0 (bm25s's weight_mask)."""
        if not self.size or not query_tokens:
            return np.zeros(self.size, dtype=np.float32)
        known = [t for t in query_tokens if t in self._vocab]
        if not known:
            return np.zeros(self.size, dtype=np.float32)
        mask = None if allowed is None else allowed.astype(np.float32)
        return self._bm25.get_scores(known, weight_mask=mask)

    @cached_property
    def _vocab(self) -> set[str]:
        return set(self._bm25.vocab_dict)
