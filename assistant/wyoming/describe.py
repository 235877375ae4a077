"""The `info` the server answers `describe` with: what it offers, as the profile has it.

Three programs, each listed only when the profile has what it needs:
- asr: the profile's Whisper model and the languages it hears (streaming transcripts);
- tts: the profile's Piper voice and its language (streaming synthesis);
- handle: the engine as a conversation agent, in the languages the profile's LLM answers in
  (streaming answers). It does not control the home.
Home Assistant names its speech-to-text, text-to-speech and conversation entities after them.
"""

from __future__ import annotations

from typing import Any

from wyoming.info import (
    AsrModel,
    AsrProgram,
    Attribution,
    HandleModel,
    HandleProgram,
    Info,
    TtsProgram,
    TtsVoice,
)

from models import AnyToAnyModel

VERSION = "0.1.0"
PROJECT = Attribution(name="NExT-GPT Live", url="https://github.com/NExT-GPT/NExT-GPT")
WHISPER = Attribution(name="OpenAI Whisper, run by faster-whisper", url="https://github.com/SYSTRAN/faster-whisper")
PIPER = Attribution(name="Piper (Open Home Foundation)", url="https://github.com/OHF-Voice/piper1-gpl")
ASR_PROGRAM = "nextgpt-live-stt"
TTS_PROGRAM = "nextgpt-live-tts"
HANDLE_PROGRAM = "nextgpt-live"


def describe(model: AnyToAnyModel) -> Info:
    """What `model`'s profile offers over Wyoming. Loads the speech roles (a blocking call: run it
    off the event loop, once, at start)."""
    info = Info()
    if (asr := model.speech_info("asr")) is not None:
        whisper = AsrModel(name=asr.name, attribution=WHISPER, installed=True, description=asr.description,
                           version=None, languages=list(asr.languages))
        info.asr.append(AsrProgram(name=ASR_PROGRAM, attribution=PROJECT, installed=True, version=VERSION,
                                   description=f"speech to text with {asr.name}", models=[whisper],
                                   supports_transcript_streaming=True))
    if (tts := model.speech_info("tts")) is not None:
        voice = TtsVoice(name=tts.name, attribution=PIPER, installed=True, description=tts.description,
                         version=None, languages=list(tts.languages))  # its default speaker: no others offered
        info.tts.append(TtsProgram(name=TTS_PROGRAM, attribution=PROJECT, installed=True, version=VERSION,
                                   description=f"text to speech with {tts.name}", voices=[voice],
                                   supports_synthesize_streaming=True))
    profile = model.profile
    languages: list[str] = list(profile.role("llm").option("languages", []) or [])  # empty: any language
    agent = HandleModel(name=profile.name, attribution=PROJECT, installed=True, version=VERSION,
                        description=profile.description, languages=languages)
    info.handle.append(HandleProgram(name=HANDLE_PROGRAM, attribution=PROJECT, installed=True, version=VERSION,
                                     description=f"NExT-GPT Live ({profile.name} profile) as a conversation agent",
                                     models=[agent], supports_handled_streaming=True, supports_home_control=False))
    return info


def program_names(info: Info) -> set[str]:
    """Every program and model name `info` lists: what a `select-program` may name."""
    names: set[str] = set()
    programs: list[Any] = [*info.asr, *info.tts, *info.handle]
    for program in programs:
        names.add(program.name)
        names.update(item.name for item in getattr(program, "models", None) or getattr(program, "voices", []))
    return names
