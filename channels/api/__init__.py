"""The REST surface: runs over HTTP, their events as Server-Sent Events, an OpenAPI document."""

from channels.api.app import build_api
from channels.api.sse import StreamOptions

__all__ = ["StreamOptions", "build_api"]
