"""Sentence-by-sentence speech while the answer's text is still streaming."""

from __future__ import annotations

import re

_SENTENCE_END = re.compile(r"(.+?[.!?…])(\s+)", re.DOTALL)


class SentenceSplitter:
    """Collects text deltas and hands back each sentence as soon as it is complete."""

    def __init__(self, min_chars: int = 12) -> None:
        self.min_chars = min_chars
        self._buffer = ""

    def feed(self, delta: str) -> list[str]:
        self._buffer += delta
        sentences = []
        while True:
            match = _SENTENCE_END.match(self._buffer)
            if match is None:
                return sentences
            sentence = match.group(1).strip()
            if len(sentence) < self.min_chars and "\n" not in match.group(2):
                # too short to speak alone ("Hi." "Dr."): wait for more unless the line ended
                nxt = _SENTENCE_END.match(self._buffer, match.end())
                if nxt is None:
                    return sentences
                sentence = (sentence + " " + nxt.group(1).strip()).strip()
                self._buffer = self._buffer[nxt.end():]
            else:
                self._buffer = self._buffer[match.end():]
            sentences.append(sentence)

    def flush(self) -> str:
        rest, self._buffer = self._buffer.strip(), ""
        return rest
