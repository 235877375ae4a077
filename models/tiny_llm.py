"""A tiny Llama with its own byte-level BPE tokenizer, built from a config in about a second.

For tests and the `tiny` profile: random weights, but a real tokenizer with a ChatML chat
template, saved and loaded through the same `from_pretrained` path as SmolLM2 or Qwen.
"""

from __future__ import annotations

from typing import Any

import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

CHATML_TEMPLATE = (
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>\n'}}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)
_CORPUS = (
    "You are a helpful assistant. What do you see in this image? I see a red circle on a white background. "
    "Draw a blue square. Here is a green triangle. What do you hear? A pulsing high tone, a steady low tone. "
    "Show me a yellow circle moving left. The capital of France is Paris. Hello, how are you today? "
    "Make a sound of a mid tone. Describe the video: a square moving up, right, down. Generate a picture."
)


def build_tiny_tokenizer(vocab_size: int = 400) -> PreTrainedTokenizerFast:
    bpe = Tokenizer(models.BPE(unk_token=None))
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=["<|endoftext|>", "<|im_start|>", "<|im_end|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    bpe.train_from_iterator([_CORPUS] * 4, trainer=trainer)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=bpe, bos_token="<|im_start|>", eos_token="<|im_end|>", pad_token="<|endoftext|>"
    )
    tokenizer.chat_template = CHATML_TEMPLATE
    return tokenizer


def build_tiny_llm(config: dict[str, Any], seed: int = 0) -> tuple[LlamaForCausalLM, PreTrainedTokenizerFast]:
    """A random-weight Llama from `config` (any LlamaConfig field) and its tokenizer."""
    torch.manual_seed(seed)
    options = dict(config)
    tokenizer = build_tiny_tokenizer(int(options.pop("tokenizer_vocab_size", 400)))
    llama = LlamaConfig(
        **{
            "hidden_size": 64,
            "intermediate_size": 128,
            "num_hidden_layers": 2,
            "num_attention_heads": 4,
            "num_key_value_heads": 2,
            "max_position_embeddings": 1024,
            "tie_word_embeddings": True,
            **options,
            "vocab_size": len(tokenizer),
            "bos_token_id": tokenizer.bos_token_id,
            "eos_token_id": tokenizer.eos_token_id,
            "pad_token_id": tokenizer.pad_token_id,
        }
    )
    return LlamaForCausalLM(llama), tokenizer
