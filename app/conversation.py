"""Follow-up questions: what the last turn was about, and a follow-up rewritten into a standalone question.

A question is read word by word (eojeol) on kiwi morphemes into roles: the report it names (organization or
alias from the index's documents), years (written or relative: "작년"), discourse markers ("그럼", "그 중"),
comparison cues, asking words ("얼마야", "몇 명"), and content: the measure (예산현액, 정원, 집행률: the
answer-type cues of the intent parser and the words the index's tables use as column labels) and the subject
(the rest: 인건비, 정보보안과). A follow-up replaces in the last resolved question the roles it names and keeps
the others, so "그럼 2024년은?" after "서울시재단 2025년 서울시 출연금 예산현액은?" reads "서울시재단 2024년
서울시 출연금 최종예산은?" (the 2024 column of the very table the last answer came from).
"""
from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property

from index.scope import (
    LAST_AND_NEXT_YEARS,
    common_title_words,
    doc_names,
    infer_files,
    question_years,
)
from ingest.models import TableChunk
from ingest.normalize import compact

from .answer.intent import COMPARE_CUES, STOPWORDS, TYPE_CUES
from .models import Answer

Morphemes = Callable[[str], list[tuple[str, str]]]

# Years said relative to the one being talked about (Korean usage, not corpus facts).
RELATIVE_YEARS = {**LAST_AND_NEXT_YEARS, "전년": -1, "전년도": -1, "올해": 0, "금년": 0, "당해": 0, "다음해": 1,
                  "이듬해": 1}
# "그럼", "그 중", "거기서", "그거": the question leans on what was just said.
DISCOURSE_FORMS = frozenset({"그럼", "그러면", "그렇다면", "그중", "거기", "그것", "그거", "이것", "이거", "저것"})
DISCOURSE_HEADS = frozenset({"그", "이", "저", "그렇", "그러"})
DISCOURSE_HEAD_TAGS = ("IC", "MM", "MAJ", "VA", "NP")
QUESTION_FORMS = frozenset({"얼마", "몇", "무엇", "뭐", "언제", "어디", "누구", "왜", "어떻", "어떤", "어느", "무슨", "얼만"})
PREDICATE_TAGS = ("VV", "VA", "VX", "VCP", "VCN", "XSV", "XSA", "EF")
NOUN_TAGS = ("NNG", "NNP", "SL", "SH", "XR")
COMPARE_PARTICLES = frozenset({"보다"})
TRAILING_TAGS = ("SF", "SP", "SE")  # not brackets: "잉여금(이월금)" keeps its ")"
# Topic and subject particles only: "과"/"와" may end a name ("정보보안과") and "의" ties words together.
TRAILING_PARTICLES = frozenset({"은", "는", "이", "가", "도", "만", "요"})
MEASURE_SUFFIXES = frozenset({"액", "률", "율"})  # XSN: "지출액", "집행률" are measures whatever precedes them
MEASURE_MIN_TABLES = 2
MAX_REPLAYED_TURNS = 4
_LABEL_NOUNS: dict[str, tuple[str, ...]] = {}  # table label -> its nouns (same tokenizer for every index)


# ------------------------------------------------------------------ what a conversation remembers
@dataclass
class Topic:
    """The last turn: its standalone question, the reports it was answered from and the cells it cited."""

    question: str
    files: list[str] = field(default_factory=list)
    evidence: list[dict] = field(default_factory=list)  # {file, page, row, column} of the answer's figures

    @classmethod
    def of(cls, resolved: str, answer: Answer, files: list[str]) -> Topic:
        cited = [c.file for c in answer.citations[:1]] if not answer.abstained else []
        return cls(question=resolved, files=files or cited,
                   evidence=[{"file": e.file, "page": e.page, "row": e.row, "column": e.column} for e in answer.evidence])


@dataclass(frozen=True)
class Resolution:
    question: str  # as asked
    resolved: str  # standalone question that is answered
    follow_up: bool


# ------------------------------------------------------------------ reading a question word by word
@dataclass(frozen=True)
class Word:
    text: str  # as written
    core: str  # without trailing particles, endings and punctuation
    role: str  # org | year | relyear | discourse | compare | ask | filler | measure | subject
    year: int | None = None  # absolute year, or the offset of a relative one
    nouns: tuple[str, ...] = ()


class Resolver:
    """Reads questions against one loaded index: its documents' names and its tables' column vocabulary."""

    def __init__(self, docs: Sequence, morphemes: Morphemes, chunks: Sequence) -> None:
        self.docs = list(docs)
        self.morphemes = morphemes
        self.chunks = chunks
        self._common = common_title_words(self.docs)

    # -------------------------------------------------------------- index facts
    @cached_property
    def _names(self) -> list[str]:
        names = {n for d in self.docs for n in doc_names(d, self._common)}
        return sorted(names, key=len, reverse=True)

    @cached_property
    def measure_words(self) -> frozenset[str]:
        """Answer-type cues, plus words the tables print more often as column labels than as row labels."""
        cues = {w for kind, words in TYPE_CUES if kind in ("amount", "count", "rate", "date") for w in words}
        columns: dict[tuple[str, str | None], set[str]] = {}
        rows: dict[tuple[str, str | None], set[str]] = {}
        for c in self.chunks:
            if isinstance(c, TableChunk):
                columns.setdefault((c.file, c.table_id), set()).update(c.value_columns)
                rows.setdefault((c.file, c.table_id), set()).update(r.header for r in c.rows)
        # Counted once per table: a word in the columns of many tables is a measure, whatever their length.
        col = Counter(w for labels in columns.values() for w in {n for label in labels for n in self._nouns(label)})
        row = Counter(w for labels in rows.values() for w in {n for label in labels for n in self._nouns(label)})
        table_words = {w for w, n in col.items() if n >= MEASURE_MIN_TABLES and n > row[w]}
        return frozenset(w for w in cues | table_words if len(w) >= 2 or w in cues)

    @cached_property
    def _file_text(self) -> dict[str, str]:
        texts: dict[str, list[str]] = {}
        for c in self.chunks:
            texts.setdefault(c.file, []).append(compact(c.text).lower())
        return {f: "\n".join(t) for f, t in texts.items()}

    def _nouns(self, text: str) -> tuple[str, ...]:
        # Table labels repeat across chunks and index generations; kiwi costs ~5 ms a call.
        if text not in _LABEL_NOUNS:
            _LABEL_NOUNS[text] = tuple(f.lower() for f, tag in self.morphemes(text)
                                       if tag.startswith(NOUN_TAGS) and len(f) >= 2)
        return _LABEL_NOUNS[text]

    def report_year(self, files: list[str]) -> int | None:
        for d in self.docs:
            if d.file in files:
                years = re.findall(r"20\d{2}", d.title) or re.findall(r"20\d{2}", d.date)
                if years:
                    return int(years[0])
        return None

    # -------------------------------------------------------------- words and roles
    def words(self, question: str) -> list[Word]:
        return [self._word(w) for w in question.split()]

    def _word(self, text: str) -> Word:
        morphs = self.morphemes(text)
        core = _core(text, morphs)
        forms = [f for f, _ in morphs]
        c = compact(core)
        if any(name in c for name in self._names):
            return Word(text, core, "org")
        years = question_years(text)
        if years and _is_year_word(morphs):
            return Word(text, core, "year", years[0])
        if morphs and morphs[0][0] in RELATIVE_YEARS and morphs[0][1].startswith("NN"):
            return Word(text, core, "relyear", RELATIVE_YEARS[morphs[0][0]])
        if c in DISCOURSE_FORMS or (morphs and morphs[0][0] in DISCOURSE_FORMS) or _discourse_head(morphs):
            return Word(text, core, "discourse")
        if text.strip() in ("중", "중에", "중에서") or (forms and forms[0] == "중" and len(morphs) <= 2):
            return Word(text, core, "discourse")
        nouns = tuple(f.lower() for f, tag in morphs if tag.startswith(NOUN_TAGS) and f.lower() not in STOPWORDS)
        compares = any(f in COMPARE_CUES for f in forms) or any(f in COMPARE_PARTICLES and t == "JKB" for f, t in morphs)
        if compares and all(n in COMPARE_CUES for n in nouns):
            return Word(text, core, "compare")
        if not nouns:
            asks = any(t.startswith(PREDICATE_TAGS) or f in QUESTION_FORMS for f, t in morphs)
            return Word(text, core, "ask" if asks else "filler")
        measure = any(n in self.measure_words for n in nouns) or any(
            t == "XSN" and f in MEASURE_SUFFIXES for f, t in morphs)
        return Word(text, core, "measure" if measure else "subject", nouns=nouns)

    # -------------------------------------------------------------- resolution
    def resolve(self, question: str, topic: Topic | None) -> Resolution:
        question = " ".join(question.split())
        if topic is None or not topic.question:
            return Resolution(question, question, False)
        new = self.words(question)
        if not self._leans_on(new, topic):
            return Resolution(question, question, False)
        old = self.words(topic.question)
        base = self._base_year(old, topic)
        if any(w.role == "compare" for w in new) and not _has(new, "subject"):
            resolved = self._compared(old, new, base)
        elif _has(new, "ask") and _has(new, "subject", "measure"):
            resolved = self._prefixed(old, new, base)
        else:
            resolved = self._replaced(old, new, base, topic)
        return Resolution(question, resolved, True)

    def _leans_on(self, new: list[Word], topic: Topic) -> bool:
        """A follow-up: it points back, leaves the subject or measure out, or asks about the same report."""
        if _has(new, "discourse", "relyear", "compare"):
            return True
        content = [w for w in new if w.role in ("subject", "measure")]
        if _has(new, "org"):
            return not content
        if not content or not _has(new, "ask"):
            return True
        return self._in_reports([n for w in content for n in w.nouns], topic.files)

    def _in_reports(self, nouns: list[str], files: list[str]) -> bool:
        """Every content word occurs in the reports being talked about (so the question is about them)."""
        texts = [self._file_text.get(f, "") for f in files]
        return bool(texts) and all(any(compact(n) in t for t in texts) for n in nouns)

    def _base_year(self, old: list[Word], topic: Topic) -> int | None:
        """The year the last turn was about: written, else relative to its report's year, else the report's."""
        files = topic.files or infer_files(topic.question, self.docs)
        report = self.report_year(files)
        for w in old:
            if w.role == "year":
                return w.year
        for w in old:
            if w.role == "relyear" and report is not None:
                return report + (w.year or 0)
        return report

    def _compared(self, old: list[Word], new: list[Word], base: int | None) -> str:
        """ "작년이랑 비교하면?": the last question's subject and measure, then the comparison as asked."""
        kept = [w.core for w in old if w.role not in ("ask", "compare", "filler", "discourse") and w.core]
        if base is not None and not any(w.role in ("year", "relyear") for w in old):
            kept.insert(0, f"{base}년")
        tail = [_absolute(w, base) for w in new if w.role != "discourse"]
        return " ".join(kept + tail)

    def _prefixed(self, old: list[Word], new: list[Word], base: int | None) -> str:
        """A whole question that leaves only the report out: the last turn's report and year, then the question."""
        years = [_absolute(w, base) for w in new if w.role in ("year", "relyear")]
        years = years or [w.core for w in old if w.role in ("year", "relyear")]
        orgs = [w.core for w in new if w.role == "org"] or [w.core for w in old if w.role == "org"]
        rest = [w.text for w in new if w.role not in ("year", "relyear", "org", "discourse")]
        return " ".join(years + orgs + rest)

    def _replaced(self, old: list[Word], new: list[Word], base: int | None, topic: Topic) -> str:
        """The last question with every role the follow-up names replaced by the follow-up's words."""
        out = [w.text for w in old]
        roles = [w.role for w in old]
        years = [_absolute(w, base) for w in new if w.role in ("year", "relyear")]
        org_changed = _has(new, "org")
        _put(out, roles, ("org",), [w.core for w in new if w.role == "org"], front=True)
        if years:
            _put(out, roles, ("year", "relyear"), years[:1], front=True)
        _put(out, roles, ("subject",), [_strip_topic(w) for w in new if w.role == "subject"])
        new_measure = [_strip_topic(w) for w in new if w.role == "measure"]
        if years and not new_measure:
            new_measure = self._column_for_year(topic, years[0], base, infer_files(" ".join(out), self.docs))
        _put(out, roles, ("measure",), new_measure)
        asked = [w.text for w in new if w.role == "ask"]
        if asked:
            _put(out, roles, ("ask",), asked)
        if org_changed and not years:
            out = [w for w, r in zip(out, roles, strict=True) if r not in ("year", "relyear")]
        return " ".join(w for w in out if w)

    def _column_for_year(self, topic: Topic, year_text: str, base: int | None, files: list[str]) -> list[str]:
        """The cited table's column for the new year ("2024 최종예산" beside "2025 예산현액"), without the year,
        when the question still points at the report that table is in."""
        year = year_text.removesuffix("년")
        for ev in topic.evidence:
            if not ev.get("column") or base is None or str(base) not in ev["column"] or ev["file"] not in files:
                continue
            for c in self.chunks:
                if not isinstance(c, TableChunk) or c.file != ev["file"] or c.page != ev["page"] or ev["column"] not in c.columns:
                    continue
                if not any(r.header == ev["row"] for r in c.rows):
                    continue
                labels = [lab for lab in c.columns if year in lab]
                if len(labels) == 1:
                    rest = " ".join(labels[0].replace(year, " ").split())
                    return [rest] if rest else []
        return []


# ------------------------------------------------------------------ word helpers
def _has(words: list[Word], *roles: str) -> bool:
    return any(w.role in roles for w in words)


def _core(text: str, morphs: list[tuple[str, str]]) -> str:
    """The word without the particles, endings and punctuation kiwi finds at its end."""
    core = text
    for form, tag in reversed(morphs):
        trailing = tag.startswith(TRAILING_TAGS) or (tag.startswith(("JX", "JKS")) and form in TRAILING_PARTICLES)
        if not trailing or not core.endswith(form):
            break
        core = core[: -len(form)]
    return core.strip()


def _is_year_word(morphs: list[tuple[str, str]]) -> bool:
    return any(tag == "SN" and re.fullmatch(r"(?:20)?\d{2}", f) for f, tag in morphs) and not any(
        tag.startswith(("NNG", "NNP")) for _, tag in morphs)


def _discourse_head(morphs: list[tuple[str, str]]) -> bool:
    """ "그 중", "그럼" (read as 그렇+ㅁ), "이 사업의": a demonstrative or discourse word opening the word."""
    if not morphs:
        return False
    form, tag = morphs[0]
    return form in DISCOURSE_HEADS and tag.startswith(DISCOURSE_HEAD_TAGS) and (
        len(morphs) == 1 or all(t.startswith(("E", "SF", "J")) for _, t in morphs[1:]))


def _strip_topic(w: Word) -> str:
    """ "경비는?" -> "경비": the topic particle and question mark belong to the follow-up, not the question."""
    return w.core or w.text


def _absolute(w: Word, base: int | None) -> str:
    """A year as it goes into a question: "2024년은?" -> "2024년"; "작년이랑" -> "2024년이랑" when the year talked
    about is known."""
    if w.role == "year":
        return w.core
    if w.role != "relyear" or base is None:
        return w.text
    said = next((k for k in sorted(RELATIVE_YEARS, key=len, reverse=True) if w.text.startswith(k)), "")
    return f"{base + (w.year or 0)}년{w.text[len(said):]}"


def _put(out: list[str], roles: list[str], targets: tuple[str, ...], words: list[str], front: bool = False) -> None:
    """Replace the words of the target roles by `words` (at the first one's place), or add them."""
    if not words:
        return
    at = [i for i, r in enumerate(roles) if r in targets]
    if not at:
        pos = 0 if front else next((i for i, r in enumerate(roles) if r in ("ask", "compare", "filler")), len(out))
        out[pos:pos] = words
        roles[pos:pos] = [targets[0]] * len(words)
        return
    first = at[0]
    for i in reversed(at):
        del out[i], roles[i]
    out[first:first] = words
    roles[first:first] = [targets[0]] * len(words)


# ------------------------------------------------------------------ a conversation over the engine
class ConversationAnswer(Answer):
    conversation_id: str
    resolved_question: str


_resolver_cache: list[tuple[object, Resolver]] = []


def resolver_for(index) -> Resolver:
    """One resolver per loaded index (its table vocabulary is computed once); a new index gets a new one."""
    if _resolver_cache and _resolver_cache[0][0] is index:
        return _resolver_cache[0][1]
    resolver = Resolver(index.docs, index.tokenizer.morphemes, index.chunks)
    _resolver_cache[:] = [(index, resolver)]
    return resolver


class Conversations:
    """Answers a question within a conversation: resolve against the last turn, answer, remember the turn."""

    def __init__(self, engine, store=None) -> None:
        from .state import ConversationStore, state_path

        self.engine = engine
        self.store = store or ConversationStore(state_path(engine.settings.index_dir))

    def ask(self, question: str, conversation_id: str | None = None, filters=None) -> ConversationAnswer:
        from .state import new_conversation_id

        cid = conversation_id or new_conversation_id()
        saved = self.store.last_topic(cid) if conversation_id else None
        answer, resolution, topic = self.turn(question, Topic(**saved) if saved else None, filters)
        self.store.add_turn(cid, question, resolution.resolved, answer.model_dump(), topic.__dict__)
        return ConversationAnswer(**{**answer.model_dump(), "question": question.strip()}, conversation_id=cid,
                                  resolved_question=resolution.resolved)

    def replay(self, questions: list[str], filters=None) -> tuple[Answer, Resolution]:
        """A conversation given whole (OpenAI `messages`): the earlier questions set the topic of the last."""
        topic = None
        for question in questions[-MAX_REPLAYED_TURNS - 1:-1]:
            _, _, topic = self.turn(question, topic, filters)
        answer, resolution, _ = self.turn(questions[-1], topic, filters)
        return answer, resolution

    def turn(self, question: str, topic: Topic | None, filters=None) -> tuple[Answer, Resolution, Topic]:
        resolution = resolver_for(self.engine.index).resolve(question, topic)
        answer = self.engine.ask(resolution.resolved, filters)
        files = self.engine.scope_files(resolution.resolved, filters) if resolution.resolved else []
        return answer, resolution, Topic.of(resolution.resolved, answer, files)
