"""The model port and its OpenAI-compatible gateway."""
