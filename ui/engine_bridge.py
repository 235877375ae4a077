"""The Qt side of the engine. The runtime (model, engine, history) lives on its own thread with its
own event loop; the UI calls in through thread-safe methods and hears back through Qt signals,
which Qt queues onto the UI thread. The UI thread never waits for a model."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, Signal

from assistant.frames import (
    AudioChunk,
    ErrorEvent,
    Frame,
    SourceStatus,
    TurnDone,
    VideoFrame,
    new_id,
)

log = logging.getLogger(__name__)
PREVIEW_INTERVAL_S = 1 / 15  # camera preview frames sent to the UI at most this often


class EngineBridge(QObject):
    opened = Signal(object)  # the History, once the runtime exists (the sidebar lists conversations)
    loading = Signal(str, int, int)  # role loaded, done, total
    ready = Signal(dict)  # Runtime.describe(): profile, device, untrained roles
    failed = Signal(str)  # the runtime could not start: the message says why
    event = Signal(object)  # every reply event and live frame worth showing
    preview = Signal(object)  # camera frames (H, W, 3) uint8, throttled
    level = Signal(float)  # microphone RMS, 0..1

    def __init__(self, profile: str = "local", data_dir: Path | None = None, speak: bool = False,
                 keep_days: int = 0, mqtt: Any = None, keep_media_days: int = 0, headphones: bool = False) -> None:
        super().__init__()
        self.mqtt = mqtt  # MqttSettings: when enabled, the MQTT bridge serves devices from this engine too
        self.keep_days = keep_days  # conversations untouched this long are removed at start (0: keep all)
        self.keep_media_days = keep_media_days  # media saved this long ago are removed at start (0: keep all)
        self.profile = profile
        self.data_dir = data_dir
        self.speak = speak
        self.headphones = headphones  # no echo cancellation: the microphone does not hear the speaker
        self.runtime: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._started = threading.Event()
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._main, name="engine", daemon=True)
        self._session: Any = None
        self._sources: list[Any] = []
        self._player: Any = None
        self._playback: Any = None  # the speaker as the last processor of every stream, when speaking
        self._last_preview = 0.0

    # lifecycle (UI thread) ---------------------------------------------------------------------

    def start(self) -> None:
        self._thread.start()
        self._started.wait(timeout=10)

    def shutdown(self, timeout: float = 10.0) -> None:
        if self._stop is not None:
            self._post(self._stop.set)
        if self._thread.is_alive():
            self._thread.join(timeout)

    # requests (UI thread) ----------------------------------------------------------------------

    def submit(self, text: str, paths: list[str], want: list[str] | None, conversation_id: str | None) -> str:
        """Queues a turn and returns its id at once; its events arrive through `event`."""
        turn_id = new_id()
        self._call(self._submit(turn_id, text, paths, want, conversation_id))
        return turn_id

    def cancel(self, turn_id: str) -> None:
        self._post(self._cancel, turn_id)

    def start_live(self, camera: str, microphone: str, conversation_id: str | None,
                   want: list[str] | None = None, narrate: bool = False, wake_word: str | None = None) -> None:
        self._call(self._live(camera, microphone, conversation_id, want, narrate, wake_word))

    def stop_live(self) -> None:
        self._post(self._stop_sources)

    def push_to_talk(self, pressed: bool) -> None:
        if self._session is not None:
            self._call(self._session.push_to_talk(pressed))

    # the engine thread ---------------------------------------------------------------------------

    def _running(self) -> bool:
        return self._loop is not None and not self._loop.is_closed()

    def _post(self, function: Any, *args: Any) -> None:
        """Runs `function` on the engine thread; nothing when the engine has stopped (window closing)."""
        if self._running():
            self._loop.call_soon_threadsafe(function, *args)

    def _call(self, coroutine: Any) -> None:
        if not self._running():
            coroutine.close()
            self.failed.emit("the engine is not running")
            return
        asyncio.run_coroutine_threadsafe(coroutine, self._loop)

    def _main(self) -> None:
        asyncio.run(self._serve())

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        self._started.set()
        mqtt = None
        try:
            from assistant.echo import EchoReference
            from assistant.playback import Playback, SpeechPlayer
            from assistant.runtime import Runtime  # torch and the model: seconds, off the UI thread

            self.runtime = Runtime(self.profile, self.data_dir)
            if self.keep_days > 0:
                removed = self.runtime.history.prune(self.keep_days)
                log.info("removed %d conversations older than %d days", removed, self.keep_days)
            if self.keep_media_days > 0:
                removed = self.runtime.history.prune_media(self.keep_media_days)
                log.info("removed %d media files older than %d days", removed, self.keep_media_days)
            self.opened.emit(self.runtime.history)
            await self.runtime.start()
            self._player = (SpeechPlayer(reference=None if self.headphones else EchoReference())
                            if self.speak else None)
            self._playback = Playback(self._player) if self._player is not None else None
            await self.runtime.load(lambda role, done, total: self.loading.emit(role, done, total))
            self.ready.emit(self.runtime.describe())
            mqtt = self._start_mqtt()
        except Exception as error:  # a missing model or a bad profile: the window says so and stays up
            log.exception("the runtime could not start")
            self.failed.emit(f"{type(error).__name__}: {error}")
        await self._stop.wait()
        self._stop_sources()
        if mqtt is not None:
            await asyncio.gather(mqtt, return_exceptions=True)  # it saw the same stop: publishes offline
        if self._player is not None:
            self._player.close()
        if self.runtime is not None:
            await self.runtime.close()

    def _start_mqtt(self) -> asyncio.Task[None] | None:
        """The MQTT bridge inside the app (Settings → MQTT bridge): devices share this engine."""
        if self.mqtt is None or not self.mqtt.enabled:
            return None
        from assistant.mqtt import BridgeConfig, MqttBridge, read_password_file
        from assistant.runtime import InputError

        try:
            password = read_password_file(self.mqtt.password_file) if self.mqtt.password_file else None
        except InputError as error:
            self.event.emit(SourceStatus("mqtt", "error", str(error)))
            return None
        config = BridgeConfig(host=self.mqtt.host, port=self.mqtt.port, prefix=self.mqtt.prefix,
                              username=self.mqtt.username or None, password=password,
                              tls_ca=self.mqtt.tls_ca or None)
        self.mqtt_bridge = MqttBridge(self.runtime.engine, self.runtime.model, config)
        self.event.emit(SourceStatus("mqtt", "started", f"{config.host}:{config.port}"))
        return asyncio.create_task(self.mqtt_bridge.run(self._stop))

    async def _submit(self, turn_id: str, text: str, paths: list[str], want: list[str] | None,
                      conversation_id: str | None) -> None:
        try:
            stream = await self.runtime.submit(turn_id, text, paths, want, conversation_id)
        except Exception as error:  # a bad file, or no runtime: an error bubble, not a dead window
            self.event.emit(ErrorEvent(turn_id, "bad_request", str(error)))
            self.event.emit(TurnDone(turn_id, status="error"))
            return
        async for event in stream:
            await self._deliver(event)

    def _cancel(self, turn_id: str) -> None:
        if self.runtime is not None:
            self.runtime.engine.cancel(turn_id, "stop")

    async def _live(self, camera: str, microphone: str, conversation_id: str | None,
                    want: list[str] | None, narrate: bool, wake_word: str | None) -> None:
        from assistant.capture import open_camera, open_microphone
        from assistant.live import LiveConfig, LiveSession

        self._stop_sources()
        self._sources = [open_camera(camera) if camera else None, open_microphone(microphone) if microphone else None]
        config = LiveConfig(want=frozenset(want) if want is not None else None, narrate=narrate, wake_word=wake_word)
        echo = self._player.reference if self._player is not None else None  # None: headphones, or silent
        self._session = LiveSession(self.runtime.engine, *self._sources, config, conversation_id,
                                    on_frame=self._observe, echo=echo)
        try:
            async for frame in self._session.events():
                await self._deliver(frame)
        except Exception as error:
            log.exception("the live session failed")
            self.event.emit(SourceStatus("live", "error", str(error)))
        finally:
            self._session = None
            self.event.emit(SourceStatus("live", "ended"))

    def _stop_sources(self) -> None:
        for source in self._sources:
            if source is not None:
                source.stop()
        self._sources = []

    def _observe(self, frame: object) -> None:
        if isinstance(frame, VideoFrame):
            now = time.monotonic()
            if now - self._last_preview >= PREVIEW_INTERVAL_S:
                self._last_preview = now
                self.preview.emit(frame.pixels)
        elif isinstance(frame, AudioChunk) and len(frame.samples):
            self.level.emit(float(np.sqrt(np.mean(np.square(frame.samples)))))

    async def _deliver(self, event: Frame) -> None:
        if self._playback is not None:
            await self._playback.process(event)
        self.event.emit(event)
