"""The NExT-GPT pipeline: encode -> project -> LLM with signal tokens -> output projector -> decoder."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import torch

from .capabilities import asks_what_it_can_do, capabilities
from .encoded_video import EncodedVideo
from .eyes import Eyes, ground_all
from .media import AudioData, ImageData, InputMedia, Media, VideoData
from .modality import GENERATED, Modality
from .model_set import ModelSet
from .output_bridge import caption_for
from .signal_llm import PLACEHOLDERS, SignalStates, TextPiece

log = logging.getLogger(__name__)
MEDIA_MODALITY = {
    ImageData: Modality.IMAGE, AudioData: Modality.AUDIO, VideoData: Modality.VIDEO, EncodedVideo: Modality.VIDEO
}


@dataclass
class ModelRequest:
    """One user turn as the model sees it. `want` None lets the model decide what to make."""

    text: str = ""
    media: list[InputMedia] = field(default_factory=list)
    want: set[Modality] | None = None
    history: list[dict[str, str]] = field(default_factory=list)  # earlier turns: {"role", "content"}
    max_new_tokens: int | None = None
    seed: int = 0


@dataclass(frozen=True)
class GeneratedText:
    text: str


@dataclass(frozen=True)
class SignalEmitted:
    modality: Modality


@dataclass(frozen=True)
class DecoderStep:
    modality: Modality
    step: int
    total: int


@dataclass(frozen=True)
class MediaResult:
    modality: Modality
    media: Media
    untrained_roles: tuple[str, ...]  # roles with random weights that shaped this output
    via: str = "projector"  # "projector": the LLM's signal through the output projector; "bridge": `caption`
    caption: str = ""  # what the bridge gave the decoder's text encoder


@dataclass(frozen=True)
class ReplyDone:
    text: str
    timings_ms: dict[str, float]
    seen: tuple[dict[str, object], ...] = ()  # what perception saw in each photo or frame (Scene.as_dict)


ModelEvent = GeneratedText | SignalEmitted | MediaResult | ReplyDone


def modality_of(media: InputMedia) -> Modality:
    return MEDIA_MODALITY[type(media)]


class NextGPTPipeline:
    def __init__(self, models: ModelSet) -> None:
        self.models = models
        self.eyes = Eyes(models)

    def prefill(self, request: ModelRequest) -> bool:
        """Runs the prompt of a request that is likely to come through the LLM ahead of it, so the
        request, when it comes, starts from the conversation's kept cache. Words only: what
        perception would make of a medium is too costly to guess (False: nothing was done)."""
        if request.media:
            return False
        llm = self.models.llm()
        llm.prefill(llm.prompt_embeddings(_messages(request, "", []), []))
        return True

    def __call__(
        self,
        request: ModelRequest,
        should_stop: Callable[[], bool] = lambda: False,
        on_progress: Callable[[DecoderStep], None] | None = None,
    ) -> Iterator[ModelEvent]:
        """Streams the reply; `on_progress` hears each decoder step as it happens (from this thread)."""
        timings: dict[str, float] = {}
        llm = self.models.llm()  # loading is timed apart (ModelSet.load_times_ms)
        started = time.perf_counter()

        # 1. look at every photo or camera frame the world encoder cannot read (perception);
        #    encode every other medium (frozen encoders) and project it into the LLM's space
        scenes, media = self.eyes.look(request.media, request.text)
        timings["perceive_ms"] = _ms_since(started)
        projected = [(modality_of(m), self._encode_and_project(m)) for m in media]
        timings["encode_ms"] = _ms_since(started) - timings["perceive_ms"]
        grounding = ground_all(scenes, request.text)

        # 2. build the prompt: chat template, text (after what perception saw), projected media in
        #    place of their placeholders
        prompt = llm.prompt_embeddings(_messages(request, grounding.context, media), projected)
        timings["prompt_tokens"] = float(prompt.embeds.shape[1])

        # 3. generate, streaming text; collect the hidden states of any signal tokens. What the
        #    pipeline knows better than the LLM is answered directly: a question perception
        #    answers, "what can you do?", a request the decoders cannot make.
        answer = grounding.answer or self._direct_answer(request.text)
        allowed = set(GENERATED) if request.want is None else request.want & set(GENERATED)
        allowed = {m for m in allowed if self.models.has(f"{m.value}_decoder") and not answer}
        forced = allowed if request.want is not None else set()
        llm_options = self.models.profile.role("llm").options
        generating = time.perf_counter()
        text, signals, tokens = answer, [], 0
        if answer:
            timings["first_token_ms"] = _ms_since(started)
            yield GeneratedText(answer)
        for event in [] if answer else llm.stream(
            prompt,
            allowed=allowed,
            forced=forced,
            max_new_tokens=request.max_new_tokens or int(llm_options.get("max_new_tokens", 128)),
            temperature=float(llm_options.get("temperature", 0.0)),
            repetition_penalty=float(llm_options.get("repetition_penalty", 1.0)),
            should_stop=should_stop,
            seed=request.seed,
        ):
            if "first_token_ms" not in timings:
                timings["first_token_ms"] = _ms_since(started)
            if isinstance(event, TextPiece):
                text += event.text
                tokens += 1
                yield GeneratedText(event.text)
            elif isinstance(event, SignalStates):
                signals.append(event)
                yield SignalEmitted(event.modality)
        timings["generate_ms"] = _ms_since(generating)
        timings["text_pieces"] = float(tokens)

        # 4. for each output modality signalled: output projector -> decoder -> media
        for signal in signals:
            decoding = time.perf_counter()
            yield self._decode(signal, caption_for(text, request.text), should_stop, on_progress, request.seed)
            timings[f"decode_{signal.modality.value}_ms"] = _ms_since(decoding)

        timings["total_ms"] = _ms_since(started)
        yield ReplyDone(text.strip(), timings, tuple(scene.as_dict() for scene in scenes))

    def _direct_answer(self, text: str) -> str:
        if asks_what_it_can_do(text):
            return capabilities(self.models)
        scope = self.models.generation_scope
        unknown = scope.beyond(text)
        return scope.decline(unknown) if unknown else ""

    def _encode_and_project(self, media: InputMedia) -> torch.Tensor:
        modality = modality_of(media)
        features = self.models.encoder(modality).encode(media)
        projector = self.models.input_projector(modality)
        with torch.inference_mode():
            return projector(features.unsqueeze(0).to(projector.device, projector.dtype))[0]

    def _decode(
        self,
        signal: SignalStates,
        caption: str,
        should_stop: Callable[[], bool],
        on_progress: Callable[[DecoderStep], None] | None,
        seed: int,
    ) -> MediaResult:
        """The medium of one signal: through the output projector, or (the profile's route) the
        caption through the decoder's own text encoder."""
        modality = signal.modality
        decoder = self.models.decoder(modality)
        via = self.models.output_route(modality)
        if via == "bridge":
            conditioning = decoder.text_embeddings([caption])[0]
            roles = (f"{modality.value}_decoder",)
        else:
            projector = self.models.output_projector(modality)
            with torch.inference_mode():
                conditioning = projector(signal.hidden.unsqueeze(0).to(projector.device, projector.dtype))[0]
            roles = ("llm", f"{modality.value}_output_projector", f"{modality.value}_decoder")
            caption = ""

        def report(step: int, total: int) -> None:
            if on_progress is not None:
                on_progress(DecoderStep(modality, step, total))

        media = decoder(conditioning, on_progress=report, should_stop=should_stop, seed=seed)
        sources = self.models.sources()
        untrained = tuple(role for role in roles if role in sources and not sources[role].trained)
        return MediaResult(modality, media, untrained, via, caption)


def _messages(request: ModelRequest, context: str, media: list[InputMedia]) -> list[dict[str, str]]:
    """The chat: the conversation so far, then the user's turn (what perception saw, their words, a
    placeholder for each medium)."""
    text = "\n".join(part for part in (context, request.text) if part)
    return [*request.history, {"role": "user", "content": _with_placeholders(text, media)}]


def _with_placeholders(text: str, media: list[InputMedia]) -> str:
    """The user's text with a placeholder for every medium it does not already place."""
    missing = []
    for modality in (Modality.IMAGE, Modality.AUDIO, Modality.VIDEO):
        wanted = sum(1 for m in media if modality_of(m) is modality)
        missing += [PLACEHOLDERS[modality]] * max(0, wanted - text.count(PLACEHOLDERS[modality]))
    if not missing:
        return text
    return "\n".join(["".join(missing), text]) if text else "".join(missing)


def _ms_since(start: float) -> float:
    return round((time.perf_counter() - start) * 1000, 1)
