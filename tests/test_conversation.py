"""Follow-up questions, the OpenAI-compatible endpoint and feedback, on the real corpus and a real server."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from app.api import create_app
from app.conversation import Resolver, Topic, resolver_for
from app.engine import Engine
from app.state import ConversationStore
from eval.followups import load_conversations, resolution_ok
from index.scope import infer_files

from .helpers import serving

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO / "corpus"
FOUNDATION = "2025_서울시재단_주요업무보고.pdf"
BUDGET_Q = "서울시재단 2025년 서울시 출연금 예산현액은?"
TOKEN = "conversation-test-token"


@pytest.fixture(scope="module")
def conv_engine(engine, tmp_path_factory) -> Engine:
    """An Engine on a copy of the session index, so conversations and feedback land in a temporary database."""
    from index.store import resolve_index_dir

    root = tmp_path_factory.mktemp("conv")
    shutil.copytree(resolve_index_dir(engine.settings.index_dir), root / "index")
    eng = Engine(engine.settings.with_overrides(index_dir=root / "index", api_token=""))
    eng._encoder = engine.encoder  # same model: reuse the loaded one
    return eng


@pytest.fixture(scope="module")
def resolver(conv_engine) -> Resolver:
    return resolver_for(conv_engine.index)


@pytest.fixture(scope="module")
def client(conv_engine) -> TestClient:
    return TestClient(create_app(conv_engine, api_token=TOKEN), headers={"Authorization": f"Bearer {TOKEN}"})


# ------------------------------------------------------------------ resolution (no answering)
def test_resolver_over_the_conversation_set(resolver, conv_engine):
    """Every written follow-up is taken as one (and every standalone question as standalone), and the resolved
    question names what the conversation is about. Measured 48/52 when the set was written; 4 known misses
    (docs/conversation.md)."""
    convs = load_conversations()
    assert len(convs) >= 40
    results = []
    for conv in convs:
        topic = Topic(conv.first, infer_files(conv.first, conv_engine.index.docs) or [conv.first_file])
        res = resolver.resolve(conv.follow_up, topic)
        assert res.follow_up != conv.standalone, (conv.id, res)
        results.append(resolution_ok(conv, res.resolved, res.follow_up))
    assert sum(results) / len(results) >= 0.9


def test_year_follow_up_takes_the_cited_tables_column(resolver):
    """ "그럼 2024년은?" after a 2025 예산현액 cell: the same row, the table's 2024 column (최종예산)."""
    topic = Topic(BUDGET_Q, [FOUNDATION], [{"file": FOUNDATION, "page": 3, "row": "서울시 출연금", "column": "2025 예산현액"}])
    res = resolver.resolve("그럼 2024년은?", topic)
    assert res.follow_up
    words = res.resolved.split()
    assert "서울시재단" in words and "2024년" in words and "출연금" in words and "최종예산" in words
    assert "2025년" not in words


def test_relative_year_comparison_keeps_both_years(resolver):
    res = resolver.resolve("작년이랑 비교하면?", Topic(BUDGET_Q, [FOUNDATION]))
    assert res.follow_up and "2025년" in res.resolved and "2024년이랑" in res.resolved and "출연금" in res.resolved


def test_comparison_keeps_brackets_of_the_last_question(resolver):
    """ "잉여금(이월금)" lost its ")" when closing brackets were stripped like punctuation."""
    res = resolver.resolve("전년보다 얼마 줄었어?", Topic("서울디지털재단 2024 세입에서 잉여금(이월금) 수입 얼마야?",
                                                   ["2024_서울디지털재단_주요업무보고.pdf"]))
    assert "잉여금(이월금)" in res.resolved.split() and "2023년보다" in res.resolved.split()


def test_standalone_questions_start_afresh(resolver):
    topic = Topic(BUDGET_Q, [FOUNDATION])
    for q in ("디지털도시국 정보보안과 2025년 예산현액 얼마야?", "서울디지털재단 2024년 5급 정원은 몇 명이었나요?"):
        res = resolver.resolve(q, topic)
        assert not res.follow_up and res.resolved == q
    assert not resolver.resolve("그럼 2024년은?", None).follow_up


def test_organization_switch_keeps_the_measure(resolver):
    res = resolver.resolve("서울디지털재단 2024년은?", Topic("서울시재단 2025년 인건비 예산현액은?", [FOUNDATION]))
    words = res.resolved.split()
    assert res.follow_up and "서울디지털재단" in words and "2024년" in words and "인건비" in words
    assert "서울시재단" not in words


def test_organization_names_come_from_the_manifest(conv_engine):
    """An alias in the index's documents makes a word an organization; without it the same word is content."""
    from dataclasses import replace

    docs = conv_engine.index.docs
    chunks = conv_engine.index.chunks
    tokenize = conv_engine.index.tokenizer.morphemes
    with_alias = Resolver(docs, tokenize, chunks)
    assert with_alias._word("디지털재단").role == "org"
    without = Resolver([replace(d, aliases=()) for d in docs], tokenize, chunks)
    assert without._word("디지털재단").role != "org"


# ------------------------------------------------------------------ the store
def test_store_keeps_a_bounded_history(tmp_path):
    store = ConversationStore(tmp_path / "state.sqlite3", max_turns=3, max_conversations=2)
    for cid in ("a", "b", "c"):
        for i in range(5):
            store.add_turn(cid, f"질문 {i}", f"질문 {i}", {"answer": str(i)}, {"question": f"질문 {i}"})
    assert store.count() == (2, 6)
    assert store.last_topic("a") is None  # the oldest conversation went first
    assert [t["question"] for t in store.turns("c")] == ["질문 2", "질문 3", "질문 4"]
    assert store.last_topic("c") == {"question": "질문 4"}


# ------------------------------------------------------------------ /ask with a conversation
def test_ask_follow_up_over_http(client):
    first = client.post("/ask", json={"question": BUDGET_Q})
    assert first.status_code == 200
    body = first.json()
    assert body["resolved_question"] == BUDGET_Q and body["conversation_id"]
    follow = client.post("/ask", json={"question": "그럼 2024년은?", "conversation_id": body["conversation_id"]}).json()
    assert follow["conversation_id"] == body["conversation_id"]
    assert follow["question"] == "그럼 2024년은?"
    assert "2024" in follow["resolved_question"] and "서울시재단" in follow["resolved_question"]
    top = follow["evidence"][0]
    assert (top["value"], top["row"], top["file"], top["page"]) == ("8,193,261", "서울시 출연금", FOUNDATION, 3)
    assert "2024" in top["column"]
    assert (follow["citations"][0]["file"], follow["citations"][0]["page"]) == (FOUNDATION, 3)
    # Without the conversation the same words are not answered from that cell.
    alone = client.post("/ask", json={"question": "그럼 2024년은?"}).json()
    assert alone["conversation_id"] != body["conversation_id"]
    assert not any(e["value"] == "8,193,261" for e in alone["evidence"])


def test_ask_refuses_a_malformed_conversation_id(client):
    r = client.post("/ask", json={"question": BUDGET_Q, "conversation_id": "../../etc"})
    assert r.status_code == 422


# ------------------------------------------------------------------ feedback
def test_feedback_is_stored_and_exported_as_gold(client, conv_engine, tmp_path, capsys):
    from app.cli import main
    from eval.gold_tool import load_gold

    first = client.post("/ask", json={"question": BUDGET_Q}).json()
    follow = client.post("/ask", json={"question": "그럼 2024년은?", "conversation_id": first["conversation_id"]}).json()
    r = client.post("/feedback", json={"question": "그럼 2024년은?", "answer": follow["answer"], "rating": -1,
                                       "comment": "단위를 억원으로 보고 싶어요", "conversation_id": first["conversation_id"]})
    assert r.status_code == 200 and r.json()["id"] >= 1
    assert client.post("/feedback", json={"question": BUDGET_Q, "answer": first["answer"], "rating": 1}).status_code == 200
    assert client.post("/feedback", json={"question": "x", "answer": "y", "rating": 0}).status_code == 422
    assert TestClient(client.app).post("/feedback", json={"question": "x", "answer": "y", "rating": 1}).status_code == 401

    out = tmp_path / "fb.jsonl"
    assert main(["feedback", "export", "--out", str(out), "--index-dir", str(conv_engine.settings.index_dir)]) == 0
    items = load_gold(out)
    mine = [it for it in items if it.answer == follow["answer"]]
    assert len(mine) == 1 and len(items) == sum(1 for it in items if it.id.startswith("g9"))
    item = mine[0]
    assert item.question == follow["resolved_question"]  # standalone, so it means something in the gold set
    assert (item.file, item.page) == (FOUNDATION, 3)
    assert not item.extra_keys and not item.missing_keys
    assert first["answer"] not in [it.answer for it in items]  # 👍 items are not exported
    assert "단위를 억원으로" in capsys.readouterr().out


# ------------------------------------------------------------------ OpenAI-compatible, real server
@pytest.fixture(scope="module")
def server(conv_engine):
    with serving(create_app(conv_engine, api_token=TOKEN)) as url:
        yield url


TWO_TURNS = [
    {"role": "user", "content": BUDGET_Q},
    {"role": "assistant", "content": "13,797,110천원"},
    {"role": "user", "content": "그럼 2024년은?"},
]


def test_openai_client_two_turns(server):
    from openai import OpenAI

    client = OpenAI(base_url=f"{server}/v1", api_key=TOKEN, max_retries=0)
    assert [m.id for m in client.models.list()] == ["docqa"]
    reply = client.chat.completions.create(model="docqa", messages=TWO_TURNS)
    text = reply.choices[0].message.content
    answer, _, sources = text.partition("\n\n출처:\n")
    assert answer.startswith("8,193,261천원")
    assert sources.splitlines()[0] == "[1] 2025년 주요 업무보고 (서울시재단) · p.3"
    assert reply.choices[0].finish_reason == "stop"

    streamed = client.chat.completions.create(model="docqa", messages=TWO_TURNS, stream=True)
    pieces = [c.choices[0].delta.content or "" for c in streamed]
    assert len(pieces) > 3 and "".join(pieces) == text


def test_openai_stream_ends_with_done_and_needs_the_token(server):
    from openai import AuthenticationError, OpenAI

    with httpx.stream("POST", f"{server}/v1/chat/completions", headers={"Authorization": f"Bearer {TOKEN}"},
                      json={"model": "docqa", "messages": TWO_TURNS[-1:], "stream": True}, timeout=60) as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        events = [line for line in r.iter_lines() if line]
    assert events[-1] == "data: [DONE]"
    assert json.loads(events[-2].removeprefix("data: "))["choices"][0]["finish_reason"] == "stop"

    with pytest.raises(AuthenticationError):
        OpenAI(base_url=f"{server}/v1", api_key="wrong", max_retries=0).models.list()
    bad = httpx.post(f"{server}/v1/chat/completions", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30,
                     json={"model": "docqa", "messages": [{"role": "assistant", "content": "안녕하세요"}]})
    assert bad.status_code == 422


# ------------------------------------------------------------------ the chat: same follow-up logic, 👍/👎
@pytest.mark.slow  # the chat loads its own engine (about 30 s); the same logic is tested over HTTP above
def test_chat_follows_up_and_takes_a_thumbs_down(conv_engine, monkeypatch):
    from streamlit.testing.v1 import AppTest

    from app.feedback import FeedbackStore
    from app.state import state_path

    for key, value in conv_engine.settings.as_env().items():
        monkeypatch.setenv(key, value)
    at = AppTest.from_file(str(REPO / "app" / "chat.py"), default_timeout=300)
    at.run()
    at.chat_input[0].set_value(BUDGET_Q).run()
    at.chat_input[0].set_value("그럼 2024년은?").run()
    assert not at.exception
    last = [m for m in at.chat_message if m.name == "assistant"][-1]
    assert "8,193,261" in " ".join(md.value for md in last.markdown)
    assert any("2024년" in c.value and "서울시재단" in c.value for c in last.caption)

    store = FeedbackStore(state_path(conv_engine.settings.index_dir))
    before = len(store.items(rating=-1))
    at.feedback[-1].set_value(0).run()  # 👎 on the follow-up's answer
    at.text_input(key="comment-1").set_value("2024년 최종예산 말고 예산현액이 궁금해요")  # sent with the form
    at.button(key="send-1").click().run()
    assert not at.exception
    rows = store.items(rating=-1)
    assert len(rows) == before + 1
    row = rows[-1]
    assert row["question"] == "그럼 2024년은?" and "2024년" in row["resolved_question"]
    assert row["comment"].startswith("2024년 최종예산") and row["citations"][0]["page"] == 3


def test_an_abstention_reply_lists_the_pages_to_check_but_no_sources():
    from app.models import ABSTAIN_TEXT, Answer, Citation
    from app.openai_api import reply_text

    near = Citation(file="a.pdf", title="2025년 업무보고", page=17)
    text = reply_text(Answer(question="q", answer=ABSTAIN_TEXT, abstained=True, related=[near]), {"a.pdf": "감사위원회"})
    assert text.startswith(ABSTAIN_TEXT) and "출처" not in text
    assert "감사위원회 · p.17" in text
    assert reply_text(Answer(question="q", answer=ABSTAIN_TEXT, abstained=True), {}) == ABSTAIN_TEXT
