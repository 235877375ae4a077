"""Train the local profile's CLIP vision tower from scratch on the synthetic world.

A supervised head on the tower's pooled output classifies colour and shape and regresses where the
shape is and how big (centre x, centre y, side; from the pixels), so that the features carry every
attribute the world has and patch features stay informative about position. Training data: the
world's images and the frames of its videos (smaller shapes), so video frames are covered too. The
head is thrown away; the tower and its image processor are saved with `VisionTowerEncoder.save_pretrained`
and load with `VisionTowerEncoder.from_pretrained`.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from models.device import Placement
from models.encoders.clip_image import VisionTowerEncoder
from models.media.image_reader import read_image
from models.media.video_reader import read_video
from models.world.attributes import BACKGROUND, COLOURS, SHAPES, VIDEO_FRAMES, parse_caption
from models.world.decoder_training import world_captions

log = logging.getLogger(__name__)

COLOUR_NAMES: tuple[str, ...] = tuple(COLOURS)
GEOMETRY = 3  # centre x, centre y, side: each as a share of the picture


@dataclass(frozen=True)
class EncoderTrainingOptions:
    steps: int = 2000
    batch_size: int = 64
    learning_rate: float = 5e-4
    warmup_steps: int = 100
    geometry_weight: float = 1.0
    video_frames_per_clip: int = 2  # frames of each training video used as pictures
    seconds: float | None = None
    seed: int = 0
    log_every: int = 50


@dataclass
class EncoderTrainingReport:
    steps: int = 0
    seconds: float = 0.0
    losses: list[float] = field(default_factory=list)
    heldout: dict[str, float] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=1) + "\n"


@dataclass
class LabelledPictures:
    """Pictures (N, H, W, 3) uint8 with colour and shape indices and geometry (N, 3)."""

    pixels: np.ndarray
    colours: torch.Tensor
    shapes: torch.Tensor
    geometry: torch.Tensor


class AttributeHead(torch.nn.Module):
    """Colour logits, shape logits and geometry from a pooled feature."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.out = torch.nn.Linear(dim, len(COLOUR_NAMES) + len(SHAPES) + GEOMETRY)

    def forward(self, pooled: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        out = self.out(pooled)
        colours = len(COLOUR_NAMES)
        return out[:, :colours], out[:, colours:colours + len(SHAPES)], out[:, colours + len(SHAPES):]


def geometry_of(pixels: np.ndarray) -> np.ndarray:
    """(centre x, centre y, side) of the non-white pixels of an (H, W, 3) picture, as shares of its size."""
    mask = (pixels != np.asarray(BACKGROUND, dtype=pixels.dtype)).any(axis=-1)
    height, width = mask.shape
    ys, xs = np.nonzero(mask)
    if ys.size == 0:
        return np.array([0.5, 0.5, 0.0], dtype=np.float32)
    side = max(ys.max() - ys.min() + 1, xs.max() - xs.min() + 1)
    return np.array([(xs.mean() + 0.5) / width, (ys.mean() + 0.5) / height, side / max(height, width)],
                    dtype=np.float32)


def load_pictures(world_folder: Path, split: str = "train", frames_per_clip: int = 2,
                  rng: np.random.Generator | None = None, images: bool = True) -> LabelledPictures:
    """The split's images (unless `images` is False) and `frames_per_clip` frames of each of its videos, labelled."""
    folder = Path(world_folder)
    rng = rng or np.random.default_rng(0)
    pictures: list[np.ndarray] = []
    labels: list[tuple[int, int]] = []
    for path, caption in world_captions(folder, "image", split) if images else []:
        attributes = parse_caption(caption)
        pictures.append(read_image(folder / path).pixels)
        labels.append((COLOUR_NAMES.index(attributes.colour), SHAPES.index(attributes.shape)))
    if frames_per_clip > 0:
        for path, caption in world_captions(folder, "video", split):
            attributes = parse_caption(caption)
            frames = read_video(folder / path, num_frames=VIDEO_FRAMES).frames
            for index in rng.choice(len(frames), size=min(frames_per_clip, len(frames)), replace=False):
                pictures.append(frames[int(index)])
                labels.append((COLOUR_NAMES.index(attributes.colour), SHAPES.index(attributes.shape)))
    pixels = np.stack(pictures)
    colours, shapes = (torch.tensor(column) for column in zip(*labels, strict=True))
    geometry = torch.from_numpy(np.stack([geometry_of(picture) for picture in pixels]))
    return LabelledPictures(pixels, colours, shapes, geometry)


def _values(encoder: VisionTowerEncoder, pixels: np.ndarray, chunk: int = 256) -> torch.Tensor:
    """The processor's pixel values for every picture, computed once."""
    return torch.cat([encoder.pixel_values(list(pixels[i:i + chunk])) for i in range(0, len(pixels), chunk)])


def _accuracy(encoder: VisionTowerEncoder, head: AttributeHead, values: torch.Tensor,
              pictures: LabelledPictures) -> dict[str, float]:
    with torch.no_grad():
        colours, shapes, geometry = [], [], []
        for part in values.split(256):
            c, s, g = head(encoder.model(pixel_values=part).pooler_output)
            colours.append(c.argmax(-1))
            shapes.append(s.argmax(-1))
            geometry.append(g)
        colour_hit = torch.cat(colours) == pictures.colours
        shape_hit = torch.cat(shapes) == pictures.shapes
        error = (torch.cat(geometry) - pictures.geometry).abs().mean(0) * 64  # in pixels of a 64-pixel picture
    return {"colour": float(colour_hit.float().mean()), "shape": float(shape_hit.float().mean()),
            "both": float((colour_hit & shape_hit).float().mean()), "centre_x_px": float(error[0]),
            "centre_y_px": float(error[1]), "side_px": float(error[2])}


def train_image_encoder(
    world_folder: Path,
    out_folder: Path | None,
    config: dict[str, Any],
    options: EncoderTrainingOptions = EncoderTrainingOptions(),
) -> tuple[VisionTowerEncoder, EncoderTrainingReport]:
    """Build the tower from `config` (the profile's `[image_encoder]` config) as `VisionTowerEncoder.from_config`
    does, train it with the attribute head on the world's train split, judge the head on the held-out split
    (images and video frames) and, when `out_folder` is given, save the tower there with `training.json`."""
    torch.manual_seed(options.seed)
    rng = np.random.default_rng(options.seed)
    encoder = VisionTowerEncoder.from_config(config, Placement(torch.device("cpu"), torch.float32), seed=options.seed)
    train = load_pictures(world_folder, "train", options.video_frames_per_clip, rng)
    heldout_images = load_pictures(world_folder, "heldout", 0, rng)
    heldout_frames = load_pictures(world_folder, "heldout", VIDEO_FRAMES, rng, images=False)
    train_values = _values(encoder, train.pixels)
    log.info("training the image encoder on %d pictures", len(train.pixels))
    model = encoder.model.train().requires_grad_(True)
    head = AttributeHead(encoder.feature_dim)
    parameters = [*model.parameters(), *head.parameters()]
    optimizer = torch.optim.AdamW(parameters, lr=options.learning_rate, weight_decay=1e-2)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda i: min(1.0, (i + 1) / max(1, options.warmup_steps)))
    generator = torch.Generator().manual_seed(options.seed)
    report = EncoderTrainingReport()
    started = time.perf_counter()
    window: list[float] = []
    for step in range(1, options.steps + 1):
        chosen = torch.randint(0, len(train.pixels), (options.batch_size,), generator=generator)
        colours, shapes, geometry = head(model(pixel_values=train_values[chosen]).pooler_output)
        loss = (F.cross_entropy(colours, train.colours[chosen]) + F.cross_entropy(shapes, train.shapes[chosen])
                + options.geometry_weight * F.mse_loss(geometry, train.geometry[chosen]) * 10)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(parameters, 1.0)
        optimizer.step()
        schedule.step()
        window.append(float(loss.detach()))
        elapsed = time.perf_counter() - started
        out_of_time = options.seconds is not None and elapsed >= options.seconds
        if len(window) == options.log_every or step == options.steps or out_of_time:
            report.losses.append(float(np.mean(window)))
            log.info("image encoder step %d/%d: loss %.4f (%.2f s/step)", step, options.steps, report.losses[-1],
                     elapsed / step)
            window = []
        report.steps = step
        if out_of_time:
            break
    report.seconds = time.perf_counter() - started
    model.eval().requires_grad_(False)
    for name, pictures in (("images", heldout_images), ("video_frames", heldout_frames)):
        accuracy = _accuracy(encoder, head, _values(encoder, pictures.pixels), pictures)
        report.heldout.update({f"{name}_{key}": value for key, value in accuracy.items()})
    log.info("image encoder on held-out pictures: %s", report.heldout)
    if out_folder is not None:
        Path(out_folder).mkdir(parents=True, exist_ok=True)
        encoder.save_pretrained(str(out_folder))
        (Path(out_folder) / "training.json").write_text(report.to_json(), encoding="utf-8")
    return encoder, report
