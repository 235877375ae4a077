"""Real media files and records in NExT-GPT's formats, written for the training tests."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from models.media import AudioData, ImageData, VideoData, write_media

COLOURS = {"red": (220, 40, 40), "blue": (40, 90, 220)}


def write_media_files(root: Path) -> None:
    """Two images, two sounds and a video under `root`."""
    for name, rgb in COLOURS.items():
        pixels = np.full((32, 32, 3), 255, np.uint8)
        pixels[8:24, 8:24] = rgb
        write_media(ImageData(pixels), root / f"images/{name}.png")
    for name, hz in (("low", 262.0), ("high", 1046.0)):
        wave = 0.5 * np.sin(2 * np.pi * hz * np.arange(16000) / 16000)
        write_media(AudioData(wave.astype(np.float32), 16000), root / f"sounds/{name}.wav")
    frames = np.full((8, 32, 32, 3), 255, np.uint8)
    for i in range(8):
        frames[i, 10:20, 2 + 2 * i : 12 + 2 * i] = COLOURS["red"]
    write_media(VideoData(frames, 4.0), root / "videos/right.mp4")


def human(value: str, **extra: str) -> dict:
    return {"from": "human", "value": value, **extra}


def gpt(value: str, **extra: str) -> dict:
    return {"from": "gpt", "value": value, **extra}


def comprehension_records() -> list[dict]:
    return [
        {"input_image": "images/red.png", "conversations": [human("<image>\nWhat do you see?"), gpt("a red square")]},
        {"input_image": "images/blue.png", "conversations": [human("<image>\nDescribe it."), gpt("a blue square")]},
        {"input_audio": "sounds/low.wav", "conversations": [human("<audio>\nWhat do you hear?"), gpt("a low tone")]},
        {"input_video": "videos/right.mp4",
         "conversations": [human("<video>\nWhat happens?"), gpt("a red square moving right")]},
    ]


def generation_records() -> list[dict]:
    return [
        {"output_image": "images/red.png", "image_captions": ["a red square"],
         "conversations": [human("Draw a red square."), gpt("Here it is. <image>")]},
        {"audio_captions": ["a high tone"], "conversations": [human("Play a high tone."), gpt("Listen. <audio>")]},
        {"video_captions": ["a red square moving right"],
         "conversations": [human("Animate a red square moving right."), gpt("Watch. <video>")]},
    ]


def mosit_records() -> list[dict]:
    return [
        {"input_audio": ["sounds/high.wav"], "image_captions": ["a blue square"],
         "conversations": [human("<audio>\nWhat do you hear?"), gpt("a high tone"),
                           human("Now draw a blue square."), gpt("Here you go. <image>")]},
        {"image_captions": ["a red square"],
         "conversations": [human("Can you draw a red square?", input_modality="text"),
                           gpt("Sure. <image>", output_modality="image", caption="a red square")]},
        {"instruction": "What is the capital of France?", "input": "", "output": "Paris."},
    ]


def write_data(root: Path, name: str, records: list[dict]) -> Path:
    path = root / name
    path.write_text(json.dumps(records))
    return path
