"""Built-in tools a bot may include: they act through the narrow ports `ToolContext` carries."""
