"""The README's table of environment variables, made from the settings classes themselves so
it cannot drift: a field's description is its `Field(description=...)` or the comment lines
right above it in the class. `python -m symphony_common.settings_doc` prints the tables;
`--write README.md` replaces the block between the markers."""

from __future__ import annotations

import argparse
import ast
import importlib
import inspect
import sys
import textwrap
from pathlib import Path

from pydantic import AliasChoices
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings

from symphony_common.config import CommonSettings, ServiceSettings

BEGIN, END = "<!-- env:begin -->", "<!-- env:end -->"
SERVICES = ("auth", "registry", "sync", "analytics")


def _comments(cls: type) -> dict[str, str]:
    """Field name → the comment block right above its annotation in `cls`'s source."""
    try:
        source = textwrap.dedent(inspect.getsource(cls))
    except (OSError, TypeError):
        return {}
    lines = source.splitlines()
    found: dict[str, str] = {}
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            block: list[str] = []
            index = node.lineno - 2
            while index >= 0 and lines[index].strip().startswith("#"):
                block.insert(0, lines[index].strip().lstrip("#").strip())
                index -= 1
            if block:
                found[node.target.id] = " ".join(block)
    return found


def _description(cls: type[BaseSettings], name: str, info: FieldInfo) -> str:
    if info.description:
        return info.description
    for klass in cls.__mro__:
        if name in getattr(klass, "__annotations__", {}):
            text = _comments(klass).get(name)
            if text:
                return text
    return ""


def _env_name(cls: type[BaseSettings], name: str, info: FieldInfo) -> str:
    alias = info.validation_alias
    if isinstance(alias, AliasChoices):
        return str(alias.choices[0])
    if isinstance(alias, str):
        return alias
    return f"{cls.model_config.get('env_prefix', '')}{name}".upper()


def _default(info: FieldInfo) -> str:
    value = info.get_default(call_default_factory=True)
    if value in ("", None, [], ()):
        return "—"
    if isinstance(value, list | tuple):
        value = ",".join(map(str, value))
    return f"`{value}`"


def rows(
    cls: type[BaseSettings], names: list[str] | None = None, prefix: str | None = None
) -> list[str]:
    out = []
    for name, info in cls.model_fields.items():
        if names is not None and name not in names:
            continue
        env = _env_name(cls, name, info) if prefix is None else f"{prefix}{name.upper()}"
        description = _description(cls, name, info).replace("|", "\\|")
        out.append(f"| `{env}` | {_default(info)} | {description} |")
    return out


def table() -> str:
    header = ["| Variable | Default | Meaning |", "|---|---|---|"]
    common = set(CommonSettings.model_fields)
    per_service = [
        n for n in ServiceSettings.model_fields if n not in common and n != "service_name"
    ]
    parts = [
        "**Every process**",
        "",
        *header,
        *rows(CommonSettings),
        "",
        "**Every service** (`<SVC>` is `AUTH`, `REGISTRY`, `SYNC` or `ANALYTICS`)",
        "",
        *header,
        *rows(ServiceSettings, per_service, "SYMPHONY_<SVC>_"),
    ]
    for svc in SERVICES:
        settings_class = importlib.import_module(f"symphony_{svc}.config").__dict__[
            f"{svc.capitalize()}Settings"
        ]
        own = [
            n
            for n in settings_class.model_fields
            if n not in ServiceSettings.model_fields
            or settings_class.model_fields[n].default != ServiceSettings.model_fields[n].default
        ]
        own = [n for n in own if n != "service_name"]
        if own:
            parts += ["", f"**{svc}**", "", *header, *rows(settings_class, own)]
    gateway = importlib.import_module("symphony_gateway.config").GatewaySettings
    parts += [
        "",
        "**gateway** (backends: the `SYMPHONY_<SVC>_ADDRESS` variables above)",
        "",
        *header,
        *rows(gateway),
    ]
    return "\n".join(parts)


def render_into(readme: str) -> str:
    start, end = readme.index(BEGIN) + len(BEGIN), readme.index(END)
    return readme[:start] + "\n" + table() + "\n" + readme[end:]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="settings_doc")
    parser.add_argument("--write", type=Path, help="README to update between the env markers")
    args = parser.parse_args(argv)
    if args.write:
        args.write.write_text(render_into(args.write.read_text()))
    else:
        print(table())
    return 0


if __name__ == "__main__":
    sys.exit(main())
