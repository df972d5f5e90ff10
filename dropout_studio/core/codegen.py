"""The layer stack as a runnable Keras script or a PyTorch ``nn.Module`` script.

Pure string generation (no TensorFlow, no torch here). Where the two frameworks differ, the
PyTorch script says so in a comment and :func:`pytorch_differences` lists it for the UI: RNN
input dropout (per step in PyTorch, per sequence in Keras), recurrent dropout (none in PyTorch),
second RNN biases, BatchNorm momentum, pooling with 'same' padding.
"""

from __future__ import annotations

from dropout_studio.core.project import Project
from dropout_studio.core.shapes import infer
from dropout_studio.core.spec import LAYER_KINDS, LayerSpec


def _docstring_text(text: str) -> str:
    """``text`` safe inside a generated docstring: a project name is free text (quotes,
    backslashes, NUL, lone surrogates) and must never make the exported script invalid."""
    safe = "".join(c if c.isprintable() else ascii(c)[1:-1] for c in text)
    return safe.replace("\\", "\\\\").replace('"', '\\"')


def _keras_layer(layer: LayerSpec) -> str:
    """``keras.layers.<Class>(...)`` from the registry entry: option names are Keras arguments."""
    entry = LAYER_KINDS[layer.kind]
    arguments = [f"{name}={value!r}" for name, value in entry.keras_arguments(layer).items()]
    if layer.l2:
        arguments += [f"{name}=keras.regularizers.L2({layer.l2!r})" for name in entry.l2_arguments]
    return f"keras.layers.{entry.keras_class}({', '.join(arguments)})"


def _keras_dropout(layer: LayerSpec, rank: int) -> str | None:
    d = layer.dropout
    if not d.active:
        return None
    if d.type == "spatial":
        return f"keras.layers.SpatialDropout{1 if rank == 2 else 2}D({d.rate!r})"
    cls = {"dropout": "Dropout", "gaussian": "GaussianDropout", "alpha": "AlphaDropout"}[d.type]
    return f"keras.layers.{cls}({d.rate!r})"


def keras_script(project: Project) -> str:
    """A script that builds the same model (same parameter count) and trains it one epoch on
    stand-in data of the right shape; replace ``x, y`` with real data."""
    report = infer(project.network)
    if report.errors:
        raise ValueError(report.errors[0].message)
    layers = project.network.layers
    shapes = {r.index: r.output_shape for r in report.layers}
    lines = [f"keras.Input(shape={tuple(layers[0].option('shape'))!r})"]
    for i, layer in enumerate(layers):
        if i:
            lines.append(_keras_layer(layer))
        drop = _keras_dropout(layer, len(shapes.get(i) or ()))
        if drop:
            lines.append(drop)
    body = ",\n        ".join(lines)
    out = report.output_shape or (1,)
    classes = out[0] if layers[-1].option("activation") == "softmax" else 0
    t = project.training
    loss = "sparse_categorical_crossentropy" if classes else "mse"
    x_shape = tuple(d or 8 for d in layers[0].option("shape"))
    make_x = (
        f"np.random.randint(0, {layers[1].option('input_dim')}, (64, *{x_shape!r}))"
        if len(layers) > 1 and layers[1].kind == "Embedding"
        else f"np.random.rand(64, *{x_shape!r}).astype('float32')"
    )
    make_y = (
        f"np.random.randint(0, {classes}, 64)"
        if classes
        else f"np.random.rand(64, {out[0]}).astype('float32')"
    )
    optimizer, rate = _keras_optimizer(t.optimizer), repr(t.learning_rate)
    return f'''"""{_docstring_text(project.name)}: exported from Dropout Studio as a plain Keras script.

Dropout rates are the fraction of units dropped (Keras convention). Expected parameters:
{report.total_params:,} ({report.trainable_params:,} trainable).
"""

import keras
import numpy as np


def build_model():
    return keras.Sequential([
        {body},
    ])


if __name__ == "__main__":
    keras.utils.set_random_seed({t.seed})
    model = build_model()
    model.compile(optimizer=keras.optimizers.{optimizer}(learning_rate={rate}), loss={loss!r})
    # Stand-in data of the right shape: replace with your own x, y.
    x = {make_x}
    y = {make_y}
    model.fit(x, y, batch_size={t.batch_size}, epochs=1, verbose=0)
    print("parameters:", model.count_params())
'''


def _keras_optimizer(name: str) -> str:
    return {"adam": "Adam", "sgd": "SGD", "rmsprop": "RMSprop", "adamw": "AdamW"}[name]


# ---------------------------------------------------------------- PyTorch


def pytorch_differences(project: Project) -> list[str]:
    """Where the PyTorch script cannot match Keras exactly (shown in the UI and the script)."""
    notes: list[str] = []
    for i, layer in enumerate(project.network.layers):
        label = f"layer {i + 1} ({layer.kind})"
        if layer.kind in ("LSTM", "SimpleRNN"):
            notes.append(
                f"{label}: PyTorch RNNs carry a second bias vector, so the parameter "
                "count differs from Keras"
            )
        if layer.input_dropout:
            notes.append(
                f"{label}: input dropout becomes nn.Dropout before the layer, which "
                "draws a new mask at every time step; Keras uses one mask per sequence"
            )
        if layer.recurrent_dropout:
            notes.append(
                f"{label}: recurrent dropout has no PyTorch equivalent and is left out "
                "(nn.LSTM(dropout=...) means dropout between stacked layers)"
            )
        if layer.kind == "BatchNormalization":
            notes.append(
                f"{label}: BatchNorm keeps its statistics as buffers, not parameters; "
                "momentum is set to 0.01 to match Keras' 0.99"
            )
        if (
            layer.kind.endswith(("Pooling1D", "Pooling2D"))
            and "Global" not in layer.kind
            and (layer.option("padding") == "same")
        ):
            notes.append(
                f"{label}: PyTorch pooling has no 'same' padding; output shapes may differ"
            )
        if (
            layer.kind in ("Conv1D", "Conv2D")
            and layer.option("padding") == "same"
            and (layer.option("strides") not in (1, (1, 1)))
        ):
            notes.append(f"{label}: PyTorch allows padding='same' only with stride 1")
        if layer.l2:
            notes.append(f"{label}: the L2 penalty is added to the loss explicitly")
    return notes


def _torch_dropout(layer: LayerSpec, rank: int) -> str | None:
    d = layer.dropout
    if not d.active:
        return None
    if d.type == "spatial":
        return f"nn.Dropout{1 if rank == 2 else 2}d({d.rate!r})"
    if d.type == "gaussian":
        return f"GaussianDropout({d.rate!r})"
    if d.type == "alpha":
        return f"nn.AlphaDropout({d.rate!r})"
    return f"nn.Dropout({d.rate!r})"


def _with_comma(expression: str) -> str:
    code, _, comment = expression.partition("  # ")
    return f"{code},  # {comment}" if comment else f"{code},"


def pytorch_script(project: Project) -> str:
    """An ``nn.Module`` with the same stack and a training loop on stand-in data."""
    report = infer(project.network)
    if report.errors:
        raise ValueError(report.errors[0].message)
    layers = project.network.layers
    shapes = {r.index: r.output_shape or () for r in report.layers}
    modules: list[str] = []
    channels_first = False
    for i, layer in enumerate(layers):
        in_shape = shapes[i - 1] if i else shapes[0]
        out_shape = shapes[i]
        spatial = LAYER_KINDS[layer.kind].channels_first or (
            layer.kind == "BatchNormalization" and len(in_shape) >= 2 and channels_first
        )
        if i and spatial and not channels_first:
            modules.append("ChannelsFirst()")
            channels_first = True
        if i and not spatial and channels_first:
            modules.append("ChannelsLast()  # Keras flattens height, width, channels")
            channels_first = False
        if i:
            modules.extend(LAYER_KINDS[layer.kind].torch(layer, tuple(in_shape), tuple(out_shape)))
        drop = _torch_dropout(layer, len(out_shape))
        if drop:
            if layer.dropout.type == "spatial" and not channels_first:
                modules.extend(["ChannelsFirst()", drop, "ChannelsLast()"])
            else:
                modules.append(drop)
    if channels_first:
        modules.append("ChannelsLast()")
    out = report.output_shape or (1,)
    softmax_out = layers[-1].option("activation") == "softmax"
    if softmax_out and modules and modules[-1].startswith("nn.Softmax"):
        modules.pop()  # CrossEntropyLoss applies log-softmax itself
    notes = pytorch_differences(project)
    note_text = "\n".join(f"# - {n}" for n in notes) or "# - none: trainable parameters match"
    body = "\n            ".join(_with_comma(m) for m in modules)
    t = project.training
    l2_layers = [i for i, layer in enumerate(layers) if layer.l2]
    x_shape = tuple(d or 8 for d in layers[0].option("shape"))
    int_input = len(layers) > 1 and layers[1].kind == "Embedding"
    trainable = report.trainable_params
    torch_trainable = expected_torch_parameters(project)
    loss = "nn.CrossEntropyLoss()" if softmax_out else "nn.MSELoss()"
    make_x = (
        f"torch.randint(0, {layers[1].option('input_dim')}, (64, *{x_shape!r}))"
        if int_input
        else f"torch.rand(64, *{x_shape!r})"
    )
    make_y = f"torch.randint(0, {out[0]}, (64,))" if softmax_out else f"torch.rand(64, {out[0]})"
    optimizer, rate = _keras_optimizer(t.optimizer), repr(t.learning_rate)
    return f'''"""{_docstring_text(project.name)}: exported from Dropout Studio as a PyTorch script.

Keras inputs are channels-last; convolutions here run channels-first between ChannelsFirst()
and ChannelsLast(), so Flatten sees the same order as in Keras.
Rates are the fraction dropped, as in nn.Dropout(p).

Differences from the Keras model:
{note_text}
Expected trainable parameters: {torch_trainable:,} (Keras: {trainable:,}).
"""

import math

import torch
from torch import nn


class ChannelsFirst(nn.Module):
    def forward(self, x):
        return x.movedim(-1, 1)


class ChannelsLast(nn.Module):
    def forward(self, x):
        return x.movedim(1, -1)


class Lambda(nn.Module):
    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, x):
        return self.fn(x)


class LastStep(nn.Module):
    """Runs an RNN; keeps every step (return_sequences) or only the last, as Keras does."""

    def __init__(self, rnn, return_sequences):
        super().__init__()
        self.rnn, self.return_sequences = rnn, return_sequences

    def forward(self, x):
        out, _ = self.rnn(x)
        return out if self.return_sequences else out[:, -1]


class GaussianDropout(nn.Module):
    """Keras' GaussianDropout: multiplicative noise with mean 1, std sqrt(rate / (1 - rate))."""

    def __init__(self, rate):
        super().__init__()
        self.std = math.sqrt(rate / (1 - rate))

    def forward(self, x):
        if not self.training:
            return x
        return x * (1 + self.std * torch.randn_like(x))


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.Sequential(
            {body}
        )

    def forward(self, x):
        return self.layers(x)


if __name__ == "__main__":
    torch.manual_seed({t.seed})
    net = Net()
    print("trainable parameters:", sum(p.numel() for p in net.parameters() if p.requires_grad))
    optimizer = torch.optim.{optimizer}(net.parameters(), lr={rate})
    loss_fn = {loss}
    # Stand-in data of the right shape: replace with your own x, y.
    x, y = {make_x}, {make_y}
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y),
                                         batch_size={t.batch_size}, shuffle=True)
    l2_layers = {l2_layers!r}  # penalized in Keras; see the notes above
    net.train()  # dropout on
    for xb, yb in loader:
        optimizer.zero_grad()
        loss = loss_fn(net(xb), yb)
        loss.backward()
        optimizer.step()
    net.eval()  # dropout off, as at inference
    with torch.no_grad():
        print("loss after one epoch:", float(loss_fn(net(x), y)))
'''


def expected_torch_parameters(project: Project) -> int:
    """Trainable parameters of the PyTorch script: Keras' count plus the second RNN biases."""
    extra = sum(
        LAYER_KINDS[layer.kind].torch_extra_params(layer) for layer in project.network.layers
    )
    return infer(project.network).trainable_params + extra
