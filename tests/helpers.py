"""What the tests that run a real server or a real browser share: a free port, uvicorn in a thread,
and headless Chromium (skipped cleanly where Chromium or selenium is missing)."""
from __future__ import annotations

import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest

from .conftest import CORPUS

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serving(app) -> Iterator[str]:
    """A real uvicorn over `app` in a thread; yields its base URL."""
    import uvicorn

    port = free_port()
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not srv.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert srv.started
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        srv.should_exit = True
        thread.join(timeout=10)


def selenium() -> SimpleNamespace:
    """selenium's pieces, or a skip when the browser or the package is missing."""
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        pytest.skip("chromium/chromedriver not installed: apt-get install -y chromium chromium-driver")
    try:
        from selenium import webdriver
        from selenium.common.exceptions import TimeoutException
        from selenium.webdriver.chrome.service import Service
        from selenium.webdriver.common.by import By
        from selenium.webdriver.common.keys import Keys
        from selenium.webdriver.support.ui import WebDriverWait
    except ImportError:
        pytest.skip("selenium not installed: pip install selenium")
    return SimpleNamespace(webdriver=webdriver, By=By, Keys=Keys, WebDriverWait=WebDriverWait, Service=Service,
                           TimeoutException=TimeoutException)


def headless_chrome(se: SimpleNamespace, profile: Path, height: int):
    """Chromium with the flags this machine's closed network needs (no background connections)."""
    options = se.webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run",
                f"--user-data-dir={profile}", f"--window-size=1280,{height}", "--lang=ko-KR"):
        options.add_argument(arg)
    return se.webdriver.Chrome(service=se.Service(str(CHROMEDRIVER)), options=options)


def wait_healthy(url: str, proc: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"streamlit exited early with {proc.returncode}")
        try:
            if httpx.get(f"{url}/_stcore/health", timeout=2).text.strip() == "ok":
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise AssertionError("streamlit did not become healthy")


@contextmanager
def chat_in_browser(se: SimpleNamespace, env: dict, workdir: Path, cwd: Path, height: int) -> Iterator[object]:
    """The Streamlit chat served on a free port and opened in headless Chromium; yields the driver.
    On a failure the server's log tail is printed; the server and the browser are always stopped."""
    from app.chat import streamlit_command

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = workdir / "streamlit.log"
    with log_path.open("w") as log:
        proc = subprocess.Popen(streamlit_command(port, headless=True, address="127.0.0.1", max_upload_mb=50), env=env, cwd=cwd,
                                stdout=log, stderr=subprocess.STDOUT)
        driver = None
        try:
            wait_healthy(url, proc, timeout=60)
            driver = headless_chrome(se, workdir / "chromium", height)
            driver.get(url)
            yield driver
        except Exception:
            log.flush()
            print(log_path.read_text(encoding="utf-8", errors="replace")[-3000:])
            raise
        finally:
            if driver is not None:
                driver.quit()
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
            shutil.rmtree(workdir / "chromium", ignore_errors=True)


def corpus_and_index_copy(engine, root: Path) -> tuple[Path, Path]:
    """The corpus PDFs with their manifest and the session index, copied under `root` (nothing re-embedded)."""
    from index.store import resolve_index_dir

    corpus = root / "corpus"
    corpus.mkdir()
    for path in [*CORPUS.glob("*.pdf"), CORPUS / "manifest.json"]:
        shutil.copy2(path, corpus / path.name)
    index_dir = root / "index"
    shutil.copytree(resolve_index_dir(engine.settings.index_dir), index_dir)
    return corpus, index_dir
