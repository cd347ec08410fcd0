"""A cog package for channel-language tests: /subscribe and /herald config language, and a
source whose cards say which language they were built in."""
