"""AnimateDiff motion modules that read the caption: the caption changes what they do, each video gets its
own, and a saved decoder loads back reading it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from models.decoders.caption_motion import MARKER, caption_readers, read_caption, start_reading_caption
from models.decoders.diffusion_decoder import load_pipeline
from models.decoders.random_pipelines import build_random_pipeline
from models.device import Placement
from models.world.decoder_training import save_decoder

TEXT = {"hidden_size": 16, "layers": 1, "heads": 2, "max_length": 8}
CONFIG = {"size": 32, "channels": [8, 16], "vae_channels": [8, 8], "cross_attention_dim": 16, "text_encoder": TEXT,
          "motion_modules": True}
FRAMES = 4
CPU = Placement(torch.device("cpu"), torch.float32)


def _video_unet(caption_motion: bool) -> torch.nn.Module:
    """A video UNet whose spatial layers ignore the caption (their cross-attention outputs zeroed) and
    whose motion modules are not the identity they start as."""
    unet = build_random_pipeline("video", {**CONFIG, "caption_motion": caption_motion}, seed=3).unet
    generator = torch.Generator().manual_seed(5)
    with torch.no_grad():
        for name, parameter in unet.named_parameters():
            if ".motion_modules." in name:
                parameter.add_(0.3 * torch.randn(parameter.shape, generator=generator))
            elif ".attn2.to_out." in name:
                parameter.zero_()
    return unet.eval()


def _predict(unet: torch.nn.Module, latents: torch.Tensor, captions: torch.Tensor) -> torch.Tensor:
    # as AnimateDiff's pipeline and the training call it: each frame given its video's caption
    with torch.no_grad():
        return unet(latents, torch.tensor(400), encoder_hidden_states=captions.repeat_interleave(FRAMES, 0)).sample


def test_only_caption_reading_motion_modules_let_the_caption_change_the_motion() -> None:
    latents = torch.randn(1, 4, FRAMES, 8, 8, generator=torch.Generator().manual_seed(0))
    left, right = torch.randn(2, 1, 8, 16, generator=torch.Generator().manual_seed(1))

    plain, reading = _video_unet(False), _video_unet(True)

    assert caption_readers(plain) == []
    assert torch.allclose(_predict(plain, latents, left), _predict(plain, latents, right), atol=1e-6)
    assert len(caption_readers(reading)) == 4  # the motion modules 16 channels wide, as the caption
    assert (_predict(reading, latents, left) - _predict(reading, latents, right)).abs().max() > 1e-3


def test_a_trained_plain_unet_starts_reading_the_caption_from_nothing_and_keeps_the_rest() -> None:
    latents = torch.randn(1, 4, FRAMES, 8, 8, generator=torch.Generator().manual_seed(0))
    left, right = torch.randn(2, 1, 8, 16, generator=torch.Generator().manual_seed(1))
    unet = _video_unet(False)
    before = {k: v.clone() for k, v in unet.state_dict().items()}

    readers = start_reading_caption(unet)

    assert readers == caption_readers(unet) and len(readers) == 4
    zeroed = {f"{name}.to_out.0.{part}" for name in readers for part in ("weight", "bias")}
    assert all(torch.equal(before[k], v) for k, v in unet.state_dict().items() if k not in zeroed)
    assert all(not unet.state_dict()[k].any() and before[k].any() for k in zeroed)
    # their old self-attention output is gone, not read as a caption: the caption changes nothing yet
    assert torch.allclose(_predict(unet, latents, left), _predict(unet, latents, right), atol=1e-6)
    modules = dict(unet.named_modules())
    with torch.no_grad():  # as training moves their projections, the caption comes in
        for name in readers:
            modules[name].to_out[0].weight.normal_(generator=torch.Generator().manual_seed(2))
    assert (_predict(unet, latents, left) - _predict(unet, latents, right)).abs().max() > 1e-3


def test_each_video_of_a_batch_reads_its_own_caption() -> None:
    unet = _video_unet(True)
    latents = torch.randn(2, 4, FRAMES, 8, 8, generator=torch.Generator().manual_seed(0))
    captions = torch.randn(2, 8, 16, generator=torch.Generator().manual_seed(1))

    together = _predict(unet, latents, captions)
    apart = torch.cat([_predict(unet, latents[i:i + 1], captions[i:i + 1]) for i in range(2)])

    assert torch.allclose(together, apart, atol=1e-5)


def test_a_saved_decoder_loads_back_reading_the_caption(tmp_path: Path) -> None:
    pipeline = build_random_pipeline("video", {**CONFIG, "caption_motion": True}, seed=3)
    pipeline.unet = _video_unet(True)
    latents = torch.randn(1, 4, FRAMES, 8, 8, generator=torch.Generator().manual_seed(0))
    caption = torch.randn(1, 8, 16, generator=torch.Generator().manual_seed(1))
    save_decoder(pipeline, tmp_path / "decoder", torch.float32)

    loaded = load_pipeline(str(tmp_path / "decoder"), CPU)

    assert json.loads((tmp_path / "decoder" / MARKER).read_text())["motion_modules"] == caption_readers(pipeline.unet)
    assert caption_readers(loaded.unet) == caption_readers(pipeline.unet)
    assert torch.allclose(_predict(loaded.unet, latents, caption), _predict(pipeline.unet, latents, caption),
                          atol=1e-5)


def test_a_plain_decoder_saves_no_marker_and_a_wrong_marker_is_refused(tmp_path: Path) -> None:
    pipeline = build_random_pipeline("video", CONFIG, seed=3)
    save_decoder(pipeline, tmp_path / "plain", torch.float32)
    assert not (tmp_path / "plain" / MARKER).exists()
    assert caption_readers(load_pipeline(str(tmp_path / "plain"), CPU).unet) == []

    (tmp_path / "plain" / MARKER).write_text(json.dumps({"motion_modules": ["down_blocks.0.motion_modules.0"]}))
    with pytest.raises(ValueError, match="names motion modules"):
        load_pipeline(str(tmp_path / "plain"), CPU)


def test_unets_that_cannot_read_the_caption_are_refused() -> None:
    with pytest.raises(ValueError, match="needs motion_modules"):
        build_random_pipeline("video", {**CONFIG, "motion_modules": False, "caption_motion": True})
    with pytest.raises(ValueError, match="UNetMotionModel"):
        read_caption(build_random_pipeline("video", {**CONFIG, "motion_modules": False}).unet)
    with pytest.raises(ValueError, match="as wide as the caption"):  # no block 24 channels wide
        build_random_pipeline("video", {**CONFIG, "cross_attention_dim": 24, "caption_motion": True})
