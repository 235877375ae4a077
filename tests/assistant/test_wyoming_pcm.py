"""Wyoming audio formats as float samples, the bounded event reader on its own, and the limits'
own checks (no server, no models)."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest
from wyoming.audio import AudioChunk
from wyoming.tts import Synthesize

from assistant.wyoming.limits import WyomingLimits
from assistant.wyoming.pcm import AudioFormatError, PcmFormat, pcm_to_samples
from assistant.wyoming.reader import ProtocolError, read_event

from .wyoming_client import frame, pcm

WAVE = np.sin(np.linspace(0, 20, 500)).astype(np.float32) * 0.8


@pytest.mark.parametrize("width", [1, 2, 3, 4])
@pytest.mark.parametrize("channels", [1, 2, 6])
def test_every_width_and_channel_count_reads_back(width: int, channels: int):
    samples = pcm_to_samples(pcm(WAVE, width, channels), PcmFormat(16000, width, channels))
    assert samples.dtype == np.float32 and samples.shape == WAVE.shape
    assert np.abs(samples - WAVE).max() < (0.02 if width == 1 else 1e-4)


def test_stereo_becomes_the_mean_of_its_channels():
    left, right = WAVE, -WAVE / 2
    interleaved = np.stack([left, right], axis=1).reshape(-1)
    samples = pcm_to_samples(pcm(interleaved, 2, 1), PcmFormat(16000, 2, 2))
    assert np.abs(samples - (left + right) / 2).max() < 1e-4


@pytest.mark.parametrize("data", [
    {"rate": 16000, "width": 2}, {"rate": 16000.5, "width": 2, "channels": 1},
    {"rate": True, "width": 2, "channels": 1}, {"rate": 1, "width": 2, "channels": 1},
    {"rate": 16000, "width": 8, "channels": 1}, {"rate": 16000, "width": 2, "channels": 9},
])
def test_formats_outside_what_it_reads_are_refused(data: dict):
    with pytest.raises(AudioFormatError):
        PcmFormat.of(data, "audio-start")


def test_limits_check_themselves():
    with pytest.raises(ValueError, match="max_header_bytes"):
        WyomingLimits(max_header_bytes=1 << 20)
    with pytest.raises(ValueError):
        WyomingLimits(max_text_chars=0)


async def _read(data: bytes, **limits: int):
    reader = asyncio.StreamReader()
    reader.feed_data(data)
    reader.feed_eof()
    return await read_event(reader, WyomingLimits(**limits))


@pytest.mark.asyncio
async def test_the_reader_merges_data_and_keeps_the_payload():
    event = await _read(frame(AudioChunk(rate=16000, width=2, channels=1, audio=b"\1\2\3\4").event()))
    assert event.type == "audio-chunk" and event.data["rate"] == 16000 and event.payload == b"\1\2\3\4"
    assert await _read(b"") is None  # closed between events


@pytest.mark.asyncio
async def test_the_reader_refuses_lengths_over_its_limits_before_reading_them():
    with pytest.raises(ProtocolError, match="payload_length of 5 bytes; at most 4") as refused:
        await _read(frame(AudioChunk(rate=16000, width=2, channels=1, audio=b"\0" * 5).event()), max_payload_bytes=4)
    assert refused.value.code == "too_large"
    with pytest.raises(ProtocolError, match="data_length"):
        await _read(frame(Synthesize(text="hello there").event()), max_data_bytes=8)
    with pytest.raises(ProtocolError, match="header of"):
        await _read(frame(Synthesize(text="hello").event()), max_header_bytes=10)
