"""Sans-I/O SMPP 3.4: constants, errors, typed PDUs, the codec, the framer and the session.

Nothing in this package touches a socket, a clock, asyncio or Redis.
"""
