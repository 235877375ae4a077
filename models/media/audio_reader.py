"""`read_audio`: the first audio track of a file, as mono float32 samples at a chosen rate."""

from __future__ import annotations

import logging
import math

import av
import av.error
import numpy as np

from models.errors import MediaError
from models.media.av_container import PacketDecoder, declared_seconds, open_container, require_decoder, too_long
from models.media.limits import DEFAULT_LIMITS, MediaLimits
from models.media.source import DECODE_ERRORS, Source, opened
from models.media.types import AudioData

logger = logging.getLogger(__name__)

_AUDIO_EXPECTED = "WAV, FLAC, OGG, MP3, M4A, or a video file with sound"



def read_audio(
    source: Source, *, name: str | None = None, rate: int = 16000, limits: MediaLimits = DEFAULT_LIMITS
) -> AudioData:
    """Read the first audio track of a file as mono float32 samples resampled to ``rate`` Hz."""
    if isinstance(rate, bool) or not isinstance(rate, int) or rate <= 0:
        raise ValueError(f"rate must be a positive int, got {rate!r}")
    with opened(source, name, limits) as (label, handle), open_container(label, handle, _AUDIO_EXPECTED) as box:
        if not box.streams.audio:
            raise MediaError(label, f"has no audio stream; give a file with sound ({_AUDIO_EXPECTED})")
        stream = box.streams.audio[0]
        require_decoder(label, stream)
        declared = declared_seconds(box, stream)
        if declared is not None and declared > limits.max_audio_seconds:
            raise too_long(label, declared, limits.max_audio_seconds)
        samples = _decode_audio(label, box, stream, rate, limits.max_audio_seconds)
    if samples.size == 0:
        raise MediaError(label, "contains no audio samples (zero length); record or export it again")
    return AudioData(samples, rate)


def _decode_audio(
    label: str, box: av.container.InputContainer, stream: av.audio.stream.AudioStream, rate: int, limit: float
) -> np.ndarray:
    """Decode ``stream`` through a mono float resampler, stopping as soon as it runs past ``limit``."""
    max_samples = math.ceil(limit * rate) if math.isfinite(limit) else None
    # rematrix_maxval=1 makes the downmix an average of the channels (FFmpeg's default sums
    # correlated channels at 0.707 each, which clips loud stereo).
    resampler = av.AudioResampler(format="flt", layout="mono", rate=rate, options={"rematrix_maxval": "1.0"})
    chunks: list[np.ndarray] = []
    total = 0
    packets = PacketDecoder(label)

    def take(frames: list[av.AudioFrame]) -> None:
        nonlocal total
        for out in frames:
            chunk = out.to_ndarray().reshape(-1).astype(np.float32, copy=False)
            chunks.append(chunk)
            total += chunk.size
        if max_samples is not None and total > max_samples:
            raise too_long(label, None, limit)

    try:
        for frame in packets.frames(box, stream):
            frame.pts = None  # timestamps are not needed, and gaps in them upset the resampler
            take(resampler.resample(frame))
        take(resampler.resample(None))
    except DECODE_ERRORS as exc:
        raise MediaError(label, f"could not be decoded: it looks corrupt or truncated ({exc}); "
                         "re-export or re-download it") from exc
    if packets.skipped:
        if total == 0:
            raise MediaError(label, "could not be decoded: none of its audio is readable; "
                             "re-export or re-download it")
        logger.warning("%s: skipped %d undecodable audio packet(s)", label, packets.skipped)
    if not chunks:
        return np.zeros(0, dtype=np.float32)
    samples = np.concatenate(chunks)
    samples = np.nan_to_num(samples, nan=0.0, posinf=1.0, neginf=-1.0)
    return np.clip(samples, -1.0, 1.0, out=samples)
