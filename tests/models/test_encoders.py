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


def test_the_motion_token_is_the_last_frame_minus_the_first(tiny_model):
    from models.encoders.video_frames import FrameVideoEncoder

    image = tiny_model.models.encoder(Modality.IMAGE)
    encoder = FrameVideoEncoder(image, motion=True)
    frames = np.stack([np.full((32, 32, 3), 30 * i, np.uint8) for i in range(8)])
    tokens = encoder.encode(VideoData(frames, 4.0))
    pooled = image.encode_pooled(list(frames))
    positions = temporal_positions(9, 32)
    assert tokens.shape == (9, 32)
    assert torch.allclose(tokens[:8], pooled + positions[:8], atol=1e-5)
    assert torch.allclose(tokens[8], pooled[-1] - pooled[0] + positions[8], atol=1e-5)
    still = encoder.encode(VideoData(np.repeat(frames[:1], 8, axis=0), 4.0))
    assert torch.allclose(still[8], positions[8], atol=1e-5)  # nothing moved: only its position is left


def test_the_local_motion_token_tells_the_directions_apart():
    """With the world-trained image encoder, a linear probe fitted on the motion tokens of 160 rendered
    videos names the direction of 40 others."""
    from models import AnyToAnyModel
    from models.world.attributes import COLOURS, DIRECTIONS, SHAPES, VideoAttributes
    from models.world.render import render_video

    encoder = AnyToAnyModel.from_profile("local").models.encoder(Modality.VIDEO)
    assert encoder.motion
    rng = np.random.default_rng(0)
    tokens, labels = [], []
    for index in range(200):
        direction = DIRECTIONS[index % 4]
        attributes = VideoAttributes(list(COLOURS)[rng.integers(4)], SHAPES[rng.integers(3)], direction)
        tokens.append(encoder.encode(render_video(attributes, rng))[-1])
        labels.append(index % 4)
    x, y = torch.stack(tokens), torch.tensor(labels)
    torch.manual_seed(0)
    probe = torch.nn.Linear(x.shape[1], 4)
    optimiser = torch.optim.Adam(probe.parameters(), lr=1e-2)
    for _ in range(300):
        optimiser.zero_grad()
        torch.nn.functional.cross_entropy(probe(x[:160]), y[:160]).backward()
        optimiser.step()
    assert float((probe(x[160:]).argmax(-1) == y[160:]).float().mean()) >= 0.9


@pytest.mark.slow
def test_whisper_ctranslate2_encoder_from_the_asr_model():
    from models import AnyToAnyModel

    encoder = AnyToAnyModel.from_profile("local").models.encoder(Modality.AUDIO)
    features = encoder.encode(_tone(1.0))
    assert features.shape == (50, 384)  # Whisper tiny.en: 50 frames a second, d_model 384
    assert not torch.allclose(features, encoder.encode(_tone(1.0, hz=1046.0)))
