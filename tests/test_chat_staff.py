"""The chat as staff meet it: Korean labels, no developer menu, a login when tokens are configured, the
conversation kept across a reload; once end to end in headless Chromium (follow-up, 👎 with a comment, reload)."""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from app.chat import CONVERSATION_PARAM, streamlit_command
from tests.helpers import chat_in_browser, selenium

REPO = Path(__file__).resolve().parent.parent
CHAT = REPO / "app" / "chat.py"
ARTIFACTS = REPO / "artifacts"
BUDGET_Q = "서울시재단 2025년 서울시 출연금 예산현액은?"
FOLLOW_Q = "그럼 2024년은?"
FIGURE_2025, FIGURE_2024 = "13,797,110", "8,193,261"
RUNNING = '[data-testid="stStatusWidgetRunningIcon"], [data-testid="stStatusWidgetRunningManIcon"]'  # Streamlit 1.67
ADMIN, LIMITED = "admin-token", "digital-staff-token"
ORG = "서울디지털재단"
# Streamlit's own English words around the uploader and the developer toolbar (1.67 and earlier releases).
ENGLISH = ["Deploy", "Drag and drop", "Browse files", "per file", "Limit 200MB", "Upload", "Press Enter",
           "Rerun", "Clear cache", "Running..."]


@pytest.fixture()
def chat_copy(engine, tmp_path):
    """Settings on a copy of the session index: conversations and feedback land in a temporary database."""
    from index.store import resolve_index_dir

    shutil.copytree(resolve_index_dir(engine.settings.index_dir), tmp_path / "index")
    return engine.settings.with_overrides(index_dir=tmp_path / "index", api_token="")


def use(settings, monkeypatch) -> None:
    for key in ("DOCQA_API_TOKEN", "DOCQA_TOKENS_FILE"):
        monkeypatch.delenv(key, raising=False)
    for key, value in settings.as_env().items():
        monkeypatch.setenv(key, value)


def app_test():
    from streamlit.testing.v1 import AppTest

    return AppTest.from_file(str(CHAT), default_timeout=300)


def assistant_text(at) -> list[str]:
    return [" ".join(md.value for md in m.markdown) for m in at.chat_message if m.name == "assistant"]


def test_streamlit_command_hides_developer_menu():
    cmd = streamlit_command(8765, headless=True, address="127.0.0.1", max_upload_mb=50)
    assert cmd[cmd.index("--client.toolbarMode") + 1] == "minimal"


# ------------------------------------------------------------------ login
def test_login_form_refuses_a_wrong_token_and_admits_the_right_one(chat_copy, monkeypatch):
    use(chat_copy, monkeypatch)
    monkeypatch.setenv("DOCQA_API_TOKEN", ADMIN)
    at = app_test().run()
    assert not at.exception, at.exception
    assert [t.label for t in at.text_input] == ["접근 토큰"] and at.text_input[0].placeholder == "토큰 입력"
    assert not at.chat_input and not at.sidebar.get("file_uploader")  # nothing but the form before login

    at.text_input(key="login_token").set_value("wrong-token")
    at.button[0].click().run()
    assert [e.value for e in at.error] == ["토큰이 올바르지 않습니다. 관리자에게 받은 토큰을 입력하세요."]
    assert not at.chat_input and not at.sidebar.get("file_uploader")

    at.text_input(key="login_token").set_value(ADMIN)
    at.button[0].click().run()
    assert not at.exception, at.exception
    assert at.chat_input and not at.error and not at.get("text_input")
    at.chat_input[0].set_value(BUDGET_Q).run()
    assert FIGURE_2025 in assistant_text(at)[-1]


def test_restricted_token_reads_only_its_organization_in_the_chat(chat_copy, tmp_path, monkeypatch):
    use(chat_copy, monkeypatch)
    tokens = tmp_path / "tokens.json"
    tokens.write_text(json.dumps({LIMITED: {"name": "재단 담당", "organizations": [ORG]}}, ensure_ascii=False),
                      encoding="utf-8")
    monkeypatch.setenv("DOCQA_TOKENS_FILE", str(tokens))
    at = app_test().run()
    assert not at.chat_input
    at.text_input(key="login_token").set_value(LIMITED)
    at.button[0].click().run()
    assert not at.exception, at.exception
    listed = set(at.sidebar.dataframe[0].value["파일"])
    assert listed == {"2020_서울디지털재단_주요업무보고.pdf", "2024_서울디지털재단_주요업무보고.pdf"}
    at.chat_input[0].set_value(BUDGET_Q).run()
    assert not at.exception, at.exception
    (answer,) = [m for m in at.chat_message if m.name == "assistant"]
    assert FIGURE_2025 not in assistant_text(at)[0]
    cited = {c.value for e in answer.expander for c in e.caption}
    assert cited <= listed, cited


# ------------------------------------------------------------------ reload
def test_conversation_comes_back_from_the_url(chat_copy, monkeypatch):
    """A browser reload starts a new Streamlit session; the conversation id in the URL brings the turns back."""
    use(chat_copy, monkeypatch)
    at = app_test().run()
    at.chat_input[0].set_value(BUDGET_Q).run()
    at.chat_input[0].set_value(FOLLOW_Q).run()
    cid = at.query_params[CONVERSATION_PARAM]
    cid = cid[0] if isinstance(cid, list) else cid
    assert cid == at.session_state["conversation_id"]

    again = app_test()
    again.query_params[CONVERSATION_PARAM] = cid
    again.run()
    assert not again.exception, again.exception
    assert [" ".join(md.value for md in m.markdown) for m in again.chat_message if m.name == "user"] == [
        BUDGET_Q, FOLLOW_Q]
    texts = assistant_text(again)
    assert FIGURE_2025 in texts[0] and FIGURE_2024 in texts[1]
    # ... and the conversation goes on from there: the next follow-up is read against the 2024 turn.
    again.chat_input[0].set_value("그럼 2025년은?").run()
    assert FIGURE_2025 in assistant_text(again)[-1]

    unknown = app_test()
    unknown.query_params[CONVERSATION_PARAM] = "0" * 32
    unknown.run()
    assert not unknown.exception and not unknown.chat_message


# ------------------------------------------------------------------ end to end in a real browser
@pytest.mark.slow  # starts its own Streamlit server, which loads the model (about 40 s in all)
def test_follow_up_thumbs_down_and_reload_in_browser(chat_copy, tmp_path):
    se = selenium()
    By, Keys, WebDriverWait = se.By, se.Keys, se.WebDriverWait
    from app.feedback import FeedbackStore
    from app.state import state_path

    env = {k: v for k, v in os.environ.items() if k not in ("DOCQA_API_TOKEN", "DOCQA_TOKENS_FILE")}
    env.update(chat_copy.as_env())

    def messages(d):
        return d.find_elements(By.CSS_SELECTOR, '[data-testid="stChatMessage"]')

    def idle(d) -> bool:
        return not d.find_elements(By.CSS_SELECTOR, RUNNING)

    def ask(question: str, count: int, figure: str) -> None:
        # type only once the last answer's run has ended, so a question is never typed into a page still being
        # drawn; a cold first run on a fresh clone still lost the follow-up (no answer within the wait, cause
        # unknown, docs/answer-engine.md), so a question that does not show up is typed once more
        for _ in range(2):
            WebDriverWait(driver, 120).until(idle)
            box = WebDriverWait(driver, 120).until(
                lambda d: d.find_element(By.CSS_SELECTOR, 'textarea[data-testid="stChatInputTextArea"]'))
            box.send_keys(question)
            box.send_keys(Keys.ENTER)
            try:
                WebDriverWait(driver, 30).until(lambda d: len(messages(d)) >= count - 1)
                break
            except se.TimeoutException:
                continue
        shown_within(120, lambda d: len(messages(d)) >= count and figure in messages(d)[-1].text,
                     f"no answer holding {figure} to {question!r}")

    def shown_within(seconds: int, condition, what: str) -> None:
        """Wait for the page; on a timeout fail with what it showed (a cold fresh-clone run timed out blind)."""
        try:
            WebDriverWait(driver, seconds).until(condition)
        except se.TimeoutException:
            pytest.fail(f"{what} within {seconds} s; url {driver.current_url}; "
                        f"messages shown: {[m.text[:80] for m in messages(driver)]}")

    with chat_in_browser(se, env, tmp_path, REPO, 2000) as driver:
        ask(BUDGET_Q, 2, FIGURE_2025)
        ask(FOLLOW_Q, 4, FIGURE_2024)
        # The resolved question is written under the answer, once its citations are drawn.
        WebDriverWait(driver, 60).until(lambda d: "이렇게 이해하고 찾았습니다" in messages(d)[-1].text)
        last = messages(driver)[-1]
        assert "2024년" in last.text and "서울시재단" in last.text
        ARTIFACTS.mkdir(exist_ok=True)
        assert driver.save_screenshot(str(ARTIFACTS / "chat_followup.png"))

        # What staff see: Korean throughout, no Deploy button or developer menu.
        body = driver.find_element(By.TAG_NAME, "body").text
        assert not [w for w in ENGLISH if w in body], [w for w in ENGLISH if w in body]
        assert "Deploy" not in driver.page_source
        assert not driver.find_elements(By.CSS_SELECTOR, '[data-testid="stMainMenu"], [data-testid="stAppDeployButton"]')
        upload = driver.find_element(By.CSS_SELECTOR, '[data-testid="stFileUploaderDropzone"] button')
        shown = driver.execute_script("return getComputedStyle(arguments[0], '::after').content", upload)
        assert shown == '"파일 선택"'
        # The keyboard skip link keeps its English text node at font size 0 (it must stay focusable), so
        # WebDriver's text still lists it; what is drawn is the Korean ::after.
        skip = driver.find_element(By.CSS_SELECTOR, '[data-testid="stSkipToContent"]')
        assert driver.execute_script("return getComputedStyle(arguments[0], '::after').content", skip) == '"본문으로 건너뛰기"'
        assert driver.execute_script("return getComputedStyle(arguments[0]).fontSize", skip) == "0px"

        # 👎 on the follow-up's answer, with a comment.
        thumbs = messages(driver)[-1].find_elements(By.CSS_SELECTOR, '[data-testid="stFeedback"] button')
        assert len(thumbs) == 2
        thumbs[1].click()
        comment = WebDriverWait(driver, 30).until(
            lambda d: messages(d)[-1].find_element(By.CSS_SELECTOR, 'input[aria-label="의견 (선택)"]'))
        comment.send_keys("예산현액 말고 최종예산이 나왔어요")
        assert "Press Enter" not in messages(driver)[-1].text  # the comment form has no English hint
        send = [b for b in messages(driver)[-1].find_elements(By.TAG_NAME, "button") if b.text == "의견 보내기"]
        send[0].click()
        WebDriverWait(driver, 30).until(lambda d: "의견 감사합니다" in messages(d)[-1].text)
        rows = FeedbackStore(state_path(chat_copy.index_dir)).items(rating=-1)
        assert len(rows) == 1
        assert rows[0]["question"] == FOLLOW_Q and "2024년" in rows[0]["resolved_question"]
        assert rows[0]["comment"] == "예산현액 말고 최종예산이 나왔어요" and FIGURE_2024 in rows[0]["answer"]
        assert rows[0]["conversation_id"] and f"{CONVERSATION_PARAM}={rows[0]['conversation_id']}" in driver.current_url

        # A reload is a new Streamlit session: the conversation comes back from the URL and the store.
        driver.refresh()
        shown_within(120, lambda d: len(messages(d)) == 4 and FIGURE_2024 in messages(d)[-1].text,
                     "the conversation did not come back after a reload")
        shown = [m.text for m in messages(driver)]
        assert BUDGET_Q in shown[0] and FIGURE_2025 in shown[1] and FOLLOW_Q in shown[2]
