"""Plays spoken answers on an output device, sentence after sentence; pauses when someone may be
talking over it, resumes when they were not, and stops at once on barge-in.

The sound card pulls the samples (a PortAudio callback), and each callback says when its buffer
will reach the speaker (`outputBufferDacTime`): that is when the echo canceller's reference says
those samples sound. A blocking write only tells when the card had room, and a PulseAudio stream
can sit a second on its first buffers before it starts: a reference stamped from writes then runs
ahead of the echo, which AEC3 cannot follow, and the assistant hears itself.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

import numpy as np

from models import AudioData, resample

from .device_clock import DeviceClock
from .echo import DEVICE_LEAD_S, EchoReference
from .echo import RATE as REFERENCE_RATE
from .frames import BargeIn, Frame, Interruption, SourceStatus, SpeechOutput
from .processor import Processor

log = logging.getLogger(__name__)
# the output stream stays open this long without a sentence: opening one costs a PulseAudio loop
# most of a second before it sounds, and a conversation's next answer usually comes within this
_IDLE_S = 30.0


@dataclass
class _Sentence:
    audio: AudioData
    far: np.ndarray | None  # at the reference's rate, for the echo canceller
    position: int = 0  # samples of `audio` handed to the card


class SpeechPlayer:
    def __init__(self, device: int | str | None = None, reference: EchoReference | None = None,
                 idle_s: float = _IDLE_S) -> None:
        self.device = device
        self.reference = reference  # given what is played as it is played, for the echo canceller
        self.idle_s = idle_s
        self.status = self._probe()
        self._sentences: deque[_Sentence] = deque()  # to play; the first one is playing
        self._paused = False
        # guards the sentences and the pause, shared with the card's callback; notified when a
        # sentence comes or finishes, or the player closes
        self._wake = threading.Condition()
        self._closing = False
        self._rate = 0  # the open stream's rate
        self._clock = DeviceClock(REFERENCE_RATE)  # when the open stream's blocks sound (one for each stream)
        self._last_sound = 0.0  # when the callback last had samples to play (time.monotonic)
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
        if not self.available or not len(audio.samples):
            return
        far = resample(audio, REFERENCE_RATE).samples if self.reference is not None else None
        with self._wake:
            self._sentences.append(_Sentence(audio, far))
            self._wake.notify()

    def pause(self) -> None:
        """Stops sounding, keeping what is left to say (someone may be talking over it)."""
        with self._wake:
            self._paused = True

    def resume(self) -> None:
        """Goes on where `pause` left off."""
        with self._wake:
            self._paused = False

    @property
    def paused(self) -> bool:
        return self._paused

    def stop(self) -> None:
        """Drops what is left to say (barge-in, stop); the card's own buffer, a few tens of
        milliseconds, still sounds. A paused player plays the next sentence given."""
        with self._wake:
            self._sentences.clear()
            self._paused = False

    def close(self) -> None:
        self.stop()
        with self._wake:
            self._closing = True
            self._wake.notify()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _run(self) -> None:
        """Opens an output stream when there is something to say, at its rate, and closes it once
        idle for `idle_s` (or for another rate); the stream's callback does the playing."""
        import sounddevice

        stream = None
        try:
            while True:
                with self._wake:
                    self._wake.wait_for(lambda: self._closing or self._sentences, timeout=1.0)
                    if self._closing:
                        break
                    wanted = self._sentences[0].audio.rate if self._sentences else None
                idle = time.monotonic() - self._last_sound > self.idle_s
                if stream is not None and ((wanted is not None and wanted != self._rate) or (wanted is None and idle)):
                    stream = self._close(stream)
                if stream is None and wanted is not None:
                    stream = self._open(sounddevice, wanted)
                if stream is not None and wanted is not None:
                    with self._wake:  # the callback is playing it: wait for the queue to change
                        self._wake.wait_for(lambda: self._closing or not self._sentences
                                            or self._sentences[0].audio.rate != self._rate, timeout=1.0)
        finally:
            self._close(stream)

    def _open(self, sounddevice: Any, rate: int) -> Any:
        try:
            stream = sounddevice.OutputStream(samplerate=rate, channels=1, dtype="float32", device=self.device,
                                              latency="high", callback=self._callback)
            self._rate, self._last_sound = rate, time.monotonic()
            self._clock = DeviceClock(rate)
            stream.start()
        except Exception:
            log.exception("could not open the speaker: this answer is not played")
            with self._wake:
                self._sentences.clear()
            return None
        if self.reference is not None:  # a sound card's true latencies are not quite what it says
            self.reference.lead_s = DEVICE_LEAD_S
        return stream

    def _callback(self, out: np.ndarray, frames: int, when: Any, status: Any) -> None:
        """The card wants `frames` samples: the next of the sentence playing, or silence; each
        piece goes to the reference at the time the card says it sounds."""
        out.fill(0)
        now = time.monotonic()
        ahead = when.outputBufferDacTime - when.currentTime
        # the card's stated time (a backend without the times: now), steadied by the sample count
        underflow = bool(status.output_underflow)  # samples were lost: the count starts again
        sounds_at = self._clock.at(now + (ahead if 0 < ahead < 1 else 0.0), frames, broken=underflow)
        filled = 0
        with self._wake:
            while filled < frames and self._sentences and not self._paused:
                sentence = self._sentences[0]
                if sentence.audio.rate != self._rate:
                    break  # the player thread reopens the stream at its rate
                count = min(frames - filled, len(sentence.audio.samples) - sentence.position)
                out[filled:filled + count, 0] = sentence.audio.samples[sentence.position:sentence.position + count]
                if sentence.far is not None and self.reference is not None:
                    scale = REFERENCE_RATE / self._rate
                    far = sentence.far[round(sentence.position * scale):round((sentence.position + count) * scale)]
                    self.reference.add(far, at=sounds_at + filled / self._rate)
                sentence.position += count
                filled += count
                if sentence.position >= len(sentence.audio.samples):
                    self._sentences.popleft()
                    self._wake.notify()
            if filled:
                self._last_sound = now
        if self.reference is not None:  # after what it took is in the reference
            self.reference.pulled(sounds_at + frames / self._rate)

    def _close(self, stream: Any) -> None:
        if stream is None:
            return None
        try:
            stream.stop()
            stream.close()
        except Exception as error:  # a device that vanished: the next sentence opens a new stream
            log.warning("closing the speaker stream failed: %s", error)
        return None


class Playback(Processor):
    """The speaker as a sink: plays each SpeechOutput (on the card's own thread, so the loop never
    waits for audio). When someone may be talking over the answer (BargeIn heard: the answer may be
    written already and still sounding) its voice pauses; confirmed, or the answer's Interruption,
    stops it, and what that answer still says is not played; dismissed resumes it."""

    def __init__(self, player: SpeechPlayer) -> None:
        super().__init__()
        self.player = player
        self._stopped: str | None = None  # the answer stopped by a barge-in: its late pieces are dropped

    async def process(self, frame: Frame) -> None:
        if isinstance(frame, SpeechOutput):
            if frame.turn_id != self._stopped:
                self.player.play(frame.audio)
        elif isinstance(frame, BargeIn):
            if frame.state == "heard":
                self.player.pause()
            elif frame.state == "dismissed":
                self.player.resume()
            else:
                self._stopped = frame.turn_id
                self.player.stop()
        elif isinstance(frame, Interruption):
            self.player.stop()
        await self.push(frame)
