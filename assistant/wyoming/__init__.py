"""The Wyoming server: Home Assistant's voice pipeline reaches the engine (speech to text, text to
speech, and the engine as a conversation agent)."""

from .conversation import MediaSink
from .limits import WyomingLimits
from .server import DEFAULT_URI, WyomingConfig, WyomingServer, check_uri

__all__ = ["DEFAULT_URI", "MediaSink", "WyomingConfig", "WyomingLimits", "WyomingServer", "check_uri"]
