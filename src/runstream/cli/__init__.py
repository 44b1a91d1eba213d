"""Runstream cli package."""
