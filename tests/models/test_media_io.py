"""Media readers and writers, through the real decoders, on files made here."""

from __future__ import annotations

import io
import struct
import zlib
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
import soundfile as sf
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from models.errors import MediaError
from models.media import (
    EXTENSION,
    MIME,
    AudioData,
    ImageData,
    MediaLimits,
    VideoData,
    audio_reader,
    encode_mp4,
    encode_png,
    encode_wav,
    extension_of,
    mime_of,
    read_audio,
    read_image,
    read_video,
    video_reader,
    write_media,
)

# ---------------------------------------------------------------------------------------------
# Makers of real media


def _gradient(height: int = 24, width: int = 32) -> np.ndarray:
    y, x = np.mgrid[0:height, 0:width]
    return np.stack([x * 7 % 256, y * 11 % 256, (x + y) * 5 % 256], axis=-1).astype(np.uint8)


def _sine(seconds: float, rate: int, freq: float = 440.0, amplitude: float = 0.5) -> np.ndarray:
    t = np.arange(round(seconds * rate)) / rate
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def _sound_file(path: Path, samples: np.ndarray, rate: int, fmt: str, subtype: str) -> Path:
    try:
        sf.write(path, samples, rate, format=fmt, subtype=subtype)
    except (sf.LibsndfileError, ValueError, TypeError) as exc:  # pragma: no cover - depends on libsndfile
        pytest.skip(f"this libsndfile cannot encode {fmt}/{subtype}: {exc}")
    return path


def _clip_with_sound(path: Path, *, seconds: float = 1.0, rate: int = 44100, fps: int = 4) -> Path:
    """An MP4 with an H.264 video track and an AAC audio track, both ``seconds`` long."""
    samples = _sine(seconds, rate)
    with av.open(str(path), mode="w") as box:
        video = box.add_stream("libx264", rate=fps)
        video.width, video.height, video.pix_fmt = 32, 32, "yuv420p"
        audio = box.add_stream("aac", rate=rate)
        audio.layout = "mono"
        for i in range(round(seconds * fps)):
            frame = av.VideoFrame.from_ndarray(np.full((32, 32, 3), 40 * i % 256, np.uint8), format="rgb24")
            frame.pts = i
            box.mux(video.encode(frame))
        for start in range(0, samples.size, 1024):
            chunk = samples[start:start + 1024].reshape(1, -1)
            frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(chunk), format="fltp", layout="mono")
            frame.sample_rate, frame.pts = rate, start
            box.mux(audio.encode(frame))
        box.mux(video.encode(None))
        box.mux(audio.encode(None))
    return path


def _counting_clip(count: int, fps: int = 10, step: int = 6) -> bytes:
    """An MP4 whose frame i is flat grey at brightness i * step, so a frame tells its index."""
    frames = np.stack([np.full((32, 32, 3), i * step, np.uint8) for i in range(count)])
    return encode_mp4(VideoData(frames, fps))


def _frame_indices(video: VideoData, step: int = 6) -> list[int]:
    return [round(float(frame.mean()) / step) for frame in video.frames]


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims width × height RGB pixels, with almost no pixel data behind it."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header)
            + _png_chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + _png_chunk(b"IEND", b""))


def _error(call, *args, **kwargs) -> str:
    with pytest.raises(MediaError) as info:
        call(*args, **kwargs)
    return str(info.value)


# ---------------------------------------------------------------------------------------------
# Round trips through the writers


def test_png_round_trip_is_exact(tmp_path: Path) -> None:
    image = ImageData(_gradient())
    path = write_media(image, tmp_path / "out.png")
    assert path.read_bytes() == encode_png(image)
    assert np.array_equal(read_image(path).pixels, image.pixels)


def test_wav_round_trip_keeps_samples(tmp_path: Path) -> None:
    audio = AudioData(_sine(0.5, 16000), 16000)
    path = write_media(audio, tmp_path / "out.wav")
    back = read_audio(path)
    assert back.rate == 16000 and back.samples.shape == audio.samples.shape
    assert np.abs(back.samples - audio.samples).max() < 1e-3
    assert encode_wav(audio)[:4] == b"RIFF"


def test_mp4_round_trip_keeps_frames(tmp_path: Path) -> None:
    colours = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0), (0, 255, 255), (255, 0, 255),
               (128, 128, 128), (255, 255, 255)]
    frames = np.stack([np.full((64, 64, 3), c, np.uint8) for c in colours])
    path = write_media(VideoData(frames, 4.0), tmp_path / "out.mp4")
    assert av.open(str(path)).streams.video[0].codec_context.name == "h264"
    back = read_video(path, num_frames=8)
    assert back.frames.shape == (8, 64, 64, 3)
    assert back.fps == pytest.approx(4.0, rel=0.01) and back.seconds == pytest.approx(2.0, rel=0.01)
    means = back.frames.reshape(8, -1, 3).mean(axis=1)
    assert np.abs(means - np.array(colours)).max() < 8


def test_mp4_pads_odd_sizes_to_even() -> None:
    frames = np.stack([_gradient(15, 21)] * 3)
    back = read_video(encode_mp4(VideoData(frames, 5.0)))
    assert back.frames.shape == (3, 16, 22, 3)
    assert np.abs(back.frames[:, :15, :21].astype(int) - frames.astype(int)).mean() < 12


def test_write_media_replaces_atomically_and_names_types(tmp_path: Path) -> None:
    target = tmp_path / "nested" / "clip.png"
    image = ImageData(_gradient())
    write_media(image, target)
    write_media(ImageData(np.zeros((2, 2, 3), np.uint8)), target)
    assert read_image(target).pixels.shape == (2, 2, 3)
    assert sorted(p.name for p in target.parent.iterdir()) == ["clip.png"]
    audio, video = AudioData(np.zeros(8, np.float32), 8000), VideoData(np.zeros((1, 2, 2, 3), np.uint8), 1)
    assert [mime_of(m) for m in (image, audio, video)] == [MIME["image"], MIME["audio"], MIME["video"]]
    assert [extension_of(m) for m in (image, audio, video)] == [".png", ".wav", ".mp4"]
    assert EXTENSION["video"] == ".mp4" and MIME["audio"] == "audio/wav"


def test_write_media_to_unwritable_place_is_a_media_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    message = _error(write_media, ImageData(_gradient()), blocker / "out.png")
    assert str(blocker / "out.png") in message and "cannot be written" in message


def test_types_reject_wrong_shapes_and_dtypes() -> None:
    with pytest.raises(ValueError, match="shape"):
        ImageData(np.zeros((4, 4), np.uint8))
    with pytest.raises(ValueError, match="uint8"):
        ImageData(np.zeros((4, 4, 3), np.float32))
    with pytest.raises(ValueError, match="float32"):
        AudioData(np.zeros(4, np.float64), 16000)
    with pytest.raises(ValueError, match="rate"):
        AudioData(np.zeros(4, np.float32), 0)
    with pytest.raises(ValueError, match="fps"):
        VideoData(np.zeros((1, 2, 2, 3), np.uint8), 0.0)
    with pytest.raises(ValueError, match="shape"):
        VideoData(np.zeros((0, 2, 2, 3), np.uint8), 4.0)
    assert AudioData(np.zeros(8000, np.float32), 16000).seconds == 0.5
    assert VideoData(np.zeros((6, 2, 2, 3), np.uint8), 4).seconds == 1.5


# ---------------------------------------------------------------------------------------------
# Images in many forms become RGB


def _saved(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


@pytest.mark.parametrize("fmt", ["JPEG", "WEBP"])
def test_lossy_images_become_rgb(fmt: str) -> None:
    pixels = _gradient()
    image = read_image(_saved(Image.fromarray(pixels), fmt, quality=95), name=f"photo.{fmt.lower()}")
    assert image.pixels.shape == pixels.shape and image.pixels.dtype == np.uint8
    assert np.abs(image.pixels.astype(int) - pixels.astype(int)).mean() < 10


def test_transparent_pixels_land_on_white() -> None:
    rgba = np.zeros((4, 4, 4), np.uint8)
    rgba[..., 0] = 255
    rgba[:, :2, 3] = 255  # left half opaque red, right half fully transparent
    pixels = read_image(_saved(Image.fromarray(rgba, "RGBA"), "PNG")).pixels
    assert (pixels[:, :2] == [255, 0, 0]).all() and (pixels[:, 2:] == [255, 255, 255]).all()


def test_grayscale_palette_and_cmyk_become_rgb() -> None:
    gray = read_image(_saved(Image.new("L", (5, 3), 77), "PNG")).pixels
    assert gray.shape == (3, 5, 3) and (gray == 77).all()
    palette = Image.new("P", (4, 4), 1)
    palette.putpalette([0, 0, 0, 10, 200, 30] + [0] * 762)
    assert (read_image(_saved(palette, "PNG")).pixels == [10, 200, 30]).all()
    cmyk = read_image(_saved(Image.new("CMYK", (4, 4), (0, 255, 255, 0)), "JPEG", quality=95)).pixels
    assert cmyk.shape == (4, 4, 3) and cmyk[..., 0].mean() > 200 and cmyk[..., 1:].mean() < 60


def test_sixteen_bit_and_transparent_grayscale() -> None:
    wide = Image.fromarray(np.array([[0, 32896, 65535]], np.uint16))
    assert read_image(_saved(wide, "PNG")).pixels[0, :, 0].tolist() == [0, 128, 255]
    la = np.zeros((2, 2, 2), np.uint8)
    assert (read_image(_saved(Image.fromarray(la, "LA"), "PNG")).pixels == 255).all()


def test_exif_orientation_is_applied() -> None:
    image = Image.fromarray(_gradient(20, 40))
    exif = image.getexif()
    exif[0x0112] = 6  # "rotate 90° clockwise to display"
    assert read_image(_saved(image, "JPEG", exif=exif)).pixels.shape == (40, 20, 3)


def test_animated_image_gives_first_frame() -> None:
    frames = [Image.new("RGB", (8, 8), c) for c in ((255, 0, 0), (0, 0, 255))]
    buffer = io.BytesIO()
    frames[0].save(buffer, format="GIF", save_all=True, append_images=frames[1:], duration=100)
    pixels = read_image(buffer.getvalue(), name="anim.gif").pixels
    assert pixels[..., 0].mean() > 200 and pixels[..., 2].mean() < 50


# ---------------------------------------------------------------------------------------------
# Audio in many forms becomes 16 kHz mono


@pytest.mark.parametrize(("fmt", "subtype"), [("FLAC", "PCM_16"), ("OGG", "VORBIS"), ("MP3", "MPEG_LAYER_III")])
def test_compressed_audio_resampled_to_16k_mono(tmp_path: Path, fmt: str, subtype: str) -> None:
    path = _sound_file(tmp_path / f"tone.{fmt.lower()}", _sine(2.0, 44100), 44100, fmt, subtype)
    audio = read_audio(path)
    assert audio.rate == 16000 and audio.samples.ndim == 1 and audio.samples.dtype == np.float32
    assert audio.seconds == pytest.approx(2.0, rel=0.02)
    assert 0.4 < np.abs(audio.samples).max() <= 1.0


def test_stereo_44k_becomes_mono_16k_average(tmp_path: Path) -> None:
    left = _sine(1.0, 44100)
    path = _sound_file(tmp_path / "stereo.wav", np.stack([left, np.zeros_like(left)], axis=1), 44100,
                       "WAV", "FLOAT")
    audio = read_audio(path)
    assert audio.rate == 16000 and audio.samples.shape == (16000,)
    assert np.abs(audio.samples).max() == pytest.approx(0.25, abs=0.02)  # (left + right) / 2


def test_other_rate_on_request(tmp_path: Path) -> None:
    path = _sound_file(tmp_path / "tone.wav", _sine(1.0, 16000), 16000, "WAV", "PCM_16")
    assert read_audio(path, rate=8000).samples.shape == (8000,)


def test_audio_track_of_a_video(tmp_path: Path) -> None:
    # AAC pads its last 1024-sample frame, so the decoded track can run up to 23 ms long.
    audio = read_audio(_clip_with_sound(tmp_path / "talk.mp4", seconds=2.0))
    assert audio.seconds == pytest.approx(2.0, rel=0.02)
    assert np.abs(audio.samples).max() > 0.3


# ---------------------------------------------------------------------------------------------
# Video sampling


def test_video_samples_evenly_spaced_frames() -> None:
    video = read_video(_counting_clip(40), num_frames=8)
    assert _frame_indices(video) == [0, 6, 11, 17, 22, 28, 33, 39]
    assert video.fps == pytest.approx(8 / 4.0, rel=0.01)  # 8 frames over a 4 s clip


def test_short_video_returns_every_frame() -> None:
    video = read_video(_counting_clip(5), num_frames=8)
    assert _frame_indices(video) == [0, 1, 2, 3, 4] and video.fps == pytest.approx(10.0, rel=0.01)


def test_video_frames_capped_and_resized() -> None:
    clip = encode_mp4(VideoData(np.stack([_gradient(40, 60)] * 12), 6.0))
    video = read_video(clip, num_frames=50, limits=MediaLimits(max_video_frames=5, video_side=30))
    assert video.frames.shape == (5, 20, 30, 3)


def test_video_of_a_clip_with_sound(tmp_path: Path) -> None:
    video = read_video(_clip_with_sound(tmp_path / "talk.mp4", seconds=2.0, fps=4), num_frames=3)
    assert video.frames.shape == (3, 32, 32, 3)


# ---------------------------------------------------------------------------------------------
# Errors: each names the source and the problem


@pytest.mark.parametrize("reader", [read_image, read_audio, read_video])
def test_missing_directory_and_empty_sources(tmp_path: Path, reader) -> None:
    missing = tmp_path / "nope.bin"
    assert _error(reader, missing) == f"{missing}: no such file; check the path"
    message = _error(reader, tmp_path)
    assert message.startswith(f"{tmp_path}: ") and "is a directory" in message
    empty = tmp_path / "empty.bin"
    empty.write_bytes(b"")
    message = _error(reader, empty)
    assert message.startswith(f"{empty}: ") and "is empty" in message
    message = _error(reader, b"", name="upload.bin")
    assert message.startswith("upload.bin: ") and "is empty" in message
    assert "<bytes>" in _error(reader, b"")


@pytest.mark.parametrize("reader", [read_image, read_audio, read_video])
def test_oversized_sources(tmp_path: Path, reader) -> None:
    limits = MediaLimits(max_bytes=3 * 1024 * 1024)
    big = tmp_path / "big.bin"
    big.write_bytes(b"\0" * (4 * 1024 * 1024))
    assert _error(reader, big, limits=limits) == f"{big}: is 4 MB, over the 3 MB limit; use a smaller or shorter file"
    message = _error(reader, b"x" * 101, name="blob", limits=MediaLimits(max_bytes=100))
    assert message.startswith("blob: is 101 bytes, over the 100 bytes limit")


@pytest.mark.parametrize(("reader", "expected"), [
    (read_image, "not an image Pillow can read (expected PNG, JPEG"),
    (read_audio, "not a file FFmpeg can read (expected WAV, FLAC"),
    (read_video, "not a file FFmpeg can read (expected MP4"),
])
def test_text_file_is_not_media(tmp_path: Path, reader, expected: str) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("Shopping list:\n- milk\n- bread\n" * 20)
    message = _error(reader, notes)
    assert message.startswith(f"{notes}: ") and expected in message


def test_corrupt_bytes() -> None:
    png = encode_png(ImageData(_gradient()))
    broken = png[:60] + bytes(range(256)) + png[-12:]
    message = _error(read_image, broken, name="broken.png")
    assert message.startswith("broken.png: ") and "corrupt" in message
    clip = _counting_clip(10)
    message = _error(read_video, clip[: len(clip) // 3], name="cut.mp4")
    assert message.startswith("cut.mp4: ") and "FFmpeg can read" in message
    assert "FFmpeg can read" in _error(read_audio, b"\x00\x01garbage" * 50, name="noise.mp3")


def test_decompression_bombs_refused_from_the_header() -> None:
    assert read_image(_png_header_only(1, 1)).pixels.shape == (1, 1, 3)
    # 7000 × 7000 = 49 M pixels: over our default limit, under Pillow's own. The IDAT behind this
    # header is not a valid image, so only a check made before decoding can give this message.
    message = _error(read_image, _png_header_only(7000, 7000), name="bomb.png")
    assert message.startswith("bomb.png: is 7000×7000 = 49,000,000 pixels, over the 40,000,000 pixel limit")
    message = _error(read_image, _png_header_only(100_000, 100_000), name="huge.png")
    assert message.startswith("huge.png: ") and "decode" in message
    real = _saved(Image.new("RGB", (1000, 1000), (9, 9, 9)), "PNG")  # a real image, tiny on disk
    assert len(real) < 10_000
    message = _error(read_image, real, name="big.png", limits=MediaLimits(max_pixels=100_000))
    assert "1000×1000 = 1,000,000 pixels, over the 100,000 pixel limit" in message


def test_video_frame_size_bomb() -> None:
    message = _error(read_video, _counting_clip(3), name="wide.mp4", limits=MediaLimits(max_pixels=1000))
    assert message.startswith("wide.mp4: has 32×32 = 1,024-pixel frames, over the 1,000 pixel limit")


def test_zero_length_wav(tmp_path: Path) -> None:
    path = _sound_file(tmp_path / "silence.wav", np.zeros(0, np.float32), 16000, "WAV", "PCM_16")
    assert _error(read_audio, path) == f"{path}: contains no audio samples (zero length); record or export it again"


def test_wrong_kind_of_stream(tmp_path: Path) -> None:
    wav = _sound_file(tmp_path / "voice.wav", _sine(0.2, 16000), 16000, "WAV", "PCM_16")
    message = _error(read_video, wav)
    assert message.startswith(f"{wav}: has no video stream")
    silent = tmp_path / "silent.mp4"
    silent.write_bytes(_counting_clip(4))
    message = _error(read_audio, silent)
    assert message.startswith(f"{silent}: has no audio stream")


def test_overlong_audio(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _sound_file(tmp_path / "long.wav", _sine(2.0, 16000), 16000, "WAV", "PCM_16")
    limits = MediaLimits(max_audio_seconds=1.0)
    assert _error(read_audio, path, limits=limits) == f"{path}: is 2.0 s long, over the 1 s limit; trim it first"
    # Without a declared duration, decoding stops once the limit is passed.
    monkeypatch.setattr(audio_reader, "declared_seconds", lambda box, stream: None)
    assert _error(read_audio, path, limits=limits) == f"{path}: is longer than the 1 s limit; trim it first"


def test_overlong_video(monkeypatch: pytest.MonkeyPatch) -> None:
    clip, limits = _counting_clip(40), MediaLimits(max_video_seconds=2.0)
    assert _error(read_video, clip, name="long.mp4", limits=limits).startswith("long.mp4: is 4.0 s long, over the 2 s")
    monkeypatch.setattr(video_reader, "declared_seconds", lambda box, stream: None)
    assert _error(read_video, clip, name="long.mp4", limits=limits) == (
        "long.mp4: is longer than the 2 s limit; trim it first")


# ---------------------------------------------------------------------------------------------
# Arbitrary bytes: valid data or MediaError, nothing else

_SEEDS = [
    encode_png(ImageData(_gradient(6, 5))),
    _saved(Image.fromarray(_gradient(6, 5)), "JPEG"),
    _saved(Image.new("P", (3, 3)), "GIF"),
    encode_wav(AudioData(_sine(0.05, 8000), 8000)),
    encode_mp4(VideoData(np.stack([_gradient(16, 16)] * 2), Fraction(2))),
]

_inputs = st.one_of(
    st.binary(max_size=2000),
    st.builds(
        lambda seed, cut, flips: bytes(_flip(seed[:cut], flips)),
        st.sampled_from(_SEEDS),
        st.integers(1, 2000),
        st.lists(st.tuples(st.integers(0, 2000), st.integers(0, 255)), max_size=8),
    ),
)


def _flip(data: bytes, flips: list[tuple[int, int]]) -> bytearray:
    mutable = bytearray(data)
    for where, value in flips:
        if mutable:
            mutable[where % len(mutable)] = value
    return mutable


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=_inputs)
def test_arbitrary_bytes_give_media_or_media_error(data: bytes) -> None:
    for reader, kind in ((read_image, ImageData), (read_audio, AudioData), (read_video, VideoData)):
        try:
            result = reader(data, name="fuzz")
        except MediaError as exc:
            assert str(exc).startswith("fuzz: ")
        else:
            assert isinstance(result, kind)
