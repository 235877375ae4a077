"""Whisper on a window fitted to the clip, instead of its fixed 30 s.

Whisper pads every clip to 30 s, so its encoder costs the same for "Stop." as for a 30 s
paragraph, and on two CPU cores that fixed cost is most of a spoken turn's transcription. The
CTranslate2 encoder takes shorter input: the clip plus a few seconds of padding is enough for the
decoder to see where the speech ends. On a window that short, Whisper tends to start the clip
over once it has said it, so decoding runs with timestamps and keeps only the sentences that lie
inside the clip, up to the first sentence that repeats an earlier one (or its start), and within a
sentence a word or phrase said over and over ("stop, stop, stop, stop, ...") only once; a clip
Whisper itself judges to hold no speech gives no words, as faster-whisper's own decoding does. Greedy decoding: beam
search on a fitted window favours those repeats. The figures of both windows, side by side, are
in docs/benchmarks.md (`bench/asr_window.py`).
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

PAD_S = 3.0  # silence after the clip: the decoder sees the speech end
FRAMES_PER_S = 100  # Whisper's log-mel frames
MAX_FRAMES = 3000  # Whisper's whole window (30 s)
NO_SPEECH = 0.6  # Whisper's own test: no speech when its no-speech probability is over this ...
LOW_LOGPROB = -1.0  # ... and the words' mean log-probability under this (a "Thank you." heard in noise)
TOKENS_PER_S = 15  # a bound well above fast speech's tokens a second, so a runaway decode stops
LOOP_REPEATS = 4  # a word or phrase (up to LOOP_WORDS words) this many times in a row is a decoding loop
LOOP_WORDS = 4


def _words(text: str) -> list[str]:
    return re.findall(r"[\w']+", text.lower())


def without_loops(sentence: str) -> str:
    """`sentence` with each run of a word or phrase said `LOOP_REPEATS` or more times in a row cut
    to its first time: on a short window Whisper can fall into saying a word again until its token
    limit ("Stop, stop, stop, ..." for one "Stop." heard over the echo). A person may say a word
    twice or three times; the run is cut only past that, and what follows the run is kept."""
    spans = [match.span() for match in re.finditer(r"[\w']+", sentence)]
    words = [sentence[start:end].lower() for start, end in spans]
    for size in range(1, LOOP_WORDS + 1):
        for first in range(len(words) - size * LOOP_REPEATS + 1):
            phrase = words[first:first + size]
            times = 1
            while words[first + times * size:first + (times + 1) * size] == phrase:
                times += 1
            if times >= LOOP_REPEATS:
                once = spans[first + size - 1][1]  # where the phrase's first time ends
                end = first + times * size  # the first word after the run
                if end < len(spans):  # joined as the first and second times were
                    cut = sentence[:once] + sentence[once:spans[first + size][0]] + sentence[spans[end][0]:]
                else:
                    cut = sentence[:once] + sentence[spans[end - 1][1]:].lstrip(",;: ")
                return without_loops(cut)
    return sentence


class FittedWindow:
    """Greedy Whisper decoding over the clip plus `PAD_S`; `None` for a clip that fills the whole window."""

    def __init__(self, whisper: Any, language: str) -> None:
        from faster_whisper.tokenizer import Tokenizer
        from faster_whisper.transcribe import get_suppressed_tokens

        self.whisper = whisper
        self.tokenizer = Tokenizer(whisper.hf_tokenizer, whisper.model.is_multilingual, task="transcribe",
                                   language=language)
        self.prompt = whisper.get_prompt(self.tokenizer, [], without_timestamps=False)
        self.suppress = list(get_suppressed_tokens(self.tokenizer, [-1]))

    def transcribe(self, samples: np.ndarray, rate: int) -> list[str] | None:
        """The sentences heard in `samples`, in order; None when the clip does not fit the window."""
        seconds = len(samples) / rate
        features = self.whisper.feature_extractor(samples, chunk_length=30)
        frames = features.shape[1]
        width = frames + int(PAD_S * FRAMES_PER_S)
        width += width % 2  # the encoder's stride-2 convolution
        if width > MAX_FRAMES:
            return None
        floor = float(features[:, -1].min())  # what the extractor gives silence
        window = np.pad(features, ((0, 0), (0, width - frames)), constant_values=floor)
        encoded = self.whisper.encode(np.ascontiguousarray(window, dtype=np.float32))
        result = self.whisper.model.generate(
            encoded, [self.prompt], beam_size=1, max_length=min(224, int(seconds * TOKENS_PER_S) + 10),
            suppress_blank=True, suppress_tokens=self.suppress, max_initial_timestamp_index=50,
            return_scores=True, return_no_speech_prob=True,
        )
        tokens = result[0].sequences_ids[0]
        mean_logprob = result[0].scores[0] * len(tokens) / (len(tokens) + 1)  # as faster-whisper reckons it
        if result[0].no_speech_prob > NO_SPEECH and mean_logprob < LOW_LOGPROB:
            return []
        return self._segments(tokens, seconds)

    def _segments(self, tokens: list[int], seconds: float) -> list[str]:
        """The decoded sentences that lie inside the clip, up to the first one said again."""
        kept: list[str] = []
        current: list[int] = []

        def close() -> bool:
            """Keeps the sentences of the segment so far; False at the first one said again."""
            text = self.tokenizer.decode(current)
            current.clear()
            for sentence in re.findall(r"[^.?!]+[.?!]*", text):
                sentence = without_loops(sentence)
                words = _words(sentence)
                if any(_words(earlier)[:len(words)] == words for earlier in kept):  # said again, or its start
                    return False
                if words:
                    kept.append(sentence.strip())
            return True

        first_timestamp = self.tokenizer.timestamp_begin
        for token in tokens:
            if token >= first_timestamp:
                if current and not close():
                    return kept
                if (token - first_timestamp) * 0.02 > seconds + 0.1:
                    return kept
            elif token < self.tokenizer.eot:
                current.append(token)
        if current:
            close()
        return kept
