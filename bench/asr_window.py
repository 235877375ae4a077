"""Whisper on a window fitted to each clip against its fixed 30 s window (issue 25: the words of a
spoken turn known sooner): word error rate and milliseconds per clip, on the same clips in the
same run. The clips: requests of a few words to a long sentence, said by Piper's voice and six
espeak-ng voices.

Writes bench/results/asr_window.json. Run: `.venv/bin/python -m bench.asr_window`."""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from bench.result_file import write_result
from bench.speech_set import ESPEAK_VOICES, padded, piper, speak, wer
from models import AnyToAnyModel
from models.speech.asr import SpeechRecognizer

SENTENCES = [
    "Stop.", "Good night.", "What time is it?", "Open the garage door.", "Is the back door locked?",
    "Turn off the lights in the living room.", "Play something calm for the kids.",
    "Who painted the ceiling of the Sistine Chapel?", "Add milk, eggs and bread to my shopping list.",
    "Why is the sky blue during the day but red at sunset?",
    "Set a timer for the pasta and tell me when the water is boiling.",
    "Could you describe what you can see on the table in front of the camera right now?",
    "My sister is coming over tomorrow afternoon, so remind me to clean the guest room before lunch.",
    "I was reading about volcanoes last night and I wondered how scientists know when one is about to erupt.",
]


def run(model: AnyToAnyModel, folder: Path) -> dict[str, object]:
    whisper = model.models.asr().whisper
    windows = {"fitted": SpeechRecognizer(whisper, "en", window="fitted"),
               "full": SpeechRecognizer(whisper, "en", beam_size=5, window="full")}
    clips = [(sentence, "piper", padded(piper(model, sentence))) for sentence in SENTENCES]
    clips += [(sentence, voice, padded(speak(sentence, folder, voice)))
              for voice in ESPEAK_VOICES for sentence in SENTENCES]
    rows: dict[str, list[dict[str, object]]] = {name: [] for name in windows}
    for sentence, voice, clip in clips:
        for name, recognizer in windows.items():
            started = time.perf_counter()
            heard = recognizer.transcribe(clip)
            rows[name].append({"said": sentence, "voice": voice, "seconds": round(clip.seconds, 2), "heard": heard,
                               "wer": round(wer(sentence, heard), 3),
                               "ms": round((time.perf_counter() - started) * 1000, 1)})
    summary = {name: {"wer_mean": round(statistics.mean(r["wer"] for r in got), 3),
                      "ms_median": round(statistics.median(r["ms"] for r in got), 1),
                      "ms_p90": round(statistics.quantiles([r["ms"] for r in got], n=10)[-1], 1)}
               for name, got in rows.items()}
    summary["full_ms_over_fitted_ms"] = round(summary["full"]["ms_median"] / summary["fitted"]["ms_median"], 2)
    return {"clips": len(clips), "summary": summary, "rows": rows}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--profile", default="local")
    args = parser.parse_args()
    model = AnyToAnyModel.from_profile(args.profile)
    with tempfile.TemporaryDirectory() as folder:
        result = {"profile": args.profile, **run(model, Path(folder))}
    write_result("asr_window", result)
    print(json.dumps(result["summary"], indent=2))


if __name__ == "__main__":
    main()
