"""Entry point ``register``: register a run's model and move the new version to a stage."""

from __future__ import annotations

import argparse

import runstream as mlflow


def main() -> None:
    """Registers ``runs:/<run_id>/model``; logs the version number as ``registered_version``."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--run-id", required=True)
    parser.add_argument("--model-name", required=True)
    parser.add_argument("--stage", required=True)
    args = parser.parse_args()
    with mlflow.start_run():
        version = mlflow.register_model(f"runs:/{args.run_id}/model", args.model_name)
        number = int(version.version or 0)
        client = mlflow.get_client()
        client.transition_model_version_stage(
            args.model_name, number, args.stage, archive_existing_versions=True
        )
        mlflow.log_metric("registered_version", number)
        client.flush()
    print(f"{args.model_name} version {number} -> {args.stage}")


if __name__ == "__main__":
    main()
