"""Open VSX REST compatibility (enough for the `ovsx` CLI and VS Code-family tools); see
`routes.py`."""

from symphony_gateway.openvsx.routes import routes

__all__ = ["routes"]
