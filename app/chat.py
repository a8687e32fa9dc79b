"""Streamlit chat for Seoul city staff: ask about the reports in Korean, see figures with page evidence.

Run with `streamlit run app/chat.py` or `docqa chat`. The engine runs in this process (`st.cache_resource`,
loaded once per server) and answers through the very same `Engine.ask` code as the HTTP API and the CLI,
so the chat, `docqa ask` and `POST /ask` give identical answers. Page images come from
`app.pages.render_page_png`, the function behind `GET /documents/{file}/pages/{n}.png`; uploads go through
`app.api.store_upload`, the same checks as `POST /documents`.
"""
from __future__ import annotations

import logging
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

from app.config import Settings
from app.models import ABSTAIN_TEXT, Answer, Citation, Filters
from app.openai_api import display_titles

EXAMPLE_QUESTIONS = [
    "2025년 서울시재단 인력은 몇 명이야?",
    "서울시재단 2025년 서울시 출연금 예산현액은?",
    "서울시재단 5급 현원은 지금 몇 명인가요?",
    "MIT Senseable City Seoul Lab은 언제 문 열 예정이에요?",
]
MAX_QUESTION_CHARS = 2000
CONVERSATION_PARAM = "c"  # the conversation id in the page's URL, so a reload brings the conversation back
CONVERSATION_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")  # as POST /ask accepts
UPLOAD_TYPES = ["pdf", "hwp", "hwpx", "txt"]

# Streamlit 1.67 has no locale option for its own widget words: the uploader's "Upload" button, its
# "50MB per file • PDF, ..." line, its drag overlay and the keyboard "Skip to main content" link are
# replaced with Korean through CSS.
KOREAN_CSS = """<style>
[data-testid="stFileUploaderDropzoneInstructions"] { display: none; }
[data-testid="stFileUploaderDropzone"] button { font-size: 0; }
[data-testid="stFileUploaderDropzone"] button * { display: none; }
[data-testid="stFileUploaderDropzone"] button::after { content: "파일 선택"; font-size: 0.875rem; }
[data-testid="stFileUploaderDropzone"] .euud7oh2 { font-size: 0; }
[data-testid="stFileUploaderDropzone"] .euud7oh2::after { content: "여기에 파일을 놓으세요"; font-size: 1rem; }
[data-testid="stSkipToContent"] { font-size: 0; }
[data-testid="stSkipToContent"]::after { content: "본문으로 건너뛰기"; font-size: 1rem; }
</style>"""

# ------------------------------------------------------------------ launching (no streamlit import needed)
def streamlit_command(port: int, headless: bool, address: str, max_upload_mb: float) -> list[str]:
    cmd = [
        sys.executable, "-m", "streamlit", "run", str(Path(__file__).resolve()),
        "--server.port", str(port),
        "--server.headless", "true" if headless else "false",
        "--browser.gatherUsageStats", "false",
        # Streamlit's own upload cap follows the API's limit, so both refuse the same files.
        "--server.maxUploadSize", str(max(1, int(max_upload_mb))),
        # Streamlit's welcome banner looks up the machine's external IP over the network; we run offline.
        "--logger.hideWelcomeMessage", "true",
        # Staff get no Deploy button and no English developer menu: "minimal" hides the whole menu
        # ("viewer" would still list Print/Record/Settings in English).
        "--client.toolbarMode", "minimal",
        "--server.address", address,
    ]
    return cmd


def launch(settings: Settings, port: int, headless: bool, address: str | None = None) -> int:
    """Run the chat as a Streamlit server in a child process; returns its exit code.

    Listens on loopback unless `address` (or DOCQA_CHAT_ADDRESS, e.g. 0.0.0.0) says otherwise: without
    DOCQA_API_TOKEN the chat has no login and accepts uploads, so exposing it to the network is an explicit choice.
    """
    address = address or settings.chat_address
    env = {**os.environ, **settings.as_env()}
    proc = subprocess.Popen(streamlit_command(port, headless, address, settings.max_upload_mb), env=env)
    print(f"docqa 채팅: http://{address}:{port}", flush=True)
    # A service manager stops `docqa chat` with SIGTERM; pass it on so no orphaned server keeps the port.
    previous = signal.signal(signal.SIGTERM, lambda *_: proc.terminate())
    try:
        return proc.wait()
    except KeyboardInterrupt:
        # Ctrl-C reached the child too; give it a moment to shut down cleanly.
        proc.send_signal(signal.SIGINT)
        try:
            return proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            return 130
    finally:
        signal.signal(signal.SIGTERM, previous)


# ------------------------------------------------------------------ formatting
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]<>()#+\-.!|~$])")


def escape_md(text: str) -> str:
    """Report text is shown literally: "1~3월" must not strike through, "*" must not turn italic."""
    return _MD_SPECIAL.sub(r"\\\1", text)


def citation_label(c: Citation, title: str | None = None) -> str:
    """"제목 · p.N · 섹션", as staff cite reports."""
    parts = [title or c.title, f"p.{c.page}" if c.page else "쪽 없음"]
    if c.section:
        parts.append(c.section)
    return " · ".join(parts)


def year_options(dates: list[str]) -> list[int]:
    return sorted({int(d[:4]) for d in dates if d[:4].isdigit()}, reverse=True)


# ------------------------------------------------------------------ the app (runs under `streamlit run`)
def _get_engine(settings: Settings):
    import streamlit as st

    @st.cache_resource(show_spinner="모델과 색인을 불러오는 중입니다…")
    def load(key: str, _settings: Settings):
        from app.engine import Engine

        engine = Engine(_settings)
        # Load now, so the first question does not pay for it. Assigned, not bare: Streamlit's "magic"
        # would st.write a bare expression onto the page.
        _ = engine.index, engine.query_encoder
        return engine

    return load(repr(settings), settings)


def _display_titles(engine) -> dict[str, str]:
    return display_titles(engine.index.docs)


def _sidebar_filters(engine) -> Filters:
    import streamlit as st

    docs = engine.index.docs
    titles = _display_titles(engine)
    st.header("검색 범위")
    files = st.multiselect("문서", [d.file for d in docs], format_func=lambda f: titles.get(f, f),
                           placeholder="전체 문서")
    orgs = st.multiselect("기관", sorted({d.organization for d in docs if d.organization}), placeholder="전체 기관")
    years = st.multiselect("연도", year_options([d.date for d in docs]), placeholder="전체 연도")
    st.caption(f"색인된 문서 {len(docs)}개")
    return Filters(files=files, organizations=orgs, years=years)


def _sidebar_upload(engine, grant) -> None:
    import streamlit as st

    from app.access import claim_upload
    from app.api import UploadError, safe_filename, store_upload

    st.header("보고서 올리기")
    uploaded = st.file_uploader("PDF, 한글(.hwp/.hwpx) 또는 텍스트(.txt) 보고서", type=UPLOAD_TYPES, key="upload")
    st.caption(f"파일당 최대 {st.get_option('server.maxUploadSize')}MB · {', '.join(t.upper() for t in UPLOAD_TYPES)}")
    if uploaded is None or not st.button("색인에 추가", key="upload_go", type="primary"):
        return
    with st.status(f"'{uploaded.name}' 색인하는 중…", expanded=True) as status:
        st.write("파일을 확인하고 문서를 읽는 중입니다. 큰 문서는 1분쯤 걸릴 수 있습니다.")
        try:
            claim_upload(engine, grant, safe_filename(uploaded.name))  # a restricted token's report is its organization's
            report = store_upload(engine, uploaded.name, uploaded.getvalue())
        except UploadError as exc:
            status.update(label="올리지 못했습니다", state="error")
            st.error(exc.message)
            return
        verb = {"added": "추가", "replaced": "교체", "unchanged": "변경 없음", "duplicate": "중복"}[report.status]
        status.update(label=f"{verb}: {report.file}", state="complete", expanded=False)
    if report.duplicate_of:
        st.info(f"{report.file}: 이미 색인된 {report.duplicate_of} 와 내용이 같아 다시 색인하지 않았습니다.")
        return
    size = f"{report.pages}쪽" if report.pages else "텍스트 문서"
    st.success(f"{report.file}: {size}, 청크 {report.chunks}개 ({report.seconds:.1f}초). 이제 질문할 수 있습니다.")


def _sidebar_documents(engine, writer) -> None:
    """문서 관리: the indexed reports the caller may read (`engine`), and re-reading or removing one through the
    full engine (`writer`: the same Engine calls as the CLI and API)."""
    import streamlit as st

    with st.expander("문서 관리", expanded=False):
        kind, message = st.session_state.pop("manage_msg", ("", ""))
        if message:
            (st.error if kind == "error" else st.success)(message)
        docs = engine.documents()
        st.dataframe([{"파일": d.file, "제목": d.title, "쪽": d.pages, "표": d.tables, "청크": d.chunks,
                       "색인 시각": d.indexed_at} for d in docs], hide_index=True)
        file = st.selectbox("문서", [d.file for d in docs], index=None, placeholder="문서를 고르세요", key="manage_file")
        left, right = st.columns(2)
        # Callbacks run before the next script run, so the list above already shows the result.
        left.button("다시 색인", key="manage_reindex", disabled=file is None, on_click=_manage, args=(writer, False))
        right.button("색인에서 빼기", key="manage_remove", disabled=file is None, on_click=_manage, args=(writer, True))


def _manage(engine, remove: bool) -> None:
    import streamlit as st

    from index.store import DocumentNotFound

    file = st.session_state.get("manage_file")
    if not file:
        return
    try:
        report = engine.remove(file) if remove else engine.reindex(file)
    except DocumentNotFound as exc:
        st.session_state["manage_msg"] = ("error", str(exc))
        return
    if report.failures:
        st.session_state["manage_msg"] = ("error", f"다시 읽지 못해 이전 판을 유지합니다: {report.failures[0].reason}")
    elif remove:
        st.session_state["manage_file"] = None
        st.session_state["manage_msg"] = ("ok", f"색인에서 뺐습니다: {file} (파일은 corpus/removed/ 로 옮겼습니다)")
    else:
        st.session_state["manage_msg"] = ("ok", f"다시 색인했습니다: {file}")


def _page_image(engine, c: Citation) -> bytes | None:
    from app.pages import PageError, render_page_png

    if not c.page or not c.file.lower().endswith(".pdf"):
        return None
    path = (engine.settings.corpus_dir / c.file).resolve()
    if path.parent != engine.settings.corpus_dir.resolve():
        return None
    try:
        return render_page_png(path, c.page, c.quote or None, c.boxes)
    except PageError:
        return None


def _render_answer(engine, answer: Answer, turn: int, latest: bool) -> None:
    import streamlit as st

    titles = _display_titles(engine)
    if answer.abstained:
        st.info(answer.answer or ABSTAIN_TEXT)
        if answer.related:
            st.caption("확인해 볼 만한 곳: " + " · ".join(citation_label(c, titles.get(c.file)) for c in answer.related))
        return
    st.markdown(escape_md(answer.answer))
    for i, c in enumerate(answer.citations):
        # Only an opened expander renders its page image; the newest answer opens its first citation.
        box = st.expander(citation_label(c, titles.get(c.file)), expanded=latest and i == 0,
                          key=f"cite-{turn}-{i}", on_change="rerun")
        with box:
            if c.quote:
                st.markdown("> " + escape_md(c.quote).replace("\n", "\n> "))
            st.caption(c.file)
            if box.open:
                png = _page_image(engine, c)
                if png:
                    st.image(png, caption=f"{c.page}쪽 (근거 부분 강조)", width="stretch")
    st.caption(f"응답 {answer.latency_ms / 1000:.1f}초")


def _render_turn_extras(engine, answer: Answer, turn: int) -> None:
    """How a follow-up was read, and 👍/👎 with an optional comment (stored like POST /feedback)."""
    import streamlit as st

    from app.feedback import FeedbackStore
    from app.state import state_path

    resolved = getattr(answer, "resolved_question", "")
    if resolved and resolved != answer.question:
        st.caption(f"이렇게 이해하고 찾았습니다: {escape_md(resolved)}")
    sent: dict[int, int] = st.session_state.setdefault("feedback_sent", {})
    if turn in sent:
        st.caption("의견을 보내 주셔서 감사합니다." if sent[turn] > 0 else "의견 감사합니다. 틀린 답변은 정답셋에 추가해 고치겠습니다.")
        return
    choice = st.feedback("thumbs", key=f"thumbs-{turn}")
    if choice is None:
        return
    rating = 1 if choice == 1 else -1
    # A form without Enter-to-submit: Streamlit would otherwise print "Press Enter to apply" in English.
    with st.form(key=f"comment-form-{turn}", enter_to_submit=False, border=False):
        comment = st.text_input("의견 (선택)", key=f"comment-{turn}",
                                placeholder="무엇이 틀렸나요? 예) 2024년 값을 물었는데 2025년 값이 나왔어요")
        send = st.form_submit_button("의견 보내기", key=f"send-{turn}")
    if send:
        FeedbackStore(state_path(engine.settings.index_dir)).add(feedback_item(answer, rating, comment))
        sent[turn] = rating
        st.rerun()


def feedback_item(answer: Answer, rating: int, comment: str):
    """The stored 👍/👎 of a turn. Citations go as plain data: Streamlit re-imports changed modules on a rerun,
    and an answer kept from before is then no instance of the re-imported Citation class."""
    from app.feedback import FeedbackIn

    return FeedbackIn(question=answer.question, answer=answer.answer, rating=rating, comment=comment,
                      conversation_id=getattr(answer, "conversation_id", None),
                      resolved_question=getattr(answer, "resolved_question", ""),
                      citations=[c.model_dump() for c in answer.citations])


def _login(settings: Settings):
    """The caller's grant (app/access.py). With DOCQA_API_TOKEN or DOCQA_TOKENS_FILE set, only a login form is
    shown until a known token is entered; with neither, everyone has full access as before."""
    import streamlit as st

    from app.access import Access, TokensFileError

    try:
        access = Access(settings.api_token, settings.tokens_file)
    except TokensFileError as exc:
        st.error(str(exc))
        st.stop()
    if access.open:
        return access.grant("")
    token = st.session_state.get("token")
    grant = access.grant(token) if token else None
    if grant is not None:
        return grant
    st.subheader("로그인")
    with st.form("login", enter_to_submit=False):
        given = st.text_input("접근 토큰", type="password", placeholder="토큰 입력", key="login_token")
        submitted = st.form_submit_button("로그인", type="primary")
    if submitted:
        if access.grant(given.strip()) is not None:
            st.session_state["token"] = given.strip()
            st.rerun()
        st.error("토큰이 올바르지 않습니다. 관리자에게 받은 토큰을 입력하세요.")
    st.stop()


def _views(engine):
    """One EngineViews per engine: restricted tokens read through a view holding only their organizations' reports."""
    import streamlit as st

    from app.access import EngineViews

    @st.cache_resource(show_spinner=False)
    def load(_engine, key: int):
        return EngineViews(_engine)

    return load(engine, id(engine))


def _restore_history(engine, conversation_id: str) -> list[dict]:
    """The turns of a conversation from the SQLite store, as they were shown; turns citing a report this
    engine does not hold (another organization's) are left out."""
    from app.conversation import ConversationAnswer
    from app.state import ConversationStore, state_path

    allowed = {d.file for d in engine.index.docs}
    history = []
    for turn in ConversationStore(state_path(engine.settings.index_dir)).turns(conversation_id):
        answer = ConversationAnswer(**{**turn["answer"], "question": turn["question"]},
                                    conversation_id=conversation_id, resolved_question=turn["resolved_question"])
        if all(c.file in allowed for c in answer.citations):
            history.append({"question": turn["question"], "answer": answer})
    return history


def _queue(question: str) -> None:
    import streamlit as st

    st.session_state["pending"] = question


def main() -> None:
    import streamlit as st

    from index.store import IndexMissing

    st.set_page_config(page_title="보고서 질의응답", page_icon="📑", layout="wide")
    st.html(KOREAN_CSS)
    st.title("서울시 보고서 질의응답")
    st.caption("보고서에 있는 수치와 내용을 쪽 번호와 함께 찾아 드립니다. 보고서에 없는 내용은 답하지 않습니다.")

    settings = Settings()
    grant = _login(settings)
    try:
        full = _get_engine(settings)
    except IndexMissing as exc:
        st.error(f"색인이 없습니다. 관리자에게 'docqa index' 실행을 요청하세요.\n\n{exc}")
        st.stop()
    engine = _views(full).for_grant(grant)

    with st.sidebar:
        filter_box, upload_box = st.container(), st.container()
        with upload_box:  # first, so the filters below already list a report uploaded in this run
            _sidebar_upload(full, grant)
            _sidebar_documents(engine, full)
        with filter_box:
            filters = _sidebar_filters(engine)

    if "history" not in st.session_state:
        cid = st.query_params.get(CONVERSATION_PARAM, "")
        if CONVERSATION_ID.match(cid):
            st.session_state["conversation_id"] = cid
            st.session_state["history"] = _restore_history(engine, cid)
    history: list[dict] = st.session_state.setdefault("history", [])
    typed = st.chat_input("보고서에 대해 질문하세요 (예: 2025년 서울시재단 인력은 몇 명이야?)", max_chars=MAX_QUESTION_CHARS)
    question = (typed or st.session_state.pop("pending", None) or "").strip()

    for turn, item in enumerate(history):
        with st.chat_message("user"):
            st.markdown(escape_md(item["question"]))
        with st.chat_message("assistant"):
            _render_answer(engine, item["answer"], turn, latest=not question and turn == len(history) - 1)
            _render_turn_extras(engine, item["answer"], turn)

    if not history and not question:
        st.markdown("**이렇게 물어보세요**")
        cols = st.columns(2)
        for i, example in enumerate(EXAMPLE_QUESTIONS):
            cols[i % 2].button(example, key=f"example-{i}", on_click=_queue, args=(example,), width="stretch")

    if question:
        with st.chat_message("user"):
            st.markdown(escape_md(question))
        with st.chat_message("assistant"):
            try:
                with st.spinner("문서에서 찾는 중…"):
                    # Same follow-up logic as POST /ask: "그럼 2024년은?" is read against the last turn.
                    from app.conversation import Conversations

                    answer = Conversations(engine).ask(question, st.session_state.get("conversation_id"), filters)
                    st.session_state["conversation_id"] = answer.conversation_id
                    st.query_params[CONVERSATION_PARAM] = answer.conversation_id
            except Exception as exc:  # the user sees a short message; the server log keeps the traceback
                logging.getLogger(__name__).exception("answer failed")
                st.error(f"답변 중 오류가 발생했습니다: {exc}")
                return
            _render_answer(engine, answer, len(history), latest=True)
            _render_turn_extras(engine, answer, len(history))
        history.append({"question": question, "answer": answer})


if __name__ == "__main__":
    main()
