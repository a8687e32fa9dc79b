"""Fixed train/dev/test split of gold items, decided by the item id alone.

``b = int(sha1(id).hexdigest(), 16) % 10``: b 0-5 → train, 6-7 → dev, 8-9 → test (about 60/20/20).
The rule needs no stored assignment, so an item keeps its split when files are merged, reordered or
extended, and the test split stays unseen while thresholds are tuned on train and dev.
"""
from __future__ import annotations

import hashlib

SPLITS = ("train", "dev", "test")
ALL = "all"


def split_of(item_id: str) -> str:
    """The split of one item id: "train", "dev" or "test"."""
    b = int(hashlib.sha1(item_id.encode()).hexdigest(), 16) % 10
    if b <= 5:
        return "train"
    if b <= 7:
        return "dev"
    return "test"
