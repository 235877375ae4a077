"""Windowing: sentences for speech, utterances cut by Silero VAD, the rolling video window."""

import asyncio
import dataclasses
import subprocess
from pathlib import Path

import numpy as np
import pytest

from assistant.frames import (
    AudioChunk,
    EndOfStream,
    Frame,
    NotATurn,
    PushToTalk,
    SpeechPaused,
    SpeechStarted,
    Utterance,
    VideoFrame,
)
from assistant.processor import Processor, QueueSink
from assistant.speech_queue import SentenceSplitter
from assistant.utterances import UtteranceSegmenter, VadSettings
from assistant.video_window import VideoWindow
from models import EncodedVideo, ImageData, read_audio
from models.speech.vad import StreamingVad


def speech(text: str, folder: Path) -> np.ndarray:
    path = folder / f"{abs(hash(text))}.wav"
    subprocess.run(["espeak-ng", "-s", "150", "-w", str(path), text], check=True)
    return read_audio(path).samples


def voiced(samples: np.ndarray) -> np.ndarray:
    """The clip without the silence espeak-ng pads it with at the end."""
    return samples[:np.nonzero(np.abs(samples) > 0.02)[0][-1] + 1]


def chunks(samples: np.ndarray, block: int = 512):
    for start in range(0, len(samples), block):
        yield AudioChunk(samples[start:start + block], 16000, start / 16000)


async def through(processor: Processor, frames) -> list[Frame]:
    """What `processor` pushes on while it is given `frames`."""
    sink = QueueSink()
    processor.link(sink)
    for frame in frames:
        await processor.process(frame)
    return [sink.queue.get_nowait() for _ in range(sink.queue.qsize())]


def test_sentences_come_out_as_soon_as_they_end():
    splitter = SentenceSplitter()
    out = []
    for piece in ["The capital of France ", "is Paris. It is ", "a large city! And", " more"]:
        out += splitter.feed(piece)
    assert out == ["The capital of France is Paris.", "It is a large city!"]
    first_clause = SentenceSplitter().feed("Well, the capital of France, as you know, is Paris")
    assert first_clause == ["Well, the capital of France,"]  # the first clause goes at once; later ones wait
    assert splitter.flush() == "And more"
    assert SentenceSplitter().feed("Hi. There is a cat here. ") == ["Hi. There is a cat here."]
    long_clause = SentenceSplitter(max_chars=40)
    assert long_clause.feed("Yes. ") == []  # too short alone
    assert long_clause.feed("First part of a long clause, and a second part") == ["Yes. First part of a long clause,"]
    assert long_clause.feed(", and a third part, and more") == ["and a second part, and a third part,"]


def test_the_first_sentence_goes_as_soon_as_its_last_word_has_its_mark():
    assert SentenceSplitter().feed("The capital of France is Paris.") == ["The capital of France is Paris."]
    assert SentenceSplitter().feed("Well, the capital of France,") == ["Well, the capital of France,"]
    for unfinished in ("The answer is 3.", "It costs 1,", "Ask at Baker St.", "Written by J.", "Ask Dr."):
        assert SentenceSplitter().feed(unfinished) == []  # the mark may not end it: wait for the next word
    later = SentenceSplitter()
    assert later.feed("The capital of France is Paris. It is a large city.") == ["The capital of France is Paris."]
    assert later.flush() == "It is a large city."  # only the first piece goes early; later ones wait as before


def test_a_first_sentence_is_spoken_up_to_its_first_phrase_break():
    splitter = SentenceSplitter()
    out = []
    for piece in "The| capital| of| France| is| Paris|.| It| is| a| large| city|.".split("|"):
        out += splitter.feed(piece)
    # the break is taken as soon as "is" begins; later pieces wait for their sentence's end
    assert out == ["The capital of France", "is Paris."]
    assert splitter.flush() == "It is a large city."
    assert SentenceSplitter().feed("Bees make honey from") == ["Bees make honey"]
    assert SentenceSplitter().feed("Bees make honey from the nectar.") == ["Bees make honey from the nectar."]
    assert SentenceSplitter().feed("The answer is") == []  # too few words before "is"
    assert SentenceSplitter().feed("The red and the blue") == []  # "and", "the" lean on what follows them
    assert SentenceSplitter().feed("The red and the blue and") == ["The red and the blue"]
    assert SentenceSplitter().feed("I think that we can") == []  # "we" leans on "can": no break between them
    # past `first_words` words without a phrase break, the next word after a content word starts a new piece
    assert SentenceSplitter(first_words=4).feed("Dragons breathe fire daily nowadays") == [
        "Dragons breathe fire daily"]


@pytest.mark.asyncio
async def test_two_utterances_are_cut_where_the_speech_is(tmp_path: Path):
    silence = np.zeros(16000, np.float32)
    first, second = speech("Turn on the lights.", tmp_path), speech("What time is it?", tmp_path)
    stream = np.concatenate([silence, first, silence, silence, second, silence])
    segmenter = UtteranceSegmenter(StreamingVad(), VadSettings(stop_silence_ms=500))
    frames = [f for f in await through(segmenter, chunks(stream)) if not isinstance(f, SpeechPaused)]
    assert [type(f) for f in frames] == [SpeechStarted, Utterance, SpeechStarted, Utterance]
    one, two = frames[1], frames[3]
    assert one.start == pytest.approx(1.0, abs=0.3)
    assert two.start == pytest.approx(3.0 + len(first) / 16000, abs=0.3)
    # espeak-ng pads its clips with silence: the utterance is the speech plus pre-roll and the closing pause
    assert 0.5 * len(first) / 16000 < one.audio.seconds < len(first) / 16000 + 0.2 + 0.5


@pytest.mark.asyncio
async def test_an_utterance_over_the_answer_is_made_of_the_audio_for_words_and_any_other_of_what_the_vad_heard(
        tmp_path: Path):
    silence = np.zeros(16000, np.float32)
    said = np.concatenate([silence, speech("Turn on the lights.", tmp_path), silence])
    marked = said[::-1].copy()  # another signal of the same length, to tell which one an utterance holds

    def both(vad_hears: np.ndarray, for_words: np.ndarray, far_end: bool = False):
        for start in range(0, len(vad_hears), 512):
            yield AudioChunk(vad_hears[start:start + 512], 16000, start / 16000, far_end=far_end,
                             for_words=for_words[start:start + 512])

    for far_end, made_of in ((True, marked), (False, said)):  # the answer's voice playing, or not
        segmenter = UtteranceSegmenter(StreamingVad(), VadSettings(stop_silence_ms=500))
        frames = await through(segmenter, both(said, marked, far_end))
        utterance = next(f for f in frames if isinstance(f, Utterance))
        first = round(utterance.start * 16000)  # cut where the VAD heard speech
        assert np.array_equal(utterance.audio.samples, made_of[first:first + len(utterance.audio.samples)])
    # speech only in the audio for words starts nothing: the VAD decides on what the canceller cleaned
    assert await through(UtteranceSegmenter(StreamingVad()), both(np.zeros_like(said), said, True)) == []
    with pytest.raises(ValueError, match="as long as"):
        await segmenter.process(AudioChunk(silence, 16000, 0.0, for_words=silence[:100]))


@pytest.mark.asyncio
async def test_silence_and_tones_make_no_utterance():
    t = np.arange(48000) / 16000
    tone = (0.3 * np.sin(2 * np.pi * 523 * t)).astype(np.float32)
    segmenter = UtteranceSegmenter(StreamingVad())
    stream = np.concatenate([np.zeros(16000, np.float32), tone])
    assert await through(segmenter, chunks(stream)) == []  # the audio itself is not passed on


@pytest.mark.asyncio
async def test_speech_still_going_at_the_end_is_flushed(tmp_path: Path):
    segmenter = UtteranceSegmenter(StreamingVad())
    said = speech("Hello there, how are you?", tmp_path)
    frames = await through(segmenter, chunks(said))
    assert isinstance(frames[0], SpeechStarted) and not any(isinstance(f, Utterance) for f in frames)
    ended = await through(segmenter, [EndOfStream()])
    assert [type(f) for f in ended] == [Utterance, EndOfStream]  # what it held, then the end


@pytest.mark.asyncio
async def test_video_window_samples_encodes_and_keeps_the_last_frames(tiny_model):
    async def on_device(function, *args):
        return await asyncio.to_thread(function, *args)

    window = VideoWindow(tiny_model, on_device, sample_fps=2.0, keep=3)
    assert window.snapshot() is None
    first = np.full((32, 32, 3), 10, np.uint8)
    await window.process(VideoFrame(first, 0.0))
    await window.settle()
    assert isinstance(window.snapshot(), ImageData)  # one encoded frame: the latest frame goes as an image
    for i in range(1, 30):  # 10 fps for 3 s: sampled at 2 fps
        await window.process(VideoFrame(np.full((32, 32, 3), 8 * i, np.uint8), i / 10))
        await window.settle()
    assert window.sampled == 6
    video = window.snapshot()
    assert isinstance(video, EncodedVideo) and video.features.shape == (3, 32)


def test_vad_settings_come_from_the_profile():
    settings = VadSettings.from_profile({"threshold": 0.6, "min_silence_ms": 400, "pad_ms": 100})
    assert (settings.start_threshold, settings.stop_silence_ms, settings.pad_ms) == (0.6, 400, 100)
    assert settings.stop_threshold == pytest.approx(0.45)
    assert VadSettings.from_profile({}) == VadSettings()


@pytest.mark.asyncio
async def test_frames_faster_than_the_encoder_are_dropped_and_counted(tiny_model):
    release = asyncio.Event()

    async def slow_device(function, *args):
        await release.wait()  # the encoder is busy until released
        return await asyncio.to_thread(function, *args)

    window = VideoWindow(tiny_model, slow_device, sample_fps=10.0, keep=4)
    for i in range(50):  # 5 s of 10 fps samples while one encode is stuck
        await window.process(VideoFrame(np.zeros((32, 32, 3), np.uint8), i / 10))
        await asyncio.sleep(0)
    assert window.sampled == 1 and window.dropped == 49
    release.set()
    await window.settle()
    assert len(window._features) == 1


@pytest.mark.asyncio
async def test_push_to_talk_makes_an_utterance_of_whatever_is_heard():
    segmenter = UtteranceSegmenter(StreamingVad())
    quiet = np.zeros(16000, np.float32)  # no speech at all: the VAD alone would never start
    assert await through(segmenter, chunks(quiet)) == []
    pressed = await through(segmenter, [PushToTalk(True)])
    assert [type(f) for f in pressed] == [SpeechStarted, PushToTalk]
    assert await through(segmenter, chunks(quiet)) == []  # silence does not end a held turn
    released = await through(segmenter, [PushToTalk(False)])
    assert isinstance(released[0], Utterance) and released[0].audio.seconds >= 1.0


@pytest.mark.asyncio
async def test_a_pause_is_reported_and_the_turn_can_end_there(tmp_path: Path):
    said = voiced(speech("What is the capital of France?", tmp_path))
    segmenter = UtteranceSegmenter(StreamingVad(), VadSettings(pause_ms=224, stop_silence_ms=600))
    quiet = np.zeros(int(0.3 * 16000), np.float32)  # longer than the pause, shorter than the stop silence
    frames = await through(segmenter, chunks(np.concatenate([np.zeros(8000, np.float32), said, quiet])))
    pauses = [f for f in frames if isinstance(f, SpeechPaused)]
    assert pauses and not any(isinstance(f, Utterance) for f in frames)  # paused, not ended
    assert segmenter.end_at_pause(pauses[-1].pause - 1) is None  # an earlier pause no longer counts
    utterance = segmenter.end_at_pause(pauses[-1].pause)
    assert isinstance(utterance, Utterance) and utterance.audio.seconds > 1.0
    assert await through(segmenter, chunks(np.zeros(16000, np.float32))) == []  # nothing more of that turn


@pytest.mark.asyncio
async def test_by_default_the_words_are_transcribed_long_before_the_pause_ends_the_turn(tmp_path: Path):
    """Whisper and the model's prefill for the words (LikelyTurn) run between the pause that has
    them transcribed and the one that ends the turn: the earlier the first, the sooner the answer."""
    said = voiced(speech("What is the capital of France?", tmp_path))
    segmenter = UtteranceSegmenter(StreamingVad())
    sink = QueueSink()
    segmenter.link(sink)
    paused_at = ended_at = None
    for chunk in chunks(np.concatenate([np.zeros(8000, np.float32), said, np.zeros(16000, np.float32)])):
        await segmenter.process(chunk)
        while sink.queue.qsize():
            frame = sink.queue.get_nowait()
            at = chunk.timestamp + len(chunk.samples) / 16000
            if isinstance(frame, SpeechPaused):  # the last one is the pause after the last word
                paused_at = at
                assert segmenter.end_at_pause(frame.pause) is None  # its words look finished: it ends at the pause
            elif isinstance(frame, Utterance):
                ended_at = at
    spoken_until = (8000 + len(said)) / 16000
    assert paused_at is not None and ended_at is not None and segmenter.early_ends == 1
    assert paused_at - spoken_until < 0.2  # transcribed within 200 ms of the last word ...
    assert ended_at - paused_at >= 0.2  # ... and at least 200 ms before the turn ends


@pytest.mark.asyncio
async def test_unfinished_words_wait_a_longer_silence(tmp_path: Path):
    said = voiced(speech("I would like to go to the park and", tmp_path))
    settings = VadSettings(pause_ms=224, stop_silence_ms=600, unfinished_silence_ms=1100)
    segmenter = UtteranceSegmenter(StreamingVad(), settings)
    quiet = np.zeros(int(0.3 * 16000), np.float32)
    frames = await through(segmenter, chunks(np.concatenate([np.zeros(8000, np.float32), said, quiet])))
    pause = [f for f in frames if isinstance(f, SpeechPaused)][-1]
    segmenter.wait_longer(pause.pause)
    after = await through(segmenter, chunks(np.zeros(int(0.5 * 16000), np.float32)))
    assert not any(isinstance(f, Utterance) for f in after)  # 0.8 s of silence: still waiting
    after = await through(segmenter, chunks(np.zeros(int(0.6 * 16000), np.float32)))
    assert any(isinstance(f, Utterance) for f in after)


@pytest.mark.asyncio
async def test_a_short_interjection_over_the_answer_keeps_the_turn_open_for_what_follows(tmp_path: Path):
    quiet = np.zeros(int(0.8 * 16000), np.float32)  # longer than the usual stop silence, shorter than 1.1 s
    said = np.concatenate([np.zeros(8000, np.float32), voiced(speech("Stop.", tmp_path)), quiet,
                           voiced(speech("What time is it?", tmp_path)), np.zeros(24000, np.float32)])

    async def cut(over_answer: bool) -> tuple[list[Utterance], UtteranceSegmenter]:
        segmenter = UtteranceSegmenter(StreamingVad())
        heard = [dataclasses.replace(chunk, far_end=over_answer, echo_settled=True) for chunk in chunks(said)]
        frames = await through(segmenter, heard)
        return [f for f in frames if isinstance(f, Utterance)], segmenter

    alone, _ = await cut(False)
    assert len(alone) == 2  # in silence, "Stop." is a turn of its own
    joined, _ = await cut(True)
    assert len(joined) == 1 and joined[0].audio.seconds > 2.0  # over the answer it waits for the rest

    segmenter = UtteranceSegmenter(StreamingVad())  # the words "Stop." look finished: still no early end
    stop = said[:8000 + len(voiced(speech("Stop.", tmp_path))) + 8000]
    frames = await through(segmenter, [dataclasses.replace(c, far_end=True, echo_settled=True) for c in chunks(stop)])
    pause = [f for f in frames if isinstance(f, SpeechPaused)][-1].pause
    assert segmenter.waits_longer(pause) and segmenter.end_at_pause(pause) is None and segmenter.speaking


@pytest.mark.asyncio
async def test_what_is_left_of_the_echo_over_the_answer_makes_no_turn(tmp_path: Path):
    said = np.concatenate([np.zeros(8000, np.float32), voiced(speech("What time is it?", tmp_path)),
                           np.zeros(24000, np.float32)])  # longer than a short utterance over the answer waits

    async def outcome(far_end: bool, kept: float | None) -> list[Frame]:
        """What the segmenter makes of `said`, heard with the assistant's voice playing or not, each
        chunk having kept `kept` of the microphone's energy through the echo canceller."""
        segmenter = UtteranceSegmenter(StreamingVad())
        heard = [dataclasses.replace(c, far_end=far_end, echo_settled=True, echo_kept=kept) for c in chunks(said)]
        return [f for f in await through(segmenter, heard) if isinstance(f, (Utterance, NotATurn))]

    residue = await outcome(True, 0.05)  # -13 dB: the canceller took most of it, as it does an echo
    assert [type(f) for f in residue] == [NotATurn] and residue[0].reason == "echo residue"
    assert [type(f) for f in await outcome(True, 0.6)] == [Utterance]  # a voice the speaker did not play
    assert [type(f) for f in await outcome(True, None)] == [Utterance]  # too quiet to tell: a voice
    assert [type(f) for f in await outcome(False, 0.05)] == [Utterance]  # nothing playing: nothing to tell
    held = UtteranceSegmenter(StreamingVad())  # push-to-talk pressed once the VAD has started: the user's turn
    heard = [dataclasses.replace(c, far_end=True, echo_settled=True, echo_kept=0.05) for c in chunks(said)]
    frames = await through(held, [*heard[:30], PushToTalk(True), *heard[30:], PushToTalk(False)])
    assert isinstance(frames[0], SpeechStarted)  # the VAD had started it, over the answer, before the press
    assert [type(f) for f in frames if isinstance(f, (Utterance, NotATurn))] == [Utterance]


@pytest.mark.asyncio
async def test_a_voice_taken_for_the_echos_residue_that_goes_on_keeps_its_first_words(tmp_path: Path):
    first, rest = (voiced(speech(text, tmp_path)) for text in ("Excuse me,", "how far is the station?"))
    first = first[np.nonzero(np.abs(first) > 0.02)[0][0]:]  # from its first sound
    lead, gap = np.zeros(16000, np.float32), np.zeros(int(0.2 * 16000), np.float32)
    # "Excuse me," over the answer, taken down by the canceller like its echo (it kept -13 dB); then the
    # voice pauses for it, and "how far is the station?" comes with nothing playing, 0.2 s later
    heard = [dataclasses.replace(c, far_end=True, echo_settled=True, echo_kept=0.05) for c in chunks(lead)]
    heard += [dataclasses.replace(c, timestamp=c.timestamp + 1.0, far_end=True, echo_settled=True, echo_kept=0.05)
              for c in chunks(first)]
    after = np.concatenate([gap, rest, np.zeros(24000, np.float32)])
    heard += [dataclasses.replace(c, timestamp=c.timestamp + 1.0 + len(first) / 16000) for c in chunks(after)]
    frames = [f for f in await through(UtteranceSegmenter(StreamingVad()), heard)
              if isinstance(f, (Utterance, NotATurn))]
    assert [type(f) for f in frames] == [NotATurn, Utterance] and frames[0].reason == "echo residue"
    # the utterance reaches back over what was dropped: "Excuse me" is in what Whisper hears
    assert frames[1].start <= 1.0 + 0.1 and frames[1].end >= 1.0 + (len(first) + len(after) - 24000) / 16000


def test_words_that_lead_on_do_not_end_a_turn():
    from assistant.live.transcriber import looks_finished

    assert looks_finished("What is the capital of France?") and looks_finished("Turn on the lights.")
    for unfinished in ("I want to go to the park and", "So the thing is", "Tell me about the", "Well,", "um"):
        assert not looks_finished(unfinished), unfinished


@pytest.mark.asyncio
async def test_a_finished_question_ends_its_turn_at_the_pause_with_its_transcript(tmp_path: Path):
    from assistant.engine import Engine
    from assistant.frames import Transcript
    from assistant.live.transcriber import Transcriber
    from models import AnyToAnyModel

    said = voiced(speech("What is the capital of France?", tmp_path))
    segmenter = UtteranceSegmenter(StreamingVad(), VadSettings(pause_ms=224, stop_silence_ms=600))
    async with Engine(AnyToAnyModel.from_profile("local")) as engine:  # Whisper tiny.en, loaded on first use
        transcriber = Transcriber(engine, segmenter)
        sink = QueueSink()
        segmenter.link(transcriber)
        transcriber.link(sink)
        for chunk in chunks(np.concatenate([np.zeros(8000, np.float32), said, np.zeros(int(0.3 * 16000), np.float32)])):
            await segmenter.process(chunk)  # 0.3 s of silence: paused, far from the 0.6 s that would end it
        await transcriber.settle()  # the words of the pause are known, and the user has not gone on
    frames = [sink.queue.get_nowait() for _ in range(sink.queue.qsize())]
    transcripts = [f for f in frames if isinstance(f, Transcript)]
    assert segmenter.early_ends == 1 and len(transcripts) == 1
    assert "capital" in transcripts[0].text.lower() and transcripts[0].utterance is not None


@pytest.mark.asyncio
async def test_a_short_question_over_the_answer_ends_at_the_pause_where_a_short_stop_waits(tmp_path: Path):
    """Both are short enough to be an interjection over the answer, which waits for what may follow
    ("Stop. What time is it?"); a whole question needs nothing after it."""
    from assistant.engine import Engine
    from assistant.frames import Transcript
    from assistant.live.transcriber import Transcriber, asks
    from models import AnyToAnyModel

    assert asks("What time?") and asks("Wait, how far is it?")
    assert not asks("Stop.") and not asks("What?") and not asks("Wait, what")

    async with Engine(AnyToAnyModel.from_profile("local")) as engine:  # Whisper tiny.en, loaded on first use
        async def hear(text: str) -> tuple[UtteranceSegmenter, list[Transcript]]:
            said = voiced(speech(text, tmp_path))
            assert len(said) < VadSettings().interjection_ms * 16  # short enough to be an interjection
            segmenter = UtteranceSegmenter(StreamingVad())  # a 320 ms pause; 1.1 s after an interjection
            transcriber, sink = Transcriber(engine, segmenter), QueueSink()
            segmenter.link(transcriber)
            transcriber.link(sink)
            heard = np.concatenate([np.zeros(8000, np.float32), said, np.zeros(int(0.5 * 16000), np.float32)])
            for chunk in chunks(heard):  # over the answer, the canceller settled
                await segmenter.process(dataclasses.replace(chunk, far_end=True, echo_settled=True))
            await transcriber.settle()
            frames = [sink.queue.get_nowait() for _ in range(sink.queue.qsize())]
            return segmenter, [f for f in frames if isinstance(f, Transcript)]

        segmenter, transcripts = await hear("What time?")
        assert len(transcripts) == 1 and "time" in transcripts[0].text.lower() and segmenter.early_ends == 1
        segmenter, transcripts = await hear("Stop.")
        assert transcripts == [] and segmenter.speaking  # 0.5 s of silence: still waiting for more


@pytest.mark.asyncio
async def test_words_known_before_the_pause_is_long_enough_end_the_turn_when_it_is(tmp_path: Path):
    from assistant.engine import Engine
    from assistant.frames import LikelyTurn, Transcript
    from assistant.live.transcriber import Transcriber
    from assistant.live.turn_taker import TurnTaker
    from assistant.video_window import VideoWindow
    from models import AnyToAnyModel

    said = voiced(speech("What is the capital of France?", tmp_path))
    segmenter = UtteranceSegmenter(StreamingVad(), VadSettings(pause_ms=320, transcribe_pause_ms=128))
    model = AnyToAnyModel.from_profile("local")
    async with Engine(model) as engine:
        transcriber = Transcriber(engine, segmenter)
        sink = QueueSink()
        segmenter.link(transcriber)
        transcriber.link(sink)

        async def hear(samples: np.ndarray) -> list[Frame]:
            for chunk in chunks(samples):
                await segmenter.process(chunk)
            await transcriber.settle()
            return [sink.queue.get_nowait() for _ in range(sink.queue.qsize())]

        heard = await hear(np.concatenate([np.zeros(8000, np.float32), said, np.zeros(int(0.2 * 16000), np.float32)]))
        assert segmenter.speaking and transcriber._paused  # paused, its words transcribed
        assert not any(isinstance(f, (Utterance, Transcript)) for f in heard)  # but the pause is still short
        likely = [f for f in heard if isinstance(f, LikelyTurn)]  # the model may ready itself for these words
        assert len(likely) == 1 and "capital" in likely[0].text.lower() and likely[0].turn is None
        ended = await hear(np.zeros(int(0.25 * 16000), np.float32))  # the pause passes 320 ms, not 600
    assert [type(f) for f in ended] == [Utterance, Transcript] and segmenter.early_ends == 1
    assert ended[1].text == likely[0].text and ended[0].pause > 0
    taker, taken = TurnTaker(VideoWindow(model, engine.run_on_device), frozenset({"text"}), "c1"), QueueSink()
    taker.link(taken)
    await taker.process(likely[0])
    await taker.process(ended[1])
    guessed, _, turn = [taken.queue.get_nowait() for _ in range(3)]
    assert guessed.turn.text == turn.text and (guessed.turn.want, guessed.turn.conversation_id) == (turn.want, "c1")


def test_an_unknown_wake_word_is_a_clear_error():
    from assistant.wake_word import WakeWord

    with pytest.raises(ValueError, match="okay_nabu"):
        WakeWord("hey_computer", lambda: False)


@pytest.mark.asyncio
async def test_a_talker_heard_just_after_the_voice_stops_keeps_the_longer_pad(tmp_path: Path):
    """The canceller may take a talker's first words down with the echo; if the voice then pauses
    (between pieces, or its sentence ends) the VAD hears them from there: what came before is kept
    as it is over the answer, wherever the answer's voice played within that pad."""
    said = voiced(speech("What time is it?", tmp_path))

    async def start(echo_until_s: float) -> float:
        """Where the utterance starts, in seconds before the talker, the voice playing until `echo_until_s`."""
        segmenter = UtteranceSegmenter(StreamingVad())
        lead = np.zeros(2 * 16000, np.float32)
        heard = [dataclasses.replace(chunk, far_end=chunk.timestamp < echo_until_s, echo_settled=True)
                 for chunk in chunks(np.concatenate([lead, said, np.zeros(16000, np.float32)]))]
        started = [f for f in await through(segmenter, heard) if isinstance(f, SpeechStarted)]
        return 2.0 - started[0].at

    assert 0.2 <= await start(0.0) < 0.5  # in silence: the usual pad (and the windows that started it)
    assert await start(1.7) >= 0.8  # the voice stopped 0.3 s before: the pad over the answer
    assert await start(0.5) < 0.5  # 1.5 s before: the usual pad


@pytest.mark.asyncio
async def test_over_the_assistants_voice_a_turn_starts_sooner_once_the_echo_canceller_has_settled(tmp_path: Path):
    said = np.concatenate([np.zeros(8000, np.float32), speech("Stop. What time is it?", tmp_path)])

    async def heard_before_start(far_end: bool, settled: bool) -> float:
        """Seconds of the clip the segmenter had heard when it started the turn."""
        segmenter = UtteranceSegmenter(StreamingVad())
        for chunk in chunks(said):
            frames = await through(segmenter, [dataclasses.replace(chunk, far_end=far_end, echo_settled=settled)])
            if any(isinstance(f, SpeechStarted) for f in frames):
                return chunk.timestamp + len(chunk.samples) / 16000
        raise AssertionError("no turn started")

    strict, settled = await heard_before_start(True, False), await heard_before_start(True, True)
    assert settled < strict  # the residue of an unsettled canceller needs a longer voice
    assert settled == await heard_before_start(False, False)  # settled: as soon as in silence
