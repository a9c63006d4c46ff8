"""Surfaces: they translate platform payloads into core calls and render run views back."""
