"""Readers: functions that take a lake read session and return domain objects.

They know SQL and the lake's tables, and nothing of HTTP; routes call them.
"""
