"""Which reports a question means: the organizations, aliases, report kinds and years it names.

Every name comes from the index's documents (manifest fields, or the title when a folder has no
manifest), so a new corpus needs no code change.
"""
from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
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


# "고용노동부_내일배움카드(일반)", "「FIS 이슈 & 포커스」 22-3호 《재정융자사업》": file names join words with these
_TITLE_BREAK = re.compile(r"[\s_「」『』《》〈〉()\[\]<>]+")


@dataclass(frozen=True)
class TitleWords:
    """Title words by how many reports share them: in every title they name none; in several, only in the
    issuer's place (first), where "고용노동부" names that ministry's reports together."""

    every: frozenset[str] = frozenset()
    shared: frozenset[str] = frozenset()


def _title_words(title: str) -> list[str]:
    return [w for w in _TITLE_BREAK.split(title) if w and not re.fullmatch(r"\d{4}년?도?", w)]


def _title_core(doc: DocLike, common: TitleWords) -> list[str]:
    """Words of the title that tell this report from the others ("감사위원회" of "2025년 감사위원회 주요업무계획")."""
    words = [w for w in _title_words(doc.title) if w not in common.every]
    return [w for i, w in enumerate(words) if i == 0 or w not in common.shared]


def _organization_names(doc: DocLike) -> list[str]:
    """The manifest's organization and its aliases, compact: they name the report however many it has."""
    return [compact(doc.organization).split("(")[0], *(compact(a) for a in doc.aliases)]


def doc_names(doc: DocLike, common: TitleWords = TitleWords()) -> list[str]:
    """Compact names a question may use for a report: organization, its aliases, else its title's own words."""
    names = _organization_names(doc)
    if not doc.organization:
        names += [compact(w) for w in _title_core(doc, common)]
    return [n for n in dict.fromkeys(names) if len(n) >= MIN_NAME_CHARS]


def issuer(organization: str, title: str) -> str:
    """Who wrote a report: its organization, or without a manifest its title less the years (one body's
    reports differ by year only; "2025년 기획관 주요업무계획" and "2025년 감사위원회 …" are two bodies)."""
    return compact(organization) or compact("".join(_title_words(title)))


def subject_words(doc: DocLike, common: TitleWords = TitleWords()) -> list[str]:
    """Title words after the issuer, without a manifest ("내일배움카드" of "고용노동부_내일배움카드(일반)"): they
    name the report's subject, which its tables print as row labels, so they stay words a question matches."""
    return [] if doc.organization else _title_core(doc, common)[1:]


def common_title_words(docs: list[DocLike]) -> TitleWords:
    """Title words every report shares ("주요업무계획") and those several share ("고용노동부", "포커스")."""
    if len(docs) < 2:
        return TitleWords()
    counts = Counter(w for d in docs for w in set(_title_words(d.title)))
    return TitleWords(frozenset(w for w, n in counts.items() if n == len(docs)),
                      frozenset(w for w, n in counts.items() if n >= 2))


def infer_files(question: str, docs: list[DocLike]) -> list[str]:
    """Reports the question names by organization (with year and report kind as tie-breakers); [] for none."""
    q = compact(question)
    years = question_years(question)
    common = common_title_words(docs)
    named = {d.file: [n for n in doc_names(d, common) if n in q] for d in docs}
    reports_named = Counter(n for names in named.values() for n in set(names))
    # "고용노동부 내일배움카드": the program's own name picks its report among the ministry's others
    organizations = {d.file: set(_organization_names(d)) for d in docs}
    own = {d.file: [n for n in named[d.file] if reports_named[n] == 1 or n in organizations[d.file]] for d in docs}
    if any(own.values()):
        named = {f: names for f, names in own.items() if names}
    scored = []
    for d in docs:
        if not named.get(d.file):
            continue
        year_hit = any(str(y) == d.date[:4] or str(y) in d.title for y in years)
        kind_hit = any(len(w) >= 2 and compact(w) in q for w in d.kind.split())
        scored.append((year_hit + kind_hit, max(named[d.file], key=len), d))
    if not scored:
        return []
    # Several organizations named ("A랑 B 비교"): keep the best report of each.
    best: dict[str, tuple[int, list[str]]] = {}
    for score, key, d in scored:
        top, files = best.get(key, (-1, []))
        if score > top:
            best[key] = (score, [d.file])
        elif score == top:
            files.append(d.file)
    return sorted(f for _, files in best.values() for f in files)


def content_years(question: str, docs: list[DocLike], files: list[str]) -> list[int]:
    """Years the answer itself must show: those not used only to pick the report, and "작년" of the report's year
    (a 2025 plan's 작년 is 2024, whose figures its tables print beside 2025's)."""
    doc_years = {y for d in docs if d.file in files for y in re.findall(r"20\d{2}", f"{d.title} {d.date}")}
    years = [y for y in question_years(question) if str(y) not in doc_years]
    base = _report_year(docs, files)
    if base is None:
        return years
    said = [base + LAST_AND_NEXT_YEARS[m.group()] for m in _LAST_OR_NEXT_YEAR.finditer(question)]
    return years + [y for y in dict.fromkeys(said) if y not in years]


def this_year(question: str, docs: list[DocLike], files: list[str]) -> int | None:
    """The scoped report's year when the question says "올해": a figure labelled with another year is not it.
    Not a year the answer must show, since a plan prints its own year's figures mostly without one."""
    return _report_year(docs, files) if _THIS_YEAR.search(question) else None


# Years said relative to the report's own (Korean usage, not corpus facts); "전년 대비" is a comparison's
# wording and names no year of its own (app/conversation.py reads 올해/전년 against the year talked about).
LAST_AND_NEXT_YEARS = {"재작년": -2, "작년": -1, "지난해": -1, "내년": 1}
_LAST_OR_NEXT_YEAR = re.compile("|".join(LAST_AND_NEXT_YEARS))  # 재작년 first: it holds 작년
_THIS_YEAR = re.compile(r"올해|금년|이번\s*해")


def _report_year(docs: list[DocLike], files: list[str]) -> int | None:
    """The year the scoped reports are of, by their titles ("2025년 … 주요업무계획"); None when not one."""
    years = {int(y) for d in docs if d.file in files for y in re.findall(r"20\d{2}", d.title)[:1]}
    return years.pop() if len(years) == 1 else None


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
