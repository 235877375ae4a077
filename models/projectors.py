"""The two small trainable bridges of NExT-GPT.

- `InputProjector`: encoder features -> the LLM's embedding space (linear or MLP), optionally
  pooled to a fixed number of tokens so a medium costs a known share of the prompt.
- `OutputProjector`: the hidden states of a modality's signal tokens -> the conditioning a
  diffusion decoder expects in place of its text encoder's output: a small transformer
  whose learnable queries attend to the signal states (NExT-GPT's output-side projection).
  With `standardise`, it learns the conditioning in standardised form: minus the training
  captions' mean (per element), over the spread of what remains (one number: the root mean
  square of every element's standard deviation). Buffers, fitted once before its first training
  step. A text encoder may give captions embeddings that differ by a thousandth of their size
  (the world's sound captions do); a plain MSE then learns the shared mean and never resolves
  the rest. One spread for all elements keeps the MSE's weighting of them; a spread per element
  weighs an element that barely varies as much as one that carries the caption (so trained, the
  world's video projector still gave only the mean after stage 3).

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
        standardise: bool = False,
    ) -> None:
        super().__init__()
        if standardise:
            self.register_buffer("target_mean", torch.zeros(out_tokens, out_dim))
            self.register_buffer("target_scale", torch.ones(()))  # one spread for every element
            self.register_buffer("fitted_on", torch.zeros((), dtype=torch.long))  # captions; 0: not fitted yet
        self.in_proj = nn.Linear(in_dim, hidden_dim)
        self.queries = nn.Parameter(torch.randn(out_tokens, hidden_dim) * 0.02)
        layer = nn.TransformerDecoderLayer(
            hidden_dim, num_heads, 4 * hidden_dim, dropout=0.0, batch_first=True, norm_first=True
        )
        self.transformer = nn.TransformerDecoder(layer, num_layers)
        self.norm = nn.LayerNorm(hidden_dim)
        self.out_proj = nn.Linear(hidden_dim, out_dim)

    def forward(self, signal_states: torch.Tensor) -> torch.Tensor:
        """(batch, num_signal_tokens, in_dim) -> (batch, out_tokens, out_dim): the decoder's conditioning."""
        raw = self.standardised(signal_states)
        return raw * self.target_scale + self.target_mean if self.config.standardise else raw

    def standardised(self, signal_states: torch.Tensor) -> torch.Tensor:
        """The network's own output: the conditioning in standardised form (the same as `forward`
        without `standardise`). Training compares it with `standardise(target)`."""
        memory = self.in_proj(signal_states)
        queries = self.queries.unsqueeze(0).expand(signal_states.shape[0], -1, -1)
        return self.out_proj(self.norm(self.transformer(queries, memory)))

    def standardise(self, target: torch.Tensor) -> torch.Tensor:
        """A decoder conditioning (..., out_tokens, out_dim) in the space `standardised` predicts."""
        if not self.config.standardise:
            return target
        return (target - self.target_mean) / self.target_scale

    @property
    def needs_fit(self) -> bool:
        return bool(self.config.standardise) and int(self.fitted_on) == 0

    @torch.no_grad()
    def fit_targets(self, targets: torch.Tensor) -> None:
        """Set the mean (per element) and the spread (one number) from the training captions'
        conditionings (captions, out_tokens, out_dim)."""
        if not self.config.standardise:
            raise ValueError("this output projector was built without standardise")
        targets = targets.to(self.target_mean.device, torch.float32)
        spread = float(targets.var(0, unbiased=False).mean().sqrt()) if len(targets) > 1 else 0.0
        self.target_mean.copy_(targets.mean(0))
        self.target_scale.fill_(max(spread, 1e-6))
        self.fitted_on.fill_(len(targets))
