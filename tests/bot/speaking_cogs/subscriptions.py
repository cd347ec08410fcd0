"""The real /subscribe, /subscriptions and /herald config language."""

from cogs.subscriptions import setup

__all__ = ["setup"]
