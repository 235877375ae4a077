"""Live sessions: camera and microphone in, a pipeline of processors, every frame out."""

from .session import LiveConfig, LiveSession

__all__ = ["LiveConfig", "LiveSession"]
