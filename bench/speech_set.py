"""Speech the voice benchmarks say and score: espeak-ng voices and Piper's, and word error rates
(jiwer) over lower-cased words without punctuation."""

from __future__ import annotations

import subprocess
from pathlib import Path

import jiwer
import numpy as np

from models import AnyToAnyModel, AudioData, read_audio, resample

# voices of another kind than the assistant's own (Piper joe): accents, pitches, a female voice
ESPEAK_VOICES = ("en-us", "en-gb", "en-us+m3", "en-gb-x-rp", "en-us+f2", "en-029")


def speak(text: str, folder: Path, voice: str = "en") -> AudioData:
    """`text` said by espeak-ng's `voice`, at 16 kHz."""
    path = folder / f"{voice}-{abs(hash(text))}.wav"
    subprocess.run(["espeak-ng", "-v", voice, "-s", "160", "-w", str(path), text], check=True)
    return read_audio(path)


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
