"""`chat`: a conversation in the terminal, streamed, through the same engine as every front-end.

The conversation is kept in history (a new one, or `--conversation ID` to go on with one), so the
desktop app lists it and later turns see the earlier ones. Media an answer makes are saved there
and their paths printed.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import TextIO

from models import AnyToAnyModel

from ..engine import Engine
from ..frames import ErrorEvent, FinalText, MediaOutput, TextDelta, Turn
from ..history import History, default_data_dir


def run_chat(profile: str, stdin: TextIO | None = None, stdout: TextIO | None = None, data: Path | None = None,
             conversation: str | None = None) -> int:
    stdout = stdout or sys.stdout  # the streams of the moment, not the ones at import
    stdin = stdin or sys.stdin
    return asyncio.run(_chat(profile, stdin, stdout, data, conversation))


async def _chat(profile: str, stdin: TextIO, stdout: TextIO, data: Path | None, conversation: str | None) -> int:
    model = AnyToAnyModel.from_profile(profile)
    history = History(data or default_data_dir())
    try:
        if conversation is None:
            conversation = history.new_conversation("terminal chat")
        else:
            history.conversation(conversation)  # an unknown id is a clear error before anything starts
        stdout.write(f"NExT-GPT Live ({model.profile.name} profile), conversation {conversation}. "
                     "Type a message; an empty line or Ctrl-D ends.\n")
        async with Engine(model, history=history) as engine:
            while True:
                stdout.write("> ")
                stdout.flush()
                line = (await asyncio.to_thread(stdin.readline)).strip()
                if not line:
                    return 0
                async for event in engine.submit(Turn(text=line, conversation_id=conversation)):
                    _show(event, stdout)
    finally:
        history.close()


def _show(event: object, stdout: TextIO) -> None:
    if isinstance(event, TextDelta):
        stdout.write(event.text)
    elif isinstance(event, FinalText):
        stdout.write("\n")
    elif isinstance(event, MediaOutput):  # on a line of its own, under the words that came with it
        stdout.write(f"\n[{event.modality}] {event.path}")
    elif isinstance(event, ErrorEvent):
        stdout.write(f"\n[error: {event.message}]\n")
    stdout.flush()
