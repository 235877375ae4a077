"""The speaker and the microphone on a real sound card loop (a PulseAudio null sink and its
monitor, tests/pulse_room.py): the echo reference says when the speaker really sounds, so the echo
follows it at a steady delay that AEC3 can take; pausing keeps what is left to say, stopping drops it."""

import asyncio

import numpy as np
import pytest

from assistant.capture.microphone import MicrophoneSource
from assistant.echo import RATE, EchoReference
from assistant.frames import AudioChunk
from assistant.playback import SpeechPlayer
from models import AudioData
from tests.pulse_room import pulse_loop

pytestmark = pytest.mark.asyncio
VOICE_RATE = 22050  # Piper's


@pytest.fixture
def room(tmp_path):
    with pulse_loop(tmp_path) as sink:
        yield sink


class Ear:
    """The loop's microphone, heard chunk by chunk: (when its first sample was heard, samples)."""

    def __init__(self) -> None:
        self.source = MicrophoneSource(None, RATE, 32)
        self.chunks: list[tuple[float, np.ndarray]] = []
        self._new = asyncio.Event()
        self._task = asyncio.create_task(self._listen())

    async def _listen(self) -> None:
        async for frame in self.source.frames():
            if isinstance(frame, AudioChunk):
                self.chunks.append((frame.created - len(frame.samples) / RATE, frame.samples))
                self._new.set()

    async def until(self, heard, timeout: float = 20.0) -> int:
        """Waits for the first chunk from now on for which `heard(samples)` holds; its index."""
        start = len(self.chunks)

        async def wait() -> int:
            while True:
                for index in range(start, len(self.chunks)):
                    if heard(self.chunks[index][1]):
                        return index
                self._new.clear()
                await self._new.wait()
        return await asyncio.wait_for(wait(), timeout)

    async def close(self) -> None:
        self.source.stop()
        await self._task
        await asyncio.to_thread(self.source.join, 2.0)


def loud(samples: np.ndarray) -> bool:
    return float(np.sqrt(np.mean(np.square(samples)))) > 0.05


def silent(samples: np.ndarray) -> bool:
    return float(np.max(np.abs(samples))) < 0.01


def tone(seconds: float, bursts: list[float] | None = None) -> AudioData:
    """A 440 Hz tone; with `bursts`, only 40 ms of it at each of those times."""
    t = np.arange(int(seconds * VOICE_RATE)) / VOICE_RATE
    wave = 0.3 * np.sin(2 * np.pi * 440 * t)
    if bursts is not None:
        wave *= np.any([(t >= b) & (t < b + 0.04) for b in bursts], axis=0)
    return AudioData(wave.astype(np.float32), VOICE_RATE)


def onsets(times: np.ndarray, samples: np.ndarray) -> list[float]:
    """When each burst starts: a loud sample after 150 ms without one."""
    found, last = [], -1.0
    for when in times[np.abs(samples) > 0.1]:
        if when - last > 0.15:
            found.append(float(when))
        last = when
    return found


async def test_the_echo_follows_its_reference_at_a_steady_delay(room):
    reference = EchoReference()
    player = SpeechPlayer(reference=reference)
    assert player.available, player.status.detail
    ear = Ear()
    try:
        await ear.until(lambda _: True)  # the microphone runs
        bursts = [0.3, 0.65, 1.05, 1.4, 1.85, 2.2]
        player.play(tone(2.6, bursts))
        await ear.until(loud)
        await ear.until(silent)
        last = await ear.until(lambda _: True)
        while ear.chunks[-1][0] < ear.chunks[last][0] + 2.5:  # the rest of it, and a margin
            await ear.until(lambda _: True)
    finally:
        await ear.close()
        player.close()
    heard_at = np.concatenate([start + np.arange(len(s)) / RATE for start, s in ear.chunks])
    heard = np.concatenate([s for _, s in ear.chunks])
    # what the echo canceller is given beside each microphone sample: the reference, `lead_s` ahead
    begin = float(heard_at[0])
    played = reference.take(len(heard), begin + reference.lead_s)
    heard_bursts, played_bursts = onsets(heard_at, heard), onsets(heard_at, played)
    assert len(heard_bursts) == len(played_bursts) == len(bursts)
    delays = np.array(heard_bursts) - np.array(played_bursts)
    assert np.all(delays > 0.01), delays  # the echo follows what the canceller is given: AEC3 can cancel it
    assert np.all(delays < 0.4), delays  # within the delays AEC3 finds by itself
    assert np.ptp(delays) < 0.03, delays  # and steadily: a reference that jitters lets echo through


async def test_pausing_keeps_what_is_left_to_say_and_stopping_drops_it(room):
    player = SpeechPlayer()
    ear = Ear()
    try:
        await ear.until(lambda _: True)
        player.play(tone(2.0))
        first = await ear.until(loud)
        player.pause()
        quiet = await ear.until(silent)
        while ear.chunks[-1][0] < ear.chunks[quiet][0] + 0.6:  # paused: nothing sounds
            await ear.until(lambda _: True)
        assert player.paused and all(silent(s) for _, s in ear.chunks[quiet:])
        player.resume()
        await ear.until(loud)
        end = await ear.until(silent, timeout=5.0)  # the rest of it played, then silence
        sounded = sum(len(s) for _, s in ear.chunks[first:end] if not silent(s)) / RATE
        assert 1.7 < sounded < 2.4  # all of it, once: the pause lost or repeated nothing
        player.play(tone(3.0))
        first = await ear.until(loud)
        player.stop()
        quiet = await ear.until(silent)
        while ear.chunks[-1][0] < ear.chunks[quiet][0] + 1.0:
            await ear.until(lambda _: True)
        assert all(silent(s) for _, s in ear.chunks[quiet:])  # what was left is gone
        assert sum(len(s) for _, s in ear.chunks[first:] if not silent(s)) / RATE < 1.0
    finally:
        await ear.close()
        player.close()
