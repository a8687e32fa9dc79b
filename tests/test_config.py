"""The one configuration object: every DOCQA_* variable is read there and nowhere else."""
from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path

import pytest

from app.config import ENV_VARS, ConfigError, Settings

REPO = Path(__file__).resolve().parent.parent
READS_ENV = re.compile(r"""(?:environ\.get|getenv|environ\[)\(?\s*["']DOCQA_""")


def test_settings_travel_to_a_child_process_whole(monkeypatch, tmp_path):
    chosen = Settings().with_overrides(corpus_dir=tmp_path / "c", index_dir=tmp_path / "i", workers=3,
                                       backend="milvus", max_upload_mb=7.5, chat_address="0.0.0.0",
                                       server_url="http://127.0.0.1:9", llm_timeout=4.0)
    assert set(ENV_VARS) == {f.name for f in fields(Settings)}
    for name in ENV_VARS.values():
        monkeypatch.delenv(name, raising=False)
    for name, value in chosen.as_env().items():
        monkeypatch.setenv(name, value)
    assert Settings() == chosen


def test_bad_upload_limit_is_refused_by_name(monkeypatch):
    monkeypatch.setenv("DOCQA_MAX_UPLOAD_MB", "많이")
    with pytest.raises(ConfigError, match="DOCQA_MAX_UPLOAD_MB"):
        Settings()


def test_no_module_but_the_config_reads_docqa_variables():
    readers = [str(p.relative_to(REPO)) for d in ("app", "index", "ingest", "eval", "scripts") for p in (REPO / d).rglob("*.py")
               if p.name != "config.py" and READS_ENV.search(p.read_text(encoding="utf-8"))]
    assert readers == []
