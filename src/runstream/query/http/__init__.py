"""The query service's HTTP side: app factory, routes, schemas, MLflow read API, errors."""
