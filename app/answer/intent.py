"""What a question asks for, read from kiwi morphemes (not substrings): answer type, operation, parts, years.

"목적"/"실적"/"면적" carry no comparison and "프로그램" no rate: only whole morphemes count as cues.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import pairwise

from ingest.normalize import compact

Morphemes = Callable[[str], list[tuple[str, str]]]

CONTENT_TAGS = ("NNG", "NNP", "NR", "SL", "SH", "SN", "XR", "VV", "VA")
# Question words, counters and verbs of asking carry no evidence: they match every report.
STOPWORDS = frozenset({
    "얼마", "몇", "무엇", "뭐", "언제", "누구", "어디", "어떤", "어떻", "알리", "주", "하", "있", "되", "이", "것", "수",
    "대하", "관하", "나", "좀", "명", "개", "건", "원", "년", "월", "일", "전체", "총", "무슨", "어느", "보고서", "문서",
    "올해", "작년", "해", "경우", "부분", "내용", "관련", "정도", "말", "가", "알", "보", "요", "각각", "얼마나", "비교",
    "차이", "대비", "가장", "제일", "많", "적", "크", "작", "높", "낮", "늘", "줄", "그", "거", "데", "뭐뭐", "어디어디",
    "왜", "이유", "얼만", "혹시", "현재", "지금", "기준", "쯤", "때", "중", "더", "다", "모두", "전부", "정리", "나오",
})

# Cue morphemes of the expected answer type (checked in this order: the first cue found wins).
TYPE_CUES: tuple[tuple[str, frozenset[str]], ...] = (
    ("reason", frozenset({"왜", "이유", "사유", "의견", "지적", "권고", "요구", "배경", "취지", "요지", "검토의견",
                          "문제점", "개선", "주문", "당부", "우려"})),
    ("person", frozenset({"누구", "담당자", "책임자", "팀장", "위원장", "대표", "담당관", "연락처"})),
    ("date", frozenset({"언제", "날짜", "일정", "기간", "시기", "며칠", "일시", "개최일", "기한", "시점"})),
    ("place", frozenset({"어디", "장소", "위치", "어디서"})),
    ("list", frozenset({"뭐뭐", "목록", "종류", "무엇무엇", "나열", "어디어디", "항목"})),
    ("rate", frozenset({"률", "율", "비율", "퍼센트", "비중", "%"})),
    ("count", frozenset({"인원", "정원", "현원", "인력", "건수", "개수", "명수", "횟수"})),
    ("amount", frozenset({"얼마", "얼마나", "얼만", "금액", "예산", "비용", "사업비", "액수", "억", "원", "예산액", "총사업비",
                          "단가", "예산안"})),
)
REASON_CUES = dict(TYPE_CUES)["reason"]
QUOTE_ENDINGS = frozenset({"라고", "래", "래요", "라는"})
COUNT_COUNTERS = frozenset({"명", "개", "건", "곳", "가지", "회", "개소", "종", "팀", "대", "척", "호", "차례"})
DATE_COUNTERS = frozenset({"월", "일", "년", "시", "년도", "연도", "분기"})
# nouns after 몇 that ask a rate or an amount, not a count ("몇 퍼센트", "몇 억", "몇 배")
NOT_COUNTERS = frozenset({"퍼센트", "프로", "억", "조", "만", "천", "원", "배", "위", "등"})
DECREASE_CUES = frozenset({"줄", "줄어들", "줄어", "감소", "감액", "삭감", "축소", "하락", "내리", "작아지", "떨어지",
                           "깎", "깎이"})
INCREASE_CUES = frozenset({"늘", "늘어나", "늘어", "증가", "증액", "확대", "상승", "오르", "커지"})
CHANGE_CUES = DECREASE_CUES | INCREASE_CUES | frozenset({"증감", "변화", "변동", "달라지"})
COMPARE_CUES = CHANGE_CUES | frozenset({"비교", "차이", "대비", "전년"})
# "어디야", "어느 부서", "뭐야": the answer names rows of a table, not a figure.
WHICH_CUES = frozenset({"어디", "어느", "무엇", "뭐", "어떤"})
HOW_MUCH_CUES = frozenset({"얼마", "몇", "얼마나", "얼만"})
# a clause holding one of these asks its own question ("언제 어디서 하고, 예산은 얼마야")
ASKING_WORDS = HOW_MUCH_CUES | WHICH_CUES | frozenset({"언제", "누구", "며칠"})
EXCLUDE_CUES = (("말", "VV"), ("빼", "VV"), ("제외", "NNG"), ("제외하", "VV"))
SUPERLATIVE_CUES = frozenset({"가장", "제일", "최대", "최고", "최저", "최소", "최다", "젤", "1위"})
# "최대 얼마까지 지원돼", "최대 지급액 얼마야": a cap the report states, not the largest of several rows
CAP_CUES = frozenset({"최대", "최고", "최저", "최소"})
CAP_REACH = 3  # morphemes from the cap word to the question word it bounds
MAX_CUES = frozenset({"많", "많이", "크", "높", "길", "최대", "최고", "최다", "비싸"})
MIN_CUES = frozenset({"적", "작", "낮", "짧", "최저", "최소", "싸"})
LIST_CUES = frozenset({"뭐뭐", "목록", "종류", "무엇무엇", "나열", "어디어디", "항목"})
TOTAL_CUES = frozenset({"전체", "총액", "총계", "합계", "규모", "모두", "전부", "총"})
PART_SPLIT_TAGS = ("JC", "JKB")
PART_SPLIT_PARTICLES = frozenset({"와", "과", "랑", "이랑", "하고"})
# spelled across morphemes: "뭐"+"뭐"; "단계별로 알려줘" asks for a procedure's steps
LIST_WORDS = ("뭐뭐", "무엇무엇", "어디어디", "뭐가있", "뭐있", "단계별")
PART_SPLIT_FORMS = frozenset({"및", ",", "각각", "그리고", "또"})

# Suffixes of organizational units ("교육지원과", "대기환경연구부"); "부서" asks for any of them.
ORG_UNITS = ("과", "팀", "부", "국", "실", "센터", "담당관", "본부", "사업소")
GENERIC_UNITS = frozenset({"부서", "조직"})

ANSWER_TYPES = ("amount", "count", "rate", "date", "person", "place", "list", "reason", "text")
OPERATIONS = ("lookup", "compare", "superlative", "filter", "count", "list")


@dataclass(frozen=True)
class Intent:
    question: str
    terms: tuple[str, ...]  # content words, in order, without question words or the names that picked the report
    weights: tuple[float, ...]  # rarity (idf) of each term
    answer_type: str
    operation: str
    direction: str  # "max" or "min" for superlatives ("감액률 제일 큰": the most negative), "down"/"up" for filters
    parts: tuple[tuple[str, ...], ...]  # terms of each conjunct ("정원이랑 현원"), one part when not multi-part
    years: tuple[int, ...]  # years the answer must show
    wants_total: bool
    excluded: tuple[tuple[str, ...], ...] = ()  # "인건비·경비 말고": rows naming these are not answers
    units: tuple[str, ...] = ()  # "어떤 과들이 있어": the kind of organizational unit whose names are asked
    program: str = ""  # "드론 사업 예산은": the word that names the program asked of
    part_types: tuple[str, ...] = ()  # the answer type of each part ("어디서 하고 예산은 얼마야": place, amount)
    asks_change: bool = False  # "얼마나 늘었어", "증감": the change is the figure asked, not a year's amount
    this_year: int | None = None  # "올해": the report's year, which a figure labelled with another is not
    counter: str = ""  # "몇 명": the counter a count is asked in

    @property
    def words_shown(self) -> tuple[str, ...]:
        """What a long passage is cut around: the question's words and the years it asks."""
        return self.terms + tuple(str(y) for y in self.years)

    @property
    def multi_part(self) -> bool:
        return len(self.parts) > 1

    def part_type(self, i: int) -> str:
        return self.part_types[i] if i < len(self.part_types) else self.answer_type


# The items every Korean public budget lists beside its programs (지방자치단체 예산편성 기준): staff pay,
# running costs, the contingency reserve and refunds.
NON_PROGRAM_ROWS = ("인건비", "기본경비", "행정운영경비", "예비비", "반환금")


def parse_intent(
    question: str,
    morphemes: Morphemes,
    idf: Callable[[str], float],
    years: Sequence[int] = (),
    drop: frozenset[str] = frozenset(),
    printed: Callable[[str], bool] | None = None,
) -> Intent:
    """`years`: years the answer itself must show; `drop`: words that only named the report; `printed`: whether
    the reports print a word (to tell a unit's name from a conjunction)."""
    morphs = _joined(morphemes(question))
    if printed is not None:
        morphs = _unit_names_joined(morphs, printed)
    excluded = _excluded(morphs)
    drop = drop | {w for item in excluded for w in item}
    forms = [f for f, _ in morphs]
    terms = _terms(morphs, drop)
    operation = _operation(morphs)
    if _says_list(question) and operation != "filter":  # "줄어든 항목 뭐뭐야" lists the rows a filter keeps
        operation = "list"
    if operation == "lookup" and _PICKED_AMONG.search(question):
        operation = "list"
    answer_type = "list" if operation in ("list", "filter") else _answer_type(morphs, operation)
    parts, part_types = _parts(morphs, drop, tuple(terms), operation, answer_type)
    if operation in ("superlative", "filter") and any(t.endswith("사업") for t in terms):
        # "세부사업 중 집행률 가장 낮은": a budget's running costs are rows of the table, not programs
        excluded += tuple((w,) for w in NON_PROGRAM_ROWS if (w,) not in excluded)
    return Intent(
        question=question,
        terms=tuple(terms),
        weights=tuple(idf(t) for t in terms),
        answer_type=answer_type,
        operation=operation,
        direction=_direction(forms, operation),
        parts=parts,
        part_types=part_types,
        years=tuple(years),
        wants_total=any(f in TOTAL_CUES for f in forms),
        excluded=excluded,
        units=_units(morphs),
        program=_program(morphs),
        asks_change=bool(set(forms) & CHANGE_CUES),
        counter=_counter(morphs),
    )


def _counter(morphs: list[tuple[str, str]]) -> str:
    """ "참석자 몇 명이었어" -> 명: a count of people is not one of sessions ("3회") or items ("4개")."""
    return next((nxt for (form, _), (nxt, tag) in pairwise(morphs) if form == "몇" and _is_counter(nxt, tag)), "")


def _is_counter(form: str, tag: str) -> bool:
    """Any counter counts: "몇 군데", "몇 개사", "몇 본", "몇 석" as much as "몇 명"."""
    return form in COUNT_COUNTERS or (tag in ("NNB", "NNG") and form not in NOT_COUNTERS)


UNIT_NAME_CHARS = 3  # letters before 과: "정원과 현원" joins two words, "데이터전략과" names a unit


def _unit_names_joined(morphs: list[tuple[str, str]], printed: Callable[[str], bool]) -> list[tuple[str, str]]:
    """kiwi reads the 과 closing a unit's name as "and" ("데이터전략과 2025년 예산" -> 데이터 전략 + 과): where the
    reports print the nouns before it with the 과 as one name, it is the name's suffix, and splits no parts.
    The nouns stay words of their own: a table's OCR'd row label ("정보 . 보안과") matches them, not the name."""
    out: list[tuple[str, str]] = []
    for i, (form, tag) in enumerate(morphs):
        if (form, tag) == ("과", "JC") and _names_unit(morphs[:i], form, printed):
            tag = "XSN"
        out.append((form, tag))
    return out


def _names_unit(before: list[tuple[str, str]], suffix: str, printed: Callable[[str], bool]) -> bool:
    nouns = 0
    while nouns < len(before) and before[-1 - nouns][1] in ("NNG", "NNP", "SL"):
        nouns += 1
    names = ("".join(f for f, _ in before[start:]) + suffix for start in range(len(before) - nouns, len(before)))
    return any(len(name) > UNIT_NAME_CHARS and printed(compact(name).lower()) for name in names)


def _program(morphs: list[tuple[str, str]]) -> str:
    """ "서울시재단 드론 사업 예산은": the noun right before 사업 names the program."""
    for (form, tag), (nxt, nxt_tag) in pairwise(morphs):
        word = compact(form).lower()
        if nxt == "사업" and nxt_tag.startswith("NN") and tag in ("NNG", "NNP", "SL") and len(word) >= 2:
            return word
    return ""


def _joined(morphs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """kiwi reads "제일" before a verb as prefix + numeral ("제"+"일"); it is the superlative adverb."""
    out: list[tuple[str, str]] = []
    for form, tag in morphs:
        if out and out[-1] == ("제", "XPN") and (form, tag) == ("일", "NR"):
            out[-1] = ("제일", "MAG")
            continue
        out.append((form, tag))
    return out


def _units(morphs: list[tuple[str, str]]) -> tuple[str, ...]:
    """ "과가 몇 개", "어떤 부가 있어", "부서 어디어디": the unit words an organization chart names its parts with."""
    found: list[str] = []
    for form, tag in morphs:
        if not tag.startswith("NN"):
            continue
        if form in GENERIC_UNITS:
            return ORG_UNITS
        if form in ORG_UNITS and form not in found:
            found.append(form)
    return tuple(found)


def _excluded(morphs: list[tuple[str, str]]) -> tuple[tuple[str, ...], ...]:
    """ "인건비·경비 말고", "(반환금·예비비 빼고)": the nouns listed just before the cue, one item per "·"/","."""
    out: list[tuple[str, ...]] = []
    for i, (form, tag) in enumerate(morphs):
        if (form, tag) not in EXCLUDE_CUES:
            continue
        items: list[list[str]] = [[]]
        for f, t in reversed(morphs[:i]):
            if t.startswith(("NNG", "NNP", "SL", "SH")):
                items[-1].insert(0, compact(f).lower())
            elif t == "SP" or (t == "JC" and f in PART_SPLIT_PARTICLES) or t in ("JKO", "JX"):
                if items[-1]:
                    items.append([])
            else:
                break
        out += [tuple(item) for item in reversed(items) if item]
    return tuple(out)


def _terms(morphs: list[tuple[str, str]], drop: frozenset[str]) -> list[str]:
    """Content morphemes; a noun with its suffix ("집행"+"률") is kept whole, since "집행률" is the column."""
    out: list[str] = []
    for i, (form, tag) in enumerate(morphs):
        if not tag.startswith(CONTENT_TAGS):
            continue
        word = form
        # "과들", "사업들": the plural suffix makes no word of its own
        if i + 1 < len(morphs) and morphs[i + 1][1] == "XSN" and tag.startswith("NN") and morphs[i + 1][0] != "들":
            word = form + morphs[i + 1][0]
        word = compact(word).lower()
        if word in STOPWORDS or word in drop or word in out or (len(word) < 2 and not tag.startswith(("SN", "SL"))):
            continue
        if tag == "SN" and len(word) == 4 and word.startswith("20"):  # years are checked apart, not as words
            continue
        out.append(word)
    return out


_COUNTED_WHAT = re.compile(r"(?:\d+|[한두세네다섯여섯일곱여덟아홉열])\s*(?:개|종|가지|곳|건|개소)[가는이고]?\s*(?:뭐|무엇|어디|어떤)")


# "현안 중에 신규사업으로 분류된 건 뭐야": the things of a set that carry a mark, however many
_PICKED_AMONG = re.compile(r"(?<![가-힣])중(?:에|에서)?\s.*(?:된|인)\s*(?:건|게|거|것)\s*(?:은|는|이|가)?\s*(?:뭐|무엇|어떤|어디)")


def _says_list(question: str) -> bool:
    """ "뭐뭐", "어떤 것들", "3개가 뭐야", "몇 개고 뭐야": the answer is a list of names."""
    c = compact(question)
    return (any(w in c for w in LIST_WORDS) or "어떤것들" in c or "어떤게있" in c or "어떤거있" in c
            or bool(_COUNTED_WHAT.search(question))
            or ("몇" in c and ("뭐야" in c or "뭐고" in c or "뭐뭐" in c or "어떤" in c)))


WHICH_TYPES = ("person", "place")  # "누가 더 많아", "어디가 제일 커": which side, not a person or a place


def _answer_type(morphs: list[tuple[str, str]], operation: str = "lookup") -> str:
    forms = {f for f, _ in morphs} - _names_not_asking(morphs)
    for i, (form, tag) in enumerate(morphs):
        if form == "몇" and i + 1 < len(morphs):
            nxt, nxt_tag = morphs[i + 1]
            if nxt in DATE_COUNTERS:
                return "date"
            if _is_counter(nxt, nxt_tag) and not forms & LIST_CUES:
                return "count"
    if _asks_what_was_said(morphs):
        return "reason"
    for kind, cues in TYPE_CUES:
        if operation in ("compare", "superlative") and kind in WHICH_TYPES:
            continue
        if operation == "superlative" and kind == "list":  # "제일 큰 항목은 뭐야" asks for one row
            continue
        if kind == "person" and forms & HOW_MUCH_CUES and "누구" not in forms:
            continue  # "청렴담당관 몫은 얼마야": the role names whose budget is asked, not who
        if forms & cues or any(tag == "XSN" and form in cues for form, tag in morphs):
            return kind
    if ("수", "NNG") in morphs:  # "방문자 수", "참여 기업 수" (the 수 of "할 수 있" is a bound noun)
        return "count"
    return "text"


def _names_not_asking(morphs: list[tuple[str, str]]) -> set[str]:
    """ "어디나학습장", "어디나지원단": 어디 + 나 is a program's name ("anywhere"), not "where"."""
    asked = {f for (f, _), (nxt, _) in zip(morphs, [*morphs[1:], ("", "")]) if nxt not in _INDEFINITE}
    return {f for f, _ in morphs if f in WHICH_CUES and f not in asked}


_INDEFINITE = frozenset({"나", "든", "든지", "서나", "에나", "이나"})


def _asks_what_was_said(morphs: list[tuple[str, str]]) -> bool:
    """ "검토보고서는 뭐라고 했어", "뭐래": an opinion or a remark is asked for."""
    return any(f == "뭐" for f, _ in morphs) and any(f in QUOTE_ENDINGS and t in ("EC", "EF") for f, t in morphs)


def _operation(morphs: list[tuple[str, str]]) -> str:
    forms = {f for f, _ in morphs}
    if forms & SUPERLATIVE_CUES and not _asks_a_cap(morphs):
        return "superlative"
    # "줄어든 부서 어디야" filters rows; "줄어든 이유가 뭐야", "깎인 거에 대해 뭐라고 했어" ask why, not which
    # "증가율 어디가 더 높아" weighs the sides the question names against each other: a comparison
    which_side = "더" in forms and bool(forms & (MAX_CUES | MIN_CUES))
    if forms & (DECREASE_CUES | INCREASE_CUES) and forms & WHICH_CUES and not forms & (HOW_MUCH_CUES | REASON_CUES) \
            and not _asks_what_was_said(morphs) and not which_side:
        return "filter"
    if forms & LIST_CUES:
        return "list"
    if any(f == "몇" and i + 1 < len(morphs) and morphs[i + 1][0] in {"개", "가지", "곳", "종", "개소"}
           for i, (f, _) in enumerate(morphs)):
        return "count"
    # "줄어든 이유가 뭐래" asks for the sentence that gives the reason, not for the size of the change
    asks_why = bool(forms & REASON_CUES) or _asks_what_was_said(morphs)
    if not asks_why and (forms & COMPARE_CUES or ("더" in forms and forms & (MAX_CUES | MIN_CUES))):
        return "compare"
    return "lookup"


def _asks_a_cap(morphs: list[tuple[str, str]]) -> bool:
    """ "최대 몇 %p까지": the cap word bounds the figure asked right after it, and no row is asked for."""
    forms = [f for f, _ in morphs]
    if set(forms) & (WHICH_CUES | SUPERLATIVE_CUES - CAP_CUES):
        return False
    return any(f in CAP_CUES and set(forms[i + 1:i + 1 + CAP_REACH]) & HOW_MUCH_CUES for i, f in enumerate(forms))


def _direction(forms: list[str], operation: str = "lookup") -> str:
    decrease = any(f in DECREASE_CUES for f in forms)
    if operation == "filter":
        return "down" if decrease else "up"
    if any(f in MIN_CUES for f in forms):
        return "min"
    if any(f in MAX_CUES for f in forms) or (decrease and operation == "superlative"):
        # a decrease is printed negative (△), so the largest cut is the smallest signed value
        return "min" if decrease and operation == "superlative" else "max"
    return ""


def _parts(morphs: list[tuple[str, str]], drop: frozenset[str], terms: tuple[str, ...], operation: str,
           answer_type: str) -> tuple[tuple[tuple[str, ...], ...], tuple[str, ...]]:
    """Split at conjunctions: "정원이랑 현원 각각" -> (("정원",), ("현원",)); clause breaks ("얼마고, 언제") too.
    Also each part's answer type: "어디서 하고 예산은 얼마야" asks a place, then an amount. `terms`: the whole
    question's, its one part when it does not split."""
    segments: list[list[tuple[str, str]]] = [[]]
    for form, tag in morphs:
        if (tag in PART_SPLIT_TAGS and form in PART_SPLIT_PARTICLES) or form in PART_SPLIT_FORMS or (tag == "EC" and form in {"고", "이고"}):
            segments.append([])
            continue
        segments[-1].append((form, tag))
    # ", 전년 대비": the year a comparison is made against names no figure of its own
    kept = [(tuple(_terms(seg, drop)), seg) for seg in segments]
    kept = [(p, seg) for p, seg in kept if any(t not in COMPARE_CUES for t in p)]
    if len(kept) < 2:
        return (terms,), (answer_type,)
    return tuple(p for p, _ in kept), _part_types([seg for _, seg in kept], operation, answer_type)


def _part_types(segments: list[list[tuple[str, str]]], operation: str, answer_type: str) -> tuple[str, ...]:
    """A part asks what its own question word asks; a part without one ("사업비랑 재원은 얼마야") what the next
    part's does, since a Korean clause ends on its predicate. Lists and comparisons keep one type: one list
    or one difference answers all their parts."""
    if operation in ("list", "filter", "compare") or answer_type in ("list", "reason"):
        return (answer_type,) * len(segments)
    own = [_answer_type(seg, operation) if _asks(seg) else "" for seg in segments]
    out: list[str] = []
    following = answer_type
    for t in reversed(own):
        following = t if t and t != "text" else following
        out.append(following)
    return tuple(reversed(out))


def _asks(segment: list[tuple[str, str]]) -> bool:
    return any(f in ASKING_WORDS for f, _ in segment)
