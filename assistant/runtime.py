"""What a front-end runs for one profile: the model, the engine and the history on one event loop.

The desktop app owns one Runtime on its engine thread. Nothing heavy happens at construction;
`load` brings the model's roles up one at a time and reports each, so a window can open at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from models import AnyToAnyModel, InputError, available_profiles  # InputError: what the UI catches

from .engine import Engine, EngineConfig, ReplyStream
from .frames import Turn
from .history import History, default_data_dir
from .turn_inputs import prepare_inputs, read_attachment

LoadProgress = Callable[[str, int, int], None]


async def load_models(engine: Engine, model: AnyToAnyModel, on_step: LoadProgress | None = None) -> None:
    """Loads `model`'s roles one at a time on `engine`'s device thread, reporting (role, done, total)
    after each: a call that comes in meanwhile (a live session transcribing what was said as soon as
    it started) runs between two roles, not after all of them."""
    steps = model.models.load_steps()
    for done, (name, load) in enumerate(steps, start=1):
        await engine.run_on_device(load)
        if on_step is not None:
            on_step(name, done, len(steps))


class Runtime:
    def __init__(self, profile: str = "local", data_dir: Path | None = None, config: EngineConfig | None = None):
        self.model = AnyToAnyModel.from_profile(profile)
        self.history = History(data_dir or default_data_dir())
        self.engine = Engine(self.model, config, self.history)

    async def start(self) -> None:
        await self.engine.start()

    async def load(self, on_step: LoadProgress | None = None) -> None:
        """Loads every role on the device thread, reporting (role, done, total) after each."""
        await load_models(self.engine, self.model, on_step)

    async def close(self) -> None:
        await self.engine.close()
        self.history.close()

    async def submit(self, turn_id: str, text: str, paths: list[str], want: list[str] | None,
                     conversation_id: str | None) -> ReplyStream:
        """Decodes the attachments and hears any speech in them (on the device thread), then
        submits the turn. A bad file raises InputError naming it."""
        def prepare() -> Turn:
            media = [read_attachment(path) for path in paths]
            prepared = prepare_inputs(self.model, text, media)
            if not prepared.text and not prepared.media:
                raise InputError("nothing to send: type a message or attach a file")
            return Turn(text=prepared.text, media=tuple(prepared.media), transcript=prepared.transcript,
                        want=frozenset(want) if want is not None else None, conversation_id=conversation_id,
                        id=turn_id)

        turn = await asyncio.get_running_loop().run_in_executor(None, prepare)
        return self.engine.submit(turn)

    def describe(self) -> dict[str, object]:
        """For a status bar and the first-start card: profile, device, the roles running on
        untrained weights, and what the profile can do."""
        llm = self.model.models.placement("llm")  # as resolved here: `auto` named, bf16 when chosen
        return {"profile": self.model.profile.name, "device": llm.device.type,
                "dtype": str(llm.dtype).removeprefix("torch."),
                "untrained": self.model.untrained_roles(), "profiles": available_profiles(),
                "capabilities": self.model.capabilities()}
