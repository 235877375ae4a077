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
