"""Runstream lake package."""
