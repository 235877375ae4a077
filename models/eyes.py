"""The gate between the two kinds of eyes: synthetic-world drawings go to the world encoder (and
its projector), every other photo or frame to perception, whose words go into the prompt."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .encoded_video import EncodedVideo
from .media import ImageData, VideoData
from .model_set import ModelSet
from .perception import Grounding, Scene, ground, is_world_drawing, needs_text

if TYPE_CHECKING:
    from .media import InputMedia


def picture_of(medium: InputMedia) -> np.ndarray | None:
    """The pixels perception would look at: a still image, a video's last frame, a live window's
    newest frame; None for sound (and for a live window that kept no frame)."""
    if isinstance(medium, ImageData):
        return medium.pixels
    if isinstance(medium, VideoData):
        return medium.frames[-1]
    if isinstance(medium, EncodedVideo):
        return medium.latest
    return None


class Eyes:
    """Decides, per medium, which eyes read it; looks with perception where the gate says so."""

    def __init__(self, models: ModelSet) -> None:
        self.models = models

    @property
    def can_see(self) -> bool:
        return self.models.has("perception")

    def scene_of(self, pixels: np.ndarray, read_text: bool = True, thorough: bool = True) -> Scene | None:
        """What perception sees in `pixels`; None without real eyes, or for a synthetic-world
        drawing (the world encoder's to read)."""
        if not self.can_see or is_world_drawing(pixels):
            return None
        return self.models.perceiver()(pixels, read_text=read_text, thorough=thorough)

    def look(self, media: list[InputMedia], question: str = "") -> tuple[list[Scene], list[InputMedia]]:
        """What perception saw, one scene per medium it read, and the media left for the encoders.
        Text is read only when the question may need it."""
        scenes, rest = [], []
        read_text = needs_text(question)
        for medium in media:
            pixels = picture_of(medium)
            scene = None if pixels is None else self.scene_of(pixels, read_text=read_text)
            if scene is None:
                rest.append(medium)
            else:
                scenes.append(scene)
        return scenes, rest


def ground_all(scenes: list[Scene], question: str) -> Grounding:
    """One picture: its grounding for the question. Several: each described, numbered; the
    question is left to the LLM. None: nothing."""
    if not scenes:
        return Grounding("")
    if len(scenes) == 1:
        return ground(scenes[0], question)
    context = " ".join(f"In picture {i}: {scene.describe()}" for i, scene in enumerate(scenes, 1))
    return Grounding(context)
