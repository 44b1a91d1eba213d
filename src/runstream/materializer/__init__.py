"""Runstream materializer package."""
