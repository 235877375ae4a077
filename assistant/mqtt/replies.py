"""Reply events as the JSON payloads an MQTT client receives: one message per event, media base64."""

from __future__ import annotations

import base64
import json
from typing import Any

from models import MIME, encode, encode_wav

from ..frames import Accepted, ErrorEvent, FinalText, Interruption, MediaOutput, ReplyEvent, SpeechOutput, TurnDone


def reply_dict(event: ReplyEvent, request_id: str) -> dict[str, Any] | None:
    """The reply for `event`, tagged with the client's `request_id`; None for events not sent (deltas, progress)."""
    match event:
        case Accepted(queued=queued):
            return {"id": request_id, "type": "accepted", "queued": queued}
        case FinalText(text=text, seen=seen):
            reply = {"id": request_id, "type": "text", "text": text}
            if seen:  # Frigate-style detections beside the text, so an automation need not parse prose
                reply["detections"] = [d for scene in seen for d in scene["detections"]]
                reply["seen"] = list(seen)
            return reply
        case MediaOutput(modality=modality, media=media):
            return {"id": request_id, "type": "media", "modality": modality, "mime": MIME[modality],
                    "data": _b64(encode(media)), "untrained_roles": list(event.untrained_roles), "via": event.via,
                    **({"caption": event.caption} if event.caption else {})}
        case SpeechOutput(audio=audio, index=index, text=text):
            return {"id": request_id, "type": "media", "modality": "speech", "mime": MIME["audio"],
                    "data": _b64(encode_wav(audio)), "index": index, "text": text}
        case ErrorEvent(code=code, message=message):
            return error_dict(request_id, code, message)
        case Interruption(reason=reason):
            return {"id": request_id, "type": "interrupted", "reason": reason}
        case TurnDone(timings_ms=timings, status=status):
            return {"id": request_id, "type": "done", "status": status, "timings_ms": timings}
    return None


def reply_payload(event: ReplyEvent, request_id: str) -> bytes | None:
    """`reply_dict` as UTF-8 JSON bytes."""
    reply = reply_dict(event, request_id)
    return None if reply is None else json.dumps(reply).encode()


def error_dict(request_id: str, code: str, message: str) -> dict[str, Any]:
    """An error reply: code is bad_request, too_large, unauthorized, rate_limited, busy, timeout or internal."""
    return {"id": request_id, "type": "error", "code": code, "message": message}


def error_payload(request_id: str, code: str, message: str) -> bytes:
    return json.dumps(error_dict(request_id, code, message)).encode()


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")
