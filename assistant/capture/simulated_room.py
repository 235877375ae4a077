"""`SimulatedRoom`: a kitchen table in a test. Its microphone hears the user's speech at set times,
a second voice over them, room noise, and whatever its `speaker` plays, through an echo path
(delay, gain, a reverberant tail, light clipping, and a lag that may drift as a sound card's
does), in real time.

The speaker takes the place of the sound card: a player that plays into the room and feeds the
echo reference exactly what it played, so a live session runs against the room as it would
against a laptop's speakers and microphone.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import numpy as np

from assistant.capture.base import AUDIO_QUEUE_SIZE, CaptureSource, Clock, Run, Sleep, block_samples, pacing
from assistant.echo import RATE, EchoReference
from assistant.echo_drift import HALF_TAPS, read_shifted
from assistant.frames import AudioChunk, SourceStatus
from models import AudioData, resample


@dataclass(frozen=True)
class EchoPath:
    """How the speaker's sound reaches the microphone."""

    delay_ms: float = 80.0  # 20-200 ms: the sound card's buffers and the air
    gain: float = 0.6  # the speaker loud at the microphone
    decay_ms: float = 60.0  # the reverberant tail's time constant
    tail_gain: float = 0.5  # the reverberant tail's energy against the direct sound's (amplitude ratio)
    tail_ms: float = 250.0
    clip: float = 0.9  # the microphone's preamp saturates here
    noise: float = 0.003  # room noise, RMS
    seed: int = 0
    # the echo's lag grows by this share (in millionths) of the time gone: the speaker's sample rate
    # against the microphone's where they are two cards on two clocks (negative: the lag shrinks), up to the delay
    drift_ppm: float = 0.0

    def impulse_response(self) -> np.ndarray:
        rng = np.random.default_rng(self.seed)
        delay, tail = int(self.delay_ms * RATE / 1000), int(self.tail_ms * RATE / 1000)
        response = np.zeros(delay + tail, np.float32)
        response[delay] = 1.0
        reverb = rng.standard_normal(tail) * np.exp(-np.arange(tail) / (self.decay_ms * RATE / 1000))
        response[delay:] += (reverb * self.tail_gain / np.sqrt(np.sum(reverb ** 2))).astype(np.float32)
        return response * self.gain

    def at_microphone(self, sound: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """`sound` as the microphone records it: the room's noise added, the preamp's clip applied."""
        noisy = sound + rng.standard_normal(len(sound)).astype(np.float32) * self.noise
        return np.clip(noisy, -self.clip, self.clip).astype(np.float32)


class RoomSpeaker:
    """Plays into the room, sentence after sentence, like `SpeechPlayer`; `stop()` cuts at once,
    `pause()` holds what is left until `resume()`."""

    def __init__(self, reference: EchoReference | None) -> None:
        self.reference = reference  # None: a room with headphones (nothing reaches the microphone)
        self.status = SourceStatus("speaker", "started", "the simulated room's speaker")
        self.played: list[AudioData] = []  # every sentence given to play, for tests
        self.cuts: list[float] = []  # when (time.monotonic) stop() cut the answer short
        self.starts: list[float] = []  # when (time.monotonic) the speaker started sounding after silence
        self.pauses: list[float] = []  # when (time.monotonic) pause() held a sounding answer
        self.resumes: list[float] = []  # when (time.monotonic) resume() let a held answer go on
        self._lock = threading.Lock()
        self._queue = np.zeros(0, np.float32)
        self._silent = True
        self._paused = False

    @property
    def available(self) -> bool:
        return True

    def play(self, audio: AudioData) -> None:
        self.played.append(audio)
        with self._lock:
            self._queue = np.concatenate([self._queue, resample(audio, RATE).samples])

    def stop(self) -> None:
        with self._lock:
            if len(self._queue):
                self.cuts.append(time.monotonic())
            self._queue = np.zeros(0, np.float32)
            self._paused = False

    def pause(self) -> None:
        with self._lock:
            if len(self._queue) and not self._paused:
                self.pauses.append(time.monotonic())
            self._paused = True

    def resume(self) -> None:
        with self._lock:
            if len(self._queue) and self._paused:
                self.resumes.append(time.monotonic())
            self._paused = False

    @property
    def paused(self) -> bool:
        return self._paused

    def close(self) -> None:
        self.stop()

    def _next(self, count: int, at: float | None = None) -> np.ndarray:
        """What the speaker sends into the room for the next `count` samples, which start sounding
        `at` (on the reference's clock; None: they have just sounded)."""
        with self._lock:
            was_silent = self._silent
            if self._paused:
                out = np.zeros(0, np.float32)
            else:
                out, self._queue = self._queue[:count], self._queue[count:]
            self._silent = len(out) == 0
        if was_silent and len(out):
            self.starts.append(time.monotonic())
        out = np.concatenate([out, np.zeros(count - len(out), np.float32)])
        if self.reference is not None and out.any():  # it played over the block now being recorded
            self.reference.add(out, self.reference.clock() - count / RATE if at is None else at)
        return out


class SimulatedRoom(CaptureSource):
    """A microphone in a room: `voices` are (seconds from the start, a clip) said at those times (the
    user, a second voice), mixed with the speaker's echo and noise; `seconds` long."""

    def __init__(self, voices: list[tuple[float, AudioData]], seconds: float, path: EchoPath | None = None,
                 reference: EchoReference | None = None, *, headphones: bool = False, block_ms: int = 32,
                 name: str = "simulated room", clock: Clock = time.monotonic, sleep: Sleep | None = None) -> None:
        super().__init__(name, AUDIO_QUEUE_SIZE)
        self.path = path or EchoPath()
        self.reference = reference if reference is not None else EchoReference(clock=clock)  # the room's clock
        self.speaker = RoomSpeaker(self.reference)
        self.headphones = headphones
        self.seconds = seconds
        self.block = block_samples(RATE, block_ms)
        self.drops_when_behind = True
        self._voices = np.zeros(int(seconds * RATE) + self.block, np.float32)
        self._voices_lock = threading.Lock()
        self._position = 0
        for start, clip in voices:
            self._mix(clip, int(start * RATE))
        self._clock = clock
        self._sleep = sleep
        self.started_at: float | None = None

    def say(self, clip: AudioData, after_s: float = 0.0) -> float:
        """Someone in the room says `clip`, starting `after_s` from now (a voice over the answer);
        gives where it starts on the microphone stream's timeline (seconds)."""
        at = self._position + self.block + int(after_s * RATE)
        self._mix(clip, at)
        return at / RATE

    def _mix(self, clip: AudioData, at: int) -> None:
        samples = resample(clip, RATE).samples
        with self._voices_lock:
            end = min(len(self._voices), at + len(samples))
            self._voices[at:end] += samples[:max(0, end - at)]

    def _read(self, run: Run) -> str:
        response = self.path.impulse_response()
        behind = RATE  # the echo of the last second, which a growing lag reads back into ...
        line = np.zeros(behind + len(response) + self.block, np.float32)  # ... and the echo to come; [behind] is now
        reach = (-(self.path.delay_ms * RATE / 1000 - HALF_TAPS), behind - 2 * HALF_TAPS)  # the shifts it can read

        def take(count: int, at: float) -> np.ndarray:
            first = round(at * RATE)
            return line[first:first + count]
        rng = np.random.default_rng(self.path.seed + 1)
        run.started(f"echo {self.path.delay_ms:g} ms, gain {self.path.gain:g}")
        pacer = pacing(self._clock, self._sleep, run)
        self.started_at = pacer.start()  # the room's time 0, on `clock`
        for position in range(0, int(self.seconds * RATE), self.block):
            pacer.wait_until((position + self.block) / RATE)
            # a block sounds and is recorded at its place on the room's steady clock, as a sound card's
            # samples are, however late this thread wakes to hand it on
            at = self.started_at + position / RATE
            played = self.speaker._next(self.block, at)
            if not self.headphones:
                line[behind:behind + len(response) + self.block - 1] += np.convolve(played, response)
            shift = float(np.clip(self.path.drift_ppm * 1e-6 * position, *reach))  # the echo's lag, grown
            echo = read_shifted(take, self.block, behind / RATE, shift)
            with self._voices_lock:
                self._position = position
                heard = self._voices[position:position + self.block] + echo
            line = np.concatenate([line[self.block:], np.zeros(self.block, np.float32)])
            heard = self.path.at_microphone(heard, rng)
            if run.stopping or not run.emit(AudioChunk(heard, RATE, position / RATE, created=at + self.block / RATE)):
                return "stopped"
        return "the room's recording ended"
