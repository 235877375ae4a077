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
