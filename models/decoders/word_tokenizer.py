"""A word-level tokenizer for the small decoders' text encoders, built from a word list in milliseconds.

The small bundled decoders learn from captions of a tiny synthetic world ("a red circle", "a pulsing
high tone", "a blue square moving left"), so one id per word is enough. It is a real Hugging Face fast
tokenizer: it saves with `save_pretrained`, loads back with `AutoTokenizer.from_pretrained`, and loads
as the `tokenizer` component of a diffusers pipeline, so `encode_prompt` calls it exactly as it calls
CLIP's tokenizer (padding to `model_max_length`, truncation, BOS/EOS added).
"""

from __future__ import annotations

from collections.abc import Iterable

from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors
from transformers import PreTrainedTokenizerFast

PAD, UNK, BOS, EOS = "[PAD]", "[UNK]", "[BOS]", "[EOS]"
SPECIAL_TOKENS = (PAD, UNK, BOS, EOS)  # ids 0, 1, 2, 3 in this order

_COMMON = (
    "a an the this that these those it its is are was were be been being has have had do does did "
    "and or but not no yes with without of in on at to from by for into onto over under above below "
    "near far behind front between around through across up down left right top bottom middle center "
    "i you he she we they me my your our their what which who where when why how here there then now "
    "show make draw generate create play give see hear look listen describe picture image photo sound "
    "audio video clip movie scene background foreground object shape thing one two three four many some "
    "all each every other more less very quite slightly again still just only also too so as than like "
    "please can could would will shall should may might must hello hi thanks thank okay good bad "
    "big small large tiny little huge long short tall wide narrow thick thin bright dark light dim "
    "fast slow quick quickly slowly steady steadily moving moves move moved rotating rotates spinning "
    "spins growing grows shrinking shrinks bouncing bounces falling falls rising rises sliding slides "
    "appearing appears disappearing disappears flashing flashes blinking blinks fading fades "
    "beside next to toward towards away after before while during"
)
_COLOURS = (
    "red green blue yellow orange purple violet pink brown black white grey gray cyan magenta "
    "teal navy maroon olive lime gold silver beige turquoise indigo colour color colours colors coloured colored"
)
_SHAPES = (
    "circle circles square squares triangle triangles rectangle rectangles star stars dot dots disc disk "
    "ball balls box boxes line lines ring rings cross crosses diamond diamonds hexagon oval ellipse "
    "heart arrow stripe stripes grid pattern filled outline solid hollow round"
)
_TONES = (
    "tone tones beep beeps note notes chord hum buzz chirp chirps click clicks noise silence silent "
    "high low mid middle pitch pitched loud quiet soft pulsing pulse pulses steady rising falling sweep "
    "sweeping warbling vibrato sine square sawtooth whistle bell ring ringing drum drums rhythm beat "
    "beats melody music musical hz second seconds"
)
_DIRECTIONS = (
    "north south east west northeast northwest southeast southwest up down left right upward upwards "
    "downward downwards leftward leftwards rightward rightwards forward forwards backward backwards "
    "clockwise anticlockwise counterclockwise diagonal diagonally horizontal horizontally vertical vertically"
)
_PUNCTUATION = ". , ! ? ' \" - : ; ( )"

DEFAULT_WORDS: tuple[str, ...] = tuple(
    dict.fromkeys(" ".join((_COMMON, _COLOURS, _SHAPES, _TONES, _DIRECTIONS, _PUNCTUATION)).split())
)
"""The default vocabulary: common English words, colours, shapes, tones, directions and punctuation."""


def _normalizer() -> normalizers.Normalizer:
    return normalizers.Sequence([normalizers.NFD(), normalizers.StripAccents(), normalizers.Lowercase()])


def _pre_tokenizer() -> pre_tokenizers.PreTokenizer:
    return pre_tokenizers.Sequence([pre_tokenizers.WhitespaceSplit(), pre_tokenizers.Punctuation()])


def build_word_tokenizer(words: Iterable[str] = DEFAULT_WORDS, max_length: int = 16) -> PreTrainedTokenizerFast:
    """A WordLevel tokenizer over `words` (lower-cased, accents stripped; an entry such as "light-blue"
    is split the way text is, into "light", "-", "blue"). Ids: [PAD] 0, [UNK] 1, [BOS] 2, [EOS] 3, then
    the words in first-seen order. Every encoding is `[BOS] words [EOS]`; `model_max_length` is
    `max_length` and counts BOS and EOS."""
    if max_length < 2:
        raise ValueError(f"max_length must leave room for [BOS] and [EOS], got {max_length}")
    normalizer, pre_tokenizer = _normalizer(), _pre_tokenizer()
    vocab = {token: index for index, token in enumerate(SPECIAL_TOKENS)}
    for word in words:
        for piece, _ in pre_tokenizer.pre_tokenize_str(normalizer.normalize_str(word)):
            vocab.setdefault(piece, len(vocab))
    tokenizer = Tokenizer(models.WordLevel(vocab, unk_token=UNK))
    tokenizer.normalizer = normalizer
    tokenizer.pre_tokenizer = pre_tokenizer
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{BOS} $A {EOS}",
        pair=f"{BOS} $A {EOS} $B:1 {EOS}:1",
        special_tokens=[(BOS, vocab[BOS]), (EOS, vocab[EOS])],
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        model_max_length=max_length,
        padding_side="right",
        pad_token=PAD,
        unk_token=UNK,
        bos_token=BOS,
        eos_token=EOS,
    )
