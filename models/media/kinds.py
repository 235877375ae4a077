"""The kinds of media: which file suffixes each reader takes, and what each kind is written as.

The one definition the whole product uses: the runtime and the desktop app reach it through the
`models` facade, so a file the composer offers is a file `read_attachment` decodes, and a file
history saves is one the chat can play.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from models.encoded_video import EncodedVideo
from models.media.audio_reader import read_audio
from models.media.image_reader import read_image
from models.media.types import AudioData, ImageData, VideoData
from models.media.video_reader import read_video

Media = ImageData | AudioData | VideoData
"""Decoded media: what a file holds and what a decoder makes."""

InputMedia = Media | EncodedVideo
"""What a turn may carry: decoded media, or a live camera window already through the image encoder."""

KINDS = ("image", "audio", "video")

SUFFIXES: dict[str, frozenset[str]] = {
    # what read_image's Pillow plugins open (a .gif attached is a still: its first frame)
    "image": frozenset(".png .jpg .jpeg .jfif .webp .gif .bmp .tif .tiff .avif .qoi .jp2 .ico .tga .ppm".split()),
    # what read_audio decodes through FFmpeg
    "audio": frozenset(".wav .flac .ogg .oga .opus .mp3 .m4a .aac .aif .aiff .caf .amr .w64 .wma".split()),
    # what read_video decodes through FFmpeg
    "video": frozenset(".mp4 .m4v .mov .mkv .webm .avi .mpg .mpeg .ts .flv".split()),
}

READERS: dict[str, Callable[..., Media]] = {"image": read_image, "audio": read_audio, "video": read_video}
"""The reader of each kind: a path or bytes in (`name=` labels bytes in errors), decoded media out."""

MIME = {"image": "image/png", "audio": "audio/wav", "video": "video/mp4"}
"""The MIME type of what `write_media` writes for each kind."""

EXTENSION = {"image": ".png", "audio": ".wav", "video": ".mp4"}
"""The file extension (with its dot) of what `write_media` writes for each kind."""

_KIND_OF_TYPE = {ImageData: "image", AudioData: "audio", VideoData: "video"}


def kind_of(media: Media) -> str:
    """"image", "audio" or "video": the key of `media` in SUFFIXES, MIME and EXTENSION."""
    kind = _KIND_OF_TYPE.get(type(media))
    if kind is None:
        raise TypeError(f"expected ImageData, AudioData or VideoData, got {type(media).__name__}")
    return kind


def kind_of_path(path: str | Path) -> str | None:
    """"image", "audio" or "video" from a file's suffix; None when no reader claims the suffix."""
    suffix = Path(path).suffix.lower()
    return next((kind for kind in KINDS if suffix in SUFFIXES[kind]), None)


def mime_of(media: Media) -> str:
    """The MIME type of what `write_media` writes for `media`."""
    return MIME[kind_of(media)]


def extension_of(media: Media) -> str:
    """The file extension (with its dot) of what `write_media` writes for `media`."""
    return EXTENSION[kind_of(media)]
