"""Who may read what: bearer tokens mapped to the organizations whose reports they may read.

DOCQA_TOKENS_FILE names a JSON object `{"<token>": {"name": "재단 담당", "organizations": ["서울디지털재단"]}}`
("*" for all); DOCQA_API_TOKEN stays an all-access token. A restricted token is served by an engine over an
index that holds only its organizations' reports, so retrieval, word statistics, answers, citations, the
document list and page images never see another organization's text: the filter applies before ranking
because the other reports are not in the index being ranked.
"""
from __future__ import annotations

import json
import secrets
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ingest.normalize import compact

from .engine import Engine

ALL = "*"


@dataclass(frozen=True)
class Grant:
    name: str
    organizations: tuple[str, ...] | None  # None: every organization

    def allows(self, doc) -> bool:
        if self.organizations is None:
            return True
        names = {compact(doc.organization), *(compact(a) for a in getattr(doc, "aliases", ()))}
        return any(compact(o) in names for o in self.organizations)

    @property
    def home(self) -> str:
        """The organization an upload through this token belongs to."""
        return self.organizations[0] if self.organizations else ""


FULL_ACCESS = Grant("전체", None)


class TokensFileError(ValueError):
    pass


def load_grants(path: Path | None) -> dict[str, Grant]:
    if path is None:
        return {}
    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise TokensFileError(f"토큰 파일을 읽을 수 없습니다 (DOCQA_TOKENS_FILE={path}): {exc}") from exc
    if not isinstance(raw, dict):
        raise TokensFileError(f"토큰 파일은 {{토큰: {{name, organizations}}}} 형식의 JSON 객체여야 합니다: {path}")
    grants = {}
    for token, entry in raw.items():
        orgs = entry.get("organizations") if isinstance(entry, dict) else None
        if not token or not isinstance(orgs, list) or not all(isinstance(o, str) and o for o in orgs):
            raise TokensFileError(f"토큰 파일 항목이 올바르지 않습니다 ({entry.get('name', '?') if isinstance(entry, dict) else '?'}): "
                                  "organizations 는 기관 이름 목록이어야 합니다")
        grants[token] = Grant(str(entry.get("name", "")), None if ALL in orgs else tuple(orgs))
    return grants


class Access:
    """Token -> grant. No token configured at all means an open API (every request has full access)."""

    def __init__(self, api_token: str, tokens_file: Path | None) -> None:
        self.grants = load_grants(tokens_file)
        if api_token:
            self.grants[api_token] = FULL_ACCESS

    @property
    def open(self) -> bool:
        return not self.grants

    def grant(self, given: str) -> Grant | None:
        if self.open:
            return FULL_ACCESS
        found = None
        for token, grant in self.grants.items():  # compare with every token: timing does not tell which matched
            if secrets.compare_digest(given.encode(), token.encode()):
                found = grant
        return found


class ScopedEngine(Engine):
    """The engine's model and scorer over an index of only the granted organizations' reports (read only)."""

    def __init__(self, base: Engine, index) -> None:
        self.__dict__.update(base.__dict__)
        self._view = None
        self._restricted = index

    @property
    def index(self):
        return self._restricted

    def build(self, progress: bool = False, extra_files=None):
        raise PermissionError("read-only view: writes go through the full engine")


def restricted_index(index, allowed_files: set[str]):
    from index.store import DocIndex

    rows = [i for i, c in enumerate(index.chunks) if c.file in allowed_files]
    vectors = index.vectors[rows] if rows else np.zeros((0, index.vectors.shape[1]), dtype=np.float32)
    return DocIndex([index.chunks[i] for i in rows], vectors, [d for d in index.docs if d.file in allowed_files],
                    index.model_id, index.tokenizer, [index.tokens[i] for i in rows])


class EngineViews:
    """One read-only engine per set of organizations, rebuilt when the full engine's index changes."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._views: dict[tuple[str, ...], tuple[object, ScopedEngine]] = {}
        self._lock = threading.Lock()

    def for_grant(self, grant: Grant) -> Engine:
        if grant.organizations is None:
            return self.engine
        index = self.engine.index
        key = grant.organizations
        with self._lock:
            cached = self._views.get(key)
            if cached and cached[0] is index:
                return cached[1]
            allowed = {d.file for d in index.docs if grant.allows(d)}
            view = ScopedEngine(self.engine, restricted_index(index, allowed))
            self._views[key] = (index, view)
            return view


def claim_upload(engine: Engine, grant: Grant, name: str) -> None:
    """An upload through a restricted token belongs to its organization (manifest entry), and may not replace
    another organization's report."""
    from .api import UploadError

    if grant.organizations is None:
        return
    existing = engine.index.document(name)
    if existing is not None and not grant.allows(existing):
        raise UploadError(403, f"다른 기관의 문서는 바꿀 수 없습니다: {name}")
    manifest = engine.settings.corpus_dir / "manifest.json"
    entries = json.loads(manifest.read_text(encoding="utf-8")) if manifest.exists() else []
    entry = next((e for e in entries if e.get("file") == name), None)
    if entry is not None and grant.allows(_Org(entry)):
        return
    entries = [e for e in entries if e.get("file") != name]
    entries.append({"file": name, "title": Path(name).stem, "organization": grant.home})
    tmp = manifest.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(entries, ensure_ascii=False, indent=1), encoding="utf-8")
    tmp.replace(manifest)


@dataclass(frozen=True)
class _Org:
    """A manifest entry seen as a document, for Grant.allows."""

    entry: dict

    @property
    def organization(self) -> str:
        return self.entry.get("organization", "")

    @property
    def aliases(self) -> tuple[str, ...]:
        return tuple(self.entry.get("aliases", ()))
