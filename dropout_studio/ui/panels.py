"""Dataset and training-settings panels: views over the document's dataset and training specs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSlider,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from dropout_studio.core.datasets import BUILTIN, SOURCES, SYNTHETIC
from dropout_studio.core.document import ProjectDocument
from dropout_studio.core.project import OPTIMIZERS, Project

Editor = Callable[[Project, str], None]
PALETTE = [
    "#1f77b4",
    "#d62728",
    "#2ca02c",
    "#ff7f0e",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
]


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
        self.browse = QPushButton("Browse…")
        self.browse.setToolTip("Choose the data file or folder")
        self.train_size = QSpinBox()
        self.train_size.setRange(0, 1_000_000)
        self.train_size.setSpecialValueText("all")
        self.train_size.setToolTip(
            "Training samples used (stratified); fewer samples show "
            "overfitting and what dropout does about it"
        )
        self.train_slider = QSlider(Qt.Orientation.Horizontal)
        self.train_slider.setRange(0, 2000)
        self.train_slider.setToolTip(self.train_size.toolTip())
        self.validation = QDoubleSpinBox()
        self.test = QDoubleSpinBox()
        for spin, what in ((self.validation, "validation"), (self.test, "held-out test")):
            spin.setRange(0.05, 0.6)
            spin.setSingleStep(0.05)
            spin.setToolTip(f"Fraction of all samples in the {what} set")
        path_row = QHBoxLayout()
        path_row.addWidget(self.path, 1)
        path_row.addWidget(self.browse)
        size_row = QHBoxLayout()
        size_row.addWidget(self.train_slider, 1)
        size_row.addWidget(self.train_size)
        form = QFormLayout()
        form.addRow("source", self.source)
        form.addRow("dataset", self.name)
        form.addRow("path", path_row)
        form.addRow("train size", size_row)
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
        layout.addWidget(self.preview, 1)
        self.source.activated.connect(lambda _: self._commit(source=self.source.currentText()))
        self.name.activated.connect(lambda _: self._commit(name=self.name.currentText()))
        self.path.editingFinished.connect(lambda: self._commit(path=self.path.text() or None))
        self.browse.clicked.connect(self._browse)
        self.train_size.editingFinished.connect(
            lambda: self._commit(train_size=self.train_size.value() or None)
        )
        self.train_slider.sliderReleased.connect(
            lambda: self._commit(train_size=self.train_slider.value() or None)
        )
        self.train_slider.valueChanged.connect(self.train_size.setValue)
        self.validation.editingFinished.connect(
            lambda: self._commit(validation_split=round(self.validation.value(), 2))
        )
        self.test.editingFinished.connect(
            lambda: self._commit(test_split=round(self.test.value(), 2))
        )
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
        self.train_size.setValue(ds.train_size or 0)
        self.train_slider.setValue(min(ds.train_size or 0, self.train_slider.maximum()))
        self.validation.setValue(ds.validation_split)
        self.test.setValue(ds.test_split)
        for w in widgets:
            w.blockSignals(False)

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
        """Draw a sample of ``data`` (an engine Dataset): scatter, images or sequences."""
        self.info.setText(data.summary())
        self.preview.clear()
        self.preview.getViewBox().invertY(False)
        self.preview.getViewBox().setAspectLocked(False)
        x, y = data.x_train, data.y_train
        if x.ndim == 2 and x.shape[1] == 2 and data.class_names:
            for k, _name in enumerate(data.class_names):
                pts = x[y == k]
                self.preview.plot(
                    pts[:, 0],
                    pts[:, 1],
                    pen=None,
                    symbol="o",
                    symbolSize=5,
                    symbolBrush=PALETTE[k % len(PALETTE)],
                    symbolPen=None,
                )
        elif x.ndim == 4 or (x.ndim == 2 and data.class_names and x.shape[1] == 64):
            images = x if x.ndim == 4 else x.reshape(-1, 8, 8, 1)
            count = min(8, len(images))
            rows = [
                np.concatenate(list(images[r : r + 4]), axis=1)
                for r in (0, 4)
                if r < count and len(images[r : r + 4]) == 4
            ]
            montage = np.concatenate(rows, axis=0) if rows else images[0]
            if montage.shape[-1] == 1:
                montage = montage[..., 0]
            item = pg.ImageItem(montage, axisOrder="row-major")
            self.preview.addItem(item)
            self.preview.getViewBox().invertY(True)
            self.preview.getViewBox().setAspectLocked(True)
            names = (
                ", ".join(data.class_names[int(v)] for v in y[:count]) if data.class_names else ""
            )
            self.info.setText(f"{data.summary()}\nshown: {names}")
        elif x.ndim == 3:
            for i in range(min(5, len(x))):
                self.preview.plot(x[i, :, 0], pen=pg.mkPen(PALETTE[i], width=1))
        elif x.ndim == 2 and x.shape[1] == 1:
            self.preview.plot(
                x[:, 0],
                y,
                pen=None,
                symbol="o",
                symbolSize=5,
                symbolBrush=PALETTE[0],
                symbolPen=None,
            )
        self.preview.autoRange()

    def show_error(self, message: str) -> None:
        self.info.setText(f"⛔ {message}")
        self.preview.clear()


class TrainingPanel(QGroupBox):
    """Training settings written back to the document (and so to the project file)."""

    def __init__(
        self, document: ProjectDocument, edit: Editor, parent: QWidget | None = None
    ) -> None:
        super().__init__("Training", parent)
        self.document, self.edit = document, edit
        self.epochs = QSpinBox()
        self.epochs.setRange(1, 1_000_000)
        self.epochs.setToolTip("Passes over the training set")
        self.batch_size = QSpinBox()
        self.batch_size.setRange(1, 1_000_000)
        self.batch_size.setToolTip(
            "Samples per training step (a value ≥ the training set means full-batch training)"
        )
        self.optimizer = QComboBox()
        self.optimizer.addItems(list(OPTIMIZERS))
        self.optimizer.setToolTip("Optimizer")
        self.learning_rate = QDoubleSpinBox()
        self.learning_rate.setDecimals(5)
        self.learning_rate.setRange(0.00001, 10.0)
        self.learning_rate.setSingleStep(0.0005)
        self.learning_rate.setToolTip("Learning rate")
        self.seed = QSpinBox()
        self.seed.setRange(0, 2**31 - 1)
        self.seed.setToolTip("Same seed, same split, weights, batches and dropout masks")
        self.early_stopping = QSpinBox()
        self.early_stopping.setRange(0, 100_000)
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
