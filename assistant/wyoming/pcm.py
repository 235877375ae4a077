"""Wyoming's raw PCM audio as the float samples the models take, whatever the client's format.

Audio chunks say their own rate, sample width and channels. Any integer PCM a client is likely
to send (8-bit unsigned, 16-, 24- or 32-bit signed, 1 to 8 channels, 4 to 192 kHz) becomes mono
float32 here; anything else is refused with a message that says what was wrong.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

MIN_RATE = 4_000
MAX_RATE = 192_000
MAX_CHANNELS = 8
WIDTHS = (1, 2, 3, 4)


class AudioFormatError(ValueError):
    """Audio the server cannot read: the message says what was wrong."""


@dataclass(frozen=True)
class PcmFormat:
    rate: int
    width: int  # bytes per sample
    channels: int

    @classmethod
    def of(cls, data: dict[str, Any], event_type: str) -> PcmFormat:
        """The format an audio-start or audio-chunk event's data gives; AudioFormatError if it is not one."""
        values = {}
        for key in ("rate", "width", "channels"):
            value = data.get(key)
            if isinstance(value, bool) or not isinstance(value, int):
                raise AudioFormatError(f"{event_type}: {key} must be a whole number, got {repr(value)[:60]}")
            values[key] = value
        pcm = cls(**values)
        if not MIN_RATE <= pcm.rate <= MAX_RATE:
            raise AudioFormatError(f"{event_type}: a rate of {pcm.rate} Hz; this server takes {MIN_RATE}-{MAX_RATE} Hz")
        if pcm.width not in WIDTHS:
            raise AudioFormatError(f"{event_type}: samples of {pcm.width} bytes; this server takes 1, 2, 3 or 4")
        if not 1 <= pcm.channels <= MAX_CHANNELS:
            raise AudioFormatError(f"{event_type}: {pcm.channels} channels; this server takes 1-{MAX_CHANNELS}")
        return pcm

    @property
    def frame_bytes(self) -> int:
        return self.width * self.channels


def pcm_to_samples(audio: bytes, pcm: PcmFormat) -> np.ndarray:
    """Interleaved little-endian PCM (8-bit unsigned, wider signed) as mono float32 in [-1, 1]."""
    if len(audio) % pcm.frame_bytes:
        raise AudioFormatError(f"audio of {len(audio)} bytes is not whole frames of {pcm.frame_bytes} bytes "
                               f"({pcm.width}-byte samples, {pcm.channels} channels)")
    if pcm.width == 1:
        samples = (np.frombuffer(audio, np.uint8).astype(np.float32) - 128.0) / 128.0
    elif pcm.width == 3:  # 24-bit: sign-extend each 3-byte sample into the top of an int32
        raw = np.frombuffer(audio, np.uint8).reshape(-1, 3).astype(np.int32)
        samples = ((raw[:, 0] << 8 | raw[:, 1] << 16 | raw[:, 2] << 24) >> 8).astype(np.float32) / 2.0**23
    else:
        dtype = "<i2" if pcm.width == 2 else "<i4"
        samples = np.frombuffer(audio, dtype).astype(np.float32) / float(2 ** (8 * pcm.width - 1))
    if pcm.channels > 1:
        samples = samples.reshape(-1, pcm.channels).mean(axis=1)
    return samples.astype(np.float32, copy=False)
