"""`read_image`: any image Pillow reads safely, as upright RGB pixels."""

from __future__ import annotations

import logging
import warnings

import numpy as np
from PIL import Image, ImageOps

from models.errors import MediaError
from models.media.limits import DEFAULT_LIMITS, MediaLimits
from models.media.source import DECODE_ERRORS, Source, opened
from models.media.types import ImageData

logger = logging.getLogger(__name__)

# Pillow plugins read_image will try. Leaving out the rest keeps exotic parsers (and EPS, which
# runs Ghostscript) away from untrusted files.
_IMAGE_FORMATS = (
    "PNG", "JPEG", "WEBP", "GIF", "BMP", "DIB", "TIFF", "ICO", "PPM", "TGA", "AVIF", "QOI", "JPEG2000",
)
_IMAGE_EXPECTED = "PNG, JPEG, WebP, GIF, BMP, TIFF, AVIF"




def _image_formats() -> list[str]:
    Image.init()
    return [f for f in _IMAGE_FORMATS if f in Image.OPEN]


def _wide_to_rgb(im: Image.Image) -> Image.Image:
    """Map a 16-bit, 32-bit integer or float grayscale image onto 8 bits (Pillow's convert clips them)."""
    values = np.asarray(im).astype(np.float64)
    values = np.nan_to_num(values, nan=0.0, posinf=0.0, neginf=0.0)
    peak = float(values.max()) if values.size else 0.0
    if im.mode == "F":
        if peak <= 1.0:
            values = values * 255.0
    elif im.mode.startswith("I;16") or peak > 255.0:
        values = np.clip(values, 0.0, 65535.0) / 257.0
    gray = np.clip(np.rint(values), 0, 255).astype(np.uint8)
    return Image.fromarray(np.ascontiguousarray(np.stack([gray] * 3, axis=-1)))


def _to_rgb(im: Image.Image) -> Image.Image:
    """Any Pillow mode as RGB, with transparent areas composited onto white."""
    mode = im.mode
    if mode in ("I", "F") or mode.startswith("I;16"):
        return _wide_to_rgb(im)
    if mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in im.info:
        rgba = im.convert("RGBA")
        canvas = Image.new("RGBA", im.size, (255, 255, 255, 255))
        canvas.alpha_composite(rgba)
        return canvas.convert("RGB")
    return im.convert("RGB")


def read_image(source: Source, *, name: str | None = None, limits: MediaLimits = DEFAULT_LIMITS) -> ImageData:
    """Read one image (its first frame if animated) as upright RGB, alpha composited on white."""
    with opened(source, name, limits) as (label, handle):
        try:
            with warnings.catch_warnings():  # Pillow warns about bombs (checked below) and damaged tags
                warnings.simplefilter("ignore")
                im = Image.open(handle, formats=_image_formats())
        except Image.DecompressionBombError as exc:
            raise MediaError(label, f"declares more pixels than can be decoded safely ({exc}); "
                             "use a smaller image") from exc
        except DECODE_ERRORS as exc:
            raise MediaError(label, f"is not an image Pillow can read (expected {_IMAGE_EXPECTED})") from exc
        with im:
            width, height = im.size
            if width < 1 or height < 1:
                raise MediaError(label, f"declares an empty image ({width}×{height}); the file is corrupt")
            if width * height > limits.max_pixels:
                raise MediaError(label, f"is {width}×{height} = {width * height:,} pixels, over the "
                                 f"{limits.max_pixels:,} pixel limit (a decompression-bomb guard); "
                                 "scale it down first")
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    im.load()  # decode errors surface here, before EXIF handling can hide them
                    pixels = np.array(_to_rgb(_upright(im, label)), dtype=np.uint8)
            except DECODE_ERRORS as exc:
                raise MediaError(label, f"could not be decoded as {im.format or 'an image'}: it looks corrupt "
                                 f"or truncated ({exc}); re-export or re-download it") from exc
    if pixels.ndim != 3 or pixels.shape[2] != 3:
        raise MediaError(label, f"decoded to an unusable pixel layout {pixels.shape}; convert it to PNG first")
    return ImageData(np.ascontiguousarray(pixels))


def _upright(im: Image.Image, label: str) -> Image.Image:
    """The image turned as its EXIF orientation says; unreadable EXIF is ignored, not fatal."""
    try:
        turned = ImageOps.exif_transpose(im)
    except DECODE_ERRORS as exc:
        logger.debug("%s: ignoring unreadable EXIF orientation (%s)", label, exc)
        return im
    return turned if turned is not None else im
