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
                                       server_url="http://127.0.0.1:9", llm_timeout=4.0,
                                       embed_precision="float32")
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


def test_embedding_precision_is_read_and_checked(monkeypatch):
    monkeypatch.setenv("DOCQA_EMBED_PRECISION", "BFloat16")
    assert Settings().embed_precision == "bfloat16"
    monkeypatch.setenv("DOCQA_EMBED_PRECISION", "half")
    with pytest.raises(ConfigError, match="DOCQA_EMBED_PRECISION"):
        Settings()


def test_auto_precision_follows_the_cpu(monkeypatch):
    from index import runtime

    monkeypatch.setattr(runtime, "cpu_has_bf16_matmul", lambda: False)
    assert runtime.resolve_precision("auto") == "float32"
    monkeypatch.setattr(runtime, "cpu_has_bf16_matmul", lambda: True)
    assert runtime.resolve_precision("auto") == "bfloat16"
    assert runtime.resolve_precision("float32") == "float32"
    with pytest.raises(ValueError):
        runtime.resolve_precision("fp8")


def test_precision_flag_overrides_the_environment(monkeypatch):
    from app.cli import _settings, build_parser

    monkeypatch.setenv("DOCQA_EMBED_PRECISION", "bfloat16")
    args = build_parser().parse_args(["index", "--precision", "float32"])
    assert _settings(args).embed_precision == "float32"
    assert _settings(build_parser().parse_args(["index"])).embed_precision == "bfloat16"
    with pytest.raises(SystemExit):
        build_parser().parse_args(["index", "--precision", "half"])
