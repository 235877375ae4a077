"""A linear echo canceller for what Whisper hears: Speex's MDF adaptive filter (through `pyaec`),
with no residual suppression after it.

AEC3 (assistant/echo.py) removes the echo far better, which is what keeps the VAD from taking the
assistant's voice for a user's; but its suppressor also takes down a voice that talks over the
echo, and with it the words of a barge-in ("Stop", "Wait"). A linear filter only subtracts its
estimate of the echo: it leaves more of the echo than AEC3, and needs a moment of the room to
converge (the shorter the filter, the sooner: its reference is read back to the echo's lag so that
a short one spans the room, assistant/echo_drift.py), but all of the talker, and Whisper follows
the louder voice. So the canceller runs both on the same frames: AEC3's output decides when speech
starts and ends, and this one's is transcribed (`AudioChunk.for_words`) once it removes the echo
well (assistant/echo.py).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

RATE = 16000
FRAME = RATE // 100  # one 10 ms frame a call, as AEC3 takes them
# the echo path the filter models, from shortly before the echo's direct sound (its reference is read
# back to there, assistant/echo_drift.py): the room's reverberant tail
FILTER_SAMPLES = 4096  # 256 ms


def _speex() -> object:
    from pyaec import Aec

    return Aec(FRAME, FILTER_SAMPLES, RATE, False)  # False: the linear filter alone, no preprocessor


class LinearEcho:
    """`cancel(heard, played)`: one 10 ms frame of microphone and of what played then (float32),
    the microphone less the filter's estimate of the echo."""

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
