"""Runstream: event-sourced experiment tracking in the MLflow family."""
