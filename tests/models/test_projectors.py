from pathlib import Path

import torch

from models.projectors import InputProjector, OutputProjector


def test_input_projector_pools_and_projects(tmp_path: Path):
    projector = InputProjector(in_dim=12, out_dim=20, kind="mlp", num_tokens=4)
    assert projector(torch.randn(2, 17, 12)).shape == (2, 4, 20)
    linear = InputProjector(in_dim=12, out_dim=20, kind="linear")
    assert linear(torch.randn(1, 9, 12)).shape == (1, 9, 20)
    projector.save_pretrained(tmp_path / "p")
    loaded = InputProjector.from_pretrained(tmp_path / "p")
    x = torch.randn(1, 5, 12)
    assert torch.equal(loaded(x), projector(x)) and loaded.config.num_tokens == 4


def test_output_projector_maps_signal_states_to_the_decoders_shape(tmp_path: Path):
    projector = OutputProjector(in_dim=64, out_tokens=77, out_dim=32, hidden_dim=32, num_layers=1, num_heads=2)
    states = torch.randn(3, 4, 64)
    out = projector(states)
    assert out.shape == (3, 77, 32)
    # the conditioning depends on the signal states, not only on the learnt queries
    assert not torch.allclose(out[0], out[1])
    projector.save_pretrained(tmp_path / "o")
    assert torch.allclose(OutputProjector.from_pretrained(tmp_path / "o")(states), out)
