import pytest
import torch

from models.modality import Modality
from models.signal_llm import GenerationCancelled, SignalLLM, SignalStates, TextPiece, signal_token_names
from models.tiny_llm import build_tiny_llm
from tests.prompt_runs import count_prompt_runs

COUNTS = {Modality.IMAGE: 4, Modality.AUDIO: 8, Modality.VIDEO: 24}


@pytest.fixture()
def llm() -> SignalLLM:
    model, tokenizer = build_tiny_llm({})
    return SignalLLM(model, tokenizer, COUNTS)


def _favour(llm: SignalLLM, token_id: int) -> None:
    """Makes `token_id` the model's top choice everywhere (a large bias on the output layer)."""
    head = llm.model.get_output_embeddings()
    with torch.no_grad():
        if head.bias is None:
            head.bias = torch.nn.Parameter(torch.zeros(head.out_features))
        head.bias[token_id] = 1e4


def test_signal_tokens_are_added_and_embeddings_grow(llm: SignalLLM):
    for modality, count in COUNTS.items():
        ids = llm.signal_ids[modality]
        assert len(ids) == count == len(set(ids))
        assert llm.tokenizer.convert_ids_to_tokens(ids) == signal_token_names(modality, count)
    assert llm.model.get_input_embeddings().num_embeddings >= len(llm.tokenizer)
    assert signal_token_names(Modality.IMAGE, 4) == ["[IMG0]", "[IMG1]", "[IMG2]", "[IMG3]"]


def test_prompt_places_media_embeddings_at_their_placeholders(llm: SignalLLM):
    media = torch.full((3, llm.hidden_size), 7.0)
    prompt = llm.prompt_embeddings([{"role": "user", "content": "look <image> here"}], [(Modality.IMAGE, media)])
    rows = (prompt.embeds[0] == 7.0).all(dim=1).nonzero().flatten().tolist()
    assert len(rows) == 3 and rows == list(range(rows[0], rows[0] + 3))
    assert [prompt.ids[row] for row in rows] == [None, None, None] and None not in prompt.ids[:rows[0]]
    with pytest.raises(ValueError, match="placeholders"):
        llm.prompt_embeddings([{"role": "user", "content": "no placeholder"}], [(Modality.IMAGE, media)])


def test_emitted_signal_group_yields_its_hidden_states(llm: SignalLLM):
    _favour(llm, llm.signal_ids[Modality.AUDIO][0])
    prompt = llm.prompt_embeddings([{"role": "user", "content": "make a sound"}], [])
    events = list(llm.stream(prompt, allowed={Modality.AUDIO}, max_new_tokens=5))
    signals = [e for e in events if isinstance(e, SignalStates)]
    assert [s.modality for s in signals] == [Modality.AUDIO]  # once, though the model keeps favouring it
    assert signals[0].hidden.shape == (8, llm.hidden_size)


def test_signals_of_modalities_not_allowed_are_never_emitted(llm: SignalLLM):
    _favour(llm, llm.signal_ids[Modality.IMAGE][0])
    prompt = llm.prompt_embeddings([{"role": "user", "content": "hi"}], [])
    events = list(llm.stream(prompt, allowed=set(), max_new_tokens=4))
    assert not any(isinstance(e, SignalStates) for e in events)
    assert len([e for e in events if isinstance(e, TextPiece)]) <= 4


def test_forced_modality_is_guaranteed(llm: SignalLLM):
    prompt = llm.prompt_embeddings([{"role": "user", "content": "hi"}], [])
    events = list(llm.stream(prompt, allowed={Modality.VIDEO}, forced={Modality.VIDEO}, max_new_tokens=3))
    assert isinstance(events[-1], SignalStates) and events[-1].hidden.shape == (24, llm.hidden_size)


def test_should_stop_cancels_generation(llm: SignalLLM):
    prompt = llm.prompt_embeddings([{"role": "user", "content": "hi"}], [])
    calls = iter([False, False, True])
    with pytest.raises(GenerationCancelled):
        list(llm.stream(prompt, allowed=set(), max_new_tokens=50, should_stop=lambda: next(calls)))


def test_the_repetition_penalty_makes_said_tokens_less_likely():
    from models.signal_llm import _penalise

    logits = torch.tensor([2.0, -2.0, 1.0, 0.5])
    penalised = _penalise(logits, [0, 1, 1], 2.0)
    assert penalised.tolist() == [1.0, -4.0, 1.0, 0.5]  # positive halved, negative doubled, others kept
    assert torch.equal(_penalise(logits, [0], 1.0), logits) and torch.equal(_penalise(logits, [], 2.0), logits)


def _conversation_turn(llm: SignalLLM, history: list[dict[str, str]], question: str) -> tuple[str, list[int]]:
    prompt = llm.prompt_embeddings([*history, {"role": "user", "content": question}], [])
    text = "".join(e.text for e in llm.stream(prompt, allowed=set(), max_new_tokens=6) if isinstance(e, TextPiece))
    return text, [i for i in prompt.ids if i is not None]


def test_a_turn_reuses_the_conversations_cache_and_answers_exactly_as_without_it(llm: SignalLLM,
                                                                                  monkeypatch: pytest.MonkeyPatch):
    torch.manual_seed(0)
    history: list[dict[str, str]] = []
    for question in ("hello there, how are you", "and what else"):
        answer, _ = _conversation_turn(llm, history, question)
        history += [{"role": "user", "content": question}, {"role": "assistant", "content": answer}]
    prefilled = count_prompt_runs(llm, monkeypatch)
    reused, ids = _conversation_turn(llm, history, "one more thing")
    llm.conversation.clear()
    fresh, _ = _conversation_turn(llm, history, "one more thing")
    assert reused == fresh  # the same greedy answer
    assert prefilled[1] == len(ids) and prefilled[0] < len(ids) // 2  # the earlier turns came from the cache


def test_a_prefilled_prompt_leaves_nothing_to_run_before_its_turns_first_token(llm: SignalLLM,
                                                                                 monkeypatch: pytest.MonkeyPatch):
    torch.manual_seed(0)
    history = [{"role": "user", "content": "hello there, how are you"}, {"role": "assistant", "content": "fine"}]
    messages = [*history, {"role": "user", "content": "one more thing"}]
    fresh, _ = _conversation_turn(llm, history, "one more thing")
    llm.conversation.clear()
    prefilled = count_prompt_runs(llm, monkeypatch)
    prompt = llm.prompt_embeddings(messages, [])
    llm.prefill(prompt)  # the words are known before the turn is certain
    assert prefilled == [len(prompt.ids)]
    readied, _ = _conversation_turn(llm, history, "one more thing")
    assert prefilled == [len(prompt.ids)] and readied == fresh  # its first token came from the kept logits
    llm.prefill(llm.prompt_embeddings([*history, {"role": "user", "content": "something else entirely"}], []))
    assert prefilled[-1] < len(prompt.ids) // 2 + 8  # a different guess reuses the conversation so far


def test_a_conversation_that_shares_nothing_prefills_in_full(llm: SignalLLM):
    _conversation_turn(llm, [], "hello there")
    cache, start, logits = llm.conversation.take([999, 998, 997] + [1] * 20)
    assert start == 0 and cache.get_seq_length() == 0 and logits is None


def test_each_piece_of_text_comes_out_before_the_next_step_runs(llm: SignalLLM, monkeypatch: pytest.MonkeyPatch):
    steps: list[str] = []
    forward = llm._forward

    def counting(cache, **inputs):
        steps.append("step")
        return forward(cache, **inputs)

    word = llm.tokenizer("hello", add_special_tokens=False).input_ids[0]
    _favour(llm, word)  # every step chooses a token that is text on its own
    monkeypatch.setattr(llm, "_forward", counting)
    prompt = llm.prompt_embeddings([{"role": "user", "content": "hello there"}], [])
    for event in llm.stream(prompt, allowed=set(), max_new_tokens=4):
        if isinstance(event, TextPiece):
            steps.append("text")
    # the prompt's pass chose the first token: it is out before the second step runs, and so on
    assert steps == ["step", "text"] * 4 + ["step"]
