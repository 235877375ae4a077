"""Judges of the synthetic world: they measure pixels and samples (no model) and say what a medium shows.

They are meant for the outputs of small trained decoders, so they are tolerant: lossy video coding,
noise, blur, a few stray pixels and a slightly wrong colour or pitch still read as the world's
nearest attribute. What is too far from anything in the world (a blank picture, pure noise,
silence, a tone between two pitches) reads as None. ``analyse_*`` name a medium's attributes only
when every one of them reads clearly; ``*_traits`` read each attribute on its own, so that an
evaluation can score a right colour on a wrong shape as half right.

How each judge decides:
- image: foreground = pixels far from white; the largest 8-connected foreground region is the
  shape. Its colour is the palette colour nearest the region's median colour; its shape is the
  world shape whose template (same area, same centroid) overlaps it best.
- sound: the pitch is the spectral peak, mapped to the nearest pitch on a log-frequency scale; the
  pattern is "pulsing" when the loudness of successive 125 ms windows alternates strongly.
- video: each frame is judged as an image; colour and shape are the frames' majority, and the
  direction is the dominant axis and sign of the shape's centroid trajectory (rows grow downward,
  so "up" is a decreasing row).
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from dataclasses import dataclass

import numpy as np

from models.media.types import AudioData, ImageData, VideoData
from models.world.attributes import (
    BACKGROUND,
    COLOURS,
    IMAGE_SIZE,
    PITCHES,
    PULSE_SECONDS,
    ImageAttributes,
    SoundAttributes,
    VideoAttributes,
)

logger = logging.getLogger(__name__)

# --- thresholds for pictures ------------------------------------------------------------------

FOREGROUND_DISTANCE = 100.0  # RGB distance from white above which a pixel is foreground
MAX_COLOUR_DISTANCE = 80.0  # the median colour must be this close to a palette colour
MIN_COLOUR_PURITY = 0.5  # at least this share of the shape's pixels must be near its palette colour
MIN_AREA_FRACTION = 0.015  # a shape covers at least this share of the picture (the world's least is 3.3%)
MIN_BACKGROUND_FRACTION = 0.25  # at least this share of the picture must be near-white background
MIN_SHAPE_MATCH = 0.8  # the best shape template must overlap the region at least this much (IoU)

# --- thresholds for sounds --------------------------------------------------------------------

MIN_RMS = 0.02  # quieter than this is silence
MIN_SECONDS = 0.5  # shorter clips cannot show a pulse pattern
LOWEST_HZ = 50.0  # the spectral peak is looked for above this
PEAK_BAND_OCTAVES = 1 / 6  # energy within this of the peak counts as the tone's
MIN_TONALITY = 0.5  # the tone's share of all energy above LOWEST_HZ
MAX_PITCH_OCTAVES = 1 / 3  # a peak farther than this from every pitch is no world pitch
PULSE_CONTRAST = 0.8  # mean |difference| of successive window loudnesses over their mean

# --- thresholds for videos --------------------------------------------------------------------

MIN_FRAMES_FOUND = 0.75  # the shape must be found in at least this share of frames
MIN_SPEED = 1.0  # px per frame (on a 64-px frame) along the dominant axis; the world moves 3–4
MAX_CROSS_SPEED = 0.5  # the other axis moves at most this share of the dominant one


@dataclass(frozen=True)
class Blob:
    """The largest foreground region of one picture, as measured."""

    area: int
    top: int
    left: int
    height: int
    width: int
    centre_x: float  # centroid, in pixels from the left edge
    centre_y: float  # centroid, in pixels from the top edge
    colour: str | None  # the palette colour, or None when no palette colour is close
    shape: str | None  # the world shape, or None when the region looks like none of them


def find_blob(pixels: np.ndarray) -> Blob | None:
    """Measure the largest foreground region of an (H, W, 3) picture; None when there is no plausible one.

    None means the picture is not a shape on white: no foreground big enough, or too little white
    background left (a filled or noisy picture).
    """
    height, width = pixels.shape[:2]
    distance = np.linalg.norm(np.asarray(BACKGROUND, dtype=np.float32) - pixels.astype(np.float32), axis=-1)
    foreground = open_mask(distance > FOREGROUND_DISTANCE)
    min_area = MIN_AREA_FRACTION * height * width
    if foreground.sum() < min_area or (~foreground).mean() < MIN_BACKGROUND_FRACTION:
        return None
    region = largest_component(foreground)
    area = int(region.sum())
    if area < min_area:
        return None
    rows = np.flatnonzero(region.any(axis=1))
    cols = np.flatnonzero(region.any(axis=0))
    top, left = int(rows[0]), int(cols[0])
    ys, xs = np.nonzero(region)
    return Blob(
        area=area,
        top=top,
        left=left,
        height=int(rows[-1]) - top + 1,
        width=int(cols[-1]) - left + 1,
        centre_x=float(xs.mean()),
        centre_y=float(ys.mean()),
        colour=_palette_colour(pixels[region]),
        shape=classify_shape(region),
    )


def open_mask(mask: np.ndarray) -> np.ndarray:
    """Morphological opening with a 3×3 square: erosion then dilation.

    It removes speckle and anything thinner than 3 pixels (stray pixels stuck to an edge, the
    needle of a triangle's apex) and keeps every part of the mask a 3×3 square fits in exactly, so
    a square stays a square.
    """
    return _spread(~_spread(~mask))


def _spread(mask: np.ndarray) -> np.ndarray:
    """Dilation with a 3×3 square: a pixel is set when any pixel of its neighbourhood is."""
    height, width = mask.shape
    padded = np.pad(mask, 1)
    grown = np.zeros_like(mask)
    for dy in range(3):
        for dx in range(3):
            grown |= padded[dy:dy + height, dx:dx + width]
    return grown


def largest_component(mask: np.ndarray) -> np.ndarray:
    """The largest 8-connected region of a 2-D bool ``mask`` (all False when the mask is empty).

    Labels spread as the minimum over each pixel's neighbourhood, with pointer jumping (a pixel
    takes the label of the pixel its label names) so that big regions settle in few rounds.
    """
    if not mask.any():
        return np.zeros_like(mask, dtype=bool)
    height, width = mask.shape
    unset = height * width
    labels = np.where(mask, np.arange(unset).reshape(height, width), unset)
    lookup = np.full(unset + 1, unset, dtype=labels.dtype)
    while True:
        padded = np.pad(labels, 1, constant_values=unset)
        spread = labels.copy()
        for dy in range(3):
            for dx in range(3):
                np.minimum(spread, padded[dy:dy + height, dx:dx + width], out=spread)
        spread[~mask] = unset
        lookup[:unset] = spread.ravel()
        spread = lookup[spread]
        if np.array_equal(spread, labels):
            break
        labels = spread
    counts = np.bincount(labels[mask])
    return labels == counts.argmax()


def classify_shape(region: np.ndarray) -> str | None:
    """"circle", "square" or "triangle" for a 2-D bool ``region``, or None when it matches none well.

    Each world shape is laid over the region as a template of the same area and centroid (the
    triangle pointing up, base = height), drawn with anti-aliased edges; the template that overlaps
    the region best (intersection over union) names the shape, if its overlap is at least
    MIN_SHAPE_MATCH. A clean world shape matches its own template at 0.93 or more and the others
    at 0.87 or less (a square and a circle of the same area overlap most), and blur, noise or
    lossy coding move the scores only a little.
    """
    ys, xs = np.nonzero(region)
    if ys.size == 0:
        return None
    top, bottom, left, right = ys.min(), ys.max(), xs.min(), xs.max()
    margin = max(bottom - top, right - left) + 2  # room for any template around the region's centroid
    window = np.zeros((bottom - top + 1 + 2 * margin, right - left + 1 + 2 * margin))
    window[ys - top + margin, xs - left + margin] = 1.0
    area = float(ys.size)
    y, x = np.mgrid[0:window.shape[0], 0:window.shape[1]].astype(np.float64)
    dx = x - (xs.mean() - left + margin)
    dy = y - (ys.mean() - top + margin)
    best_name, best_match = None, 0.0
    for name, coverage in _templates(dx, dy, area).items():
        match = float(np.minimum(window, coverage).sum() / np.maximum(window, coverage).sum())
        if match > best_match:
            best_name, best_match = name, match
    return best_name if best_match >= MIN_SHAPE_MATCH else None


def _templates(dx: np.ndarray, dy: np.ndarray, area: float) -> dict[str, np.ndarray]:
    """Pixel coverage (0–1) of each world shape of ``area`` pixels centred (centroid) at offsets 0, 0.

    Each coverage is half a pixel plus the signed distance into the shape, clipped to [0, 1].
    """
    side = math.sqrt(area)
    square = np.clip(side / 2 - np.abs(dx) + 0.5, 0, 1) * np.clip(side / 2 - np.abs(dy) + 0.5, 0, 1)
    radius = math.sqrt(area / math.pi)
    circle = np.clip(radius - np.hypot(dx, dy) + 0.5, 0, 1)
    height = math.sqrt(2 * area)  # base = height
    apex = -2 * height / 3  # the centroid of a triangle is a third of its height above its base
    into_base = height / 3 - dy
    into_sides = ((dy - apex) / 2 - np.abs(dx)) * (2 / math.sqrt(5))
    triangle = np.clip(np.minimum(into_base, into_sides) + 0.5, 0, 1)
    return {"circle": circle, "square": square, "triangle": triangle}


def _palette_colour(values: np.ndarray) -> str | None:
    """The palette colour nearest the median of (N, 3) RGB ``values``, if close and most values agree."""
    median = np.median(values.astype(np.float32), axis=0)
    names = list(COLOURS)
    palette = np.array([COLOURS[name] for name in names], dtype=np.float32)
    distances = np.linalg.norm(palette - median, axis=1)
    best = int(distances.argmin())
    if distances[best] > MAX_COLOUR_DISTANCE:
        return None
    near = np.linalg.norm(values.astype(np.float32) - palette[best], axis=1) <= MAX_COLOUR_DISTANCE
    if near.mean() < MIN_COLOUR_PURITY:
        return None
    return names[best]


def image_traits(image: ImageData) -> dict[str, str | None]:
    """Each attribute an image shows, read on its own: ``{"colour": …, "shape": …}``, None where unclear.

    A coloured blob of no world shape still has a colour; a picture with no shape on white has neither.
    """
    blob = find_blob(image.pixels)
    return {"colour": None if blob is None else blob.colour, "shape": None if blob is None else blob.shape}


def analyse_image(image: ImageData) -> ImageAttributes | None:
    """The colour and shape an image shows, or None when it shows no world shape."""
    traits = image_traits(image)
    return None if None in traits.values() else ImageAttributes(**traits)  # type: ignore[arg-type]


def sound_traits(audio: AudioData) -> dict[str, str | None]:
    """Each attribute a sound shows, read on its own: ``{"pitch": …, "pattern": …}``, None where unclear.

    Silence, noise and clips under 0.5 s have neither; a clear tone between two world pitches has a
    pattern but no pitch.
    """
    unclear: dict[str, str | None] = {"pitch": None, "pattern": None}
    samples = audio.samples.astype(np.float64)
    rate = audio.rate
    if samples.size < MIN_SECONDS * rate or not np.isfinite(samples).all():
        return unclear
    if math.sqrt(float(np.mean(samples**2))) < MIN_RMS:
        return unclear
    peak = _tone_frequency(samples, rate)
    if peak is None:
        return unclear
    names = list(PITCHES)
    octaves = np.abs(np.log2(peak / np.array([PITCHES[name] for name in names])))
    best = int(octaves.argmin())
    return {"pitch": names[best] if octaves[best] <= MAX_PITCH_OCTAVES else None,
            "pattern": "pulsing" if pulse_contrast(samples, rate) > PULSE_CONTRAST else "steady"}


def analyse_sound(audio: AudioData) -> SoundAttributes | None:
    """The pitch and pattern of a tone, or None for silence, noise, a clip under 0.5 s or a foreign pitch."""
    traits = sound_traits(audio)
    return None if None in traits.values() else SoundAttributes(**traits)  # type: ignore[arg-type]


def _tone_frequency(samples: np.ndarray, rate: int) -> float | None:
    """The frequency of the spectral peak, or None when the peak does not hold most of the energy."""
    power = np.abs(np.fft.rfft(samples * np.hanning(samples.size))) ** 2
    freqs = np.fft.rfftfreq(samples.size, 1.0 / rate)
    audible = freqs >= LOWEST_HZ
    total = power[audible].sum()
    if total <= 0:
        return None
    index = int(np.flatnonzero(audible)[power[audible].argmax()])
    peak = float(freqs[index])
    near = audible & (np.abs(np.log2(np.maximum(freqs, 1e-9) / peak)) <= PEAK_BAND_OCTAVES)
    tonality = power[near].sum() / total
    if tonality < MIN_TONALITY:
        logger.debug("no clear tone: %.0f%% of the energy is near the %.1f Hz peak", 100 * tonality, peak)
        return None
    return peak


def pulse_contrast(samples: np.ndarray, rate: int) -> float:
    """How strongly the loudness of successive 125 ms windows alternates: about 2 when pulsing, about 0 when steady.

    The windows are tried at five offsets within one window, and the strongest alternation counts,
    so a pulse train that does not start at time 0 is still seen.
    """
    window = round(PULSE_SECONDS * rate)
    best = 0.0
    for offset in range(0, window, max(1, window // 5)):
        count = (samples.size - offset) // window
        if count < 3:
            continue
        pieces = samples[offset:offset + count * window].reshape(count, window)
        loudness = np.sqrt(np.mean(pieces**2, axis=1))
        mean = loudness.mean()
        if mean > 0:
            best = max(best, float(np.abs(np.diff(loudness)).mean() / mean))
    return best


def video_traits(video: VideoData) -> dict[str, str | None]:
    """Each attribute a clip shows, read on its own: ``{"colour", "shape", "direction"}``, None where unclear.

    A clip in which too few frames show a shape on white has none of them.
    """
    frames = video.frames
    count = frames.shape[0]
    blobs = [(i, blob) for i, frame in enumerate(frames) if (blob := find_blob(frame)) is not None]
    if count < 2 or len(blobs) < max(2, math.ceil(MIN_FRAMES_FOUND * count)):
        return {"colour": None, "shape": None, "direction": None}
    return {"colour": _majority([blob.colour for _, blob in blobs], count),
            "shape": _majority([blob.shape for _, blob in blobs], count),
            "direction": _direction(blobs, side=max(frames.shape[1:3]))}


def analyse_video(video: VideoData) -> VideoAttributes | None:
    """The colour, shape and direction of motion a clip shows, or None when it shows no moving world shape."""
    traits = video_traits(video)
    return None if None in traits.values() else VideoAttributes(**traits)  # type: ignore[arg-type]


def _majority(votes: list[str | None], count: int) -> str | None:
    """The value more than half of all ``count`` frames agree on, if any."""
    tally = Counter(vote for vote in votes if vote is not None)
    if not tally:
        return None
    value, times = tally.most_common(1)[0]
    return value if times > count / 2 else None


def _direction(blobs: list[tuple[int, Blob]], side: int) -> str | None:
    """The direction of the centroid's least-squares trajectory, if it clearly moves along one axis."""
    index = np.array([i for i, _ in blobs], dtype=np.float64)
    scale = IMAGE_SIZE / side  # speeds in pixels of a 64-pixel frame
    vx = float(np.polyfit(index, [blob.centre_x for _, blob in blobs], 1)[0]) * scale
    vy = float(np.polyfit(index, [blob.centre_y for _, blob in blobs], 1)[0]) * scale
    along, across = (vx, vy) if abs(vx) >= abs(vy) else (vy, vx)
    if abs(along) < MIN_SPEED or abs(across) > MAX_CROSS_SPEED * abs(along):
        return None
    if abs(vx) >= abs(vy):
        return "right" if vx > 0 else "left"
    return "down" if vy > 0 else "up"
