"""A training failure inside TensorFlow is one clear line, without TensorFlow's Python trace."""

from __future__ import annotations

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from dropout_studio.engine.train import _one_line  # noqa: E402

TRACE = (
    "Graph execution error:\n\nDetected at node functional_1/embedding_1/GatherV2 defined at "
    '(most recent call last):\n  File "<stdin>", line 6, in <module>\n\n  File "/x/keras/src/'
    'backend/tensorflow/trainer.py", line 399, in fit\n\n  File "/x/keras/src/ops/numpy.py", '
    "line 7924, in take\n\nindices[0,0] = 7 is not in [0, 5)\n\t [[{{node functional_1/"
    "embedding_1/GatherV2}}]] [Op:__inference_multi_step_on_iterator_821]"
)


def test_the_embedded_trace_is_cut_to_the_message_and_its_node():
    line = _one_line(RuntimeError(TRACE))
    assert line == "indices[0,0] = 7 is not in [0, 5) (at functional_1/embedding_1/GatherV2)"


def test_a_plain_message_is_joined_on_one_line():
    assert _one_line(ValueError("two\n  lines")) == "two lines"
    assert _one_line(ValueError("")) == "ValueError"
    assert len(_one_line(ValueError("x" * 1000))) == 300


@pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="TensorFlow's own error")
def test_a_real_tensorflow_error_becomes_one_line():
    inputs = keras.Input((3,), dtype="int32")
    flat = keras.layers.Flatten()(keras.layers.Embedding(5, 2)(inputs))
    model = keras.Model(inputs, keras.layers.Dense(2)(flat))
    model.compile("adam", "mse", jit_compile=False)
    with pytest.raises(Exception) as caught:  # noqa: PT011 - whatever TensorFlow raises
        model.fit(np.full((4, 3), 7), np.zeros((4, 2)), verbose=0)
    line = _one_line(caught.value)
    assert "\n" not in line
    assert "File" not in line
    assert "is not in [0, 5)" in line
