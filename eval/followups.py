"""Follow-up accuracy: two-turn conversations, the second turn resolved against the first and answered.

    python -m eval.followups [--gold eval/conversations/followups.jsonl] [--out var/eval/followups.jsonl]

Scored like the gold set (eval/metrics.answer_correct) on the follow-up's answer; the split of a conversation
is eval/splits.split_of(id). Beside it, the follow-up asked alone (no conversation) as the floor.
"""
from __future__ import annotations

import argparse
import json
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from ingest.normalize import compact

from .metrics import answer_correct
from .splits import split_of

DEFAULT_GOLD = Path(__file__).resolve().parent / "conversations" / "followups.jsonl"


@dataclass(frozen=True)
class Conversation:
    id: str
    first: str
    follow_up: str
    standalone: bool
    must_include: list[str]
    accept_any: list[str]
    file: str
    page: int | None
    mentions: list[str]
    first_file: str

    @property
    def split(self) -> str:
        return split_of(self.id)


def load_conversations(path: Path = DEFAULT_GOLD) -> list[Conversation]:
    with open(path, encoding="utf-8") as fh:
        return [Conversation(**json.loads(line)) for line in fh if line.strip()]


def resolution_ok(conv: Conversation, resolved: str, follow_up: bool) -> bool:
    """Taken as a follow-up exactly when it is one, and the standalone question names what the gold says it must."""
    text = compact(resolved).lower()
    return follow_up != conv.standalone and all(compact(m).lower() in text for m in conv.mentions)


def run(engine, conversations: list[Conversation]) -> list[dict]:
    from app.conversation import Conversations

    talk = Conversations(engine, store=None)
    rows = []
    for conv in conversations:
        _, _, topic = talk.turn(conv.first, None)
        answer, resolution, _ = talk.turn(conv.follow_up, topic)
        alone = engine.ask(conv.follow_up)
        cited = any(c.file == conv.file and (conv.page is None or c.page == conv.page) for c in answer.citations)
        rows.append({
            "id": conv.id, "split": conv.split, "first": conv.first, "follow_up": conv.follow_up,
            "resolved": resolution.resolved, "follow_up_detected": resolution.follow_up,
            "resolution_ok": resolution_ok(conv, resolution.resolved, resolution.follow_up),
            "answer": answer.answer, "abstained": answer.abstained, "cited_gold_page": cited,
            "correct": answer_correct(answer.answer, answer.abstained, True, conv.must_include, conv.accept_any),
            "alone_correct": answer_correct(alone.answer, alone.abstained, True, conv.must_include, conv.accept_any),
        })
    return rows


def summary(rows: list[dict]) -> dict[str, dict[str, float]]:
    groups: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        groups[r["split"]].append(r)
        groups["all"].append(r)
    out = {}
    for name in ("train", "dev", "test", "all"):
        g = groups.get(name, [])
        if g:
            out[name] = {"n": len(g), **{k: round(sum(r[k] for r in g) / len(g), 3)
                                         for k in ("correct", "alone_correct", "resolution_ok", "cited_gold_page")}}
    return out


def main(argv: list[str] | None = None) -> int:
    from app.config import Settings
    from app.engine import Engine

    parser = argparse.ArgumentParser(description="follow-up accuracy over two-turn conversations")
    parser.add_argument("--gold", type=Path, default=DEFAULT_GOLD)
    parser.add_argument("--out", type=Path, default=Path("var/eval/followups.jsonl"))
    args = parser.parse_args(argv)
    rows = run(Engine(Settings()), load_conversations(args.gold))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    for r in rows:
        if not r["correct"]:
            print(f"✗ {r['id']} {r['follow_up']} -> {r['resolved']} => {r['answer'][:80]}")
    print(json.dumps(summary(rows), ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
