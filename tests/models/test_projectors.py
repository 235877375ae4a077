from pathlib import Path

import pytest
import torch
from torch.nn import functional as F

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


def test_a_standardising_output_projector_predicts_in_standard_units_and_keeps_its_statistics(tmp_path: Path):
    projector = OutputProjector(in_dim=16, out_tokens=3, out_dim=8, hidden_dim=16, num_layers=1, num_heads=2,
                                standardise=True)
    assert projector.needs_fit
    targets = 5.0 + torch.randn(6, 3, 8) * torch.linspace(0.001, 0.02, 8)  # captions a thousandth apart
    targets[:, 0, 0] = 1.5  # an element every caption shares
    projector.fit_targets(targets)
    assert not projector.needs_fit and int(projector.fitted_on) == 6
    standard = projector.standardise(targets)
    assert torch.allclose(standard.mean(0), torch.zeros(3, 8), atol=1e-3)
    assert float(standard.var(0, unbiased=False).mean()) == pytest.approx(1.0, rel=1e-3)  # unit spread overall
    spread = standard.std(0, unbiased=False)
    assert spread[..., -1].mean() > 3 * spread[..., 1].mean()  # elements keep their relative weight
    assert torch.all(standard[:, 0, 0].abs() < 1e-3)
    states = torch.randn(2, 4, 16)
    assert torch.allclose(projector(states), projector.standardised(states) * projector.target_scale
                          + projector.target_mean)
    projector.save_pretrained(tmp_path / "s")
    loaded = OutputProjector.from_pretrained(tmp_path / "s")
    assert not loaded.needs_fit and torch.allclose(loaded(states), projector(states))


def test_a_plain_output_projector_is_its_own_standard_form():
    projector = OutputProjector(in_dim=16, out_tokens=3, out_dim=8, hidden_dim=16, num_layers=1, num_heads=2)
    states, target = torch.randn(2, 4, 16), torch.randn(3, 8)
    assert not projector.needs_fit and torch.equal(projector.standardise(target), target)
    assert torch.equal(projector(states), projector.standardised(states))
    with pytest.raises(ValueError, match="without standardise"):
        projector.fit_targets(torch.randn(4, 3, 8))


def _centred_match(standardise: bool) -> float:
    """Train a projector on six targets that share almost all of their vector (as a text encoder's
    captions do); how well its outputs' caption-specific parts match the targets' (mean cosine)."""
    torch.manual_seed(0)
    inputs = torch.randn(6, 2, 16)
    targets = torch.randn(1, 4, 8) * 3 + torch.randn(6, 4, 8) * 0.02
    projector = OutputProjector(in_dim=16, out_tokens=4, out_dim=8, hidden_dim=32, num_layers=1, num_heads=2,
                                standardise=standardise)
    if standardise:
        projector.fit_targets(targets)
    optimiser = torch.optim.Adam(projector.parameters(), lr=3e-3)
    for _ in range(150):
        optimiser.zero_grad()
        F.mse_loss(projector.standardised(inputs), projector.standardise(targets)).backward()
        optimiser.step()
    with torch.no_grad():
        made = projector(inputs) - targets.mean(0)
    centred = (targets - targets.mean(0)).flatten(1)
    return float(F.cosine_similarity(made.flatten(1), centred, dim=-1).mean())


def test_standardised_targets_learn_what_tells_near_identical_captions_apart():
    assert _centred_match(standardise=True) > 0.9
    assert _centred_match(standardise=False) < _centred_match(standardise=True) - 0.3
