from collections.abc import Callable
from pathlib import Path

import pytest
import torch


def _changed_parts(before: Path, after: Path) -> set[str]:
    """The adapter parts (top folders) whose tensors differ between two adapters folders."""
    from safetensors.torch import load_file

    changed = set()
    for file in before.rglob("*.safetensors"):
        old, new = load_file(file), load_file(after / file.relative_to(before))
        if any(not torch.equal(old[k], new[k]) for k in old):
            changed.add(file.relative_to(before).parts[0])
    return changed


@pytest.fixture
def changed_parts() -> Callable[[Path, Path], set[str]]:
    return _changed_parts
