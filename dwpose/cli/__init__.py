"""Command-line interface: `dwpose <command>`."""

from .main import main

__all__ = ["main"]
