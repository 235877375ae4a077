"""A frozen diffusers pipeline driven by `prompt_embeds` in place of its text encoder's output.

Stable Diffusion (image), AudioLDM (audio), TextToVideoSD / Zeroscope (video), the small
bundled pipelines, or any pipeline with the same call shape go through this one class.
It reports each denoising step and stops between steps when asked to.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from diffusers import DiffusionPipeline

from ..device import Placement
from ..media import AudioData, ImageData, VideoData
from ..modality import Modality
from ..signal_llm import GenerationCancelled
from . import (
    caption_motion,
    mel_vocoder,  # noqa: F401  (imported so that pipelines saved with a MelVocoder load)
)

log = logging.getLogger(__name__)

ProgressCallback = Callable[[int, int], None]


def load_pipeline(location: str, placement: Placement) -> DiffusionPipeline:
    """`from_pretrained` for a folder or Hub id, passing None for components saved as null
    (a pipeline saved without tokenizer or safety checker loads back the same way)."""
    index = DiffusionPipeline.load_config(location)
    absent = {name: None for name, value in index.items() if isinstance(value, list) and value[0] is None}
    for optional in ("safety_checker", "feature_extractor", "image_encoder"):  # not used with prompt_embeds
        if optional in index:
            absent[optional] = None
    pipeline = DiffusionPipeline.from_pretrained(location, dtype=placement.dtype, **absent)
    return caption_motion.restore(pipeline, location)


class DiffusionDecoder:
    def __init__(self, modality: Modality, pipeline: DiffusionPipeline, placement: Placement, offload: bool = False,
                 **options: Any) -> None:
        """`offload`: the pipeline's components wait in CPU memory and each moves to the GPU while
        it runs (diffusers' `enable_model_cpu_offload`), instead of all living on the device."""
        self.modality = modality
        if offload:
            pipeline.enable_model_cpu_offload(device=placement.device)
            self.pipeline = pipeline
        else:
            self.pipeline = pipeline.to(placement.device)
        self.pipeline.set_progress_bar_config(disable=True)
        self.placement = placement
        self.steps = int(options.get("steps", 25))
        self.guidance = float(options.get("guidance", 1.0))
        self.size = options.get("size")
        self.frames = int(options.get("frames", 8))
        self.fps = float(options.get("fps", 4.0))
        self.seconds = float(options.get("seconds", 1.0))
        self._tokens = options.get("tokens")
        self._negative: torch.Tensor | None = None
        self._call_parameters = set(inspect.signature(self.pipeline.__call__).parameters)

    # what the output projector must produce -------------------------------------------------

    @property
    def conditioning_shape(self) -> tuple[int, int]:
        """(tokens, dim) of `prompt_embeds` without the batch axis; AudioLDM takes one vector.
        Tokens: the `tokens` option, else the tokenizer's `model_max_length` (what `encode_prompt` pads
        to), else the text encoder's positions, else 77."""
        config = self.pipeline.unet.config
        if self.modality is Modality.AUDIO:
            return 1, int(config.projection_class_embeddings_input_dim)
        dim = config.cross_attention_dim
        dim = int(dim[0] if isinstance(dim, (list, tuple)) else dim)
        return int(self._tokens or self._text_tokens()), dim

    def _text_tokens(self) -> int:
        tokenizer = getattr(self.pipeline, "tokenizer", None)
        encoder = getattr(self.pipeline, "text_encoder", None)
        positions = int(encoder.config.max_position_embeddings) if encoder is not None else None
        if tokenizer is not None and (positions is None or tokenizer.model_max_length <= positions):
            return int(tokenizer.model_max_length)  # an unset model_max_length is huge: positions win then
        return positions or 77

    @torch.no_grad()
    def text_embeddings(self, captions: list[str]) -> torch.Tensor:
        """The decoder's own text-encoder embedding of captions (the MSE target of training): float32,
        on the decoder's device, shaped `(len(captions), *conditioning_shape)` (audio: (n, 1, dim)).
        Raises ValueError when the pipeline lacks a tokenizer or text encoder, or when the `tokens`
        option disagrees with what the tokenizer pads to."""
        tokenizer = getattr(self.pipeline, "tokenizer", None)
        if tokenizer is None or getattr(self.pipeline, "text_encoder", None) is None:
            raise ValueError(
                f"the {self.modality.value} decoder's pipeline has no tokenizer/text encoder to embed captions with; "
                "build it with a `text_encoder` config table or load weights that include both"
            )
        device = self.placement.device
        if not captions:
            return torch.empty((0, *self.conditioning_shape), device=device)
        if self.modality is Modality.AUDIO:
            embeds = self.pipeline._encode_prompt(list(captions), device, 1, False).unsqueeze(1)
        else:
            embeds, _ = self.pipeline.encode_prompt(list(captions), device, 1, False)
        if tuple(embeds.shape[1:]) != self.conditioning_shape:
            raise ValueError(
                f"the {self.modality.value} decoder's text encoder gives {tuple(embeds.shape[1:])} per caption but its "
                f"conditioning_shape is {self.conditioning_shape}: set its `tokens` option to the tokenizer's "
                f"max_length ({tokenizer.model_max_length}) or leave it out"
            )
        return embeds.float()

    # decoding ---------------------------------------------------------------------------------

    @torch.inference_mode()
    def __call__(
        self,
        conditioning: torch.Tensor,
        *,
        on_progress: ProgressCallback | None = None,
        should_stop: Callable[[], bool] = lambda: False,
        seed: int = 0,
    ) -> ImageData | AudioData | VideoData:
        """`conditioning` is (tokens, dim) from the output projector; returns the medium."""
        # 1. conditioning (and the unconditional embedding when guidance is on)
        prompt_embeds = conditioning.unsqueeze(0).to(self.placement.device, self.placement.dtype)
        if self.modality is Modality.AUDIO:
            prompt_embeds = prompt_embeds[:, 0]
        kwargs: dict[str, Any] = {"prompt_embeds": prompt_embeds, "guidance_scale": self.guidance}
        if self.guidance > 1.0:
            kwargs["negative_prompt_embeds"] = self._unconditional(prompt_embeds)
        # 2. the modality's own arguments
        kwargs.update(self._shape_arguments())
        # 3. progress and cancellation between steps
        kwargs.update(self._step_callback(on_progress, should_stop))
        # 4. denoise and decode
        generator = torch.Generator(device="cpu").manual_seed(seed)
        result = self.pipeline(num_inference_steps=self.steps, generator=generator, output_type="np", **kwargs)
        return self._to_media(result)

    def _shape_arguments(self) -> dict[str, Any]:
        if self.modality is Modality.AUDIO:
            return {"audio_length_in_s": self.seconds}
        sizes = {"height": self.size, "width": self.size} if self.size else {}
        if self.modality is Modality.VIDEO:
            sizes["num_frames"] = self.frames
        return sizes

    def _unconditional(self, prompt_embeds: torch.Tensor) -> torch.Tensor:
        if self._negative is None:
            try:
                self._negative = self.text_embeddings([""])
                if self.modality is Modality.AUDIO:
                    self._negative = self._negative[:, 0]
            except ValueError:
                self._negative = torch.zeros_like(prompt_embeds)
        return self._negative.to(prompt_embeds.device, prompt_embeds.dtype)

    def _step_callback(self, on_progress: ProgressCallback | None, should_stop: Callable[[], bool]) -> dict[str, Any]:
        total = self.steps

        def step_done(step: int) -> None:
            if on_progress is not None:
                on_progress(step + 1, total)
            if should_stop():
                raise GenerationCancelled

        if "callback_on_step_end" in self._call_parameters:
            def on_step_end(pipe: Any, step: int, timestep: Any, tensors: dict[str, Any]) -> dict[str, Any]:
                step_done(step)
                return tensors

            return {"callback_on_step_end": on_step_end}
        return {"callback": lambda step, timestep, latents: step_done(step), "callback_steps": 1}

    def _to_media(self, result: Any) -> ImageData | AudioData | VideoData:
        if self.modality is Modality.IMAGE:
            return ImageData(_to_uint8(result.images[0]))
        if self.modality is Modality.AUDIO:
            samples = np.clip(np.asarray(result.audios[0], dtype=np.float32), -1.0, 1.0)
            return AudioData(samples, int(self.pipeline.vocoder.config.sampling_rate))
        frames = result.frames[0]
        return VideoData(_to_uint8(np.asarray(frames)), self.fps)


def _to_uint8(array: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray((np.clip(array, 0.0, 1.0) * 255).round().astype(np.uint8))
