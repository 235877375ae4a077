"""The shared shape of a capture source, the thread-to-asyncio frame queue, and real-time pacing.

A source reads its device or file in a background thread (device and decoder calls block) and
hands frames to the asyncio loop through a bounded `FrameQueue`. `CaptureSource.frames()` is the
async side. Every run of `frames()` yields, in order:

* ``SourceStatus(state="started")`` just before the first video frame or audio chunk;
* the `VideoFrame`s or `AudioChunk`s;
* exactly one terminal status, always last: ``ended`` (the file ran out, or `stop()` was called),
  ``unavailable`` (the device or file could not be opened: nothing was captured; ``detail`` says
  why and what to do), or ``error`` (it failed after it had started).

Opening a source never raises for a missing device or a bad file: the reason arrives as a status.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import deque
from collections.abc import AsyncIterator, Callable

from assistant.frames import AudioChunk, Frame, SourceStatus, VideoFrame
from models import MediaError

logger = logging.getLogger(__name__)

STARTED = "started"
ENDED = "ended"
UNAVAILABLE = "unavailable"
ERROR = "error"
TERMINAL_STATES = frozenset({ENDED, UNAVAILABLE, ERROR})

# How many captured frames may wait for a slow consumer before the oldest is dropped. A 720p RGB
# frame is 2.7 MB, so video keeps only the newest few (~130 ms at 30 fps); audio chunks are small
# and a hole in speech hurts recognition, so audio keeps about 2 s of 32 ms blocks.
VIDEO_QUEUE_SIZE = 4
AUDIO_QUEUE_SIZE = 64

# When a paced source falls this far behind its schedule (slow decode, a suspended laptop), the
# schedule restarts from now instead of emitting the backlog in a burst.
MAX_LAG_S = 0.5

Clock = Callable[[], float]
Sleep = Callable[[float], None]


class SourceUnavailable(Exception):
    """Raised inside a source's reader thread when its device or file cannot be opened; ``str(exc)``
    is the human-readable reason, shown to the user as-is."""


def _is_media(frame: Frame) -> bool:
    return isinstance(frame, (VideoFrame, AudioChunk))


class FrameQueue:
    """A bounded hand-off of frames from one producer thread to one asyncio consumer.

    The producer `put`s from its thread; the consumer awaits `get` on the loop. The items live in a
    lock-protected deque, and the loop is woken with at most one pending `call_soon_threadsafe`, so
    memory stays bounded even when the loop itself is busy. When the queue is full:

    * ``block=False`` (live sources): the oldest queued video frame / audio chunk is dropped to make
      room, and counted in `dropped`;
    * ``block=True`` (files read faster than real time): the producer waits for room.

    Status frames are never dropped, so the queue holds more than `maxsize` only if it is full of
    them (a run puts two: ``started`` and its terminal status). `peak` is the most it ever held.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, maxsize: int, *, block: bool = False, name: str = "") -> None:
        if maxsize < 1:
            raise ValueError(f"maxsize must be at least 1, got {maxsize}")
        self.maxsize = maxsize
        self.block = block
        self.name = name
        self.dropped = 0
        self.peak = 0
        self._loop = loop
        self._items: deque[Frame] = deque()
        self._lock = threading.Lock()
        self._room = threading.Condition(self._lock)
        self._wake_scheduled = False
        self._waiter: asyncio.Future[None] | None = None
        self._finished = False  # the producer is done: no more puts will come
        self._halted = False  # the consumer is gone or stop() was called: refuse further puts

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)

    # producer side (any thread) ------------------------------------------------------------------

    def put(self, frame: Frame) -> bool:
        """Queue ``frame``; False when the queue was halted (the producer should stop)."""
        with self._lock:
            if self.block:
                while len(self._items) >= self.maxsize and not self._halted:
                    self._room.wait()
            if self._halted:
                return False
            if len(self._items) >= self.maxsize:
                self._drop_oldest_media()
            self._items.append(frame)
            self.peak = max(self.peak, len(self._items))
        self._wake()
        return True

    def finish(self) -> None:
        """The producer will put nothing more; the consumer's `get` returns None once it is empty."""
        with self._lock:
            self._finished = True
        self._wake()

    def halt(self) -> None:
        """Refuse further puts, discard what is queued, wake both sides. Thread-safe, idempotent."""
        with self._lock:
            self._halted = True
            self._items.clear()
            self._room.notify_all()
        self._wake()

    def _drop_oldest_media(self) -> None:
        for i, queued in enumerate(self._items):
            if _is_media(queued):
                del self._items[i]
                self.dropped += 1
                if self.dropped == 1:
                    logger.warning("%s: the consumer is falling behind; dropping the oldest frames", self.name)
                return

    def _wake(self) -> None:
        with self._lock:
            if self._wake_scheduled:
                return
            self._wake_scheduled = True
        try:
            self._loop.call_soon_threadsafe(self._on_wake)
        except RuntimeError:  # the loop is closed: nobody is listening any more
            with self._lock:
                self._wake_scheduled = False

    # consumer side (the loop's thread) -------------------------------------------------------------

    def _on_wake(self) -> None:
        with self._lock:
            self._wake_scheduled = False
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    async def get(self) -> Frame | None:
        """The next frame, oldest first; None once the producer finished and all was taken, or after `halt`."""
        while True:
            with self._lock:
                if self._halted:
                    return None
                if self._items:
                    frame = self._items.popleft()
                    self._room.notify()
                    return frame
                if self._finished:
                    return None
            # A put between the check above and this await schedules `_on_wake`, which can only run
            # on this loop, after the waiter exists: no wakeup is lost.
            self._waiter = self._loop.create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None


class Run:
    """One run of a source's reader thread: how it emits frames and learns that it should stop."""

    def __init__(self, source: CaptureSource, queue: FrameQueue) -> None:
        self.source = source
        self.queue = queue
        self.halt = threading.Event()
        self.has_started = False

    @property
    def stopping(self) -> bool:
        return self.halt.is_set()

    def started(self, detail: str = "") -> None:
        """Announce that capture began (done automatically before the first frame)."""
        if not self.has_started:
            self.has_started = True
            logger.info("%s: started%s", self.source.name, f" ({detail})" if detail else "")
            self.queue.put(SourceStatus(self.source.name, STARTED, detail))

    def emit(self, frame: VideoFrame | AudioChunk) -> bool:
        """Queue one captured frame; False when the reader should stop."""
        if self.halt.is_set():
            return False
        self.started()
        return self.queue.put(frame) and not self.halt.is_set()

    def wait(self, seconds: float) -> bool:
        """Sleep up to ``seconds``, waking early on stop; True when it is time to stop."""
        return self.halt.wait(max(0.0, seconds))


class Pacer:
    """Sleeps to a monotonic schedule: `wait_until(t)` returns when ``t`` seconds have passed since
    `start()` (or the first `wait_until`), so per-frame overheads do not add up to drift."""

    def __init__(self, clock: Clock, sleep: Sleep, max_lag: float = MAX_LAG_S) -> None:
        self.clock = clock
        self.sleep = sleep
        self.max_lag = max_lag
        self._origin: float | None = None

    def start(self) -> float:
        """Make time 0 of the schedule now, unless it was already set; returns it (on ``clock``)."""
        if self._origin is None:
            self._origin = self.clock()
        return self._origin

    def wait_until(self, t: float) -> None:
        """Sleep until ``t`` seconds into the schedule (not at all when that time has passed)."""
        origin = self.start()
        delay = origin + t - self.clock()
        if delay > 0:
            self.sleep(delay)
        elif delay < -self.max_lag:  # far behind: restart the schedule rather than burst to catch up
            logger.debug("pacer: %.3f s behind schedule; restarting it", -delay)
            self._origin = origin - delay


class CaptureSource:
    """A live source of frames: subclasses implement `_read`, which runs in a background thread.

    ``name`` labels its status frames; ``dropped`` counts frames dropped because the consumer was
    slower than the source; ``queue_size`` bounds how many frames wait; ``peak_queued`` is the most
    that ever waited at once. `stop()` may be called from any thread, any number of times; it ends
    the current `frames()` promptly (with an ``ended`` status) and a stopped source stays stopped.
    """

    #: False for sources read faster than real time: their reader waits for the consumer instead.
    drops_when_behind: bool = True

    def __init__(self, name: str, queue_size: int) -> None:
        if queue_size < 1:
            raise ValueError(f"queue_size must be at least 1, got {queue_size}")
        self.name = name
        self.queue_size = queue_size
        self._dropped_before = 0
        self._peak_before = 0
        self._lock = threading.Lock()
        self._stopped = False
        self._run: Run | None = None
        self._thread: threading.Thread | None = None

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}>"

    @property
    def dropped(self) -> int:
        """Frames dropped, over all runs, because the consumer was behind."""
        with self._lock:
            run = self._run
            return self._dropped_before + (run.queue.dropped if run else 0)

    @property
    def peak_queued(self) -> int:
        """The most frames that ever waited in the queue at once, over all runs."""
        with self._lock:
            run = self._run
            return max(self._peak_before, run.queue.peak if run else 0)

    @property
    def stopped(self) -> bool:
        return self._stopped

    def stop(self) -> None:
        """End capture: `frames()` finishes promptly and the reader thread releases the device."""
        with self._lock:
            self._stopped = True
            run = self._run
        if run is not None:
            run.halt.set()
            run.queue.halt()

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the reader thread to exit (device released); True when it has."""
        thread = self._thread
        if thread is None:
            return True
        thread.join(timeout)
        return not thread.is_alive()

    async def frames(self) -> AsyncIterator[Frame]:
        """The source's frames as they are captured; see the module docstring for the status protocol."""
        loop = asyncio.get_running_loop()
        queue = FrameQueue(loop, self.queue_size, block=not self.drops_when_behind, name=self.name)
        run = Run(self, queue)
        with self._lock:
            if self._run is not None:
                raise RuntimeError(f"{self.name}: frames() is already being read; a source has one reader")
            stopped = self._stopped
            if not stopped:
                self._run = run
        if stopped:
            yield SourceStatus(self.name, ENDED, "stopped")
            return
        thread = threading.Thread(target=self._thread_main, args=(run,), name=f"capture {self.name}", daemon=True)
        self._thread = thread
        terminal_seen = False
        try:
            thread.start()
            while not terminal_seen:
                frame = await queue.get()
                if frame is None:
                    break
                terminal_seen = isinstance(frame, SourceStatus) and frame.state in TERMINAL_STATES
                yield frame
            if not terminal_seen:  # halted by stop(): the reader's own terminal status was discarded
                yield SourceStatus(self.name, ENDED, "stopped")
        finally:
            run.halt.set()
            queue.halt()
            with self._lock:
                self._run = None
                self._dropped_before += queue.dropped
                self._peak_before = max(self._peak_before, queue.peak)

    def _thread_main(self, run: Run) -> None:
        try:
            detail = self._read(run)
            status = SourceStatus(self.name, ENDED, "stopped" if run.stopping else (detail or ""))
        except (SourceUnavailable, MediaError) as exc:
            status = self._failure(run, str(exc))
        except Exception as exc:  # a device or decoder failing in a way nobody foresaw must not kill the app
            logger.exception("%s: capture failed", self.name)
            status = self._failure(run, f"{type(exc).__name__}: {exc}")
        if status.state != ENDED:
            logger.warning("%s: %s: %s", self.name, status.state, status.detail)
        else:
            logger.info("%s: ended%s", self.name, f" ({status.detail})" if status.detail else "")
        run.queue.put(status)
        run.queue.finish()

    def _failure(self, run: Run, detail: str) -> SourceStatus:
        return SourceStatus(self.name, ERROR if run.has_started else UNAVAILABLE, detail)

    def _read(self, run: Run) -> str | None:
        """Open the device or file and emit frames with ``run.emit`` until it runs out or
        ``run.emit`` returns False. Runs in the reader thread; close what it opened before returning.
        Raise `SourceUnavailable` (or `MediaError`) when it cannot be opened. Returns an optional
        detail for the ``ended`` status."""
        raise NotImplementedError


def pacing(clock: Clock, sleep: Sleep | None, run: Run) -> Pacer:
    """A `Pacer` on ``clock``; without an injected ``sleep`` it sleeps on ``run``'s stop event, so
    `stop()` interrupts a long wait at once."""
    return Pacer(clock, sleep if sleep is not None else run.wait)


def frame_size(size: tuple[int, int] | None) -> tuple[int, int] | None:
    """``size`` checked to be None or (width, height) in positive ints."""
    if size is None:
        return None
    if len(size) != 2 or any(isinstance(v, bool) or not isinstance(v, int) or v <= 0 for v in size):
        raise ValueError(f"size must be (width, height) in positive ints, got {size!r}")
    return int(size[0]), int(size[1])


def block_samples(rate: int, block_ms: int) -> int:
    """Samples in one block of ``block_ms`` milliseconds at ``rate`` (512 at 16 kHz and 32 ms)."""
    if isinstance(rate, bool) or not isinstance(rate, int) or rate <= 0:
        raise ValueError(f"rate must be a positive int, got {rate!r}")
    if isinstance(block_ms, bool) or not isinstance(block_ms, int) or block_ms <= 0:
        raise ValueError(f"block_ms must be a positive int, got {block_ms!r}")
    return max(1, round(rate * block_ms / 1000))
