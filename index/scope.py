"""Which reports a question means: the organizations, aliases, report kinds and years it names.

Every name comes from the index's documents (manifest fields, or the title when a folder has no
manifest), so a new corpus needs no code change.
"""
from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from typing import Protocol

from ingest.normalize import compact

_YEAR = re.compile(r"(20\d{2})\s*년?|[’'‘`](\d{2})\s*년?")
_ORG_NAME = re.compile(r"[가-힣A-Za-z]{2,}(?:공사|공단|재단|진흥원|연구원)")
MIN_NAME_CHARS = 3
# Words for a document: a question with one asks for an organization's own report, not a mention of it.
_DOCUMENT = re.compile(r"보고|계획|자료|예산안|결산")


class DocLike(Protocol):
    file: str
    title: str
    organization: str
    date: str
    kind: str
    aliases: tuple[str, ...]


def question_years(question: str) -> list[int]:
    """Years a question names: "2024년", "’24년", "2024"."""
    return [int(m.group(1) or f"20{m.group(2)}") for m in _YEAR.finditer(question)]


def _title_core(doc: DocLike, common: set[str]) -> list[str]:
    """Words of the title that tell this report from the others ("감사위원회" of "2025년 감사위원회 주요업무계획")."""
    return [w for w in doc.title.split() if w not in common and not re.fullmatch(r"\d{4}년?도?", w)]


def doc_names(doc: DocLike, common: set[str] = frozenset()) -> list[str]:
    """Compact names a question may use for a report: organization, its aliases, else its title's own words."""
    names = [compact(doc.organization).split("(")[0], *(compact(a) for a in doc.aliases)]
    if not doc.organization:
        names += [compact(w) for w in _title_core(doc, common)]
    return [n for n in dict.fromkeys(names) if len(n) >= MIN_NAME_CHARS]


def common_title_words(docs: list[DocLike]) -> set[str]:
    """Title words every report shares ("주요업무계획"): they name no report in particular."""
    if len(docs) < 2:
        return set()
    counts = Counter(w for d in docs for w in set(d.title.split()))
    return {w for w, n in counts.items() if n == len(docs)}


def infer_files(question: str, docs: list[DocLike]) -> list[str]:
    """Reports the question names by organization (with year and report kind as tie-breakers); [] for none."""
    q = compact(question)
    years = question_years(question)
    common = common_title_words(docs)
    scored = []
    for d in docs:
        if not any(name in q for name in doc_names(d, common)):
            continue
        year_hit = any(str(y) == d.date[:4] or str(y) in d.title for y in years)
        kind_hit = any(len(w) >= 2 and compact(w) in q for w in d.kind.split())
        scored.append((year_hit + kind_hit, d))
    if not scored:
        return []
    # Several organizations named ("A랑 B 비교"): keep the best report of each.
    best: dict[str, tuple[int, list[str]]] = {}
    for score, d in scored:
        key = doc_names(d, common)[0] if doc_names(d, common) else d.file
        top, files = best.get(key, (-1, []))
        if score > top:
            best[key] = (score, [d.file])
        elif score == top:
            files.append(d.file)
    return sorted(f for _, files in best.values() for f in files)


def content_years(question: str, docs: list[DocLike], files: list[str]) -> list[int]:
    """Years the answer itself must show: those not used only to pick the report."""
    doc_years = {y for d in docs if d.file in files for y in re.findall(r"20\d{2}", f"{d.title} {d.date}")}
    return [y for y in question_years(question) if str(y) not in doc_years]


def names_unknown_organization(question: str, docs: list[DocLike], files: list[str],
                               mentioned: Callable[[str], bool] = lambda _: False) -> bool:
    """ "서울교통공사 업무보고" when no report of 서울교통공사 is indexed and no report speaks of it: the answer
    is not here. An organization a report writes about ("부산글로벌도시재단 대표이사") is asked of that report,
    unless the question wants that organization's own document ("서울교통공사 업무보고에서")."""
    if files:
        return False
    known = compact(" ".join(f"{d.organization} {d.title} {' '.join(d.aliases)}" for d in docs))
    own_document = bool(_DOCUMENT.search(question))
    return any(compact(name) not in known and (own_document or not mentioned(compact(name)))
               for name in _ORG_NAME.findall(question))
