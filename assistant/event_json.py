"""Frames as JSON-ready dicts, one per event: the shape `live --json` prints (one object a line)."""

from __future__ import annotations

from typing import Any

from models import MIME

from .frames import (
    Accepted,
    BargeIn,
    DecoderProgress,
    ErrorEvent,
    FinalText,
    Frame,
    Interruption,
    MediaOutput,
    SceneChange,
    SourceStatus,
    SpeechOutput,
    SpeechStarted,
    TextDelta,
    Transcript,
    Turn,
    TurnDone,
    Utterance,
)


def event_to_json(frame: Frame) -> dict[str, Any] | None:
    """The event's fields, with media replaced by where they were saved; None for frames not shown."""
    match frame:
        case SourceStatus(source=source, state=state, detail=detail):
            return {"type": "source", "source": source, "state": state, "detail": detail}
        case SpeechStarted(at=at):
            return {"type": "speech_started", "at": round(at, 3)}
        case BargeIn(state=state, turn_id=turn_id, reason=reason):
            return {"type": "barge_in", "state": state, "id": turn_id, **({"reason": reason} if reason else {})}
        case Utterance(start=start, end=end, audio=audio):
            return {"type": "utterance", "start": round(start, 3), "end": round(end, 3), "seconds": audio.seconds}
        case Transcript(text=text):
            return {"type": "transcript", "text": text}
        case Turn():
            media = [type(m).__name__ for m in frame.media]
            return {"type": "turn", "id": frame.id, "text": frame.text, "media": media}
        case Accepted(turn_id=turn_id, queued=queued):
            return {"type": "accepted", "id": turn_id, "queued": queued}
        case TextDelta(turn_id=turn_id, text=text):
            return {"type": "text_delta", "id": turn_id, "text": text}
        case FinalText(turn_id=turn_id, text=text):
            return {"type": "text", "id": turn_id, "text": text, "seen": list(frame.seen)}
        case SceneChange(text=text):
            return {"type": "scene_change", "text": text}
        case SpeechOutput(turn_id=turn_id):
            return {"type": "speech", "id": turn_id, "index": frame.index, "text": frame.text,
                    "seconds": round(frame.audio.seconds, 3), "path": frame.path, "mime": MIME["audio"]}
        case DecoderProgress(turn_id=turn_id):
            return {"type": "progress", "id": turn_id, "modality": frame.modality, "step": frame.step,
                    "total": frame.total}
        case MediaOutput(turn_id=turn_id):
            return {"type": "media", "id": turn_id, "modality": frame.modality, "path": frame.path,
                    "mime": MIME[frame.modality], "untrained_roles": list(frame.untrained_roles), "via": frame.via,
                    **({"caption": frame.caption} if frame.caption else {})}
        case Interruption(turn_id=turn_id, reason=reason):
            return {"type": "interruption", "id": turn_id, "reason": reason}
        case ErrorEvent(turn_id=turn_id, code=code, message=message):
            return {"type": "error", "id": turn_id, "code": code, "message": message}
        case TurnDone(turn_id=turn_id, status=status, timings_ms=timings):
            return {"type": "done", "id": turn_id, "status": status, "timings_ms": timings}
    return None
