"""The real cogs with a recording `emit`: see `tests.seam`."""
