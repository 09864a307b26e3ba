"""Symphony client: typed async clients for the four services, the editor's offline-first sync
engine, the analytics buffer, and the `symphony` command line."""
