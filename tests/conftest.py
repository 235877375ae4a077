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


@pytest.fixture(scope="session")
def seeing_model(tiny_saved_profile: Path):
    """The tiny profile with the local profile's real perception role added, its decoders
    limited to the world as local's are."""
    from models import AnyToAnyModel
    from models.profile import PROFILES

    local = (PROFILES / "local.toml").read_text()
    perception = local[local.index("[perception]"):]
    tiny = tiny_saved_profile.read_text()
    for role in ("image_decoder", "audio_decoder", "video_decoder"):
        tiny = tiny.replace(f"[{role}]\n", f'[{role}]\nscope = "world"\n')
    path = tiny_saved_profile.with_name("tiny-seeing.toml")
    path.write_text(tiny + "\n" + perception)
    return AnyToAnyModel.from_profile(path)
