"""Acoustic echo cancellation: the microphone cleaned of what the speaker plays.

`EchoReference` holds what the speaker plays (the far end), at 16 kHz, in the order it is played:
the player adds each block as it writes it. `EchoCanceller`, a processor before the VAD, takes one
10 ms frame of it for every 10 ms of microphone and runs WebRTC's AEC3 (with a high-pass filter)
through livekit's `AudioProcessingModule`, so the VAD and Whisper hear the room, not the assistant.
Each chunk is marked `far_end` while the assistant's voice plays, and `echo_settled` once the
canceller removes the room's echo well: the median reduction over the last two seconds of echo at
least `SETTLED_DB`, and over the first half second of echo of a voice that began after a silence
(on a PulseAudio loop AEC3 let the loud start of an answer through after a quiet spell, though it
had settled on the answer before). Until then (the first second or so of a session's first answer,
the start of each later one, or after the room changes) what is left of the echo can sound like
speech, and the VAD needs a stronger, longer voice to start a turn; once settled it starts on a
user's voice as quickly as in silence. Chunks where the microphone is louder than the echo alone
would be are marked `voice_over_echo` (assistant/double_talk.py): there a fainter voice in the
cleaned audio starts a turn, since AEC3 takes the start of a voice over the echo down with the
echo. For the same reason Whisper does not hear AEC3's output but a linear filter's
(assistant/linear_echo.py), run on the same frames: it leaves more of the echo and all of that
voice (`AudioChunk.for_words`), its reference read back to where the echo's direct sound lies, as
measured (assistant/echo_drift.py): a short filter then spans the room and converges soon, and it
follows the echo where the speaker's and the microphone's clocks drift apart. It does so only once
the lag is known and the linear filter removes the echo well (`LaggedLinearEcho.heard`, over its
recent frames of echo alone): until it has converged, or where it cannot follow the room, what it
leaves of the echo would be words in the user's turn, and Whisper hears AEC3's output instead.
Either goes through WebRTC's noise suppressor (a second `AudioProcessingModule`, without echo
cancellation) before Whisper hears it: in the simulated room it lost fewer of a talker's words over
the echo. It serves only speech over or just after the answer's voice (assistant/utterances.py):
where there is no echo there is nothing to gain, and on some voices Whisper tiny.en misheard a
little more through it. Each chunk says how much of the microphone's energy the canceller kept
(`echo_kept`): most of a voice, a small part of the echo, so the segmenter can tell an utterance of
echo residue from a voice.

Without the canceller (livekit cannot load, or it fails), the session goes half-duplex: while the
assistant speaks the microphone is muted, so it cannot interrupt itself, and it says so once.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import deque
from collections.abc import Callable

import numpy as np

from .double_talk import ECHO_ONLY, LouderThanEcho
from .echo_drift import EchoLag
from .frames import AudioChunk, Frame, SourceStatus
from .linear_echo import LaggedLinearEcho, LinearEcho, int16, median_under
from .processor import Processor

log = logging.getLogger(__name__)

RATE = 16000
FRAME = RATE // 100  # AEC3 works on 10 ms frames
SETTLED_DB = -15.0  # echo reduction (median) that makes the canceller settled
SETTLED_FRAMES = 100  # ... over at least this many 10 ms frames with echo in them
ANSWER_FRAMES = 50  # ... and over this many of the answer playing now, if it began after a silence
# a sound card's reference is fed this far ahead of its microphone: where the device's stated
# times are off (a PulseAudio loop's echo came 90-100 ms before the card said it sounds, against
# the microphone's stated latency), the echo still follows its reference, and AEC3 finds the delay
# itself (checked up to 450 ms). That is further than the card pulls ahead of the microphone (it
# pulls 40 ms ahead of sounding): a chunk waits for its reference to be known (`wait_for`), else
# the canceller would see silence where the speaker played (4.5% of the frames, at 150 ms without
# waiting; at 100 ms none, but the echo then followed its reference by 0-10 ms). The player sets it.
DEVICE_LEAD_S = 0.15
MAX_WAIT_S = 0.06  # the longest a microphone chunk waits for its reference to be known
PULL_STALE_S = 0.1  # a card that has not pulled for this long is not playing
ECHO_FLOOR = 1e-4  # a frame's mean square above this (-40 dBFS) has echo to measure, not just noise


class EchoReference:
    """The far end: what the speaker played and when (16 kHz mono float32, on `clock`), kept for
    `max_seconds`; thread-safe. A microphone frame is cancelled against what played at the time
    it was recorded, so a pipeline that falls behind its microphone does not shift the two apart."""

    def __init__(self, max_seconds: float = 3.0, hold_s: float = 0.5, clock: Callable[[], float] = time.monotonic,
                 lead_s: float = 0.0):
        self.max_seconds = max_seconds
        self.lead_s = lead_s  # the canceller takes what plays this much after each microphone frame
        self.hold_s = hold_s  # the room still rings this long after the last sample played
        self.clock = clock
        self._lock = threading.Lock()
        self._played: deque[tuple[float, np.ndarray]] = deque()  # (when it started playing, samples)
        self._pulled_until = self._pulled_at = -float("inf")  # how far the card has taken it, and when it said so

    def add(self, samples: np.ndarray, at: float | None = None) -> None:
        """The speaker plays `samples` from `at` (now, by default): the player calls it as it writes."""
        at = self.clock() if at is None else at
        with self._lock:
            self._played.append((at, samples.astype(np.float32, copy=False)))
            while self._played and self._played[0][0] < at - self.max_seconds:
                self._played.popleft()

    def pulled(self, until: float) -> None:
        """The sound card has taken everything that sounds before `until` (silence included): the
        player calls it from every callback, so the canceller knows how far the reference is known."""
        self._pulled_until = until
        self._pulled_at = self.clock()

    def wait_for(self, until: float) -> float:
        """Seconds to wait before the reference is known up to `until`: 0 where it already is, or
        where no card is pulling it now (a simulated room adds it as it plays)."""
        if self.clock() - self._pulled_at > PULL_STALE_S:
            return 0.0
        return min(MAX_WAIT_S, max(0.0, until - self._pulled_until))

    def take(self, count: int, at: float) -> np.ndarray:
        """The `count` samples that played from `at` on (silence where nothing did)."""
        out = np.zeros(count, np.float32)
        with self._lock:
            for started, samples in self._played:
                offset = round((started - at) * RATE)  # where this block lands in `out`
                first, last = max(0, offset), min(count, offset + len(samples))
                if first < last:
                    out[first:last] = samples[first - offset:last - offset]
        return out

    @property
    def active(self) -> bool:
        """Whether the assistant's voice is playing, or was until moments ago."""
        now = self.clock()
        with self._lock:
            return bool(self._played) and self._played[-1][0] + len(self._played[-1][1]) / RATE > now - self.hold_s


def _audio_processing() -> object:
    from livekit import rtc

    return rtc.AudioProcessingModule(echo_cancellation=True, noise_suppression=False, high_pass_filter=True)


def _noise_suppression() -> object:
    from livekit import rtc

    return rtc.AudioProcessingModule(echo_cancellation=False, noise_suppression=True, high_pass_filter=True)


class EchoCanceller(Processor):
    """16 kHz AudioChunks in, the same audio with the speaker's echo removed out."""

    def __init__(self, reference: EchoReference, make: Callable[[], object] = _audio_processing,
                 make_linear: Callable[[], LinearEcho] = LinearEcho,
                 make_denoiser: Callable[[], object] = _noise_suppression) -> None:
        super().__init__()
        self.reference = reference
        self._pending = np.zeros(0, np.float32)
        self._said_why = False
        self.levels: deque[tuple[float, bool, float, float]] = deque(maxlen=100_000)  # (recorded, far end, in, out)
        self._reduction: deque[float] = deque(maxlen=2 * SETTLED_FRAMES)  # dB, recent frames with echo in them
        self._this_answer: deque[float] = deque(maxlen=ANSWER_FRAMES)  # ... of the voice playing since a silence
        self._was_playing = False
        self._louder = LouderThanEcho()
        try:
            self._apm = make()
            from livekit.rtc import AudioFrame

            self._frame = AudioFrame
        except Exception as error:  # no wheel for this machine, a broken install: half-duplex
            log.warning("echo cancellation unavailable (%s): half-duplex", error)
            self._apm, self._why = None, str(error)
        self._denoiser: object | None = None  # what Whisper hears over the echo goes through it
        try:
            self._denoiser = make_denoiser() if self._apm is not None else None
        except Exception as error:
            log.warning("noise suppression unavailable (%s): speech over the answer is transcribed without it", error)
        self._linear = LaggedLinearEcho(reference.take, make_linear)  # what Whisper hears over the echo

    async def process(self, frame: Frame) -> None:
        if not isinstance(frame, AudioChunk):
            await self.push(frame)
            return
        if frame.rate != RATE:
            raise ValueError(f"echo cancellation needs {RATE} Hz audio, got {frame.rate} Hz")
        far_end = self.reference.active
        if far_end and not self._was_playing:  # the voice starts after a silence: its echo is measured anew
            self._this_answer.clear()
        self._was_playing = far_end
        recorded = frame.created - len(frame.samples) / RATE  # a chunk is made once its last sample is in
        if far_end and (wait := self.reference.wait_for(frame.created + self.reference.lead_s)):
            await asyncio.sleep(wait)  # the card has not taken what will sound as its echo yet
        louder = 0  # frames of this chunk louder than the echo alone
        words = None  # what Whisper hears of a voice over the echo
        if self._apm is not None:
            try:
                cleaned, words, louder = self._cancel(frame.samples, recorded)
            except Exception as error:  # AEC failure: from now on half-duplex, said once
                log.exception("echo cancellation failed: half-duplex from now on")
                self._apm, self._why = None, str(error)
                cleaned, words = frame.samples, None
        else:
            cleaned = frame.samples
        if self._apm is None:
            if not self._said_why:
                self._said_why = True
                await self.push(SourceStatus("echo canceller", "unavailable",
                                             f"{self._why}; while the assistant speaks the microphone is muted, "
                                             "so talking over it does not interrupt it (use headphones)"))
            if far_end:
                cleaned = np.zeros_like(cleaned)
        loud = float(np.mean(np.square(frame.samples)))  # the microphone's energy, and what is left of it
        left = float(np.mean(np.square(cleaned))) if len(cleaned) else 0.0
        self.levels.append((recorded, far_end, loud, left))
        voice = self._apm is not None and louder * FRAME * 2 >= len(frame.samples)
        # the share of the microphone's energy the canceller kept: near all of a voice the speaker did
        # not play, a small part of the echo; None where the microphone is too quiet to tell
        share = left / loud if self._apm is not None and len(cleaned) and loud > ECHO_FLOOR else None
        await self.push(AudioChunk(cleaned, RATE, frame.timestamp, far_end=far_end, echo_settled=self.settled,
                                   voice_over_echo=voice, for_words=words,
                                   echo_kept=share))

    @property
    def settled(self) -> bool:
        """Whether the canceller has removed the room's echo well over its last two seconds of echo,
        and over the start of the voice playing now."""
        return (self._apm is not None and median_under(self._reduction, SETTLED_FRAMES, SETTLED_DB)
                and median_under(self._this_answer, ANSWER_FRAMES, SETTLED_DB))

    @property
    def linear_settled(self) -> bool:
        """Whether the linear filter removes the echo well enough for Whisper to hear its output."""
        return self._linear.heard

    @property
    def echo_lag(self) -> EchoLag:
        """The echo's measured lag behind its reference."""
        return self._linear.lag

    def _cancel(self, samples: np.ndarray, recorded: float) -> tuple[np.ndarray, np.ndarray, int]:
        """Runs AEC3 and the linear filter frame by frame, each against what played when it was
        recorded; what is short of a whole frame waits for the next chunk. Gives AEC3's audio, the
        audio for words over the echo (the linear filter's where it removes the echo well, else
        AEC3's, through the noise suppressor), and how many of the frames were louder than the echo
        alone."""
        pending = np.concatenate([self._pending, samples.astype(np.float32, copy=False)])
        start_at = recorded - len(self._pending) / RATE
        whole = len(pending) - len(pending) % FRAME
        self._pending = pending[whole:]
        out = np.empty(whole, np.float32)
        words = np.empty(whole, np.float32)
        louder = 0
        for start in range(0, whole, FRAME):
            at = start_at + start / RATE + self.reference.lead_s
            played = self.reference.take(FRAME, at)
            self._apm.process_reverse_stream(self._frame(pcm16(played), RATE, 1, FRAME))
            heard = pending[start:start + FRAME]
            linear = self._linear.frame(heard, played, at)
            out[start:start + FRAME] = self._through(self._apm, heard)
            heard_well = linear is not None and self._linear.heard
            words[start:start + FRAME] = self._quieter(linear if heard_well else out[start:start + FRAME])
            loud = float(np.mean(np.square(heard)))
            left = float(np.mean(np.square(out[start:start + FRAME])))
            if loud > ECHO_FLOOR and played.any():
                self._reduction.append(10 * np.log10(max(left, 1e-12) / loud))
                self._this_answer.append(self._reduction[-1])
                if linear is not None and left <= ECHO_ONLY * loud:  # echo alone: AEC3 took nearly all of it
                    self._linear.echo_alone(linear, loud)
            louder += self._louder.update(float(np.mean(np.square(played))), loud, left)
        return out, words, louder

    def _through(self, module: object, frame: np.ndarray) -> np.ndarray:
        """One 10 ms frame through a WebRTC `AudioProcessingModule` (AEC3, or the noise suppressor)."""
        near = self._frame(pcm16(frame), RATE, 1, FRAME)
        module.process_stream(near)
        return np.frombuffer(near.data, np.int16) / 32768.0

    def _quieter(self, frame: np.ndarray) -> np.ndarray:
        """One 10 ms frame through the noise suppressor, where there is one."""
        if self._denoiser is None:
            return frame
        try:
            return self._through(self._denoiser, frame)
        except Exception:  # the words go on without it; the canceller is not at fault
            log.exception("noise suppression failed: speech over the answer is transcribed without it")
            self._denoiser = None
            return frame


def pcm16(samples: np.ndarray) -> bytes:
    """Float samples in [-1, 1] as 16-bit PCM bytes, what WebRTC and microWakeWord take."""
    return int16(samples).tobytes()
