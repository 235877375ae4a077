"""A Hugging Face causal LM that also speaks in signal tokens.

NExT-GPT adds, for each output modality, a group of signal tokens (`[IMG0]`…`[IMG3]`,
`[AUD0]`…`[AUD7]`, `[VID0]`…`[VID23]`). When the model emits the first token of a group the
rest of the group is fed in at once, and the last-layer hidden states of the whole group are
what the output projector turns into a decoder's conditioning.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import torch
from transformers import DynamicCache, PreTrainedModel, PreTrainedTokenizerBase, RepetitionPenaltyLogitsProcessor

from .modality import Modality
from .prefix_cache import PrefixCache

log = logging.getLogger(__name__)

SIGNAL_PREFIX = {Modality.IMAGE: "IMG", Modality.AUDIO: "AUD", Modality.VIDEO: "VID"}
PLACEHOLDERS = {Modality.IMAGE: "<image>", Modality.AUDIO: "<audio>", Modality.VIDEO: "<video>"}
_PLACEHOLDER_RE = re.compile("(" + "|".join(re.escape(p) for p in PLACEHOLDERS.values()) + ")")


def split_placeholders(text: str) -> list[str]:
    """`text` split around its media placeholders: text, placeholder, text, ... (odd indices)."""
    return _PLACEHOLDER_RE.split(text)


class GenerationCancelled(Exception):
    """Raised inside generation or decoding when the caller asked to stop."""


@dataclass(frozen=True)
class TextPiece:
    text: str


@dataclass(frozen=True)
class Prompt:
    """A prompt as the LLM takes it: (1, length, hidden) embeddings, and the token id of each position
    (None where projected media stand)."""

    embeds: torch.Tensor
    ids: list[int | None]


@dataclass(frozen=True)
class SignalStates:
    modality: Modality
    hidden: torch.Tensor  # (num_signal_tokens, hidden_size), last layer


def signal_token_names(modality: Modality, count: int) -> list[str]:
    return [f"[{SIGNAL_PREFIX[modality]}{i}]" for i in range(count)]


def add_signal_tokens(
    model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, counts: dict[Modality, int]
) -> dict[Modality, list[int]]:
    """Adds each modality's signal tokens to the tokenizer and grows the embeddings to match."""
    names = [name for modality, count in counts.items() for name in signal_token_names(modality, count)]
    added = tokenizer.add_tokens(names, special_tokens=True)
    if added or model.get_input_embeddings().num_embeddings < len(tokenizer):
        model.resize_token_embeddings(len(tokenizer))
    return {m: tokenizer.convert_tokens_to_ids(signal_token_names(m, n)) for m, n in counts.items()}


class SignalLLM:
    """The LLM of the pipeline: builds prompts with media embeddings and streams text and signals."""

    def __init__(
        self,
        model: PreTrainedModel,
        tokenizer: PreTrainedTokenizerBase,
        signal_tokens: dict[Modality, int],
        system_prompt: str = "",
    ) -> None:
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.system_prompt = system_prompt
        self.signal_ids = add_signal_tokens(model, tokenizer, signal_tokens)
        self.group_start = {ids[0]: modality for modality, ids in self.signal_ids.items()}
        self.stop_ids = self._stop_ids()
        self.conversation = PrefixCache()  # the last conversation's KV cache, reused by its next turn

    @property
    def hidden_size(self) -> int:
        return self.model.get_input_embeddings().embedding_dim

    @property
    def device(self) -> torch.device:
        return self.model.get_input_embeddings().weight.device

    def _stop_ids(self) -> set[int]:
        ids = {self.tokenizer.eos_token_id}
        configured = getattr(self.model.generation_config, "eos_token_id", None)
        ids.update(configured if isinstance(configured, list) else [configured])
        for token in ("<|im_end|>", "<|endoftext|>", "<|eot_id|>"):
            token_id = self.tokenizer.convert_tokens_to_ids(token)
            if isinstance(token_id, int) and token_id != self.tokenizer.unk_token_id:
                ids.add(token_id)
        return {i for i in ids if i is not None}

    def render(self, messages: list[dict[str, str]], add_generation_prompt: bool = False) -> str:
        """The chat template over `messages`, with the profile's system prompt when it sets one."""
        if self.system_prompt and (not messages or messages[0]["role"] != "system"):
            messages = [{"role": "system", "content": self.system_prompt}, *messages]
        return self.tokenizer.apply_chat_template(
            messages, tokenize=False, add_generation_prompt=add_generation_prompt
        )

    def signal_text(self, modality: Modality) -> str:
        """A modality's signal group as text (`[IMG0][IMG1]...`), as training data writes it."""
        return "".join(self.tokenizer.convert_ids_to_tokens(self.signal_ids[modality]))

    # 1. prompt ---------------------------------------------------------------------------------

    def prompt_embeddings(
        self, messages: list[dict[str, str]], media: list[tuple[Modality, torch.Tensor]]
    ) -> Prompt:
        """Chat template over `messages`; each `<image>`/`<audio>`/`<video>` placeholder, in order,
        is replaced by the projected embeddings of the next medium."""
        prompt = self.render(messages, add_generation_prompt=True)
        pieces = split_placeholders(prompt)
        placeholders = pieces[1::2]
        if [PLACEHOLDERS[m] for m, _ in media] != placeholders:
            raise ValueError(f"placeholders {placeholders} do not match media {[m.value for m, _ in media]}")
        embed = self.model.get_input_embeddings()
        parts: list[torch.Tensor] = []
        positions: list[int | None] = []
        for index, piece in enumerate(pieces):
            if index % 2:
                projected = media[index // 2][1]
                parts.append(projected.to(self.device, embed.weight.dtype))
                positions.extend([None] * len(projected))
            elif piece:
                ids = self.tokenizer(piece, add_special_tokens=False, return_tensors="pt").input_ids.to(self.device)
                parts.append(embed(ids)[0])
                positions.extend(ids[0].tolist())
        return Prompt(torch.cat(parts).unsqueeze(0), positions)

    # 2. generation ------------------------------------------------------------------------------

    @torch.inference_mode()
    def stream(
        self,
        prompt: Prompt,
        *,
        allowed: set[Modality],
        forced: set[Modality] = frozenset(),
        max_new_tokens: int = 128,
        temperature: float = 0.0,
        repetition_penalty: float = 1.0,
        should_stop: Callable[[], bool] = lambda: False,
        seed: int = 0,
    ) -> Iterator[TextPiece | SignalStates]:
        """Streams text pieces as tokens come and the states of each signal group emitted.

        Only the signal groups of `allowed` modalities may be emitted, each at most once; the
        groups of `forced` modalities not emitted by the end are appended, so a wanted output
        is guaranteed. The conversation's earlier turns come from the kept cache (`conversation`):
        only what is new is prefilled."""
        generator = torch.Generator(device="cpu").manual_seed(seed)
        cache, logits = self._run_prompt(prompt)
        fed = list(prompt.ids)  # what the cache holds, in order
        try:
            yield from self._generate(cache, fed, logits, allowed, forced, max_new_tokens, temperature,
                                      repetition_penalty, should_stop, generator)
        except (GenerationCancelled, GeneratorExit):  # stopped between tokens: the cache holds `fed`
            self.conversation.keep(cache, fed)
            raise
        self.conversation.keep(cache, fed)  # (after any other failure the cache is not trusted: dropped)

    @torch.inference_mode()
    def prefill(self, prompt: Prompt) -> None:
        """Runs `prompt` into the conversation's kept cache, its last logits kept with it: a turn with
        this prompt then chooses its first token at once."""
        cache, logits = self._run_prompt(prompt)
        self.conversation.keep(cache, prompt.ids, logits)

    def _run_prompt(self, prompt: Prompt) -> tuple[DynamicCache, torch.Tensor]:
        """A cache holding all of `prompt` and the logits after it: from the conversation's kept
        cache, running only what it lacks (nothing, when the prompt was prefilled as it is)."""
        cache, start, logits = self.conversation.take(prompt.ids)
        if logits is None:
            logits, _ = self._forward(cache, inputs_embeds=prompt.embeds[:, start:])
        return cache, logits

    def _generate(self, cache: DynamicCache, fed: list[int | None], logits: torch.Tensor, allowed: set[Modality],
                  forced: set[Modality], max_new_tokens: int, temperature: float, repetition_penalty: float,
                  should_stop: Callable[[], bool], generator: torch.Generator) -> Iterator[TextPiece | SignalStates]:
        text_ids: list[int] = []
        emitted_text = ""
        signalled: set[Modality] = set()
        for _ in range(max_new_tokens):
            if should_stop():
                raise GenerationCancelled
            logits = _penalise(logits, text_ids, repetition_penalty)
            token = self._choose(logits, self._banned(allowed - signalled), temperature, generator)
            if token in self.stop_ids:
                break
            if token in self.group_start:
                modality = self.group_start[token]
                signalled.add(modality)
                states, logits = self._feed_group(cache, modality)
                fed.extend(self.signal_ids[modality])
                yield SignalStates(modality, states)
                continue
            text_ids.append(token)
            text = self.tokenizer.decode(text_ids, skip_special_tokens=True)
            if len(text) > len(emitted_text) and not text.endswith("\ufffd"):
                yield TextPiece(text[len(emitted_text):])  # before the next step runs: a step sooner
                emitted_text = text
            logits, _ = self._forward(cache, input_ids=torch.tensor([[token]], device=self.device))
            fed.append(token)
        for modality in sorted(forced - signalled, key=lambda m: m.value):
            if should_stop():
                raise GenerationCancelled
            states, _ = self._feed_group(cache, modality)
            fed.extend(self.signal_ids[modality])
            yield SignalStates(modality, states)

    def _forward(self, cache: DynamicCache, **inputs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        # only the last position's logits are used: the vocabulary projection of a whole prompt is skipped
        out = self.model(**inputs, cache=cache, use_cache=True, output_hidden_states=True, logits_to_keep=1)
        return out.logits[0, -1].float(), out.hidden_states[-1][0]

    def _feed_group(self, cache: DynamicCache, modality: Modality) -> tuple[torch.Tensor, torch.Tensor]:
        ids = torch.tensor([self.signal_ids[modality]], device=self.device)
        logits, hidden = self._forward(cache, input_ids=ids)
        return hidden.float(), logits

    def _banned(self, allowed: set[Modality]) -> list[int]:
        banned = []
        for modality, ids in self.signal_ids.items():
            banned.extend(ids if modality not in allowed else ids[1:])
        return banned

    @staticmethod
    def _choose(logits: torch.Tensor, banned: list[int], temperature: float, generator: torch.Generator) -> int:
        logits = logits.clone()
        if banned:
            logits[banned] = float("-inf")
        if temperature <= 0:
            return int(torch.argmax(logits))
        probs = torch.softmax(logits / temperature, dim=-1).cpu()
        return int(torch.multinomial(probs, 1, generator=generator))


def _penalise(logits: torch.Tensor, seen: list[int], penalty: float) -> torch.Tensor:
    """CTRL's repetition penalty (transformers' own processor): tokens already said become less
    likely (small models loop without it)."""
    if penalty == 1.0 or not seen:
        return logits
    ids = torch.tensor([seen], device=logits.device)
    return RepetitionPenaltyLogitsProcessor(penalty)(ids, logits.unsqueeze(0))[0]
