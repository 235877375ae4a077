"""Speech, the conversation channel: recognition (ASR), voice activity (VAD), synthesis (TTS)."""
