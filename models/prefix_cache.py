"""The conversation's KV cache, kept between turns: a turn prefills only what is new.

Each turn's prompt starts with the turns before it, which the previous turn already ran through the
LLM. What the cache holds is known token by token (None where an input was not a token: projected
media), so the next prompt reuses the longest run of tokens the two share and prefills the rest.
One conversation's cache is kept (the last one answered); another conversation, or a prompt that
shares little, prefills in full, exactly as without it.
"""

from __future__ import annotations

import threading

from transformers import DynamicCache

MIN_REUSE = 8  # fewer shared tokens than this are not worth the bookkeeping


class PrefixCache:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cache: DynamicCache | None = None
        self._ids: list[int | None] = []

    def take(self, ids: list[int | None]) -> tuple[DynamicCache, int]:
        """A cache holding the first `start` positions of a prompt whose inputs are `ids`, and `start`
        (0 and a new cache when nothing is shared). The kept cache is handed over, not shared: a
        second generation at the same time starts afresh."""
        with self._lock:
            cache, kept, self._cache, self._ids = self._cache, self._ids, None, []
        shared = 0
        for old, new in zip(kept, ids, strict=False):
            if old is None or old != new:
                break
            shared += 1
        shared = min(shared, len(ids) - 1)  # at least one position is run, for the next token's logits
        if cache is None or shared < MIN_REUSE:
            return DynamicCache(), 0
        extra = cache.get_seq_length() - shared
        if extra > 0:
            cache.crop(-extra)  # (transformers: a negative count removes that many positions from the end)
        return cache, shared

    def keep(self, cache: DynamicCache, ids: list[int | None]) -> None:
        """`cache` now holds the inputs `ids`, in order: the next turn may start from it."""
        with self._lock:
            self._cache, self._ids = cache, list(ids)

    def clear(self) -> None:
        """Forget it (the weights changed: training)."""
        with self._lock:
            self._cache, self._ids = None, []
