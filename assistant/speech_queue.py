"""Sentence-by-sentence speech while the answer's text is still streaming."""

from __future__ import annotations

import re

_BOUNDARY = re.compile(r"[.!?…](?=\s)")
# a word that ends in a full stop without ending a sentence
_ABBREVIATIONS = frozenset("mr mrs ms dr st vs etc eg ie jr sr prof no approx".split())
# words that open a clause: a long first sentence may be spoken up to one of them ("... a concept | that ...")
_CLAUSE_OPENERS = frozenset(
    "that which who whom whose because but so when while where although though since until unless whereas".split())
_WORD = re.compile(r"\S+")


class SentenceSplitter:
    """Collects text deltas and hands back each piece worth speaking as soon as it is complete: a
    sentence (short ones join the next), the first clause at its comma so the voice starts sooner,
    and a clause running past `max_chars` at its last comma. The first piece goes as soon as its
    last word ends in a full stop or a comma, without waiting for the word after it to show that
    the mark ends it (a number or an abbreviation does not end it). A first sentence that runs on
    without a mark goes up to the word that opens its next clause ("that", "which", "because"…)
    once `clause_words` words precede it, so a long first sentence does not hold the voice back."""

    def __init__(self, min_chars: int = 12, max_chars: int = 120, clause_words: int = 5) -> None:
        self.min_chars = min_chars
        self.max_chars = max_chars
        self.clause_words = clause_words
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
        if self._first and len(self._buffer) >= self.min_chars and self._ends_on_a_mark():
            return self._cut(len(self._buffer))
        if self._first and (opener := self._clause_opener()) is not None:
            return self._cut(opener)
        return None

    def _clause_opener(self) -> int | None:
        """Where the first clause-opening word after `clause_words` words starts, once that word is
        complete (a space follows it); None if there is none yet."""
        words = list(_WORD.finditer(self._buffer))
        complete = words if self._buffer[-1:].isspace() else words[:-1]
        for index in range(self.clause_words, len(complete)):
            if complete[index].group().lower() in _CLAUSE_OPENERS:
                return complete[index].start()
        return None

    def _ends_on_a_mark(self) -> bool:
        """Whether the text so far ends a sentence or a clause on its last character: a word, then
        `.`, `!`, `?`, `…` or `,` (not "3.", "1,", "Dr.", "J.")."""
        text = self._buffer
        if text[-1] not in ".!?…," or len(text) < 2 or not text[-2].isalpha():
            return False
        word = text[:-1].split()[-1].lower().replace(".", "")
        return text[-1] != "." or (len(word) > 1 and word not in _ABBREVIATIONS)

    def _cut(self, end: int) -> str:
        piece, self._buffer = self._buffer[:end].strip(), self._buffer[end:].lstrip()
        return piece
