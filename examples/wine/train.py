"""Entry point ``main``: train one SGD classifier, logging to the run ``runstream run`` made.

``start_run()`` attaches to that run (``MLFLOW_RUN_ID``); run on its own, it starts one.
"""

from __future__ import annotations

import argparse

import numpy as np
from sklearn.linear_model import SGDClassifier  # type: ignore[import-untyped]
from sklearn.metrics import accuracy_score, f1_score, log_loss  # type: ignore[import-untyped]
from sklearn.pipeline import Pipeline  # type: ignore[import-untyped]
from sklearn.preprocessing import StandardScaler  # type: ignore[import-untyped]
from wine_data import as_frame, split

import runstream as mlflow


def main() -> None:
    """Trains epoch by epoch and logs the model as ``model``."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--alpha", type=float, required=True)
    parser.add_argument("--eta0", type=float, required=True)
    parser.add_argument("--epochs", type=int, required=True)
    parser.add_argument("--seed", type=int, required=True)
    args = parser.parse_args()
    names, x_train, x_val, y_train, y_val = split(args.seed)
    scaler = StandardScaler().fit(x_train)
    xs_train, xs_val = scaler.transform(x_train), scaler.transform(x_val)
    classes = np.unique(y_train)
    clf = SGDClassifier(loss="log_loss", alpha=args.alpha, learning_rate="constant",
                        eta0=args.eta0, random_state=args.seed)
    with mlflow.start_run() as run:
        mlflow.set_tag("model", "SGDClassifier")
        for epoch in range(args.epochs):
            clf.partial_fit(xs_train, y_train, classes=classes)
            mlflow.log_metrics({
                "train_loss": log_loss(y_train, clf.predict_proba(xs_train), labels=classes),
                "val_loss": log_loss(y_val, clf.predict_proba(xs_val), labels=classes),
                "val_accuracy": accuracy_score(y_val, clf.predict(xs_val)),
            }, step=epoch)
        f1 = f1_score(y_val, clf.predict(xs_val), average="macro")
        mlflow.log_metric("val_f1", f1)
        model = Pipeline([("scale", scaler), ("clf", clf)])
        # Requirements given: otherwise MLflow infers them by loading the model in a subprocess.
        mlflow.sklearn.log_model(model, name="model", input_example=as_frame(names, x_val[:3]),
                                 pip_requirements=["scikit-learn", "skops"])
    print(f"run {run.info.run_id}: val F1 {f1:.3f}")


if __name__ == "__main__":
    main()
