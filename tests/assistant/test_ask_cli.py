"""`ask` end to end on the tiny profile (weights loaded from disk), and every kind of bad input."""

import io
import json
import subprocess
import sys
from pathlib import Path

import av
import numpy as np
import pytest
import soundfile
from PIL import Image

import main
from models import read_audio, read_image, read_video

ROOT = Path(__file__).resolve().parents[2]


def _ask(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    old = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = out, err
    try:
        code = main.main(["ask", *args])
    finally:
        sys.stdout, sys.stderr = old
    return code, out.getvalue(), err.getvalue()


def test_text_to_image_audio_video_as_json(tiny_saved_profile: Path, tmp_path: Path):
    code, out, _ = _ask("--profile", str(tiny_saved_profile), "--text", "draw a red circle",
                        "--want", "image,audio,video", "--out", str(tmp_path), "--json")
    assert code == 0
    result = json.loads(out)
    assert set(result) >= {"text", "transcript", "outputs", "timings_ms", "profile", "weights"}
    by_modality = {o["modality"]: o for o in result["outputs"]}
    assert set(by_modality) == {"image", "audio", "video"}
    assert read_image(by_modality["image"]["path"]).pixels.shape == (32, 32, 3)
    assert by_modality["audio"]["mime"] == "audio/wav" and read_audio(by_modality["audio"]["path"]).seconds > 0.9
    assert read_video(by_modality["video"]["path"]).frames.shape[0] == 8
    assert result["profile"] == "tiny-saved"
    assert "UNTRAINED" in result["weights"]["image_decoder"]
    assert any("untrained" in w for w in result["warnings"])


def test_image_input_and_plain_output(tiny_saved_profile: Path, tmp_path: Path):
    picture = tmp_path / "in.png"
    Image.new("RGB", (48, 48), (40, 170, 70)).save(picture)
    code, out, _ = _ask("--profile", str(tiny_saved_profile), "--image", str(picture), "--text", "what is it?",
                        "--want", "text", "--out", str(tmp_path / "o"))
    assert code == 0 and "[image]" not in out


@pytest.fixture(scope="module")
def bad_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("bad")
    files = {"empty": folder / "empty.png", "corrupt": folder / "corrupt.png", "text": folder / "notes.txt",
             "bomb": folder / "bomb.png", "silent": folder / "zero.wav", "audio_only": folder / "sound.m4a"}
    files["empty"].write_bytes(b"")
    files["corrupt"].write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(200)))
    files["text"].write_text("just some words, not media")
    Image.new("1", (20000, 20000)).save(files["bomb"])  # 400 megapixels in a few kB
    soundfile.write(files["silent"], np.zeros(0, np.float32), 16000)
    with av.open(str(files["audio_only"]), "w", format="mp4") as container:
        stream = container.add_stream("aac", rate=16000)
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 16000), np.float32), format="fltp", layout="mono")
        frame.sample_rate = 16000
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            container.mux(packet)
    return files


@pytest.mark.parametrize(
    "flag, key, problem",
    [
        ("--image", "missing", "no such file"),
        ("--image", "empty", "empty"),
        ("--image", "corrupt", "image"),
        ("--image", "text", "image"),
        ("--image", "bomb", "pixels"),
        ("--audio", "silent", "no audio samples"),
        ("--audio", "text", "not a file ffmpeg can read"),
        ("--video", "audio_only", "no video stream"),
        ("--video", "corrupt", "not a file ffmpeg can read"),
    ],
)
def test_bad_input_is_one_clear_line_and_exit_2(bad_files, tmp_path: Path, flag: str, key: str, problem: str):
    path = bad_files.get(key, tmp_path / "missing.jpg")
    code, out, err = _ask(flag, str(path), "--profile", "tiny", "--out", str(tmp_path / "o"))
    assert code == 2 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and path.name in lines[0]
    assert problem in lines[0].lower()


@pytest.mark.parametrize(
    "args, problem",
    [
        (["--text", "hi", "--profile", "nonexistent"], "unknown profile 'nonexistent'"),
        (["--text", "hi", "--want", "smell"], "unknown output"),
        ([], "nothing to ask"),
    ],
)
def test_bad_arguments_are_clear(args: list[str], problem: str):
    code, _, err = _ask(*args)
    assert code == 2 and problem in err and len(err.strip().splitlines()) == 1


def test_no_traceback_from_the_real_command_line(tmp_path: Path):
    empty = tmp_path / "blank.jpg"
    empty.write_bytes(b"")
    run = subprocess.run([sys.executable, "main.py", "ask", "--image", str(empty)], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 2
    assert "Traceback" not in run.stderr
    assert run.stderr.strip() == f"error: {empty}: is empty (0 bytes); give a file that has content"
