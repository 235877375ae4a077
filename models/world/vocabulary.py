"""Every word a request to the world's decoders may use: the captions of every world medium and
the wording of every generation request the world's training data holds."""

from __future__ import annotations

import re
from functools import cache

from .attributes import EVERY
from .records import FOLLOW_UPS, HOLD_IT_STILL, INSTRUCTIONS, REQUESTS, SET_IT_MOVING


@cache
def world_words() -> frozenset[str]:
    texts = [a.caption for kind in EVERY.values() for a in kind]
    texts += [t for group in (REQUESTS, INSTRUCTIONS, FOLLOW_UPS) for kind in group.values() for t in kind]
    texts += [*SET_IT_MOVING, *HOLD_IT_STILL]
    return frozenset(w for text in texts for w in re.findall(r"[a-z]+", text.lower()))
