import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile
from PIL import Image

from assistant.turn_inputs import prepare_inputs, read_attachment
from models import AudioData, ImageData, MediaError, read_audio


def test_attachments_are_decoded_by_kind(tmp_path: Path):
    Image.new("RGB", (20, 10), (1, 2, 3)).save(tmp_path / "a.png")
    soundfile.write(tmp_path / "b.wav", np.zeros(1600, np.float32), 16000)
    Image.new("RGB", (8, 8)).save(tmp_path / "c.unknown", format="PNG")  # no telling suffix: sniffed
    assert isinstance(read_attachment(tmp_path / "a.png"), ImageData)
    assert isinstance(read_attachment(tmp_path / "b.wav"), AudioData)
    assert isinstance(read_attachment(tmp_path / "c.unknown"), ImageData)
    (tmp_path / "d.txt").write_text("words")
    with pytest.raises(MediaError, match="not an image, audio or video"):
        read_attachment(tmp_path / "d.txt")


@pytest.mark.slow
def test_speech_becomes_words_and_a_tone_stays_media(tiny_model, tmp_path: Path):
    subprocess.run(["espeak-ng", "-w", str(tmp_path / "s.wav"), "Open the garage door."], check=True)
    speech = read_audio(tmp_path / "s.wav")
    t = np.arange(16000) / 16000
    tone = AudioData((0.3 * np.sin(2 * np.pi * 262 * t)).astype(np.float32), 16000)
    prepared = prepare_inputs(tiny_model, "please", [speech, tone])
    assert "open" in prepared.transcript.lower() and "door" in prepared.transcript.lower()
    assert prepared.text.startswith("please ") and prepared.text.endswith(prepared.transcript)
    assert prepared.media == [tone] and prepared.asr_ms > 0
