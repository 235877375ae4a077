import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

from tests.tiny_profile import save_tiny_profile  # noqa: E402


@pytest.fixture(scope="session")
def tiny_saved_profile(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A profile whose random tiny components were saved to disk and load with from_pretrained."""
    return save_tiny_profile(tmp_path_factory.mktemp("tiny-weights"))


@pytest.fixture(scope="session")
def tiny_model(tiny_saved_profile: Path):
    from models import AnyToAnyModel

    return AnyToAnyModel.from_profile(tiny_saved_profile)
