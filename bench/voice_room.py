"""Issue 25 figures: a voice session in a simulated room with the speakers on (`local`, 2 cores).

- `room`: spoken questions (espeak-ng) in one live session whose spoken answers come back into the
  microphone through an echo path: self-interruptions (an answer stopped, or cancelled, with nobody
  talking over it), pauses of its voice that its words then dismissed, turns made of its own voice
  (words heard while no question was being said), the echo removed (dB, after the first second of
  each answer), the latency from the user's last word (the end of the speech in the clip) to the
  first text and to the first sound of the answer, and the gaps in the voice (it fell silent
  mid-answer because its next piece was not ready), and the word error rate of what was heard of
  each question (every utterance that overlaps it) against the same clips alone.
- `barge_in`: in a session that has answered one question already, a second voice talks over a long
  answer (a different request and espeak-ng voice each trial): detected (the answer stopped for
  good) or not, how long until the voice went silent (it pauses when the VAD hears the talker) and
  until their words confirmed it, and that voice's word error rate with the echo present against
  the same clips alone, and against the same clips in the room with the assistant silent (its
  noise and its preamp's clip, which Whisper tiny.en hears too: "today" becomes "jot-aid") (mean
  over the trials; what was heard of it is the words of every utterance that overlaps it, in order,
  as a "Stop." may make a turn of its own; a request not heard at all counts 1.0), and per trial
  how many starts after the talker began were dropped as the echo's residue.
- `conversation`: the LLM's first-token time at turns 1 and 20 of a conversation, with the
  conversation's KV cache kept between turns and without it (each turn prefilled in full).

Talkers are espeak-ng's voices, or recorded people with `--speech DIR` (each clip's words beside
it, see `bench.speech_set.recorded_speech`): the questions and the talkers over the answer, in turn.

Writes bench/results/voice_room.json.
Run: `.venv/bin/python -m bench.voice_room [--questions 20] [--barge-ins 20] [--speech DIR] [--drift-ppm 65]`."""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from assistant.capture.simulated_room import EchoPath, SimulatedRoom
from assistant.echo import RATE, EchoCanceller
from assistant.engine import Engine
from assistant.frames import BargeIn, SpeechOutput, TextDelta, Transcript, Turn, TurnDone
from assistant.live import LiveConfig, LiveSession
from assistant.playback import Playback
from bench.result_file import write_result
from bench.speech_set import FRAME_S, frame_rms, recorded_speech, speak, wer
from models import AnyToAnyModel, AudioData, Modality, ModelRequest, ReplyDone, resample

QUESTIONS = ["What is the capital of France?", "Name a colour of the sky.", "How many days are in a week?",
             "What is two plus two?", "Name a fruit that is yellow.", "What do bees make?",
             "Which animal says meow?", "What is the opposite of hot?", "How many legs does a spider have?",
             "What season comes after winter?"]
STORY = "Tell me a long story about a dragon and a castle."
# what a second voice says over the answer, and in which espeak-ng voice (trial by trial)
OVERS = ["Stop. What time is it?", "Wait, what is the weather like today?", "Hold on, turn off the kitchen lights.",
         "Sorry, can you play some music?", "No, tell me about the moon instead.",
         "Excuse me, how far is the station?", "Actually, what day is it today?", "Stop, set a timer for ten minutes."]
OVER_VOICES = ["en+f3", "en-us+f2", "en-gb+f4", "en+m3", "en-us+f4"]
# how long after the answer's first spoken piece the second voice starts, trial by trial: a barge-in comes at
# any moment of an answer (between its first pieces, over a long sentence), not at one
TALK_OVER_S = [1.5, 1.0, 2.5, 2.0, 3.0, 1.25, 2.25, 1.75, 2.75, 3.25, 1.15]
GAP_S = 14.0  # between questions: room for the answer
QUESTION_S = 2.0  # ... after a question this long (a longer one pushes the next back)
ASKED_S = 2.0  # an answer stopped this long after a question ends was stopped by it (its words are heard)
SPOKEN = LiveConfig(want=frozenset({"text", "speech"}))


def voiced_end(clip: AudioData) -> float:
    """Seconds into `clip` where its last word ends (espeak-ng pads its clips with silence, and a
    recording has the room's quiet after it): the end of its last 10 ms within 40 dB of its loudest."""
    rms = frame_rms(clip)
    loud = np.nonzero(rms > rms.max() * 10 ** (-40 / 20))[0] if len(rms) else []
    return (loud[-1] + 1) * FRAME_S if len(loud) and rms.max() > 0 else 0.0


async def room(model: AnyToAnyModel, folder: Path, count: int, speech: list[tuple[str, AudioData]] | None = None,
               drift_ppm: float = 0.0) -> dict[str, object]:
    """`count` questions, `QUESTIONS` said by espeak-ng, or the clips of `speech` (words, clip) in turn;
    the echo's lag drifting `drift_ppm`."""
    said = [speech[i % len(speech)] for i in range(count)] if speech else [
        (QUESTIONS[i % len(QUESTIONS)], speak(QUESTIONS[i % len(QUESTIONS)], folder)) for i in range(count)]
    questions, clips = [words for words, _ in said], [clip for _, clip in said]
    schedule, at = [], 1.0
    for clip in clips:  # a longer recorded question leaves its answer as much room
        schedule.append((at, clip))
        at += GAP_S + max(0.0, clip.seconds - QUESTION_S)
    the_room = SimulatedRoom(schedule, seconds=at, path=EchoPath(delay_ms=80, gain=0.7, drift_ppm=drift_ppm))
    playback = Playback(the_room.speaker)
    frames: list[tuple[float, object]] = []
    async with Engine(model) as engine:
        session = LiveSession(engine, None, the_room, SPOKEN, echo=the_room.reference)
        async for frame in session.events(seconds=at + 30):
            await playback.process(frame)
            frames.append((time.monotonic(), frame))
    canceller = next(p for p in session.pipeline.processors if isinstance(p, EchoCanceller))
    origin = the_room.started_at or 0.0
    last_words = [origin + at + voiced_end(clip) for at, clip in schedule]
    to_text, to_sound, gaps = [], [], 0
    for index, said in enumerate(last_words):
        ends = last_words[index + 1] if index + 1 < len(last_words) else float("inf")
        text = [t for t, f in frames if isinstance(f, TextDelta) and said < t < ends]
        sound = [t for t in the_room.speaker.starts if said < t < ends]
        if text:
            to_text.append(round((text[0] - said) * 1000, 1))
        if sound:
            to_sound.append(round((sound[0] - said) * 1000, 1))
        resumed_here = [t for t in the_room.speaker.resumes if said < t < ends]  # a pause is no gap
        gaps += max(0, len(sound) - 1 - len(resumed_here))  # it fell silent mid-answer: its next piece was late
    turns = [f for _, f in frames if isinstance(f, Turn)]
    heard = [f for _, f in frames if isinstance(f, Transcript)]
    # a turn of its own voice: words heard while no question was being said (nobody else talks in
    # this room). Judging by the words took a misheard question for an echo.
    own_voice = [t.text for t in heard if t.text.strip() and t.utterance is not None
                 and not any(_overlaps(t, at, at + clip.seconds) for at, clip in schedule)]
    # an answer cancelled while it was written, or its voice cut once written, with no question
    # being said (a question that comes while an answer still sounds stops it, rightly)
    asked = [(origin + at, origin + at + clip.seconds + ASKED_S) for at, clip in schedule]
    cut_short = [t for t, f in frames if isinstance(f, TurnDone) and f.status == "interrupted"]
    cut_short += [t for t in the_room.speaker.cuts if not any(abs(t - u) < 0.5 for u in cut_short)]
    self_interruptions = [t for t in cut_short if not any(start <= t <= end for start, end in asked)]
    resumed = [f for _, f in frames if isinstance(f, BargeIn) and f.state == "dismissed"]
    # what was heard of each question (every utterance that overlaps it), against the clip alone
    questions_heard = [_words_over(heard, at, at + clip.seconds) for at, clip in schedule]
    question_errors = [wer(q, words) for q, words in zip(questions, questions_heard, strict=True)]
    alone = [wer(q, model.transcribe(clip)) for q, clip in zip(questions, clips, strict=True)]
    return {"questions": count, "turns": len(turns), "self_interruptions": len(self_interruptions),
            "question_wer": round(statistics.mean(question_errors), 3),
            "question_wer_alone": round(statistics.mean(alone), 3), "questions_heard": questions_heard,
            "stopped_by_the_next_question": len(cut_short) - len(self_interruptions),
            "voice_paused_then_resumed": len(resumed), "voice_gaps": gaps,
            "own_voice_turns": len(own_voice), "own_voice_heard": own_voice,
            "echo_turns_dropped": session.answerer.echoes,
            "echo_removed_db": _echo_removed(canceller.levels, [(origin + at, origin + at + clip.seconds)
                                                                for at, clip in schedule]),
            "last_word_to_first_text_ms": to_text, "last_word_to_first_sound_ms": to_sound,
            "last_word_to_first_text_ms_median": _median(to_text),
            "last_word_to_first_sound_ms_median": _median(to_sound)}


def _words_over(transcripts: list[Transcript], start: float, end: float) -> str:
    """The words of every utterance that overlaps `start`-`end` (the microphone stream's seconds), in
    order: what was heard of someone who spoke then, though it made more than one turn."""
    return " ".join(t.text for t in transcripts if _overlaps(t, start, end))


def _overlaps(transcript: Transcript, start: float, end: float) -> bool:
    """Whether `transcript`'s utterance overlaps `start`-`end` (the microphone stream's seconds)."""
    return transcript.utterance is not None and transcript.utterance.start < end and transcript.utterance.end > start


def _echo_removed(levels, voices: list[tuple[float, float]]) -> float | None:
    """dB of echo removed over the microphone chunks heard while the assistant spoke and nobody else
    did, leaving out the first second of each answer (the canceller converging). The room's noise
    floor (-50 dB) caps what this can show."""
    kept, since = [], None
    for recorded, far_end, heard, left in levels:
        since = (since if since is not None else recorded) if far_end else None
        talking = any(start - 0.1 <= recorded <= end + 0.1 for start, end in voices)
        if far_end and recorded - since >= 1.0 and not talking:
            kept.append((heard, left))
    if not kept:
        return None
    heard, left = sum(h for h, _ in kept), sum(x for _, x in kept)
    return round(10 * np.log10(heard / max(left, 1e-12)), 1)


async def barge_in(model: AnyToAnyModel, folder: Path, trials: int,
                   speech: list[tuple[str, AudioData]] | None = None, drift_ppm: float = 0.0) -> dict[str, object]:
    """Each trial is a session that has answered one question already (its canceller has heard the
    room); then a long answer, and 1.0-3.25 s after its first spoken piece (a different moment each
    trial, `TALK_OVER_S`) a second voice talks over it: `OVERS` in espeak-ng's voices, or the clips
    of `speech` (words, clip) in turn. The echo's lag drifts `drift_ppm`."""
    first, story = speak(QUESTIONS[3], folder), speak(STORY, folder)
    detected, latencies, confirm, settled, linear = 0, [], [], 0, 0
    alone, in_room, errors, heard_over = [], [], [], []
    for trial in range(trials):
        if speech:
            said, over = speech[trial % len(speech)]
        else:
            said = OVERS[trial % len(OVERS)]
            over = speak(said, folder, voice=OVER_VOICES[trial % len(OVER_VOICES)])
        alone.append(wer(said, model.transcribe(over)))
        seconds = GAP_S + max(22.0, 10.0 + over.seconds)  # room for a long recorded talker
        path = EchoPath(delay_ms=40 + 20 * (trial % 5), gain=0.7, seed=trial, drift_ppm=drift_ppm)
        in_room.append(wer(said, model.transcribe(_without_echo(over, path))))
        the_room = SimulatedRoom([(0.5, first), (0.5 + GAP_S, story)], seconds=seconds, path=path)
        playback = Playback(the_room.speaker)
        spoke_at: list[float] = []
        heard: list[Transcript] = []  # each transcript after the talker began
        span = (0.0, 0.0)  # where the talker's clip lies on the microphone stream
        residues = 0  # the segmenter's residue drops before the talker began
        turns: list[str] = []
        when: list[tuple[bool, bool]] = []  # as the talker comes in: the canceller settled, Whisper hears the linear
        async with Engine(model) as engine:
            session = LiveSession(engine, None, the_room, SPOKEN, echo=the_room.reference)
            canceller = next(p for p in session.pipeline.processors if isinstance(p, EchoCanceller))
            async for frame in session.events(seconds=seconds + 18):
                await playback.process(frame)
                if isinstance(frame, Turn):
                    turns.append(frame.id)
                elif isinstance(frame, SpeechOutput) and not spoke_at and len(turns) == 2 and frame.turn_id == turns[1]:
                    after_s = TALK_OVER_S[trial % len(TALK_OVER_S)]
                    spoke_at.append(time.monotonic() + after_s + 0.032)  # a block after the moment it is mixed in
                    starts = the_room.say(over, after_s=after_s)
                    span = (starts, starts + over.seconds)  # on the microphone stream's timeline
                    asyncio.get_running_loop().call_later(
                        after_s, lambda c=canceller, w=when: w.append((c.settled, c.linear_settled)))
                    residues = session.transcriber.segmenter.residues
                elif isinstance(frame, Transcript) and spoke_at and frame.utterance is not None:
                    heard.append(frame)
        if when:
            settled, linear = settled + when[0][0], linear + when[0][1]
        # the voice pauses when the VAD hears the talker, and stops for good once their words make a turn
        speaker = the_room.speaker
        cuts = [c for c in speaker.cuts if spoke_at and c > spoke_at[0]]
        if cuts:
            detected += 1
            silenced = min(t for t in speaker.pauses + cuts if t > spoke_at[0])
            latencies.append(round((silenced - spoke_at[0]) * 1000, 1))
            confirm.append(round((cuts[0] - spoke_at[0]) * 1000, 1))
        words = _words_over(heard, *span)  # a "Stop." can end a turn of its own before the rest
        errors.append(wer(said, words))  # nothing heard: 1.0
        heard_over.append({"said": said, "heard": words,
                           "linear_filter_heard": when[0][1] if when else None,  # what Whisper heard as they came in
                           # starts dropped as the echo's residue after the talker began
                           "residue_drops": session.transcriber.segmenter.residues - residues if spoke_at else None,
                           "utterances": [[t.text, round(t.utterance.start - span[0], 2),
                                           round(t.utterance.end - span[0], 2)] for t in heard]})
    with_echo, without = statistics.mean(errors) if errors else None, statistics.mean(alone) if alone else None
    room_only = statistics.mean(in_room) if in_room else None
    return {"trials": trials, "detected": detected, "canceller_settled_when_talked_over": settled,
            "linear_filter_heard_when_talked_over": linear,
            "stop_latency_ms": latencies, "stop_latency_ms_median": _median(latencies),
            "confirmed_after_ms": confirm, "confirmed_after_ms_median": _median(confirm),
            "wer_alone": None if without is None else round(without, 3),
            "wer_with_echo": None if with_echo is None else round(with_echo, 3),
            "wer_ratio": None if with_echo is None or not without else round(with_echo / without, 2),
            "wer_in_the_room_without_echo": None if room_only is None else round(room_only, 3),
            "wer_ratio_to_the_room_without_echo": None if with_echo is None or not room_only
            else round(with_echo / room_only, 2),
            "heard": heard_over}


def _without_echo(clip: AudioData, path: EchoPath) -> AudioData:
    """`clip` as the room's microphone hears it with the assistant silent: the room's noise added,
    the preamp's clip applied (the talker is mixed in dry, as the room mixes it)."""
    return AudioData(path.at_microphone(resample(clip, RATE).samples, np.random.default_rng(path.seed)), RATE)


def conversation(model: AnyToAnyModel, turns: int = 20) -> dict[str, object]:
    llm = model.models.llm()
    result = {}
    for mode in ("kept", "prefilled"):
        history: list[dict[str, str]] = []
        first: list[float] = []
        for turn in range(turns):
            if mode == "prefilled":
                llm.conversation.clear()
            question = QUESTIONS[turn % len(QUESTIONS)]
            events = model.respond(ModelRequest(text=question, history=history, want={Modality.TEXT},
                                                max_new_tokens=40))
            done = next(e for e in events if isinstance(e, ReplyDone))
            first.append(done.timings_ms["first_token_ms"])
            history += [{"role": "user", "content": question}, {"role": "assistant", "content": done.text}]
        early, late = statistics.median(first[:3]), statistics.median(first[-3:])
        result[mode] = {"first_token_ms": first, "turns_1_to_3_ms_median": early,
                        f"turns_{turns - 2}_to_{turns}_ms_median": late, "ratio": round(late / early, 2)}
    return result


def _median(values: list[float]) -> float | None:
    return round(statistics.median(values), 1) if values else None


async def main_async(args: argparse.Namespace) -> dict[str, object]:
    model = AnyToAnyModel.from_profile(args.profile)
    model.load_all()
    list(model.respond(ModelRequest(text="hello", want={Modality.TEXT}, max_new_tokens=4)))  # warm
    with tempfile.TemporaryDirectory() as folder:
        speech = recorded_speech(args.speech) if args.speech else None
        result = {"profile": args.profile, "talkers": str(args.speech) if args.speech else "espeak-ng",
                  "drift_ppm": args.drift_ppm, "conversation": conversation(model),
                  "room": await room(model, Path(folder), args.questions, speech, args.drift_ppm),
                  "barge_in": await barge_in(model, Path(folder), args.barge_ins, speech, args.drift_ppm)}
    result["goals"] = {"self_interruptions": 0, "own_voice_turns": 0, "echo_removed_db": 25,
                       "barge_ins_detected_share": 0.95, "stop_latency_ms_median": 250, "wer_ratio": 1.3,
                       "last_word_to_first_sound_ms_median": 1000, "last_word_to_first_text_ms_median": 600,
                       "turn_20_over_turn_1": 1.2}
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--profile", default="local")
    parser.add_argument("--questions", type=int, default=10)
    parser.add_argument("--barge-ins", type=int, default=5)
    parser.add_argument("--speech", type=Path, default=None,
                        help="recorded speech for the questions and the talkers over the answer: NAME.wav (.flac, "
                             ".mp3 ...) with NAME.txt beside it, or LibriSpeech's folders (default: espeak-ng)")
    parser.add_argument("--drift-ppm", type=float, default=0.0,
                        help="the echo's lag drifts this much (ppm), as with a speaker and a microphone on two clocks")
    args = parser.parse_args()
    result = asyncio.run(main_async(args))
    path = write_result("voice_room", result)
    print(path)


if __name__ == "__main__":
    main()
