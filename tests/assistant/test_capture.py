"""Capture sources on real files made here, and on this machine's missing camera and microphone.

Pacing is checked on a fake clock (the sleeps a source asks for), never by timing it; the few real
waits below are hang guards with generous bounds.
"""

from __future__ import annotations

import asyncio
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from assistant.capture import (
    AudioFileSource,
    CameraSource,
    CaptureSource,
    MicrophoneSource,
    Pacer,
    VideoFileSource,
    list_cameras,
    list_microphones,
    open_camera,
    open_microphone,
)
from assistant.capture.base import Run
from assistant.frames import AudioChunk, Frame, SourceStatus, VideoFrame
from models.media import VideoData, encode_mp4, read_audio

pytestmark = pytest.mark.asyncio

FRAMES = 20
FPS = 10
RATE = 16000
BLOCK = 512  # 32 ms at 16 kHz
HANG_GUARD_S = 5.0


# ---------------------------------------------------------------------------------------------
# Media made here, and helpers


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2 s, 10 fps MP4 whose frame i is a flat grey of brightness 10 * i."""
    frames = np.stack([np.full((48, 64, 3), 10 * i, np.uint8) for i in range(FRAMES)])
    path = tmp_path_factory.mktemp("capture") / "count.mp4"
    path.write_bytes(encode_mp4(VideoData(frames, FPS)))
    return path


@pytest.fixture(scope="module")
def tone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 0.5 s 440 Hz tone at 16 kHz (8000 samples: not a whole number of 512-sample blocks)."""
    t = np.arange(RATE // 2) / RATE
    path = tmp_path_factory.mktemp("capture") / "tone.wav"
    sf.write(path, (0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), RATE, subtype="FLOAT")
    return path


def index_of(frame: VideoFrame) -> int:
    """The frame number that the clip's brightness encodes."""
    return round(float(frame.pixels.mean()) / 10)


class FakeClock:
    """A clock that only moves when a source sleeps on it: its sleeps are the pacing schedule."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


async def collect(source: CaptureSource, limit: int | None = None) -> list[Frame]:
    """All of ``source``'s frames (stopping it after ``limit`` media frames), with a hang guard."""

    async def run() -> list[Frame]:
        out: list[Frame] = []
        media = 0
        async for frame in source.frames():
            out.append(frame)
            if isinstance(frame, (VideoFrame, AudioChunk)):
                media += 1
                if limit is not None and media == limit:
                    source.stop()
        return out

    return await asyncio.wait_for(run(), HANG_GUARD_S)


def media_of(frames: list[Frame]) -> list:
    return [f for f in frames if isinstance(f, (VideoFrame, AudioChunk))]


def statuses_of(frames: list[Frame]) -> list[SourceStatus]:
    return [f for f in frames if isinstance(f, SourceStatus)]


def assert_protocol(frames: list[Frame], terminal: str) -> None:
    """``started`` first when anything was captured, exactly one terminal status, and it last."""
    states = [s.state for s in statuses_of(frames)]
    assert isinstance(frames[-1], SourceStatus) and frames[-1].state == terminal
    if media_of(frames):
        assert isinstance(frames[0], SourceStatus) and frames[0].state == "started"
        assert states == ["started", terminal]
    else:
        assert states in (["started", terminal], [terminal])


# ---------------------------------------------------------------------------------------------
# Video files


async def test_video_file_emits_every_frame_in_order(clip: Path):
    frames = await collect(VideoFileSource(clip, realtime=False))
    assert_protocol(frames, "ended")
    video = media_of(frames)
    assert [index_of(f) for f in video] == list(range(FRAMES))
    assert [f.timestamp for f in video] == pytest.approx([i / FPS for i in range(FRAMES)], abs=1e-6)
    assert all(f.pixels.shape == (48, 64, 3) and f.pixels.dtype == np.uint8 for f in video)
    assert str(clip) in frames[0].detail


async def test_video_file_paced_on_its_timeline(clip: Path):
    clock = FakeClock()
    source = VideoFileSource(clip, clock=clock, sleep=clock.sleep)
    frames = await collect(source)
    assert len(media_of(frames)) + source.dropped == FRAMES  # at full speed a busy consumer may miss some
    # One sleep of a frame's duration before each frame after the first, and one after the last
    # (it is shown for its whole duration before the stream ends): together, the clip's duration.
    assert clock.sleeps == pytest.approx([1 / FPS] * FRAMES, abs=1e-6)
    assert sum(clock.sleeps) == pytest.approx(FRAMES / FPS)


async def test_video_file_subsampled_to_a_lower_rate(clip: Path):
    frames = media_of(await collect(VideoFileSource(clip, fps=5, realtime=False)))
    assert [index_of(f) for f in frames] == list(range(0, FRAMES, 2))
    assert [f.timestamp for f in frames] == pytest.approx([i / 5 for i in range(FRAMES // 2)], abs=1e-6)
    clock = FakeClock()
    await collect(VideoFileSource(clip, fps=5, clock=clock, sleep=clock.sleep))
    assert clock.sleeps == pytest.approx([0.2] * (FRAMES // 2), abs=1e-6)


async def test_video_file_scaled_to_a_size(clip: Path):
    frames = media_of(await collect(VideoFileSource(clip, realtime=False, size=(32, 24))))
    assert len(frames) == FRAMES and frames[0].pixels.shape == (24, 32, 3)


async def test_looping_keeps_timestamps_growing(clip: Path):
    count = 2 * FRAMES + 5
    frames = await collect(VideoFileSource(clip, loop=True, realtime=False), limit=count)
    assert_protocol(frames, "ended")
    assert frames[-1].detail == "stopped"
    video = media_of(frames)
    assert [index_of(f) for f in video] == [i % FRAMES for i in range(count)]
    assert [f.timestamp for f in video] == pytest.approx([i / FPS for i in range(count)], abs=1e-6)


@pytest.mark.parametrize("kind", ["video", "audio"])
async def test_stop_ends_a_realtime_stream_promptly(clip: Path, tone: Path, kind: str):
    source = VideoFileSource(clip, loop=True) if kind == "video" else AudioFileSource(tone, loop=True)
    received: list[Frame] = []
    got_one = asyncio.Event()

    async def read() -> None:
        async for frame in source.frames():
            received.append(frame)
            if isinstance(frame, (VideoFrame, AudioChunk)):
                got_one.set()

    reader = asyncio.create_task(read())
    await asyncio.wait_for(got_one.wait(), HANG_GUARD_S)
    threading.Thread(target=source.stop).start()  # stop() may come from any thread
    source.stop()  # and any number of times
    await asyncio.wait_for(reader, 2.0)
    assert (received[-1].state, received[-1].detail) == ("ended", "stopped")
    assert source.join(2.0), "the reader thread should exit once stopped"
    again = await collect(source)  # a stopped source stays stopped
    assert [(s.state, s.detail) for s in again] == [("ended", "stopped")]


# ---------------------------------------------------------------------------------------------
# Audio files


async def test_audio_file_chunks_cover_the_clip_and_padding(tone: Path):
    clip = read_audio(tone, rate=RATE).samples
    source = AudioFileSource(tone, realtime=False, lead_silence_s=0.1, tail_silence_s=0.2)
    frames = await collect(source)
    assert_protocol(frames, "ended")
    chunks = media_of(frames)
    assert all(c.samples.shape == (BLOCK,) and c.samples.dtype == np.float32 and c.rate == RATE for c in chunks)
    lead, tail = int(0.1 * RATE), int(0.2 * RATE)
    padded = lead + clip.size + tail
    assert len(chunks) == -(-padded // BLOCK)  # the last block is filled up with zeros
    stream = np.concatenate([c.samples for c in chunks])
    assert not stream[:lead].any() and not stream[lead + clip.size:].any()
    np.testing.assert_array_equal(stream[lead:lead + clip.size], clip)
    assert [c.timestamp for c in chunks] == pytest.approx([i * BLOCK / RATE for i in range(len(chunks))])


async def test_audio_file_paced_block_by_block(tone: Path):
    clock = FakeClock()
    chunks = media_of(await collect(AudioFileSource(tone, block_ms=32, clock=clock, sleep=clock.sleep)))
    # each block is emitted once its last sample is due, as a microphone's would be
    assert clock.sleeps == pytest.approx([BLOCK / RATE] * len(chunks))
    assert sum(clock.sleeps) == pytest.approx(len(chunks) * BLOCK / RATE)


async def test_audio_file_loops_seamlessly(tone: Path):
    clip = read_audio(tone, rate=RATE).samples
    count = 40  # 2.5 passes over the clip
    chunks = media_of(await collect(AudioFileSource(tone, loop=True, realtime=False), limit=count))
    assert len(chunks) == count
    np.testing.assert_array_equal(np.concatenate([c.samples for c in chunks]), np.resize(clip, count * BLOCK))
    assert chunks[-1].timestamp == pytest.approx((count - 1) * BLOCK / RATE)


@pytest.mark.filterwarnings("ignore:The test .* is marked with '@pytest.mark.asyncio'")
def test_pacer_keeps_to_its_schedule_despite_work_and_lag():
    clock = FakeClock()
    pacer = Pacer(clock, clock.sleep, max_lag=0.5)
    for i in range(5):
        pacer.wait_until(i * 0.1)
        clock.now += 0.03  # the work done per frame is taken out of the next sleep: no drift
    assert clock.sleeps == pytest.approx([0.07] * 4)
    clock.now += 2.0  # far behind (a stall): the schedule restarts instead of bursting
    pacer.wait_until(0.5)
    pacer.wait_until(0.6)
    assert clock.sleeps[-1] == pytest.approx(0.1)


# ---------------------------------------------------------------------------------------------
# The queue between the reader thread and the loop


class Burst(CaptureSource):
    """Emits ``count`` audio chunks as fast as it can (once ``go`` is set, when given), then ends."""

    def __init__(self, count: int, queue_size: int, *, fail: bool = False, go: threading.Event | None = None) -> None:
        super().__init__("burst", queue_size)
        self.count = count
        self.fail = fail
        self.go = go

    def _read(self, run: Run) -> str:
        run.started()
        if self.go is not None:
            self.go.wait(HANG_GUARD_S)
        for i in range(self.count):
            if not run.emit(AudioChunk(np.zeros(4, np.float32), RATE, float(i))):
                return "stopped"
        if self.fail:
            raise OSError("the device went away")
        return "done"


async def test_a_slow_consumer_loses_the_oldest_frames():
    go = threading.Event()
    source = Burst(20, queue_size=4, go=go)

    async def read() -> list[Frame]:
        out = []
        async for frame in source.frames():
            out.append(frame)
            if len(out) == 1:  # took `started`: let the burst go, and read nothing until it is over
                go.set()
                assert await asyncio.to_thread(source.join, HANG_GUARD_S)
        return out

    frames = await asyncio.wait_for(read(), HANG_GUARD_S)
    assert_protocol(frames, "ended")
    kept = [c.timestamp for c in media_of(frames)]
    assert kept == [17.0, 18.0, 19.0]  # the newest; the oldest gave way, one for the terminal status
    assert source.dropped == 17 and len(kept) + source.dropped == 20
    assert source.peak_queued <= source.queue_size


async def test_a_slow_consumer_of_a_live_file_drops_and_stays_bounded(clip: Path):
    clock = FakeClock()  # the file runs at full speed: pacing costs no time on this clock
    source = VideoFileSource(clip, clock=clock, sleep=clock.sleep, queue_size=3)
    frames = []
    async for frame in source.frames():
        frames.append(frame)
        await asyncio.sleep(0.01)
    video = media_of(frames)
    assert len(video) + source.dropped == FRAMES
    assert source.peak_queued <= 3
    indexes = [index_of(f) for f in video]
    assert indexes == sorted(indexes) and indexes[-1] == FRAMES - 1


async def test_faster_than_realtime_files_wait_for_the_consumer(clip: Path):
    source = VideoFileSource(clip, realtime=False, queue_size=2)
    frames = []
    async for frame in source.frames():
        frames.append(frame)
        await asyncio.sleep(0.005)
    assert [index_of(f) for f in media_of(frames)] == list(range(FRAMES))
    assert source.dropped == 0 and source.peak_queued <= 2


async def test_a_failure_after_start_is_an_error_status():
    frames = await collect(Burst(3, queue_size=8, fail=True))
    assert_protocol(frames, "error")
    assert "the device went away" in frames[-1].detail


async def test_one_reader_at_a_time(clip: Path):
    source = VideoFileSource(clip, loop=True)
    first = source.frames()
    assert (await anext(first)).state == "started"
    with pytest.raises(RuntimeError, match="already"):
        await anext(source.frames())
    source.stop()
    await first.aclose()


# ---------------------------------------------------------------------------------------------
# Devices this machine does not have, and bad files


async def test_missing_camera_is_unavailable_not_an_exception():
    frames = await collect(CameraSource(0), limit=1)
    if media_of(frames):
        pytest.skip("this machine has a camera at index 0")
    assert [(s.source, s.state) for s in frames] == [("camera", "unavailable")]
    assert "no camera at index 0" in frames[0].detail and "video file" in frames[0].detail
    assert list_cameras(1) == []


async def test_missing_microphone_is_unavailable_not_an_exception():
    frames = await collect(MicrophoneSource(), limit=1)
    if list_microphones():
        assert frames[-1].state in ("ended", "unavailable")  # a real device: whatever it did, no exception
        pytest.skip("PortAudio lists an input device here")
    assert_protocol(frames, "unavailable")
    assert "microphone" in frames[-1].detail and "audio file" in frames[-1].detail


async def test_microphone_without_portaudio_is_unavailable(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setitem(sys.modules, "sounddevice", None)  # importing it now raises ImportError
    frames = await collect(MicrophoneSource("USB"))
    assert_protocol(frames, "unavailable")
    assert "PortAudio" in frames[-1].detail
    assert list_microphones() == []


@pytest.mark.parametrize("kind", ["missing", "garbage", "truncated", "empty"])
async def test_bad_files_are_reported_with_their_path(clip: Path, tmp_path: Path, kind: str):
    path = tmp_path / f"{kind}.mp4"
    if kind == "garbage":
        path.write_bytes(b"this is not a video" * 100)
    elif kind == "truncated":
        path.write_bytes(clip.read_bytes()[: clip.stat().st_size // 2])
    elif kind == "empty":
        path.write_bytes(b"")
    for source in (VideoFileSource(path), AudioFileSource(path)):
        frames = await collect(source)
        assert frames[-1].state in ("unavailable", "error")
        assert str(path) in frames[-1].detail
        assert [s.state for s in statuses_of(frames)][-1:] == [frames[-1].state]


# ---------------------------------------------------------------------------------------------
# What a command line gives


async def test_open_camera_dispatch(clip: Path):
    assert isinstance(open_camera("0"), CameraSource) and open_camera("0").index == 0
    assert open_camera("1").index == 1 and open_camera("default").index == 0
    looped = open_camera(str(clip), loop=True)
    assert isinstance(looped, VideoFileSource) and looped.loop and looped.name == "camera"
    missing = open_camera("missing.mp4")
    assert isinstance(missing, VideoFileSource)
    frames = await collect(missing)
    assert frames[-1].source == "camera" and frames[-1].state == "unavailable"
    assert "missing.mp4" in frames[-1].detail


async def test_open_microphone_dispatch(tone: Path):
    assert open_microphone("default").device is None
    assert open_microphone("2").device == 2
    named = open_microphone("USB Audio")
    assert isinstance(named, MicrophoneSource) and named.device == "USB Audio"
    played = open_microphone(str(tone), loop=True)
    assert isinstance(played, AudioFileSource) and played.loop and played.name == "microphone"
    missing = open_microphone("missing.wav")
    assert isinstance(missing, AudioFileSource)
    frames = await collect(missing)
    assert frames[-1].state == "unavailable" and "missing.wav" in frames[-1].detail
