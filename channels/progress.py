"""How a surface names a tool while it runs: "lookup_order" → "Looking up order". Shared by the
surfaces' renderers, which each add their own icon and markup."""

from __future__ import annotations

_VERBS = {
    "lookup": "Looking up",
    "get": "Getting",
    "find": "Finding",
    "search": "Searching",
    "list": "Listing",
    "check": "Checking",
    "fetch": "Fetching",
    "create": "Creating",
    "update": "Updating",
    "delete": "Deleting",
    "send": "Sending",
    "refund": "Refunding",
    "cancel": "Cancelling",
    "ask": "Asking",
}


def tool_phrase(tool: str) -> str | None:
    """ "lookup_order" → "Looking up order"; None when the tool's name starts with no known verb."""
    verb, _, rest = tool.partition("_")
    if verb in _VERBS and rest:
        return f"{_VERBS[verb]} {rest.replace('_', ' ')}"
    return None
