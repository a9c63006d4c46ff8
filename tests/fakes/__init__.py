"""Protocol-level stand-ins that record what they receive."""
