"""Hypothesis strategies built from the registries, so a new option or kind is fuzzed at once."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from dropout_studio.core.datasets import (
    BUILTIN,
    DATASET_FIELDS,
    DATASET_OPTIONS,
    SYNTHETIC,
    DatasetSpec,
)
from dropout_studio.core.layer_kinds import MAX_RANK, OptionSpec
from dropout_studio.core.project import TRAINING_OPTIONS, Project, TrainingSpec
from dropout_studio.core.spec import (
    DROPOUT_TYPES,
    LAYER_FIELDS,
    LAYER_KINDS,
    DropoutSpec,
    LayerSpec,
    NetworkSpec,
)

NAMES = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["x/../../../outside", "a\x00b", "\ud800lone", "é" * 300, ""]),
)


def option_values(spec: OptionSpec, small: bool = False) -> st.SearchStrategy[Any]:
    """Every value ``spec`` accepts (``small`` keeps sizes cheap to train)."""
    low = spec.minimum
    high = spec.maximum
    if small and high is not None:
        high = min(high, 16 if spec.value_type in ("int", "size") else high)
    if spec.choices:
        values: st.SearchStrategy[Any] = st.sampled_from(spec.choices)
    elif spec.value_type == "bool":
        values = st.booleans()
    elif spec.value_type == "int":
        values = st.integers(int(low) if low is not None else None, int(high) if high else None)
    elif spec.value_type == "float":
        values = st.floats(
            low, high, exclude_max=spec.exclusive_maximum, allow_nan=False, allow_infinity=False
        )
    elif spec.value_type == "text":
        values = NAMES if not high else st.text(max_size=min(int(high), 40))
    elif spec.value_type == "size":
        one = st.integers(int(low or 1), int(high or 8))
        values = one | st.tuples(*[one] * spec.axes) if spec.axes > 1 else one
    else:  # shape
        dimension = st.integers(1, 16 if small else 1_000_000)
        values = st.lists(dimension | st.none(), min_size=1, max_size=MAX_RANK).map(tuple)
    return st.none() | values if spec.nullable else values


@st.composite
def layers(draw: st.DrawFn) -> LayerSpec:
    """Any layer whose every field is in its registry range (the stack may still be invalid)."""
    kind = draw(st.sampled_from(sorted(LAYER_KINDS)))
    entry = LAYER_KINDS[kind]
    options = {o.name: draw(option_values(o)) for o in entry.options if draw(st.booleans())}
    fields = {o.name: draw(option_values(o)) for o in LAYER_FIELDS if draw(st.booleans())}
    dropout_type = draw(st.sampled_from(DROPOUT_TYPES))
    rate = draw(st.floats(0, 1, exclude_max=True))
    return LayerSpec.make(kind, DropoutSpec(dropout_type, rate), **fields, **options)


@st.composite
def datasets(draw: st.DrawFn) -> DatasetSpec:
    values = {key: draw(option_values(spec)) for key, spec in DATASET_FIELDS.items()}
    chosen = draw(st.lists(st.sampled_from(sorted(DATASET_OPTIONS)), unique=True, max_size=4))
    options = tuple(sorted((key, draw(option_values(DATASET_OPTIONS[key]))) for key in chosen))
    return DatasetSpec(**values, options=options)


@st.composite
def trainings(draw: st.DrawFn) -> TrainingSpec:
    values = {
        key: draw(option_values(spec)) for key, spec in TRAINING_OPTIONS.items() if key != "device"
    }
    device = draw(st.sampled_from(["auto", "cpu", "gpu", "gpu:0", "cpu:1"]))
    return TrainingSpec(**values, device=device)


@st.composite
def projects(draw: st.DrawFn) -> Project:
    """Any project that save can write: every field valid on its own, combinations free."""
    return Project(
        name=draw(NAMES),
        dataset=draw(datasets()),
        network=NetworkSpec.of(draw(st.lists(layers(), max_size=6))),
        training=draw(trainings()),
        description=draw(st.text(max_size=60)),
    )


# ---------------------------------------------------------------- trainable projects

SMALL_SETS = [
    ("synthetic", "moons"),
    ("synthetic", "spirals"),
    ("synthetic", "sine"),
    ("synthetic", "shapes"),
    ("synthetic", "wave"),
    ("builtin", "iris"),
]
RANK_KINDS = {
    1: ["Dense", "BatchNormalization"],
    2: ["Conv1D", "MaxPooling1D", "GlobalAveragePooling1D", "LSTM", "GRU", "SimpleRNN", "Dense"],
    3: ["Conv2D", "MaxPooling2D", "AveragePooling2D", "GlobalAveragePooling2D", "Flatten"],
}


@st.composite
def trainable_projects(draw: st.DrawFn) -> Project:
    """Small projects shaped to fit their data, drawn so that ``check`` passes often."""
    from dropout_studio.core.datasets import known_signature

    source, name = draw(st.sampled_from(SMALL_SETS))
    options: dict[str, Any] = {}
    if source == "synthetic":
        options["samples"] = draw(st.integers(20, 200))
        if name == "spirals":
            options["arms"] = draw(st.integers(2, 4))
        if name == "sine":
            options["steps"] = draw(st.integers(2, 12))
        if name == "shapes":
            options["size"] = draw(st.integers(6, 12))
            options["channels"] = draw(st.sampled_from([1, 3]))
    dataset = DatasetSpec(
        source,
        name,
        train_size=draw(st.none() | st.integers(2, 60)),
        validation_split=draw(st.sampled_from([0.0, 0.1, 0.2, 0.4])),
        test_split=draw(st.sampled_from([0.0, 0.2, 0.3])),
        standardize=draw(st.booleans()),
        options=tuple(sorted(options.items())),
    )
    signature = known_signature(dataset)
    assert signature is not None
    shape = signature.input_shape
    stack = [LayerSpec.make("Input", shape=shape, dropout=draw(_dropouts()))]
    for _ in range(draw(st.integers(0, 3))):
        kind = draw(st.sampled_from(RANK_KINDS.get(len(shape), ["Dense"])))
        entry = LAYER_KINDS[kind]
        options_drawn = {
            o.name: draw(option_values(o, small=True)) for o in entry.options if draw(st.booleans())
        }
        fields = {}
        if entry.recurrent:
            fields = {
                "input_dropout": draw(st.sampled_from([0.0, 0.2])),
                "recurrent_dropout": draw(st.sampled_from([0.0, 0.3])),
            }
        if entry.weighted:
            fields["l2"] = draw(st.sampled_from([0.0, 1e-6, 0.01]))
        layer = LayerSpec.make(kind, draw(_dropouts()), **fields, **options_drawn)
        stack.append(layer)
        from dropout_studio.core.shapes import infer

        out = infer(NetworkSpec.of(stack)).output_shape
        if out is None:
            stack.pop()
        else:
            shape = out
    if len(shape) > 1:
        stack.append(LayerSpec.make("Flatten"))
    activation = "softmax" if signature.classes else "linear"
    stack.append(LayerSpec.make("Dense", units=signature.outputs, activation=activation))
    training = TrainingSpec(
        optimizer=draw(st.sampled_from(["adam", "sgd", "rmsprop", "adamw"])),
        learning_rate=draw(st.sampled_from([1e-3, 0.05, 5.0])),
        batch_size=draw(st.sampled_from([1, 7, 32, 1_000_000])),
        epochs=1,
        seed=draw(st.sampled_from([0, 1, 2**31 - 1])),
        early_stopping=draw(st.sampled_from([0, 1, 1_000_000])),
        loop=draw(st.sampled_from(["auto", "compiled", "fit"])),
        device=draw(st.sampled_from(["auto", "cpu", "gpu:7"])),
    )
    return Project(draw(NAMES), dataset, NetworkSpec.of(stack), training)


@st.composite
def _dropouts(draw: st.DrawFn) -> DropoutSpec:
    kind = draw(st.sampled_from(["none", "dropout", "gaussian", "alpha", "spatial"]))
    return DropoutSpec(kind, draw(st.sampled_from([0.0, 0.1, 0.5, 0.9])))


__all__ = ["BUILTIN", "SYNTHETIC", "layers", "projects", "trainable_projects"]
