"""Shared library of Symphony Backbone: config, logging, gRPC bootstrap and interceptors, errors,
database and migration helpers, Redis, token verification, pagination, test stack."""
