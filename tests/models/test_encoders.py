import numpy as np
import pytest
import torch

from models import AudioData, ImageData, Modality, VideoData
from models.encoders.video_frames import temporal_positions


def _tone(seconds: float, hz: float = 440.0) -> AudioData:
    t = np.arange(int(16000 * seconds)) / 16000
    return AudioData((0.3 * np.sin(2 * np.pi * hz * t)).astype(np.float32), 16000)


def test_image_encoder_loaded_from_folder_gives_a_sequence(tiny_model):
    encoder = tiny_model.models.encoder(Modality.IMAGE)
    red = ImageData(np.full((64, 48, 3), (220, 40, 40), np.uint8))
    blue = ImageData(np.full((64, 48, 3), (40, 90, 220), np.uint8))
    features = encoder.encode(red)
    assert features.shape == (17, 32)  # class token + 4x4 patches of a 32 px tower
    assert not torch.allclose(features, encoder.encode(blue))
    assert tiny_model.sources()["image_encoder"].kind == "folder"


def test_audio_encoder_length_follows_the_clip(tiny_model):
    encoder = tiny_model.models.encoder(Modality.AUDIO)
    assert encoder.encode(_tone(1.0)).shape == (50, 32)
    assert encoder.encode(_tone(0.5)).shape == (25, 32)


def test_video_encoder_keeps_frame_order(tiny_model):
    encoder = tiny_model.models.encoder(Modality.VIDEO)
    frames = np.stack([np.full((32, 32, 3), 30 * i, np.uint8) for i in range(8)])
    forward = encoder.encode(VideoData(frames, 4.0))
    backward = encoder.encode(VideoData(frames[::-1].copy(), 4.0))
    assert forward.shape == (8, 32)
    assert not torch.allclose(forward, backward.flip(0))  # the temporal signal tells the orders apart
    assert temporal_positions(8, 32).shape == (8, 32)


@pytest.mark.slow
def test_whisper_ctranslate2_encoder_from_the_asr_model():
    from models import AnyToAnyModel

    encoder = AnyToAnyModel.from_profile("local").models.encoder(Modality.AUDIO)
    features = encoder.encode(_tone(1.0))
    assert features.shape == (50, 384)  # Whisper tiny.en: 50 frames a second, d_model 384
    assert not torch.allclose(features, encoder.encode(_tone(1.0, hz=1046.0)))
