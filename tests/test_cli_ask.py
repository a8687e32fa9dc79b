"""`docqa ask` as staff meet it: one-line errors, an empty question refused at once, quiet loading, a server."""
from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from app import cli
from app.api import create_app

REPO = Path(__file__).resolve().parent.parent
BUDGET_Q = "서울시재단 2025년 서울시 출연금 예산현액은?"


def run(*argv: str) -> tuple[subprocess.CompletedProcess, float]:
    start = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "app.cli", *argv], cwd=REPO, capture_output=True, text=True,
                          timeout=120, check=False)
    return proc, time.monotonic() - start


def no_engine(settings):
    raise AssertionError("no engine (and no model) should be loaded")


def test_empty_question_is_refused_before_anything_loads(monkeypatch, capsys):
    monkeypatch.setattr(cli, "_engine", no_engine)
    for question in ("", "   "):
        assert cli.main(["ask", question]) == 2
        out = capsys.readouterr()
        assert not out.out and out.err.strip() == "오류: 질문을 입력해 주세요 (empty question)"
    proc, seconds = run("ask", "")
    assert proc.returncode == 2 and proc.stderr.strip() == "오류: 질문을 입력해 주세요 (empty question)"
    assert seconds < 10, f"refusing an empty question took {seconds:.1f}s"  # was 24 s: it loaded the model


@pytest.mark.parametrize("command", [["ask", BUDGET_Q], ["search", "예산"], ["documents"]])
def test_missing_index_is_one_line_not_a_traceback(tmp_path, command):
    proc, _ = run(*command, "--index-dir", str(tmp_path / "없음"))
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith("오류: 색인이 없습니다") and str(tmp_path / "없음") in line


def test_model_loads_without_progress_bars(engine, capfd):
    from index.embedder import Embedder

    capfd.readouterr()
    if engine._encoder is None:  # the session's model is loaded here, through Embedder.from_dir
        engine.encoder.embed_queries(["준비"])
    else:
        Embedder.from_dir(engine.model_dir).embed_queries(["준비"])
    out = capfd.readouterr()
    assert "Loading weights" not in out.err and not out.err.strip() and not out.out.strip()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture()
def server(engine):
    """A real uvicorn over the session engine (read only), token "t0ken"."""
    import uvicorn

    port = _free_port()
    srv = uvicorn.Server(uvicorn.Config(create_app(engine, api_token="t0ken"), host="127.0.0.1", port=port,
                                        log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not srv.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert srv.started
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(timeout=10)


def test_ask_uses_a_running_server(server, monkeypatch, capsys):
    monkeypatch.setattr(cli, "_engine", no_engine)  # the answer must come from the server
    monkeypatch.setenv("DOCQA_API_TOKEN", "t0ken")
    assert cli.main(["ask", BUDGET_Q, "--server", server]) == 0
    out = capsys.readouterr().out
    assert out.startswith("13,797,110천원") and "2025_서울시재단_주요업무보고.pdf" in out

    monkeypatch.setenv("DOCQA_SERVER", server)  # read through Settings
    assert cli.main(["ask", BUDGET_Q, "--json"]) == 0
    assert '"13,797,110' in capsys.readouterr().out

    monkeypatch.setenv("DOCQA_API_TOKEN", "wrong")
    assert cli.main(["ask", BUDGET_Q]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("오류: 서버가 HTTP 401") and "인증" in line


def test_unreachable_server_is_one_line(monkeypatch, capsys):
    monkeypatch.setattr(cli, "_engine", no_engine)
    assert cli.main(["ask", BUDGET_Q, "--server", f"http://127.0.0.1:{_free_port()}"]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("오류: 서버에 연결할 수 없습니다")
