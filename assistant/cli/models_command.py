"""`models`: every role of a profile, its model, where its weights came from, its size."""

from __future__ import annotations

import json
import sys
from typing import TextIO

from models import AnyToAnyModel, trainable_share


def run_models(profile: str, as_json: bool, stdout: TextIO | None = None) -> int:
    stdout = stdout or sys.stdout  # the stream of the moment, not the one at import
    model = AnyToAnyModel.from_profile(profile)
    rows = model.report()
    share = trainable_share(rows)
    if as_json:
        payload = {"profile": model.profile.name, "roles": [r.as_dict() for r in rows], "trainable_share": share,
                   "output_routes": model.output_routes(), "decoder_memory": model.profile.decoder_memory}
        stdout.write(json.dumps(payload) + "\n")
        return 0
    stdout.write(f"profile {model.profile.name}: {model.profile.description}\n\n")
    stdout.write(f"{'role':<24} {'model':<30} {'parameters':>12} {'trainable':>10}  weights\n")
    for r in rows:
        count = f"{r.parameters:,}" if r.parameters is not None else "n/a"
        stdout.write(f"{r.role:<24} {r.model:<30} {count:>12} {r.trainable:>10,}  {r.source}\n")
    stdout.write(f"\ntrainable share (projectors + signal-token rows + LoRA): {share:.2%} (NExT-GPT: about 1%)\n")
    routes = {"projector": "its output projector", "bridge": "a caption through its own text encoder (the bridge)"}
    for modality, route in model.output_routes().items():
        stdout.write(f"{modality} decoder conditioned by {routes[route]}\n")
    memory = {"resident": "each stays loaded once used", "one_at_a_time": "one loaded at a time",
              "cpu_offload": "in CPU memory, each part on the GPU while it runs (on CUDA)"}
    if model.output_routes():
        stdout.write(f"decoders: {memory[model.profile.decoder_memory]} (decoder_memory)\n")
    untrained = [r.role for r in rows if not r.trained]
    if untrained:
        stdout.write(f"untrained (random weights): {', '.join(untrained)}\n")
    return 0
