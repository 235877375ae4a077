"""Counts what an LLM runs through its prompt path: the tests of the conversation's kept cache and
of a likely turn's prefill check how many positions each run took."""

from __future__ import annotations

import pytest


def count_prompt_runs(llm, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """From now on, the number of positions of each run of embeddings (a prompt or part of one)
    through `llm` is appended to the returned list; single-token decode steps are not counted."""
    runs: list[int] = []
    forward = llm._forward

    def counting(cache, **inputs):
        if "inputs_embeds" in inputs:
            runs.append(inputs["inputs_embeds"].shape[1])
        return forward(cache, **inputs)

    monkeypatch.setattr(llm, "_forward", counting)
    return runs
