"""MQTT request checking without a broker: what is refused, and that the message names the field and
what it allows; and that good requests come through."""

from __future__ import annotations

import base64
import json

import numpy as np
import pytest

from assistant.mqtt import RequestError, parse_request
from models.media import ImageData, encode_png

PNG = base64.b64encode(encode_png(ImageData(np.full((8, 8, 3), 90, np.uint8)))).decode()


def refusal(request: object, **limits: int) -> str:
    with pytest.raises(RequestError) as caught:
        parse_request(json.dumps(request).encode(), **limits)
    assert caught.value.code == "bad_request"
    assert "pydantic" not in caught.value.message and "\n" not in caught.value.message  # no library text
    return caught.value.message


@pytest.mark.parametrize("request_, names", [
    ({"text": "hi", "colour": "red"}, ["`colour`", "id, text, media, want, session"]),
    ({"media": [{"modality": "image", "data": PNG, "name": "a.png"}]}, ["`media[0].name`", "modality, mime, data"]),
])
def test_an_unknown_field_is_refused_by_name(request_, names):
    message = refusal(request_)
    assert all(name in message for name in names), message


@pytest.mark.parametrize("request_, names", [
    ({"text": "hi", "want": 3}, ["`want`", "a list"]),
    ({"text": ["hi"]}, ["`text`", "a string"]),
    ({"text": 5}, ["`text`", "a string"]),
    ({"text": "hi", "session": 7}, ["`session`", "a string"]),
    ({"text": "hi", "id": True}, ["`id`", "a string"]),
    ({"media": {"modality": "image"}}, ["`media`", "a list"]),
    ({"media": ["image"]}, ["`media[0]`", "an object"]),
    ({"media": [{"modality": "image", "mime": 1, "data": PNG}]}, ["`media[0].mime`", "a string"]),
    ({"media": [{"modality": "image", "data": 12}]}, ["`media[0].data`", "base64"]),
])
def test_a_wrong_type_is_refused_by_name(request_, names):
    message = refusal(request_)
    assert all(name in message for name in names), message


@pytest.mark.parametrize("request_, names", [
    ({"text": "hi", "want": ["smell"]}, ["`want[0]`", "'smell'", "'speech'", "'video'"]),
    ({"text": "hi", "want": [1]}, ["`want[0]`", "'text'"]),
    ({"media": [{"modality": "smell", "data": PNG}]}, ["`media[0].modality`", "'image'", "'audio'"]),
    ({"media": [{"modality": {"a": 1}, "data": ""}]}, ["`media[0].modality`"]),
    ({"media": [{"modality": "image", "data": "!!not base64!!"}]}, ["`media[0].data`", "not valid base64"]),
    ({"media": [{"modality": "image"}]}, ["`media[0].data`", "missing"]),
    ({"id": "x" * 65, "text": "hi"}, ["`id`", "65 characters", "64"]),
    ({"session": "s" * 129, "text": "hi"}, ["`session`", "128"]),
    ({"id": "empty"}, ["nothing to answer"]),
    ({"text": "  ", "media": []}, ["nothing to answer"]),
])
def test_a_value_out_of_bounds_says_what_is_allowed(request_, names):
    message = refusal(request_)
    assert all(name in message for name in names), message


def test_too_many_media_are_refused_before_any_is_checked():
    message = refusal({"media": [{"modality": "image", "data": "!"}] * 3}, max_media=2)
    assert message == "`media` has 3 items, over the limit of 2"


def test_a_long_unknown_field_name_is_not_echoed_whole():
    message = refusal({"text": "hi", "k" * 10_000: 1})
    assert len(message) < 200


def test_several_problems_are_named_together():
    message = refusal({"text": 1, "want": "text", "session": [], "extra": 0})
    assert all(name in message for name in ("`text`", "`want`", "`session`")) and "1 more" in message


def test_good_requests_come_through():
    plain = parse_request(b'{"text": "hi"}')
    assert (plain.text, plain.want, plain.session, plain.media) == ("hi", frozenset({"text"}), None, ())
    assert plain.id  # made up
    full = parse_request(json.dumps({"id": "r1", "text": "what is this?", "want": ["image", "speech"],
                                     "session": "kitchen", "media": [{"modality": "image", "mime": "image/png",
                                                                      "data": PNG}]}).encode())
    assert (full.id, full.want, full.session) == ("r1", frozenset({"image", "speech"}), "kitchen")
    [image] = full.media
    assert isinstance(image, ImageData) and image.pixels.shape[:2] == (8, 8)
    nulls = parse_request(b'{"id": null, "text": "hi", "want": null, "session": null, "media": []}')
    assert nulls.id and nulls.want == frozenset({"text"}) and nulls.session is None
    assert parse_request(b'{"id": "", "text": "hi", "want": []}').want == frozenset({"text"})  # [] is the default
