"""The engine as Home Assistant's conversation agent: a `transcript` (the user's words) → the answer.

The turn goes through the same engine as the desktop's and MQTT's, and the answer streams back
as it is written: `handled-start`, `handled-chunk`s, `handled` (the whole answer, for clients that
do not stream), `handled-stop`. An answer the engine could not give (busy, timed out, failed) is
`not-handled` with the reason.

Each Home Assistant conversation continues its own history conversation: the event's context
names it (`conversation_id`, else the satellite or device), else the connection does. That needs
the engine's history; an engine without one answers each question on its own.

Media an answer makes (an image, a sound) cannot travel back over Wyoming; they go to the
`MediaSink` when there is one (the MQTT bridge's image topic, when a bridge runs beside).
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any

from wyoming.event import Event
from wyoming.handle import Handled, HandledChunk, HandledStart, HandledStop, NotHandled

from ..engine import Engine
from ..frames import ErrorEvent, FinalText, Interruption, MediaOutput, TextDelta, Turn, TurnDone

log = logging.getLogger(__name__)
Write = Callable[[Event], Awaitable[None]]
MediaSink = Callable[[str, MediaOutput], Awaitable[None]]  # (where it came from, the media) → shown somewhere
MAX_KEY_CHARS = 128


def conversation_key(context: dict[str, Any] | None, connection: str) -> str:
    """Which conversation a question belongs to: Home Assistant's conversation id, else its
    satellite or device, else this connection."""
    for name in ("conversation_id", "satellite_id", "device_id"):
        value = (context or {}).get(name)
        if isinstance(value, str) and 0 < len(value) <= MAX_KEY_CHARS:
            return f"{name}:{value}"
    return connection


class ConversationAgent:
    """Answers questions through `engine`; remembers which history conversation each of the
    `max_kept` most recently heard keys continues."""

    def __init__(self, engine: Engine, media_sink: MediaSink | None = None, source: str = "wyoming",
                 max_kept: int = 1024) -> None:
        self.engine = engine
        self.media_sink = media_sink
        self.source = source  # the name its media are shown under
        self.max_kept = max_kept
        self._conversations: OrderedDict[str, str] = OrderedDict()

    async def conversation_for(self, key: str) -> str | None:
        """The history conversation of `key` (a new one the first time); None without a history."""
        history = self.engine.history
        if history is None:
            return None
        if key not in self._conversations:  # titled by its first question
            self._conversations[key] = await asyncio.to_thread(history.new_conversation)
            while len(self._conversations) > self.max_kept:
                self._conversations.popitem(last=False)
        self._conversations.move_to_end(key)
        return self._conversations[key]

    async def answer(self, text: str, context: dict[str, Any] | None, connection: str, write: Write) -> None:
        """Answers one question; streams the answer's text back as it is written."""
        engine = self.engine
        turn = Turn(text=text, conversation_id=await self.conversation_for(conversation_key(context, connection)))
        log.info("wyoming %s: question → turn %s", connection, turn.id)
        streamed, final, failure, status = "", "", "", ""
        started = False
        try:
            async for event in engine.submit(turn):
                if isinstance(event, TextDelta) and event.text:
                    if not started:
                        await write(HandledStart(context=context).event())
                        started = True
                    streamed += event.text
                    await write(HandledChunk(text=event.text).event())
                elif isinstance(event, FinalText):
                    final = event.text
                elif isinstance(event, MediaOutput) and self.media_sink is not None:
                    await _show(self.media_sink, self.source, event)
                elif isinstance(event, ErrorEvent):
                    failure = failure or f"{event.code}: {event.message}"
                elif isinstance(event, Interruption):
                    failure = failure or f"interrupted ({event.reason})"
                elif isinstance(event, TurnDone):
                    status = event.status
        finally:
            if not status:  # the client left (or the server stops) with the answer unfinished
                engine.cancel(turn.id, "disconnected")
        if status != "done":
            await write(NotHandled(text=failure or f"no answer ({status})", context=context).event())
            if started:
                await write(HandledStop().event())
            return
        if not started:
            await write(HandledStart(context=context).event())
        rest = final[len(streamed):] if final.startswith(streamed) else ("" if streamed else final)
        if rest:  # what the final text has beyond the streamed words (an answer given whole)
            await write(HandledChunk(text=rest).event())
        await write(Handled(text=final, context=context).event())
        await write(HandledStop().event())


async def _show(media_sink: MediaSink, source: str, event: MediaOutput) -> None:
    """Hands media to the sink; a sink that fails is logged, and the answer carries on."""
    try:
        await media_sink(source, event)
    except Exception:
        log.exception("showing the %s of turn %s failed", event.modality, event.turn_id)
