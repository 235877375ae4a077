"""Which requests the world's decoders can make, and which they are told they cannot."""

import pytest

from models.generation_scope import ANYTHING, world_scope
from models.world.attributes import EVERY
from models.world.records import INSTRUCTIONS, REQUESTS


@pytest.mark.parametrize("request_text", ["draw a cat on a sofa", "Make me a picture of a sunset.",
                                          "Can you paint a giraffe?", "make a video of a dog running"])
def test_requests_for_things_outside_the_world_are_caught(request_text: str) -> None:
    assert world_scope().beyond(request_text)


def test_every_world_request_the_training_data_words_is_in_scope() -> None:
    scope = world_scope()
    for kind, attributes in EVERY.items():
        for template in (*REQUESTS[kind], *INSTRUCTIONS[kind]):
            for attribute in attributes:
                assert scope.beyond(template.format(c=attribute.caption)) == [], template


@pytest.mark.parametrize("text", ["What is the capital of France?", "Create a shopping list for a picnic.",
                                  "Tell me about cats."])
def test_text_requests_are_not_checked(text: str) -> None:
    assert world_scope().beyond(text) == []


def test_a_profile_with_real_decoders_makes_anything() -> None:
    assert ANYTHING.beyond("draw a cat on a sofa") == []
