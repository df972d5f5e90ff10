"""Dropout Studio: see which units dropout dropped, and what that did to the loss."""

import os as _os

__version__ = "0.1.0"

# JAX takes 75 % of a GPU's memory when it starts unless told otherwise; Dropout Studio shares
# the card (TensorFlow's memory growth is set in engine/runtime.py). Set before jax imports.
_os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")
