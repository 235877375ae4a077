"""The MQTT bridge: smart-home devices send requests over MQTT and get the engine's replies back."""

from .bridge import BridgeConfig, MqttBridge, read_password_file
from .replies import reply_payload
from .requests import MqttRequest, RequestError, parse_raw_media, parse_request

__all__ = ["BridgeConfig", "MqttBridge", "MqttRequest", "RequestError", "parse_raw_media", "parse_request",
           "read_password_file", "reply_payload"]
