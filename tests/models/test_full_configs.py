"""The `full` profile's architectures written in resources/full_configs/ (issue 27, item 3): each loads
with its transformers / diffusers config class and, built on the meta device (no memory), has the
published model's parameter count, and each decoder's conditioning shape is what the output
projectors are built for. A wrong width or layer count in a config fails here."""

from __future__ import annotations

import pytest

from bench.full_size import CONFIGURED, conditioning_shape, gpu_estimate, meta_figures, meta_role, parameter_count

# published sizes, in millions of parameters, with the tolerance a rounding in a model card allows
PUBLISHED = {
    "llm": (7616, 5),  # Qwen2.5-7B-Instruct: 7.61 B
    "image_encoder": (303, 2),  # CLIP ViT-L/14 vision tower
    "image_decoder": (1066, 5),  # SD 1.5: UNet 860 M + VAE 84 M + CLIP-L text 123 M
    "audio_decoder": (421, 5),  # AudioLDM-S-full-v2: UNet 185 M + VAE + CLAP text + HiFi-GAN
    "video_decoder": (1835, 10),  # Zeroscope v2 / ModelScope T2V: UNet3D 1.41 B + VAE + OpenCLIP-H text 354 M
}
UNETS = {"image_decoder": (860, 2), "audio_decoder": (185, 2), "video_decoder": (1411, 5)}


@pytest.fixture(scope="module")
def roles() -> dict:
    return {role: meta_role(role) for role in CONFIGURED}


@pytest.mark.parametrize("role", CONFIGURED)
def test_a_role_has_its_published_size(roles: dict, role: str) -> None:
    expected, tolerance = PUBLISHED[role]
    assert abs(parameter_count(roles[role]) / 1e6 - expected) <= tolerance
    assert all(p.device.type == "meta" for m in roles[role].values() for p in m.parameters())


@pytest.mark.parametrize("role", sorted(UNETS))
def test_a_decoder_unet_has_its_published_size(roles: dict, role: str) -> None:
    expected, tolerance = UNETS[role]
    assert abs(sum(p.numel() for p in roles[role]["unet"].parameters()) / 1e6 - expected) <= tolerance


def test_the_llm_is_qwen_7b_with_untied_embeddings(roles: dict) -> None:
    config = roles["llm"]["llm"].config
    assert (config.hidden_size, config.num_hidden_layers, config.num_key_value_heads, config.vocab_size) == (
        3584, 28, 4, 152064)
    assert not config.tie_word_embeddings


def test_conditioning_shapes_are_what_each_pipeline_takes() -> None:
    assert conditioning_shape("image_decoder") == (77, 768)
    assert conditioning_shape("audio_decoder") == (1, 512)
    assert conditioning_shape("video_decoder") == (77, 1024)


def test_the_gpu_estimate_counts_two_bytes_a_parameter() -> None:
    estimate = gpu_estimate({"llm": 8 * 2**30, "image_decoder": 2**30, "video_decoder": 2 * 2**30},
                            {"image_decoder": 2**29, "video_decoder": 2**30})
    assert estimate["all_resident_gib"] == 22.0 and not estimate["all_resident_fits"]
    assert estimate["sequential_gib"] == 16.0 and estimate["sequential_fits"]
    assert estimate["llm_plus_largest_decoder"] == "video_decoder"
    assert estimate["llm_plus_decoders_with_model_cpu_offload_gib"] == 18.0


def test_gpu_small_is_qwen_1_5b_and_fits_12_gb_with_one_decoder_at_a_time() -> None:
    llm = meta_role("llm_gpu_small")["llm_gpu_small"]
    assert abs(parameter_count({"llm": llm}) / 1e6 - 1544) <= 5  # Qwen2.5-1.5B-Instruct: 1.54 B
    assert (llm.config.hidden_size, llm.config.num_hidden_layers, llm.config.tie_word_embeddings) == (1536, 28, True)
    parameters, largest = meta_figures("llm_gpu_small")
    twelve = gpu_estimate(parameters, largest, gpu_gib=12.0)
    assert not twelve["all_resident_fits"] and twelve["llm_plus_largest_decoder_fits"]
    assert not gpu_estimate(*meta_figures(), gpu_gib=12.0)["llm_plus_largest_decoder_fits"]  # full's 7B does not
