"""Makes a turn of what the user said, with what the camera saw while they said it; words heard
that are no words make none (NotATurn)."""

from __future__ import annotations

from models import InputMedia

from ..frames import Frame, LikelyTurn, NotATurn, Transcript, Turn
from ..processor import Processor
from ..video_window import VideoWindow


class TurnTaker(Processor):
    def __init__(self, window: VideoWindow, want: frozenset[str] | None, conversation_id: str | None) -> None:
        super().__init__()
        self.window = window
        self.want = want
        self.conversation_id = conversation_id

    async def process(self, frame: Frame) -> None:
        if isinstance(frame, LikelyTurn) and frame.turn is None:
            seen = self.window.snapshot()
            frame = LikelyTurn(frame.text, self._turn(frame.text, seen, frame.created))
        await self.push(frame)
        if isinstance(frame, Transcript) and not frame.text.strip():
            await self.push(NotATurn("no words"))
        elif isinstance(frame, Transcript):
            await self.window.settle()
            seen = self.window.snapshot()
            ended = frame.utterance.created if frame.utterance is not None else frame.created
            await self.push(self._turn(frame.text, seen, ended))

    def _turn(self, text: str, seen: InputMedia | None, ended: float) -> Turn:
        return Turn(text=text, media=(seen,) if seen is not None else (), want=self.want,
                    conversation_id=self.conversation_id, transcript=text, end_of_speech=ended)
