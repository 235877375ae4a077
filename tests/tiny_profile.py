"""Saves the tiny profile's random-weight components to a folder and writes a profile that loads
them back with `from_pretrained`: the path a user's real weights take."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from models.decoders.random_pipelines import build_random_pipeline
from models.device import resolve_placement
from models.encoders.clip_image import VisionTowerEncoder
from models.encoders.whisper_audio import TransformersWhisperEncoder
from models.profile import PROFILES
from models.tiny_llm import build_tiny_llm


def save_tiny_profile(folder: Path) -> Path:
    """Writes `folder/tiny-saved.toml` whose every config-built role loads from `folder/<role>`."""
    source = PROFILES / "tiny.toml"
    data = tomllib.loads(source.read_text())
    cpu = resolve_placement("cpu", "fp32")
    model, tokenizer = build_tiny_llm(data["llm"]["config"])
    model.save_pretrained(folder / "llm")
    tokenizer.save_pretrained(folder / "llm")
    VisionTowerEncoder.from_config(data["image_encoder"]["config"], cpu).save_pretrained(str(folder / "image_encoder"))
    TransformersWhisperEncoder.from_config(data["audio_encoder"]["config"], cpu).save_pretrained(
        str(folder / "audio_encoder")
    )
    for modality in ("image", "audio", "video"):
        build_random_pipeline(modality, data[f"{modality}_decoder"]["config"]).save_pretrained(
            folder / f"{modality}_decoder"
        )
    lines, table = [], ""
    for line in source.read_text().splitlines():
        header = re.match(r"^\[(\w+)\]", line)
        table = header.group(1) if header else table
        if line.strip() == 'weights = "config"':
            line = f'weights = "folder:{table}"\ntrained = false'
        lines.append(line)
    target = folder / "tiny-saved.toml"
    target.write_text("\n".join(lines).replace('name = "tiny"', 'name = "tiny-saved"') + "\n")
    return target
