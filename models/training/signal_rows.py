"""The embedding rows of the signal tokens: the only rows of the LLM's vocabulary that train.

The frozen embedding matrix stays as it is; these rows stand in for the signal tokens' rows
when embedding and when scoring, so the optimiser holds state for a few dozen rows instead of
the whole vocabulary (152k rows for Qwen2.5). Inference writes the saved rows into the LLM
(`llm_adapters.load_rows`).
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors.torch import save_file
from torch import nn
from transformers import PreTrainedModel

from ..llm_adapters import ROWS_FILE, is_tied, read_rows


class SignalRows(nn.Module):
    def __init__(self, model: PreTrainedModel, ids: list[int], tokens: list[str]) -> None:
        super().__init__()
        weight = model.get_input_embeddings().weight
        self.tokens = tokens
        self.register_buffer("ids", torch.tensor(ids, dtype=torch.long), persistent=False)
        lookup = torch.full((weight.shape[0],), -1, dtype=torch.long)
        lookup[self.ids] = torch.arange(len(ids))
        self.register_buffer("lookup", lookup.to(weight.device), persistent=False)
        self.input_rows = nn.Parameter(weight[self.ids.to(weight.device)].detach().float().clone())
        self.output_rows = None
        if not is_tied(model):
            head = model.get_output_embeddings().weight
            self.output_rows = nn.Parameter(head[self.ids.to(head.device)].detach().float().clone())

    def embed(self, embedding: nn.Module, ids: torch.Tensor) -> torch.Tensor:
        """`embedding(ids)`, with the signal tokens' rows taken from here."""
        out = embedding(ids)
        position = self.lookup[ids]
        rows = self.input_rows[position.clamp(min=0)].to(out.dtype)
        return torch.where((position >= 0).unsqueeze(-1), rows, out)

    def logits(self, head: nn.Module, hidden: torch.Tensor) -> torch.Tensor:
        """`head(hidden)` for (n, hidden) states, with the signal tokens' scores from these rows."""
        logits = head(hidden)
        rows = self.input_rows if self.output_rows is None else self.output_rows
        scores = hidden @ rows.to(hidden.dtype).T
        return logits.index_copy(-1, self.ids, scores.to(logits.dtype))

    def state(self) -> dict[str, torch.Tensor]:
        state = {"input_rows": self.input_rows.detach().float().cpu().contiguous()}
        if self.output_rows is not None:
            state["output_rows"] = self.output_rows.detach().float().cpu().contiguous()
        return state

    def save(self, folder: Path) -> None:
        save_file(self.state(), str(folder / ROWS_FILE), metadata={"tokens": json.dumps(self.tokens)})

    @torch.no_grad()
    def load(self, folder: Path) -> None:
        state = read_rows(folder, self.tokens)
        self.input_rows.copy_(state["input_rows"])
        if self.output_rows is not None:
            self.output_rows.copy_(state.get("output_rows", state["input_rows"]))
