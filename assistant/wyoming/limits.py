"""What one Wyoming connection may send, and how long the server waits for it.

Every limit is checked before the bytes it bounds are read or kept, so no client can make the
server hold more than these allow: a header line is read only up to `max_header_bytes`; the
`data_length` and `payload_length` a header claims are checked before a byte of either is read.
"""

from __future__ import annotations

from dataclasses import dataclass

# asyncio's stream reader keeps at most this many bytes while it looks for a header's line end
STREAM_READER_LIMIT = 64 * 1024


@dataclass(frozen=True)
class WyomingLimits:
    max_header_bytes: int = 16 * 1024  # one event's JSON header line
    max_data_bytes: int = 256 * 1024  # one event's extra JSON data (data_length)
    max_payload_bytes: int = 1024 * 1024  # one event's binary payload (an audio chunk)
    max_audio_seconds: float = 30.0  # speech in one transcription (Whisper hears 30 s at a time)
    max_text_chars: int = 10_000  # text to speak (one synthesize, or a whole synthesize stream), or a question
    max_clients: int = 32  # connections at once; one more gets a `busy` error
    max_pending: int = 8  # requests one connection may queue behind the one being answered
    idle_timeout_s: float = 120.0  # waiting for the next byte from a client
    write_timeout_s: float = 30.0  # waiting for a client to take what the server sends

    def __post_init__(self) -> None:
        if not 0 < self.max_header_bytes <= STREAM_READER_LIMIT:
            raise ValueError(f"max_header_bytes must be 1..{STREAM_READER_LIMIT} (the stream reader's own limit)")
        for name in ("max_data_bytes", "max_payload_bytes", "max_text_chars", "max_clients", "max_pending"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive")
        if self.max_audio_seconds <= 0 or self.idle_timeout_s <= 0 or self.write_timeout_s <= 0:
            raise ValueError("max_audio_seconds, idle_timeout_s and write_timeout_s must be positive")
