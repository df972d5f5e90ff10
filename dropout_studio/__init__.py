"""Dropout Studio: see which units dropout dropped, and what that did to the loss."""

__version__ = "0.1.0"
