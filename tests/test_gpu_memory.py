"""The app never takes a whole GPU: JAX's preallocation is off unless the user chose."""

from __future__ import annotations

import os
import subprocess
import sys


def _value_after_import(env: dict[str, str]) -> str:
    code = "import dropout_studio, os; print(os.environ['XLA_PYTHON_CLIENT_PREALLOCATE'])"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    return result.stdout.strip()


def test_jax_preallocation_is_off_by_default_and_the_users_choice_wins():
    env = {k: v for k, v in os.environ.items() if k != "XLA_PYTHON_CLIENT_PREALLOCATE"}
    assert _value_after_import(env) == "false"
    assert _value_after_import({**env, "XLA_PYTHON_CLIENT_PREALLOCATE": "true"}) == "true"
