"""Plays spoken answers on an output device, sentence after sentence, and stops at once on barge-in."""

from __future__ import annotations

import logging
import queue
import threading

import numpy as np

from models import AudioData, resample

from .echo import RATE as REFERENCE_RATE
from .echo import EchoReference
from .frames import Frame, Interruption, SourceStatus, SpeechOutput, SpeechStarted
from .processor import Processor

log = logging.getLogger(__name__)
_BLOCK_S = 0.05  # written in 50 ms blocks, so stop() cuts in within one block


class SpeechPlayer:
    def __init__(self, device: int | str | None = None, reference: EchoReference | None = None) -> None:
        self.device = device
        self.reference = reference  # given what is played as it is played, for the echo canceller
        self.status = self._probe()
        self._queue: queue.Queue[AudioData | None] = queue.Queue()
        self._cut = threading.Event()
        self._thread: threading.Thread | None = None
        if self.available:
            self._thread = threading.Thread(target=self._run, name="speech-player", daemon=True)
            self._thread.start()

    @property
    def available(self) -> bool:
        return self.status.state == "started"

    def _probe(self) -> SourceStatus:
        try:
            import sounddevice

            info = sounddevice.query_devices(self.device, kind="output")
        except Exception as error:  # no PortAudio, no device: the answer is still shown and saved
            return SourceStatus("speaker", "unavailable",
                                f"no audio output device ({error}); speech is saved to history, not played")
        return SourceStatus("speaker", "started", str(info["name"]))

    def play(self, audio: AudioData) -> None:
        """Queues one sentence; sentences play in the order given."""
        if self.available:
            self._cut.clear()
            self._queue.put(audio)

    def stop(self) -> None:
        """Drops what is queued and cuts the sentence playing now (barge-in, stop)."""
        self._cut.set()
        while not self._queue.empty():
            try:
                self._queue.get_nowait()
            except queue.Empty:
                break

    def close(self) -> None:
        self.stop()
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout=2)

    def _run(self) -> None:
        import sounddevice

        while (audio := self._queue.get()) is not None:
            if self._cut.is_set():
                continue
            block = max(1, int(audio.rate * _BLOCK_S))
            far = resample(audio, REFERENCE_RATE).samples if self.reference is not None else None
            far_block = int(REFERENCE_RATE * _BLOCK_S)
            try:
                with sounddevice.OutputStream(samplerate=audio.rate, channels=1, dtype="float32",
                                              device=self.device, latency="high") as stream:
                    for index, start in enumerate(range(0, len(audio.samples), block)):
                        if self._cut.is_set():
                            break
                        stream.write(np.ascontiguousarray(audio.samples[start:start + block, None]))
                        if far is not None and self.reference is not None:
                            self.reference.add(far[index * far_block:(index + 1) * far_block])
            except Exception:
                log.exception("could not play speech")


class Playback(Processor):
    """The speaker as a sink: plays each SpeechOutput (on the player's own thread, so the loop never
    waits for audio) and cuts it at once when the user starts talking (SpeechStarted: the answer may
    be written already and still playing) or the answer is stopped (Interruption)."""

    def __init__(self, player: SpeechPlayer) -> None:
        super().__init__()
        self.player = player

    async def process(self, frame: Frame) -> None:
        if isinstance(frame, SpeechOutput):
            self.player.play(frame.audio)
        elif isinstance(frame, (SpeechStarted, Interruption)):
            self.player.stop()
        await self.push(frame)
