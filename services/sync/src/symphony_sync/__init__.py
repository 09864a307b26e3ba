"""Symphony Backbone sync service."""
