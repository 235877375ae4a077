"""An opt-in wake word: the live session answers only after it hears "okay nabu" (or "hey jarvis",
"hey mycroft", "alexa"), microWakeWord's models as `pymicro-wakeword` ships them.

A processor before the VAD: while asleep it passes silence on, so no turn starts; the wake word
wakes it for `awake_s`, and it stays awake while the user is still talking (or holds to talk).
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable

import numpy as np

from .echo import RATE, pcm16
from .frames import AudioChunk, Frame, SourceStatus
from .processor import Processor

log = logging.getLogger(__name__)

WAKE_WORDS = ("okay_nabu", "hey_jarvis", "hey_mycroft", "alexa")


class WakeWord(Processor):
    def __init__(self, name: str, speaking: Callable[[], bool], awake_s: float = 8.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        if name not in WAKE_WORDS:
            raise ValueError(f"no wake word {name!r}: choose from {', '.join(WAKE_WORDS)}")
        from pymicro_wakeword import MicroWakeWord, MicroWakeWordFeatures, Model

        self.name = name
        self.speaking = speaking  # whether a turn is being said now (the segmenter's state)
        self.awake_s = awake_s
        self.clock = clock
        self._detector = MicroWakeWord.from_builtin(Model(name))
        self._features = MicroWakeWordFeatures()
        self._awake_until = -np.inf

    @property
    def awake(self) -> bool:
        return self.clock() < self._awake_until or self.speaking()

    async def process(self, frame: Frame) -> None:
        if not isinstance(frame, AudioChunk):
            await self.push(frame)
            return
        if frame.rate != RATE:
            raise ValueError(f"the wake word needs {RATE} Hz audio, got {frame.rate} Hz")
        was_awake = self.awake
        if self._detected(frame.samples):
            self._awake_until = self.clock() + self.awake_s
            await self.push(SourceStatus("wake word", "heard", self.name.replace("_", " ")))
        await self.push(frame if was_awake else dataclasses.replace(frame, samples=np.zeros_like(frame.samples)))

    def _detected(self, samples: np.ndarray) -> bool:
        return any(self._detector.process_streaming(features)
                   for features in self._features.process_streaming(pcm16(samples)))
