"""The NExT-GPT model: encoders, projectors, LLM with signal tokens, decoders, speech.

The runtime imports only what this module exports.
"""

from .any_to_any import AnyToAnyModel
from .encoders.video_frames import EncodedVideo
from .errors import InputError, MediaError, ProfileError, WeightsMissingError
from .media import (
    DEFAULT_LIMITS,
    AudioData,
    ImageData,
    MediaLimits,
    VideoData,
    read_audio,
    read_image,
    read_video,
    write_media,
)
from .modality import WANTABLE, Modality, parse_want
from .pipeline import DecodeProgress, MediaResult, ModelEvent, ModelRequest, ReplyDone, SignalEmitted, TextDelta
from .profile import available_profiles, load_profile
from .report import RoleReport, trainable_share
from .signal_llm import GenerationCancelled
from .weights import WeightSource

__all__ = [
    "DEFAULT_LIMITS", "WANTABLE", "AnyToAnyModel", "AudioData", "DecodeProgress", "EncodedVideo", "GenerationCancelled",
    "ImageData", "InputError", "MediaError", "MediaLimits", "MediaResult", "Modality", "ModelEvent",
    "ModelRequest", "ProfileError", "ReplyDone", "RoleReport", "SignalEmitted", "TextDelta", "VideoData",
    "WeightSource", "WeightsMissingError", "available_profiles", "load_profile", "parse_want", "read_audio",
    "read_image", "read_video", "trainable_share", "write_media",
]
