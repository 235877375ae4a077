"""Tells a voice over the assistant's echo by its loudness: the microphone louder than the echo the
room returns of what is playing.

WebRTC's AEC3 suppresses what is left of the echo hard, and at the start of double talk it takes
the near end down with it: "Stop." said over an answer can come out of the canceller too faint for
the VAD. What the canceller cannot hide is the microphone's own level. While only the echo is
heard (the canceller removed nearly all of it), the ratio of the microphone's energy to the
loudest reference energy of the last few hundred milliseconds is the room's echo return; a frame
`FACTOR` times louder than that return predicts has someone talking over the echo (Geigel's
double-talk test, with a learned echo return instead of a fixed one). The return is the middle of
what echo alone has measured (its median). Speech is mostly quieter than its loudest moment
of the last 400 ms, so the echo at a syllable's peak sits above that (10 dB in a PulseAudio loop)
and is flagged too. A higher quantile stops that, but then a talker's first syllables wait for the
canceller to let them through: in the simulated room, the voice stopped after 235-280 ms (median)
instead of 190, several after 750 ms. A flagged echo peak only lowers the VAD's start threshold on
the cleaned audio for a moment, and what starts there costs a pause of the answer, not the answer
(assistant/live/answerer.py). Where the speaker is much
louder at the microphone than the user, this stays quiet and the VAD on the cleaned audio decides
alone.
"""

from __future__ import annotations

from collections import deque

import numpy as np

FACTOR = 4.0  # 6 dB above the echo the room returns
ECHO_ONLY = 0.01  # the canceller left under 1% (-20 dB) of the frame: only echo was heard
PLAYED_FLOOR = 1e-5  # reference mean square below this: nothing is playing
HEARD_FLOOR = 1e-4  # microphone mean square below this (-40 dBFS): too quiet to judge
LEARNED_FRAMES = 50  # echo-only frames before the echo return is trusted


class LouderThanEcho:
    """Per 10 ms frame: `update(played, heard, left)` with the mean squares of the reference, the
    microphone and the canceller's output; True when the microphone is louder than the echo alone."""

    def __init__(self, delay_frames: int = 40) -> None:
        self._played: deque[float] = deque(maxlen=delay_frames)  # the echo heard now left the speaker in this span
        self._echo_return: deque[float] = deque(maxlen=300)

    def update(self, played: float, heard: float, left: float) -> bool:
        self._played.append(played)
        loudest = max(self._played)
        if loudest <= PLAYED_FLOOR or heard <= HEARD_FLOOR:
            return False
        if left <= ECHO_ONLY * heard:
            self._echo_return.append(heard / loudest)
        if len(self._echo_return) < LEARNED_FRAMES:
            return False
        return heard > FACTOR * float(np.median(self._echo_return)) * loudest
