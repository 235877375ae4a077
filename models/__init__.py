"""The NExT-GPT model: encoders, projectors, LLM with signal tokens, decoders, speech.

The runtime's facade: `assistant` imports only what this module exports (`make lint` checks it).
Media types and kinds, errors and modalities import at once; the model itself (torch,
transformers, diffusers: seconds to import) on first use, so a window can open before them. The
synthetic world's research code has its own facade, `models.world`, for the commands that use it.
"""

from typing import TYPE_CHECKING

from .encoded_video import EncodedVideo
from .errors import InputError, MediaError, ProfileError, WeightsMissingError
from .lazy_exports import lazy_getattr
from .media import (
    DEFAULT_LIMITS,
    EXTENSION,
    KINDS,
    MIME,
    READERS,
    SUFFIXES,
    AudioData,
    ImageData,
    InputMedia,
    Media,
    MediaLimits,
    StreamResampler,
    VideoData,
    encode,
    encode_png,
    encode_wav,
    kind_of,
    kind_of_path,
    read_audio,
    read_image,
    read_video,
    resample,
    stream_video,
    write_media,
)
from .modality import WANTABLE, Modality, parse_want

_LAZY = {
    "AnyToAnyModel": ".any_to_any",
    "DecoderStep": ".pipeline", "MediaResult": ".pipeline", "ModelEvent": ".pipeline", "ModelRequest": ".pipeline",
    "ReplyDone": ".pipeline", "SignalEmitted": ".pipeline", "GeneratedText": ".pipeline",
    "available_profiles": ".profile", "load_profile": ".profile",
    "RoleReport": ".report", "trainable_share": ".report",
    "GenerationCancelled": ".signal_llm", "StreamingVad": ".speech.vad", "SpeechModelInfo": ".speech.about",
    "WeightSource": ".weights",
    "LoraSettings": ".training.stages", "lora_from_options": ".training.stages", "TrainSettings": ".training.trainer",
    "load_training_data": ".training.api", "train_stage": ".training.api",
}

if TYPE_CHECKING:
    from .any_to_any import AnyToAnyModel
    from .pipeline import DecoderStep, GeneratedText, MediaResult, ModelEvent, ModelRequest, ReplyDone, SignalEmitted
    from .profile import available_profiles, load_profile
    from .report import RoleReport, trainable_share
    from .signal_llm import GenerationCancelled
    from .speech.about import SpeechModelInfo
    from .speech.vad import StreamingVad
    from .training.api import load_training_data, train_stage
    from .training.stages import LoraSettings, lora_from_options
    from .training.trainer import TrainSettings
    from .weights import WeightSource


__getattr__ = lazy_getattr(__name__, _LAZY, globals())


__all__ = [
    "DEFAULT_LIMITS", "EXTENSION", "KINDS", "MIME", "READERS", "SUFFIXES", "WANTABLE",
    "AnyToAnyModel", "AudioData", "DecoderStep", "EncodedVideo", "GeneratedText", "GenerationCancelled",
    "ImageData", "InputError", "InputMedia", "LoraSettings", "Media", "MediaError", "MediaLimits", "MediaResult",
    "Modality", "ModelEvent", "ModelRequest", "ProfileError", "ReplyDone", "RoleReport", "SignalEmitted",
    "SpeechModelInfo", "StreamResampler", "StreamingVad", "TrainSettings", "VideoData", "WeightSource",
    "WeightsMissingError",
    "available_profiles", "encode", "encode_png", "encode_wav", "kind_of", "kind_of_path", "load_profile",
    "load_training_data", "lora_from_options", "parse_want", "read_audio", "read_image", "read_video", "resample",
    "stream_video", "train_stage", "trainable_share", "write_media",
]
