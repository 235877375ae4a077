from pathlib import Path

import pytest
import torch
from transformers import AutoTokenizer

from models.decoders.diffusion_decoder import DiffusionDecoder, load_pipeline
from models.decoders.random_pipelines import build_random_pipeline
from models.decoders.word_tokenizer import build_word_tokenizer
from models.device import resolve_placement
from models.media import AudioData, ImageData, VideoData
from models.modality import Modality
from models.signal_llm import GenerationCancelled

CPU = resolve_placement("cpu", "fp32")
SMALL = {"channels": [16, 32]}
WITH_TEXT = {**SMALL, "text_encoder": {"hidden_size": 32, "layers": 1, "heads": 2, "max_length": 8}}
MEDIA = {Modality.IMAGE: ImageData, Modality.AUDIO: AudioData, Modality.VIDEO: VideoData}


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


# word tokenizer ---------------------------------------------------------------------------------


def test_word_tokenizer_round_trips_pads_and_is_case_insensitive(tmp_path: Path):
    build_word_tokenizer(["a", "Red", "circle", "blue", "square", "Café"], max_length=6).save_pretrained(tmp_path)
    tokenizer = AutoTokenizer.from_pretrained(tmp_path)
    assert tokenizer.model_max_length == 6
    batch = tokenizer(["A RED circle", "a blue zebra"], padding="max_length", max_length=6, truncation=True,
                      return_tensors="pt")
    bos, eos, pad, unk = tokenizer.bos_token_id, tokenizer.eos_token_id, tokenizer.pad_token_id, tokenizer.unk_token_id
    a, red, circle, blue = tokenizer.convert_tokens_to_ids(["a", "red", "circle", "blue"])
    assert batch.input_ids.tolist() == [[bos, a, red, circle, eos, pad], [bos, a, blue, unk, eos, pad]]
    assert batch.attention_mask.tolist() == [[1, 1, 1, 1, 1, 0], [1, 1, 1, 1, 1, 0]]
    assert len({bos, eos, pad, unk, a, red, circle, blue}) == 8
    assert tokenizer("CAFE, Square").input_ids == tokenizer("café , square").input_ids
    long = tokenizer("a red circle a red circle a red circle", truncation=True, max_length=6).input_ids
    assert len(long) == 6 and long[0] == bos and long[-1] == eos


def test_the_default_vocabulary_covers_the_synthetic_world():
    tokenizer = build_word_tokenizer(max_length=16)
    for caption in ("a red circle", "a pulsing high tone", "a blue square moving left.", "A green triangle, up!"):
        assert tokenizer.unk_token_id not in tokenizer(caption).input_ids


# decoders with a text encoder -------------------------------------------------------------------


@pytest.fixture(scope="module")
def text_decoders(tmp_path_factory: pytest.TempPathFactory) -> dict[Modality, DiffusionDecoder]:
    """Each tiny pipeline with a word tokenizer and text encoder, saved and loaded back; no `tokens` option."""
    folder = tmp_path_factory.mktemp("text-decoders")
    loaded = {}
    for modality in (Modality.IMAGE, Modality.AUDIO, Modality.VIDEO):
        build_random_pipeline(modality.value, WITH_TEXT).save_pretrained(folder / modality.value)
        pipeline = load_pipeline(str(folder / modality.value), CPU)
        loaded[modality] = DiffusionDecoder(modality, pipeline, CPU, steps=2, size=32, frames=8)
    return loaded


@pytest.mark.parametrize("modality", [Modality.IMAGE, Modality.AUDIO, Modality.VIDEO])
def test_a_pipeline_with_a_text_encoder_loads_back_with_it(text_decoders, modality):
    pipeline = text_decoders[modality].pipeline
    assert pipeline.tokenizer is not None and pipeline.text_encoder is not None
    assert pipeline.tokenizer.model_max_length == 8
    assert pipeline.text_encoder.config.vocab_size >= len(pipeline.tokenizer)


def test_conditioning_shape_follows_the_tokenizer_when_tokens_is_not_given(text_decoders):
    assert text_decoders[Modality.IMAGE].conditioning_shape == (8, 32)
    assert text_decoders[Modality.VIDEO].conditioning_shape == (8, 32)
    assert text_decoders[Modality.AUDIO].conditioning_shape == (1, 32)


@pytest.mark.parametrize("modality", [Modality.IMAGE, Modality.AUDIO, Modality.VIDEO])
def test_text_embeddings_are_shaped_like_the_conditioning_and_follow_the_caption(text_decoders, modality):
    decoder = text_decoders[modality]
    embeds = decoder.text_embeddings(["a red circle", "a pulsing high tone", "a red circle"])
    assert embeds.shape == (3, *decoder.conditioning_shape)
    assert embeds.dtype == torch.float32 and embeds.device == CPU.device and not embeds.requires_grad
    assert not torch.allclose(embeds[0], embeds[1])
    assert torch.equal(embeds[0], embeds[2])
    assert torch.allclose(decoder.text_embeddings(["A Red Circle"])[0], embeds[0], atol=1e-5)  # batch size aside


@pytest.mark.parametrize("modality", [Modality.IMAGE, Modality.AUDIO, Modality.VIDEO])
def test_a_text_embedding_drives_the_decoder(text_decoders, modality):
    decoder = text_decoders[modality]
    assert isinstance(decoder(decoder.text_embeddings(["a blue square moving left"])[0]), MEDIA[modality])


@pytest.mark.parametrize("modality", [Modality.IMAGE, Modality.AUDIO])
def test_guidance_uses_the_empty_caption_as_the_unconditional_embedding(text_decoders, modality):
    decoder = DiffusionDecoder(modality, text_decoders[modality].pipeline, CPU, steps=1, size=32, guidance=3.0)
    assert isinstance(decoder(decoder.text_embeddings(["a red circle"])[0]), MEDIA[modality])


@pytest.mark.parametrize("modality", [Modality.IMAGE, Modality.AUDIO, Modality.VIDEO])
def test_text_embeddings_without_a_text_encoder_is_a_clear_error(decoders, modality):
    with pytest.raises(ValueError, match=f"{modality.value} decoder.*no tokenizer/text encoder"):
        decoders[modality].text_embeddings(["a red circle"])


def test_a_tokens_option_other_than_max_length_is_named_in_the_error(text_decoders):
    decoder = DiffusionDecoder(Modality.IMAGE, text_decoders[Modality.IMAGE].pipeline, CPU, tokens=4)
    with pytest.raises(ValueError, match="tokens"):
        decoder.text_embeddings(["a red circle"])


def test_text_encoder_options_are_checked():
    with pytest.raises(ValueError, match="cross_attention_dim"):
        build_random_pipeline("image", {**SMALL, "text_encoder": {"hidden_size": 64}})
    with pytest.raises(ValueError, match="hiden_size"):
        build_random_pipeline("video", {**SMALL, "text_encoder": {"hiden_size": 32}})


def test_the_text_encoder_vocabulary_is_the_configured_words():
    pipeline = build_random_pipeline("audio", {**SMALL, "text_encoder": {"max_length": 6, "words": ["beep", "boop"]}})
    assert len(pipeline.tokenizer) == 6 and pipeline.text_encoder.config.vocab_size == 6
    assert pipeline.tokenizer.unk_token_id in pipeline.tokenizer("a red circle").input_ids


@pytest.mark.parametrize("saved", [False, True], ids=["config", "saved"])
def test_the_tiny_profile_decoders_embed_captions(saved, request):
    from models.model_set import ModelSet
    from models.profile import load_profile

    models = ModelSet(load_profile(request.getfixturevalue("tiny_saved_profile") if saved else "tiny"))
    for modality in (Modality.IMAGE, Modality.AUDIO, Modality.VIDEO):
        decoder = models.decoder(modality)
        embeds = decoder.text_embeddings(["a red circle", "a pulsing high tone"])
        assert embeds.shape == (2, *decoder.conditioning_shape)


def test_a_pipeline_loads_in_its_placements_dtype():
    """diffusers takes the dtype as `dtype` (its `torch_dtype` is deprecated): every component
    with weights comes in the placement's dtype, not fp32 by default."""
    from models.profile import RESOURCES

    pipeline = load_pipeline(str(RESOURCES / "world" / "image_decoder"), resolve_placement("cpu", "bf16"))
    dtypes = {name: next(part.parameters()).dtype for name, part in pipeline.components.items()
              if isinstance(part, torch.nn.Module)}
    assert set(dtypes) >= {"unet", "vae", "text_encoder"} and set(dtypes.values()) == {torch.bfloat16}
