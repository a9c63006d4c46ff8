"""The stateless step worker: one step is one model call or one tool call."""
