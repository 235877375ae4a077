"""Media input and output: decode user files into plain arrays, encode model outputs into files."""

from models.media.audio_reader import read_audio
from models.media.image_reader import read_image
from models.media.kinds import (
    EXTENSION,
    KINDS,
    MIME,
    READERS,
    SUFFIXES,
    InputMedia,
    Media,
    extension_of,
    kind_of,
    kind_of_path,
    mime_of,
)
from models.media.limits import DEFAULT_LIMITS, MediaLimits
from models.media.resample import StreamResampler, resample
from models.media.types import AudioData, ImageData, VideoData
from models.media.video_reader import read_video
from models.media.video_stream import stream_video
from models.media.writers import encode, encode_mp4, encode_png, encode_wav, write_media

__all__ = [
    "DEFAULT_LIMITS",
    "EXTENSION",
    "KINDS",
    "MIME",
    "READERS",
    "SUFFIXES",
    "AudioData",
    "ImageData",
    "InputMedia",
    "Media",
    "MediaLimits",
    "StreamResampler",
    "VideoData",
    "encode",
    "encode_mp4",
    "encode_png",
    "encode_wav",
    "extension_of",
    "kind_of",
    "kind_of_path",
    "mime_of",
    "read_audio",
    "read_image",
    "read_video",
    "resample",
    "stream_video",
    "write_media",
]
