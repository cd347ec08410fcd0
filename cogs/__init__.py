"""Service cogs: each module or package here exposes `async def setup(core)`."""
