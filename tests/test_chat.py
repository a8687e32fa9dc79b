"""Streamlit chat: the script flow through AppTest, then once end to end in headless Chromium."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from app.chat import (
    EXAMPLE_QUESTIONS,
    citation_label,
    escape_md,
    streamlit_command,
)
from app.models import ABSTAIN_TEXT, Citation

from .helpers import chat_in_browser, selenium

REPO = Path(__file__).resolve().parent.parent
CHAT = REPO / "app" / "chat.py"
ARTIFACTS = REPO / "artifacts"
FOUNDATION = "2025_서울시재단_주요업무보고.pdf"
BUDGET_Q = "서울시재단 2025년 서울시 출연금 예산현액은?"
STAFF_Q = "2025년 서울시재단 인력은 몇 명이야?"
OFF_TOPIC_Q = "화성 탐사선 발사 예산은 얼마야?"
CITATION = re.compile(r" · p\.\d+")


@pytest.fixture()
def chat_env(engine, monkeypatch):
    """Point the chat's Settings() at the session's indexed corpus (read only: no uploads here)."""
    for key, value in engine.settings.as_env().items():
        monkeypatch.setenv(key, value)
    return engine


def app_test():
    from streamlit.testing.v1 import AppTest

    # The first run loads the model and the index inside the script (st.cache_resource).
    return AppTest.from_file(str(CHAT), default_timeout=300)


def assistant_messages(at):
    return [m for m in at.chat_message if m.name == "assistant"]


def text_of(element) -> str:
    return " ".join(md.value for md in element.markdown)


# ------------------------------------------------------------------ pure helpers
def test_citation_label():
    c = Citation(file="a.pdf", title="2025년 주요 업무보고", page=3, section="I. 일반 현황 > 예산")
    assert citation_label(c) == "2025년 주요 업무보고 · p.3 · I. 일반 현황 > 예산"
    assert citation_label(c.model_copy(update={"page": None, "section": ""})) == "2025년 주요 업무보고 · 쪽 없음"


def test_escape_md_keeps_report_text_literal():
    assert escape_md("1~3월 *중요* 13,797,110천원") == r"1\~3월 \*중요\* 13,797,110천원"


def test_feedback_of_an_answer_kept_across_a_module_reload():
    # Streamlit re-imports changed modules on a rerun; a cached answer's Citation was then refused by FeedbackIn
    code = (
        "import importlib, app.models, app.feedback\n"
        "from app.chat import feedback_item\n"
        "old = app.models.Answer(question='q', answer='a', abstained=False,\n"
        "                        citations=[app.models.Citation(file='f.pdf', title='t', page=3)])\n"
        "importlib.reload(app.models); importlib.reload(app.feedback)\n"
        "print(feedback_item(old, -1, '').citations[0].page)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-500:]
    assert done.stdout.split() == ["3"]


def test_streamlit_command_and_env(engine):
    cmd = streamlit_command(8765, headless=True, address="127.0.0.1", max_upload_mb=0.5)
    assert cmd[1:4] == ["-m", "streamlit", "run"] and cmd[4] == str(CHAT)
    assert cmd[cmd.index("--server.maxUploadSize") + 1] == "1"  # Streamlit counts whole MB
    assert cmd[cmd.index("--server.port") + 1] == "8765"
    assert cmd[cmd.index("--server.headless") + 1] == "true"
    assert cmd[cmd.index("--browser.gatherUsageStats") + 1] == "false"
    env = engine.settings.as_env()
    assert env["DOCQA_CORPUS"] == str(engine.settings.corpus_dir.resolve())
    assert env["DOCQA_INDEX_DIR"] == str(engine.settings.index_dir.resolve())


def test_no_bare_expressions_in_script():
    """Streamlit "magic" st.writes a bare expression (e.g. `engine.index`) onto the page."""
    import ast

    tree = ast.parse(CHAT.read_text(encoding="utf-8"))
    bare = [n.lineno for n in ast.walk(tree)
            if isinstance(n, ast.Expr) and not isinstance(n.value, (ast.Call, ast.Constant))]
    assert not bare, f"bare expressions at lines {bare}"


# ------------------------------------------------------------------ the script, through AppTest
def test_chat_answers_with_citation_and_page_image(chat_env):
    at = app_test().run()
    assert not at.exception, at.exception
    assert not at.get("help") and not at.get("json"), "stray Streamlit magic output on the page"
    labels = [b.label for b in at.button]
    assert all(q in labels for q in EXAMPLE_QUESTIONS)  # first visit: example questions
    assert at.sidebar.multiselect and at.sidebar.get("file_uploader")

    at.chat_input[0].set_value(BUDGET_Q).run()
    assert not at.exception, at.exception
    users = [m for m in at.chat_message if m.name == "user"]
    assert [text_of(m) for m in users] == [escape_md(BUDGET_Q)]
    (answer,) = assistant_messages(at)
    assert "13,797,110" in text_of(answer)
    labels = [e.label for e in answer.expander]
    assert labels and CITATION.search(labels[0]) and "p.3" in labels[0]
    # The first citation is open: quote plus the highlighted page image.
    first = answer.expander[0]
    assert "13,797,110" in text_of(first)
    (image,) = first.get("image")  # the highlighted page
    assert image.captions == ["3쪽 (근거 부분 강조)"]
    assert not [b for b in at.button if b.label in EXAMPLE_QUESTIONS]  # examples give way to the chat

    at.chat_input[0].set_value(OFF_TOPIC_Q).run()
    assert not at.exception, at.exception
    assert [m.value for m in at.info] == [ABSTAIN_TEXT]
    assert len(assistant_messages(at)) == 2  # history kept across reruns
    assert not assistant_messages(at)[1].expander


def test_example_button_asks(chat_env):
    at = app_test().run()
    at.button(key="example-1").click().run()
    assert not at.exception, at.exception
    (answer,) = assistant_messages(at)
    assert EXAMPLE_QUESTIONS[1] in " ".join(text_of(m) for m in at.chat_message if m.name == "user").replace("\\", "")
    assert "13,797,110" in text_of(answer)


def test_sidebar_filters_restrict_sources(chat_env):
    at = app_test().run()
    other = "2024_서울디지털재단_주요업무보고.pdf"
    at.sidebar.multiselect[0].select(other).run()
    at.chat_input[0].set_value("예산 규모는?").run()
    assert not at.exception, at.exception
    (answer,) = assistant_messages(at)
    files = {md.value for e in answer.expander for md in e.caption}
    assert not files or files == {other}, files


def test_document_management_lists_reindexes_and_removes(engine, tmp_path, monkeypatch):
    import json

    from app.config import Settings
    from app.engine import Engine

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text("Ⅰ. 현황\n□ 인력 : 12명\n가 기관의 올해 사업은 도서관 운영이다.", encoding="utf-8")
    (corpus / "b.txt").write_text("Ⅰ. 현황\n□ 예산\n구 분\t2025 예산\n계\t1,000", encoding="utf-8")
    settings = Settings().with_overrides(corpus_dir=corpus, index_dir=tmp_path / "index", model_dir=engine.model_dir)
    shared = engine.encoder
    monkeypatch.setattr(Engine, "encoder", property(lambda self: shared))  # the session's model, not a second load
    Engine(settings).build()
    for key, value in settings.as_env().items():
        monkeypatch.setenv(key, value)

    def indexed() -> set[str]:
        return {d["file"] for d in json.loads((tmp_path / "index" / "docs.json").read_text(encoding="utf-8"))}

    at = app_test().run()
    assert not at.exception, at.exception
    assert set(at.sidebar.dataframe[0].value["파일"]) == {"a.txt", "b.txt"}
    (corpus / "a.txt").write_text("Ⅰ. 현황\n□ 인력 : 15명\n가 기관의 올해 사업은 미술관 운영이다.", encoding="utf-8")
    at.sidebar.selectbox(key="manage_file").select("a.txt").run()
    at.sidebar.button(key="manage_reindex").click().run()
    assert not at.exception, at.exception
    assert [m.value for m in at.sidebar.success] == ["다시 색인했습니다: a.txt"]
    at.chat_input[0].set_value("올해 사업은 무엇을 운영하나요?").run()
    assert "미술관" in " ".join(text_of(m) for m in assistant_messages(at))

    at.sidebar.selectbox(key="manage_file").select("b.txt").run()
    at.sidebar.button(key="manage_remove").click().run()
    assert not at.exception, at.exception
    assert at.sidebar.success[0].value.startswith("색인에서 뺐습니다: b.txt")
    assert set(at.sidebar.dataframe[0].value["파일"]) == {"a.txt"} and indexed() == {"a.txt"}
    assert (corpus / "removed" / "b.txt").is_file()


# ------------------------------------------------------------------ end to end in a real browser
def test_chat_in_browser(engine, tmp_path):
    """Type a question into the real page in headless Chromium, wait for answer and citation, screenshot it."""
    se = selenium()
    By, Keys, WebDriverWait = se.By, se.Keys, se.WebDriverWait

    env = {**os.environ, **engine.settings.as_env()}
    with chat_in_browser(se, env, tmp_path, REPO, 2300) as driver:
        box = WebDriverWait(driver, 120).until(
            lambda d: d.find_element(By.CSS_SELECTOR, 'textarea[data-testid="stChatInputTextArea"]'))
        box.send_keys(STAFF_Q)
        box.send_keys(Keys.ENTER)

        def answered(d) -> bool:
            messages = d.find_elements(By.CSS_SELECTOR, '[data-testid="stChatMessage"]')
            return len(messages) >= 2 and "p." in messages[-1].text

        WebDriverWait(driver, 120).until(answered)
        # Give the open citation's page image a moment, so the screenshot shows the evidence.
        try:
            WebDriverWait(driver, 15).until(
                lambda d: d.find_elements(By.CSS_SELECTOR, '[data-testid="stChatMessage"] img'))
        except Exception:  # noqa: BLE001, S110 - a page without an image still has its answer checked below
            pass
        messages = driver.find_elements(By.CSS_SELECTOR, '[data-testid="stChatMessage"]')
        assert STAFF_Q in messages[0].text
        assert ABSTAIN_TEXT not in messages[-1].text and CITATION.search(messages[-1].text)
        ARTIFACTS.mkdir(exist_ok=True)
        assert driver.save_screenshot(str(ARTIFACTS / "chat_e2e.png"))
