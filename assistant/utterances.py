"""Cuts the microphone stream into utterances with Silero VAD (hysteresis on the speech probability).

A processor: AudioChunk frames in, SpeechStarted and Utterance (or NotATurn: too short, or what
the echo canceller left of the answer's echo) frames out; PushToTalk holds a turn open whatever the
VAD hears; EndOfStream sends the utterance in progress.

Speech starts after `start_ms` of windows at or above `start_threshold` and ends after
`stop_silence_ms` of windows below `stop_threshold`. `pad_ms` of audio before the start is kept,
so the first syllable is not clipped. An utterance longer than `max_seconds` is cut there. The VAD
hears each chunk's `samples`. An utterance that starts over the answer's voice, or just after it,
is made of the chunks' audio for words over the echo (`AudioChunk.for_words`, assistant/echo.py),
whatever follows; any other of their `samples`, which nothing has suppressed: Whisper hears a
suppressor's work only where there is echo to suppress.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from models import AudioData, StreamingVad

from .frames import AudioChunk, EndOfStream, Frame, NotATurn, PushToTalk, SpeechPaused, SpeechStarted, Utterance
from .processor import Processor


@dataclass
class VadSettings:
    start_threshold: float = 0.5
    stop_threshold: float = 0.35
    start_ms: int = 96
    stop_silence_ms: int = 600
    pad_ms: int = 200
    min_speech_ms: int = 250
    max_seconds: float = 20.0
    # while the assistant's voice plays and the echo canceller has not settled, what is left of its
    # echo must not start a turn; a person talking over it still does (barge-in), louder and longer
    # than a residue. Once the canceller has settled, speech starts a turn as in silence.
    start_threshold_far_end: float = 0.5
    start_ms_far_end: int = 160
    # where the microphone is louder than the echo alone (AudioChunk.voice_over_echo) a voice over the
    # answer is there, and the canceller may have taken it down: a fainter one in its output starts a turn
    start_threshold_voice_over_echo: float = 0.1
    voice_over_echo_hold_ms: int = 250  # ... for this long after the louder microphone was last heard
    # a voice over the answer's echo can be taken down by the canceller for its first words ("Stop.")
    # and heard only from the next ones: an utterance that starts there, or this soon after the voice
    # last played, keeps more audio before its start (the chunks' audio for words keeps that voice,
    # and what is left of the echo is faint)
    pad_ms_far_end: int = 800
    # a turn whose words look finished ends after a pause this long; one ending on "and", "so", "the"...
    # waits `unfinished_silence_ms`. The words so far are transcribed from `transcribe_pause_ms` of
    # silence on (SpeechPaused), so that they are known, and the model has prefilled its prompt for
    # them (LikelyTurn), by the time the pause is long enough: Whisper and the prefill take about as
    # long as the pause has left. Transcribing sooner costs more Whisper runs, at pauses the user
    # then talks on from.
    pause_ms: int = 320
    transcribe_pause_ms: int = 96
    unfinished_silence_ms: int = 1100
    # an utterance that starts over the answer with less speech than this before a pause ("Stop.",
    # "Wait.") waits `unfinished_silence_ms` too: its voice has paused already, so waiting costs the
    # user nothing, and what they say next ("Stop. What time is it?") joins the same turn, where
    # Whisper hears the short word with its context rather than alone; a short whole question ("What
    # time?") is answered at the usual pause (assistant/live/transcriber.py)
    interjection_ms: int = 800
    # an utterance that starts over the answer, none of whose loud chunks kept more than this much
    # of its energy through the echo canceller (AudioChunk.echo_kept), was what is left of the echo:
    # not a turn. The canceller takes much more than this off each chunk of echo alone, even in its
    # first second, and a voice the speaker did not play keeps most of its energy in some chunk of
    # it (measured in docs/benchmarks.md). Speech that starts within `pad_ms_far_end` after such a
    # drop keeps the dropped audio before it: it may have been a talker's first words, taken down
    # by the canceller like the echo, with the rest of them following
    residue_db: float = -6.0

    @classmethod
    def from_profile(cls, options: dict) -> VadSettings:
        """From a profile's [vad] table (the names faster-whisper's VAD uses, plus pad_ms, max_seconds)."""
        start = float(options.get("threshold", cls.start_threshold))
        return cls(
            start_threshold=start,
            stop_threshold=float(options.get("neg_threshold") or max(0.01, start - 0.15)),
            stop_silence_ms=int(options.get("min_silence_ms", cls.stop_silence_ms)),
            min_speech_ms=int(options.get("min_speech_ms", cls.min_speech_ms)),
            pad_ms=int(options.get("pad_ms", cls.pad_ms)),
            max_seconds=float(options.get("max_seconds", cls.max_seconds)),
            pause_ms=int(options.get("pause_ms", cls.pause_ms)),
            transcribe_pause_ms=int(options.get("transcribe_pause_ms", cls.transcribe_pause_ms)),
            unfinished_silence_ms=int(options.get("unfinished_silence_ms", cls.unfinished_silence_ms)),
            interjection_ms=int(options.get("interjection_ms", cls.interjection_ms)),
            residue_db=float(options.get("residue_db", cls.residue_db)),
        )


class UtteranceSegmenter(Processor):
    RATE = StreamingVad.RATE
    WINDOW = StreamingVad.WINDOW

    def __init__(self, vad: StreamingVad, settings: VadSettings | None = None) -> None:
        super().__init__()
        self.vad = vad
        self.settings = settings or VadSettings()
        window_ms = 1000 * self.WINDOW / self.RATE
        self._start_windows = max(1, round(self.settings.start_ms / window_ms))
        self._start_windows_far_end = max(1, round(self.settings.start_ms_far_end / window_ms))
        self._stop_windows = max(1, round(self.settings.stop_silence_ms / window_ms))
        self._pause_windows = max(1, round(self.settings.pause_ms / window_ms))
        self._transcribe_windows = min(self._pause_windows,
                                       max(1, round(self.settings.transcribe_pause_ms / window_ms)))
        self._unfinished_windows = max(1, round(self.settings.unfinished_silence_ms / window_ms))
        self._interjection_windows = round(self.settings.interjection_ms / window_ms)
        self._pauses = 0  # pauses reported so far; the last one is current while the silence lasts
        self._paused = False  # in a reported pause now (no speech since)
        self._unfinished = False  # the words so far looked unfinished: wait longer
        self._finished = False  # the words so far looked finished: end once the pause is long enough
        self.early_ends = 0  # turns ended at a pause because their words looked finished
        self._voice_over_until = -1.0  # until then (stream seconds) a voice is over the echo: a fainter start
        # the windows that started speech are kept too, however many a start needs, and pad_ms before them
        starts = max(self._start_windows, self._start_windows_far_end)
        self._pad_windows = round(self.settings.pad_ms / window_ms) + starts
        self._pad_windows_far_end = round(max(self.settings.pad_ms, self.settings.pad_ms_far_end) / window_ms) + starts
        # the windows before speech, as the VAD heard them and for words over the echo, each with what
        # its chunk kept through the echo canceller
        self._pad: deque[tuple[np.ndarray, np.ndarray, float | None]] = deque(maxlen=self._pad_windows_far_end)
        self._kept: float | None = None  # the most any loud chunk of the utterance kept through the canceller
        self.residues = 0  # utterances over the answer that were its echo's residue
        self._samples = np.zeros(0, np.float32)
        self._words = np.zeros(0, np.float32)  # the same stretch, as Whisper is to hear it over the echo
        self._speech: list[np.ndarray] = []
        self._over_echo = False  # the utterance is made of the audio for words over the echo
        self._heard_from = 0  # where in _speech the VAD's start began (what is before it is padding)
        self._over_answer = False  # the utterance started while the assistant's voice played
        self._dropped: list[np.ndarray] = []  # the last utterance dropped as the echo's residue ...
        self._dropped_at = -float("inf")  # ... and when
        self._echo_heard_at = -float("inf")  # when a window was last heard with the answer's voice playing
        self._speaking = False
        self._run = 0  # consecutive windows agreeing with a change of state
        self._clock = 0.0  # seconds of audio seen
        self._start_at = 0.0
        self._held = False  # push-to-talk: everything is speech while held

    async def process(self, frame: Frame) -> None:
        if isinstance(frame, AudioChunk):
            found = self._cut(frame)
        elif isinstance(frame, PushToTalk):
            found = self._hold(frame.pressed)
        elif isinstance(frame, EndOfStream):
            found = self._flush()
        else:
            found = iter(())
        for speech in found:
            await self.push(speech)
        if not isinstance(frame, AudioChunk):  # the audio itself ends here; anything else goes on
            await self.push(frame)

    def _cut(self, chunk: AudioChunk) -> Iterator[Frame]:
        """Feeds 16 kHz mono audio; yields SpeechStarted and Utterance frames as they happen. The
        VAD runs here on the loop: a window is a few hundred multiply-adds of a tiny network."""
        if chunk.rate != self.RATE:
            raise ValueError(f"the VAD needs {self.RATE} Hz audio, got {chunk.rate} Hz")
        words = chunk.heard_for_words
        if len(words) != len(chunk.samples):
            raise ValueError("a chunk's audio for words must be as long as its samples")
        self._samples = np.concatenate([self._samples, chunk.samples])
        self._words = np.concatenate([self._words, words])
        usable = len(self._samples) - len(self._samples) % self.WINDOW
        windows, self._samples = self._samples[:usable], self._samples[usable:]
        for_words, self._words = self._words[:usable], self._words[usable:]
        for index, probability in enumerate(self.vad.probabilities(windows)):
            span = slice(index * self.WINDOW, (index + 1) * self.WINDOW)
            self._clock += self.WINDOW / self.RATE
            yield from self._step(windows[span], for_words[span], probability, chunk)

    def _step(self, window: np.ndarray, words: np.ndarray, probability: float, chunk: AudioChunk) -> Iterator[Frame]:
        """One VAD window of `chunk`: `window` as the VAD heard it (with its speech `probability`),
        `words` the same for words over the echo."""
        s = self.settings
        echo_left = chunk.far_end and not chunk.echo_settled
        if chunk.far_end:
            self._echo_heard_at = self._clock
        if not self._speaking:
            self._pad.append((window, words, chunk.echo_kept))
            if chunk.voice_over_echo:
                self._voice_over_until = self._clock + s.voice_over_echo_hold_ms / 1000
            threshold = (s.start_threshold_far_end if echo_left
                         else s.start_threshold_voice_over_echo if self._clock <= self._voice_over_until
                         else s.start_threshold)
            self._run = self._run + 1 if probability >= threshold else 0
            if self._run >= (self._start_windows_far_end if echo_left else self._start_windows):
                # what was just dropped as the echo's residue, and everything since, may be the same
                # voice going on (a talker's "Excuse me" the canceller took down like the echo)
                joined = bool(self._dropped) and self._within_pad(self._dropped_at)
                # the longer pad where the answer's voice played within it: a talker whose first words
                # the canceller took down may be heard only once the voice has paused
                self._over_echo = joined or self._within_pad(self._echo_heard_at)
                if joined:
                    padded = [(dropped, dropped, None) for dropped in self._dropped] + list(self._pad)
                else:
                    padded = list(self._pad)[-(self._pad_windows_far_end if self._over_echo else self._pad_windows):]
                self._dropped = []
                self._speech = self._heard_as(padded)
                self._heard_from, self._over_answer = len(self._speech) - self._run, chunk.far_end
                self._kept = _most([kept for _, _, kept in padded])
                self._speaking, self._run = True, 0
                self._start_at = self._clock - len(self._speech) * self.WINDOW / self.RATE
                yield SpeechStarted(at=self._start_at)
            return
        self._speech.append(words if self._over_echo else window)
        self._kept = _most([self._kept, chunk.echo_kept])
        silent = probability < s.stop_threshold and not self._held
        self._run = self._run + 1 if silent else 0
        if not silent:
            self._paused = self._unfinished = self._finished = False
        elif self._run == self._transcribe_windows and self._residue():
            yield from self._close()  # nothing to transcribe: the answer's voice goes on sooner
            return
        elif self._run == self._transcribe_windows and s.pause_ms < s.stop_silence_ms:
            self._pauses += 1
            self._paused = True
            self._unfinished = self._interjection()
            yield SpeechPaused(AudioData(np.concatenate(self._speech), self.RATE), self._pauses)
        if self._finished and self._run >= self._pause_windows:
            self.early_ends += 1
            yield from self._close()
            return
        too_long = len(self._speech) * self.WINDOW / self.RATE >= s.max_seconds
        if self._run >= (self._unfinished_windows if self._unfinished else self._stop_windows) or too_long:
            yield from self._close()

    def _within_pad(self, at: float) -> bool:
        """Whether `at` (stream seconds: the answer's voice last heard, an utterance last dropped)
        lies within the longer pad (`pad_ms_far_end`) before now."""
        return self._clock - at <= self.settings.pad_ms_far_end / 1000

    def _heard_as(self, padded: list[tuple[np.ndarray, np.ndarray, float | None]]) -> list[np.ndarray]:
        """The windows of `padded` (as the VAD heard them, for words over the echo, kept) as the
        utterance is made of them."""
        return [words if self._over_echo else heard for heard, words, _ in padded]

    def _residue(self) -> bool:
        """Whether what is heard so far started over the answer and is what is left of its echo."""
        return self._over_answer and self._kept is not None and self._kept < 10 ** (self.settings.residue_db / 10)

    def _interjection(self) -> bool:
        """Whether what is heard so far is a short word or two said over the answer ("Stop.")."""
        spoken = len(self._speech) - self._heard_from - self._run
        return self._over_answer and spoken < self._interjection_windows

    @property
    def speaking(self) -> bool:
        """Whether an utterance is being heard now (or held open by push-to-talk)."""
        return self._speaking

    def _still_in(self, pause: int) -> bool:
        """Whether the utterance is still silent in `pause` (the user has not gone on talking)."""
        return self._speaking and self._paused and pause == self._pauses

    def end_at_pause(self, pause: int) -> Utterance | NotATurn | None:
        """The words of `pause` looked finished: the turn ends now if the silence has lasted
        `pause_ms` (the utterance, what was heard up to now, or NotATurn where it was too short or
        the echo's residue), else once it has (the Utterance then comes out of the stream, with this
        pause); None when the user has gone on talking since, or when the turn waits a longer
        silence (`waits_longer`)."""
        if not self._still_in(pause) or self._unfinished:
            return None
        if self._run < self._pause_windows:
            self._finished = True
            return None
        self.early_ends += 1
        return next(self._close(), None)

    def waits_longer(self, pause: int) -> bool:
        """Whether the turn waits `unfinished_silence_ms` at `pause` whatever its words: a short
        interjection over the answer ("Stop."), or words that looked unfinished."""
        return self._still_in(pause) and self._unfinished

    def hear_out(self, pause: int) -> None:
        """The words of `pause` are a whole question, though short and said over the answer ("What
        time?"): the turn ends at the usual pause, not after `unfinished_silence_ms`."""
        if self._still_in(pause):
            self._unfinished = False

    def wait_longer(self, pause: int) -> None:
        """The words of `pause` looked unfinished ("... and"): the turn waits a longer silence."""
        if self._still_in(pause):
            self._unfinished = True

    def _hold(self, held: bool) -> Iterator[Frame]:
        """Push-to-talk: pressing starts an utterance whatever the VAD says; releasing ends it."""
        self._held = held
        if held:  # the user's own turn, whatever the VAD took it for: no residue, no waiting for more
            self._over_answer = False
        if held and not self._speaking:
            self._speaking, self._run = True, 0
            self._over_echo = self._within_pad(self._echo_heard_at)
            self._speech = self._heard_as(list(self._pad)[-self._pad_windows:])
            self._heard_from = len(self._speech)
            self._start_at = self._clock - len(self._speech) * self.WINDOW / self.RATE
            yield SpeechStarted(at=self._start_at)
        elif not held and self._speaking:
            yield from self._close()

    def _close(self) -> Iterator[Frame]:
        samples = np.concatenate(self._speech) if self._speech else np.zeros(0, np.float32)
        pause = self._pauses if self._paused else 0
        self._speaking, self._run, speech, self._speech = False, 0, self._speech, []
        self._paused = self._unfinished = self._finished = False
        self._pad.clear()
        if len(samples) * 1000 / self.RATE < self.settings.min_speech_ms:
            yield NotATurn("too short")
        elif self._residue():
            self.residues += 1
            # it may be a voice that goes on (_step). Kept: what a short word over the answer and its
            # pre-roll take, so that a run of dropped residues does not grow into the next utterance
            self._dropped = speech[-(self._pad_windows_far_end + self._interjection_windows):]
            self._dropped_at = self._clock
            yield NotATurn("echo residue")
        else:
            yield Utterance(audio=AudioData(samples, self.RATE), start=self._start_at, end=self._clock, pause=pause)

    def _flush(self) -> Iterator[Frame]:
        """At the end of the stream: the utterance in progress, if any."""
        if self._speaking:
            yield from self._close()


def _most(values: list[float | None]) -> float | None:
    """The largest of `values` that are known; None if none is."""
    known = [value for value in values if value is not None]
    return max(known) if known else None
