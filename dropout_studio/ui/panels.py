"""Dataset and training-settings panels: views over the document's dataset and training specs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QSlider,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from dropout_studio.core.datasets import BUILTIN, DATASET_FIELDS, SOURCES, SYNTHETIC
from dropout_studio.core.document import ProjectDocument
from dropout_studio.core.project import OPTIMIZERS, TRAINING_OPTIONS, Project
from dropout_studio.ui.option_widgets import float_spin, int_spin
from dropout_studio.ui.sample_view import draw_preview
from dropout_studio.ui.words import IconMessage

Editor = Callable[[Project, str], None]
QT_INT_MAX = 2**31 - 1
UNKNOWN_MAXIMUM = 999_999


def available_training_samples(data: Any, project: Project) -> int:
    """How many samples the split's training part holds before ``train_size`` takes some.

    An engine Dataset that says so (``train_available``) is believed; otherwise the count is
    exact when every training sample was taken, and estimated from the validation and test
    sizes when ``train_size`` took fewer."""
    known = getattr(data, "train_available", None)
    if known is not None:
        return int(known)
    ds, taken = project.dataset, len(data.x_train)
    if ds.train_size is None or taken < ds.train_size:
        return taken
    held = len(data.x_val) + len(data.x_test)
    fraction = ds.validation_split + ds.test_split
    if not 0 < fraction < 1:
        return taken
    return max(taken, round(held / fraction) - held)


class DatasetPanel(QGroupBox):
    """Dataset choice, the small-data ``train_size`` slider, and a preview of the samples."""

    def __init__(
        self, document: ProjectDocument, edit: Editor, parent: QWidget | None = None
    ) -> None:
        super().__init__("Dataset", parent)
        self.document, self.edit = document, edit
        self.source = QComboBox()
        self.source.addItems(list(SOURCES))
        self.source.setToolTip(
            "built-in (scikit-learn), synthetic, or your own CSV / NPZ / image folder"
        )
        self.name = QComboBox()
        self.name.setToolTip("Which built-in or synthetic dataset")
        self.path = QLineEdit()
        self.path.setPlaceholderText("file or folder, relative to the project")
        self.path.setToolTip(
            "CSV file, .npz with arrays x and y, or a folder with one sub-folder per class"
        )
        self.browse = QToolButton()
        self.browse.setText("…")
        self.browse.setToolTip("Browse: choose the data file or folder")
        self.train_size = int_spin(DATASET_FIELDS["train_size"])
        # Until the data is known, six digits (a 1,000,000,000 maximum makes the box too wide
        # for a laptop's side panel); then the training part's size.
        self.train_size.setMaximum(UNKNOWN_MAXIMUM)
        self.train_size.setToolTip(
            "Training samples used (stratified); fewer samples show "
            "overfitting and what dropout does about it"
        )
        self.train_slider = QSlider(Qt.Orientation.Horizontal)
        self.train_slider.setRange(2, 2)
        self.train_slider.setEnabled(False)
        self.train_slider.setToolTip(
            "Training samples used, from 2 up to the whole training part of the split "
            "(the range follows the data once its preview has loaded)"
        )
        self.train_all = QCheckBox("all")
        self.train_all.setToolTip("Train on every sample of the training part of the split")
        self.train_available: int | None = None
        self._exact_counts: dict[tuple[Any, int], int] = {}
        self.validation = float_spin(DATASET_FIELDS["validation_split"])
        self.test = float_spin(DATASET_FIELDS["test_split"])
        for spin, what in ((self.validation, "validation"), (self.test, "held-out test")):
            spin.setSingleStep(0.05)
            spin.setToolTip(f"Fraction of all samples in the {what} set")
        path_row = QHBoxLayout()
        path_row.addWidget(self.path, 1)
        path_row.addWidget(self.browse)
        size_row = QHBoxLayout()
        size_row.addWidget(self.train_size, 1)
        size_row.addWidget(self.train_all)
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.addRow("source", self.source)
        form.addRow("dataset", self.name)
        form.addRow("path", path_row)
        form.addRow("train size", size_row)
        form.addRow("", self.train_slider)  # a row of its own: never squeezed to a handle
        form.addRow("validation", self.validation)
        form.addRow("test", self.test)
        self.info = QLabel("preview appears once the engine has loaded")
        self.info.setWordWrap(True)
        self.preview = pg.PlotWidget()
        self.preview.setBackground(self.palette().base().color())
        self.preview.setMinimumHeight(150)
        self.preview.hideAxis("left")
        self.preview.hideAxis("bottom")
        self.preview.setToolTip("A sample of the training data")
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.info)
        self.error = IconMessage()
        self.error.setVisible(False)
        layout.addWidget(self.error)
        layout.addWidget(self.preview, 1)
        self.source.activated.connect(lambda _: self._commit(source=self.source.currentText()))
        self.name.activated.connect(lambda _: self._commit(name=self.name.currentText()))
        self.path.editingFinished.connect(lambda: self._commit(path=self.path.text() or None))
        self.browse.clicked.connect(self._browse)
        self.train_size.editingFinished.connect(
            lambda: self._commit(train_size=self.train_size.value())
        )
        self.train_slider.sliderReleased.connect(
            lambda: self._commit(train_size=self.train_slider.value())
        )
        self.train_slider.valueChanged.connect(self._on_train_slider_moved)
        self.train_all.toggled.connect(self._on_train_all_toggled)
        self.validation.editingFinished.connect(
            lambda: self._commit(validation_split=self.validation.value())
        )
        self.test.editingFinished.connect(lambda: self._commit(test_split=self.test.value()))
        document.subscribe(self._on_document_changed, ("dataset", "replaced"))
        self._on_document_changed(document)

    def _on_document_changed(self, document: ProjectDocument) -> None:
        ds = document.project.dataset
        widgets = (
            self.source,
            self.name,
            self.path,
            self.train_size,
            self.train_slider,
            self.train_all,
            self.validation,
            self.test,
        )
        for w in widgets:
            w.blockSignals(True)
        self.source.setCurrentText(ds.source)
        self.name.clear()
        names = list(BUILTIN) if ds.source == "builtin" else list(SYNTHETIC)
        self.name.addItems(names if ds.source in ("builtin", "synthetic") else [])
        self.name.setCurrentText(ds.name)
        self.name.setEnabled(ds.source in ("builtin", "synthetic"))
        self.path.setText(ds.path or "")
        self.path.setEnabled(ds.source in ("csv", "npz", "images"))
        self.browse.setEnabled(self.path.isEnabled())
        self.validation.setValue(ds.validation_split)
        self.test.setValue(ds.test_split)
        self._show_train_size()
        for w in widgets:
            w.blockSignals(False)

    # train size -------------------------------------------------------------
    def _show_train_size(self) -> None:
        """'all' ticked, or the chosen count on a slider from 2 to the samples available."""
        size = self.document.project.dataset.train_size
        available = self.train_available
        if size is not None:  # Qt's widgets hold 32-bit ints; no set is that large
            size = min(size, QT_INT_MAX)
        if available is not None:
            available = min(available, QT_INT_MAX)
        self.train_all.setChecked(size is None)
        self.train_slider.setRange(2, max(2, available or 2))
        self.train_size.setMaximum(
            max(2, available, size or 2) if available is not None else UNKNOWN_MAXIMUM
        )
        shown = size if size is not None else (available or self.train_size.value())
        self.train_size.setValue(shown)
        self.train_slider.setValue(min(shown, self.train_slider.maximum()))
        self.train_size.setEnabled(size is not None)
        self.train_slider.setEnabled(size is not None and available is not None)
        if size is None and available is None:
            self.train_size.clear()  # "all" of a set not loaded yet: no made-up number

    def _available(self, data: Any) -> int:
        """Exact counts seen for this split (with 'all' ticked) win over later estimates."""
        project = self.document.project
        ds = project.dataset
        key = (replace(ds, train_size=None), project.training.seed)
        count = available_training_samples(data, project)
        exact = (
            getattr(data, "train_available", None) is not None
            or ds.train_size is None
            or len(data.x_train) < ds.train_size
        )
        if exact:
            self._exact_counts[key] = count
        return self._exact_counts.get(key, count)

    def set_train_available(self, count: int | None) -> None:
        """The size of the split's training part: the slider's right end."""
        self.train_available = count
        for w in (self.train_size, self.train_slider, self.train_all):
            w.blockSignals(True)
        self._show_train_size()
        for w in (self.train_size, self.train_slider, self.train_all):
            w.blockSignals(False)

    def _on_train_slider_moved(self, value: int) -> None:
        self.train_size.blockSignals(True)
        self.train_size.setValue(value)
        self.train_size.blockSignals(False)
        if not self.train_slider.isSliderDown():  # keyboard or click: commit at once
            self._commit(train_size=value)

    def _on_train_all_toggled(self, on: bool) -> None:
        if on:
            self._commit(train_size=None)
        else:
            self._commit(train_size=max(2, self.train_slider.value() or self.train_size.value()))

    def _commit(self, **changes: Any) -> None:
        ds = self.document.project.dataset
        if "source" in changes and changes["source"] != ds.source:
            source = changes["source"]
            changes["name"] = {"builtin": "digits", "synthetic": "moons"}.get(source, "")
        new = replace(ds, **changes)
        if new != ds:
            self.edit(replace(self.document.project, dataset=new), "Change dataset")

    def _browse(self) -> None:
        if self.source.currentText() == "images":
            chosen = QFileDialog.getExistingDirectory(
                self, "Image folder (one sub-folder per class)"
            )
        else:
            pattern = "CSV files (*.csv)" if self.source.currentText() == "csv" else "NPZ (*.npz)"
            chosen, _ = QFileDialog.getOpenFileName(self, "Data file", "", pattern)
        if chosen:
            self._commit(path=chosen)

    # preview ----------------------------------------------------------------
    def show_data(self, data: Any) -> None:
        """Draw a sample of ``data``: scatter, images or sequences. ``data`` is an engine Dataset
        (built-in and synthetic sets), or a file's DataSample, whose summary says it is a sample
        and gives the whole set's size and class counts."""
        self.error.setVisible(False)
        self.info.setText(data.summary())
        # A whole set (it has a validation part) gives its count, exact or estimated; a file's
        # sample only when its probe knew the set's size.
        if hasattr(data, "x_val") or getattr(data, "train_available", None) is not None:
            self.set_train_available(self._available(data))
        shown = draw_preview(self.preview, data)
        if shown:
            self.info.setText(f"{data.summary()}\n{shown}")

    def show_error(self, message: str) -> None:
        """A failed load: the message, and nothing left of the previous data (its summary, its
        slider range)."""
        self.error.set_message(message, "error")
        self.error.setVisible(True)
        self.preview.clear()
        self.info.setText("no data loaded")
        self.set_train_available(None)


class TrainingPanel(QGroupBox):
    """Training settings written back to the document (and so to the project file)."""

    def __init__(
        self, document: ProjectDocument, edit: Editor, parent: QWidget | None = None
    ) -> None:
        super().__init__("Training", parent)
        self.document, self.edit = document, edit
        self.epochs = int_spin(TRAINING_OPTIONS["epochs"])
        self.epochs.setToolTip("Passes over the training set")
        self.batch_size = int_spin(TRAINING_OPTIONS["batch_size"])
        self.batch_size.setToolTip(
            "Samples per training step (a value ≥ the training set means full-batch training)"
        )
        self.optimizer = QComboBox()
        self.optimizer.addItems(list(OPTIMIZERS))
        self.optimizer.setToolTip("Optimizer")
        self.learning_rate = float_spin(TRAINING_OPTIONS["learning_rate"])
        self.learning_rate.setSingleStep(0.0005)
        self.learning_rate.setToolTip("Learning rate")
        self.seed = int_spin(TRAINING_OPTIONS["seed"])
        self.seed.setToolTip("Same seed, same split, weights, batches and dropout masks")
        self.early_stopping = int_spin(TRAINING_OPTIONS["early_stopping"])
        self.early_stopping.setSpecialValueText("off")
        self.early_stopping.setToolTip(
            "Stop when validation loss has not improved for this many epochs"
        )
        self.device = QComboBox()
        self.device.addItem("auto")
        self.device.setToolTip("Where to train: the GPU when TensorFlow sees one, or the CPU")
        self.tensorboard = QCheckBox("write TensorBoard event files")
        self.tensorboard.setToolTip(
            "Saved projects keep each run in runs/; this adds event "
            "files that `tensorboard --logdir runs` opens"
        )
        self.tensorboard.toggled.connect(lambda on: self._commit(tensorboard=on))
        form = QFormLayout(self)
        form.addRow("epochs", self.epochs)
        form.addRow("batch size", self.batch_size)
        form.addRow("optimizer", self.optimizer)
        form.addRow("learning rate", self.learning_rate)
        form.addRow("seed", self.seed)
        form.addRow("early stopping", self.early_stopping)
        form.addRow("device", self.device)
        form.addRow(self.tensorboard)
        for spin, key in (
            (self.epochs, "epochs"),
            (self.batch_size, "batch_size"),
            (self.seed, "seed"),
            (self.early_stopping, "early_stopping"),
        ):
            spin.editingFinished.connect(lambda s=spin, k=key: self._commit(**{k: s.value()}))
        self.learning_rate.editingFinished.connect(
            lambda: self._commit(learning_rate=self.learning_rate.value())
        )
        self.optimizer.activated.connect(
            lambda _: self._commit(optimizer=self.optimizer.currentText())
        )
        self.device.activated.connect(lambda _: self._commit(device=self.device.currentText()))
        document.subscribe(self._on_document_changed, ("training", "replaced"))
        self._on_document_changed(document)

    def set_devices(self, devices: list[str]) -> None:
        current = self.document.project.training.device
        self.device.clear()
        self.device.addItems(["auto", *devices])
        self.device.setCurrentText(current)

    def _on_document_changed(self, document: ProjectDocument) -> None:
        t = document.project.training
        widgets = (
            self.epochs,
            self.batch_size,
            self.optimizer,
            self.learning_rate,
            self.seed,
            self.early_stopping,
            self.device,
        )
        for w in widgets:
            w.blockSignals(True)
        self.epochs.setValue(t.epochs)
        self.batch_size.setValue(t.batch_size)
        self.optimizer.setCurrentText(t.optimizer)
        self.learning_rate.setValue(t.learning_rate)
        self.seed.setValue(t.seed)
        self.early_stopping.setValue(t.early_stopping)
        self.tensorboard.setChecked(t.tensorboard)
        if self.device.findText(t.device) < 0:
            self.device.addItem(t.device)
        self.device.setCurrentText(t.device)
        for w in widgets:
            w.blockSignals(False)

    def _commit(self, **changes: Any) -> None:
        project = self.document.project
        new = project.with_training(**changes)
        if new != project:
            self.edit(new, "Change " + ", ".join(k.replace("_", " ") for k in changes))
