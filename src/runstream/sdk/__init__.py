"""Runstream sdk package."""
