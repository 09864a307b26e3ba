"""Find the public services in the generated code: every `*_service_pb2` module under the
`symphony` package. `*InternalService` services are service-to-service only and never routed."""

from __future__ import annotations

import importlib
import logging
import pkgutil

from google.api import annotations_pb2  # noqa: F401  (registers the google.api.http extension)
from google.protobuf.descriptor import ServiceDescriptor
from google.rpc import error_details_pb2  # noqa: F401  (lets error details render as JSON)

log = logging.getLogger(__name__)


def discover_services(package: str = "symphony") -> list[ServiceDescriptor]:
    """Public service descriptors of every `*_service_pb2` module, sorted by full name."""
    root = importlib.import_module(package)
    found: dict[str, ServiceDescriptor] = {}

    def skip(name: str) -> None:  # an unimportable package must not hide the others
        log.warning("cannot import %s while discovering services", name)

    for info in pkgutil.walk_packages(root.__path__, prefix=package + ".", onerror=skip):
        if info.ispkg or not info.name.endswith("_service_pb2"):
            continue
        try:
            module = importlib.import_module(info.name)
        except Exception:
            log.exception("cannot import %s; its routes are not served", info.name)
            continue
        for service in module.DESCRIPTOR.services_by_name.values():
            if service.name.endswith("InternalService"):
                continue
            found[service.full_name] = service
    return [found[name] for name in sorted(found)]
