"""A cog package for error-report tests: a command that fails with its own secret in the error."""
