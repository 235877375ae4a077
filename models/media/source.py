"""Media sources: a path or bytes, checked for existence, emptiness and size before any decoder
sees them, and the exceptions decoders raise on bad input."""

from __future__ import annotations

import io
import logging
import os
import stat
import struct
from collections.abc import Iterator
from contextlib import contextmanager
from typing import BinaryIO

import av
import av.error
from PIL import Image

from models.errors import MediaError
from models.media.limits import MB, MediaLimits

logger = logging.getLogger(__name__)

Source = str | os.PathLike[str] | bytes

# What the libraries raise on bad input. Pillow's plugins are not strict about it, so this is wide;
# it leaves out the exceptions that only a bug in this module could cause (AttributeError, NameError).
DECODE_ERRORS: tuple[type[BaseException], ...] = (
    av.error.FFmpegError,
    Image.DecompressionBombError,
    OSError,
    ValueError,
    EOFError,
    SyntaxError,
    struct.error,
    IndexError,
    KeyError,
    TypeError,
    ZeroDivisionError,
    OverflowError,
    MemoryError,
    RuntimeError,
)




def _size_text(n: int) -> str:
    if n >= MB:
        return f"{n / MB:.1f}".removesuffix(".0") + " MB"
    if n >= 1024:
        return f"{n / 1024:.1f}".removesuffix(".0") + " KB"
    return f"{n} bytes"


def _check_size(label: str, size: int, limits: MediaLimits) -> None:
    if size == 0:
        raise MediaError(label, "is empty (0 bytes); give a file that has content")
    if size > limits.max_bytes:
        have, limit = _size_text(size), _size_text(limits.max_bytes)
        if have == limit:
            have, limit = f"{size} bytes", f"{limits.max_bytes} bytes"
        raise MediaError(label, f"is {have}, over the {limit} limit; use a smaller or shorter file")


@contextmanager
def opened(source: Source, name: str | None, limits: MediaLimits) -> Iterator[tuple[str, BinaryIO]]:
    """Yield (label for messages, readable binary file) for a path or bytes, after the shared checks."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        label = name or "<bytes>"
        data = bytes(source)
        _check_size(label, len(data), limits)
        yield label, io.BytesIO(data)
        return
    if not isinstance(source, (str, os.PathLike)):
        raise TypeError(f"media source must be a path or bytes, got {type(source).__name__}")
    path = os.fsdecode(os.fspath(source))
    label = name or path or "<empty path>"
    try:
        info = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        raise MediaError(label, "no such file; check the path") from None
    except PermissionError:
        raise MediaError(label, "cannot be read: permission denied") from None
    except (OSError, ValueError) as exc:
        raise MediaError(label, f"cannot be read ({exc}); check the path") from None
    if stat.S_ISDIR(info.st_mode):
        raise MediaError(label, "is a directory, not a file; give the path of a file inside it")
    if not stat.S_ISREG(info.st_mode):
        raise MediaError(label, "is not a regular file (a device, pipe or socket); save it to a file first")
    _check_size(label, info.st_size, limits)
    try:
        handle = open(path, "rb")  # noqa: SIM115 - closed by the with below, around the yield
    except PermissionError:
        raise MediaError(label, "cannot be read: permission denied") from None
    except OSError as exc:
        raise MediaError(label, f"cannot be read ({exc.strerror or exc})") from None
    with handle:
        yield label, handle
