"""Issue 27, item 3: the `full` profile proven at its real size without the Hub.

Every `full` role is built at its published size from the configurations in
`resources/full_configs/` (written in the repository because the Hub cannot be reached; see the
README there for where each came from) with RANDOM weights, and one request runs through them end
to end on the CPU: an image through CLIP ViT-L/14 and the input projector into Qwen2.5-7B with 64
random prompt token ids (no tokenizer without the Hub), a few tokens generated with a KV cache, the
signal states through the three output projectors, and each decoder (Stable Diffusion 1.5,
AudioLDM-S-full-v2, Zeroscope v2 576w) for its steps at a small but real-architecture output size.
The weights are random, so the outputs are noise: this proves shapes, dtypes, memory and that the
pipelines run, not quality.

Roles load one at a time, each in a fresh subprocess (a clean peak RSS per role; nothing of one
role is resident while the next runs); tensors pass between them through files. The "fits a 24 GB
GPU?" figures are an estimate from parameter bytes only, not a GPU measurement.

Writes bench/results/full_size.json. Run: `.venv/bin/python -m bench.full_size`. It takes minutes and
needs the LLM's bf16 weights in memory at once, so it is not part of `make bench` (docs/benchmarks.md
has its figures).
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.result_file import write_result

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = ROOT / "resources" / "full_configs"
GIB = 1024**3

#: The request's stages, in order; each runs in its own subprocess.
STAGES = ("image_encoder", "input_projector", "llm", "output_projectors", "image_decoder", "audio_decoder",
          "video_decoder")
#: Roles whose weights are built from resources/full_configs/<role>/ (decoders: one folder per component).
CONFIGURED = ("llm", "image_encoder", "image_decoder", "audio_decoder", "video_decoder")
_SINGLE = {"llm": ("transformers", "Qwen2ForCausalLM"), "image_encoder": ("transformers", "CLIPVisionModel"),
           "llm_gpu_small": ("transformers", "Qwen2ForCausalLM")}  # gpu-small's Qwen2.5-1.5B-Instruct
#: faster-whisper small.en is CTranslate2, not torch: it cannot be built from a config; published size.
WHISPER_SMALL_PARAMETERS = 244_000_000


# building at full size ----------------------------------------------------------------------------

def component_classes(role: str) -> dict[str, tuple[type, Path]]:
    """The weighted components of a configured role: name -> (class, config folder). Decoders list
    theirs in model_index.json like a diffusers pipeline; components saved as null (tokenizer, safety
    checker) and the scheduler (no weights) are left out."""
    if role in _SINGLE:
        library, name = _SINGLE[role]
        return {role: (getattr(importlib.import_module(library), name), CONFIGS / role)}
    index = json.loads((CONFIGS / role / "model_index.json").read_text())
    classes = {}
    for name, value in index.items():
        if isinstance(value, list) and value[0] is not None and name != "scheduler":
            classes[name] = (getattr(importlib.import_module(value[0]), value[1]), CONFIGS / role / name)
    return classes


def empty_component(cls: type, folder: Path) -> Any:
    """One component on the meta device (no memory, no weights) from its config folder, read the
    way `from_pretrained` reads it."""
    from accelerate import init_empty_weights
    from transformers import PreTrainedModel

    if issubclass(cls, PreTrainedModel):
        with init_empty_weights():
            model = cls(cls.config_class.from_pretrained(folder))
        model.tie_weights()  # tied embeddings (Qwen2.5-1.5B) are one tensor, counted once
        return model
    with init_empty_weights():
        return cls.from_config(cls.load_config(folder))


def meta_role(role: str) -> dict[str, Any]:
    """Every weighted component of a configured role, on the meta device."""
    return {name: empty_component(cls, folder) for name, (cls, folder) in component_classes(role).items()}


def parameter_count(modules: dict[str, Any]) -> int:
    return sum(p.numel() for m in modules.values() for p in m.parameters())


def materialise(module: Any, dtype: Any, seed: int) -> Any:
    """Replaces every meta parameter with a real tensor in `dtype`: matrices and kernels drawn from a
    seeded normal pool scaled by 1/sqrt(fan-in) (so activations keep their size through the layers
    and nothing overflows in bf16), norm scales 1, biases 0. The pool is tiled at random offsets,
    which fills billions of weights at memory speed instead of drawing each."""
    import torch

    generator = torch.Generator().manual_seed(seed)
    normal = torch.randn(1 << 24, generator=generator)
    pools: dict[int, Any] = {}  # fan-in -> the pool scaled once (a bf16 multiply per weight is slow on a CPU)
    with torch.no_grad():
        for owner in module.modules():
            for name, param in list(owner._parameters.items()):
                if param is None or param.device.type != "meta":
                    continue
                tensor = torch.empty(param.shape, dtype=dtype)
                if param.ndim >= 2:
                    fan_in = max(1, math.prod(param.shape[1:]))
                    if fan_in not in pools:
                        pools[fan_in] = (normal * fan_in**-0.5).to(dtype)
                    _tile(tensor.view(-1), pools[fan_in], generator)
                else:
                    tensor.fill_(1.0 if name == "weight" else 0.0)
                owner._parameters[name] = torch.nn.Parameter(tensor, requires_grad=False)
    return module.eval()


def _tile(flat: Any, pool: Any, generator: Any) -> None:
    import torch

    start, size = 0, flat.numel()
    while start < size:
        offset = int(torch.randint(0, pool.numel() // 2, (1,), generator=generator))
        take = min(size - start, pool.numel() - offset)
        flat[start:start + take].copy_(pool[offset:offset + take])
        start += take


def build_role(role: str, dtype: Any, seed: int = 0) -> dict[str, Any]:
    """Every weighted component of a configured role at full size with random weights in `dtype`."""
    return {name: materialise(module, dtype, seed + i) for i, (name, module) in enumerate(meta_role(role).items())}


def role_bytes(modules: dict[str, Any]) -> int:
    return sum(p.numel() * p.element_size() for m in modules.values() for p in m.parameters())


def scheduler_for(role: str) -> Any:
    """The role's published scheduler; a 1-step run uses DDIM from the same betas (PNDM's first
    steps are Runge-Kutta warm-up steps that call the UNet several times per step)."""
    from diffusers import DDIMScheduler

    return DDIMScheduler.from_config(DDIMScheduler.load_config(CONFIGS / role / "scheduler"))


def conditioning_shape(role: str) -> tuple[int, int]:
    """What the decoder's pipeline takes as `prompt_embeds` per request, from its configs alone (the
    same rule as DiffusionDecoder.conditioning_shape): AudioLDM one vector of its class-embedding
    input; the others (text positions, cross-attention width)."""
    unet = json.loads((CONFIGS / role / "unet" / "config.json").read_text())
    if unet.get("class_embed_type") == "simple_projection":
        return 1, int(unet["projection_class_embeddings_input_dim"])
    text = json.loads((CONFIGS / role / "text_encoder" / "config.json").read_text())
    return int(text["max_position_embeddings"]), int(unet["cross_attention_dim"])


# one request, stage by stage (each in its own process) -------------------------------------------

def _peak_rss_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / GIB  # Linux: kilobytes


def _role_figures(modules: dict[str, Any], build_s: float) -> dict[str, Any]:
    dtypes = sorted({str(p.dtype).removeprefix("torch.") for m in modules.values() for p in m.parameters()})
    return {"parameters": parameter_count(modules), "bytes": role_bytes(modules), "dtype": dtypes,
            "build_s": round(build_s, 2), "rss_after_build_gib": round(_rss_now_gib(), 2)}


def _rss_now_gib() -> float:
    try:
        import psutil

        return psutil.Process().memory_info().rss / GIB
    except ImportError:
        return float("nan")


def stage_image_encoder(work: Path, args: argparse.Namespace) -> dict[str, Any]:
    import numpy as np
    import torch
    from transformers import CLIPImageProcessorPil

    from models.device import Placement
    from models.encoders.clip_image import VisionTowerEncoder
    from models.media import ImageData

    started = time.perf_counter()
    modules = build_role("image_encoder", torch.bfloat16, args.seed)
    figures = _role_figures(modules, time.perf_counter() - started)
    size = int(modules["image_encoder"].config.image_size)
    processor = CLIPImageProcessorPil(size={"shortest_edge": size}, crop_size={"height": size, "width": size})
    encoder = VisionTowerEncoder(modules["image_encoder"], processor, Placement(torch.device("cpu"), torch.bfloat16))
    pixels = np.random.default_rng(args.seed).integers(0, 256, (size, size, 3), dtype=np.uint8)
    encoder.encode(ImageData(pixels))  # warm-up
    started = time.perf_counter()
    features = encoder.encode(ImageData(pixels))
    figures["encode_ms"] = round((time.perf_counter() - started) * 1000, 1)
    figures["features"] = list(features.shape)
    torch.save(features, work / "image_features.pt")
    return figures


def stage_input_projector(work: Path, args: argparse.Namespace) -> dict[str, Any]:
    import torch

    from models.profile import load_profile
    from models.projectors import InputProjector

    spec = load_profile("full").role("input_projector")
    hidden = int(json.loads((CONFIGS / "llm" / "config.json").read_text())["hidden_size"])
    features = torch.load(work / "image_features.pt")
    started = time.perf_counter()
    torch.manual_seed(args.seed)
    projector = InputProjector(features.shape[-1], hidden, spec.kind or "mlp",
                               num_tokens=spec.option("tokens")["image"],
                               hidden_dim=spec.option("hidden_dim")).to(torch.bfloat16).eval()
    figures = _role_figures({"image": projector}, time.perf_counter() - started)
    with torch.inference_mode():
        tokens = projector(features[None].to(torch.bfloat16))
    figures["image_tokens"] = list(tokens.shape)
    torch.save(tokens, work / "image_tokens.pt")
    return figures


def stage_llm(work: Path, args: argparse.Namespace) -> dict[str, Any]:
    import torch

    from models.device import cpu_has_native_bf16
    from models.modality import GENERATED
    from models.profile import load_profile

    started = time.perf_counter()
    model = build_role("llm", torch.bfloat16, args.seed)["llm"]
    figures = _role_figures({"llm": model}, time.perf_counter() - started)
    image_tokens = torch.load(work / "image_tokens.pt")
    ids = torch.randint(0, model.config.vocab_size, (1, args.prompt_tokens), generator=torch.Generator().manual_seed(0))
    with torch.inference_mode():
        embeds = torch.cat([image_tokens, model.get_input_embeddings()(ids)], dim=1)
        started = time.perf_counter()
        out = model(inputs_embeds=embeds, use_cache=True, output_hidden_states=True, logits_to_keep=1)
        token = out.logits[:, -1].argmax(-1, keepdim=True)
        first_ms = (time.perf_counter() - started) * 1000
        last_hidden = out.hidden_states[-1][0].float()
        cache, step_s = out.cache, []
        for _ in range(args.new_tokens - 1):
            started = time.perf_counter()
            out = model(input_ids=token, cache=cache, use_cache=True, logits_to_keep=1)
            cache, token = out.cache, out.logits[:, -1].argmax(-1, keepdim=True)
            step_s.append(time.perf_counter() - started)
    signals = load_profile("full").signal_tokens
    most = max(signals[m] for m in GENERATED)
    torch.save(last_hidden[-most:], work / "signal_states.pt")  # stand-ins for the signal tokens' states
    figures.update({
        "prompt_tokens": int(embeds.shape[1]), "prompt": f"{image_tokens.shape[1]} image tokens + "
                                                        f"{args.prompt_tokens} random token ids",
        "first_token_ms": round(first_ms, 1), "new_tokens": args.new_tokens,
        "decode_tokens_per_s": round(len(step_s) / sum(step_s), 3) if step_s else None,
        "signal_states": [most, int(last_hidden.shape[-1])], "cpu_native_bf16": cpu_has_native_bf16(),
    })
    return figures


def stage_output_projectors(work: Path, args: argparse.Namespace) -> dict[str, Any]:
    import torch

    from models.modality import GENERATED
    from models.profile import load_profile
    from models.projectors import OutputProjector

    profile = load_profile("full")
    spec = profile.role("output_projector")
    states = torch.load(work / "signal_states.pt")
    started = time.perf_counter()
    torch.manual_seed(args.seed)
    projectors, shapes = {}, {}
    for modality in GENERATED:
        tokens, dim = conditioning_shape(f"{modality.value}_decoder")
        projectors[modality.value] = OutputProjector(
            states.shape[-1], tokens, dim, hidden_dim=int(spec.option("hidden_dim")),
            num_layers=int(spec.option("layers")), num_heads=int(spec.option("heads")), standardise=True,
        ).to(torch.bfloat16).eval()
    figures = _role_figures(projectors, time.perf_counter() - started)
    with torch.inference_mode():
        for modality in GENERATED:
            signal = states[-profile.signal_tokens[modality]:][None].to(torch.bfloat16)
            conditioning = projectors[modality.value](signal)[0]
            torch.save(conditioning, work / f"{modality.value}_conditioning.pt")
            expected = conditioning_shape(f"{modality.value}_decoder")
            shapes[modality.value] = {"signal_tokens": profile.signal_tokens[modality],
                                      "prompt_embeds": list(conditioning.shape), "dtype": str(conditioning.dtype),
                                      "decoder_wants": list(expected),
                                      "matches": tuple(conditioning.shape) == expected}
    figures["conditioning"] = shapes
    return figures


def _pipeline(role: str, modules: dict[str, Any]) -> Any:
    from diffusers import AudioLDMPipeline, StableDiffusionPipeline, TextToVideoSDPipeline

    scheduler = scheduler_for(role)
    if role == "image_decoder":
        return StableDiffusionPipeline(**modules, scheduler=scheduler, tokenizer=None, safety_checker=None,
                                       feature_extractor=None, image_encoder=None, requires_safety_checker=False)
    if role == "audio_decoder":
        return AudioLDMPipeline(**modules, scheduler=scheduler, tokenizer=None)
    return TextToVideoSDPipeline(**modules, scheduler=scheduler, tokenizer=None)


def _stage_decoder(role: str, work: Path, args: argparse.Namespace, **shape: Any) -> dict[str, Any]:
    import numpy as np
    import torch

    from models.decoders.diffusion_decoder import DiffusionDecoder
    from models.device import Placement
    from models.modality import Modality
    from models.profile import load_profile

    modality = Modality(role.removesuffix("_decoder"))
    options = load_profile("full").role(role).options
    started = time.perf_counter()
    modules = build_role(role, torch.bfloat16, args.seed)
    figures = _role_figures(modules, time.perf_counter() - started)
    figures["components"] = {name: sum(p.numel() for p in m.parameters()) for name, m in modules.items()}
    decoder = DiffusionDecoder(modality, _pipeline(role, modules), Placement(torch.device("cpu"), torch.bfloat16),
                               steps=args.steps, guidance=float(options.get("guidance", 1.0)), **shape)
    conditioning = torch.load(work / f"{modality.value}_conditioning.pt")
    marks: list[float] = []
    started = time.perf_counter()
    media = decoder(conditioning, on_progress=lambda step, total: marks.append(time.perf_counter()))
    ended = time.perf_counter()
    steps = np.diff([started, *marks]).tolist()
    figures.update({
        "conditioning_shape_wanted": list(decoder.conditioning_shape),
        "conditioning_given": list(conditioning.shape),
        "guidance": decoder.guidance, "steps": args.steps, "output": shape,
        "seconds_per_step": [round(s, 2) for s in steps],
        "decode_and_output_s": round(ended - marks[-1], 2), "total_s": round(ended - started, 2),
        "media": _describe(media),
    })
    return figures


def _describe(media: Any) -> dict[str, Any]:
    import numpy as np

    if hasattr(media, "rate"):
        samples = np.asarray(media.samples)
        return {"kind": "audio", "samples": int(samples.shape[-1]), "rate": int(media.rate),
                "finite": bool(np.isfinite(samples).all())}
    pixels = np.asarray(media.frames if hasattr(media, "frames") else media.pixels)
    return {"kind": "video" if hasattr(media, "frames") else "image", "shape": list(pixels.shape),
            "dtype": str(pixels.dtype), "pixel_std": round(float(pixels.std()), 2)}


def stage_image_decoder(work: Path, args: argparse.Namespace) -> dict[str, Any]:
    return _stage_decoder("image_decoder", work, args, size=args.image_size)


def stage_audio_decoder(work: Path, args: argparse.Namespace) -> dict[str, Any]:
    return _stage_decoder("audio_decoder", work, args, seconds=args.audio_seconds)


def stage_video_decoder(work: Path, args: argparse.Namespace) -> dict[str, Any]:
    return _stage_decoder("video_decoder", work, args, size=args.video_size, frames=args.video_frames)


def run_stage(stage: str, work: Path, args: argparse.Namespace) -> None:
    import torch

    torch.set_grad_enabled(False)
    figures = {"weights": "random", **globals()[f"stage_{stage}"](work, args)}
    figures["peak_rss_gib"] = round(_peak_rss_gib(), 2)
    (work / f"{stage}.json").write_text(json.dumps(figures, indent=2))


# the estimate ------------------------------------------------------------------------------------

def gpu_estimate(parameters: dict[str, int], largest_components: dict[str, int], gpu_gib: float = 24.0,
                 headroom_gib: float = 3.0) -> dict[str, Any]:
    """Whether the roles fit one 24 GB GPU in fp16/bf16 (2 bytes a parameter), from parameter bytes
    alone: activations, the KV cache and the CUDA context are not counted, so a `headroom_gib` is kept
    free for them. An estimate, not a GPU measurement."""
    def gib(count: int) -> float:
        return round(count * 2 / GIB, 2)

    budget = gpu_gib - headroom_gib
    decoders = {r: n for r, n in parameters.items() if r.endswith("_decoder")}
    everything = sum(parameters.values())
    largest_role = max(parameters, key=parameters.__getitem__)
    largest_decoder = max(decoders, key=decoders.__getitem__)
    largest_component = max(largest_components.values())
    llm_and_decoder = parameters["llm"] + decoders[largest_decoder]
    llm_and_offload = parameters["llm"] + largest_component
    return {
        "note": "estimate from parameter bytes in fp16/bf16 only (no GPU here); activations, KV cache and CUDA "
                f"context not counted: {headroom_gib} GiB of the {gpu_gib} GiB kept free for them",
        "budget_gib": budget,
        "all_resident_gib": gib(everything), "all_resident_fits": gib(everything) <= budget,
        "sequential_largest_role": largest_role, "sequential_gib": gib(parameters[largest_role]),
        "sequential_fits": gib(parameters[largest_role]) <= budget,
        "llm_plus_largest_decoder": largest_decoder, "llm_plus_largest_decoder_gib": gib(llm_and_decoder),
        "llm_plus_largest_decoder_fits": gib(llm_and_decoder) <= budget,
        "llm_plus_decoders_with_model_cpu_offload_gib": gib(llm_and_offload),
        "llm_plus_decoders_with_model_cpu_offload_fits": gib(llm_and_offload) <= budget,
    }


def meta_figures(llm: str = "llm") -> tuple[dict[str, int], dict[str, int]]:
    """Parameters of every role (meta device, no memory) and of each decoder's largest component;
    `llm`: the configured LLM (`llm_gpu_small` for the gpu-small profile, whose other roles are full's)."""
    from models.profile import load_profile
    from models.projectors import InputProjector, OutputProjector

    parameters, largest = {}, {}
    for role in CONFIGURED:
        modules = meta_role(llm if role == "llm" else role)
        parameters[role] = parameter_count(modules)
        if role.endswith("_decoder"):
            largest[role] = max(sum(p.numel() for p in m.parameters()) for m in modules.values())
    profile = load_profile("full")
    spec, out = profile.role("input_projector"), profile.role("output_projector")
    hidden = int(json.loads((CONFIGS / llm / "config.json").read_text())["hidden_size"])
    projectors = [InputProjector(d, hidden, spec.kind or "mlp", hidden_dim=spec.option("hidden_dim"))
                  for d in (1024, 768)]  # CLIP-L image (video frames share it), Whisper small encoder
    projectors += [OutputProjector(hidden, *conditioning_shape(f"{m}_decoder"),
                                   hidden_dim=int(out.option("hidden_dim")),
                                   num_layers=int(out.option("layers")), num_heads=int(out.option("heads")))
                   for m in ("image", "audio", "video")]
    parameters["projectors"] = sum(p.numel() for m in projectors for p in m.parameters())
    parameters["asr_whisper_small_published"] = WHISPER_SMALL_PARAMETERS
    return parameters, largest


# orchestration -----------------------------------------------------------------------------------

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stage", choices=STAGES, help="run one stage (internal: the orchestrator's subprocess)")
    parser.add_argument("--work", type=Path, help="the folder stages pass tensors through (with --stage)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--prompt-tokens", type=int, default=64)
    parser.add_argument("--new-tokens", type=int, default=4, help="the first from the prompt, the rest decode steps")
    parser.add_argument("--steps", type=int, default=1)
    parser.add_argument("--image-size", type=int, default=512)
    parser.add_argument("--audio-seconds", type=float, default=2.0)
    parser.add_argument("--video-size", type=int, default=256)
    parser.add_argument("--video-frames", type=int, default=8)
    parser.add_argument("--only", nargs="*", choices=STAGES, help="stop after the last of these stages")
    args = parser.parse_args()
    if args.stage:
        run_stage(args.stage, args.work, args)
        return
    forwarded = [f"--{k.replace('_', '-')}={v}" for k, v in vars(args).items()
                 if k not in ("stage", "work", "only") and v is not None]
    stages = STAGES[:max(STAGES.index(s) for s in args.only) + 1] if args.only else STAGES
    report: dict[str, Any] = {"weights": "RANDOM (built from resources/full_configs at full size; outputs are noise)",
                              "machine": {"platform": platform.platform(), "cpu_threads": os.cpu_count(),
                                          "memory_gib": round(os.sysconf("SC_PAGE_SIZE")
                                                              * os.sysconf("SC_PHYS_PAGES") / GIB, 1)}}
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        for stage in stages:
            started = time.perf_counter()
            done = subprocess.run([sys.executable, "-m", "bench.full_size", "--stage", stage, "--work", folder,
                                   *forwarded], cwd=ROOT)
            if done.returncode != 0:
                report.setdefault("failed", []).append(stage)
                break
            figures = json.loads((work / f"{stage}.json").read_text())
            figures["process_s"] = round(time.perf_counter() - started, 1)
            report.setdefault("stages", {})[stage] = figures
            print(f"{stage}: {json.dumps(figures)}", flush=True)
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024 / GIB
    report["overall_peak_rss_gib"] = round(max(children, _peak_rss_gib()), 2)
    report["peak_rss_goal_gib"] = 22 * 1e9 / GIB
    report["peak_rss_within_goal"] = report["overall_peak_rss_gib"] <= report["peak_rss_goal_gib"]
    parameters, largest = meta_figures()
    report["parameters"] = parameters
    report["gpu_24gb_estimate"] = gpu_estimate(parameters, largest)
    small, small_largest = meta_figures("llm_gpu_small")
    report["gpu_small_parameters"] = small
    report["gpu_small_estimates"] = {f"{gib}gb": gpu_estimate(small, small_largest, gpu_gib=float(gib))
                                     for gib in (12, 8)}
    path = write_result("full_size", report)
    print(path)


if __name__ == "__main__":
    main()
