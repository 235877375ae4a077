"""Issue 3 figures on a profile (default `local`): start to ready, first token, tokens/s, ASR and TTS
real-time factors. Writes bench/results/model_core.json. Run: `.venv/bin/python -m bench.model_core`."""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from bench.result_file import write_result

QUESTIONS = ["What is the capital of France?", "Name three colours.", "How many legs does a spider have?"]

START_SCRIPT = """
import time, sys
t0 = float(sys.argv[1])
from models import AnyToAnyModel
model = AnyToAnyModel.from_profile(sys.argv[2])
model.load_all()
print(time.time() - t0)
"""


def start_to_ready(profile: str) -> float:
    """Seconds from launching a fresh Python to every role of the profile loaded."""
    run = subprocess.run([sys.executable, "-c", START_SCRIPT, str(time.time()), profile], capture_output=True,
                         text=True, check=True, cwd=Path(__file__).resolve().parents[1])
    return float(run.stdout.strip().splitlines()[-1])


def text_latency(model, repeats: int) -> dict[str, float]:
    from models import Modality, ModelRequest, ReplyDone

    first, rates = [], []
    for i in range(repeats):
        request = ModelRequest(text=QUESTIONS[i % len(QUESTIONS)], want={Modality.TEXT}, max_new_tokens=48)
        done = [e for e in model.respond(request) if isinstance(e, ReplyDone)][0]
        first.append(done.timings_ms["first_token_ms"])
        generated = done.timings_ms["text_pieces"]
        rates.append(generated / (done.timings_ms["generate_ms"] / 1000))
    return {"first_token_ms_median": statistics.median(first), "first_token_ms_max": max(first),
            "tokens_per_s_median": statistics.median(rates)}


def speech_factors(model) -> dict[str, float]:
    from models import AudioData, read_audio

    text = "Please turn on the lights in the living room and set the heating to twenty degrees."
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "clip.wav"
        subprocess.run(["espeak-ng", "-s", "150", "-w", str(path), text], check=True)
        clip = read_audio(path)
    model.transcribe(clip)  # warm-up
    start = time.perf_counter()
    heard = model.transcribe(clip)
    asr_rtf = (time.perf_counter() - start) / clip.seconds
    model.synthesize("Warm up.")
    start = time.perf_counter()
    speech: AudioData = model.synthesize(text)
    tts_rtf = (time.perf_counter() - start) / speech.seconds
    return {"asr_real_time_factor": asr_rtf, "asr_clip_s": clip.seconds, "asr_text": heard,
            "tts_real_time_factor": tts_rtf, "tts_audio_s": speech.seconds}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--profile", default="local")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    from models import AnyToAnyModel

    AnyToAnyModel.from_profile(args.profile).models.llm()  # the one-time GGUF conversion, not timed
    ready = [start_to_ready(args.profile) for _ in range(2)]
    model = AnyToAnyModel.from_profile(args.profile)
    model.load_all()
    result = {
        "benchmark": "model_core",
        "profile": args.profile,
        "machine": {"cpus": torch.get_num_threads(), "platform": platform.platform(),
                    "cuda": torch.cuda.get_device_name() if torch.cuda.is_available() else None},
        "start_to_ready_s": min(ready),
        **text_latency(model, args.repeats),
        **speech_factors(model),
        "goals": {"start_to_ready_s": 10, "first_token_ms": 500, "asr_real_time_factor": 0.2,
                  "tts_real_time_factor": 0.2},
    }
    write_result("model_core", result)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
