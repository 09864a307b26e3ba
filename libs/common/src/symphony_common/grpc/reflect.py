"""A small grpcurl stand-in that needs no proto files: it asks the server's reflection service.

    python -m symphony_common.grpc.reflect HOST:PORT                      # list services
    python -m symphony_common.grpc.reflect HOST:PORT SERVICE              # list its methods
    python -m symphony_common.grpc.reflect HOST:PORT SERVICE/METHOD -d '{"json": "body"}' \\
        [-H 'authorization: Bearer …']                                     # call a unary method
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections.abc import Sequence

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool, json_format, message_factory
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc


class Reflector:
    def __init__(self, channel: grpc.Channel) -> None:
        self.stub = reflection_pb2_grpc.ServerReflectionStub(channel)
        self.pool = descriptor_pool.DescriptorPool()
        self._loaded: set[str] = set()

    def _ask(
        self, request: reflection_pb2.ServerReflectionRequest
    ) -> reflection_pb2.ServerReflectionResponse:
        return next(iter(self.stub.ServerReflectionInfo(iter([request]), timeout=10)))

    def services(self) -> list[str]:
        answer = self._ask(reflection_pb2.ServerReflectionRequest(list_services=""))
        return sorted(s.name for s in answer.list_services_response.service)

    def _add_files(self, answer: reflection_pb2.ServerReflectionResponse) -> None:
        protos = [
            descriptor_pb2.FileDescriptorProto.FromString(raw)
            for raw in answer.file_descriptor_response.file_descriptor_proto
        ]
        pending = {p.name: p for p in protos if p.name not in self._loaded}
        while pending:  # add dependencies before dependents
            progressed = False
            for name, proto in list(pending.items()):
                if all(dep in self._loaded or dep not in pending for dep in proto.dependency):
                    # TypeError: already known to this pool under another load order.
                    with contextlib.suppress(TypeError):
                        self.pool.Add(proto)
                    self._loaded.add(name)
                    del pending[name]
                    progressed = True
            if not progressed:
                raise RuntimeError("cyclic descriptor dependencies")

    def service(self, name: str):
        answer = self._ask(reflection_pb2.ServerReflectionRequest(file_containing_symbol=name))
        if answer.HasField("error_response"):
            raise SystemExit(f"{name}: {answer.error_response.error_message}")
        self._add_files(answer)
        return self.pool.FindServiceByName(name)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="reflect", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("address")
    parser.add_argument("target", nargs="?")
    parser.add_argument("-d", "--data", default="{}", help="request as proto3 JSON")
    parser.add_argument(
        "-H", "--header", action="append", default=[], help="'name: value' metadata"
    )
    args = parser.parse_args(argv)

    with grpc.insecure_channel(args.address) as channel:
        reflector = Reflector(channel)
        if not args.target:
            print("\n".join(reflector.services()))
            return 0
        service_name, _, method_name = args.target.partition("/")
        service = reflector.service(service_name)
        if not method_name:
            for method in service.methods:
                kind = ("stream " if method.client_streaming else "") + method.input_type.full_name
                out = ("stream " if method.server_streaming else "") + method.output_type.full_name
                print(f"rpc {method.name}({kind}) returns ({out})")
            return 0
        method = service.methods_by_name[method_name]
        request_class = message_factory.GetMessageClass(method.input_type)
        response_class = message_factory.GetMessageClass(method.output_type)
        request = json_format.Parse(args.data, request_class(), descriptor_pool=reflector.pool)
        metadata = tuple(
            (name.strip().lower(), value.strip())
            for name, _, value in (h.partition(":") for h in args.header)
        )
        call = channel.unary_unary(
            f"/{service.full_name}/{method.name}",
            request_serializer=lambda m: m.SerializeToString(),
            response_deserializer=response_class.FromString,
        )
        try:
            response = call(request, metadata=metadata, timeout=30)
        except grpc.RpcError as error:
            print(f"ERROR {error.code().name}: {error.details()}", file=sys.stderr)
            return 1
        print(
            json.dumps(
                json_format.MessageToDict(response, descriptor_pool=reflector.pool), indent=2
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
