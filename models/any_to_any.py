"""The narrow facade the runtime talks to: one object for every model call of a profile."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import torch

from .capabilities import capabilities
from .device import set_threads
from .encoded_video import EncodedVideo
from .media import AudioData
from .modality import GENERATED, Modality
from .model_set import ModelSet
from .perception import Scene, SceneTracker
from .pipeline import DecoderStep, ModelEvent, ModelRequest, NextGPTPipeline
from .profile import Profile, load_profile
from .report import RoleReport, build_report
from .speech.about import SpeechModelInfo
from .speech.vad import StreamingVad
from .weights import WeightSource


class AnyToAnyModel:
    """NExT-GPT plus speech for one profile. Roles load on first use; `load_all` loads them now."""

    def __init__(self, profile: Profile) -> None:
        self.profile = profile
        self.models = ModelSet(profile)
        self.pipeline = NextGPTPipeline(self.models)

    @classmethod
    def from_profile(cls, name_or_path: str | Path = "local") -> AnyToAnyModel:
        return cls(load_profile(name_or_path))

    def load_all(self) -> None:
        self.models.load_all()

    def respond(
        self,
        request: ModelRequest,
        should_stop: Callable[[], bool] = lambda: False,
        on_progress: Callable[[DecoderStep], None] | None = None,
    ) -> Iterator[ModelEvent]:
        return self.pipeline(request, should_stop, on_progress)

    @staticmethod
    def use_threads(count: int | None) -> int:
        """Sets the threads of the calling thread's model calls (`device.set_threads`); returns
        the count before."""
        return set_threads(count)

    def prefill(self, request: ModelRequest) -> bool:
        """Readies the LLM for a request that is likely to come (`NextGPTPipeline.prefill`)."""
        return self.pipeline.prefill(request)

    @property
    def can_see(self) -> bool:
        """Whether the profile has real-world eyes (a perception role)."""
        return self.pipeline.eyes.can_see

    def look(self, pixels: np.ndarray, read_text: bool = False) -> Scene | None:
        """What perception sees in one camera frame; None without a perception role, or for a
        synthetic-world drawing (the world encoder's to read). OCR only when `read_text`."""
        return self.pipeline.eyes.scene_of(pixels, read_text=read_text, thorough=False)

    @staticmethod
    def scene_tracker() -> SceneTracker:
        """Follows what comes into and leaves a camera's view, frame by frame."""
        return SceneTracker()

    def encode_frames(self, frames: list[np.ndarray]) -> torch.Tensor:
        """Pooled image-encoder features of video frames, for a live window encoded as it arrives."""
        return self.models.encoder(Modality.VIDEO).encode_frames(frames)

    @staticmethod
    def encoded_video(features: list[torch.Tensor], fps: float, latest: np.ndarray | None = None) -> EncodedVideo:
        """A video input made of frame features from `encode_frames`, oldest first; `latest`, the
        newest frame's pixels, lets perception look at what is in front of the camera now."""
        return EncodedVideo(torch.cat(features), fps, latest)

    def streaming_vad(self) -> StreamingVad:
        self.models.vad()  # resolves and reports the VAD's weights
        return StreamingVad()

    def is_speech(self, audio: AudioData) -> bool:
        return self.models.vad().is_speech(audio)

    def transcribe(self, audio: AudioData, language: str | None = None) -> str:
        return self.models.asr().transcribe(audio, language)

    def transcribe_pieces(self, audio: AudioData, language: str | None = None) -> Iterator[str]:
        """The words spoken in `audio` (16 kHz mono), a segment at a time as speech recognition decodes them."""
        return self.models.asr().pieces(audio, language)

    def speech_info(self, role: str) -> SpeechModelInfo | None:
        """What the profile's speech recognizer (`asr`) or voice (`tts`) is, loading it; None when the
        profile has no such role."""
        if not self.models.has(role):
            return None
        return (self.models.asr() if role == "asr" else self.models.tts()).info()

    def synthesize(self, text: str) -> AudioData:
        return self.models.tts().synthesize(text)

    def capabilities(self) -> str:
        """What this profile can do, in a few sentences ("what can you do?" gets the same)."""
        return capabilities(self.models)

    def sources(self) -> dict[str, WeightSource]:
        return self.models.sources()

    def output_routes(self) -> dict[str, str]:
        """Per generated modality the profile has, how its decoder is conditioned: "projector" or
        "bridge" (a caption through the decoder's own text encoder)."""
        return {m.value: self.models.output_route(m) for m in GENERATED if self.models.has(f"{m.value}_decoder")}

    def untrained_roles(self) -> list[str]:
        return sorted(role for role, source in self.sources().items() if not source.trained)

    def report(self) -> list[RoleReport]:
        return build_report(self.models)
