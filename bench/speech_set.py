"""Speech the voice benchmarks say and score: espeak-ng voices and Piper's, recorded speech from a
folder, and word error rates (jiwer) over lower-cased words without punctuation."""

from __future__ import annotations

import subprocess
from pathlib import Path

import jiwer
import numpy as np

from models import AnyToAnyModel, AudioData, read_audio, resample

AUDIO_FILES = (".wav", ".flac", ".mp3", ".ogg", ".opus", ".m4a")
LEVEL_DB = -20.0  # the active speech level of espeak-ng's clips (dBFS), which recorded clips are brought to
FRAME_S = 0.01

# voices of another kind than the assistant's own (Piper joe): accents, pitches, a female voice
ESPEAK_VOICES = ("en-us", "en-gb", "en-us+m3", "en-gb-x-rp", "en-us+f2", "en-029")


def speak(text: str, folder: Path, voice: str = "en") -> AudioData:
    """`text` said by espeak-ng's `voice`, at 16 kHz."""
    path = folder / f"{voice}-{abs(hash(text))}.wav"
    subprocess.run(["espeak-ng", "-v", voice, "-s", "160", "-w", str(path), text], check=True)
    return read_audio(path)


def recorded_speech(folder: Path) -> list[tuple[str, AudioData]]:
    """Recorded speech and what is said in it, sorted by file name: every audio file under `folder`
    with a `NAME.txt` beside it, or in LibriSpeech's layout (a chapter's `*.trans.txt`, "ID words"
    a line, beside `ID.flac`). Each clip is at 16 kHz and brought to `LEVEL_DB`, so a recorded voice
    faces the echo at the level the synthetic ones do. Raises ValueError where there is none."""
    said: dict[Path, str] = {}
    for listing in folder.rglob("*.trans.txt"):
        for line in listing.read_text().splitlines():
            if line.strip():
                name, _, words = line.strip().partition(" ")
                said[listing.parent / f"{name}.flac"] = words
    for path in folder.rglob("*"):
        if path.suffix.lower() in AUDIO_FILES and path.with_suffix(".txt").is_file():
            said[path] = path.with_suffix(".txt").read_text().strip()
    clips = [(words, at_level(read_audio(path))) for path, words in sorted(said.items()) if path.is_file() and words]
    if not clips:
        raise ValueError(f"{folder} holds no speech with its words: give NAME.wav (or .flac, .mp3 ...) with NAME.txt "
                         "beside it, or LibriSpeech's chapter folders")
    return clips


def frame_rms(clip: AudioData) -> np.ndarray:
    """The RMS of each whole 10 ms of `clip`."""
    size = int(FRAME_S * clip.rate)
    frames = clip.samples[:len(clip.samples) // size * size].reshape(-1, size)
    return np.sqrt(np.mean(np.square(frames), axis=1))


def at_level(clip: AudioData, level_db: float = LEVEL_DB) -> AudioData:
    """`clip` scaled so that its active speech (10 ms frames within 30 dB of its loudest) is at `level_db`."""
    rms = frame_rms(clip)
    if not len(rms) or rms.max() <= 0:
        return clip
    active = rms[rms > rms.max() * 10 ** (-30 / 20)]
    gain = 10 ** (level_db / 20) / float(np.sqrt(np.mean(np.square(active))))
    return AudioData(np.clip(clip.samples * gain, -1.0, 1.0).astype(np.float32), clip.rate)


def piper(model: AnyToAnyModel, text: str) -> AudioData:
    """`text` said by the profile's Piper voice, at 16 kHz."""
    return resample(model.synthesize(text), 16000)


def padded(clip: AudioData, before_s: float = 0.1, after_s: float = 0.3) -> AudioData:
    """`clip` with silence around it, as the segmenter cuts an utterance."""
    silence = [np.zeros(int(s * clip.rate), np.float32) for s in (before_s, after_s)]
    return AudioData(np.concatenate([silence[0], clip.samples, silence[1]]), clip.rate)


_NORMALISE = jiwer.Compose([jiwer.ToLowerCase(), jiwer.RemovePunctuation(), jiwer.RemoveMultipleSpaces(),
                            jiwer.Strip(), jiwer.ReduceToListOfListOfWords()])


def wer(reference: str, heard: str) -> float:
    """Word error rate of `heard` against `reference`; 1.0 when nothing was heard."""
    if not heard.strip():
        return 1.0
    return float(jiwer.wer(reference, heard, reference_transform=_NORMALISE, hypothesis_transform=_NORMALISE))
