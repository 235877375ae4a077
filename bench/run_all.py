"""Runs every benchmark in turn (`make bench`); each writes its JSON to bench/results/."""

from __future__ import annotations

import subprocess
import sys

BENCHMARKS = ("bench.model_core", "bench.live_engine", "bench.desktop_app", "bench.mqtt_bridge", "bench.training",
              "bench.perception", "bench.event_loop", "bench.asr_window", "bench.voice_room", "bench.double_talk",
              "bench.wyoming")


def main() -> int:
    failed = [name for name in BENCHMARKS if subprocess.run([sys.executable, "-m", name]).returncode != 0]
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
