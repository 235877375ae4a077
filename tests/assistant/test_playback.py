import numpy as np
import pytest

from assistant.playback import SpeechPlayer
from models import AudioData


def test_without_an_output_device_the_player_says_so_and_ignores_audio():
    player = SpeechPlayer()
    if player.available:
        player.close()
        pytest.skip("this machine has an audio output device: nothing to check about its absence")
    assert player.status.state == "unavailable" and "no audio output device" in player.status.detail
    player.play(AudioData(np.zeros(1600, np.float32), 16000))  # no error, nothing queued
    player.stop()
    player.stop()
    player.close()


@pytest.mark.asyncio
async def test_the_voice_pauses_for_a_barge_in_goes_on_when_dismissed_and_stops_when_confirmed():
    from assistant.capture.simulated_room import RoomSpeaker
    from assistant.frames import BargeIn, SpeechOutput
    from assistant.playback import Playback

    speaker = RoomSpeaker(reference=None)
    playback = Playback(speaker)
    sentence = AudioData(np.full(16000, 0.1, np.float32), 16000)
    await playback.process(SpeechOutput("a", sentence, 0, "One."))
    assert speaker._next(512).any()
    await playback.process(BargeIn("heard", "a"))
    assert speaker.paused and not speaker._next(512).any()  # held: nothing sounds, nothing is lost
    await playback.process(BargeIn("dismissed", "a", "too short"))
    assert len(speaker.resumes) == 1 and speaker._next(512).any()  # it goes on where it paused
    await playback.process(BargeIn("heard", "a"))
    await playback.process(BargeIn("confirmed", "a"))
    assert len(speaker.cuts) == 1 and not speaker._next(512).any()
    await playback.process(SpeechOutput("a", sentence, 1, "Two."))  # the stopped answer's late piece
    assert not speaker._next(512).any()
    await playback.process(SpeechOutput("b", sentence, 0, "Yes."))  # the next answer plays
    assert speaker._next(512).any()
