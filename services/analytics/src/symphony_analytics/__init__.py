"""Symphony Backbone analytics service."""
