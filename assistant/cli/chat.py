"""`chat`: a conversation in the terminal, streamed, with the profile's history kept in memory."""

from __future__ import annotations

import sys
from typing import TextIO

from models import AnyToAnyModel, GeneratedText, ModelRequest, ReplyDone


def run_chat(profile: str, stdin: TextIO | None = None, stdout: TextIO | None = None) -> int:
    stdout = stdout or sys.stdout  # the stream of the moment, not the one at import
    stdin = stdin or sys.stdin  # the stream of the moment, not the one at import
    model = AnyToAnyModel.from_profile(profile)
    stdout.write(f"NExT-GPT Live ({model.profile.name} profile). Type a message; an empty line or Ctrl-D ends.\n")
    history: list[dict[str, str]] = []
    while True:
        stdout.write("> ")
        stdout.flush()
        line = stdin.readline()
        if not line.strip():
            return 0
        for event in model.respond(ModelRequest(text=line.strip(), history=history)):
            if isinstance(event, GeneratedText):
                stdout.write(event.text)
                stdout.flush()
            elif isinstance(event, ReplyDone):
                history += [{"role": "user", "content": line.strip()}, {"role": "assistant", "content": event.text}]
        stdout.write("\n")
