"""The engine: one for every front-end. `submit(turn)` returns an async stream of reply events.

- A bounded queue of turns: beyond `max_queued` waiting turns a new one gets a `busy` error at once.
- A pool of `workers` model calls, each in an executor thread bound to the device.
- Cancellation (`cancel`, barge-in) stops token generation and decoders between steps.
- A spoken answer's first piece is synthesised while the model waits between steps: on a machine
  with few cores the two would otherwise slow each other, and the first sound is what the user waits
  for (the model stays ahead of the voice).
- `hold(turn_id)` pauses a turn's model between steps while someone may be talking over it, and
  speech recognition runs on its own thread (`run_on_ear`), so their words decide at once.
- `prepare(turn)` prefills a likely turn's prompt while the device is idle (the live session's
  guess before the pause is long enough).
- A per-turn timeout; a failing model call becomes an error event and the pool carries on.

Each turn's events leave through its reply pipeline, a list of processors whose blocking work runs
in executors: speech synthesis (when the turn is spoken), the gate (nothing of a stopped answer
goes on; latency stamps), the history recorder (when there is a history), then the turn's stream.
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
    Frame,
    Interruption,
    MediaOutput,
    ReplyEvent,
    SpeechOutput,
    TextDelta,
    Turn,
    TurnDone,
)
from .history.recorder import HistoryRecorder
from .processor import Pipeline, Processor
from .speech_synthesis import SpeechSynthesis

if TYPE_CHECKING:
    from .history import History

log = logging.getLogger(__name__)
_END = object()
VOICE_FIRST_S = 1.0  # the longest the model waits for the first spoken piece's synthesis
HOLD_MAX_S = 30.0  # the longest a turn is held for someone talking over it (their utterance ends by then)


@dataclass
class EngineConfig:
    max_queued: int = 4  # turns waiting (not running) before new ones are refused as busy
    workers: int = 1  # model calls at once on the device
    timeout_s: float | None = 300.0  # None: no limit (a one-shot request that may take minutes)
    speak: bool = False  # speak every answer; a turn whose want has "speech" is spoken anyway


class ReplyStream:
    """The reply events of one turn, in order; ends after its TurnDone."""

    def __init__(self, turn_id: str) -> None:
        self.turn_id = turn_id
        self._queue: asyncio.Queue[Any] = asyncio.Queue()

    def _put(self, event: ReplyEvent | object) -> None:
        self._queue.put_nowait(event)

    def _end(self) -> None:
        self._queue.put_nowait(_END)

    def __aiter__(self) -> AsyncIterator[ReplyEvent]:
        return self

    async def __anext__(self) -> ReplyEvent:
        event = await self._queue.get()
        if event is _END:
            raise StopAsyncIteration
        return event


def _set_event() -> threading.Event:
    event = threading.Event()
    event.set()
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
    outbox: asyncio.Queue[Any] = field(default_factory=asyncio.Queue)  # events on their way to the replies
    # cleared while the answer's first spoken piece is synthesised: the model waits between steps
    model_may_run: threading.Event = field(default_factory=_set_event)
    # cleared while someone may be talking over the answer (`hold`): the model waits between steps
    not_held: threading.Event = field(default_factory=_set_event)
    stopped: asyncio.Future[float] | None = None  # a hold's: when the model stopped (time.monotonic)
    made: bool = False  # the model is done with it (its speech may still be synthesised)


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
        # speech recognition beside the device's model calls: the words that decide a barge-in
        # must not wait for the answer they talk over (a video takes minutes)
        self._ear = ThreadPoolExecutor(1, thread_name_prefix="asr")
        # history writes (PNG, WAV, H.264 encoding, SQLite) in submission order, off the event loop
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="history")
        self._loop: asyncio.AbstractEventLoop | None = None
        self._preparing: asyncio.Future[None] | None = None  # a likely turn's prefill on the device

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
        self._ear.shutdown(wait=True, cancel_futures=True)
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
            stream._end()
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
        job.model_may_run.set()
        job.not_held.set()
        return True

    def hold(self, turn_id: str, held: bool = True) -> asyncio.Future[float] | None:
        """Holds a turn's model between its steps (someone may be talking over it: their words get
        the cores, and nothing more is written until they decide), or lets it go on. Holding gives
        a future of when the model stopped (at its next step, or its end); None for no such turn."""
        job = self._jobs.get(turn_id)
        if job is None:
            return None
        if not held:
            job.not_held.set()
            return None
        job.not_held.clear()
        if job.stopped is None or job.stopped.done():
            job.stopped = asyncio.get_running_loop().create_future()
            if job.made:  # nothing left to stop
                job.stopped.set_result(time.monotonic())
        return job.stopped

    def cancel_all(self, reason: str = "stop") -> None:
        for turn_id in list(self._jobs):
            self.cancel(turn_id, reason)

    def prepare(self, turn: Turn) -> bool:
        """Readies the model for a turn that is likely to come (`LikelyTurn`): while nothing else is
        running or waiting, the LLM prefills its prompt on the device, so the turn, if it comes as
        guessed, starts from there. False when nothing was started."""
        if self._queue is None or self._running or self._queue.qsize() or self._preparing is not None:
            return False
        request = self._request(turn)
        if request.media:  # what perception makes of them is too costly to guess
            return False
        self._preparing = asyncio.get_running_loop().run_in_executor(self._device, self._prefill, request)
        self._preparing.add_done_callback(self._prepared)
        return True

    def _prefill(self, request: ModelRequest) -> None:
        try:
            self.model.prefill(request)
        except Exception:  # only a guess: the turn itself will meet the failure, if there is one
            log.exception("readying the model for a likely turn failed")

    def _prepared(self, _: asyncio.Future[None]) -> None:
        self._preparing = None

    @property
    def running(self) -> set[str]:
        return set(self._running)

    async def run_on_device(self, function: Callable[..., Any], *args: Any) -> Any:
        """Runs a model call on the device's executor (as every model call does)."""
        return await asyncio.get_running_loop().run_in_executor(self._device, function, *args)

    async def run_on_ear(self, function: Callable[..., Any], *args: Any) -> Any:
        """Runs speech recognition on its own thread, beside the device's model calls: a user talking
        over an answer is heard while the answer is still being made (it is held meanwhile)."""
        return await asyncio.get_running_loop().run_in_executor(self._ear, function, *args)

    async def run_on_voice(self, function: Callable[..., Any], *args: Any) -> Any:
        """Runs speech synthesis on the voice thread, the one spoken answers use: one thread, so what
        it says stays in order, beside the device's model calls, so a voice can speak an answer that
        is still being written."""
        return await asyncio.get_running_loop().run_in_executor(self._voice, function, *args)

    # the worker -------------------------------------------------------------------------------

    async def _work(self) -> None:
        assert self._queue is not None
        while True:
            job = await self._queue.get()
            self._running.add(job.turn.id)
            delivery = asyncio.create_task(self._deliver_all(job, self._reply_pipeline(job)))
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
                job.outbox.put_nowait(_END)
                await delivery

    def _reply_pipeline(self, job: _Job) -> Pipeline:
        turn = job.turn
        processors: list[Processor] = []
        if self.config.speak or (turn.want is not None and "speech" in turn.want):
            processors.append(SpeechSynthesis(self.model.synthesize, self._voice, job.stop.is_set, job.timings,
                                              job.model_may_run))
        processors.append(_Gate(job))
        if self.history is not None and turn.conversation_id:
            processors.append(HistoryRecorder(self.history, self._writer))
        pipeline = Pipeline(processors)
        pipeline.link(_StreamSink(job.stream))
        return pipeline

    async def _deliver_all(self, job: _Job, replies: Pipeline) -> None:
        """Takes the turn's events through its reply pipeline one at a time, in order; ends its stream."""
        while (event := await job.outbox.get()) is not _END:
            try:
                await replies.process(event)
            except Exception:  # a failing sink must not leave the stream without its end
                log.exception("delivering %s of turn %s failed", type(event).__name__, job.turn.id)
        job.stream._end()

    async def _run(self, job: _Job) -> None:
        turn = job.turn
        if self.history is not None and turn.conversation_id:
            await asyncio.get_running_loop().run_in_executor(self._writer, self._start_turn, turn)
        if job.stop.is_set():
            self._finish_interrupted(job)
            return
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
        if status == "interrupted":
            self._finish_interrupted(job)
            return
        job.timings["model_ms"] = round(job.model_ms, 1)
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

        def progress(p: DecoderStep) -> None:
            self._emit_threadsafe(job, DecoderProgress(turn_id, p.modality.value, p.step, p.total))

        def between_steps() -> bool:  # the first spoken piece's synthesis goes first (few cores)
            job.model_may_run.wait(VOICE_FIRST_S)
            if not job.not_held.is_set():
                self._stopped(job)
            if not job.not_held.wait(HOLD_MAX_S):
                log.warning("turn %s was held %g s: going on", turn_id, HOLD_MAX_S)
            return job.stop.is_set()

        try:
            for event in self.model.respond(request, should_stop=between_steps, on_progress=progress):
                if isinstance(event, GeneratedText):
                    self._emit_threadsafe(job, TextDelta(turn_id, event.text))
                elif isinstance(event, ReplyDone):
                    job.timings.update(event.timings_ms)
                    self._emit_threadsafe(job, FinalText(turn_id, event.text, event.seen))
                elif isinstance(event, MediaResult):
                    self._emit_threadsafe(job, MediaOutput(turn_id, event.modality.value, event.media,
                                                           event.untrained_roles, via=event.via,
                                                           caption=event.caption))
        finally:
            job.model_ms += (time.perf_counter() - started) * 1000
            job.made = True
            self._stopped(job)

    # delivery (on the event loop) -------------------------------------------------------------

    def _stopped(self, job: _Job) -> None:
        """A held turn's model has stopped (between steps, or at its end): its hold's future says when."""
        stopped, at = job.stopped, time.monotonic()
        if stopped is not None and not stopped.done() and self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(lambda: stopped.done() or stopped.set_result(at))

    def _emit_threadsafe(self, job: _Job, event: ReplyEvent) -> None:
        assert self._loop is not None
        self._loop.call_soon_threadsafe(self._emit, job, event)

    def _emit(self, job: _Job, event: ReplyEvent) -> None:
        job.outbox.put_nowait(event)


class _Gate(Processor):
    """Nothing more of a stopped answer reaches the user; the turn's latencies are stamped as its
    first text and first speech pass, and its total when it is done."""

    def __init__(self, job: _Job) -> None:
        super().__init__()
        self.job = job

    async def process(self, frame: Frame) -> None:
        job = self.job
        if job.stop.is_set() and isinstance(frame, (TextDelta, SpeechOutput, MediaOutput, DecoderProgress)):
            return
        start = job.turn.end_of_speech or job.submitted
        if isinstance(frame, TextDelta) and "first_text_ms" not in job.timings:
            job.timings["first_text_ms"] = _ms_since(start)
        elif isinstance(frame, SpeechOutput) and "first_speech_ms" not in job.timings:
            job.timings["first_speech_ms"] = _ms_since(start)
        elif isinstance(frame, TurnDone):  # after the answer's speech: its timings are complete now
            if frame.status == "done":
                job.timings["engine_total_ms"] = _ms_since(job.submitted)
            frame = dataclasses.replace(frame, timings_ms={**frame.timings_ms, **job.timings})
        await self.push(frame)


class _StreamSink(Processor):
    def __init__(self, stream: ReplyStream) -> None:
        super().__init__()
        self.stream = stream

    async def process(self, frame: Frame) -> None:
        self.stream._put(frame)


def _ms_since(start: float) -> float:
    return round((time.monotonic() - start) * 1000, 1)
