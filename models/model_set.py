"""Every role of a profile, each loaded on first use (thread-safe), each knowing its source.

A one-shot text request loads the LLM alone; a request for an image loads the image decoder
and its output projector then. `load_all()` loads everything (the desktop app does it in the
background at start). `sources()` says where every role's weights come from.
"""

from __future__ import annotations

import gc
import json
import logging
import threading
import time
from collections.abc import Callable
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import torch

from .device import Placement, cpu_has_native_bf16, resolve_placement
from .encoders.clip_image import VisionTowerEncoder
from .encoders.video_frames import FrameVideoEncoder
from .encoders.whisper_audio import CTranslate2WhisperEncoder, TransformersWhisperEncoder
from .errors import ProfileError, WeightsMissingError
from .gguf_conversion import converted_folder
from .int8_weights import int8_linear_layers
from .llm_adapters import apply_llm_adapters, llm_adapter_parts
from .modality import GENERATED, Modality
from .output_bridge import MODES
from .profile import RESOURCES, Profile, RoleSpec
from .projectors import InputProjector, OutputProjector
from .signal_llm import SignalLLM
from .speech.asr import SpeechRecognizer, load_whisper
from .speech.tts import SpeechSynthesizer
from .speech.vad import SpeechDetector
from .tiny_llm import build_tiny_llm
from .weights import RANDOM, ResolvedWeights, WeightSource, cached_hub_repos, resolve_weights

if TYPE_CHECKING:
    from .decoders.diffusion_decoder import DiffusionDecoder
    from .generation_scope import GenerationScope
    from .perception import Perceiver

log = logging.getLogger(__name__)
T = TypeVar("T")
INPUTS = (Modality.IMAGE, Modality.AUDIO, Modality.VIDEO)


class ModelSet:
    """`apply_llm_adapters` False keeps the LLM as its weights are (training applies the adapters'
    signal rows and LoRA itself, so it can tune them)."""

    def __init__(self, profile: Profile, apply_llm_adapters: bool = True) -> None:
        self.profile = profile
        self.apply_llm_adapters = apply_llm_adapters
        self._told_downloads = False  # the first-run download notice is given once
        self._loaded: dict[str, Any] = {}
        self._sources: dict[str, WeightSource] = {}
        self._load_ms: dict[str, float] = {}
        self._lock = threading.RLock()
        self._report: dict[str, WeightSource] | None = None

    # bookkeeping ------------------------------------------------------------------------------

    def _once(self, key: str, build: Callable[[], T]) -> T:
        with self._lock:
            if key not in self._loaded:
                start = time.perf_counter()
                try:
                    self._loaded[key] = build()
                except OSError as exc:  # a folder or Hub id that does not hold what the role needs
                    raise WeightsMissingError(f"[{key}] could not load its weights: {exc}") from exc
                self._load_ms[key] = (time.perf_counter() - start) * 1000
                source = self._sources.get(key)  # a part shared by roles (Whisper) or made of parts has none
                log.info("loaded %s in %.0f ms%s", key, self._load_ms[key], f" ({source.kind})" if source else "")
            return self._loaded[key]

    def _resolve(self, key: str, spec: RoleSpec) -> ResolvedWeights:
        try:
            resolved = resolve_weights(spec, self.profile.path.parent)
        except WeightsMissingError as missing:
            downloads = self.hub_downloads() if spec.weights.startswith("hub:") else []
            if downloads:
                raise WeightsMissingError(f"{missing}\n{self.download_advice(downloads)}") from None
            raise
        if resolved.source.kind == "hub-download" and not self._told_downloads:
            self._told_downloads = True
            log.warning("first run: %s", self.download_advice())
        self._sources[key] = resolved.source
        return resolved

    def hub_downloads(self) -> list[tuple[str, str, float | None]]:
        """(role, Hub id, approximate GB from the profile's `download_gb`) of every Hub weight of the
        profile that is not in the Hugging Face cache yet (each repository once)."""
        cached = cached_hub_repos()
        wanted: dict[str, tuple[str, str, float | None]] = {}
        for role, spec in self.profile.roles.items():
            repo = spec.weights.removeprefix("hub:")
            if spec.weights.startswith("hub:") and repo not in cached and repo not in wanted:
                wanted[repo] = (role, repo, spec.download_gb)
        return list(wanted.values())

    def download_advice(self, missing: list[tuple[str, str, float | None]] | None = None) -> str:
        """What the profile still needs from the Hub (`missing`, else `hub_downloads()`: a scan of
        the cache), how big, and how to get it."""
        missing = self.hub_downloads() if missing is None else missing
        sizes = [gb for _, _, gb in missing if gb is not None]
        total = f"about {sum(sizes):.0f} GB" if len(sizes) == len(missing) else "several GB"
        lines = [f"  [{role}] {repo}" + (f" (about {gb:g} GB)" if gb is not None else "") for role, repo, gb in missing]
        minutes = f", about {sum(sizes) * 8 / 0.1 / 60:.0f} min at 100 Mbit/s" if len(sizes) == len(missing) else ""
        return (f"the {self.profile.name} profile needs these Hugging Face Hub weights, not in the cache "
                f"({total}{minutes}):\n" + "\n".join(lines)
                + f"\nget them all once with `python main.py models --profile {self.profile.name}` (without "
                "HF_HUB_OFFLINE), or each with `huggingface-cli download REPO`")

    def placement(self, role: str) -> Placement:
        placement = resolve_placement(*self.profile.placement_of(role))
        if role == "llm" and self._answers_in_bf16(placement):
            return Placement(placement.device, torch.bfloat16)
        return placement

    def _answers_in_bf16(self, placement: Placement) -> bool:
        """`[llm] cpu_dtype = "bf16"`: on a CPU with native bf16 the LLM answers in bf16, about twice
        as fast as fp32 with the same greedy answers nearly always (docs/profiles.md). Only a model
        set that answers: one that trains (its adapters not merged) keeps fp32."""
        return (self.apply_llm_adapters and placement.device.type == "cpu" and placement.dtype == torch.float32
                and "llm" in self.profile.roles and self.profile.role("llm").option("cpu_dtype") == "bf16"
                and cpu_has_native_bf16())

    def _answers_with_int8_weights(self, placement: Placement) -> bool:
        """`[llm] cpu_weights = "int8"`: an LLM answering in bf16 on a CPU holds its linear layers'
        weights as int8, half the bytes a token step reads (models/int8_weights.py)."""
        return (self.apply_llm_adapters and placement.device.type == "cpu" and placement.dtype == torch.bfloat16
                and self.profile.role("llm").option("cpu_weights") == "int8")

    def has(self, role: str) -> bool:
        return role in self.profile.roles

    def sources(self) -> dict[str, WeightSource]:
        """Where each role's weights come from, resolved once without loading anything heavy (every
        generated medium asks; for Hub weights resolving scans the Hugging Face cache)."""
        with self._lock:
            if self._report is None:
                report = {}
                for role, spec in self.profile.roles.items():
                    if role in ("input_projector", "output_projector"):
                        for modality in INPUTS if role == "input_projector" else GENERATED:
                            report[f"{modality.value}_{role}"] = self._projector_source(role, modality)
                    elif role == "perception":
                        for part, part_spec in self._perception_parts(spec).items():
                            report[part] = self._source_or_missing(part, part_spec)
                    else:
                        report[role] = self._source_or_missing(role, spec)
                adapters = self.profile.adapters
                parts = llm_adapter_parts(adapters) if adapters is not None and self.apply_llm_adapters else []
                if parts:
                    report["llm_adapters"] = self._adapters_source(adapters, f" ({' + '.join(parts)})")
                self._report = report
            return dict(self._report)

    def _source_or_missing(self, role: str, spec: RoleSpec) -> WeightSource:
        """A role whose weights are missing is reported as such; it fails only when used."""
        if role == "video_encoder" and spec.kind in ("", "frames"):
            role, spec = "image_encoder", self.profile.role("image_encoder")
        try:
            return self._resolve(role, spec).source
        except WeightsMissingError as missing:
            return WeightSource("missing", str(missing), trained=False)

    def loaded(self) -> dict[str, Any]:
        with self._lock:
            return dict(self._loaded)

    def load_times_ms(self) -> dict[str, float]:
        return dict(self._load_ms)

    def load_steps(self) -> list[tuple[str, Callable[[], Any]]]:
        """Every role's loader in order, named, so a front-end can show loading progress."""
        steps: list[tuple[str, Callable[[], Any]]] = [("llm", self.llm)]
        for modality in INPUTS:
            if self.has(f"{modality.value}_encoder"):
                steps.append((f"{modality.value} encoder", lambda m=modality: self.input_projector(m)))
        for modality in GENERATED:
            if self.has(f"{modality.value}_decoder"):
                steps.append((f"{modality.value} decoder", lambda m=modality: self.output_projector(m)))
        steps += [(role, load) for role, load in (("asr", self.asr), ("tts", self.tts), ("vad", self.vad),
                                                  ("perception", self.perceiver))
                  if self.has(role)]
        return steps

    def load_all(self) -> None:
        for _, load in self.load_steps():
            load()

    # the LLM ----------------------------------------------------------------------------------

    def llm(self) -> SignalLLM:
        return self._once("llm", self._load_llm)

    def _load_llm(self) -> SignalLLM:
        from transformers import AutoModelForCausalLM, AutoTokenizer

        spec = self.profile.role("llm")
        resolved = self._resolve("llm", spec)
        placement = self.placement("llm")
        if resolved.location is None:
            model, tokenizer = build_tiny_llm(spec.config)
        else:
            folder = resolved.location
            if spec.option("gguf_file"):
                folder = str(converted_folder(Path(folder), spec.option("gguf_file")))
            model = AutoModelForCausalLM.from_pretrained(folder, dtype=placement.dtype)
            tokenizer = AutoTokenizer.from_pretrained(folder)
        model = model.to(placement.device, placement.dtype).requires_grad_(False)
        llm = SignalLLM(model, tokenizer, self.profile.signal_tokens, spec.option("system_prompt", ""))
        if self.apply_llm_adapters and self.profile.adapters is not None:
            apply_llm_adapters(llm, self.profile.adapters)
        if self._answers_with_int8_weights(placement):
            int8_linear_layers(llm.model)  # last: the adapters are merged into what is rounded
        return llm

    # encoders ---------------------------------------------------------------------------------

    def encoder(self, modality: Modality) -> Any:
        return self._once(f"{modality.value}_encoder", lambda: self._load_encoder(modality))

    def _load_encoder(self, modality: Modality) -> Any:
        role = f"{modality.value}_encoder"
        spec = self.profile.role(role)
        if modality is Modality.VIDEO and spec.kind in ("", "frames"):
            return FrameVideoEncoder(self.encoder(Modality.IMAGE), float(spec.option("position_scale", 1.0)),
                                     motion=bool(spec.option("motion", False)))
        resolved = self._resolve(role, spec)
        placement = self.placement(role)
        if modality is Modality.IMAGE:
            if resolved.location is None:
                return VisionTowerEncoder.from_config(spec.config, placement)
            return VisionTowerEncoder.from_pretrained(resolved.location, spec.kind, placement)
        if modality is Modality.AUDIO and spec.kind == "whisper-ct2":
            return CTranslate2WhisperEncoder(self._whisper(resolved.location, placement))
        if modality is Modality.AUDIO and spec.kind in ("", "whisper"):
            if resolved.location is None:
                return TransformersWhisperEncoder.from_config(spec.config, placement)
            return TransformersWhisperEncoder.from_pretrained(resolved.location, placement)
        raise ProfileError(f"[{role}] kind {spec.kind!r} is not one this version knows")

    def _whisper(self, location: str | None, placement: Placement) -> Any:
        if location is None:
            raise ProfileError("a faster-whisper model needs weights (package:, folder: or hub:), not config")
        return self._once(f"whisper:{location}", lambda: load_whisper(location, placement))

    # projectors -------------------------------------------------------------------------------

    def _projector_source(self, role: str, modality: Modality) -> WeightSource:
        folder = self._adapter_folder(role, modality)
        if folder is None:
            return RANDOM
        return self._adapters_source(folder)

    def _adapters_source(self, folder: Path, detail: str = "") -> WeightSource:
        """Weights from the profile's adapters folder: bundled when it ships under resources/, with the
        stage and steps that trained them (its adapters.json)."""
        adapters = self.profile.adapters
        bundled = adapters is not None and adapters.is_relative_to(RESOURCES)
        shown = f"resources/{folder.relative_to(RESOURCES)}" if bundled else str(folder)
        return WeightSource("bundled" if bundled else "folder", shown + detail, True, self._adapters_provenance)

    @cached_property
    def _adapters_provenance(self) -> str:
        """The stage and steps that trained the adapters folder (its adapters.json, read once)."""
        try:
            about = json.loads((self.profile.adapters / "adapters.json").read_text(encoding="utf-8"))
            refined = sum(int(r["steps"]) for r in about.get("refinements", []))
            then = f", then {refined} steps refining projectors one at a time" if refined else ""
            for refit in about.get("refits", []):  # python main.py world refit
                then += f", then {sum(refit['steps'].values())} steps refitting to a new {refit['kind']} decoder"
            return f"NExT-GPT stage {about['stage']} (python main.py train), {about['steps']} steps{then}"
        except (OSError, ValueError, KeyError, TypeError):
            return ""

    def _adapter_folder(self, role: str, modality: Modality) -> Path | None:
        adapters = self.profile.adapters
        folder = adapters / f"{modality.value}_{role}" if adapters else None
        return folder if folder is not None and (folder / "config.json").is_file() else None

    def _projector(self, role: str, modality: Modality, build: Callable[[], torch.nn.Module]) -> Any:
        key = f"{modality.value}_{role}"

        def load() -> torch.nn.Module:
            folder = self._adapter_folder(role, modality)
            self._sources[key] = self._projector_source(role, modality)
            kind = InputProjector if role == "input_projector" else OutputProjector
            if folder is not None:
                module = kind.from_pretrained(folder)
            else:
                torch.manual_seed(0)
                module = build()
            return _place(module, self.placement(role)).eval().requires_grad_(False)

        return self._once(key, load)

    def input_projector(self, modality: Modality) -> InputProjector:
        spec = self.profile.role("input_projector")
        tokens = spec.option("tokens", {}).get(modality.value)

        def build() -> InputProjector:
            return InputProjector(
                in_dim=self.encoder(modality).feature_dim, out_dim=self.llm().hidden_size,
                kind=spec.kind or "mlp", num_tokens=tokens, hidden_dim=spec.option("hidden_dim"),
            )

        return self._projector("input_projector", modality, build)

    def output_projector(self, modality: Modality) -> OutputProjector:
        spec = self.profile.role("output_projector")

        def build() -> OutputProjector:
            tokens, dim = self.decoder(modality).conditioning_shape
            return OutputProjector(
                in_dim=self.llm().hidden_size, out_tokens=tokens, out_dim=dim,
                hidden_dim=int(spec.option("hidden_dim", 256)), num_layers=int(spec.option("layers", 2)),
                num_heads=int(spec.option("heads", 4)), standardise=bool(spec.option("standardise", True)),
            )

        return self._projector("output_projector", modality, build)

    def output_route(self, modality: Modality) -> str:
        """How a signalled `modality` reaches its decoder: "projector" (the trained output projector)
        or "bridge" (a caption through the decoder's own text encoder; models/output_bridge.py), as
        the profile's `[output_projector] mode` says; `auto`: the projector when trained weights for
        it are in the adapters, else the bridge."""
        spec = self.profile.roles.get("output_projector")
        mode = spec.option("mode", "projector") if spec is not None else "bridge"
        if isinstance(mode, dict):
            mode = mode.get(modality.value, "auto")
        if mode not in MODES:
            raise ProfileError(f"[output_projector] mode {mode!r}: choose from {', '.join(MODES)}")
        if mode == "auto":
            return "projector" if self._adapter_folder("output_projector", modality) is not None else "bridge"
        return mode

    # decoders ---------------------------------------------------------------------------------

    def decoder(self, modality: Modality) -> DiffusionDecoder:
        key = f"{modality.value}_decoder"
        if self.profile.decoder_memory == "one_at_a_time":
            with self._lock:
                others = [k for k in self._loaded if k.endswith("_decoder") and k != key]
                for other in others:
                    del self._loaded[other]
                    log.info("freed %s for %s (decoder_memory = one_at_a_time)", other, key)
                if others:
                    _free_memory()
        return self._once(key, lambda: self._load_decoder(modality))

    def _load_decoder(self, modality: Modality) -> DiffusionDecoder:
        from .decoders.diffusion_decoder import DiffusionDecoder, load_pipeline  # diffusers: 1.5 s to import
        from .decoders.random_pipelines import build_random_pipeline

        role = f"{modality.value}_decoder"
        spec = self.profile.role(role)
        resolved = self._resolve(role, spec)
        placement = self.placement(role)
        if resolved.location is None:
            pipeline = _place(build_random_pipeline(modality.value, spec.config), Placement(torch.device("cpu"),
                                                                                           placement.dtype))
        else:
            pipeline = load_pipeline(resolved.location, placement)
        offload = self.profile.decoder_memory == "cpu_offload" and placement.device.type == "cuda"
        return DiffusionDecoder(modality, pipeline, placement, offload=offload, **spec.options)

    # speech -----------------------------------------------------------------------------------

    def asr(self) -> SpeechRecognizer:
        def load() -> SpeechRecognizer:
            spec = self.profile.role("asr")
            resolved = self._resolve("asr", spec)
            whisper = self._whisper(resolved.location, self.placement("asr"))
            # the model's name, for services that list it: the profile's `name`, else its folder or Hub id's last part
            name = spec.option("name") or Path(str(resolved.location).rstrip("/")).name
            return SpeechRecognizer(whisper, spec.option("language", "en"), int(spec.option("beam_size", 5)), name,
                                    spec.option("window", "fitted"))

        return self._once("asr", load)

    def tts(self) -> SpeechSynthesizer:
        def load() -> SpeechSynthesizer:
            spec = self.profile.role("tts")
            resolved = self._resolve("tts", spec)
            if resolved.location is None:
                raise ProfileError("[tts] needs a Piper voice (package:, folder: or bundled:), not config")
            return SpeechSynthesizer(resolved.location, use_cuda=self.placement("tts").device.type == "cuda")

        return self._once("tts", load)

    def vad(self) -> SpeechDetector:
        def load() -> SpeechDetector:
            spec = self.profile.roles.get("vad", RoleSpec("vad", weights="package:faster_whisper/assets"))
            self._resolve("vad", spec)  # the model file ships inside faster-whisper, which loads it itself
            allowed = {"threshold", "neg_threshold", "min_speech_ms", "min_silence_ms", "min_speech_share"}
            return SpeechDetector(**{k: v for k, v in spec.options.items() if k in allowed})

        return self._once("vad", load)

    @cached_property
    def generation_scope(self) -> GenerationScope:
        """What the decoders can make: `scope = "world"` on a decoder role limits it to the world."""
        from .generation_scope import ANYTHING, world_scope

        scoped = any(self.profile.roles[role].option("scope") == "world" for role in self.profile.roles
                     if role.endswith("_decoder"))
        return world_scope() if scoped else ANYTHING

    # perception -------------------------------------------------------------------------------

    @staticmethod
    def _perception_parts(spec: RoleSpec) -> dict[str, RoleSpec]:
        """The perception role's three models as roles of their own, so each reports its source:
        the detector (`weights`), the classifier (`classifier`) and the text reader (`ocr`)."""
        def part(name: str, weights: str, provenance_key: str) -> RoleSpec:
            return RoleSpec(name, weights=weights, options={"provenance": spec.option(provenance_key, "")})

        parts = {"perception_detector": part("perception_detector", spec.weights, "detector_provenance"),
                 "perception_classifier": part("perception_classifier", spec.option("classifier", "config"),
                                               "classifier_provenance")}
        if spec.option("ocr"):
            parts["perception_ocr"] = part("perception_ocr", spec.option("ocr"), "ocr_provenance")
        return parts

    def perceiver(self) -> Perceiver:
        def load() -> Perceiver:
            from .perception import ImageClassifier, ObjectDetector, Perceiver, TextReader

            spec = self.profile.role("perception")
            found = {name: self._resolve(name, part) for name, part in self._perception_parts(spec).items()}
            if any(resolved.location is None for resolved in found.values()):
                raise ProfileError("[perception] needs real weights (package:, folder: or bundled:) for its "
                                   "detector (weights), classifier and ocr; random ones would see nothing")
            names = resolve_weights(RoleSpec("perception", weights=spec.option("class_names", "config")),
                                    self.profile.path.parent).location
            if names is None:
                raise ProfileError("[perception] class_names must name ImageNet's class list (package:, folder:)")
            detector = ObjectDetector(found["perception_detector"].location, float(spec.option("min_score", 0.5)))
            classifier = ImageClassifier(found["perception_classifier"].location, names)
            reader = TextReader(found["perception_ocr"].location) if "perception_ocr" in found else None
            return Perceiver(detector, classifier, reader)

        return self._once("perception", load)


def _free_memory() -> None:
    """Returns what dropped models held: Python's references first, then CUDA's cached blocks."""
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def _place(module: T, placement: Placement) -> T:
    """Moves to the device; casts only when the dtype differs (diffusers warns on every cast)."""
    if placement.dtype != torch.float32:
        module = module.to(dtype=placement.dtype)
    return module.to(placement.device)
