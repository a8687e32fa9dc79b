"""Render the customer's five source texts into deterministic A4 PDF reports.

Usage: python corpus/build_pdfs.py [--src DIR] [--out DIR]

The PDFs stand in for the customer's original report files, so the layout
aims at what the ingest pipeline will meet in real reports: ruled tables for
tab-separated rows, plain text lines for everything else, and no paragraph
split across two pages (every sentence can be cited with exactly one page).
"""
from __future__ import annotations

import argparse
import html
import json
import re
import shutil
from pathlib import Path

from reportlab import rl_config

rl_config.invariant = 1  # fixed dates and document ID -> byte-identical rebuilds

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import (
    KeepTogether,
    PageBreak,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

REPO = Path(__file__).resolve().parent.parent
FONT_DIR = Path("/usr/share/fonts/truetype/nanum")
FONT = "NanumGothic"
FONT_BOLD = "NanumGothic-Bold"
FONT_FILES = {FONT: FONT_DIR / "NanumGothic.ttf", FONT_BOLD: FONT_DIR / "NanumGothicBold.ttf"}

# NanumGothic has no glyph for these source characters. DejaVu Sans has them,
# so they are drawn in that font and the PDF text keeps the exact character.
FALLBACK_FONT = "DejaVuSans"
FALLBACK_FONT_FILE = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
FALLBACK_GLYPHS = set(
    "\u2024"  # ․ ONE DOT LEADER (003, 004: "조직․인력")
    "\u2027"  # ‧ HYPHENATION POINT (003, 004)
    "\u25b8"  # ▸ small right triangle bullet (004)
    "\u27a1"  # ➡ arrow (003, 004)
    "\u017e\u012a\u013d\u0112\u015e\u0164\u013c\u012f"  # ž Ī Ľ Ē Ş Ť ļ į: OCR junk (002, 004)
    "\u03f5\u03af\u06f2\u05e1"  # ϵ ί ۲ ס: OCR junk (002)
)
# Neither font has these; they are replaced by a visible stand-in. The tests
# apply the same map to the source text before comparing.
SUBSTITUTE = {
    "\uf000": "□",  # private-use symbol left over from the original's box bullets (003, 004)
    "\uff65": "・",  # ･ halfwidth katakana middle dot -> full-width form (003)
    "\u7840": "〓",  # 础 OCR junk (002); 〓 is the customary missing-glyph mark
    "\U0001f592": "⇨",  # 🖒 OCR'd step arrow (002: "설명회(3.24.) 🖒 ...")
}

OUTPUT_NAMES = {
    "000": "2025_서울시재단_주요업무보고.pdf",
    "001": "2024_서울디지털재단_주요업무보고.pdf",
    "002": "2025_디지털도시국_주요업무보고.pdf",
    "003": "2020_서울디지털재단_주요업무보고.pdf",
    "004": "2024_디지털정책관_예산안검토보고.pdf",
}
# Names staff use for these reports besides the organization's own; written into the manifest so the
# question scoper reads them as corpus facts.
ALIASES = {
    "001": ["디지털재단"],
    "002": ["디지털도시국"],
    "003": ["디지털재단"],
    "004": ["디지털정책관", "예산안검토", "검토보고", "수석전문위원", "시의회"],
}

MARGIN = 18 * mm
BODY_SIZE = 10
TABLE_SIZE = 8.5
CELL_PAD = 2.5

# Only these tags count as HTML markup; "<AI행정서비스 ...>" or "< 개요 >" are text.
HTML_TAG = re.compile(r"</?(?:p|ul|ol|li|br|input|u|i|b|span|div|strong|em|sup|sub)\b[^<>]*>", re.IGNORECASE)
HTML_BREAK = re.compile(r"</?(?:p|ul|ol|li|br|div)\b[^<>]*>", re.IGNORECASE)
H1 = re.compile(r"^(?:[IVX]+|[Ⅰ-Ⅻ]|\|)\.\s*\S")  # "I. 일반 현황", "Ⅱ.", OCR'd "|."
DIVIDER = re.compile(r"^(?:[IVX]+|[Ⅰ-Ⅻ])$")  # a lone section numeral from a divider page
NUMBERED = re.compile(r"^\d+(?:-\d+)?\.\s+\S")  # "1. 서울시 과학행정 선도", "1-1. ..."
NUMERIC = re.compile(r"^[△▲+\-−]?\d[\d,.]*%?$")
INDENT_BY_MARKER = {"○": 3 * mm, "ㅇ": 3 * mm, "-": 6 * mm, "－": 6 * mm, "※": 6 * mm, "*": 6 * mm, "▶": 6 * mm}


def styles() -> dict[str, ParagraphStyle]:
    body = ParagraphStyle("body", fontName=FONT, fontSize=BODY_SIZE, leading=12)
    bold = {"fontName": FONT_BOLD, "keepWithNext": 1}  # keep headings with what follows
    return {
        "body": body,
        "h1": ParagraphStyle("h1", body, **bold, fontSize=14, leading=18, spaceBefore=6, spaceAfter=4),
        "h2": ParagraphStyle("h2", body, **bold, fontSize=11.5, leading=14.5, spaceBefore=4, spaceAfter=1),
        "h3": ParagraphStyle("h3", body, **bold, fontSize=10.5, leading=13.5, spaceBefore=2),
        "divider": ParagraphStyle("divider", body, **bold, fontSize=22, leading=28, alignment=TA_CENTER, spaceAfter=6),
        "cover": ParagraphStyle("cover", body, fontName=FONT_BOLD, fontSize=20, leading=30, alignment=TA_CENTER),
        "cell": ParagraphStyle("cell", body, fontSize=TABLE_SIZE, leading=10.2),
        "head": ParagraphStyle("head", body, fontName=FONT_BOLD, fontSize=TABLE_SIZE, leading=10.2),
    }


def register_fonts() -> None:
    for name, path in [*FONT_FILES.items(), (FALLBACK_FONT, FALLBACK_FONT_FILE)]:
        if name not in pdfmetrics.getRegisteredFontNames():
            pdfmetrics.registerFont(TTFont(name, str(path)))


def substitute(text: str) -> str:
    return "".join(SUBSTITUTE.get(ch, ch) for ch in text)


def check_glyphs(text: str) -> None:
    """Fail loudly when a new source character would render as an empty box."""
    faces = [pdfmetrics.getFont(n).face.charToGlyph for n in (FONT, FONT_BOLD)]
    fallback = pdfmetrics.getFont(FALLBACK_FONT).face.charToGlyph
    missing = set()
    for ch in set(text) - set("\n\t\r"):
        if ch in FALLBACK_GLYPHS:
            if ord(ch) not in fallback:
                missing.add(ch)
        elif any(ord(ch) not in face for face in faces):
            missing.add(ch)
    if missing:
        raise SystemExit(f"no glyph for {sorted(missing)!r}: add them to FALLBACK_GLYPHS or SUBSTITUTE")


def markup(text: str) -> str:
    """Escape text for Paragraph markup, switching font for fallback glyphs."""
    out = []
    for ch in text:
        esc = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}.get(ch, ch)
        out.append(f'<font name="{FALLBACK_FONT}">{esc}</font>' if ch in FALLBACK_GLYPHS else esc)
    return "".join(out)


def cell_lines(cell: str) -> list[str]:
    """A cell's text as display lines: HTML fragments lose their markup and
    each <p>/<li> item gets its own line."""
    if not HTML_TAG.search(cell):
        return [cell.strip()]
    text = HTML_BREAK.sub("\n", cell)
    text = html.unescape(HTML_TAG.sub("", text))
    return [line.strip() for line in text.split("\n") if line.strip()]


def parse_blocks(text: str) -> list[tuple[str, object]]:
    """Split a source text into ("table", rows), ("line", str) and ("blank", None) blocks."""
    blocks: list[tuple[str, object]] = []
    for line in text.split("\n"):
        if "\t" in line:
            if blocks and blocks[-1][0] == "table":
                blocks[-1][1].append(line.split("\t"))
            else:
                blocks.append(("table", [line.split("\t")]))
        elif line.strip():
            blocks.append(("line", line))
        elif not blocks or blocks[-1][0] != "blank":
            blocks.append(("blank", None))
    return blocks


def header_rows(rows: list[list[str]]) -> int:
    """Rows before the first one with a number in a later cell (at most 3)."""
    for i, row in enumerate(rows[:4]):
        if any(NUMERIC.match(c.strip().replace(" ", "")) for c in row[1:]):
            return min(i, 3)
    return 1 if len(rows) > 1 else 0


def column_widths(rows: list[list[list[str]]], avail: float) -> list[float]:
    """Share the width by content: every column gets its longest word, the
    rest goes to columns in proportion to how much more they would like."""
    pad = 2 * CELL_PAD + 1
    ncols = len(rows[0])
    want, need = [pad + 8.0] * ncols, [pad + 8.0] * ncols
    for row in rows:
        for j, lines in enumerate(row):
            for line in lines:
                w = pdfmetrics.stringWidth(line, FONT, TABLE_SIZE)
                want[j] = max(want[j], min(w, avail) + pad)
                for word in line.split():
                    need[j] = max(need[j], min(pdfmetrics.stringWidth(word, FONT, TABLE_SIZE), 60) + pad)
    if sum(want) <= avail:
        return [w * avail / sum(want) for w in want]
    if sum(need) >= avail:
        return [n * avail / sum(need) for n in need]
    extra = avail - sum(need)
    slack = [w - n for w, n in zip(want, need)]
    return [n + extra * s / sum(slack) for n, s in zip(need, slack)]


def make_table(rows: list[list[str]], st: dict[str, ParagraphStyle], avail: float) -> Table:
    ncols = max(len(r) for r in rows)
    rows = [r + [""] * (ncols - len(r)) for r in rows]  # ragged rows -> widest row
    nhead = header_rows(rows)
    lines = [[cell_lines(c) for c in r] for r in rows]
    data = [
        [Paragraph("<br/>".join(markup(x) for x in cell), st["head" if i < nhead else "cell"]) for cell in row]
        for i, row in enumerate(lines)
    ]
    style = [
        ("GRID", (0, 0), (-1, -1), 0.5, colors.black),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("LEFTPADDING", (0, 0), (-1, -1), CELL_PAD),
        ("RIGHTPADDING", (0, 0), (-1, -1), CELL_PAD),
        ("TOPPADDING", (0, 0), (-1, -1), 1.5),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 2.5),
    ]
    if nhead:
        style.append(("BACKGROUND", (0, 0), (-1, nhead - 1), colors.Color(0.9, 0.9, 0.9)))
    table = Table(data, colWidths=column_widths(lines, avail), repeatRows=nhead, style=TableStyle(style))
    table.spaceBefore, table.spaceAfter = 3, 5
    return table


def line_style(line: str, st: dict[str, ParagraphStyle], isolated: bool, section: bool) -> ParagraphStyle:
    """Headings get bold styles; bullets are indented by marker and leading spaces.
    A numbered line is a heading only when it stands alone: inside a run of
    lines it is a list item ("1. 첨단 디지털 기술 ...")."""
    text = line.strip()
    if H1.match(text):
        return st["h1"]
    if section and DIVIDER.match(text):
        return st["divider"]
    if text.startswith("□"):
        return st["h3"]
    if NUMBERED.match(text) and len(text) <= 40 and isolated:
        return st["h2"]
    lead = len(line) - len(line.lstrip(" "))
    indent = INDENT_BY_MARKER.get(text[0], 0) + 2 * mm * min(lead, 4)
    if not indent:
        return st["body"]
    return ParagraphStyle(f"body{indent:.1f}", st["body"], leftIndent=indent)


def starts_section(lines: list[str], i: int) -> bool:
    """A major section (H1, or the divider numeral right before it) opens a new page."""
    text = lines[i].strip()
    if DIVIDER.match(text):
        return any(H1.match(t.strip()) for t in lines[i + 1 : i + 4])
    if H1.match(text):
        return not any(DIVIDER.match(t.strip()) for t in lines[max(0, i - 3) : i])
    return False


def build_story(text: str, st: dict[str, ParagraphStyle], avail: float) -> list:
    blocks = parse_blocks(text)
    first = [b for b in blocks if b[0] != "blank"][:3]
    # A source opening with title, date and organization gets them on a cover page.
    cover = 3 if all(k == "line" for k, _ in first) and re.match(r"^\s*\d{4}년", first[0][1]) else 0
    text_lines = [v for k, v in blocks if k == "line"]
    story: list = []
    fresh_page = True  # nothing but spacers since the last page break

    def is_line(j: int) -> bool:
        return 0 <= j < len(blocks) and blocks[j][0] == "line"

    li = 0  # index into text_lines, for the section lookahead
    for bi, (kind, value) in enumerate(blocks):
        if kind == "blank":
            story.append(Spacer(1, 2))
            continue
        if kind == "table":
            story.append(make_table(value, st, avail))
            fresh_page = False
            continue
        if cover:
            story += [Spacer(1, (70 if li == 0 else 8) * mm), Paragraph(markup(value.strip()), st["cover"])]
            cover -= 1
            if not cover:
                story.append(PageBreak())
        else:
            section = starts_section(text_lines, li)
            if section and not fresh_page:
                story.append(PageBreak())
            isolated = not is_line(bi - 1) and not is_line(bi + 1)
            para = Paragraph(markup(value.strip()), line_style(value, st, isolated, section))
            story.append(KeepTogether([para]))  # never split a paragraph unless it exceeds a page
            fresh_page = False
        li += 1
    return story


def _footer(canvas, doc) -> None:
    canvas.saveState()
    canvas.setFont(FONT, 8)
    canvas.drawCentredString(A4[0] / 2, 10 * mm, f"- {doc.page} -")
    canvas.restoreState()


def build_pdf(text: str, meta: dict, path: Path) -> int:
    """Render one source text; returns the page count."""
    st = styles()
    doc = SimpleDocTemplate(
        str(path),
        pagesize=A4,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=MARGIN,
        title=meta["title"],
        author=meta["organization"],
        subject=f'{meta["kind"]} ({meta["date"]})',
        creator="docqa corpus/build_pdfs.py",
        invariant=1,
    )
    doc.build(build_story(text, st, doc.width), onFirstPage=_footer, onLaterPages=_footer)
    return doc.page


def main(argv: list[str] | None = None) -> dict[str, int]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--src", type=Path, default=REPO.parent / "shared" / "corpus-src")
    ap.add_argument("--out", type=Path, default=REPO / "corpus")
    args = ap.parse_args(argv)

    register_fonts()
    args.out.mkdir(parents=True, exist_ok=True)
    entries = sorted(json.loads((args.src / "manifest.json").read_text(encoding="utf-8")), key=lambda m: m["source"])
    manifest, pages = [], {}
    for meta in entries:
        name = OUTPUT_NAMES[meta["source"][:3]]
        text = substitute((args.src / meta["source"]).read_text(encoding="utf-8"))
        check_glyphs(text)
        pages[name] = build_pdf(text, meta, args.out / name)
        entry = {"file": name, **{k: meta[k] for k in ("title", "organization", "date", "kind", "source")}}
        if meta["source"][:3] in ALIASES:
            entry["aliases"] = ALIASES[meta["source"][:3]]
        manifest.append(entry)
        print(f"{name}: {pages[name]} pages")
    (args.out / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")

    # corpus/src is a verbatim copy of the inputs, so the repo alone can rebuild
    # the PDFs (python corpus/build_pdfs.py --src corpus/src).
    src_copy = args.out / "src"
    if args.src.resolve() != src_copy.resolve():
        src_copy.mkdir(parents=True, exist_ok=True)
        for name in ["manifest.json", *(m["source"] for m in entries)]:
            shutil.copyfile(args.src / name, src_copy / name)
    return pages


if __name__ == "__main__":
    main()
