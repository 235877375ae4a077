"""Issue 7 figures: the trainable share of each stage for the `local` and `full` profiles, and
training throughput (samples/s) of each stage on the `local` profile on this machine.

`local` is measured on its real weights. `full` cannot be downloaded here, so its models are
built from their published architectures on the meta device (no memory, no weights) and
counted; its denominator leaves out AudioLDM, Zeroscope and Whisper, so the share printed
is an upper bound. Writes bench/results/training.json.
Run: `.venv/bin/python -m bench.training [--steps 20] [--batch-size 4]`.
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
from pathlib import Path

import torch

from bench.result_file import write_result


def local_shares(profile: str) -> dict:
    from models.modality import GENERATED
    from models.model_set import INPUTS, ModelSet
    from models.profile import load_profile
    from models.report import build_report
    from models.training.stages import lora_from_options, stage_plan
    from models.training.trainee import Trainee

    models = ModelSet(load_profile(profile), apply_llm_adapters=False)
    total = sum(r.parameters or 0 for r in build_report(models))
    inputs = {m: models.input_projector(m) for m in INPUTS if models.has(f"{m.value}_encoder")}
    outputs = {m: models.output_projector(m) for m in GENERATED if models.has(f"{m.value}_decoder")}
    lora = lora_from_options(models.profile.role("llm").options)
    shares = {}
    for stage in (1, 2, 3):  # LoRA is injected by stage 3, so it comes last
        trainable = Trainee(models.llm(), inputs, outputs, stage_plan(stage, lora=lora)).count_trainable()
        shares[f"stage_{stage}"] = {"trainable": trainable, "share": trainable / total}
    return {"total_parameters": total, "stages": shares,
            "note": "total counts every torch parameter of the profile; the CTranslate2 Whisper encoder is not torch"}


def full_shares() -> dict:
    from accelerate import init_empty_weights
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from transformers import (
        CLIPTextConfig,
        CLIPTextModel,
        CLIPVisionConfig,
        CLIPVisionModel,
        Qwen2Config,
        Qwen2ForCausalLM,
    )

    from models.modality import DEFAULT_SIGNAL_TOKENS
    from models.profile import load_profile
    from models.projectors import InputProjector, OutputProjector
    from models.report import lora_parameters
    from models.training.stages import lora_from_options

    def count(module: torch.nn.Module) -> int:
        return sum(p.numel() for p in module.parameters())

    profile = load_profile("full")
    hidden = 3584
    with init_empty_weights():
        llm = Qwen2ForCausalLM(Qwen2Config(vocab_size=152064, hidden_size=hidden, intermediate_size=18944,
                                           num_hidden_layers=28, num_attention_heads=28, num_key_value_heads=4,
                                           tie_word_embeddings=False))
        clip = CLIPVisionModel(CLIPVisionConfig(hidden_size=1024, intermediate_size=4096, num_hidden_layers=24,
                                                num_attention_heads=16, image_size=224, patch_size=14))
        sd = [UNet2DConditionModel(), AutoencoderKL(
            block_out_channels=(128, 256, 512, 512), down_block_types=("DownEncoderBlock2D",) * 4,
            up_block_types=("UpDecoderBlock2D",) * 4, layers_per_block=2, latent_channels=4),
            CLIPTextModel(CLIPTextConfig())]
        projector = profile.role("input_projector")
        out_spec = profile.role("output_projector")
        inputs = [InputProjector(in_dim, hidden, projector.kind, hidden_dim=projector.option("hidden_dim"))
                  for in_dim in (1024, 768, 1024)]  # CLIP-L image and video frames, Whisper small encoder
        outputs = [OutputProjector(hidden, tokens, dim, int(out_spec.option("hidden_dim")),
                                   int(out_spec.option("layers")), int(out_spec.option("heads")))
                   for tokens, dim in ((77, 768), (1, 512), (77, 1024))]  # SD 1.5, AudioLDM, Zeroscope
    total = count(llm) + count(clip) + sum(count(m) for m in sd)
    lora = lora_from_options(profile.role("llm").options)
    parts = {
        "input_projectors": sum(count(p) for p in inputs),
        "output_projectors": sum(count(p) for p in outputs),
        "signal_embeddings": sum(DEFAULT_SIGNAL_TOKENS.values()) * hidden * 2,  # untied: embedding + head rows
        "lora": lora_parameters(llm, lora.rank, lora.targets),
    }
    from models.training.stages import DEFAULT_PARTS

    stages = {}
    for stage, chosen in DEFAULT_PARTS.items():
        trainable = sum(parts[p] for p in chosen)
        stages[f"stage_{stage}"] = {"trainable": trainable, "share_at_most": trainable / total}
    return {"total_parameters_counted": total, "parts": parts, "stages": stages,
            "note": "denominator: Qwen2.5-7B, CLIP ViT-L/14 vision, SD 1.5 (UNet, VAE, text encoder) only"}


def throughput(profile: str, steps: int, batch_size: int) -> dict:
    from models.training.api import load_training_data, train_stage
    from models.training.trainer import TrainSettings
    from models.world.dataset import generate_world

    results = {}
    with tempfile.TemporaryDirectory() as folder:
        world = Path(folder) / "world"
        generate_world(world, seed=0, train_per_kind=max(16, steps * batch_size // 3), heldout_per_kind=4)
        data_for = {
            1: ["image_comprehension.json", "audio_comprehension.json", "video_comprehension.json"],
            2: ["image_generation.json", "audio_generation.json", "video_generation.json"],
            3: ["instruction.json", "mosit.json"],
        }
        for stage, files in data_for.items():
            data = load_training_data([world / "train" / f for f in files], world)
            settings = TrainSettings(stage=stage, max_steps=steps, batch_size=batch_size, log_with="csv")
            result = train_stage(profile, data, Path(folder) / f"stage{stage}", settings)
            results[f"stage_{stage}"] = {"samples_per_s": result.samples_per_second, "steps": result.steps,
                                         "batch_size": batch_size, "first_loss": result.losses[0],
                                         "last_loss": result.losses[-1]}
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--profile", default="local")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--skip-throughput", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(torch.get_num_threads())
    report = {
        "machine": {"cpu_threads": torch.get_num_threads(), "platform": platform.platform(),
                    "cuda": torch.cuda.is_available()},
        "share_local": local_shares(args.profile),
        "share_full": full_shares(),
    }
    if not args.skip_throughput:
        report["throughput_local"] = throughput(args.profile, args.steps, args.batch_size)
    write_result("training", report)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
