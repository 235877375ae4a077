"""The trainable part of NExT-GPT around the frozen LLM: projectors, signal rows, LoRA.

`Trainee.forward(items)` assembles each example's input embeddings (token embeddings with the
projected encoder features in the media slots), runs the LLM once over the padded batch and
returns the stage's losses: cross-entropy on the labelled tokens, and MSE between each signal
group's projected hidden states and its caption's decoder embedding.
"""

from __future__ import annotations

import logging
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F

from ..llm_adapters import LORA_FOLDER, ROWS_FILE
from ..modality import Modality
from ..projectors import InputProjector, OutputProjector
from ..signal_llm import SignalLLM
from .batches import PreparedItem
from .sequences import IGNORE
from .signal_rows import SignalRows
from .stages import StagePlan

log = logging.getLogger(__name__)


class Trainee(nn.Module):
    def __init__(
        self,
        llm: SignalLLM,
        input_projectors: dict[Modality, InputProjector],
        output_projectors: dict[Modality, OutputProjector],
        plan: StagePlan,
        max_length: int = 1024,
        init: Path | None = None,
    ) -> None:
        super().__init__()
        self.plan = plan
        self.max_length = max_length
        self.signal_ids = {m: list(ids) for m, ids in llm.signal_ids.items()}
        self.group_start = {ids[0]: m for m, ids in self.signal_ids.items()}
        ids = [i for group in self.signal_ids.values() for i in group]
        self.rows = SignalRows(llm.model, ids, llm.tokenizer.convert_ids_to_tokens(ids))
        if init is not None and (init / ROWS_FILE).is_file():
            self.rows.load(init)
        self.lm = _with_lora(llm.model, plan, init)
        self.input_projectors = nn.ModuleDict({m.value: p for m, p in input_projectors.items()})
        self.output_projectors = nn.ModuleDict({m.value: p for m, p in output_projectors.items()})
        self._choose_trainable()

    # what trains ------------------------------------------------------------------------------

    def _choose_trainable(self) -> None:
        self.requires_grad_(False)
        parts = self.plan.parts
        if "input_projectors" in parts:
            self.input_projectors.float().requires_grad_(True)
        if "output_projectors" in parts:
            self.output_projectors.float().requires_grad_(True)
        if "signal_embeddings" in parts:
            self.rows.requires_grad_(True)
        if "lora" in parts:
            for name, parameter in self.lm.named_parameters():
                parameter.requires_grad_("lora_" in name)

    def trainable_parameters(self) -> list[nn.Parameter]:
        return [p for p in self.parameters() if p.requires_grad]

    def count_trainable(self) -> int:
        return sum(p.numel() for p in self.trainable_parameters())

    def base_model(self) -> nn.Module:
        return self.lm.get_base_model() if hasattr(self.lm, "get_base_model") else self.lm

    # the step ---------------------------------------------------------------------------------

    def forward(self, items: list[PreparedItem]) -> dict[str, torch.Tensor]:
        base = self.base_model()
        embeds, labels, ids = zip(*(self._assemble(item, base.get_input_embeddings()) for item in items), strict=True)
        length = max(len(e) for e in embeds)
        inputs = embeds[0].new_zeros(len(items), length, embeds[0].shape[-1])
        mask = torch.zeros(len(items), length, dtype=torch.long, device=inputs.device)
        all_labels = torch.full((len(items), length), IGNORE, dtype=torch.long, device=inputs.device)
        all_ids = torch.full((len(items), length), -1, dtype=torch.long, device=inputs.device)
        for row, (e, lab, i) in enumerate(zip(embeds, labels, ids, strict=True)):
            inputs[row, : len(e)], mask[row, : len(e)], all_labels[row, : len(e)], all_ids[row, : len(e)] = e, 1, lab, i
        hidden = base.get_decoder()(inputs_embeds=inputs, attention_mask=mask).last_hidden_state
        ce = self._cross_entropy(base, hidden, all_labels)
        mse = self._mse(hidden, all_ids, items) if self.plan.uses_mse else hidden.new_zeros(())
        kl = self._distillation(base, hidden, inputs, mask, all_labels, items)
        loss = ce + self.plan.mse_weight * mse + self.plan.distill_weight * kl
        return {"loss": loss, "ce": ce.detach(), "mse": mse.detach(), "kl": kl.detach()}

    def _assemble(self, item: PreparedItem, embedding: nn.Module) -> tuple[torch.Tensor, ...]:
        device = self.rows.input_rows.device
        parts, labels, ids = [], [], []
        for piece, piece_labels in zip(item.pieces, item.labels, strict=True):
            if isinstance(piece, tuple):
                modality, features = piece
                projector = self.input_projectors[modality.value]
                projected = projector(features.unsqueeze(0).to(device, projector.dtype))[0]
                parts.append(projected)
                labels.append(torch.full((len(projected),), IGNORE, dtype=torch.long, device=device))
                ids.append(torch.full((len(projected),), -1, dtype=torch.long, device=device))
            else:
                token_ids = piece.to(device)
                parts.append(self.rows.embed(embedding, token_ids))
                labels.append(piece_labels.to(device))
                ids.append(token_ids)
        dtype = embedding.weight.dtype
        cut = self.max_length
        return (torch.cat([p.to(dtype) for p in parts])[:cut], torch.cat(labels)[:cut], torch.cat(ids)[:cut])

    def _cross_entropy(self, base: nn.Module, hidden: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        targets = labels[:, 1:]
        chosen = targets != IGNORE
        if not chosen.any():
            return hidden.sum() * 0.0
        logits = self.rows.logits(base.get_output_embeddings(), hidden[:, :-1][chosen])
        return F.cross_entropy(logits.float(), targets[chosen])

    def _distillation(self, base: nn.Module, hidden: torch.Tensor, inputs: torch.Tensor, mask: torch.Tensor,
                      labels: torch.Tensor, items: list[PreparedItem]) -> torch.Tensor:
        """KL(base || tuned) per answer token of the text-only rows, the base being the LLM with LoRA off."""
        rows = [row for row, item in enumerate(items) if item.text_only]
        if not self.plan.distill_weight or not rows:
            return hidden.new_zeros(())
        chosen = labels[rows, 1:] != IGNORE
        if not chosen.any():
            return hidden.new_zeros(())
        with torch.no_grad(), self.lm.disable_adapter():
            teacher = base.get_decoder()(inputs_embeds=inputs[rows], attention_mask=mask[rows]).last_hidden_state
            target = self.rows.logits(base.get_output_embeddings(), teacher[:, :-1][chosen]).float()
        student = self.rows.logits(base.get_output_embeddings(), hidden[rows, :-1][chosen]).float()
        return F.kl_div(F.log_softmax(student, -1), F.log_softmax(target, -1), log_target=True,
                        reduction="batchmean")

    def _mse(self, hidden: torch.Tensor, ids: torch.Tensor, items: list[PreparedItem]) -> torch.Tensor:
        losses = []
        for row, item in enumerate(items):
            groups = self._groups(ids[row])
            for (modality, start), (target_modality, target) in zip(groups, item.targets, strict=False):
                if modality is not target_modality:
                    log.warning("%s: signal groups and captions disagree; its MSE term is skipped", item.source)
                    break
                projector = self.output_projectors[modality.value]
                states = hidden[row, start : start + len(self.signal_ids[modality])].unsqueeze(0)
                predicted = projector.standardised(states.to(projector.dtype))[0]
                target = projector.standardise(target.to(predicted.device).float())
                losses.append(F.mse_loss(predicted.float(), target))
        return torch.stack(losses).mean() if losses else hidden.sum() * 0.0

    def _groups(self, ids: torch.Tensor) -> list[tuple[Modality, int]]:
        """(modality, first position) of each whole signal group in a row, in order."""
        groups = []
        row = ids.tolist()
        for position, token in enumerate(row):
            modality = self.group_start.get(token)
            if modality is not None and row[position : position + len(self.signal_ids[modality])] == self.signal_ids[
                modality
            ]:
                groups.append((modality, position))
        return groups


def _with_lora(model: nn.Module, plan: StagePlan, init: Path | None) -> nn.Module:
    """The LLM with LoRA: the adapters of `init` when it has them (trainable when this stage trains
    LoRA, frozen otherwise, so the model is the one inference will use), or new ones."""
    from peft import LoraConfig, PeftModel, get_peft_model

    saved = init / LORA_FOLDER if init is not None else None
    if saved is not None and (saved / "adapter_config.json").is_file():
        return PeftModel.from_pretrained(model, str(saved), is_trainable="lora" in plan.parts)
    if "lora" not in plan.parts:
        return model
    settings = plan.lora
    config = LoraConfig(
        r=settings.rank, lora_alpha=settings.alpha, lora_dropout=settings.dropout,
        target_modules=list(settings.targets), bias="none", task_type="CAUSAL_LM",
    )
    return get_peft_model(model, config)
