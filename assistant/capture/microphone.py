"""`MicrophoneSource`: live audio from an input device through PortAudio (sounddevice)."""

from __future__ import annotations

import logging
import time
from types import ModuleType
from typing import Any

import numpy as np

from assistant.capture.base import AUDIO_QUEUE_SIZE, CaptureSource, Run, SourceUnavailable, block_samples
from assistant.device_clock import DeviceClock
from assistant.frames import AudioChunk
from models import StreamResampler

logger = logging.getLogger(__name__)

_INSTEAD = "choose an audio file as the microphone instead"


def _sounddevice() -> ModuleType:
    """sounddevice, imported on first use: importing it fails where the PortAudio library is missing."""
    try:
        import sounddevice
    except (ImportError, OSError) as exc:
        raise SourceUnavailable(f"no microphone support: sounddevice could not load PortAudio ({exc}); "
                                f"install libportaudio2, or {_INSTEAD}") from exc
    return sounddevice


def list_microphones() -> list[dict[str, Any]]:
    """The input devices PortAudio knows, as ``name``, ``index``, ``default_samplerate``; [] when none."""
    try:
        sd = _sounddevice()
        devices = sd.query_devices()
    except Exception as exc:  # PortAudioError, or no PortAudio at all: either way, no microphones
        logger.debug("no microphones: %s", exc)
        return []
    return [
        {"name": str(d["name"]), "index": int(d["index"]), "default_samplerate": float(d["default_samplerate"])}
        for d in devices
        if d.get("max_input_channels", 0) > 0
    ]


class MicrophoneSource(CaptureSource):
    """Mono float32 `AudioChunk`s of ``block_ms`` from ``device``: None for the system default, an
    index, or (part of) a device name as `list_microphones` shows it.

    Timestamps count the samples captured (seconds since capture began), so they have no gaps even
    when the system clock jumps. ``overflows`` counts blocks in which PortAudio lost input because
    this process did not read in time.
    """

    def __init__(
        self,
        device: str | int | None = None,
        rate: int = 16000,
        block_ms: int = 32,
        *,
        name: str = "microphone",
        queue_size: int = AUDIO_QUEUE_SIZE,
    ) -> None:
        super().__init__(name, queue_size)
        self.block = block_samples(rate, block_ms)
        self.device = device
        self.rate = rate
        self.block_ms = block_ms
        self.overflows = 0

    def _describe_device(self) -> str:
        return "the default microphone" if self.device is None else f"microphone {self.device!r}"

    def _open(self, sd: ModuleType) -> tuple[Any, StreamResampler | None, str]:
        """The input stream, at `rate` in mono where the device takes that, else at the device's own
        rate and channels with a resampler to `rate` mono (many USB and ALSA devices open only at
        48 kHz stereo); raises SourceUnavailable when neither opens."""
        try:
            stream = sd.InputStream(device=self.device, channels=1, samplerate=self.rate, dtype="float32",
                                    blocksize=self.block)
            return stream, None, f"{self.rate} Hz"
        except (sd.PortAudioError, ValueError, TypeError) as exc:
            first = exc
        try:
            info = sd.query_devices(self.device, "input")
            rate, channels = int(info["default_samplerate"]), max(1, min(2, int(info["max_input_channels"])))
            stream = sd.InputStream(device=self.device, channels=channels, samplerate=rate, dtype="float32",
                                    blocksize=block_samples(rate, self.block_ms))
        except (sd.PortAudioError, ValueError, TypeError, KeyError) as exc:
            raise SourceUnavailable(self._why_unavailable(first)) from exc
        logger.info("%s: opens at %d Hz, %d channel(s) only; resampled to %d Hz mono", self.name, rate, channels,
                    self.rate)
        return stream, StreamResampler(rate, channels, self.rate), f"{rate} Hz × {channels} resampled to {self.rate} Hz"

    def _read(self, run: Run) -> None:
        sd = _sounddevice()
        stream, resampler, how = self._open(sd)
        try:
            stream.start()
        except (sd.PortAudioError, ValueError, TypeError) as exc:
            stream.close()
            raise SourceUnavailable(self._why_unavailable(exc)) from exc
        try:
            run.started(f"{self._describe_device()}, {how}, {self.block_ms} ms blocks")
            position = 0
            clock = DeviceClock(self.rate)
            while not run.stopping:
                try:
                    data, overflowed = stream.read(stream.blocksize)
                except sd.PortAudioError as exc:
                    raise RuntimeError(f"{self._describe_device()} stopped delivering audio ({exc}); "
                                       "was it unplugged?") from exc
                if overflowed:
                    self.overflows += 1
                    logger.debug("%s: input overflow (%d so far)", self.name, self.overflows)
                samples = resampler.feed(data) if resampler else np.array(data[:, 0], dtype=np.float32)
                # its last sample was heard the stream's input latency ago at the latest (the echo
                # canceller aligns on it), its first one right after the block before
                heard = clock.at(time.monotonic() - stream.latency - len(samples) / self.rate, len(samples),
                                 broken=bool(overflowed)) + len(samples) / self.rate
                if len(samples) and not run.emit(AudioChunk(samples, self.rate, position / self.rate, created=heard)):
                    break
                position += samples.shape[0]
        finally:
            try:
                stream.abort()
                stream.close()
            except Exception as exc:  # closing a device that vanished must not hide how the run ended
                logger.debug("%s: error while closing the input stream (%s)", self.name, exc)

    def _why_unavailable(self, exc: Exception) -> str:
        if not list_microphones():
            return f"no microphone: PortAudio lists no input device ({exc}); plug one in, or {_INSTEAD}"
        if self.device is None:
            return (f"the default microphone could not be opened ({exc}); choose one by name or index "
                    f"(see list_microphones), or {_INSTEAD}")
        return (f"microphone {self.device!r} could not be opened at {self.rate} Hz ({exc}); choose another "
                f"name or index (see list_microphones), or {_INSTEAD}")
