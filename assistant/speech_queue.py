"""Sentence-by-sentence speech while the answer's text is still streaming."""

from __future__ import annotations

import re

_BOUNDARY = re.compile(r"[.!?…](?=\s)")
# a word that ends in a full stop without ending a sentence
_ABBREVIATIONS = frozenset("mr mrs ms dr st vs etc eg ie jr sr prof no approx".split())
# words a sentence may pause before, after a content word: the first piece may end there ("The
# capital of France | is Paris.", "Bees make honey | from the nectar of flowers.")
_PHRASE_OPENERS = frozenset(
    # clauses
    "that which who whom whose because but so when while where although though since until unless whereas if "
    "and or "
    # prepositions
    "of in on at to for with from by about into onto over under after before between through during without "
    "within like as than "
    # verbs after a subject
    "is are was were has have had".split())
# words a piece should not end on: the phrase they start is not said yet ("The red and | the blue")
_LEANING = _PHRASE_OPENERS | frozenset(
    "the a an my your his her its our their this these those some any each every no not "
    "i you he she it we they me him us them there here be been being do does did will would can could shall "
    "should may might must am".split())
_WORD = re.compile(r"\S+")


class SentenceSplitter:
    """Collects text deltas and hands back each piece worth speaking as soon as it is complete: a
    sentence (short ones join the next), the first clause at its comma so the voice starts sooner,
    and a clause running past `max_chars` at its last comma. The first piece goes as soon as its
    last word ends in a full stop or a comma, without waiting for the word after it to show that
    the mark ends it (a number or an abbreviation does not end it).

    The first piece is what the user waits for, and each word of it costs a model step before the
    voice can start; so a first sentence goes only up to its first phrase break once `phrase_words`
    words precede it: the word that opens a phrase ("is", "of", "that"…) after a word that does not
    lean on what follows ("the", "we", "can"…). The break is taken as soon as that word begins (the
    cut is before it, whatever it turns out to be). Past `first_words` words without such a break,
    the first piece ends before the next word that follows a content word."""

    def __init__(self, min_chars: int = 12, max_chars: int = 120, phrase_words: int = 3,
                 first_words: int = 8) -> None:
        self.min_chars = min_chars
        self.max_chars = max_chars
        self.phrase_words = phrase_words
        self.first_words = first_words
        self._buffer = ""
        self._first = True
        self._broken = False  # the last piece ended at a phrase break: the rest of its sentence goes at its end

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
        shortest = 1 if self._broken else self.min_chars  # the rest of a broken sentence goes, however short
        for boundary in _BOUNDARY.finditer(self._buffer):
            if boundary.end() >= shortest:
                return self._cut(boundary.end())
        if self._first or len(self._buffer) >= self.max_chars:
            comma = self._buffer.find(", ", self.min_chars) if self._first else self._buffer.rfind(", ")
            if comma >= self.min_chars:
                return self._cut(comma + 1)
        if (self._first or self._broken) and len(self._buffer) >= shortest and self._ends_on_a_mark():
            return self._cut(len(self._buffer))
        if self._first and (brk := self._phrase_break()) is not None:
            piece = self._cut(brk)
            self._broken = True
            return piece
        return None

    def _phrase_break(self) -> int | None:
        """Where the first piece may end before its sentence does: the start of the first word
        after `phrase_words` words that opens a phrase, or of any word past `first_words` words,
        when the word before it does not lean on it; None if there is none yet."""
        words = list(_WORD.finditer(self._buffer))
        for index in range(self.phrase_words, len(words)):
            before = words[index - 1].group().lower()
            if not before[-1:].isalnum() or before in _LEANING:
                continue
            word = words[index].group().lower()
            if word in _PHRASE_OPENERS or index >= self.first_words:
                if words[index - 1].end() >= self.min_chars:
                    return words[index].start()
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
        self._broken = False
        piece, self._buffer = self._buffer[:end].strip(), self._buffer[end:].lstrip()
        return piece
