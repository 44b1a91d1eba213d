"""A scikit-learn sweep on the wine dataset, logged with Runstream as one would with MLflow.

Twelve runs (nested under one parent run) train an ``SGDClassifier`` epoch by epoch
over a grid of ``alpha`` x ``eta0``, logging params, per-epoch metrics, a
confusion-matrix figure, a classification report and the model. The best run's
model is then registered, moved to Production, aliased ``champion``, loaded back by
``models:/wine-classifier@champion`` and used to predict.

Run it against a local stack (``runstream up``)::

    python examples/wine_sweep.py                      # registry steps need the query service
    python examples/wine_sweep.py --no-register        # broker and S3 only: loads runs:/ instead

Only the import differs from an MLflow script: ``import runstream as mlflow``.
"""

from __future__ import annotations

import argparse
import itertools
import math
import sys
import time

import matplotlib

matplotlib.use("Agg")  # headless: figures are rendered to files, never shown

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from sklearn.datasets import load_wine  # type: ignore[import-untyped]
from sklearn.linear_model import SGDClassifier  # type: ignore[import-untyped]
from sklearn.metrics import (  # type: ignore[import-untyped]
    accuracy_score,
    classification_report,
    confusion_matrix,
    f1_score,
    log_loss,
)
from sklearn.model_selection import train_test_split  # type: ignore[import-untyped]
from sklearn.pipeline import Pipeline  # type: ignore[import-untyped]
from sklearn.preprocessing import StandardScaler  # type: ignore[import-untyped]

import runstream as mlflow
from runstream.errors import NotFoundError

MODEL_NAME = "wine-classifier"
ALPHAS = (1e-4, 1e-3, 1e-2, 1e-1)
ETA0S = (0.001, 0.01, 0.1)


Data = tuple[list[str], np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def load_data(seed: int) -> Data:
    """The wine dataset split 70/30, stratified."""
    wine = load_wine()
    x_train, x_test, y_train, y_test = train_test_split(
        wine.data, wine.target, test_size=0.3, random_state=seed, stratify=wine.target
    )
    return list(wine.feature_names), x_train, x_test, y_train, y_test


def confusion_figure(matrix: np.ndarray, title: str) -> Figure:
    """A small annotated confusion-matrix plot."""
    figure, axes = plt.subplots(figsize=(3.5, 3.5))
    axes.imshow(matrix, cmap="Blues")
    for (row, col), count in np.ndenumerate(matrix):
        axes.text(col, row, str(count), ha="center", va="center")
    axes.set_xlabel("predicted")
    axes.set_ylabel("true")
    axes.set_title(title)
    figure.tight_layout()
    return figure


def train_one(alpha: float, eta0: float, epochs: int, data: Data, seed: int) -> float:
    """One run: returns its validation macro F1."""
    names, x_train, x_test, y_train, y_test = data
    mlflow.log_params(
        {
            "alpha": alpha,
            "eta0": eta0,
            "epochs": epochs,
            "model": "SGDClassifier",
            "loss": "log_loss",
        }
    )
    scaler = StandardScaler().fit(x_train)
    xs_train, xs_test = scaler.transform(x_train), scaler.transform(x_test)
    classes = np.unique(y_train)
    clf = SGDClassifier(
        loss="log_loss", alpha=alpha, learning_rate="constant", eta0=eta0, random_state=seed
    )
    for epoch in range(epochs):
        clf.partial_fit(xs_train, y_train, classes=classes)
        mlflow.log_metrics(
            {
                "train_loss": log_loss(y_train, clf.predict_proba(xs_train), labels=classes),
                "val_loss": log_loss(y_test, clf.predict_proba(xs_test), labels=classes),
                "val_accuracy": accuracy_score(y_test, clf.predict(xs_test)),
            },
            step=epoch,
        )
    predicted = clf.predict(xs_test)
    f1 = f1_score(y_test, predicted, average="macro")
    mlflow.log_metrics({"val_f1": f1, "val_accuracy_final": accuracy_score(y_test, predicted)})
    figure = confusion_figure(confusion_matrix(y_test, predicted), f"alpha={alpha} eta0={eta0}")
    mlflow.log_figure(figure, "plots/confusion_matrix.png")
    plt.close(figure)
    mlflow.log_text(classification_report(y_test, predicted), "reports/classification_report.txt")
    model = Pipeline([("scale", scaler), ("clf", clf)])
    example = pd.DataFrame(x_test[:3], columns=names)
    # Requirements given: otherwise MLflow infers them by loading the model in a subprocess.
    mlflow.sklearn.log_model(
        model, name="model", input_example=example, pip_requirements=["scikit-learn", "skops"]
    )
    return float(f1)


def main(argv: list[str] | None = None) -> int:
    """Runs the sweep; prints the best run and the champion's test accuracy."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--experiment", default="wine-sweep")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--no-register", action="store_true", help="skip the registry (no query service needed)"
    )
    parser.add_argument("--await-registration", type=int, default=120)
    args = parser.parse_args(argv)

    data = load_data(args.seed)
    mlflow.set_experiment(args.experiment)
    started = time.monotonic()
    results: dict[str, float] = {}
    with mlflow.start_run(run_name="wine-sweep") as parent:
        mlflow.set_tag("sweep", "alpha x eta0")
        for alpha, eta0 in itertools.product(ALPHAS, ETA0S):
            with mlflow.start_run(run_name=f"sgd-a{alpha:g}-e{eta0:g}", nested=True) as run:
                results[run.info.run_id] = train_one(alpha, eta0, args.epochs, data, args.seed)
        best_run, best_f1 = max(results.items(), key=lambda item: item[1])
        mlflow.log_metric("best_val_f1", best_f1)
        mlflow.set_tag("best_run_id", best_run)
    print(
        f"{len(results)} runs under {parent.info.run_id} in {time.monotonic() - started:.1f}s; "
        f"best {best_run} (val F1 {best_f1:.3f})"
    )

    x_test, y_test = data[2], data[4]
    test_input = pd.DataFrame(x_test, columns=data[0])
    if args.no_register:
        model = mlflow.pyfunc.load_model(f"runs:/{best_run}/model")
        source = "runs:/ (registry skipped)"
    else:
        version = mlflow.register_model(
            f"runs:/{best_run}/model", MODEL_NAME, await_registration_for=args.await_registration
        )
        client = mlflow.get_client()
        client.transition_model_version_stage(
            MODEL_NAME, version.version or 0, "Production", archive_existing_versions=True
        )
        client.set_registered_model_alias(MODEL_NAME, "champion", version.version or 0)
        client.flush()
        model = load_champion(args.await_registration)
        source = f"models:/{MODEL_NAME}@champion (version {version.version})"
    accuracy = float(np.mean(model.predict(test_input) == y_test))
    print(f"champion from {source}: test accuracy {accuracy:.3f}")
    return 0 if not math.isnan(accuracy) else 1


def load_champion(timeout_s: float) -> mlflow.pyfunc.PyFuncModel:
    """Loads the alias once the materializer has applied it (it is eventually visible)."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            return mlflow.pyfunc.load_model(f"models:/{MODEL_NAME}@champion")
        except NotFoundError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


if __name__ == "__main__":
    sys.exit(main())
