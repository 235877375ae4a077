"""What each of NExT-GPT's three training stages tunes and which losses it uses.

1. encoder-side alignment: X -> caption; cross-entropy; tunes the input projectors.
2. decoder-side alignment: caption -> signal tokens; cross-entropy on the signal tokens plus
   MSE between the projected signal states and the decoder's text embedding of the caption;
   tunes the output projectors and the signal tokens' embedding rows.
3. modality-switching instruction tuning (MosIT): LoRA and both projectors; cross-entropy + MSE.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import InputError

PARTS = ("input_projectors", "output_projectors", "signal_embeddings", "lora")
DEFAULT_PARTS = {
    1: ("input_projectors",),
    2: ("output_projectors", "signal_embeddings"),
    3: ("lora", "input_projectors", "output_projectors"),
}


@dataclass(frozen=True)
class LoraSettings:
    """peft LoRA on the LLM's attention projections (NExT-GPT: r=32, alpha=32, dropout 0.1)."""

    rank: int = 32
    alpha: int = 32
    dropout: float = 0.1
    targets: tuple[str, ...] = ("q_proj", "k_proj", "v_proj", "o_proj")


@dataclass(frozen=True)
class StagePlan:
    stage: int
    parts: frozenset[str]
    label_scope: str  # "answers": every assistant token; "signals": only signal tokens
    mse_weight: float = 1.0
    lora: LoraSettings = field(default_factory=LoraSettings)
    # KL(base LLM || tuned LLM) on the answers of text-only examples, the base being the LLM with its
    # LoRA switched off: those examples then keep the base model's whole next-token distribution,
    # not only its greedy answer (0: off; it needs LoRA)
    distill_weight: float = 0.0

    @property
    def uses_mse(self) -> bool:
        """The MSE reaches a trained parameter only through the output side."""
        return self.mse_weight > 0 and bool(self.parts & {"output_projectors", "signal_embeddings", "lora"})


def lora_from_options(options: dict, **overrides: float | int | None) -> LoraSettings:
    """LoRA settings from a profile's `[llm]` options (`lora_rank`, `lora_alpha`, `lora_dropout`,
    `lora_targets`), NExT-GPT's defaults for what it does not say, then `overrides` that are not None."""
    default = LoraSettings()
    values = {
        "rank": int(options.get("lora_rank", default.rank)),
        "alpha": int(options.get("lora_alpha", default.alpha)),
        "dropout": float(options.get("lora_dropout", default.dropout)),
        "targets": tuple(options.get("lora_targets", default.targets)),
    }
    values.update({k: v for k, v in overrides.items() if v is not None})
    return LoraSettings(**values)


def stage_plan(
    stage: int, parts: list[str] | None = None, mse_weight: float = 1.0, lora: LoraSettings | None = None,
    distill_weight: float = 0.0,
) -> StagePlan:
    if stage not in DEFAULT_PARTS:
        raise InputError(f"stage {stage}: NExT-GPT has stages 1, 2 and 3")
    chosen = tuple(parts) if parts else DEFAULT_PARTS[stage]
    unknown = set(chosen) - set(PARTS)
    if unknown:
        raise InputError(f"cannot train {sorted(unknown)}: choose from {', '.join(PARTS)}")
    if distill_weight and "lora" not in chosen:
        raise InputError("distilling from the base LLM needs LoRA among the parts trained")
    return StagePlan(stage, frozenset(chosen), "signals" if stage == 2 else "answers", mse_weight,
                     lora or LoraSettings(), distill_weight)
