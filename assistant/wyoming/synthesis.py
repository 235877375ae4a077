"""Text to speech: `synthesize` → audio, and streaming `synthesize-start` / `-chunk` / `-stop`.

Text is cut into sentences (`SentenceSplitter`, as spoken answers are) and each is synthesised on
the engine's voice thread as soon as it is complete, so the first audio leaves after the first
sentence, not the whole text. In a stream, a sentence is spoken as soon as its last chunk arrives,
while the rest of the answer is still being written; each sentence's audio is its own
`audio-start` … `audio-stop`, and `synthesize-stopped` follows the last. A one-shot `synthesize`
gets one `audio-start` … `audio-stop` around all its sentences.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.event import Event
from wyoming.tts import SynthesizeStopped

from ..echo import pcm16
from ..engine import Engine
from ..speech_queue import SentenceSplitter
from .reader import ProtocolError

SAMPLES_PER_CHUNK = 1024  # per audio-chunk, as Wyoming's own Piper server sends
WIDTH, CHANNELS = 2, 1  # 16-bit mono
Write = Callable[[Event], Awaitable[None]]


def sentences_of(text: str) -> list[str]:
    """`text` cut where a voice may start speaking: its sentences (the first clause on its own)."""
    splitter = SentenceSplitter()
    pieces = splitter.feed(" ".join(text.split()) + " ")
    rest = splitter.flush()
    return [*pieces, rest] if rest else pieces


class Voice:
    """Speaks text on one connection: synthesis on the engine's voice thread, audio out as events."""

    def __init__(self, engine: Engine, rate: int, write: Write) -> None:
        self.engine = engine
        self.rate = rate
        self.write = write

    async def say(self, text: str) -> None:
        """A one-shot `synthesize`: one audio stream, sentence after sentence as each is ready."""
        await self.write(AudioStart(rate=self.rate, width=WIDTH, channels=CHANNELS).event())
        for sentence in sentences_of(text):
            await self._send(sentence)
        await self.write(AudioStop().event())

    async def say_sentence(self, sentence: str) -> None:
        """One sentence of a stream, as its own audio stream."""
        await self.write(AudioStart(rate=self.rate, width=WIDTH, channels=CHANNELS).event())
        await self._send(sentence)
        await self.write(AudioStop().event())

    async def _send(self, sentence: str) -> None:
        audio = await self.engine.run_on_voice(self.engine.model.synthesize, sentence)
        if audio.rate != self.rate:
            raise RuntimeError(f"the voice spoke at {audio.rate} Hz, not the {self.rate} Hz it announced")
        pcm = pcm16(audio.samples)
        step = SAMPLES_PER_CHUNK * WIDTH * CHANNELS
        for start in range(0, len(pcm), step):
            chunk = AudioChunk(rate=self.rate, width=WIDTH, channels=CHANNELS, audio=pcm[start:start + step])
            await self.write(chunk.event())


class SpeechStream:
    """One `synthesize-start` … `synthesize-stop` stream: the reader feeds it text as it arrives;
    `speak` (the connection's request in hand) speaks each sentence once it is complete."""

    def __init__(self, max_chars: int) -> None:
        self.max_chars = max_chars
        self._chars = 0
        self._splitter = SentenceSplitter()
        self._sentences: asyncio.Queue[str | None] = asyncio.Queue()
        self.waiting = False  # everything so far is spoken: the stream waits for the client's next text

    def feed(self, text: str) -> None:
        self._chars += len(text)
        if self._chars > self.max_chars:
            raise ProtocolError("too_large", f"more than {self.max_chars} characters in one synthesize stream")
        for sentence in self._splitter.feed(text):
            self._sentences.put_nowait(sentence)

    def finish(self) -> None:
        if rest := self._splitter.flush():
            self._sentences.put_nowait(rest)
        self._sentences.put_nowait(None)

    async def speak(self, voice: Voice) -> None:
        while True:
            self.waiting = self._sentences.empty()
            sentence = await self._sentences.get()
            self.waiting = False
            if sentence is None:
                break
            await voice.say_sentence(sentence)
        await voice.write(SynthesizeStopped().event())
