"""Extractive answerer: the cell a question names, or the sentence that answers it, with citations.

No language model runs here, so precision comes from matching the question against table labels
and sentences; when nothing matches well enough the answer is an abstention, never a nearby figure.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from ingest.models import Chunk, TableRow
from ingest.normalize import compact

from .korean_numbers import base_unit, expand_dates, format_eok, format_number, to_won, value_of
from .models import ABSTAIN_TEXT, Answer, Citation, Filters

RETRIEVE_K = 8
LLM_CONTEXT_CHUNKS = 5
MIN_CELL_SCORE = 1.0  # row + column evidence needed for a table answer (swept on eval/gold.jsonl)
MIN_TEXT_COVERAGE = 0.4  # rarity-weighted share of the question a sentence must cover (swept likewise)
FULL_CELL_SCORE = 1.8  # row and column both named in full  # share of the question's content words a sentence must contain
MAX_ANSWER_CHARS = 300
QUOTE_CHARS = 160

# Question words carry no evidence: "얼마", "몇", "알려줘" match every report.
STOPWORDS = {
    "얼마", "몇", "무엇", "뭐", "언제", "누구", "어디", "어떤", "어떻", "알리", "주", "하", "있", "되", "이", "것", "수",
    "대하", "관하", "나", "좀", "명", "개", "건", "원", "년", "월", "일", "전체", "총", "무슨", "어느", "보고서", "문서", "되나",
    "인가", "인지", "올해", "작년", "해", "경우", "부분", "내용", "관련", "정도", "말", "가", "알", "보", "요",
}
COMPARE_WORDS = ("차이", "비교", "대비", "늘었", "줄었", "증가", "감소", "많", "적", "변화", "변했", "커졌", "작아", "깎", "증액", "감액", "증감")
TOTAL_WORDS = ("전체", "총액", "총계", "합계", "총 예산", "규모", "모두", "전부")
TOTAL_ROWS = {"계", "합계", "총계", "총합계", "소계"}


@dataclass
class Candidate:
    score: float
    text: str
    chunk: Chunk
    quote: str

    @property
    def evidence(self) -> str:
        """What the answer stands under (its text with column labels, section, caption, report), for year checks."""
        return f"{self.text} {self.chunk.section} {self.chunk.caption} {self.chunk.title} {self.chunk.date}"


def answer_question(engine, question: str, filters: Filters | None = None) -> Answer:
    question = question.strip()
    index = engine.index
    filters = engine.scope(question, filters)
    retriever = engine.retriever(filters, k=RETRIEVE_K)
    ranked = retriever.ranked(question, RETRIEVE_K)
    chunks = [index.chunks[row] for row, _ in ranked]
    if not chunks:
        return _abstain(question)
    tokenize = index.tokenizer
    q = Query(question, _without_doc_names(compact(question), index, filters),
              _content_tokens(tokenize, question, _doc_words(index, filters)))
    if names_unknown_organization(question, index.docs, filters):
        return _abstain(question)
    best = _best_table_answer(q, chunks)
    text = _best_text_answer(q, [c for c in chunks if c.kind == "text"], tokenize, index.idf)
    years = content_years(question, index.docs, filters)
    best = best if best and _has_years(years, best.evidence) else None
    text = text if text and _has_years(years, text.evidence) else None
    listed = _list_answer(q, chunks, index.chunks, tokenize, index.idf)
    candidate = listed or _choose(q, best, text)
    if candidate is text and text is not None and q.wants_compare:
        text.text = _with_difference(text.text)
    if engine.settings.llm_base_url:
        from .llm import generate_answer

        generated = generate_answer(engine.settings, question, chunks[:LLM_CONTEXT_CHUNKS])
        if generated is not None:
            return generated
    if candidate is None:
        return _abstain(question)
    citations = [_cite(candidate.chunk, candidate.quote)]
    for c in chunks:
        if len(citations) >= 3:
            break
        if c.id != candidate.chunk.id and not any(x.file == c.file and x.page == c.page for x in citations):
            citations.append(_cite(c, _first_line(c.text)))
    return Answer(question=question, answer=candidate.text[:MAX_ANSWER_CHARS], abstained=False, citations=citations)


@dataclass
class Query:
    text: str
    compact: str
    tokens: list[str]

    @property
    def wants_compare(self) -> bool:
        return any(w in self.text for w in COMPARE_WORDS)


def _abstain(question: str) -> Answer:
    return Answer(question=question, answer=ABSTAIN_TEXT, abstained=True, citations=[])


def _content_tokens(tokenize, text: str, drop: set[str] = frozenset()) -> list[str]:
    seen: list[str] = []
    for t in tokenize(text):
        if t not in STOPWORDS and t not in drop and t not in seen:
            seen.append(t)
    return seen


def _without_doc_names(q: str, index, filters: Filters) -> str:
    """Drop the organization name that picked the report, so "디지털도시국" cannot match a row "디지털정책과"."""
    for d in index.docs:
        if d.file in filters.files:
            for name in sorted({compact(d.organization).split("(")[0], *_aliases(d.organization)}, key=len, reverse=True):
                if len(name) >= 3:
                    q = q.replace(name, " ")
    return q


def _aliases(organization: str) -> tuple[str, ...]:
    org = compact(organization)
    return next((aliases for key, aliases in _ORG_ALIASES.items() if key in org), ())


def _doc_words(index, filters: Filters) -> set[str]:
    """Words that only pick the report ("서울시재단", "2025"): once the filter chose it, they are not evidence."""
    words: set[str] = set()
    for d in index.docs:
        if d.file in filters.files:
            words.update(index.tokenizer(f"{d.title} {d.organization} {d.date[:4]}"))
    return words


# ------------------------------------------------------------------ which documents the question means

_ORG_ALIASES = {
    "서울시재단": ("서울시재단",),
    "서울디지털재단": ("서울디지털재단", "디지털재단"),
    "디지털도시국": ("디지털도시국",),
    "디지털정책관": ("디지털정책관", "예산안검토", "검토보고", "수석전문위원", "시의회"),
}


REPORT_KINDS = ("검토보고", "업무보고", "업무계획")


def infer_filters(question: str, docs) -> Filters:
    """A question naming an organization (and year) is answered from that organization's report."""
    q = compact(question)
    years = [int(y) for y in re.findall(r"(20\d{2})\s*년", question)]
    years += [2000 + int(y) for y in re.findall(r"[’'‘](\d{2})\s*년", question)]
    scored = []
    for d in docs:
        org = _org_score(q, d.organization)
        if not org:
            continue
        year_hit = any(str(y) in d.date[:4] or str(y) in d.title for y in years)
        kind_hit = any(k in q and k in compact(d.title) for k in REPORT_KINDS)
        scored.append((org + (1 if year_hit else 0) + (2 if kind_hit else 0), d.file))
    if not scored:
        return Filters()
    top = max(s for s, _ in scored)
    return Filters(files=[f for s, f in scored if s == top])


def _org_score(q: str, organization: str) -> int:
    org = compact(organization)
    if org and (org in q or org.split("(")[0] in q):
        return 2
    for key, aliases in _ORG_ALIASES.items():
        if key in org and any(a in q for a in aliases):
            return 2
    return 0


# ------------------------------------------------------------------ years and organizations the question names

_Q_YEAR = re.compile(r"(20\d{2})\s*년?|[’'‘`](\d{2})\s*년?")
_ORG_NAME = re.compile(r"[가-힣A-Za-z]{2,}(?:공사|공단|재단|진흥원|연구원)")


def content_years(question: str, docs, filters: Filters) -> list[int]:
    """Years the answer itself must show: those not used only to pick the report."""
    doc_years = {y for d in docs if d.file in filters.files for y in re.findall(r"20\d{2}", f"{d.title} {d.date}")}
    years = []
    for m in _Q_YEAR.finditer(question):
        year = int(m.group(1) or f"20{m.group(2)}")
        if str(year) not in doc_years:
            years.append(year)
    return years


def _has_years(years: list[int], evidence: str) -> bool:
    """A figure for another year is a nearby but wrong answer."""
    text = compact(evidence)
    return all(str(y) in text or re.search(rf"[’'‘`]{y % 100:02d}(?!\d)|(?<!\d){y % 100:02d}년", text) for y in years)


def names_unknown_organization(question: str, docs, filters: Filters) -> bool:
    """ "서울교통공사 업무보고" when no report of 서울교통공사 is indexed: the answer is not here."""
    if filters.files:
        return False
    known = compact(" ".join(f"{d.organization} {d.title}" for d in docs))
    return any(compact(name) not in known for name in _ORG_NAME.findall(question))


# ------------------------------------------------------------------ table cells

def _label_score(label: str, q: Query) -> float:
    """1.0 when the label appears in the question; partial credit for some of its parts."""
    c = compact(re.sub(r"\(.*?\)", "", label)) or compact(label)
    if len(c) < 2 and not c.isdigit():
        return 0.0
    if c in q.compact:
        return 1.0
    parts = [compact(p) for p in re.split(r"[\s·ㆍ,/]+", re.sub(r"\(.*?\)", "", label)) if len(compact(p)) >= 2]
    if len(parts) > 1:
        hits = [_part_hit(p, q.compact) for p in parts]
        share = sum(hits) / len(parts)
        if hits[-1]:  # the lowest header row is the most specific: "집행액 지출액" is asked as "지출액"
            share = max(share, 0.75 * hits[-1])
        return 0.8 * share if share >= 0.5 else 0.0
    # Korean compounds: "과부족" is asked as "부족", "지출액" as "지출"
    grams = {c[i : i + 2] for i in range(len(c) - 1)}
    share = sum(g in q.compact for g in grams) / len(grams) if grams else 0.0
    return 0.6 * share if share >= 0.5 else 0.0


def _part_hit(part: str, compact_query: str) -> float:
    """1 for the word itself, 0.7 for its stem without a counter suffix ("지출액" asked as "지출")."""
    if part in compact_query:
        return 1.0
    stem = re.sub(r"(?:액|률|율|수|금)$", "", part)
    return 0.7 if len(stem) >= 2 and stem != part and stem in compact_query else 0.0


def _best_table_answer(q: Query, chunks: list[Chunk]) -> Candidate | None:
    best: Candidate | None = None
    for rank, chunk in enumerate(chunks):
        if chunk.kind != "table":
            continue
        cand = _table_candidate(q, chunk, rank)
        if cand and (best is None or cand.score > best.score):
            best = cand
    return best


def _table_candidate(q: Query, chunk: Chunk, rank: int) -> Candidate | None:
    columns = chunk.columns[1:]
    base_col_scores = [_label_score(c, q) for c in columns]
    context = max(_label_score(chunk.caption, q), 0.0) * 0.3 - rank * 0.03
    best: Candidate | None = None
    wants_rate = _wants_rate(q)
    # "세출예산안이 얼마나 줄었어": the question names the table, not a row, so it means the table's total.
    names_table = _label_score(chunk.caption, q) >= 0.8 or _label_score(chunk.section.split(" > ")[-1], q) >= 0.8
    for row in chunk.rows:
        row_score = _row_score(row, q)
        if row_score <= 0 and names_table and compact(row.header) in TOTAL_ROWS:
            row_score = 0.8
        if row_score <= 0:
            continue
        col_scores = [
            sc - (0.15 if sc and (v.strip().endswith("%") != wants_rate) else 0.0)
            for sc, v in zip(base_col_scores, row.values)
        ]
        if q.wants_compare:
            cmp = _compare_in_row(q, chunk, row, col_scores)
            if cmp and (best is None or cmp.score > best.score):
                best = cmp
                continue
        top_col = max(range(len(columns)), key=lambda j: (col_scores[j], -j), default=None)
        if top_col is not None and col_scores[top_col] > 0 and row.values[top_col].strip():
            score = row_score + col_scores[top_col] + context
            # "정원이랑 현원 각각" / "합계랑 집행률": every column the question fully names.
            wanted = [j for j in range(len(columns)) if col_scores[j] >= 0.99 and row.values[j].strip()] or [top_col]
            text = "; ".join(_cell_text(chunk, row, columns[j], row.values[j]) for j in wanted[:4])
            cand = Candidate(score * _type_fit(q, text), text, chunk, _row_quote(chunk, row))
        else:
            summary = _row_summary(chunk, row)
            cand = Candidate((row_score + 0.3 + context) * _type_fit(q, summary), summary, chunk, _row_quote(chunk, row))
        if best is None or cand.score > best.score:
            best = cand
    return best


def _row_score(row: TableRow, q: Query) -> float:
    """Best match among the row's label and its text cells (e.g. the 세부사업명 of a budget list).

    A total row ("계") matches questions about the whole ("전체 예산", "총액").
    """
    if compact(row.header) in TOTAL_ROWS and any(w in q.text for w in TOTAL_WORDS):
        return 0.9
    if compact(row.header) == "과부족" and any(w in q.text for w in ("부족", "초과", "남", "모자")):
        return 1.2  # staffing tables: "정원 대비 몇 명 부족" asks the 과부족 row, not 정원
    labels = [row.header] + [v for v in row.values if v.strip() and value_of(v) is None and len(v) <= 40]
    return max(_label_score(label, q) for label in labels)


_HEADCOUNT = re.compile(r"정원|현원|인력|인원|과부족")


def _unit_for(chunk: Chunk, column: str, value: str) -> str:
    if value.endswith("%") or not re.search(r"\d", value):
        return ""
    unit = base_unit(chunk.unit)
    if not unit and _HEADCOUNT.search(f"{chunk.caption} {chunk.section} {column}"):
        return "명"  # staffing tables often print no unit line
    return unit


def _cell_text(chunk: Chunk, row: TableRow, column: str, value: str) -> str:
    value = value.replace("\n", " ").strip()
    unit = _unit_for(chunk, column, value)
    text = f"{value}{unit} ({row.header}, {column})"
    won = to_won(v, chunk.unit) if (v := value_of(value)) is not None and unit else None
    if won is not None and abs(won) >= 100_000_000:
        text += f" ≈ {format_eok(won)}"
    return text


def _row_summary(chunk: Chunk, row: TableRow) -> str:
    """The row's main figures when the question names a row but no column."""
    parts = [
        f"{col} {val.strip()}{_unit_for(chunk, col, val.strip())}"
        for col, val in zip(chunk.columns[1:], row.values)
        if val.strip() and val.strip() != row.header
    ][:6]
    return f"{row.header}: " + ", ".join(parts)


def _row_quote(chunk: Chunk, row: TableRow) -> str:
    cells = " | ".join([row.header, *[v.replace("\n", " ") for v in row.values]])
    return (f"{chunk.caption}: " if chunk.caption else "") + cells[:QUOTE_CHARS]


def _compare_in_row(q: Query, chunk: Chunk, row: TableRow, col_scores: list[float]) -> Candidate | None:
    """A change the report prints (증감 column), else the difference of the two columns the question names."""
    columns = chunk.columns[1:]
    printed = _printed_change(q, chunk, row)
    if printed:
        return printed
    named = [j for j in sorted(range(len(columns)), key=lambda j: -col_scores[j]) if col_scores[j] >= 0.5]
    numeric = [j for j in named if value_of(row.values[j]) is not None and not row.values[j].strip().endswith("%")]
    if len(numeric) < 2:
        return None
    a, b = sorted(numeric[:2])
    va, vb = value_of(row.values[a]), value_of(row.values[b])
    diff = va - vb
    unit = base_unit(chunk.unit)
    pct = f", {diff / vb * 100:+.1f}%" if vb else ""
    text = (
        f"{format_number(diff, row.values[a])}{unit} 차이{pct} "
        f"({row.header}: {columns[a]} {row.values[a].strip()} − {columns[b]} {row.values[b].strip()})"
    )
    score = _row_score(row, q) + col_scores[a] + col_scores[b]
    return Candidate(score, text, chunk, _row_quote(chunk, row))


def _wants_rate(q: Query) -> bool:
    return any(w in q.text for w in ("률", "율", "%", "퍼센트", "비율", "프로"))


def _printed_change(q: Query, chunk: Chunk, row: TableRow) -> Candidate | None:
    wants_rate = _wants_rate(q)
    for j, col in enumerate(chunk.columns[1:]):
        if "증감" not in col or not row.values[j].strip():
            continue
        is_rate = "률" in col or row.values[j].strip().endswith("%")
        if is_rate != wants_rate:
            continue
        text = _cell_text(chunk, row, col, row.values[j])
        others = [f"{c} {v.strip()}" for c, v in zip(chunk.columns[1:], row.values) if v.strip() and "증감" not in c][:2]
        if others:
            text += " — " + ", ".join(others)
        score = _row_score(row, q) + 1.0
        return Candidate(score, text, chunk, _row_quote(chunk, row))
    return None


_COUNTED = re.compile(r"(△?\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?)\s*(명|건|개|팀|원|천원|백만원|억원|%)")


def _with_difference(text: str) -> str:
    """Two figures of one unit in the answering sentences: show their difference and the arithmetic."""
    found = _COUNTED.findall(text)
    if len(found) != 2 or found[0][1] != found[1][1]:
        return text
    (a, unit), (b, _) = found
    va, vb = value_of(a), value_of(b)
    if va is None or vb is None:
        return text
    diff = abs(va - vb)
    return f"{format_number(diff, a)}{unit} 차이 ({a}{unit} → {b}{unit}): {text}"


# ------------------------------------------------------------------ lists

_LIST_Q = re.compile(r"몇\s*(?:개|가지|곳|종|군데)|어디\s*어디|뭐\s*뭐|무엇\s*무엇|목록|나열|다 알려|전부 알려")
_ITEM = re.compile(r"^(?:\d{1,2}[.)]|[-－・◦▪]|[①-⑳])\s*\S")


def _list_answer(q: Query, chunks: list[Chunk], all_chunks: list[Chunk], tokenize, idf) -> Candidate | None:
    """ "목적사업이 몇 개야?": count the items under the section the question names, across its chunks."""
    if not _LIST_Q.search(q.text) or not q.tokens:
        return None
    weights = {t: idf(t) for t in q.tokens}
    total = sum(weights.values())
    for chunk in chunks:
        if chunk.kind != "text":
            continue
        heading = set(tokenize(chunk.section.split(" > ")[-1]))
        if sum(w for t, w in weights.items() if t in heading) / total < 0.5:
            continue
        lines = [ln.strip() for c in all_chunks if c.kind == "text" and c.file == chunk.file
                 and c.section == chunk.section for ln in c.text.split("\n")]
        items = [ln for ln in lines if _ITEM.match(ln)]
        if len(items) < 2:
            continue
        shown = "; ".join(_trim(_unbullet(re.sub(r"^\d{1,2}[.)]\s*", "", it)), 40) for it in items[:10])
        return Candidate(2.0, f"{len(items)}개: {shown}", chunk, _trim(items[0], QUOTE_CHARS))
    return None


# ------------------------------------------------------------------ sentences

_SPLIT = re.compile(r"(?<=[다음함됨임])\.\s+|\n")


def _best_text_answer(q: Query, chunks: list[Chunk], tokenize, idf) -> Candidate | None:
    """The sentence covering most of the question's (rarity-weighted) words; section words count half."""
    if not q.tokens:
        return None
    weights = {t: idf(t) for t in q.tokens}
    total = sum(weights.values())
    best: Candidate | None = None
    for rank, chunk in enumerate(chunks):
        context = set(tokenize(f"{chunk.section} {chunk.caption}"))
        heading = compact(chunk.section.split(" > ")[-1])
        # A bare section title answers nothing, unless it carries the figure ("□ 인 력 : 57명").
        pieces = [p for p in _pieces(chunk.text) if compact(p) != heading or _FIGURE.search(p)]
        piece_tokens = [set(tokenize(expand_dates(p))) for p in pieces]
        # A bullet often names the topic and the next line holds the answer ("시범학교 선정" / "- 잠일초 …").
        for i in range(len(pieces)):
            for width in (1, 2):
                if i + width > len(pieces):
                    break
                text = " ".join(pieces[i : i + width])
                tokens = set().union(*piece_tokens[i : i + width])
                in_piece = sum(w for t, w in weights.items() if t in tokens) / total
                in_context = sum(w for t, w in weights.items() if t in context and t not in tokens) / total
                score = (in_piece + 0.8 * in_context) * _type_fit(q, text) - 0.02 * rank - 0.05 * (width - 1)
                if best is None or score > best.score:
                    best = Candidate(score, _trim(_unbullet(text)), chunk, _trim(text, QUOTE_CHARS))
    return best


_PERSON = re.compile(r"☎|담당\s*:|팀장\s*:|\d{3,4}-\d{4}")
_DATE = re.compile(r"\d{1,2}\s*\.\s*\d{1,2}\s*\.|\d+월|\d{4}\s*\.|[’'‘]\d{2}|\d+일|주\)|\d+주")
_FIGURE = re.compile(r"\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?\s*(?:%|천원|백만원|억|만원|원|명|건|개|팀|석|대|식|회|곳|종)")
_AMOUNT_Q = re.compile(r"얼마|몇|금액|예산|규모|비율|%|퍼센트|수는|건수|인원")
_PERSON_Q = re.compile(r"누구|담당자|연락처|전화|팀장")
_DATE_Q = re.compile(r"언제|날짜|일정|기간|며칠|몇 월|시기")


def _type_fit(q: Query, piece: str) -> float:
    """Down-weight sentences that cannot hold the kind of answer asked for (a figure, a person, a date)."""
    fit = 1.0
    if _PERSON_Q.search(q.text) and not _PERSON.search(piece):
        fit *= 0.5
    elif _DATE_Q.search(q.text) and not _DATE.search(piece):
        fit *= 0.5
    elif _AMOUNT_Q.search(q.text) and not _FIGURE.search(piece):
        fit *= 0.5
    return fit


_META_LINE = re.compile(r"^\(.*(?:기준|단위).*\)$")


def _pieces(text: str) -> list[str]:
    """Sentences and list items; "(’25. 10. 16. 기준, 단위: 명)" lines are labels, not answers."""
    return [p.strip() for p in _SPLIT.split(text) if len(p.strip()) >= 4 and not _META_LINE.match(p.strip())]


_BULLET = re.compile(r"^(?:[□■○◦❍●・·•▪※\-－]\s*)+")


def _unbullet(text: str) -> str:
    """ "□ 인력 : 57명" -> "인력 : 57명": outline markers are layout, not answer."""
    return _BULLET.sub("", text.strip())


def _trim(text: str, limit: int = MAX_ANSWER_CHARS) -> str:
    text = re.sub(r"\s+", " ", text).strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _first_line(text: str) -> str:
    return _trim(text.split("\n")[0], QUOTE_CHARS)


def _choose(q: Query, table: Candidate | None, text: Candidate | None) -> Candidate | None:
    table_ok = table is not None and table.score >= MIN_CELL_SCORE
    text_ok = text is not None and text.score >= MIN_TEXT_COVERAGE
    if text_ok and _PERSON_Q.search(q.text) and _PERSON.search(text.text):
        return text  # tables do not name people; the "담당 : 손고은 ☎4672" line does
    # A cell whose row and column the question both names is the most precise evidence there is.
    if table_ok and (not text_ok or table.score >= FULL_CELL_SCORE or table.score - 1.0 >= text.score - 0.3):
        return table
    return text if text_ok else None


def _cite(chunk: Chunk, quote: str) -> Citation:
    return Citation(file=chunk.file, title=chunk.title, page=chunk.page, section=chunk.section, quote=quote)
