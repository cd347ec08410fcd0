"""A cog package for adapter tests: commands that exercise what real cogs will need."""
