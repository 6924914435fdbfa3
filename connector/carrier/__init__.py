"""Carrier links: the asyncio ESME client, and later the bind pools per carrier."""
