"""Recorded speech for the voice benchmarks (`bench.voice_room --speech DIR`): a folder of clips with
their words beside them, or LibriSpeech's layout, read at 16 kHz and at the synthetic talkers' level."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile

from bench.speech_set import LEVEL_DB, recorded_speech
from bench.voice_room import voiced_end


def _tone(seconds: float, level: float, rate: int, silence_s: float = 0.5) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    voiced = (level * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
    return np.concatenate([voiced, np.zeros(int(silence_s * rate), np.float32)])


def _active_db(samples: np.ndarray, rate: int) -> float:
    frames = samples[:len(samples) // (rate // 100) * (rate // 100)].reshape(-1, rate // 100)
    loudness = np.sqrt(np.mean(np.square(frames), axis=1))
    active = loudness[loudness > loudness.max() * 10 ** (-30 / 20)]
    return float(20 * np.log10(np.sqrt(np.mean(np.square(active)))))


def test_clips_with_their_words_beside_them_and_librispeech_chapters_are_read(tmp_path: Path):
    soundfile.write(tmp_path / "b-kitchen.wav", _tone(1.0, 0.02, 48000), 48000)  # a quiet recording at 48 kHz
    (tmp_path / "b-kitchen.txt").write_text("Turn on the kitchen lights.\n")
    soundfile.write(tmp_path / "no-words.wav", _tone(1.0, 0.3, 16000), 16000)  # no words beside it: left out
    chapter = tmp_path / "a" / "19" / "198"
    chapter.mkdir(parents=True)
    soundfile.write(chapter / "19-198-0001.flac", _tone(2.0, 0.5, 16000), 16000)
    (chapter / "19-198.trans.txt").write_text("19-198-0001 NORTHANGER ABBEY\n19-198-0002 A LINE WITHOUT ITS FILE\n")

    speech = recorded_speech(tmp_path)

    assert [words for words, _ in speech] == ["NORTHANGER ABBEY", "Turn on the kitchen lights."]
    for _, clip in speech:
        assert clip.rate == 16000
        assert _active_db(clip.samples, clip.rate) == pytest.approx(LEVEL_DB, abs=0.5)
    assert speech[1][1].seconds == pytest.approx(1.5, abs=0.01)
    assert voiced_end(speech[1][1]) == pytest.approx(1.0, abs=0.011)  # the quiet after the words is not speech


def test_a_folder_without_words_is_a_clear_error(tmp_path: Path):
    soundfile.write(tmp_path / "alone.wav", _tone(1.0, 0.3, 16000), 16000)
    with pytest.raises(ValueError, match="NAME.txt"):
        recorded_speech(tmp_path)
