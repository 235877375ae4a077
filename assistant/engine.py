"""The engine: one for every front-end. `submit(turn)` returns an async stream of reply events.

- A bounded queue of turns: beyond `max_queued` waiting turns a new one gets a `busy` error at once.
- A pool of `workers` model calls, each in an executor thread bound to the device.
- Cancellation (`cancel`, barge-in) stops token generation and decoders between steps.
- A per-turn timeout; a failing model call becomes an error event and the pool carries on.
- Speech is synthesised sentence by sentence on its own thread while the text still streams.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import threading
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from models import (
    AnyToAnyModel,
    DecoderStep,
    EncodedVideo,
    GeneratedText,
    GenerationCancelled,
    InputError,
    MediaResult,
    Modality,
    ModelRequest,
    ReplyDone,
    kind_of,
)

from .frames import (
    Accepted,
    DecoderProgress,
    ErrorEvent,
    FinalText,
    Interruption,
    MediaOutput,
    ReplyEvent,
    SpeechOutput,
    TextDelta,
    Turn,
    TurnDone,
)

if TYPE_CHECKING:
    from .history import History
from .speech_queue import SentenceSplitter

log = logging.getLogger(__name__)
_END = object()


@dataclass
class EngineConfig:
    max_queued: int = 4  # turns waiting (not running) before new ones are refused as busy
    workers: int = 1  # model calls at once on the device
    timeout_s: float = 300.0
    speak: bool = False  # speak every answer; a turn whose want has "speech" is spoken anyway


class ReplyStream:
    """The reply events of one turn, in order; ends after its TurnDone."""

    def __init__(self, turn_id: str) -> None:
        self.turn_id = turn_id
        self._queue: asyncio.Queue[Any] = asyncio.Queue()

    def _put(self, event: ReplyEvent | object) -> None:
        self._queue.put_nowait(event)

    def __aiter__(self) -> AsyncIterator[ReplyEvent]:
        return self

    async def __anext__(self) -> ReplyEvent:
        event = await self._queue.get()
        if event is _END:
            raise StopAsyncIteration
        return event


@dataclass
class _Job:
    turn: Turn
    stream: ReplyStream
    stop: threading.Event = field(default_factory=threading.Event)
    reason: str = ""
    submitted: float = field(default_factory=time.monotonic)
    timings: dict[str, float] = field(default_factory=dict)
    model_ms: float = 0.0
    speech: asyncio.Queue[str | None] | None = None


class Engine:
    def __init__(self, model: AnyToAnyModel, config: EngineConfig | None = None, history: History | None = None):
        self.model = model
        self.config = config or EngineConfig()
        self.history = history
        self._jobs: dict[str, _Job] = {}
        self._running: set[str] = set()
        self._queue: asyncio.Queue[_Job] | None = None
        self._workers: list[asyncio.Task[None]] = []
        self._device = ThreadPoolExecutor(self.config.workers, thread_name_prefix="model")
        self._voice = ThreadPoolExecutor(1, thread_name_prefix="tts")
        # history writes (PNG, WAV, H.264 encoding, SQLite) in submission order, off the event loop
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="history")
        self._loop: asyncio.AbstractEventLoop | None = None

    # lifecycle --------------------------------------------------------------------------------

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._queue = asyncio.Queue()
        self._workers = [
            asyncio.create_task(self._work(), name=f"engine-worker-{i}") for i in range(self.config.workers)
        ]

    async def close(self) -> None:
        self.cancel_all("shutdown")
        for worker in self._workers:
            worker.cancel()
        await asyncio.gather(*self._workers, return_exceptions=True)
        self._device.shutdown(wait=True, cancel_futures=True)
        self._voice.shutdown(wait=True, cancel_futures=True)
        self._writer.shutdown(wait=True)

    async def __aenter__(self) -> Engine:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # the API ----------------------------------------------------------------------------------

    def submit(self, turn: Turn) -> ReplyStream:
        """Queues `turn`; its stream starts with Accepted, or an immediate `busy` error."""
        if self._queue is None:
            raise RuntimeError("Engine.start() must run before submit()")
        stream = ReplyStream(turn.id)
        if self._queue.qsize() >= self.config.max_queued:
            stream._put(ErrorEvent(turn.id, "busy", f"{self._queue.qsize()} turns are already waiting; try again"))
            stream._put(TurnDone(turn.id, status="error"))
            stream._put(_END)
            return stream
        job = _Job(turn, stream)
        self._jobs[turn.id] = job
        stream._put(Accepted(turn.id, queued=self._queue.qsize()))
        self._queue.put_nowait(job)
        return stream

    def cancel(self, turn_id: str, reason: str = "stop") -> bool:
        """Stops a queued or running turn; its stream ends with Interruption and TurnDone."""
        job = self._jobs.get(turn_id)
        if job is None:
            return False
        job.reason = reason
        job.stop.set()
        return True

    def cancel_all(self, reason: str = "stop") -> None:
        for turn_id in list(self._jobs):
            self.cancel(turn_id, reason)

    @property
    def running(self) -> set[str]:
        return set(self._running)

    async def run_on_device(self, function: Callable[..., Any], *args: Any) -> Any:
        """Runs a model call on the device's executor (as every model call does)."""
        return await asyncio.get_running_loop().run_in_executor(self._device, function, *args)

    # the worker -------------------------------------------------------------------------------

    async def _work(self) -> None:
        assert self._queue is not None
        while True:
            job = await self._queue.get()
            self._running.add(job.turn.id)
            try:
                await self._run(job)
            except InputError as error:  # e.g. history refused the turn: an unknown conversation id
                self._fail(job, "bad_request", str(error))
            except Exception as error:  # the pool carries on whatever one turn does
                log.exception("turn %s failed outside the model call", job.turn.id)
                self._fail(job, "internal", f"{type(error).__name__}: {error}")
            finally:
                self._running.discard(job.turn.id)
                self._jobs.pop(job.turn.id, None)
                self._deliver(job, _END)

    async def _run(self, job: _Job) -> None:
        turn = job.turn
        if self.history is not None and turn.conversation_id:
            await asyncio.get_running_loop().run_in_executor(self._writer, self._start_turn, turn)
        if job.stop.is_set():
            self._finish_interrupted(job)
            return
        speaker = None
        if self.config.speak or (turn.want is not None and "speech" in turn.want):
            job.speech = asyncio.Queue()
            speaker = asyncio.create_task(self._speak(job))
        status = "done"
        try:
            request = self._request(turn)
            await asyncio.wait_for(
                asyncio.get_running_loop().run_in_executor(self._device, self._generate, job, request),
                timeout=self.config.timeout_s,
            )
        except GenerationCancelled:
            status = "interrupted"
        except TimeoutError:
            job.stop.set()
            status = "error"
            self._emit(job, ErrorEvent(turn.id, "timeout", f"no answer within {self.config.timeout_s:g} s"))
        except InputError as error:
            status = "error"
            self._emit(job, ErrorEvent(turn.id, "bad_request", str(error)))
        except Exception as error:  # a failing model call is an error event, not a dead engine
            log.exception("model call for turn %s failed", turn.id)
            status = "error"
            self._emit(job, ErrorEvent(turn.id, "internal", f"{type(error).__name__}: {error}"))
        if job.stop.is_set() and status == "done":
            status = "interrupted"
        if speaker is not None and job.speech is not None:
            job.speech.put_nowait(None)
            await speaker
        if status == "interrupted":
            self._finish_interrupted(job)
            return
        job.timings["model_ms"] = round(job.model_ms, 1)
        job.timings["engine_total_ms"] = _ms_since(job.submitted)
        self._emit(job, TurnDone(turn.id, dict(job.timings), status=status))

    def _start_turn(self, turn: Turn) -> None:
        """Records the turn and what the user gave, so a resumed conversation shows it (writer thread)."""
        assert self.history is not None and turn.conversation_id is not None
        self.history.start_turn(turn.conversation_id, turn.id, turn.text, turn.transcript,
                                sorted(turn.want) if turn.want is not None else None)
        for medium in turn.media:
            if not isinstance(medium, EncodedVideo):  # a live window's features are not kept
                self.history.save_media(turn.id, "input", kind_of(medium), medium)

    def _fail(self, job: _Job, code: str, message: str) -> None:
        """Every turn's stream ends with TurnDone, even when the turn failed before the model ran."""
        self._emit(job, ErrorEvent(job.turn.id, code, message))
        self._emit(job, TurnDone(job.turn.id, dict(job.timings), status="error"))

    def _finish_interrupted(self, job: _Job) -> None:
        self._emit(job, Interruption(job.turn.id, reason=job.reason or "stop"))
        self._emit(job, TurnDone(job.turn.id, dict(job.timings), status="interrupted"))

    def _request(self, turn: Turn) -> ModelRequest:
        want = None
        if turn.want is not None:
            want = {Modality(w) for w in turn.want if w in {m.value for m in Modality}} | {Modality.TEXT}
        history = []
        if self.history is not None and turn.conversation_id:  # earlier turns; this one is still running
            history = self.history.messages(turn.conversation_id)
        return ModelRequest(text=turn.text, media=list(turn.media), want=want, history=history)

    # runs on the device thread
    def _generate(self, job: _Job, request: ModelRequest) -> None:
        turn_id = job.turn.id
        started = time.perf_counter()
        splitter = SentenceSplitter() if job.speech is not None else None

        def progress(p: DecoderStep) -> None:
            self._emit_threadsafe(job, DecoderProgress(turn_id, p.modality.value, p.step, p.total))

        try:
            for event in self.model.respond(request, should_stop=job.stop.is_set, on_progress=progress):
                if isinstance(event, GeneratedText):
                    self._emit_threadsafe(job, TextDelta(turn_id, event.text))
                    for sentence in splitter.feed(event.text) if splitter else []:
                        self._say_threadsafe(job, sentence)
                elif isinstance(event, ReplyDone):
                    job.timings.update(event.timings_ms)
                    self._emit_threadsafe(job, FinalText(turn_id, event.text, event.seen))
                    rest = splitter.flush() if splitter else ""
                    if rest:
                        self._say_threadsafe(job, rest)
                elif isinstance(event, MediaResult):
                    self._emit_threadsafe(job, MediaOutput(turn_id, event.modality.value, event.media,
                                                           event.untrained_roles))
        finally:
            job.model_ms += (time.perf_counter() - started) * 1000

    async def _speak(self, job: _Job) -> None:
        assert job.speech is not None
        index = 0
        while (sentence := await job.speech.get()) is not None:
            if job.stop.is_set():
                continue
            started = time.perf_counter()
            try:
                audio = await asyncio.get_running_loop().run_in_executor(self._voice, self.model.synthesize, sentence)
            except Exception as error:
                log.exception("speech synthesis failed")
                self._emit(job, ErrorEvent(job.turn.id, "internal", f"speech synthesis failed: {error}"))
                continue
            job.model_ms += (time.perf_counter() - started) * 1000
            if not job.stop.is_set():
                self._emit(job, SpeechOutput(job.turn.id, audio, index, sentence))
                index += 1

    # delivery (on the event loop) -------------------------------------------------------------

    def _emit_threadsafe(self, job: _Job, event: ReplyEvent) -> None:
        assert self._loop is not None
        self._loop.call_soon_threadsafe(self._emit, job, event)

    def _say_threadsafe(self, job: _Job, sentence: str) -> None:
        assert self._loop is not None and job.speech is not None
        self._loop.call_soon_threadsafe(job.speech.put_nowait, sentence)

    def _emit(self, job: _Job, event: ReplyEvent) -> None:
        if job.stop.is_set() and isinstance(event, (TextDelta, SpeechOutput, MediaOutput, DecoderProgress)):
            return  # nothing more of an interrupted answer reaches the user
        self._stamp_latency(job, event)
        self._deliver(job, event)

    def _deliver(self, job: _Job, event: ReplyEvent | object) -> None:
        """Puts `event` on the turn's stream; with history, after the writer thread recorded it (media
        with the path it was saved at). The writer is one thread, so events keep their order."""
        if self.history is None or not job.turn.conversation_id:
            job.stream._put(event)
            return
        assert self._loop is not None
        written = self._loop.run_in_executor(self._writer, self._record, job.turn.id, event)
        written.add_done_callback(lambda done: job.stream._put(done.result()))

    def _record(self, turn_id: str, event: ReplyEvent | object) -> ReplyEvent | object:
        """Saves one event to history (writer thread); returns it, with the saved path for media."""
        if not isinstance(event, ReplyEvent):
            return event  # the stream's end: it waits for every write before it
        assert self.history is not None
        try:
            saved = self.history.record(event)
        except Exception:  # a full disk must not end the answer; the log says what was lost
            log.exception("could not save %s of turn %s to history", type(event).__name__, turn_id)
            return event
        if saved is not None and isinstance(event, (MediaOutput, SpeechOutput)):
            return dataclasses.replace(event, path=str(saved.path))
        return event

    @staticmethod
    def _stamp_latency(job: _Job, event: ReplyEvent) -> None:
        start = job.turn.end_of_speech or job.submitted
        if isinstance(event, TextDelta) and "first_text_ms" not in job.timings:
            job.timings["first_text_ms"] = _ms_since(start)
        elif isinstance(event, SpeechOutput) and "first_speech_ms" not in job.timings:
            job.timings["first_speech_ms"] = _ms_since(start)


def _ms_since(start: float) -> float:
    return round((time.monotonic() - start) * 1000, 1)
