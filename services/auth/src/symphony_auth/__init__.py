"""Symphony Backbone auth service."""
