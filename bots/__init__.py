"""Bot declarations: instructions, model choice, tools and their policies. No runtime code."""
