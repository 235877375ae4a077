"""Echo cancellation: the microphone cleaned of what the speaker plays (WebRTC AEC3 through
livekit, and Speex's linear filter through pyaec for what Whisper hears), the echo reference, and
half-duplex when the canceller cannot run."""

from dataclasses import replace

import numpy as np
import pytest

from assistant.capture.simulated_room import EchoPath, SimulatedRoom
from assistant.echo import RATE, EchoCanceller, EchoReference
from assistant.echo_drift import read_shifted
from assistant.frames import AudioChunk, SourceStatus
from assistant.linear_echo import LinearEcho
from assistant.processor import QueueSink
from assistant.utterances import VadSettings
from models import AudioData, read_audio
from tests.clips import make_speech


def _db(x: np.ndarray) -> float:
    return 10 * np.log10(np.mean(np.square(x)) + 1e-12)


def _no_denoiser() -> object:
    raise ImportError("no noise suppressor here")


def _room(far: np.ndarray, delay_ms: float = 80.0, gain: float = 0.6) -> np.ndarray:
    """What a microphone hears of `far` played in a reverberant room (the simulated room's echo path)."""
    response = EchoPath(delay_ms=delay_ms, gain=gain).impulse_response()
    return np.convolve(far, response)[:len(far)].astype(np.float32)


ORIGIN = 1000.0  # the recordings below run on their own clock, from here
NOW = [ORIGIN]


def _reference() -> EchoReference:
    return EchoReference(clock=lambda: NOW[0])


async def _cancel(canceller: EchoCanceller, mic: np.ndarray, far: np.ndarray | None,
                  linear_heard: list[bool] | None = None) -> tuple[np.ndarray, list]:
    """AEC3's output and the frames out; `linear_heard` gets, chunk by chunk, whether Whisper hears
    the linear filter over the echo (else AEC3's output)."""
    sink = QueueSink()
    canceller.link(sink)
    block, origin = 512, ORIGIN  # the reference says when each block played, the chunk when it was recorded
    for start in range(0, len(mic), block):
        NOW[0] = origin + (start + block) / RATE
        if far is not None:  # the speaker plays this block as the microphone records it
            canceller.reference.add(far[start:start + block], at=origin + start / RATE)
        chunk = mic[start:start + block]
        await canceller.process(AudioChunk(chunk, RATE, start / RATE, created=origin + (start + len(chunk)) / RATE))
        if linear_heard is not None:
            linear_heard.append(canceller.linear_settled)
    frames = [sink.queue.get_nowait() for _ in range(sink.queue.qsize())]
    chunks = [f for f in frames if isinstance(f, AudioChunk)]
    return np.concatenate([c.samples for c in chunks]), frames


@pytest.mark.asyncio
async def test_the_speakers_echo_is_removed_and_a_voice_over_it_comes_through(tmp_path):
    far = read_audio(make_speech(tmp_path / "far.wav", ["The capital of France is Paris. It is a large city "
                                                        "with many museums, and the river runs through it."])).samples
    near = read_audio(make_speech(tmp_path / "near.wav", ["Stop, what about Germany?"])).samples
    mic = _room(far)
    start = 3 * RATE  # someone talks over the answer at 3 s
    mic[start:start + len(near)] += 0.8 * near[:len(mic) - start]
    out, frames = await _cancel(EchoCanceller(_reference()), mic, far)
    echo_only = slice(RATE, start)  # after the first second, before the voice
    assert _db(mic[echo_only]) - _db(out[echo_only]) >= 25  # dB of echo removed after the first second
    voice = slice(start, start + len(near))
    assert _db(out[voice]) > _db(0.8 * near) - 6  # the voice over the echo keeps (nearly) its level
    chunks = [f for f in frames if isinstance(f, AudioChunk)]
    assert all(c.far_end for c in chunks if c.timestamp < 2.0)
    # each chunk says how much of the microphone the canceller kept: a small part of the echo, from
    # its first second on, and most of the voice in some chunk of it (the segmenter tells them apart)
    residue = 10 ** (VadSettings().residue_db / 10)
    echo_kept = [c.echo_kept for c in chunks if 1.0 <= c.timestamp < 3.0 and c.echo_kept is not None]
    assert len(echo_kept) > 40 and max(echo_kept) < residue
    voice_kept = [c.echo_kept for c in chunks if 3.0 <= c.timestamp < 3.0 + len(near) / RATE]
    assert max(k for k in voice_kept if k is not None) > residue
    _, quiet = await _cancel(EchoCanceller(_reference()), np.zeros(RATE, np.float32), None)  # too quiet to tell
    assert all(f.echo_kept is None for f in quiet if isinstance(f, AudioChunk))


@pytest.mark.asyncio
async def test_whisper_hears_a_voice_over_the_echo_at_its_own_level_with_the_echo_well_down(tmp_path):
    far = read_audio(make_speech(tmp_path / "far.wav", [
        "The capital of France is Paris. It is a large city with many museums, and the river runs through it.",
        "Berlin is the capital of Germany, and it has a long history of art."])).samples
    near = 0.8 * read_audio(make_speech(tmp_path / "near.wav", ["Stop, what about Germany?"])).samples
    mic = _room(far)
    start = 8 * RATE  # someone talks over the answer once the canceller has heard the room for a while
    mic[start:start + len(near)] += near
    linear: list[bool] = []
    aec3, frames = await _cancel(EchoCanceller(_reference()), mic, far, linear)
    words = np.concatenate([f.heard_for_words for f in frames if isinstance(f, AudioChunk)])  # what Whisper hears
    assert len(words) == len(aec3)
    chunks = [f for f in frames if isinstance(f, AudioChunk)]
    assert not linear[0]  # until the linear filter has converged, Whisper hears AEC3
    assert all(heard for c, heard in zip(chunks, linear, strict=True) if 6 <= c.timestamp <= 10)
    echo_only = slice(6 * RATE, start)
    # the linear filter and Speex's suppressor after it take the echo well down (the filter alone: 15 dB)
    assert _db(mic[echo_only]) - _db(words[echo_only]) >= 17
    voice = slice(start, start + len(near))
    assert abs(_db(words[voice]) - _db(near)) < 3  # and leave the voice over it near its level
    assert _db(aec3[voice]) < _db(words[voice]) - 3  # where AEC3's suppressor takes it down with the echo


@pytest.mark.asyncio
async def test_whisper_hears_speech_over_the_echo_with_the_rooms_noise_suppressed(tmp_path):
    voice = 0.5 * read_audio(make_speech(tmp_path / "near.wav", ["Stop, what about Germany?"])).samples
    mic = np.concatenate([np.zeros(2 * RATE, np.float32), voice])
    mic += np.random.default_rng(7).standard_normal(len(mic)).astype(np.float32) * 0.01  # a fan's hiss
    _, frames = await _cancel(EchoCanceller(_reference()), mic, None)
    chunks = [f for f in frames if isinstance(f, AudioChunk)]
    words, vad_hears = (np.concatenate([getattr(c, name) for c in chunks]) for name in ("for_words", "samples"))
    noise, said = slice(RATE, 2 * RATE), slice(2 * RATE, 2 * RATE + len(voice))
    assert _db(vad_hears[noise]) - _db(words[noise]) >= 8  # the room's noise is suppressed for Whisper
    assert abs(_db(words[said]) - _db(vad_hears[said])) < 2  # the voice is not


@pytest.mark.asyncio
async def test_a_noise_suppressor_that_fails_leaves_the_words_and_the_canceller_going():
    class Breaking:
        def process_stream(self, frame: object) -> None:
            raise RuntimeError("noise suppressor state corrupted")

    far = np.sin(np.arange(RATE) / RATE * 2 * np.pi * 300).astype(np.float32) * 0.2
    out, frames = await _cancel(EchoCanceller(_reference(), make_denoiser=Breaking), _room(far), far)
    chunks = [f for f in frames if isinstance(f, AudioChunk)]
    assert chunks and all(np.array_equal(c.for_words, c.samples) for c in chunks)  # AEC3's output, as it is
    assert not any(isinstance(f, SourceStatus) for f in frames)  # not half-duplex
    assert _db(out[RATE // 2:]) < _db(_room(far)[RATE // 2:len(out)]) - 10  # AEC3 still removes the echo


@pytest.mark.asyncio
async def test_whisper_hears_the_linear_filter_within_seconds_of_a_late_echo(tmp_path):
    """On a sound card the reference runs 150 ms ahead of the microphone, and the room adds its own
    delay: the filter starts where the echo is measured to lie, so it converges as soon as on an
    echo that comes at once (a filter spanning the whole way took over 6 s: the first answers)."""
    far = read_audio(make_speech(tmp_path / "far.wav", [
        "The capital of France is Paris. It is a large city with many museums, and the river runs through it.",
        "Berlin is the capital of Germany, and it has a long history of art."])).samples
    mic = _room(far, delay_ms=250.0)
    canceller, linear = EchoCanceller(_reference()), []
    _, frames = await _cancel(canceller, mic, far, linear)
    chunks = [f for f in frames if isinstance(f, AudioChunk)]
    heard = [c.timestamp for c, heard in zip(chunks, linear, strict=True) if heard]
    assert heard and heard[0] < 4.5 and linear[-1]
    assert canceller.echo_lag.lag_at(ORIGIN + 5.0) == pytest.approx(0.25 * RATE, abs=1)


@pytest.mark.asyncio
async def test_without_the_linear_filter_whisper_hears_aec3s_output():
    def missing() -> object:
        raise ImportError("No module named 'pyaec'")

    far = np.sin(np.arange(RATE) / RATE * 2 * np.pi * 300).astype(np.float32) * 0.2
    canceller = EchoCanceller(_reference(), make_linear=missing, make_denoiser=missing)
    out, frames = await _cancel(canceller, _room(far), far)
    chunks = [f for f in frames if isinstance(f, AudioChunk)]
    assert chunks and all(np.array_equal(c.for_words, c.samples) for c in chunks)
    assert not any(isinstance(f, SourceStatus) for f in frames)  # AEC3 still runs: no half-duplex


@pytest.mark.asyncio
async def test_the_canceller_says_when_it_has_settled_on_the_rooms_echo(tmp_path):
    far = read_audio(make_speech(tmp_path / "far.wav", ["The capital of France is Paris. It is a large city "
                                                        "with many museums, and the river runs through it."])).samples
    canceller = EchoCanceller(_reference())
    _, frames = await _cancel(canceller, _room(far), far)
    chunks = [f for f in frames if isinstance(f, AudioChunk)]
    assert not chunks[0].echo_settled  # nothing measured yet: the VAD stays strict
    settled = [c.timestamp for c in chunks if c.echo_settled]
    assert settled and settled[0] < 2.0 and chunks[-1].echo_settled  # after about a second of echo, and on
    # a room whose echo the canceller cannot remove (the far end the speaker does not play) never settles
    stranger = EchoCanceller(_reference())
    _, frames = await _cancel(stranger, _room(far), np.roll(far, RATE // 3) * 0.01)
    assert not any(f.echo_settled for f in frames if isinstance(f, AudioChunk))


@pytest.mark.asyncio
async def test_an_answer_after_a_silence_is_measured_anew_before_the_canceller_counts_as_settled(tmp_path):
    said = ["The capital of France is Paris. It is a large city with many museums, and the river runs through it."]
    speech = read_audio(make_speech(tmp_path / "far.wav", said)).samples
    far = np.concatenate([speech, np.zeros(2 * RATE, np.float32), speech])  # two answers, 2 s apart
    mic, canceller, sink = _room(far), EchoCanceller(_reference()), QueueSink()
    canceller.link(sink)
    block, second = 512, len(speech) + 2 * RATE
    for start in range(0, len(mic), block):
        NOW[0] = ORIGIN + (start + block) / RATE
        if far[start:start + block].any():  # a player adds only what it plays, not the silence between answers
            canceller.reference.add(far[start:start + block], at=ORIGIN + start / RATE)
        await canceller.process(AudioChunk(mic[start:start + block], RATE, start / RATE, created=NOW[0]))
    chunks = [f for f in (sink.queue.get_nowait() for _ in range(sink.queue.qsize())) if isinstance(f, AudioChunk)]
    first = [c for c in chunks if c.timestamp < len(speech) / RATE]
    again = [c for c in chunks if c.timestamp >= second / RATE]
    between = [c for c in chunks if len(speech) / RATE + 1 < c.timestamp < second / RATE]
    assert first[-1].echo_settled and any(not c.far_end for c in between)  # the voice stopped for a while
    assert again[0].far_end and not again[0].echo_settled  # the room's echo is measured anew for this answer
    settled = [c.timestamp - second / RATE for c in again if c.echo_settled]
    assert settled and settled[0] < 1.5 and again[-1].echo_settled


@pytest.mark.asyncio
async def test_without_a_far_end_the_microphone_passes_unchanged_in_level():
    rng = np.random.default_rng(1)
    t = np.arange(2 * RATE) / RATE
    voice = (0.3 * np.sin(2 * np.pi * 220 * t) * (1 + np.sin(2 * np.pi * 3 * t)) / 2).astype(np.float32)
    voice += rng.standard_normal(len(voice)).astype(np.float32) * 0.01
    out, frames = await _cancel(EchoCanceller(_reference()), voice, None)
    assert abs(_db(out[RATE:]) - _db(voice[RATE:len(out)])) < 3
    assert not any(f.far_end for f in frames if isinstance(f, AudioChunk))


@pytest.mark.asyncio
async def test_a_canceller_that_cannot_load_goes_half_duplex_and_says_so():
    def broken() -> object:
        raise OSError("no AEC on this machine")

    far = np.full(RATE, 0.2, np.float32)
    out, frames = await _cancel(EchoCanceller(_reference(), make=broken), far.copy(), far)
    status = [f for f in frames if isinstance(f, SourceStatus)]
    assert len(status) == 1 and "no AEC on this machine" in status[0].detail and "muted" in status[0].detail
    assert not out.any()  # while the assistant speaks the microphone is muted


def test_the_reference_gives_what_played_at_a_time_and_silence_around_it():
    now = [10.0]
    reference = EchoReference(max_seconds=1.0, hold_s=0.5, clock=lambda: now[0])
    assert not reference.active
    reference.add(np.full(RATE // 2, 0.5, np.float32))  # half a second from 10.0
    assert reference.active
    window = reference.take(RATE, at=9.75)  # a second from 9.75: a quarter of silence, then what played
    assert not window[:RATE // 4].any() and (window[RATE // 4:RATE * 3 // 4] == 0.5).all()
    assert not window[RATE * 3 // 4:].any()
    now[0] = 10.9
    assert reference.active  # the room still rings
    now[0] = 11.1
    assert not reference.active
    reference.add(np.ones(10, np.float32), at=12.5)  # what played over a second before is forgotten
    assert not reference.take(RATE // 2, at=10.0).any()


def test_a_voice_louder_than_the_rooms_echo_is_told_apart_once_the_echo_return_is_learned():
    from assistant.double_talk import LouderThanEcho

    louder = LouderThanEcho()
    played, echo = 0.01, 0.0025  # the room returns a quarter of the speaker's energy
    assert not louder.update(played, 8 * echo, 0.0)  # nothing learned yet: no judgement
    for _ in range(60):  # echo alone, which the canceller removes
        assert not louder.update(played, echo, echo * 0.001)
    assert louder.update(played, 8 * echo, 4 * echo)  # 9 dB over the echo the room returns: a voice
    assert not louder.update(played, 2 * echo, echo)  # 3 dB over: the room's own variation
    assert louder.update(0.0, 8 * echo, 4 * echo)  # the speaker stopped a moment ago: its echo may still ring
    quiet = LouderThanEcho()
    for _ in range(60):
        quiet.update(0.0, 0.05, 0.05)  # nothing plays: nothing to learn, nothing to judge
    assert not quiet.update(0.0, 0.05, 0.05)



@pytest.mark.asyncio
async def test_the_simulated_room_stamps_what_it_plays_and_records_on_its_steady_clock():
    """As a sound card's samples are: however late the room's thread wakes, each block of the
    reference lines up with the microphone block it was recorded over (a linear echo filter needs
    them sample-exact)."""
    rng = np.random.default_rng(3)
    now = [50.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds + rng.uniform(0.0, 0.02)  # the thread wakes up to 20 ms late

    room = SimulatedRoom([], seconds=1.0, path=EchoPath(), clock=lambda: now[0], sleep=sleep)
    ramp = np.linspace(-0.5, 0.5, RATE, dtype=np.float32)
    room.speaker.play(AudioData(ramp, RATE))
    chunks = [f async for f in room.frames() if isinstance(f, AudioChunk)]
    block = len(chunks[0].samples)
    assert len(chunks) == -(-RATE // block)  # a second of blocks, the last one partly past the ramp
    for index, chunk in enumerate(chunks):
        assert chunk.created == pytest.approx(room.started_at + (index + 1) * block / RATE, abs=1e-9)
        played = room.reference.take(block, chunk.created - block / RATE)
        expected = ramp[index * block:(index + 1) * block]
        assert np.array_equal(played[:len(expected)], expected) and not played[len(expected):].any()


@pytest.mark.asyncio
async def test_a_linear_filter_that_fails_leaves_aec3_running_and_whisper_hearing_its_output():
    class Failing:
        def cancel(self, heard: np.ndarray, played: np.ndarray) -> np.ndarray:
            raise RuntimeError("speex state corrupted")

    far = np.sin(np.arange(RATE) / RATE * 2 * np.pi * 300).astype(np.float32) * 0.2
    canceller = EchoCanceller(_reference(), make_linear=Failing, make_denoiser=_no_denoiser)
    out, frames = await _cancel(canceller, _room(far), far)
    chunks = [f for f in frames if isinstance(f, AudioChunk)]
    assert chunks and all(np.array_equal(c.for_words, c.samples) for c in chunks)
    assert not any(isinstance(f, SourceStatus) for f in frames)  # not half-duplex
    assert _db(out[RATE // 2:]) < _db(_room(far)[RATE // 2:len(out)]) - 10  # AEC3 still removes the echo


@pytest.mark.asyncio
async def test_a_linear_filter_that_does_not_remove_the_echo_is_not_what_whisper_hears():
    class Unconverged:  # a filter that cannot follow the room: the microphone as it came
        def cancel(self, heard: np.ndarray, played: np.ndarray) -> np.ndarray:
            return heard.copy()

    far = np.random.default_rng(4).standard_normal(4 * RATE).astype(np.float32) * 0.1
    canceller = EchoCanceller(_reference(), make_linear=Unconverged, make_denoiser=_no_denoiser)
    out, frames = await _cancel(canceller, _room(far), far)
    assert canceller.settled and not canceller.linear_settled  # AEC3 removes the echo, the filter does not
    assert all(np.array_equal(f.for_words, f.samples) for f in frames if isinstance(f, AudioChunk))


@pytest.mark.asyncio
async def test_a_linear_filter_stuck_from_its_start_is_started_anew(tmp_path):
    """Speex's filter can lock into a poor state from its first frames (on a PulseAudio loop it
    then removed 2-7 dB for good): one not heard after 3 s of echo is replaced."""
    class Stuck:  # the filter that locked up: the microphone as it came
        def cancel(self, heard: np.ndarray, played: np.ndarray) -> np.ndarray:
            return heard.copy()

    made: list[object] = []

    def make() -> object:
        made.append(Stuck() if not made else LinearEcho())
        return made[-1]

    far = read_audio(make_speech(tmp_path / "far.wav", [
        "The capital of France is Paris. It is a large city with many museums, and the river runs through it.",
        "Berlin is the capital of Germany, and it has a long history of art and music.",
        "Rome is the capital of Italy, an old city of churches, fountains and narrow streets."])).samples
    linear: list[bool] = []
    await _cancel(EchoCanceller(_reference(), make_linear=make), _room(far), far, linear)
    assert [type(f) for f in made] == [Stuck, LinearEcho]
    assert linear[-1]  # the new one removes the echo well: Whisper hears it


@pytest.mark.asyncio
async def test_whisper_hears_the_linear_filter_where_the_speaker_and_microphone_clocks_drift_apart(tmp_path):
    """With the speaker and the microphone on two cards, the echo's lag behind its reference drifts:
    the linear filter's reference follows it, so the filter goes on removing the echo well and
    Whisper hears its output (chasing the drift, it removed 8-10 dB and Whisper heard AEC3's)."""
    far = read_audio(make_speech(tmp_path / "far.wav", [
        "The capital of France is Paris. It is a large city with many museums, and the river runs through it.",
        "Berlin is the capital of Germany, and it has a long history of art and music.",
        "Rome is the capital of Italy, an old city of churches, fountains and narrow streets.",
        "Madrid is the capital of Spain, high on a plain in the middle of the country, hot in summer.",
        "Vienna is the capital of Austria, on the Danube, a city of music, coffee houses and palaces."])).samples
    nominal = _room(far, delay_ms=60.0, gain=0.7)

    def take(count: int, at: float) -> np.ndarray:
        return np.pad(nominal[round(at * RATE):][:count], (0, count))[:count]

    mic = np.zeros_like(nominal)
    for start in range(0, len(mic), 512):  # the echo's lag grows by 65 ppm of the time gone
        mic[start:start + 512] = read_shifted(take, 512, start / RATE, 65e-6 * start)[:len(mic) - start]
    linear: list[bool] = []
    _, frames = await _cancel(EchoCanceller(_reference()), mic, far, linear)
    chunks = [f for f in frames if isinstance(f, AudioChunk)]
    last = len(far) / RATE - 6.0  # its last 6 s
    assert all(heard for c, heard in zip(chunks, linear, strict=True) if c.timestamp >= last)  # the filter is heard
    late = [c for c in chunks if c.timestamp >= last]
    words = np.concatenate([c.for_words for c in late])
    start = round(late[0].timestamp * RATE)
    assert _db(mic[start:start + len(words)]) - _db(words) >= 15


@pytest.mark.asyncio
async def test_the_simulated_rooms_echo_can_drift_as_a_sound_cards_does():
    now = [10.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    clicks = np.zeros(RATE, np.float32)
    clicks[[0, RATE // 2]] = 0.5  # a click at once and half a second later
    path = EchoPath(delay_ms=50, gain=1.0, tail_gain=0.0, noise=0.0, drift_ppm=2000.0)
    room = SimulatedRoom([], seconds=1.0, path=path, clock=lambda: now[0], sleep=sleep)
    room.speaker.play(AudioData(clicks, RATE))
    heard = np.concatenate([f.samples for f in [f async for f in room.frames()] if isinstance(f, AudioChunk)])
    first, second = np.argmax(heard[:RATE // 2]), RATE // 2 + np.argmax(heard[RATE // 2:])
    assert first == pytest.approx(800, abs=1)  # 50 ms after it played (and 2000 ppm of that)
    # half a second later the lag has grown by 2000 ppm of it: 16 samples, give or take the 32 ms block
    assert second - RATE // 2 - first == pytest.approx(16, abs=2)
    steady = SimulatedRoom([], seconds=1.0, path=replace(path, drift_ppm=0.0), clock=lambda: now[0], sleep=sleep)
    steady.speaker.play(AudioData(clicks, RATE))
    heard = np.concatenate([f.samples for f in [f async for f in steady.frames()] if isinstance(f, AudioChunk)])
    assert list(np.nonzero(heard)[0]) == [800, RATE // 2 + 800] and heard[800] == 0.5  # without: as played
