"""Clips the live tests play as camera and microphone: videos made with PyAV, speech made with
espeak-ng, and a tiny profile slow enough to be talked over."""

from __future__ import annotations

import subprocess
from pathlib import Path

import av
import cv2
import numpy as np
import soundfile

from models import read_audio
from tests.photos import photo


def make_video(path: Path, seconds: float, fps: int = 10) -> Path:
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = 64, 64, "yuv420p"
        for i in range(int(seconds * fps)):
            pixels = np.full((64, 64, 3), (i * 7) % 255, np.uint8)
            pixels[20:40, 20:40] = (220, 40, 40)
            container.mux(stream.encode(av.VideoFrame.from_ndarray(pixels, format="rgb24")))
        container.mux(stream.encode(None))
    return path


def make_speech(path: Path, pieces: list[str | float]) -> Path:
    """Text pieces spoken by espeak-ng, numbers as seconds of silence between them."""
    parts = []
    for piece in pieces:
        if isinstance(piece, float):
            parts.append(np.zeros(int(16000 * piece), np.float32))
        else:
            clip = path.with_suffix(".part.wav")
            subprocess.run(["espeak-ng", "-s", "160", "-w", str(clip), piece], check=True)
            parts.append(read_audio(clip).samples)
    soundfile.write(path, np.concatenate(parts), 16000)
    return path


def slow_video_profile(saved: Path, steps: int) -> Path:
    """The saved tiny profile with a video decoder slow enough to be talked over."""
    head, video = saved.read_text().split("[video_decoder]")
    target = saved.with_name("tiny-slow-video.toml")
    target.write_text(head + "[video_decoder]" + video.replace("steps = 2", f"steps = {steps}", 1))
    return target


def photo_video(path: Path, scenes: list[tuple[str, float]], fps: int = 10) -> Path:
    """A 320×240 clip showing each named photo for its seconds, in turn."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = 320, 240, "yuv420p"
        for name, seconds in scenes:
            pixels = cv2.resize(photo(name), (320, 240), interpolation=cv2.INTER_AREA)
            for _ in range(int(seconds * fps)):
                container.mux(stream.encode(av.VideoFrame.from_ndarray(pixels, format="rgb24")))
        container.mux(stream.encode(None))
    return path
