import pytest


@pytest.fixture(scope="session")
def perceiver():
    """The local profile's perception role, on its real packaged weights."""
    from models.model_set import ModelSet
    from models.profile import load_profile

    return ModelSet(load_profile("local")).perceiver()
