"""The browser surface: a chat page and run inspector served as static files, talking to the API."""

from channels.web.app import web_routes

__all__ = ["web_routes"]
