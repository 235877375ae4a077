"""`resample`: a clip at another sample rate, through FFmpeg's resampler (PyAV), as every audio
file is read."""

from __future__ import annotations

import av
import numpy as np

from models.media.types import AudioData


def resample(audio: AudioData, rate: int) -> AudioData:
    """`audio` at `rate` samples per second (the same clip when it is already there)."""
    if audio.rate == rate or len(audio.samples) == 0:
        return audio if audio.rate == rate else AudioData(audio.samples, rate)
    frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(audio.samples, np.float32)[None, :], format="flt",
                                       layout="mono")
    frame.sample_rate = audio.rate
    resampler = av.AudioResampler(format="flt", layout="mono", rate=rate)
    parts = [out.to_ndarray().reshape(-1) for out in (*resampler.resample(frame), *resampler.resample(None))]
    samples = np.concatenate(parts).astype(np.float32, copy=False) if parts else np.zeros(0, np.float32)
    return AudioData(np.clip(samples, -1.0, 1.0), rate)


class StreamResampler:
    """Blocks of a live stream (`channels` of them, at `rate_in`) as mono float32 at `rate_out`,
    through one FFmpeg resampler kept across blocks, so block edges leave no clicks. For a
    microphone that opens only at its own rate and channel count (48 kHz stereo, 8 kHz...)."""

    def __init__(self, rate_in: int, channels: int, rate_out: int) -> None:
        if channels < 1:
            raise ValueError(f"a stream has at least one channel, got {channels}")
        self.rate_in, self.channels = rate_in, channels
        self._resampler = av.AudioResampler(format="flt", layout="mono", rate=rate_out)

    def feed(self, block: np.ndarray) -> np.ndarray:
        """`block`, shaped (samples, channels) or (samples,) for mono: what comes out so far (the
        channels averaged)."""
        mono = block.mean(axis=1) if block.ndim == 2 else block
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(mono, np.float32)[None, :], format="flt",
                                           layout="mono")
        frame.sample_rate = self.rate_in
        parts = [out.to_ndarray().reshape(-1) for out in self._resampler.resample(frame)]
        return np.concatenate(parts).astype(np.float32, copy=False) if parts else np.zeros(0, np.float32)
