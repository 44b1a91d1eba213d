"""Live tail: runs' new metric points as Server-Sent Events, straight from the log.

``port`` is the protocol the log reader fills (the composition root injects a
Kafka one), ``cursor`` the resumable positions, ``offsets`` where the lake is,
``stream`` the frames.
"""
