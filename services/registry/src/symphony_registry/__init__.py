"""Symphony Backbone registry service."""
