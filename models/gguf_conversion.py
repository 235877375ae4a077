"""One-time conversion of a GGUF checkpoint to safetensors in the user cache folder.

De-quantising a GGUF is slow and loading safetensors is fast, so it is done once (docs/profiles.md
has the times). The conversion shows transformers' progress bar and is written to a
temporary folder first, so an interrupted conversion is redone, never half-used.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from pathlib import Path

from platformdirs import user_cache_dir

log = logging.getLogger(__name__)


def cache_root() -> Path:
    return Path(os.environ.get("NEXTGPT_CACHE") or user_cache_dir("nextgpt-live"))


def converted_folder(folder: Path, gguf_file: str) -> Path:
    """A folder holding the safetensors model and tokenizer of `folder/gguf_file`, converting once."""
    source = folder / gguf_file
    stat = source.stat()
    target = cache_root() / "converted" / f"{source.stem}-{stat.st_size}-{int(stat.st_mtime)}"
    if (target / "config.json").is_file():
        return target
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    log.warning("Converting %s to safetensors once (about 20 s); later starts load the copy in %s", source.name, target)
    bars_were_on = hf_logging.is_progress_bar_enabled()
    hf_logging.enable_progress_bar()  # the conversion's own progress bar
    try:
        tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=gguf_file)
        model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=gguf_file)
    finally:
        if not bars_were_on:
            hf_logging.disable_progress_bar()
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".converting-", dir=target.parent))
    try:
        model.save_pretrained(staging)
        tokenizer.save_pretrained(staging)
        os.replace(staging, target)
    except OSError:
        shutil.rmtree(staging, ignore_errors=True)
        if not (target / "config.json").is_file():  # not a concurrent conversion that won the race
            raise
    return target
