"""Real speech models: Whisper tiny.en (ASR), Silero VAD, Piper joe-medium (TTS)."""

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from models import AnyToAnyModel, AudioData, read_audio
from models.speech.fitted_window import without_loops

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def local_model() -> AnyToAnyModel:
    return AnyToAnyModel.from_profile("local")


def speak(text: str, folder: Path) -> AudioData:
    """A speech clip of `text` made with espeak-ng, read back at 16 kHz."""
    if shutil.which("espeak-ng") is None:
        pytest.fail("espeak-ng is missing: `make test` installs it (setup/system-packages.sh)")
    path = folder / "speech.wav"
    subprocess.run(["espeak-ng", "-s", "150", "-w", str(path), text], check=True)
    return read_audio(path)


def test_asr_hears_the_words(local_model: AnyToAnyModel, tmp_path: Path):
    clip = speak("Turn on the kitchen lights please.", tmp_path)
    words = local_model.transcribe(clip).lower()
    for word in ("turn", "kitchen", "lights"):
        assert word in words


def test_vad_tells_speech_from_a_tone(local_model: AnyToAnyModel, tmp_path: Path):
    assert local_model.is_speech(speak("What is the weather like today?", tmp_path))
    t = np.arange(16000) / 16000
    tone = AudioData((0.3 * np.sin(2 * np.pi * 523 * t)).astype(np.float32), 16000)
    assert not local_model.is_speech(tone)
    assert not local_model.is_speech(AudioData(np.zeros(16000, np.float32), 16000))


def test_tts_speaks_and_asr_understands_it(local_model: AnyToAnyModel):
    speech = local_model.synthesize("Good morning. The door is locked.")
    assert speech.rate == 22050 and 1.0 < speech.seconds < 6.0
    assert np.abs(speech.samples).max() > 0.05
    resampled = np.interp(np.arange(0, len(speech.samples), 22050 / 16000), np.arange(len(speech.samples)),
                          speech.samples).astype(np.float32)
    heard = local_model.transcribe(AudioData(resampled, 16000)).lower()
    assert "morning" in heard and "door" in heard


def test_fitted_window_keeps_each_sentence_once_and_only_inside_the_clip(local_model: AnyToAnyModel):
    fitted = local_model.models.asr().fitted
    assert fitted is not None  # the local profile decodes short clips on a fitted window
    tokenizer = fitted.tokenizer

    def at(seconds: float) -> int:
        return tokenizer.timestamp_begin + round(seconds / 0.02)

    def said(text: str) -> list[int]:
        return tokenizer.encode(" " + text)

    looping = [at(0), *said("Good night. Good night. Good"), at(2.0)]
    assert fitted._segments(looping, seconds=2.5) == ["Good night."]
    two = [at(0), *said("Open the door."), at(1.5), at(1.5), *said("Then close it."), at(3.0)]
    assert fitted._segments(two, seconds=3.2) == ["Open the door.", "Then close it."]
    restarted = [*two, at(3.0), *said("Open the"), at(4.0)]
    assert fitted._segments(restarted, seconds=4.5) == ["Open the door.", "Then close it."]
    beyond = [at(0), *said("Open the door."), at(1.5), at(4.0), *said("Something else."), at(5.0)]
    assert fitted._segments(beyond, seconds=2.0) == ["Open the door."]
    stuck = [at(0), *said("Stop, stop, stop, stop, stop, stop, stop, stop")]  # a loop cut by the token limit
    assert fitted._segments(stuck, seconds=1.0) == ["Stop"]


def test_a_word_said_over_and_over_is_a_decoding_loop_kept_once():
    assert without_loops("No, no, no, no, please stop.") == "No, please stop."
    assert without_loops("I said go to bed go to bed go to bed go to bed now.") == "I said go to bed now."
    assert without_loops("Stop, stop, stop.") == "Stop, stop, stop."  # three times: a person may say it so
    assert without_loops("Wait a second.") == "Wait a second."


def test_a_clip_longer_than_whispers_window_is_heard_through_the_full_window(local_model: AnyToAnyModel,
                                                                             tmp_path: Path):
    clip = speak("Turn on the kitchen lights please.", tmp_path)
    long = AudioData(np.concatenate([clip.samples, np.zeros(31 * 16000, np.float32)]), 16000)
    recognizer = local_model.models.asr()
    assert recognizer.fitted.transcribe(long.samples, long.rate) is None  # too long to fit: the full window
    words = recognizer.transcribe(long).lower()
    assert "kitchen" in words and "lights" in words


def test_the_asr_window_is_fitted_or_full(local_model: AnyToAnyModel, tmp_path: Path):
    from models.speech.asr import SpeechRecognizer

    whisper = local_model.models.asr().whisper
    full = SpeechRecognizer(whisper, "en", window="full")
    assert full.fitted is None
    assert "kitchen" in full.transcribe(speak("Turn on the kitchen lights please.", tmp_path)).lower()
    with pytest.raises(ValueError, match="fitted or full"):
        SpeechRecognizer(whisper, "en", window="half")


def test_noise_gives_no_words_on_the_fitted_window(local_model: AnyToAnyModel):
    rng = np.random.default_rng(3)
    noise = AudioData((rng.standard_normal(24000) * 0.02).astype(np.float32), 16000)  # 1.5 s of hiss
    assert local_model.models.asr().fitted.transcribe(noise.samples, noise.rate) == []
    assert local_model.transcribe(noise) == ""
