"""What each role is, where its weights came from, how many parameters it has, and how many
of them NExT-GPT-style training tunes (projectors, new signal-token rows, LoRA)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from .llm_adapters import adapter_parameters
from .modality import GENERATED
from .model_set import INPUTS, ModelSet

DEFAULT_LORA_TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj")


@dataclass(frozen=True)
class RoleReport:
    role: str
    model: str
    source: str
    trained: bool
    parameters: int | None  # None: not a torch model (CTranslate2, ONNX)
    trainable: int  # parameters NExT-GPT-style training would tune in this role

    def as_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


def _count(module: Any) -> int | None:
    return sum(p.numel() for p in module.parameters()) if isinstance(module, torch.nn.Module) else None


def lora_parameters(model: torch.nn.Module, rank: int, targets: tuple[str, ...]) -> int:
    """Parameters LoRA of `rank` on the Linear layers named `targets` would add: r·(in + out) each."""
    return sum(
        rank * (m.in_features + m.out_features)
        for name, m in model.named_modules()
        if isinstance(m, torch.nn.Linear) and name.rsplit(".", 1)[-1] in targets
    )


def build_report(models: ModelSet) -> list[RoleReport]:
    """Loads every role of the profile and describes it."""
    models.load_all()
    sources = models.sources()
    rows: list[RoleReport] = []

    def add(role: str, obj: Any, module: Any, trainable: int = 0, model: str | None = None) -> None:
        source = sources[role]
        rows.append(RoleReport(role, model or type(obj).__name__, source.describe(), source.trained,
                               _count(module), trainable))

    llm = models.llm()
    spec = models.profile.role("llm")
    new_rows = sum(len(ids) for ids in llm.signal_ids.values())
    width = llm.hidden_size * (1 if llm.model.config.tie_word_embeddings else 2)
    lora = lora_parameters(llm.model, int(spec.option("lora_rank", 32)),
                           tuple(spec.option("lora_targets", DEFAULT_LORA_TARGETS)))
    add("llm", llm, llm.model, new_rows * width + lora, type(llm.model).__name__)
    for modality in INPUTS:
        if models.has(f"{modality.value}_encoder"):
            encoder = models.encoder(modality)
            inner = getattr(encoder, "model", None)
            add(f"{modality.value}_encoder", encoder, inner if inner is not None else encoder)
            projector = models.input_projector(modality)
            add(f"{modality.value}_input_projector", projector, projector, _count(projector) or 0)
    for modality in GENERATED:
        if models.has(f"{modality.value}_decoder"):
            projector = models.output_projector(modality)
            add(f"{modality.value}_output_projector", projector, projector, _count(projector) or 0)
            decoder = models.decoder(modality)
            parts = [c for c in decoder.pipeline.components.values() if isinstance(c, torch.nn.Module)]
            total = sum(_count(p) or 0 for p in parts)
            rows.append(RoleReport(f"{modality.value}_decoder", type(decoder.pipeline).__name__,
                                   sources[f"{modality.value}_decoder"].describe(),
                                   sources[f"{modality.value}_decoder"].trained, total, 0))
    if "llm_adapters" in sources:
        count = adapter_parameters(models.profile.adapters)
        rows.append(RoleReport("llm_adapters", "signal-token rows + LoRA (merged)", sources["llm_adapters"].describe(),
                               True, count, count))
    for role, load in (("asr", models.asr), ("tts", models.tts), ("vad", models.vad)):
        if models.has(role):
            add(role, load(), None, model={"asr": "faster-whisper", "tts": "Piper", "vad": "Silero VAD"}[role])
    if models.has("perception"):  # frozen, never trained here: counted apart from NExT-GPT's share
        eyes = models.perceiver()
        add("perception_detector", eyes.detector, None, model="SSD-MobileNet-v2 COCO (OpenCV DNN)")
        rows.append(RoleReport("perception_classifier", "EfficientNet-Lite0 ImageNet",
                               sources["perception_classifier"].describe(), True, None, 0))
        if eyes.reader is not None:
            add("perception_ocr", eyes.reader, None, model="PP-OCRv4 (RapidOCR, ONNX Runtime)")
    return rows


def trainable_share(rows: list[RoleReport]) -> float:
    """Trainable parameters over all torch parameters of the profile (NExT-GPT: about 1%)."""
    total = sum(r.parameters or 0 for r in rows)
    return sum(r.trainable for r in rows) / total if total else 0.0
