"""Exported scripts stay valid Python whatever the project's name holds."""

from __future__ import annotations

import ast
from dataclasses import replace

import pytest

from dropout_studio.core.codegen import keras_script, pytorch_script
from dropout_studio.core.project import load_preset


@pytest.mark.parametrize("name", ["a\x00b", "\ud800 lone", 'q"""z\\', "é\\n'\"", "x" * 300])
@pytest.mark.parametrize("generate", [keras_script, pytorch_script])
def test_any_project_name_gives_a_valid_script(name, generate):
    source = generate(replace(load_preset("lstm-sequence"), name=name))
    source.encode("utf-8")  # writable as a file
    tree = ast.parse(source)
    docstring = ast.get_docstring(tree)
    assert docstring is not None
    assert ": exported from Dropout Studio" in docstring
    assert name.isprintable() <= docstring.startswith(name)  # printable names stay readable
