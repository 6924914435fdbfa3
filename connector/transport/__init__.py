"""asyncio drivers of the sans-I/O SMPP session."""
