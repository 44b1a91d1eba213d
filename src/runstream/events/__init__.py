"""Runstream events package."""
