"""The two small trainable bridges of NExT-GPT.

- `InputProjector`: encoder features -> the LLM's embedding space (linear or MLP), optionally
  pooled to a fixed number of tokens so a medium costs a known share of the prompt.
- `OutputProjector`: the hidden states of a modality's signal tokens -> the conditioning a
  diffusion decoder expects in place of its text encoder's output: a small transformer
  whose learnable queries attend to the signal states (NExT-GPT's output-side projection).

Both are config-built diffusers models, so they save and load with `save_pretrained` /
`from_pretrained` like every other component.
"""

from __future__ import annotations

import torch
from diffusers import ConfigMixin, ModelMixin
from diffusers.configuration_utils import register_to_config
from torch import nn
from torch.nn import functional as F


class InputProjector(ModelMixin, ConfigMixin):
    @register_to_config
    def __init__(
        self, in_dim: int, out_dim: int, kind: str = "mlp", num_tokens: int | None = None, hidden_dim: int | None = None
    ) -> None:
        super().__init__()
        if kind == "linear":
            self.net = nn.Linear(in_dim, out_dim)
        elif kind == "mlp":
            hidden = hidden_dim or out_dim
            self.net = nn.Sequential(nn.Linear(in_dim, hidden), nn.GELU(), nn.Linear(hidden, out_dim))
        else:
            raise ValueError(f"input projector kind {kind!r}: choose linear or mlp")

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """(batch, length, in_dim) -> (batch, num_tokens or length, out_dim)."""
        if self.config.num_tokens:
            features = F.adaptive_avg_pool1d(features.transpose(1, 2), self.config.num_tokens).transpose(1, 2)
        return self.net(features)


class OutputProjector(ModelMixin, ConfigMixin):
    @register_to_config
    def __init__(
        self,
        in_dim: int,
        out_tokens: int,
        out_dim: int,
        hidden_dim: int = 256,
        num_layers: int = 2,
        num_heads: int = 4,
    ) -> None:
        super().__init__()
        self.in_proj = nn.Linear(in_dim, hidden_dim)
        self.queries = nn.Parameter(torch.randn(out_tokens, hidden_dim) * 0.02)
        layer = nn.TransformerDecoderLayer(
            hidden_dim, num_heads, 4 * hidden_dim, dropout=0.0, batch_first=True, norm_first=True
        )
        self.transformer = nn.TransformerDecoder(layer, num_layers)
        self.norm = nn.LayerNorm(hidden_dim)
        self.out_proj = nn.Linear(hidden_dim, out_dim)

    def forward(self, signal_states: torch.Tensor) -> torch.Tensor:
        """(batch, num_signal_tokens, in_dim) -> (batch, out_tokens, out_dim)."""
        memory = self.in_proj(signal_states)
        queries = self.queries.unsqueeze(0).expand(signal_states.shape[0], -1, -1)
        return self.out_proj(self.norm(self.transformer(queries, memory)))
