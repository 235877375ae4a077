"""What training adds to the LLM, applied for inference: the signal tokens' trained embedding
rows and LoRA merged into the weights (no per-token cost), from a profile's adapters folder."""

from __future__ import annotations

import json
import logging
import warnings
from pathlib import Path

import torch
from safetensors.torch import load_file
from transformers import PreTrainedModel

from .errors import ProfileError
from .signal_llm import SignalLLM

log = logging.getLogger(__name__)
ROWS_FILE = "signal_tokens.safetensors"
LORA_FOLDER = "llm_lora"


def is_tied(model: PreTrainedModel) -> bool:
    head = model.get_output_embeddings()
    return head is None or head.weight.data_ptr() == model.get_input_embeddings().weight.data_ptr()


def read_rows(folder: Path, tokens: list[str]) -> dict[str, torch.Tensor]:
    """The rows saved in `folder`, checked against the signal tokens they are for."""
    from safetensors import safe_open

    path = folder / ROWS_FILE
    with safe_open(str(path), "pt") as handle:
        saved = json.loads((handle.metadata() or {}).get("tokens", "[]"))
    if saved != tokens:
        raise ProfileError(
            f"{path} holds rows for the signal tokens {saved[:3]}…({len(saved)}) but this profile's LLM has "
            f"{tokens[:3]}…({len(tokens)}): train with the same [signal_tokens] counts"
        )
    return load_file(str(path))


@torch.no_grad()
def load_rows(model: PreTrainedModel, state: dict[str, torch.Tensor], ids: list[int]) -> None:
    """Writes saved rows into the model's embedding (and untied output head) for inference."""
    embedding = model.get_input_embeddings().weight
    index = torch.tensor(ids, device=embedding.device)
    embedding[index] = state["input_rows"].to(embedding.device, embedding.dtype)
    if not is_tied(model):
        head = model.get_output_embeddings().weight
        head[index.to(head.device)] = state.get("output_rows", state["input_rows"]).to(head.device, head.dtype)


def llm_adapter_parts(folder: Path) -> list[str]:
    """The LLM parts an adapters folder holds: "signal_rows", "lora"."""
    parts = []
    if (folder / ROWS_FILE).is_file():
        parts.append("signal_rows")
    if (folder / LORA_FOLDER / "adapter_config.json").is_file():
        parts.append("lora")
    return parts


def adapter_parameters(folder: Path) -> int:
    """Parameters of the LLM parts an adapters folder holds (signal rows and LoRA)."""
    from safetensors import safe_open

    files = [folder / ROWS_FILE, folder / LORA_FOLDER / "adapter_model.safetensors"]
    total = 0
    for path in (f for f in files if f.is_file()):
        with safe_open(str(path), "pt") as handle:
            for key in handle.keys():
                total += torch.Size(handle.get_slice(key).get_shape()).numel()
    return total


def apply_llm_adapters(llm: SignalLLM, folder: Path) -> None:
    parts = llm_adapter_parts(folder)
    if "signal_rows" in parts:
        ids = [i for group in llm.signal_ids.values() for i in group]
        load_rows(llm.model, read_rows(folder, llm.tokenizer.convert_ids_to_tokens(ids)), ids)
    if "lora" in parts:
        from peft import PeftModel

        dtype = llm.model.dtype
        with warnings.catch_warnings():  # peft reads a property transformers deprecates: not the user's to act on
            warnings.filterwarnings("ignore", "`is_gradient_checkpointing` is deprecated", FutureWarning)
            merged = PeftModel.from_pretrained(llm.model, str(folder / LORA_FOLDER)).merge_and_unload()
        llm.model = merged.to(dtype).eval().requires_grad_(False)
    if parts:
        log.info("applied %s from %s to the LLM", " and ".join(parts), folder)
