"""Plays spoken answers on an output device, sentence after sentence, and stops at once on barge-in."""

from __future__ import annotations

import logging
import queue
import threading
import time
from typing import Any

import numpy as np

from models import AudioData, resample

from .echo import DEVICE_LEAD_S, EchoReference
from .echo import RATE as REFERENCE_RATE
from .frames import Frame, Interruption, SourceStatus, SpeechOutput, SpeechStarted
from .processor import Processor

log = logging.getLogger(__name__)
_BLOCK_S = 0.05  # written in 50 ms blocks, so stop() cuts in within one block
_IDLE_S = 1.0  # the output stream closes after this long without a sentence
# by the time the canceller has a microphone block, the player has written at least its buffer and
# this block ahead: how far ahead the reference can be taken (assistant/echo.py DEVICE_LEAD_S)
_MIC_BLOCK_S = 0.032
_CUT = AudioData(np.zeros(0, np.float32), 16000)  # put by stop(): cut what the stream holds now


class SpeechPlayer:
    def __init__(self, device: int | str | None = None, reference: EchoReference | None = None) -> None:
        self.device = device
        self.reference = reference  # given what is played as it is played, for the echo canceller
        self.status = self._probe()
        self._queue: queue.Queue[AudioData | None] = queue.Queue()  # sentences, _CUT, None: the end
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
        self._queue.put(_CUT)  # wakes the player: what the open stream still holds must not play on

    def close(self) -> None:
        self.stop()
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout=5)

    def _run(self) -> None:
        """Plays sentences as they come through one output stream, kept open while they follow each
        other (so the echo path's delay stays the same through an answer) and closed once idle."""
        import sounddevice

        stream = None
        try:
            while True:
                try:
                    audio = self._queue.get(timeout=_IDLE_S if stream is not None else None)
                except queue.Empty:
                    stream = self._close(stream, drain=True)
                    continue
                if audio is None:
                    break
                if audio is _CUT or self._cut.is_set():
                    stream = self._close(stream, drain=False)
                    continue
                try:
                    if stream is not None and stream.samplerate != audio.rate:
                        stream = self._close(stream, drain=True)
                    if stream is None:
                        stream = sounddevice.OutputStream(samplerate=audio.rate, channels=1, dtype="float32",
                                                          device=self.device, latency="high")
                        stream.start()
                        if self.reference is not None:  # a sound card's true latencies are not quite what it says
                            self.reference.lead_s = min(DEVICE_LEAD_S, stream.latency + _MIC_BLOCK_S)
                    self._write(stream, audio)
                except Exception:
                    log.exception("could not play speech")
                    stream = self._close(stream, drain=False)
                if self._cut.is_set():
                    stream = self._close(stream, drain=False)
        finally:
            self._close(stream, drain=False)

    def _write(self, stream: Any, audio: AudioData) -> None:
        """Writes `audio` block by block until cut; tells the echo reference when each block will
        sound: once written it waits behind the stream's buffered latency."""
        block = max(1, int(audio.rate * _BLOCK_S))
        far = resample(audio, REFERENCE_RATE).samples if self.reference is not None else None
        far_block = int(REFERENCE_RATE * _BLOCK_S)
        for index, start in enumerate(range(0, len(audio.samples), block)):
            if self._cut.is_set():
                return
            samples = audio.samples[start:start + block]
            stream.write(np.ascontiguousarray(samples[:, None]))
            if far is not None and self.reference is not None:
                sounds_at = time.monotonic() + stream.latency - len(samples) / audio.rate
                self.reference.add(far[index * far_block:(index + 1) * far_block], at=sounds_at)

    def _close(self, stream: Any, drain: bool) -> None:
        """Closes `stream`: at the end of an answer after what it holds has played (`drain`), on a
        cut at once, dropping what is buffered (and from the echo reference what will not sound)."""
        if stream is None:
            return None
        try:
            if drain:
                stream.stop()
            else:
                stream.abort()
                if self.reference is not None:
                    self.reference.cut()
            stream.close()
        except Exception as error:  # a device that vanished: the next sentence opens a new stream
            log.warning("closing the speaker stream failed: %s", error)
        return None


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
