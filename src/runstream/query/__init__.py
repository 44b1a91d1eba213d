"""Runstream query package."""
