"""A live session: camera and microphone in, VAD-bounded turns to the engine, every event out.

Camera frames feed the rolling video window (encoded as they arrive). Microphone audio goes
through the utterance segmenter: when the user starts talking during an answer, the answer is
cancelled (barge-in); when they stop, their words are transcribed and become a turn with the
video window (or the latest frame) attached.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

from .engine import Engine
from .frames import (
    AudioChunk,
    Frame,
    ReplyEvent,
    SceneChange,
    SourceStatus,
    SpeechOutput,
    SpeechStarted,
    Transcript,
    Turn,
    TurnDone,
    Utterance,
)
from .utterances import UtteranceSegmenter, VadSettings
from .video_window import VideoWindow

log = logging.getLogger(__name__)
_DONE = object()


@dataclass
class LiveConfig:
    sample_fps: float = 2.0  # video window: frames encoded per second
    window: int = 8  # video window: frames kept
    vad: VadSettings | None = None  # None: the profile's [vad] settings
    want: frozenset[str] | None = None
    barge_in: bool = True
    narrate: bool = False  # speak what comes into and leaves the camera's view (needs real eyes)
    drain_s: float = 120.0  # at the end, how long to wait for answers still in flight


class LiveSession:
    def __init__(
        self,
        engine: Engine,
        camera: Any | None = None,
        microphone: Any | None = None,
        config: LiveConfig | None = None,
        conversation_id: str | None = None,
        on_frame: Callable[[Frame], None] | None = None,
    ) -> None:
        self.engine = engine
        self.camera = camera
        self.microphone = microphone
        self.config = config or LiveConfig()
        self.conversation_id = conversation_id
        self.on_frame = on_frame  # sees every camera frame and audio chunk (previews, level meters)
        self.window = VideoWindow(engine.model, engine.run_on_device, self.config.sample_fps, self.config.window,
                                  on_scene=self._on_scene)
        vad = self.config.vad or VadSettings.from_profile(engine.model.profile.roles["vad"].options
                                                          if "vad" in engine.model.profile.roles else {})
        self.segmenter = UtteranceSegmenter(engine.model.streaming_vad(), vad)
        self._out: asyncio.Queue[Any] = asyncio.Queue()
        self._answering: str | None = None
        self._replies: set[asyncio.Task[None]] = set()
        self.barge_ins: list[float] = []  # ms from the VAD hearing speech start to the answer's end
        self._barge_in_at: float | None = None
        self._narrated = 0

    async def events(self, seconds: float | None = None) -> AsyncIterator[Frame]:
        """Runs the session for `seconds` (or until the sources end) and yields every frame of it."""
        pumps = [asyncio.create_task(self._pump(source)) for source in (self.camera, self.microphone) if source]
        runner = asyncio.create_task(self._run_until(pumps, seconds))
        while True:
            item = await self._out.get()
            if item is _DONE:
                break
            yield item
        await runner

    async def _run_until(self, pumps: list[asyncio.Task[None]], seconds: float | None) -> None:
        try:
            await asyncio.wait_for(asyncio.gather(*pumps), timeout=seconds)
        except TimeoutError:
            pass
        finally:
            for source in (self.camera, self.microphone):
                if source is not None:
                    source.stop()
            await asyncio.gather(*pumps, return_exceptions=True)
        for frame in self.segmenter.flush():
            await self._on_speech(frame)
        if self._replies:
            await asyncio.wait(self._replies, timeout=self.config.drain_s)
        self._out.put_nowait(_DONE)

    async def _pump(self, source: Any) -> None:
        try:
            async for frame in source.frames():
                if self.on_frame is not None and not isinstance(frame, SourceStatus):
                    self.on_frame(frame)
                if isinstance(frame, AudioChunk):
                    for speech in self.segmenter.process(frame):
                        await self._on_speech(speech)
                elif isinstance(frame, SourceStatus):
                    self._out.put_nowait(frame)
                else:
                    await self.window.process(frame)
        except Exception as error:  # a failing device ends its source, not the session
            log.exception("capture source %s failed", getattr(source, "name", source))
            self._out.put_nowait(SourceStatus(getattr(source, "name", "source"), "error", str(error)))

    def _on_scene(self, frame: Frame) -> None:
        self._out.put_nowait(frame)
        if isinstance(frame, SceneChange) and self.config.narrate and self._answering is None:
            task = asyncio.create_task(self._narrate(frame.text))
            self._replies.add(task)
            task.add_done_callback(self._replies.discard)

    async def _narrate(self, text: str) -> None:
        """Says a change aloud, as speech output a player plays (not an answer: nothing is kept)."""
        try:
            audio = await self.engine.run_on_device(self.engine.model.synthesize, text)
        except Exception as error:
            log.exception("narration failed")
            self._out.put_nowait(SourceStatus("narration", "error", str(error)))
            return
        self._narrated += 1
        self._out.put_nowait(SpeechOutput(f"narration-{self._narrated}", audio, 0, text))

    async def push_to_talk(self, pressed: bool) -> None:
        """Held: the microphone's audio is the user's turn, whatever the VAD hears; released: sent."""
        for frame in self.segmenter.set_hold(pressed):
            await self._on_speech(frame)

    async def _on_speech(self, frame: Frame) -> None:
        self._out.put_nowait(frame)
        if isinstance(frame, SpeechStarted) and self.config.barge_in and self._answering:
            self._barge_in_at = time.monotonic()
            self.engine.cancel(self._answering, "barge-in")
        elif isinstance(frame, Utterance):
            await self._turn_from(frame)

    async def _turn_from(self, utterance: Utterance) -> None:
        ended = time.monotonic()
        text = await self.engine.run_on_device(self.engine.model.transcribe, utterance.audio)
        self._out.put_nowait(Transcript(text=text, utterance=utterance))
        if not text.strip():
            return
        await self.window.settle()
        seen = self.window.snapshot()
        turn = Turn(text=text, media=(seen,) if seen is not None else (), want=self.config.want,
                    conversation_id=self.conversation_id, transcript=text, end_of_speech=ended)
        self._out.put_nowait(turn)
        self._answering = turn.id
        task = asyncio.create_task(self._forward(self.engine.submit(turn)))
        self._replies.add(task)
        task.add_done_callback(self._replies.discard)

    async def _forward(self, stream: AsyncIterator[ReplyEvent]) -> None:
        async for event in stream:
            if isinstance(event, TurnDone):
                if event.status == "interrupted" and self._barge_in_at is not None:
                    self.barge_ins.append(round((time.monotonic() - self._barge_in_at) * 1000, 1))
                if self._answering == event.turn_id:
                    self._answering = None
            self._out.put_nowait(event)
