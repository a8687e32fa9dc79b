"""The assistant's own small state in SQLite (standard library): conversations and their turns, feedback.

The database sits beside the index folder, not inside it: every index update swaps that folder as a whole.
Each call opens its own connection, so API worker threads, the chat and the CLI never share one.
"""
from __future__ import annotations

import json
import sqlite3
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

MAX_TURNS = 20  # per conversation: a follow-up needs only the last turn; the rest is kept for reading back
MAX_CONVERSATIONS = 1000

SCHEMA = """
CREATE TABLE IF NOT EXISTS conversations (
    id TEXT PRIMARY KEY,
    created REAL NOT NULL,
    updated REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS turns (
    conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    n INTEGER NOT NULL,
    question TEXT NOT NULL,
    resolved TEXT NOT NULL,
    answer TEXT NOT NULL,
    topic TEXT NOT NULL,
    created REAL NOT NULL,
    PRIMARY KEY (conversation_id, n)
);
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created REAL NOT NULL,
    question TEXT NOT NULL,
    answer TEXT NOT NULL,
    rating INTEGER NOT NULL CHECK (rating IN (-1, 1)),
    comment TEXT NOT NULL DEFAULT '',
    conversation_id TEXT,
    resolved_question TEXT NOT NULL DEFAULT '',
    citations TEXT NOT NULL DEFAULT '[]'
);
"""


def state_path(index_dir: Path) -> Path:
    """`var/index` -> `var/index.state.sqlite3`."""
    index_dir = Path(index_dir).resolve()
    return index_dir.with_name(index_dir.name + ".state.sqlite3")


@contextmanager
def connect(path: Path) -> Iterator[sqlite3.Connection]:
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, timeout=10)
    try:
        conn.execute("PRAGMA foreign_keys = ON")
        conn.executescript(SCHEMA)
        with conn:  # one transaction, committed on success
            yield conn
    finally:
        conn.close()


def new_conversation_id() -> str:
    return uuid.uuid4().hex


class ConversationStore:
    """Turns of each conversation, the newest MAX_TURNS per conversation and the newest MAX_CONVERSATIONS."""

    def __init__(self, path: Path, max_turns: int = MAX_TURNS, max_conversations: int = MAX_CONVERSATIONS) -> None:
        self.path = path
        self.max_turns = max_turns
        self.max_conversations = max_conversations

    def last_topic(self, conversation_id: str) -> dict | None:
        with connect(self.path) as conn:
            row = conn.execute("SELECT topic FROM turns WHERE conversation_id = ? ORDER BY n DESC LIMIT 1",
                               (conversation_id,)).fetchone()
        return json.loads(row[0]) if row else None

    def turns(self, conversation_id: str) -> list[dict]:
        with connect(self.path) as conn:
            rows = conn.execute("SELECT n, question, resolved, answer FROM turns WHERE conversation_id = ? ORDER BY n",
                                (conversation_id,)).fetchall()
        return [{"n": n, "question": q, "resolved_question": r, "answer": json.loads(a)} for n, q, r, a in rows]

    def add_turn(self, conversation_id: str, question: str, resolved: str, answer: dict, topic: dict) -> None:
        now = time.time()
        with connect(self.path) as conn:
            conn.execute("INSERT INTO conversations(id, created, updated) VALUES (?, ?, ?) "
                         "ON CONFLICT(id) DO UPDATE SET updated = excluded.updated", (conversation_id, now, now))
            (n,) = conn.execute("SELECT COALESCE(MAX(n), 0) + 1 FROM turns WHERE conversation_id = ?",
                                (conversation_id,)).fetchone()
            conn.execute("INSERT INTO turns VALUES (?, ?, ?, ?, ?, ?, ?)",
                         (conversation_id, n, question, resolved, json.dumps(answer, ensure_ascii=False),
                          json.dumps(topic, ensure_ascii=False), now))
            conn.execute("DELETE FROM turns WHERE conversation_id = ? AND n <= ?", (conversation_id, n - self.max_turns))
            conn.execute("DELETE FROM conversations WHERE id NOT IN "
                         "(SELECT id FROM conversations ORDER BY updated DESC LIMIT ?)", (self.max_conversations,))

    def count(self) -> tuple[int, int]:
        """(conversations, turns) kept."""
        with connect(self.path) as conn:
            return (conn.execute("SELECT COUNT(*) FROM conversations").fetchone()[0],
                    conn.execute("SELECT COUNT(*) FROM turns").fetchone()[0])
