"""`live`: a headless live session, camera and microphone (devices or files) in, events out."""

from __future__ import annotations

import asyncio
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from models import AnyToAnyModel, parse_want

from ..capture import CaptureSource, open_camera, open_microphone
from ..echo import EchoReference
from ..engine import Engine, EngineConfig
from ..event_json import event_to_json
from ..frames import (
    FinalText,
    SceneChange,
    SourceStatus,
    TextDelta,
    Transcript,
    TurnDone,
)
from ..history import History, default_data_dir
from ..live import LiveConfig, LiveSession
from ..playback import Playback, SpeechPlayer
from ..runtime import load_models


@dataclass
class LiveOptions:
    camera: str | None = None
    mic: str | None = "default"
    seconds: float | None = None
    speak: bool = False
    want: str | None = None
    profile: str = "local"
    data: Path | None = None
    conversation: str | None = None
    as_json: bool = False
    narrate: bool = False
    headphones: bool = False  # no echo cancellation: the microphone does not hear the speaker
    wake_word: str | None = None  # answer only after it (WAKE_WORDS)


def run_live(options: LiveOptions, stdout: TextIO | None = None) -> int:
    stdout = stdout or sys.stdout  # the stream of the moment, not the one at import
    return asyncio.run(_live(options, stdout))


async def _live(options: LiveOptions, stdout: TextIO) -> int:
    want = parse_want(options.want)
    model = AnyToAnyModel.from_profile(options.profile)
    history = History(options.data or default_data_dir())
    conversation = options.conversation or history.new_conversation("live session")
    history.conversation(conversation)  # an unknown id is a clear error before anything starts
    camera = open_camera(options.camera) if options.camera else None
    microphone = open_microphone(options.mic) if options.mic else None
    player = SpeechPlayer(reference=None if options.headphones else EchoReference()) if options.speak else None
    playback = Playback(player) if player is not None else None
    if player is not None:
        _show(player.status, stdout, options.as_json)
    try:
        async with Engine(model, EngineConfig(speak=options.speak), history) as engine:
            session = LiveSession(engine, camera, microphone,
                                  LiveConfig(want=frozenset(want) if want is not None else None,
                                             narrate=options.narrate and options.speak, wake_word=options.wake_word),
                                  conversation_id=conversation,
                                  echo=player.reference if player is not None else None)
            if not options.as_json:
                stdout.write(f"live session {conversation} ({model.profile.name} profile), listening while the "
                             "models load; Ctrl-C ends it\n")
            # the sources open while the models load, as the desktop's do: what is said in the seconds
            # after launch is kept, and transcribed and answered once the models are up
            loading = asyncio.create_task(load_models(engine, model, lambda role, done, total: _show(
                SourceStatus("models", "ready", f"{total} roles of the {model.profile.name} profile") if done == total
                else SourceStatus("models", "loading", f"{role} loaded ({done}/{total})"), stdout, options.as_json)))
            loading.add_done_callback(lambda task: _stop_if_failed(task, camera, microphone))
            try:
                async for frame in session.events(options.seconds):
                    if playback is not None:
                        await playback.process(frame)  # barge-in: the voice stops with the answer
                    if options.narrate or not isinstance(frame, SceneChange):
                        _show(frame, stdout, options.as_json)
            finally:
                loading.cancel()  # the session ended first: no need of the rest
                await asyncio.gather(loading, return_exceptions=True)
            if not loading.cancelled() and loading.exception() is not None:
                raise loading.exception()  # a missing model: the command says so, as it did before any session
            if options.as_json and session.barge_ins:
                stdout.write(json.dumps({"type": "barge_ins_ms", "values": session.barge_ins}) + "\n")
    finally:
        if player is not None:
            player.close()
        history.close()
    return 0


def _stop_if_failed(loading: asyncio.Task[None], *sources: CaptureSource | None) -> None:
    """A model that cannot load ends the session: its sources stop, and the command reports why."""
    if not loading.cancelled() and loading.exception() is not None:
        for source in sources:
            if source is not None:
                source.stop()


def _show(frame: object, stdout: TextIO, as_json: bool) -> None:
    if as_json:
        shown = event_to_json(frame)
        if shown is not None:
            stdout.write(json.dumps(shown) + "\n")
            stdout.flush()
        return
    if isinstance(frame, Transcript) and frame.text:
        stdout.write(f"\nyou: {frame.text}\nassistant: ")
    elif isinstance(frame, TextDelta):
        stdout.write(frame.text)
    elif isinstance(frame, SourceStatus) and frame.state in ("unavailable", "error", "ready"):
        stdout.write(f"[{frame.source}: {frame.state}: {frame.detail}]\n")
    elif isinstance(frame, TurnDone) and frame.status != "done":
        stdout.write(f" [{frame.status}]")
    elif isinstance(frame, FinalText):
        stdout.write("\n")
    elif isinstance(frame, SceneChange):
        stdout.write(f"[seen: {frame.text}]\n")
    stdout.flush()
