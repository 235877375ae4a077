"""The LLM's linear layers with int8 weights (one scale per row), for answering on a CPU in bf16."""

from pathlib import Path

import pytest
import torch

from models import AnyToAnyModel, Modality, ModelRequest, ReplyDone
from models.int8_weights import Int8Linear, int8_linear_layers
from models.profile import PROFILES
from models.tiny_llm import build_tiny_llm


def test_an_int8_linear_layer_computes_what_the_layer_did_within_its_rounding():
    torch.manual_seed(0)
    layer = torch.nn.Linear(96, 48, bias=True).to(torch.bfloat16)
    layer.weight.data[3] *= 40  # a row far larger than the rest keeps its own scale
    x = torch.randn(2, 5, 96, dtype=torch.bfloat16)
    int8 = Int8Linear(layer)
    assert int8.weight_int8.dtype == torch.int8 and int8.scale.shape == (48,)
    with torch.inference_mode():
        got, want = int8(x).float(), layer(x).float()
    assert got.shape == want.shape == (2, 5, 48)
    error = (got - want).abs().amax(dim=(0, 1)) / want.abs().amax(dim=(0, 1))
    assert float(error.max()) < 0.03  # each output within a few percent of its row's largest
    # a row rounded on the scale of the large one would lose the small rows' weights
    assert float((got[..., :3] - want[..., :3]).abs().max()) < 0.05 * float(want[..., :3].abs().max())


def test_every_linear_layer_of_an_llm_is_replaced_and_its_greedy_choice_kept():
    torch.manual_seed(0)
    model, tokenizer = build_tiny_llm({"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
                                       "num_attention_heads": 4, "num_key_value_heads": 2})
    model = model.to(torch.bfloat16).eval()
    linears = sum(type(m) is torch.nn.Linear for m in model.modules())
    ids = tokenizer("a red circle moves left", return_tensors="pt").input_ids
    with torch.inference_mode():
        before = model(input_ids=ids).logits[0].float()
        assert int8_linear_layers(model) == linears > 0
        after = model(input_ids=ids).logits[0].float()
    assert not any(type(m) is torch.nn.Linear for m in model.modules())
    assert torch.corrcoef(torch.stack([before.flatten(), after.flatten()]))[0, 1] > 0.99
    assert (before.argmax(-1) == after.argmax(-1)).float().mean() >= 0.8


def _profile(tmp_path: Path, dtype: str, weights: str | None) -> Path:
    text = (PROFILES / "tiny.toml").read_text().replace('dtype = "fp32"', f'dtype = "{dtype}"', 1)
    if weights:
        text = text.replace('max_new_tokens = 12\n', f'max_new_tokens = 12\ncpu_weights = "{weights}"\n', 1)
    path = tmp_path / "mine.toml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(("dtype", "weights", "int8"), [("bf16", "int8", True), ("bf16", None, False),
                                                        ("fp32", "int8", False)])
def test_the_profile_asks_for_int8_weights_and_only_an_llm_answering_in_bf16_takes_them(tmp_path, dtype, weights,
                                                                                       int8):
    """In fp32 the int8 kernel is slower than fp32 itself: there the weights stay as they are."""
    model = AnyToAnyModel.from_profile(_profile(tmp_path, dtype, weights))
    llm = model.models.llm()
    assert any(isinstance(m, Int8Linear) for m in llm.model.modules()) == int8
    events = list(model.respond(ModelRequest(text="hello", want={Modality.TEXT}, max_new_tokens=4)))
    assert isinstance(events[-1], ReplyDone)  # it answers either way
