"""Runstream core package."""
