"""A linear echo canceller for what Whisper hears: Speex's MDF adaptive filter (through `pyaec`),
with Speex's own gentle suppressor after it.

AEC3 (assistant/echo.py) removes the echo far better, which is what keeps the VAD from taking the
assistant's voice for a user's; but its suppressor also takes down a voice that talks over the
echo, and with it the words of a barge-in ("Stop", "Wait"). A linear filter only subtracts its
estimate of the echo: it leaves more of the echo than AEC3, and needs a moment of the room to
converge (the shorter the filter, the sooner: its reference is read back to the echo's lag so that
a short one spans the room, assistant/echo_drift.py), but all of the talker, and Whisper follows
the louder voice. Speex's preprocessor runs after it, told of the filter's state: it suppresses
what the filter estimates it left of the echo, and the room's steady noise, by no more than 15 dB
where a voice is heard over the echo, so the talker keeps nearly all of their level while the echo
left between and before their words goes further down (in the simulated room, fewer first words
over the echo were lost: docs/benchmarks.md). So the canceller runs both on the same frames:
AEC3's output decides when speech starts and ends, and this one's is transcribed
(`AudioChunk.for_words`) once it removes the echo well (assistant/echo.py). `LaggedLinearEcho` is
that filter as the canceller runs it: fed at the echo's measured lag, started anew where the lag
jumps or where it has not converged, and judged on the frames of echo alone, so that Whisper hears
it only while it removes the echo well.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Sequence

import numpy as np

from .echo_drift import JUMP_SAMPLES, MIN_PPM, EchoLag, read_shifted

log = logging.getLogger(__name__)

RATE = 16000
FRAME = RATE // 100  # one 10 ms frame a call, as AEC3 takes them
# the echo path the filter models, from shortly before the echo's direct sound (its reference is read
# back to there, assistant/echo_drift.py): the room's reverberant tail
FILTER_SAMPLES = 4096  # 256 ms
# the echo is looked for this far behind its reference: the reference's lead over the microphone (up
# to 150 ms on a sound card), the card's error in its stated latency, and the room's delay
LAG_RANGE = 8192  # 512 ms
# the filter's reference is read back to this long before the echo's direct sound: the devices' and
# resamplers' filters ring a little before it, and a lag measure may be a sample off
BEFORE_ECHO = 160  # 10 ms
# the filter's reduction (median over its last second of frames of echo alone; once heard, over its
# last two) from which Whisper hears its output: the echo left is then 10 dB under a talker as loud
# as the echo, and Whisper follows the talker
HEARD_DB = -10.0
HEARD_FRAMES = 100  # one second
# a filter not heard yet after this many frames of echo alone is started anew, and given twice as
# long each time after that: Speex's filter can lock into a poor state from its first frames (on a
# PulseAudio loop, 2-7 dB for good in some runs, where the same audio from a second later gave 30)
RESTART_FRAMES = 300


def _speex() -> object:
    from pyaec import Aec

    return Aec(FRAME, FILTER_SAMPLES, RATE, True)  # True: Speex's preprocessor after the filter


class LinearEcho:
    """`cancel(heard, played)`: one 10 ms frame of microphone and of what played then (float32),
    the microphone less the filter's estimate of the echo (and through the suppressor after it)."""

    def __init__(self, make: Callable[[], object] = _speex) -> None:
        self._filter = make()

    def cancel(self, heard: np.ndarray, played: np.ndarray) -> np.ndarray:
        if len(heard) != FRAME or len(played) != FRAME:
            raise ValueError(f"the linear echo filter takes {FRAME}-sample frames")
        out = self._filter.cancel_echo(int16(heard).tolist(), int16(played).tolist())
        return np.asarray(out, np.float32) / 32768.0


def int16(samples: np.ndarray) -> np.ndarray:
    """Float samples in [-1, 1] as 16-bit PCM, what WebRTC, Speex and microWakeWord take."""
    return (np.clip(samples, -1.0, 1.0) * 32767.0).astype(np.int16)


class LaggedLinearEcho:
    """The linear filter as the echo canceller runs it beside AEC3. `frame(heard, played, at)` takes
    each 10 ms frame of microphone and of the reference paired with it, and gives the microphone less
    the echo, the filter's reference read back (through `take(count, at)`, the echo reference) to
    just before where the echo's direct sound lies; None until that lag is measured, or where no
    filter can run. `echo_alone(out, loud)` tells it of a frame of echo alone: from those it judges
    whether it removes the echo well enough to be `heard`."""

    def __init__(self, take: Callable[[int, float], np.ndarray], make: Callable[[], LinearEcho] = LinearEcho,
                 max_lag: int = LAG_RANGE) -> None:
        self.take = take
        self.lag = EchoLag(max_lag)
        self._make: Callable[[], LinearEcho] | None = make
        self._filter: LinearEcho | None = None
        self._read_back: float | None = None  # samples back its reference is read
        self._reduction: deque[float] = deque(maxlen=2 * HEARD_FRAMES)  # dB, recent frames of echo alone
        self._heard = False
        self._frames = 0  # frames of echo alone since it started
        self._patience = RESTART_FRAMES  # ... by which it is heard, or started anew
        self._drift_told: float | None = None

    @property
    def heard(self) -> bool:
        """Whether it removes the echo well enough for Whisper to hear its output."""
        return self._filter is not None and self._heard

    def frame(self, heard: np.ndarray, played: np.ndarray, at: float) -> np.ndarray | None:
        self.lag.add(heard, played, at)
        lag = self.lag.lag_at(at)
        if lag is None or self._make is None:
            return None
        back = max(0.0, lag - BEFORE_ECHO)  # never ahead of what is known to have played
        drift = self.lag.drift_ppm
        if drift is None or abs(drift) < MIN_PPM:
            back = float(round(back))  # read as it played, sample for sample
        elif self._drift_told is None or abs(drift - self._drift_told) > 20:
            self._drift_told = drift
            log.info("the echo drifts %.0f ppm against the speaker's stream: the linear filter follows it", drift)
        try:
            if self._read_back is None or abs(back - self._read_back) > JUMP_SAMPLES:  # first, or a new path
                log.info("the echo comes %.1f ms behind what played: the linear filter starts there", lag / RATE * 1000)
                self._patience = RESTART_FRAMES
                self._start()
            elif not self._heard and self._frames >= self._patience:
                log.info("the linear echo filter has not converged in %d frames of echo: started anew", self._frames)
                self._patience *= 2
                self._start()
            self._read_back = back
            return self._filter.cancel(heard, read_shifted(self.take, FRAME, at, back))
        except Exception:  # no filter (pyaec missing or failing): Whisper hears AEC3's output, which goes on
            log.exception("linear echo filter unavailable: speech over the answer is transcribed from AEC3's output")
            self._make = self._filter = None
            return None

    def echo_alone(self, out: np.ndarray, loud: float) -> None:
        """A frame of echo alone (mean square `loud` at the microphone), and the filter's output for
        it. Whisper hears the filter once it has removed the echo well over its last second of echo
        alone, and goes on while it does over its last two: a talker over the echo unsettles the
        filter for a moment, which the second just after shows more than the two."""
        kept = float(np.mean(np.square(out)))
        self._reduction.append(10 * np.log10(max(kept, 1e-12) / loud))
        self._heard = (median_under(list(self._reduction)[-HEARD_FRAMES:], HEARD_FRAMES, HEARD_DB)
                       or (self._heard and median_under(self._reduction, HEARD_FRAMES, HEARD_DB)))
        self._frames += 1
        if self._heard:
            self._patience = RESTART_FRAMES

    def _start(self) -> None:
        self._filter = self._make()
        self._reduction.clear()
        self._heard, self._frames = False, 0


def median_under(reductions: Sequence[float], frames: int, db: float) -> bool:
    """Whether at least `frames` reductions (dB) are measured and their median is `db` or lower."""
    return len(reductions) >= frames and float(np.median(reductions)) <= db
