"""Check infra/terraform against the Google providers' own schema, offline.

`terraform validate` needs the providers, which cannot be downloaded on every machine. The
npm packages `@cdktf/provider-google` and `@cdktf/provider-google-beta` (pinned in
infra/tools/package.json) carry the providers' generated types: their `.jsii` metadata
lists, for every resource, data source and nested block, each argument with its
Terraform name and whether it is optional. This script checks that every argument and
nested block used in the module exists there and that every required one is present.

Every `<type>.<name>.<attribute>` the module reads (in resources, locals and outputs) must
name an argument or a computed attribute of that type. Each block is checked against the
provider it uses: `provider = google-beta` picks the
beta schema, so a beta-only resource left on the default provider is an error too.
Meta-arguments (count, for_each, depends_on, lifecycle, provider, ...) are Terraform's,
not the provider's, and are not checked; a `dynamic "x"` block is checked as block `x`
with its `content` as the body. Types of other providers (archive_file) are listed as
unchecked.

    python scripts/check_terraform_schema.py [--module infra/terraform] [--tools infra/tools]

Exit status 0 when everything matches, 1 when not (one line per problem), 2 when the npm
packages are missing (run `npm ci` in infra/tools; `make infra-check` does).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
# Terraform's local provider name -> the npm package of its generated types.
PACKAGES = {"google": "@cdktf/provider-google", "google-beta": "@cdktf/provider-google-beta"}
CACHE_NAME = ".panelflow-terraform-schema.json"
CACHE_FORMAT = 4

# Terraform's own arguments and blocks, valid in any resource or data source.
META_ARGUMENTS = frozenset(
    {"count", "for_each", "depends_on", "lifecycle", "provider", "provisioner", "connection"}
)
# Arguments every provider block takes besides the provider's own.
PROVIDER_META_ARGUMENTS = frozenset({"alias", "version"})

# "Represents a {@link https://.../docs/resources/pubsub_subscription google_pubsub_subscription}."
_REPRESENTS = re.compile(r"Represents a \{@link (\S+) (\S+)\}")
# "... {@link https://...#dead_letter_policy PubsubSubscription#dead_letter_policy}"
_ANCHOR = re.compile(r"\{@link \S+#(\w+) \w+#\w+\}")


# ---- the schema -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Argument:
    required: bool
    block: str | None  # the nested block's struct name; None for a plain argument


@dataclass
class Schema:
    """Structs (argument name -> Argument) and the struct of each Terraform type."""

    structs: dict[str, dict[str, Argument]] = field(default_factory=dict)
    # (provider, "resource" | "data" | "provider", terraform type) -> struct name
    types: dict[tuple[str, str, str], str] = field(default_factory=dict)
    # (provider, kind, terraform type) -> every attribute a reference may read
    attributes: dict[tuple[str, str, str], frozenset[str]] = field(default_factory=dict)

    def add(self, other: Schema) -> None:
        """Take in another provider's schema (struct names are package-qualified)."""
        self.structs.update(other.structs)
        self.types.update(other.types)
        self.attributes.update(other.attributes)

    def to_json(self) -> dict[str, Any]:
        return {
            "structs": {
                name: {arg: [a.required, a.block] for arg, a in arguments.items()}
                for name, arguments in self.structs.items()
            },
            "types": [[*key, struct] for key, struct in self.types.items()],
            "attributes": [[*key, sorted(names)] for key, names in self.attributes.items()],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Schema:
        return cls(
            structs={
                name: {arg: Argument(bool(r), b) for arg, (r, b) in arguments.items()}
                for name, arguments in data["structs"].items()
            },
            types={
                (provider, kind, name): struct for provider, kind, name, struct in data["types"]
            },
            attributes={
                (provider, kind, name): frozenset(names)
                for provider, kind, name, names in data["attributes"]
            },
        )


def snake_case(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


def _struct_of(type_ref: Mapping[str, Any], structs: Mapping[str, Any]) -> str | None:
    """The struct a property's type refers to (directly, in a list or in a union), if any."""
    if "fqn" in type_ref:
        return type_ref["fqn"] if type_ref["fqn"] in structs else None
    if "collection" in type_ref:
        if type_ref["collection"].get("kind") == "map":
            return None  # a map attribute, even of objects, is not a block
        return _struct_of(type_ref["collection"]["elementtype"], structs)
    if "union" in type_ref:
        for member in type_ref["union"]["types"]:
            found = _struct_of(member, structs)
            if found:
                return found
    return None


def _terraform_name(prop: Mapping[str, Any]) -> str:
    docs = prop.get("docs", {})
    match = _ANCHOR.search(f"{docs.get('summary', '')} {docs.get('remarks', '')}")
    return match.group(1) if match else snake_case(prop["name"])


def schema_from_jsii(assembly: Mapping[str, Any], provider: str) -> Schema:
    """Every data struct of a jsii assembly, and the config struct of each Terraform type."""
    types = assembly["types"]
    structs = {
        fqn: t
        for fqn, t in types.items()
        if t.get("kind") == "interface" and t.get("datatype") is True
    }
    schema = Schema()
    for fqn, struct in structs.items():
        schema.structs[fqn] = {
            _terraform_name(prop): Argument(
                required=not prop.get("optional", False),
                block=_struct_of(prop["type"], structs),
            )
            for prop in struct.get("properties", [])
        }
    for t in types.values():
        if t.get("kind") != "class":
            continue
        match = _REPRESENTS.search(t.get("docs", {}).get("summary", ""))
        parameters = t.get("initializer", {}).get("parameters", [])
        if not match or len(parameters) < 3 or "fqn" not in parameters[2]["type"]:
            continue
        url, name = match.groups()
        config = parameters[2]["type"]["fqn"]
        if "/docs/data-sources/" in url:
            kind, name = "data", name.removeprefix("data_")
        elif "/docs/resources/" in url:
            kind = "resource"
        elif url.rstrip("/").endswith("/docs"):
            kind = "provider"
        else:
            continue
        schema.types[(provider, kind, name)] = config
        # The class's getters are what a reference can read: arguments and computed
        # attributes alike (the "...Input" getters mirror arguments for the CDK only).
        getters = {
            snake_case(prop["name"])
            for prop in t.get("properties", [])
            if not prop.get("static") and not prop["name"].endswith("Input")
        }
        schema.attributes[(provider, kind, name)] = frozenset(
            getters | set(schema.structs.get(config, {}))
        )
    return schema


def load_schema(tools: Path) -> Schema:
    """Both packages' schemas, merged; cached next to them (the .jsii files are ~100 MB each)."""
    paths = {
        provider: tools / "node_modules" / package / ".jsii"
        for provider, package in PACKAGES.items()
    }
    missing = [str(path) for path in paths.values() if not path.is_file()]
    if missing:
        raise FileNotFoundError(", ".join(missing))
    versions = [
        json.loads((path.parent / "package.json").read_text())["version"] for path in paths.values()
    ]
    key = hashlib.sha256(json.dumps([PACKAGES, versions, CACHE_FORMAT]).encode()).hexdigest()
    cache = tools / "node_modules" / CACHE_NAME
    if cache.is_file():
        cached = json.loads(cache.read_text())
        if cached.get("key") == key:
            return Schema.from_json(cached["schema"])
    merged = Schema()
    for provider, path in paths.items():
        merged.add(schema_from_jsii(json.loads(path.read_text()), provider))
    cache.write_text(json.dumps({"key": key, "schema": merged.to_json()}))
    return merged


# ---- the module -------------------------------------------------------------------------------


def _unquote(text: str) -> str:
    return text[1:-1] if len(text) >= 2 and text[0] == text[-1] == '"' else text


@dataclass(frozen=True)
class Block:
    kind: str  # "resource", "data" or "provider"
    type: str
    name: str
    body: Mapping[str, Any]
    file: str

    @property
    def provider(self) -> str:
        """The local name of the provider the block uses (its type's prefix by default)."""
        if self.kind == "provider":
            return self.type
        chosen = self.body.get("provider")
        if chosen is not None:
            return str(chosen).removeprefix("${").removesuffix("}").split(".")[0]
        return self.type.split("_")[0]


def module_blocks(module: Path) -> Iterator[Block]:
    import hcl2  # the dev dependency python-hcl2; imported here so --help works without it

    for path in sorted(module.glob("*.tf")):
        with path.open() as handle:
            parsed = hcl2.load(handle)
        for kind in ("resource", "data"):
            for entry in parsed.get(kind, []):
                for rtype, named in entry.items():
                    for name, body in named.items():
                        yield Block(kind, _unquote(rtype), _unquote(name), body, path.name)
        for entry in parsed.get("provider", []):
            for ptype, body in entry.items():
                alias = _unquote(str(body.get("alias", "default")))
                yield Block("provider", _unquote(ptype), alias, body, path.name)


def _is_block(value: Any) -> bool:
    return isinstance(value, list) and all(
        isinstance(item, dict) and item.get("__is_block__") for item in value
    )


def check_body(
    body: Mapping[str, Any], struct: str, schema: Schema, where: str, ignored: frozenset[str]
) -> Iterator[str]:
    """Problems in one body against its struct: unknown or misused arguments, missing ones."""
    arguments = schema.structs[struct]
    present: set[str] = set()
    for raw_key, value in body.items():
        key = _unquote(raw_key)
        if key.startswith("__") or key in ignored:
            continue
        if key == "dynamic":
            yield from _check_dynamic(value, arguments, schema, where, present)
            continue
        present.add(key)
        yield from _check_argument(key, value, arguments.get(key), schema, where)
    for key, argument in sorted(arguments.items()):
        if argument.required and key not in present:
            what = "block" if argument.block else "argument"
            yield f"{where}: required {what} {key!r} is missing"


def _check_argument(
    key: str, value: Any, argument: Argument | None, schema: Schema, where: str
) -> Iterator[str]:
    """One argument or nested block, written the way the schema declares it."""
    if argument is None:
        yield f"{where}: unknown argument {key!r}"
    elif argument.block is not None:
        if not _is_block(value):
            yield f"{where}: {key!r} is a block, written as an argument"
            return
        for nested in value:
            yield from check_body(nested, argument.block, schema, f"{where}.{key}", frozenset())
    elif _is_block(value):
        yield f"{where}: {key!r} is an argument, written as a block"


def _check_dynamic(
    entries: list[Mapping[str, Any]],
    arguments: Mapping[str, Argument],
    schema: Schema,
    where: str,
    present: set[str],
) -> Iterator[str]:
    """`dynamic "label" { content { ... } }` blocks: each content checked as the block it makes."""
    for entry in entries:
        for raw_label, dynamic in entry.items():
            label = _unquote(raw_label)
            if label.startswith("__"):
                continue
            present.add(label)
            argument = arguments.get(label)
            if argument is None or argument.block is None:
                yield f"{where}: dynamic {label!r} is not a block of this type"
                continue
            for content in dynamic.get("content", []):
                yield from check_body(
                    content, argument.block, schema, f"{where}.{label}", frozenset()
                )


@dataclass
class Report:
    problems: list[str] = field(default_factory=list)
    checked: list[Block] = field(default_factory=list)
    unchecked: list[Block] = field(default_factory=list)
    references: int = 0


# google_x.name.attribute, google_x.name[key].attribute, data.google_x.name.attribute
_REFERENCE = re.compile(
    r"(?<![\w.])(data\.)?(google_[a-z0-9_]+)\.([a-z0-9_-]+)(?:\[[^\]]*\])?\.([a-z0-9_]+)"
)


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield str(key)
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def module_expressions(module: Path) -> Iterator[tuple[str, Any]]:
    """(where, body) of every locals and output block: they read attributes too."""
    import hcl2

    for path in sorted(module.glob("*.tf")):
        with path.open() as handle:
            parsed = hcl2.load(handle)
        for entry in parsed.get("locals", []):
            yield f"{path.name}: locals", entry
        for entry in parsed.get("output", []):
            for name, body in entry.items():
                yield f"{path.name}: output {_unquote(name)}", body


def check_references(
    blocks: list[Block], expressions: list[tuple[str, Any]], schema: Schema, report: Report
) -> None:
    """Every `<type>.<name>.<attribute>` read in the module names a real attribute."""
    declared = {(b.kind, b.type, b.name): b for b in blocks if b.kind != "provider"}
    sources = [(f"{b.file}: {b.kind} {b.type}.{b.name}", b.body) for b in blocks]
    seen = set()
    for where, body in [*sources, *expressions]:
        for text in _strings(body):
            for data, rtype, name, attribute in _REFERENCE.findall(text):
                kind = "data" if data else "resource"
                target = declared.get((kind, rtype, name))
                key = (kind, rtype, name, attribute)
                if target is None or key in seen:
                    continue
                seen.add(key)
                names = schema.attributes.get((target.provider, kind, rtype))
                if names is None:
                    continue
                report.references += 1
                if attribute not in names:
                    prefix = "data." if data else ""
                    report.problems.append(
                        f"{where}: {prefix}{rtype}.{name} has no attribute {attribute!r}"
                    )


def check_module(module: Path, schema: Schema) -> Report:
    report = Report()
    blocks = list(module_blocks(module))
    for block in blocks:
        if block.provider not in PACKAGES:
            report.unchecked.append(block)
            continue
        struct = schema.types.get((block.provider, block.kind, block.type))
        if struct is None:
            elsewhere = [p for p in PACKAGES if (p, block.kind, block.type) in schema.types]
            report.problems.append(
                f"{block.file}: {block.kind} {block.type}.{block.name}: provider "
                f"{block.provider!r} has no such type"
                + (f" (it is in {', '.join(elsewhere)})" if elsewhere else "")
            )
            continue
        report.checked.append(block)
        where = f"{block.file}: {block.kind} {block.type}.{block.name}"
        ignored = PROVIDER_META_ARGUMENTS if block.kind == "provider" else META_ARGUMENTS
        report.problems.extend(check_body(block.body, struct, schema, where, ignored))
    check_references(blocks, list(module_expressions(module)), schema, report)
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--module", type=Path, default=ROOT / "infra" / "terraform")
    parser.add_argument("--tools", type=Path, default=ROOT / "infra" / "tools")
    args = parser.parse_args(argv)
    try:
        schema = load_schema(args.tools)
    except FileNotFoundError as error:
        print(f"schema packages missing ({error}); run 'npm ci' in {args.tools}", file=sys.stderr)
        return 2
    report = check_module(args.module, schema)
    for problem in report.problems:
        print(problem)
    nested = sum(_count_blocks(block.body) for block in report.checked)
    unchecked = sorted({f"{block.kind} {block.type}" for block in report.unchecked})
    print(
        f"terraform schema: {len(report.checked)} blocks, {nested} nested blocks and "
        f"{report.references} attribute references checked "
        f"against {', '.join(PACKAGES.values())}; {len(report.problems)} problems"
        + (f"; not Google's, unchecked: {', '.join(unchecked)}" if unchecked else "")
    )
    return 1 if report.problems else 0


def _count_blocks(body: Mapping[str, Any]) -> int:
    count = 0
    for key, value in body.items():
        if key == "dynamic":
            for entry in value:
                for label, dynamic in entry.items():
                    if not label.startswith("__"):
                        for content in dynamic.get("content", []):
                            count += 1 + _count_blocks(content)
        elif key not in META_ARGUMENTS and _is_block(value):
            count += sum(1 + _count_blocks(nested) for nested in value)
    return count


if __name__ == "__main__":
    raise SystemExit(main())
