"""Render one report page as PNG with the cited evidence highlighted; shared by the HTTP API and the chat UI."""
from __future__ import annotations

import io
import re
import threading
from functools import lru_cache
from pathlib import Path

import pdfplumber

RESOLUTION = 110
HIGHLIGHT_FILL = (255, 214, 0, 90)  # translucent yellow: the printed figures stay readable underneath
HIGHLIGHT_STROKE = (230, 120, 0, 220)
CACHE_SIZE = 32  # ~100-300 KB per PNG at 110 dpi: a few MB at most
MAX_HIGHLIGHT_CHARS = 500

# pypdfium2 (pdfplumber's renderer) is not thread-safe; the API renders from a thread pool.
_render_lock = threading.Lock()

# Separators that appear in citation quotes but not on the page: table-row quotes join cells with " | ",
# put the caption before ": ", and trimmed sentences end with "…".
_SEGMENT_SPLIT = re.compile(r"\s*(?:\||\n|…|\.\.\.|:\s|;\s|·)\s*")
_IGNORED = re.compile(r"[\s|…]+")


class PageError(Exception):
    """The page cannot be rendered; the message is Korean and shown to the user."""


class PageNotFound(PageError):
    pass


class NotAPdf(PageError):
    pass


def render_page_png(pdf_path: Path, page_number: int, highlight: str | None = None,
                    boxes: list[list[float]] | None = None) -> bytes:
    """PNG of the 1-based page, with the text matching `highlight` (whitespace-insensitive) boxed in yellow,
    or, when `boxes` are given (a table answer's cell, row label and column header), exactly those boxes.

    Results are cached in memory by file identity (path, size, mtime), so a replaced report re-renders.
    """
    path = Path(pdf_path).resolve()
    if path.suffix.lower() != ".pdf":
        raise NotAPdf(f"쪽 이미지는 PDF 문서에만 있습니다: {path.name} (text documents have no pages)")
    try:
        stat = path.stat()
    except OSError as exc:
        raise PageNotFound(f"문서를 찾을 수 없습니다: {path.name}") from exc
    key = (highlight or "").strip()[:MAX_HIGHLIGHT_CHARS]
    cells = tuple(tuple(float(x) for x in b) for b in (boxes or []) if len(b) == 4)
    return _render_cached(str(path), stat.st_size, stat.st_mtime_ns, int(page_number), key, cells)


def parse_boxes(text: str) -> list[list[float]]:
    """ "x0,top,x1,bottom;..." (a citation's boxes in a URL) -> boxes; malformed parts are skipped."""
    out = []
    for part in text.split(";"):
        try:
            box = [float(x) for x in part.split(",")]
        except ValueError:
            continue
        if len(box) == 4:
            out.append(box)
    return out


@lru_cache(maxsize=CACHE_SIZE)
def _render_cached(path: str, size: int, mtime_ns: int, page_number: int, highlight: str,
                   cells: tuple[tuple[float, ...], ...] = ()) -> bytes:
    del size, mtime_ns  # cache key only
    with _render_lock:
        try:
            pdf = pdfplumber.open(path)
        except Exception as exc:  # pdfminer raises many types for broken files
            raise PageNotFound(f"PDF를 열 수 없습니다: {Path(path).name}") from exc
        with pdf:
            if not 1 <= page_number <= len(pdf.pages):
                raise PageNotFound(f"{page_number}쪽이 없습니다: 이 문서는 {len(pdf.pages)}쪽입니다")
            page = pdf.pages[page_number - 1]
            image = page.to_image(resolution=RESOLUTION)
            rects = list(cells) or (highlight_boxes(page, highlight) if highlight else [])
            if rects:
                image.draw_rects(rects, fill=HIGHLIGHT_FILL, stroke=HIGHLIGHT_STROKE, stroke_width=1)
            buf = io.BytesIO()
            image.save(buf, format="PNG")
            return buf.getvalue()


def highlight_boxes(page, text: str) -> list[tuple[float, float, float, float]]:
    """Line boxes (x0, top, x1, bottom in PDF points) covering where `text` is printed on the page.

    The first place the whole quote is printed is marked. If the page prints it differently (a caption
    elsewhere, cells joined with " | ", a trimmed sentence) its segments, then long segments' words, are
    matched one by one, each at the occurrence nearest the previous one: the quote's own lines, not every
    repeat of a word elsewhere on the page ("인력" inside "인력양성").
    """
    matches = _find(page, text)[:1]
    if not matches:
        segments = [s for s in _SEGMENT_SPLIT.split(text) if len(_compact(s)) >= 2]
        for segment in segments:
            found = _find(page, segment)
            if found:
                matches.append(_nearest(found, matches))
            elif len(_compact(segment)) > 20:
                for word in segment.split():
                    if len(_compact(word)) >= 4 and (hits := _find(page, word)):
                        matches.append(_nearest(hits, matches))
    boxes: list[tuple[float, float, float, float]] = []
    for match in matches:
        boxes.extend(_line_boxes(match["chars"]))
    return boxes


def _nearest(found: list[dict], chosen: list[dict]) -> dict:
    """The occurrence closest (top to top) to the last one already chosen; the first when none is."""
    if not chosen:
        return found[0]
    anchor = chosen[-1]["top"]
    return min(found, key=lambda m: (abs(m["top"] - anchor), m["x0"]))


def _compact(text: str) -> str:
    return _IGNORED.sub("", text)


def _find(page, text: str) -> list[dict]:
    compact = _compact(text)
    if len(compact) < 2:
        return []
    # Any run of whitespace may sit between two printed characters (line breaks, justified spacing).
    pattern = r"\s*".join(re.escape(ch) for ch in compact)
    # A figure must not match inside a longer one ("61" in "1,386,361").
    if compact[0].isdigit():
        pattern = r"(?<![\d.,])" + pattern
    if compact[-1].isdigit():
        pattern += r"(?![\d.,]?\d)"
    try:
        return list(page.search(pattern, regex=True, case=True, return_chars=True))
    except re.error:
        return []


def _line_boxes(chars: list[dict], pad: float = 1.5) -> list[tuple[float, float, float, float]]:
    """One box per printed line, so a match wrapping onto the next line does not cover the whole block."""
    lines: dict[int, list[dict]] = {}
    for ch in chars:
        lines.setdefault(round(ch["top"]), []).append(ch)
    return [
        (min(c["x0"] for c in cs) - pad, min(c["top"] for c in cs) - pad,
         max(c["x1"] for c in cs) + pad, max(c["bottom"] for c in cs) + pad)
        for cs in lines.values()
    ]
