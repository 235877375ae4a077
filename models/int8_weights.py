"""The LLM's linear layers with int8 weights, for answering on a CPU in bf16.

A token step of a small LLM on a CPU spends most of its time in matrix-vector products that read
every weight once: its speed is the bytes read. Stored as int8, one scale per output row (the
weight's largest magnitude in that row / 127), the weights are half the bytes of bf16, and
`torch.ops.aten._weight_int8pack_mm` (PyTorch's own CPU kernel for bf16 activations times int8
weights, the one gpt-fast and torchao use) multiplies them without widening them first. The
activations stay in bf16, so a step computes as before but with each weight rounded to one of 255
levels of its row: a small change, though a small model's greedy answers hang on small changes
(quantising the activations too, `torch.ao.quantization.quantize_dynamic`, changed far more; what
each costs is in docs/profiles.md). torchao's own int8
weight-only tensors give the same numbers but were slower here without `torch.compile`, which
this profile does not use.

The kernel exists for fp32 activations too but is slower there than fp32 itself: only an LLM
answering in bf16 takes int8 weights (`[llm] cpu_weights = "int8"`, models/model_set.py).
"""

from __future__ import annotations

import logging

import torch

log = logging.getLogger(__name__)


class Int8Linear(torch.nn.Module):
    """A `torch.nn.Linear` for inference, its weight as int8 with one scale per output row."""

    def __init__(self, linear: torch.nn.Linear) -> None:
        super().__init__()
        weight = linear.weight.detach().float()
        scale = weight.abs().amax(dim=1).clamp(min=1e-12) / 127.0
        self.in_features, self.out_features = linear.in_features, linear.out_features
        self.register_buffer("weight_int8", torch.round(weight / scale[:, None]).clamp(-127, 127)
                             .to(torch.int8).contiguous())
        self.register_buffer("scale", scale.to(linear.weight.dtype))
        self.bias = None if linear.bias is None else torch.nn.Parameter(linear.bias.detach(), requires_grad=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        flat = x.reshape(-1, self.in_features)
        out = torch.ops.aten._weight_int8pack_mm(flat.to(self.scale.dtype), self.weight_int8, self.scale)
        out = out.reshape(*x.shape[:-1], self.out_features)
        return out if self.bias is None else out + self.bias

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, int8 weights"


def int8_linear_layers(model: torch.nn.Module) -> int:
    """Replaces every `torch.nn.Linear` of `model` (the output head too) by an `Int8Linear`, in
    place; gives how many. The model must be answering only: its weights are no longer trainable,
    and a head tied to the input embeddings keeps its own int8 copy."""
    replaced = 0
    for module in list(model.modules()):
        for name, child in list(module.named_children()):
            if type(child) is torch.nn.Linear:
                setattr(module, name, Int8Linear(child))
                replaced += 1
    log.info("the LLM's %d linear layers hold int8 weights", replaced)
    return replaced
