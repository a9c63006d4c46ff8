"""Built-in tools a bot may include: they act on the context store through `ToolContext.store`."""
