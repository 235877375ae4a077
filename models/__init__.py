"""The NExT-GPT model: encoders, projectors, LLM with signal tokens, decoders, speech.

The runtime imports only what this module exports. Media types, errors and modalities import at
once; the model itself (torch, transformers, diffusers: seconds to import) on first use, so a
window can open before them.
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

from .encoded_video import EncodedVideo
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

_LAZY = {
    "AnyToAnyModel": ".any_to_any",
    "DecodeProgress": ".pipeline", "MediaResult": ".pipeline", "ModelEvent": ".pipeline", "ModelRequest": ".pipeline",
    "ReplyDone": ".pipeline", "SignalEmitted": ".pipeline", "TextDelta": ".pipeline",
    "available_profiles": ".profile", "load_profile": ".profile",
    "RoleReport": ".report", "trainable_share": ".report",
    "GenerationCancelled": ".signal_llm",
    "WeightSource": ".weights",
    "LoraSettings": ".training.stages", "lora_from_options": ".training.stages", "TrainSettings": ".training.trainer",
    "load_training_data": ".training.api", "train_stage": ".training.api",
    "WorldReport": ".world.report", "evaluate_world": ".world.evaluation", "format_table": ".world.report",
    "open_world": ".world.evaluation", "evaluate_decoders": ".world.decoder_evaluation",
    "format_decoder_table": ".world.decoder_evaluation",
}

if TYPE_CHECKING:
    from .any_to_any import AnyToAnyModel
    from .pipeline import DecodeProgress, MediaResult, ModelEvent, ModelRequest, ReplyDone, SignalEmitted, TextDelta
    from .profile import available_profiles, load_profile
    from .report import RoleReport, trainable_share
    from .signal_llm import GenerationCancelled
    from .training.api import load_training_data, train_stage
    from .training.stages import LoraSettings, lora_from_options
    from .training.trainer import TrainSettings
    from .weights import WeightSource
    from .world.decoder_evaluation import evaluate_decoders, format_decoder_table
    from .world.evaluation import evaluate_world, open_world
    from .world.report import WorldReport, format_table


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "AnyToAnyModel", "AudioData", "DEFAULT_LIMITS", "DecodeProgress", "EncodedVideo", "GenerationCancelled",
    "ImageData", "InputError", "LoraSettings", "MediaError", "MediaLimits", "MediaResult", "Modality", "ModelEvent",
    "ModelRequest", "ProfileError", "ReplyDone", "RoleReport", "SignalEmitted", "TextDelta", "TrainSettings",
    "VideoData", "WANTABLE", "WeightSource", "WeightsMissingError", "WorldReport", "available_profiles",
    "evaluate_decoders", "evaluate_world", "format_decoder_table", "format_table", "load_profile",
    "load_training_data", "lora_from_options", "open_world", "parse_want", "read_audio", "read_image", "read_video",
    "train_stage", "trainable_share", "write_media",
]
