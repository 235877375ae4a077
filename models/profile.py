"""Profiles: TOML files that name the weights and settings of every role.

A profile is a file in `resources/profiles/` (chosen by name) or anywhere (chosen by path).
Each role is a table: `[llm]`, `[image_encoder]`, `[audio_encoder]`, `[video_encoder]`,
`[input_projector]`, `[output_projector]`, `[image_decoder]`, `[audio_decoder]`,
`[video_decoder]`, `[asr]`, `[tts]`, `[vad]`, `[perception]`. A role table says where its weights are
(`weights = "package:NAME" | "hub:ORG/NAME" | "folder:PATH" | "bundled:PATH" | "config"`),
may name a `kind`, a `config` table (for weights built from a config), a `device`
and a `dtype`; the remaining keys are that role's options.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ProfileError
from .modality import DEFAULT_SIGNAL_TOKENS, Modality

RESOURCES = Path(__file__).resolve().parent.parent / "resources"
PROFILES = RESOURCES / "profiles"
ROLES = (
    "llm", "image_encoder", "audio_encoder", "video_encoder", "input_projector", "output_projector",
    "image_decoder", "audio_decoder", "video_decoder", "asr", "tts", "vad", "perception",
)
# how the diffusion decoders share the device's memory: "resident" keeps each one loaded once used;
# "one_at_a_time" frees the others before one loads (reloaded when asked for again); "cpu_offload"
# keeps them in CPU memory and moves each component to the GPU while it runs (diffusers'
# enable_model_cpu_offload; on a CPU it is "resident")
DECODER_MEMORY = ("resident", "one_at_a_time", "cpu_offload")
_ROLE_KEYS = {"weights", "kind", "config", "device", "dtype", "download_gb"}


@dataclass(frozen=True)
class RoleSpec:
    """One role of a profile: where its weights are, how to build it, where it runs."""

    name: str
    weights: str = "config"
    kind: str = ""
    config: dict[str, Any] = field(default_factory=dict)
    device: str | None = None
    dtype: str | None = None
    options: dict[str, Any] = field(default_factory=dict)
    download_gb: float | None = None  # Hub weights: about how much their first load downloads

    def option(self, key: str, default: Any = None) -> Any:
        return self.options.get(key, default)


@dataclass(frozen=True)
class Profile:
    name: str
    path: Path
    description: str
    device: str
    dtype: str
    signal_tokens: dict[Modality, int]
    roles: dict[str, RoleSpec]
    adapters: Path | None = None
    decoder_memory: str = "resident"  # one of DECODER_MEMORY

    def role(self, name: str) -> RoleSpec:
        if name not in self.roles:
            raise ProfileError(f"profile {self.name!r} ({self.path}) has no [{name}] table")
        return self.roles[name]

    def placement_of(self, role: str) -> tuple[str, str]:
        spec = self.roles.get(role)
        device = spec.device if spec and spec.device else self.device
        dtype = spec.dtype if spec and spec.dtype else self.dtype
        return device, dtype


def available_profiles() -> list[str]:
    return sorted(p.stem for p in PROFILES.glob("*.toml"))


def find_profile(name_or_path: str | Path) -> Path:
    """The file of a profile given by name (`local`) or by path (`my.toml`)."""
    text = str(name_or_path)
    candidate = Path(text).expanduser()
    if text.endswith(".toml") or candidate.is_file():
        if not candidate.is_file():
            raise ProfileError(f"profile file {text} does not exist")
        return candidate.resolve()
    path = PROFILES / f"{text}.toml"
    if not path.is_file():
        raise ProfileError(
            f"unknown profile {text!r}: choose one of {', '.join(available_profiles())}, or give a path to a .toml file"
        )
    return path


def load_profile(name_or_path: str | Path = "local") -> Profile:
    path = find_profile(name_or_path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ProfileError(f"profile {path} is not valid TOML: {exc}") from exc
    return parse_profile(data, path)


def parse_profile(data: dict[str, Any], path: Path) -> Profile:
    unknown = set(data) - set(ROLES) - {"name", "description", "device", "dtype", "signal_tokens", "adapters",
                                         "decoder_memory"}
    if unknown:
        raise ProfileError(f"profile {path} has unknown keys {sorted(unknown)}; roles are {', '.join(ROLES)}")
    roles = {}
    for role in ROLES:
        table = data.get(role)
        if table is None:
            continue
        if not isinstance(table, dict):
            raise ProfileError(f"profile {path}: [{role}] must be a table")
        roles[role] = RoleSpec(
            name=role,
            weights=str(table.get("weights", "config")),
            kind=str(table.get("kind", "")),
            config=dict(table.get("config", {})),
            device=table.get("device"),
            dtype=table.get("dtype"),
            options={k: v for k, v in table.items() if k not in _ROLE_KEYS},
            download_gb=float(table["download_gb"]) if "download_gb" in table else None,
        )
    if "llm" not in roles:
        raise ProfileError(f"profile {path} has no [llm] table: every profile needs a language model")
    signal_tokens = dict(DEFAULT_SIGNAL_TOKENS)
    for key, count in data.get("signal_tokens", {}).items():
        try:
            modality = Modality(key)
        except ValueError:
            raise ProfileError(f"profile {path}: signal_tokens.{key} is not image, audio or video") from None
        if not isinstance(count, int) or count < 1:
            raise ProfileError(f"profile {path}: signal_tokens.{key} must be a positive integer")
        signal_tokens[modality] = count
    adapters = data.get("adapters")
    decoder_memory = str(data.get("decoder_memory", "resident"))
    if decoder_memory not in DECODER_MEMORY:
        raise ProfileError(f"profile {path}: decoder_memory {decoder_memory!r}: choose {', '.join(DECODER_MEMORY)}")
    return Profile(
        name=str(data.get("name", path.stem)),
        path=path,
        description=str(data.get("description", "")),
        device=str(data.get("device", "auto")),
        dtype=str(data.get("dtype", "auto")),
        signal_tokens=signal_tokens,
        roles=roles,
        adapters=(path.parent / adapters).resolve() if adapters else None,
        decoder_memory=decoder_memory,
    )
