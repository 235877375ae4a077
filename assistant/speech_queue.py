"""Sentence-by-sentence speech while the answer's text is still streaming."""

from __future__ import annotations

import re

_BOUNDARY = re.compile(r"[.!?…](?=\s)")


class SentenceSplitter:
    """Collects text deltas and hands back each piece worth speaking as soon as it is complete: a
    sentence (short ones join the next), the first clause at its comma so the voice starts sooner,
    and a clause running past `max_chars` at its last comma."""

    def __init__(self, min_chars: int = 12, max_chars: int = 120) -> None:
        self.min_chars = min_chars
        self.max_chars = max_chars
        self._buffer = ""
        self._first = True

    def feed(self, delta: str) -> list[str]:
        self._buffer += delta
        pieces = []
        while (piece := self._next_piece()) is not None:
            pieces.append(piece)
            self._first = False
        return pieces

    def flush(self) -> str:
        rest, self._buffer = self._buffer.strip(), ""
        return rest

    def _next_piece(self) -> str | None:
        for boundary in _BOUNDARY.finditer(self._buffer):
            if boundary.end() >= self.min_chars:
                return self._cut(boundary.end())
        if self._first or len(self._buffer) >= self.max_chars:
            comma = self._buffer.find(", ", self.min_chars) if self._first else self._buffer.rfind(", ")
            if comma >= self.min_chars:
                return self._cut(comma + 1)
        return None

    def _cut(self, end: int) -> str:
        piece, self._buffer = self._buffer[:end].strip(), self._buffer[end:].lstrip()
        return piece
