"""A live session: camera and microphone in, a pipeline of processors, every frame out.

    sources → [observer] → video window → [echo canceller] → [wake word] → utterance segmenter
            → transcriber → turn taker → answerer → [narrator] → the session's stream

Camera frames feed the rolling video window (encoded as they arrive). Microphone audio goes
through the utterance segmenter: when the user starts talking during an answer, the answerer
cancels it (barge-in); when they stop, their words are transcribed and become a turn with the video
window (or the latest frame) attached.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

from ..echo import EchoCanceller, EchoReference
from ..engine import Engine
from ..frames import AudioChunk, EndOfStream, Frame, PushToTalk, SourceStatus, VideoFrame
from ..processor import Pipeline, Processor, QueueSink
from ..utterances import UtteranceSegmenter, VadSettings
from ..video_window import VideoWindow
from ..wake_word import WakeWord
from .answerer import Answerer
from .narrator import Narrator
from .transcriber import Transcriber
from .turn_taker import TurnTaker

log = logging.getLogger(__name__)


@dataclass
class LiveConfig:
    sample_fps: float = 2.0  # video window: frames encoded per second
    window: int = 8  # video window: frames kept
    vad: VadSettings | None = None  # None: the profile's [vad] settings
    want: frozenset[str] | None = None
    barge_in: bool = True
    narrate: bool = False  # speak what comes into and leaves the camera's view (needs real eyes)
    wake_word: str | None = None  # answer only after it: "okay_nabu", "hey_jarvis", "hey_mycroft", "alexa"
    drain_s: float = 120.0  # at the end, how long to wait for answers still in flight
    # threads of the model calls while the session runs; 0 (the default): as they are; None: all but
    # one core, left to the audio (capture, echo canceller, VAD, voice). On 2 cores one decode thread
    # was faster beside the audio and a prefill slower; whole turns measured no clear gain either way
    model_threads: int | None = 0


class Observer(Processor):
    """Shows every camera frame and audio chunk to a callback (previews, level meters), unchanged."""

    def __init__(self, on_frame: Callable[[Frame], None]) -> None:
        super().__init__()
        self.on_frame = on_frame

    async def process(self, frame: Frame) -> None:
        if isinstance(frame, (VideoFrame, AudioChunk)):
            self.on_frame(frame)
        await self.push(frame)


class LiveSession:
    def __init__(
        self,
        engine: Engine,
        camera: Any | None = None,
        microphone: Any | None = None,
        config: LiveConfig | None = None,
        conversation_id: str | None = None,
        on_frame: Callable[[Frame], None] | None = None,
        echo: EchoReference | None = None,
    ) -> None:
        """`echo`: what the speaker plays (the player's reference); given, the microphone goes
        through the echo canceller first. None: headphones, or no speaker."""
        self.engine = engine
        self.camera = camera
        self.microphone = microphone
        self.config = config = config or LiveConfig()
        model = engine.model
        vad = config.vad or VadSettings.from_profile(model.profile.roles["vad"].options
                                                     if "vad" in model.profile.roles else {})
        self.window = VideoWindow(model, engine.run_on_device, config.sample_fps, config.window, look=True)
        self.answerer = Answerer(engine, config.barge_in, config.drain_s)
        self._out = QueueSink()
        segmenter = UtteranceSegmenter(model.streaming_vad(), vad)
        self.transcriber = Transcriber(engine, segmenter)
        self.pipeline = Pipeline([
            *([Observer(on_frame)] if on_frame is not None else []),
            self.window,
            *([EchoCanceller(echo)] if echo is not None else []),
            *([WakeWord(config.wake_word, lambda: segmenter.speaking)] if config.wake_word else []),
            segmenter,
            self.transcriber,
            TurnTaker(self.window, config.want, conversation_id),
            self.answerer,
            *([Narrator(engine, self.answerer)] if config.narrate else []),
            self._out,
        ])

    @property
    def barge_ins(self) -> list[float]:
        """ms from the VAD hearing speech over an answer being made to its model stopping, per barge-in."""
        return self.answerer.barge_ins

    async def events(self, seconds: float | None = None) -> AsyncIterator[Frame]:
        """Runs the session for `seconds` (or until the sources end) and yields every frame of it."""
        # set before the session's first model call, without waiting for the device (models may be loading)
        threads = self.config.model_threads
        before = None if threads == 0 else asyncio.ensure_future(
            self.engine.run_on_device(self.engine.model.use_threads, threads))
        try:
            pumps = [asyncio.create_task(self._pump(source)) for source in (self.camera, self.microphone) if source]
            runner = asyncio.create_task(self._run_until(pumps, seconds))
            while not isinstance(frame := await self._out.queue.get(), EndOfStream):
                yield frame
            await runner
        finally:
            if before is not None:
                await self.engine.run_on_device(self.engine.model.use_threads, await before)

    async def push_to_talk(self, pressed: bool) -> None:
        """Held: the microphone's audio is the user's turn, whatever the VAD hears; released: sent."""
        await self.pipeline.process(PushToTalk(pressed))

    async def _run_until(self, pumps: list[asyncio.Task[None]], seconds: float | None) -> None:
        try:
            await asyncio.wait_for(asyncio.gather(*pumps), timeout=seconds)
        except TimeoutError:
            pass
        finally:
            sources = [source for source in (self.camera, self.microphone) if source is not None]
            for source in sources:
                source.stop()
            await asyncio.gather(*pumps, return_exceptions=True)
            # their reader threads let go of the devices: PortAudio torn down under a blocking read
            # (the process exiting right after the session) crashes the process
            for source, released in zip(sources, await asyncio.gather(
                    *(asyncio.to_thread(source.join, 2.0) for source in sources)), strict=True):
                if not released:
                    log.warning("%s still holds its device", source.name)
            await self.pipeline.end()

    async def _pump(self, source: Any) -> None:
        try:
            async for frame in source.frames():
                await self.pipeline.process(frame)
        except Exception as error:  # a failing device ends its source, not the session
            log.exception("capture source %s failed", getattr(source, "name", source))
            await self.pipeline.process(SourceStatus(getattr(source, "name", "source"), "error", str(error)))
