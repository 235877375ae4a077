"""Where a role runs: `auto` picks CUDA with half precision when present, else the CPU in fp32."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .errors import ProfileError


@dataclass(frozen=True)
class Placement:
    device: torch.device
    dtype: torch.dtype

    def describe(self) -> str:
        return f"{self.device.type} {str(self.dtype).removeprefix('torch.')}"


_DTYPES = {"fp32": torch.float32, "float32": torch.float32, "fp16": torch.float16, "float16": torch.float16,
           "bf16": torch.bfloat16, "bfloat16": torch.bfloat16}


def resolve_placement(device: str = "auto", dtype: str = "auto") -> Placement:
    """Turns a profile's `device`/`dtype` strings into a torch device and dtype."""
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    target = torch.device(device)
    if target.type == "cuda" and not torch.cuda.is_available():
        raise ProfileError(f"device {device!r} asked for, but CUDA is not available here: use \"auto\" or \"cpu\"")
    if dtype == "auto":
        if target.type == "cuda":
            chosen = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        else:
            chosen = torch.float32
    elif dtype in _DTYPES:
        chosen = _DTYPES[dtype]
    else:
        raise ProfileError(f"unknown dtype {dtype!r}: choose auto, fp32, fp16 or bf16")
    return Placement(target, chosen)


def cpu_has_native_bf16() -> bool:
    """Whether this CPU multiplies bf16 in hardware (AVX512-BF16 or AMX), where a bf16 model runs
    faster than fp32; elsewhere bf16 is emulated and slower."""
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):  # a torch build without oneDNN
        return False


def set_threads(count: int | None) -> int:
    """Sets how many threads the calling thread's model calls use, and returns how many they used.
    None: all but one of torch's default, at least one, for model calls that run beside real-time
    audio work. On few cores a thread that audio work keeps waiting holds up the others at every
    step, so fewer threads run faster there."""
    before = torch.get_num_threads()
    torch.set_num_threads(max(1, count if count is not None else _DEFAULT_THREADS - 1))
    return before


_DEFAULT_THREADS = torch.get_num_threads()
