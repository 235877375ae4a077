"""The conversation's KV cache, kept between turns: a turn prefills only what is new.

Each turn's prompt starts with the turns before it, which the previous turn already ran through the
LLM. What the cache holds is known token by token (None where an input was not a token: projected
media), so the next prompt reuses the longest run of tokens the two share and prefills the rest.
One conversation's cache is kept (the last one answered); another conversation, or a prompt that
shares little, prefills in full, exactly as without it. A prompt run ahead of its turn (`prefill`)
is kept with its last position's logits, so that turn, when it comes as guessed, runs nothing
before its first token.
"""

from __future__ import annotations

import threading

import torch
from transformers import DynamicCache

MIN_REUSE = 8  # fewer shared tokens than this are not worth the bookkeeping


class PrefixCache:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cache: DynamicCache | None = None
        self._ids: list[int | None] = []
        self._logits: torch.Tensor | None = None  # after the last of `_ids`, when kept with them

    def take(self, ids: list[int | None]) -> tuple[DynamicCache, int, torch.Tensor | None]:
        """A cache holding the first `start` positions of a prompt whose inputs are `ids`, `start`
        (0 and a new cache when nothing is shared), and the logits after the whole prompt when the
        cache holds all of it (else None: at least its last position is still to run). The kept
        cache is handed over, not shared: a second generation at the same time starts afresh."""
        with self._lock:
            cache, kept, logits = self._cache, self._ids, self._logits
            self._cache, self._ids, self._logits = None, [], None
        if cache is not None and logits is not None and kept == list(ids):
            return cache, len(kept), logits
        shared = 0
        for old, new in zip(kept, ids, strict=False):
            if old is None or old != new:
                break
            shared += 1
        shared = min(shared, len(ids) - 1)  # at least one position is run, for the next token's logits
        if cache is None or shared < MIN_REUSE:
            return DynamicCache(), 0, None
        extra = cache.get_seq_length() - shared
        if extra > 0:
            cache.crop(-extra)  # (transformers: a negative count removes that many positions from the end)
        return cache, shared, None

    def keep(self, cache: DynamicCache, ids: list[int | None], logits: torch.Tensor | None = None) -> None:
        """`cache` now holds the inputs `ids`, in order: the next turn may start from it. `logits`:
        what came after the last of them, for a turn whose prompt is exactly `ids`."""
        with self._lock:
            self._cache, self._ids, self._logits = cache, list(ids), logits

    def clear(self) -> None:
        """Forget it (the weights changed: training)."""
        with self._lock:
            self._cache, self._ids, self._logits = None, [], None
