"""Short-lived in-process memos for hot, rarely-changing lookups (tenant by slug, a tenant's active
signing key id, its scope catalogue).

Each process keeps an entry for at most `ttl` seconds; the process that makes a change forgets the
entry at once, others within `ttl`. Use only where that delay is harmless: e.g. a rotated-out key
stays published, so a token it signs a few seconds late still verifies.
"""

import threading
import time
from collections.abc import Callable, Hashable
from typing import Any

from django.db import transaction

_ALL: list["TTLMemo"] = []


class TTLMemo:
    def __init__(self, ttl: float, max_entries: int = 10_000):
        self.ttl, self.max_entries = ttl, max_entries
        self._entries: dict[Hashable, tuple[float, Any]] = {}
        self._lock = threading.Lock()
        _ALL.append(self)

    def get(self, key: Hashable, compute: Callable[[], Any]) -> Any:
        now = time.monotonic()
        entry = self._entries.get(key)
        if entry is not None and entry[0] > now:
            return entry[1]
        value = compute()
        with self._lock:
            if len(self._entries) >= self.max_entries:
                self._entries.clear()
            self._entries[key] = (now + self.ttl, value)
        return value

    def forget(self, key: Hashable) -> None:
        with self._lock:
            self._entries.pop(key, None)

    def forget_changed(self, key: Hashable) -> None:
        """Call inside the transaction that changes the value: forgets now, and again on commit
        (a concurrent request may have memoised the old value in between)."""
        self.forget(key)
        transaction.on_commit(lambda: self.forget(key))

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


def clear_all() -> None:
    """Forget everything (tests start from a clean slate)."""
    for memo in _ALL:
        memo.clear()
