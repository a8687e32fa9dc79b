"""Shared fixtures: the real corpus, indexed once per test session with the real converted model."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO / "corpus"
SHARED = REPO.parent / "shared"
REALDATA = SHARED / "realdata"
FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture(scope="session")
def settings(tmp_path_factory):
    from app.config import Settings

    # A persistent index dir (DOCQA_TEST_INDEX) lets CI and developers reuse one build across runs;
    # it is updated incrementally, so a stale one is corrected, never trusted blindly.
    index_dir = Path(os.environ.get("DOCQA_TEST_INDEX", "")) if os.environ.get("DOCQA_TEST_INDEX") else None
    index_dir = index_dir or tmp_path_factory.mktemp("index") / "index"
    return Settings().with_overrides(corpus_dir=CORPUS, index_dir=index_dir)


@pytest.fixture(scope="session")
def engine(settings):
    from app.engine import Engine

    eng = Engine(settings)
    eng.build()
    return eng
