"""Response models of the native API (one module per resource) and their JSON builders.

Each module holds the pydantic models that document a resource in OpenAPI and
the functions that turn domain objects into exactly that JSON. Routes send the
built JSON directly (no second validation pass on hot paths); the test suite
validates real responses against the models so the two cannot drift.
"""
