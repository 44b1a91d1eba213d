"""Entry point ``evaluate``: score a trained run's model on the held-out split."""

from __future__ import annotations

import argparse

import numpy as np
from sklearn.metrics import accuracy_score, f1_score  # type: ignore[import-untyped]
from wine_data import as_frame, split

import runstream as mlflow


def main() -> None:
    """Logs ``test_f1`` and ``test_accuracy`` of ``runs:/<run_id>/model`` on this run."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--run-id", required=True)
    parser.add_argument("--seed", type=int, required=True)
    args = parser.parse_args()
    names, _, x_test, _, y_test = split(args.seed)
    model = mlflow.pyfunc.load_model(f"runs:/{args.run_id}/model")
    predicted = np.asarray(model.predict(as_frame(names, x_test)))
    with mlflow.start_run():
        mlflow.set_tag("evaluated_run_id", args.run_id)
        f1 = float(f1_score(y_test, predicted, average="macro"))
        mlflow.log_metrics({"test_f1": f1, "test_accuracy": accuracy_score(y_test, predicted)})
    print(f"run {args.run_id}: test F1 {f1:.3f}")


if __name__ == "__main__":
    main()
