from pathlib import Path

import pytest
import torch

from models.decoders.diffusion_decoder import DiffusionDecoder, load_pipeline
from models.decoders.random_pipelines import build_random_pipeline
from models.device import resolve_placement
from models.media import AudioData, ImageData, VideoData
from models.modality import Modality
from models.signal_llm import GenerationCancelled

CPU = resolve_placement("cpu", "fp32")
SMALL = {"channels": [16, 32]}


@pytest.fixture(scope="module")
def decoders(tmp_path_factory: pytest.TempPathFactory) -> dict[Modality, DiffusionDecoder]:
    """Each tiny pipeline saved to disk and loaded back through from_pretrained."""
    folder = tmp_path_factory.mktemp("decoders")
    loaded = {}
    for modality in (Modality.IMAGE, Modality.AUDIO, Modality.VIDEO):
        build_random_pipeline(modality.value, SMALL).save_pretrained(folder / modality.value)
        pipeline = load_pipeline(str(folder / modality.value), CPU)
        loaded[modality] = DiffusionDecoder(modality, pipeline, CPU, steps=3, size=32, frames=8, tokens=8)
    return loaded


@pytest.mark.parametrize(
    "modality, kind, check",
    [
        (Modality.IMAGE, ImageData, lambda m: m.pixels.shape == (32, 32, 3)),
        (Modality.AUDIO, AudioData, lambda m: m.rate == 16000 and 0.9 <= m.seconds <= 1.01),
        (Modality.VIDEO, VideoData, lambda m: m.frames.shape == (8, 32, 32, 3) and m.fps == 4.0),
    ],
)
def test_decoder_makes_media_from_prompt_embeds_and_reports_steps(decoders, modality, kind, check):
    decoder = decoders[modality]
    steps = []
    media = decoder(torch.randn(*decoder.conditioning_shape), on_progress=lambda i, n: steps.append((i, n)))
    assert isinstance(media, kind) and check(media)
    assert steps == [(1, 3), (2, 3), (3, 3)]


def test_conditioning_shapes(decoders):
    assert decoders[Modality.IMAGE].conditioning_shape == (8, 32)
    assert decoders[Modality.AUDIO].conditioning_shape == (1, 32)  # AudioLDM: one CLAP vector


def test_different_conditioning_gives_different_media(decoders):
    decoder = decoders[Modality.IMAGE]
    a = decoder(torch.zeros(*decoder.conditioning_shape)).pixels
    b = decoder(torch.ones(*decoder.conditioning_shape) * 3).pixels
    assert (a != b).any()


@pytest.mark.parametrize("modality", [Modality.IMAGE, Modality.AUDIO, Modality.VIDEO])
def test_should_stop_ends_decoding_between_steps(decoders, modality):
    decoder = decoders[modality]
    steps = []
    with pytest.raises(GenerationCancelled):
        decoder(torch.randn(*decoder.conditioning_shape), on_progress=lambda i, n: steps.append(i),
                should_stop=lambda: len(steps) >= 1)
    assert steps == [1]


def test_a_folder_without_a_pipeline_is_an_error(tmp_path: Path):
    with pytest.raises(OSError):
        load_pipeline(str(tmp_path), CPU)
