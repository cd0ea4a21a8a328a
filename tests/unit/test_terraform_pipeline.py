"""infra/terraform follows functions/pipeline.yaml: functions, subscriptions and grants.

The module derives its functions, push subscriptions and every role of a function's service
account from the declaration (`yamldecode` in pipeline.tf). Terraform cannot plan here (no
providers), so these tests evaluate the module's own expressions — the locals, each
resource's `for_each` and the attributes that name a role, a member and a target — with a
small evaluator of the HCL subset the module uses, from the same YAML, and compare the
result with what the declaration says, computed independently below. A grant added by hand,
one the YAML does not declare, or a declaration Terraform ignores makes them differ.
"""

from __future__ import annotations

import copy
import functools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import hcl2
import pytest
import yaml
from lark import Token, Tree

ROOT = Path(__file__).resolve().parents[2]
TF_DIR = ROOT / "infra" / "terraform"
PIPELINE_YAML = ROOT / "functions" / "pipeline.yaml"
PROJECT = "comics-prod"

FUNCTION_ACCOUNT = re.compile(r'google_service_account\.function\["(\w+)"\]')


# ---- a small evaluator of the module's HCL -----------------------------------------------------


class EvaluationError(Exception):
    """What Terraform would report as an error; try() and can() catch it."""


@dataclass(frozen=True)
class Ref:
    """An attribute of a resource or data source: known only after apply, kept as its address."""

    path: str

    def attr(self, name: str) -> Ref:
        return Ref(f"{self.path}.{name}")

    def index(self, key: Any) -> Ref:
        return Ref(f'{self.path}["{key}"]' if isinstance(key, str) else f"{self.path}[{key}]")

    def __str__(self) -> str:
        return f"${{{self.path}}}"


class TfSet(tuple):  # type: ignore[type-arg]
    """A Terraform set: for_each gives each element as both key and value."""


@functools.lru_cache(maxsize=64)
def _parse(text: str) -> Tree:
    return hcl2.parses_to_tree(text)


def _children(tree: Tree) -> list[Any]:
    return [
        child
        for child in tree.children
        if isinstance(child, Tree) and child.data != "new_line_or_comment"
    ]


def _name(tree: Tree) -> str:
    token = tree.children[0]
    return str(token.value if isinstance(token, Token) else token)


def _string(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float, Ref)):
        return str(value)
    raise EvaluationError(f"cannot turn {value!r} into a string")


def _function_library() -> dict[str, Callable[..., Any]]:
    def merge(*items: Mapping[str, Any]) -> dict[str, Any]:
        merged: dict[str, Any] = {}
        for item in items:
            merged.update(item)
        return merged

    def flatten(items: Any) -> list[Any]:
        out: list[Any] = []
        for item in items:
            out.extend(flatten(item) if isinstance(item, (list, tuple)) else [item])
        return out

    def coalesce(*items: Any) -> Any:
        for item in items:
            if item is not None and item != "":
                return item
        raise EvaluationError("coalesce: no non-null argument")

    def setproduct(*sets: Any) -> list[list[Any]]:
        product: list[list[Any]] = [[]]
        for items in sets:
            product = [[*prefix, item] for prefix in product for item in items]
        return product

    def regex(pattern: str, text: str) -> Any:
        match = re.search(pattern, text)
        if match is None:
            raise EvaluationError(f"regex {pattern!r} does not match {text!r}")
        return list(match.groups()) if match.groups() else match.group(0)

    return {
        "merge": merge,
        "flatten": flatten,
        "coalesce": coalesce,
        "setproduct": setproduct,
        "regex": regex,
        "concat": lambda *lists: [item for items in lists for item in items],
        "toset": lambda items: TfSet(dict.fromkeys(items)),
        "tomap": dict,
        "distinct": lambda items: list(dict.fromkeys(items)),
        "contains": lambda items, value: value in items,
        "keys": lambda mapping: sorted(mapping),
        "values": lambda mapping: [mapping[key] for key in sorted(mapping)],
        "length": len,
        "replace": lambda text, old, new: text.replace(old, new),
        "join": lambda separator, items: separator.join(_string(item) for item in items),
        "tostring": _string,
        "min": min,
        "max": max,
        "trimprefix": lambda text, prefix: text.removeprefix(prefix),
        "startswith": lambda text, prefix: text.startswith(prefix),
        "endswith": lambda text, suffix: text.endswith(suffix),
        "base64encode": lambda text: text,
    }


class Evaluator:
    """Evaluates locals and resource arguments of a module for given variable values."""

    def __init__(
        self,
        module: Path,
        variables: Mapping[str, Any] | None = None,
        files: Mapping[str, str] | None = None,
    ) -> None:
        self.module = module
        self.files = dict(files or {})
        self.functions = _function_library()
        self.functions["file"] = self._file
        self.functions["yamldecode"] = yaml.safe_load
        self.local_trees: dict[str, Tree] = {}
        self.resources: dict[str, Tree] = {}  # "type.name" -> body
        defaults: dict[str, Any] = {}
        for path in sorted(module.glob("*.tf")):
            tree = _parse(path.read_text())
            for block in _children(_children(tree)[0]):
                if block.data != "block":
                    continue
                kind, labels, body = self._block_parts(block)
                if kind == "locals":
                    for attribute in _children(body):
                        name, expression = self._attribute_parts(attribute)
                        self.local_trees[name] = expression
                elif kind == "resource":
                    self.resources[".".join(labels)] = body
                elif kind == "variable":
                    default = self.attribute(body, "default")
                    if default is not None:
                        defaults[labels[0]] = self.evaluate(default, {})
        self.variables = {**defaults, **(variables or {})}
        self.local_values: dict[str, Any] = {}

    # -- structure

    @staticmethod
    def _block_parts(block: Tree) -> tuple[str, list[str], Tree]:
        parts = _children(block)
        kind = _name(parts[0])
        labels = []
        for part in parts[1:-1]:
            if part.data == "identifier":
                labels.append(_name(part))
            else:  # a quoted label
                labels.append("".join(str(t) for t in part.scan_values(lambda _: True)))
        return kind, [label.strip('"') for label in labels], parts[-1]

    @staticmethod
    def _attribute_parts(attribute: Tree) -> tuple[str, Tree]:
        parts = _children(attribute)
        return _name(parts[0]), parts[1]

    def attribute(self, body: Tree, name: str) -> Tree | None:
        for item in _children(body):
            if item.data == "attribute":
                key, expression = self._attribute_parts(item)
                if key == name:
                    return expression
        return None

    def blocks(self, body: Tree, name: str) -> list[Tree]:
        return [
            _children(item)[-1]
            for item in _children(body)
            if item.data == "block" and _name(_children(item)[0]) == name
        ]

    def dynamic_blocks(self, body: Tree, name: str) -> list[tuple[Tree, Tree]]:
        """(for_each expression, content body) of each `dynamic "<name>"` block."""
        found = []
        for item in _children(body):
            if item.data == "block":
                kind, labels, inner = self._block_parts(item)
                if kind == "dynamic" and labels == [name]:
                    for_each = self.attribute(inner, "for_each")
                    assert for_each is not None
                    found.append((for_each, self.blocks(inner, "content")[0]))
        return found

    # -- values

    def _file(self, path: str) -> str:
        resolved = (self.module / path).resolve()
        if str(resolved) in self.files:
            return self.files[str(resolved)]
        return resolved.read_text()

    def local(self, name: str) -> Any:
        if name not in self.local_values:
            if name not in self.local_trees:
                raise KeyError(f"local.{name} is not declared")
            self.local_values[name] = self.evaluate(self.local_trees[name], {})
        return self.local_values[name]

    def instances(self, address: str) -> dict[Any, dict[str, Any]]:
        """Instance key -> scope (each.key/each.value or count.index) of a resource."""
        body = self.resources[address]
        for_each = self.attribute(body, "for_each")
        count = self.attribute(body, "count")
        if for_each is not None:
            collection = self.evaluate(for_each, {})
            items = (
                [(item, item) for item in collection]
                if isinstance(collection, (TfSet, list))
                else list(collection.items())
            )
            return {key: {"each": {"key": key, "value": value}} for key, value in items}
        if count is not None:
            return {index: {"count": {"index": index}} for index in range(self.evaluate(count, {}))}
        return {None: {}}

    def argument(self, address: str, scope: Mapping[str, Any], *path: str) -> Any:
        """An argument of a resource instance, through nested blocks: ("service_config", "x")."""
        body = self.resources[address]
        for block_name in path[:-1]:
            (body,) = self.blocks(body, block_name)
        expression = self.attribute(body, path[-1])
        if expression is None:
            raise KeyError(f"{address} has no {'.'.join(path)}")
        return self.evaluate(expression, scope)

    def evaluate(self, tree: Any, scope: Mapping[str, Any]) -> Any:
        if isinstance(tree, Token):
            raise EvaluationError(f"unexpected token {tree!r}")
        kind = tree.data
        if kind in ("for_tuple_expr", "for_object_expr"):
            return self._for(kind, _children(tree), scope)
        rule = self._RULES.get(kind)
        if rule is None:
            raise EvaluationError(f"the test evaluator does not support {kind}")
        return rule(self, tree, _children(tree), scope)

    def _expr_term(self, tree: Tree, parts: list[Tree], scope: Mapping[str, Any]) -> Any:
        if not parts:  # a parenthesised or literal token
            raise EvaluationError(f"cannot evaluate {tree!r}")
        return self.evaluate(parts[0], scope)

    def _literal(self, tree: Tree, parts: list[Tree], scope: Mapping[str, Any]) -> Any:
        return {"true": True, "false": False, "null": None}[_name(tree)]

    def _get_attr_term(self, tree: Tree, parts: list[Tree], scope: Mapping[str, Any]) -> Any:
        return self._get_attr(parts[0], _name(_children(parts[1])[0]), scope)

    def _index_term(self, tree: Tree, parts: list[Tree], scope: Mapping[str, Any]) -> Any:
        value = self.evaluate(parts[0], scope)
        return self._index(value, self.evaluate(_children(parts[1])[0], scope))

    def _object(self, tree: Tree, parts: list[Tree], scope: Mapping[str, Any]) -> Any:
        return {
            self._object_key(_children(element)[0], scope): self.evaluate(
                _children(element)[1], scope
            )
            for element in parts
        }

    def _conditional(self, tree: Tree, parts: list[Tree], scope: Mapping[str, Any]) -> Any:
        condition = self.evaluate(parts[0], scope)
        return self.evaluate(parts[1] if condition else parts[2], scope)

    def _unary(self, tree: Tree, parts: list[Tree], scope: Mapping[str, Any]) -> Any:
        value = self.evaluate(parts[0], scope)
        return (not value) if str(tree.children[0]) == "!" else -value

    # Each grammar rule the module uses, as (evaluator, tree, its children, scope) -> value.
    _RULES: ClassVar[dict[str, Callable[[Any, Tree, list[Tree], Mapping[str, Any]], Any]]] = {
        "expr_term": _expr_term,
        "int_lit": lambda self, tree, parts, scope: int(_name(tree)),
        "float_lit": lambda self, tree, parts, scope: float(_name(tree)),
        "literal_value": _literal,
        "string": lambda self, tree, parts, scope: self._template(parts, scope),
        "identifier": lambda self, tree, parts, scope: self._identifier(_name(tree), scope),
        "get_attr_expr_term": _get_attr_term,
        "index_expr_term": _index_term,
        "tuple": lambda self, tree, parts, scope: [self.evaluate(part, scope) for part in parts],
        "object": _object,
        "function_call": lambda self, tree, parts, scope: self._call(
            _name(parts[0]), parts[1:], scope
        ),
        "conditional": _conditional,
        "unary_op": _unary,
        "binary_op": lambda self, tree, parts, scope: self._binary(parts, scope),
    }

    def _template(self, parts: list[Tree], scope: Mapping[str, Any]) -> str:
        out = []
        for part in parts:
            if part.children and isinstance(part.children[0], Tree):
                (expression,) = _children(part.children[0])
                out.append(_string(self.evaluate(expression, scope)))
            else:
                out.append("".join(str(child) for child in part.children))
        return "".join(out)

    def _identifier(self, name: str, scope: Mapping[str, Any]) -> Any:
        if name in scope:
            return scope[name]
        if name in ("var", "local", "path", "data"):
            return ("namespace", name)
        return Ref(name)

    def _get_attr(self, base_tree: Tree, attr: str, scope: Mapping[str, Any]) -> Any:
        base = self.evaluate(base_tree, scope)
        if isinstance(base, tuple) and len(base) == 2 and base[0] == "namespace":
            namespace = base[1]
            if namespace == "var":
                if attr not in self.variables:
                    raise KeyError(f"var.{attr} has no value")
                return self.variables[attr]
            if namespace == "local":
                return self.local(attr)
            if namespace == "path":
                return "."
            return Ref(f"data.{attr}")
        if isinstance(base, Ref):
            return base.attr(attr)
        if isinstance(base, dict):
            if attr not in base:
                raise EvaluationError(f"no attribute {attr!r}")
            return base[attr]
        raise EvaluationError(f"cannot read .{attr} of {base!r}")

    @staticmethod
    def _index(value: Any, key: Any) -> Any:
        if isinstance(value, Ref):
            return value.index(key)
        try:
            return value[key]
        except (KeyError, IndexError, TypeError) as error:
            raise EvaluationError(f"no element {key!r}") from error

    def _object_key(self, key_tree: Tree, scope: Mapping[str, Any]) -> str:
        (expression,) = _children(key_tree)
        inner = _children(expression)
        if inner and inner[0].data == "identifier":
            return _name(inner[0])
        return _string(self.evaluate(expression, scope))

    def _call(self, name: str, arguments: list[Tree], scope: Mapping[str, Any]) -> Any:
        expressions = _children(arguments[0]) if arguments else []
        if name == "try":
            for expression in expressions:
                try:
                    return self.evaluate(expression, scope)
                except EvaluationError:
                    continue
            raise EvaluationError("try: every argument failed")
        if name == "can":
            try:
                self.evaluate(expressions[0], scope)
            except EvaluationError:
                return False
            return True
        if name not in self.functions:
            raise EvaluationError(f"the test evaluator has no function {name}()")
        return self.functions[name](*(self.evaluate(e, scope) for e in expressions))

    def _binary(self, parts: list[Tree], scope: Mapping[str, Any]) -> Any:
        left = self.evaluate(parts[0], scope)
        operator_tree, right_tree = _children(parts[1])
        operator = _name(operator_tree)
        if operator == "&&":
            return bool(left) and bool(self.evaluate(right_tree, scope))
        if operator == "||":
            return bool(left) or bool(self.evaluate(right_tree, scope))
        right = self.evaluate(right_tree, scope)
        operations: dict[str, Callable[[Any, Any], Any]] = {
            "==": lambda a, b: a == b,
            "!=": lambda a, b: a != b,
            ">": lambda a, b: a > b,
            ">=": lambda a, b: a >= b,
            "<": lambda a, b: a < b,
            "<=": lambda a, b: a <= b,
            "+": lambda a, b: a + b,
            "-": lambda a, b: a - b,
            "*": lambda a, b: a * b,
        }
        return operations[operator](left, right)

    def _for(self, kind: str, parts: list[Tree], scope: Mapping[str, Any]) -> Any:
        intro = _children(parts[0])
        names = [_name(part) for part in intro if part.data == "identifier"]
        (collection_tree,) = [part for part in intro if part.data != "identifier"]
        collection = self.evaluate(collection_tree, scope)
        condition = parts[-1] if parts[-1].data == "for_cond" else None
        bodies = parts[1:-1] if condition is not None else parts[1:]
        if isinstance(collection, dict):
            pairs = list(collection.items())
        elif isinstance(collection, TfSet):
            pairs = [(item, item) for item in collection]
        else:
            pairs = list(enumerate(collection))
        out_list, out_map = [], {}
        for key, value in pairs:
            inner = dict(scope)
            if len(names) == 2:
                inner[names[0]], inner[names[1]] = key, value
            else:
                inner[names[0]] = value
            if condition is not None and not self.evaluate(_children(condition)[0], inner):
                continue
            if kind == "for_tuple_expr":
                out_list.append(self.evaluate(bodies[0], inner))
            else:
                new_key = _string(self.evaluate(bodies[0], inner))
                if new_key in out_map:
                    raise EvaluationError(f"duplicate key {new_key!r} in a for expression")
                out_map[new_key] = self.evaluate(bodies[1], inner)
        return out_list if kind == "for_tuple_expr" else out_map


# ---- the declaration, read independently --------------------------------------------------------


def declaration(text: str | None = None) -> dict[str, Any]:
    return yaml.safe_load(PIPELINE_YAML.read_text() if text is None else text)


def tf_key(name: str) -> str:
    return name.replace("-", "_")


@dataclass(frozen=True)
class Options:
    enable_sweeper: bool = True
    use_vertex_ai: bool = False
    attach_gemini_key: bool = True

    def variables(self) -> dict[str, Any]:
        return {
            "project_id": PROJECT,
            "enable_sweeper": self.enable_sweeper,
            "use_vertex_ai": self.use_vertex_ai,
            "attach_gemini_key": self.attach_gemini_key,
        }


def deployed_functions(declared: Mapping[str, Any], options: Options) -> dict[str, Any]:
    return {
        tf_key(name): function
        for name, function in declared["functions"].items()
        if "schedule" not in function["trigger"] or options.enable_sweeper
    }


Grant = tuple[str, str, str]  # (function, role, on what)


def declared_grants(declared: Mapping[str, Any], options: Options) -> set[Grant]:
    """Every role a function's account should hold, straight from the YAML."""
    grants: set[Grant] = set()
    secrets_attached = options.attach_gemini_key and not options.use_vertex_ai
    for key, function in deployed_functions(declared, options).items():
        permissions = function["permissions"]
        firestore = permissions.get("firestore", "none")
        if firestore != "none":
            role = {"read": "roles/datastore.viewer", "read-write": "roles/datastore.user"}
            grants.add((key, role[firestore], "project"))
        users = permissions.get("users", "none")
        if users != "none":
            role = {"read": "roles/firebaseauth.viewer", "read-write": "roles/firebaseauth.admin"}
            grants.add((key, role[users], "project"))
        for topic in permissions.get("publishes", []):
            grants.add((key, "roles/pubsub.publisher", f"topic:{topic}"))
        storage = permissions.get("storage", "none")
        if storage != "none":
            role = {"read": "roles/storage.objectViewer", "read-write": "roles/storage.objectAdmin"}
            grants.add((key, role[storage], "bucket:assets"))
        if permissions.get("signs_urls", False):
            grants.add((key, "roles/iam.serviceAccountTokenCreator", f"serviceAccount:{key}"))
        for secret in permissions.get("secrets", []):
            if secrets_attached:
                grants.add((key, "roles/secretmanager.secretAccessor", f"secret:{secret}"))
        if permissions.get("models", False) and options.use_vertex_ai:
            grants.add((key, "roles/aiplatform.user", "project"))
        if permissions.get("messaging", False):
            grants.add((key, "roles/firebasecloudmessaging.admin", "project"))
    return grants


# ---- what the module grants ---------------------------------------------------------------------

# The argument that names what an IAM member resource grants a role on.
TARGET_ARGUMENTS = ("topic", "bucket", "secret_id", "service_account_id", "subscription", "name")


@dataclass
class Deployment:
    """The module evaluated for one set of variables and one declaration."""

    options: Options = field(default_factory=Options)
    yaml_text: str | None = None

    def __post_init__(self) -> None:
        files = {} if self.yaml_text is None else {str(PIPELINE_YAML): self.yaml_text}
        self.tf = Evaluator(TF_DIR, self.options.variables(), files)

    def target_names(self) -> dict[str, str]:
        """Address of each thing a role can be granted on -> its name in the declaration."""
        names = {PROJECT: "project"}
        for topic, ref in self.tf.local("topics").items():
            names[_string(ref.attr("name"))] = f"topic:{topic}"
        for secret, entry in self.tf.local("secrets").items():
            names[_string(entry["secret_id"])] = f"secret:{secret}"
        names[str(Ref("google_storage_bucket.assets.name"))] = "bucket:assets"
        return names

    def grants_to_functions(self) -> set[Grant]:
        functions = set(self.tf.local("functions"))
        names = self.target_names()
        found: set[Grant] = set()
        for address in self.tf.resources:
            rtype = address.split(".")[0]
            if not rtype.endswith("_iam_member"):
                continue
            for scope in self.tf.instances(address).values():
                member = _string(self.tf.argument(address, scope, "member"))
                match = FUNCTION_ACCOUNT.search(member)
                if match is None or match.group(1) not in functions:
                    continue
                role = self.tf.argument(address, scope, "role")
                found.add((match.group(1), role, self._target(address, scope, names)))
        return found

    def _target(self, address: str, scope: Mapping[str, Any], names: Mapping[str, str]) -> str:
        if address.startswith("google_project_iam_member."):
            return "project"
        for argument in TARGET_ARGUMENTS:
            try:
                value = _string(self.tf.argument(address, scope, argument))
            except KeyError:
                continue
            if value in names:
                return names[value]
            account = FUNCTION_ACCOUNT.search(value)
            if account and argument == "service_account_id":
                return f"serviceAccount:{account.group(1)}"
            return value
        raise AssertionError(f"{address}: cannot tell what the role is granted on")


def mutated_yaml(change: Callable[[dict[str, Any]], None]) -> str:
    declared = copy.deepcopy(declaration())
    change(declared)
    return yaml.safe_dump(declared, sort_keys=False)


OPTIONS = [
    Options(),
    Options(enable_sweeper=False),
    Options(use_vertex_ai=True),
    Options(attach_gemini_key=False),
]


# ---- grants ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("options", OPTIONS, ids=lambda o: repr(o).removeprefix("Options"))
def test_function_accounts_hold_exactly_the_declared_grants(options: Options) -> None:
    granted = Deployment(options).grants_to_functions()
    declared = declared_grants(declaration(), options)
    assert granted - declared == set(), "granted but not declared"
    assert declared - granted == set(), "declared but not granted"


def test_the_api_may_publish_the_panel_messages_retry_and_regenerate_send() -> None:
    # The bug this declaration fixed: a 403 on :retry and :regenerate in production.
    granted = Deployment().grants_to_functions()
    assert ("api", "roles/pubsub.publisher", "topic:panels") in granted
    assert ("api", "roles/pubsub.publisher", "topic:plan") in granted


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            lambda d: d["functions"]["worker"]["permissions"]["publishes"].append("panels"),
            ("worker", "roles/pubsub.publisher", "topic:panels"),
        ),
        (
            lambda d: d["functions"]["dead-letter"]["permissions"].update(storage="read"),
            ("dead_letter", "roles/storage.objectViewer", "bucket:assets"),
        ),
        (
            lambda d: d["functions"]["sweeper"]["permissions"].update(signs_urls=True),
            ("sweeper", "roles/iam.serviceAccountTokenCreator", "serviceAccount:sweeper"),
        ),
        (
            lambda d: d["functions"]["api"]["permissions"]["secrets"].append("gemini-api-key"),
            ("api", "roles/secretmanager.secretAccessor", "secret:gemini-api-key"),
        ),
    ],
    ids=["publish", "storage", "signs_urls", "secret"],
)
def test_a_permission_added_to_the_yaml_changes_the_grants(
    change: Callable[[dict[str, Any]], None], expected: Grant
) -> None:
    before = Deployment().grants_to_functions()
    text = mutated_yaml(change)
    after = Deployment(yaml_text=text).grants_to_functions()
    assert expected not in before
    assert after - before == {expected}
    assert after == declared_grants(declaration(text), Options())


def test_a_permission_removed_from_the_yaml_is_revoked() -> None:
    before = Deployment().grants_to_functions()
    text = mutated_yaml(lambda d: d["functions"]["api"]["permissions"].update(storage="none"))
    after = Deployment(yaml_text=text).grants_to_functions()
    assert before - after == {("api", "roles/storage.objectAdmin", "bucket:assets")}
    assert after <= before


def test_an_undeclared_topic_or_secret_is_an_error_not_a_silent_skip() -> None:
    text = mutated_yaml(lambda d: d["functions"]["api"]["permissions"]["publishes"].append("x"))
    with pytest.raises(EvaluationError):
        Deployment(yaml_text=text).grants_to_functions()


def test_grants_are_derived_from_the_declaration_in_the_hcl() -> None:
    """The for_each of every function grant reads a local built from local.pipeline."""
    source = (TF_DIR / "pipeline.tf").read_text()
    assert 'yamldecode(file("${path.module}/../../functions/pipeline.yaml"))' in source
    tf = Evaluator(TF_DIR)
    for_each_locals = {
        "google_project_iam_member.function": "local.project_roles",
        "google_pubsub_topic_iam_member.publisher": "local.publishers",
        "google_storage_bucket_iam_member.assets": "local.asset_roles",
        "google_service_account_iam_member.signs_own_urls": "local.url_signers",
        "google_secret_manager_secret_iam_member.function": "local.secret_readers",
        "google_cloudfunctions2_function.function": "local.functions",
        "google_pubsub_subscription.push": "local.push_functions",
    }
    iam_source = (TF_DIR / "iam.tf").read_text() + (TF_DIR / "functions.tf").read_text()
    iam_source += (TF_DIR / "pubsub.tf").read_text()
    for address, local in for_each_locals.items():
        rtype, name = address.split(".")
        block = re.search(
            rf'resource "{rtype}" "{name}" {{\n(?:\s*#.*\n)*\s*for_each\s*=\s*(.+)', iam_source
        )
        assert block, f"{address} has no for_each"
        assert local in block.group(1), f"{address}: for_each = {block.group(1)}"
        assert address in tf.resources
    # Each of those locals is built from the decoded declaration.
    assert "inlocal.pipeline.functions:" in _tree_text(tf.local_trees["functions"])
    for local in ("publishers", "asset_roles", "url_signers", "secret_readers"):
        assert "inlocal.functions:" in _tree_text(tf.local_trees[local]), local


def _tree_text(tree: Tree) -> str:
    """The tokens of an expression, whitespace dropped: `local.pipeline.functions`."""
    return "".join(str(token).strip() for token in tree.scan_values(lambda v: isinstance(v, Token)))


# ---- functions ------------------------------------------------------------------------------------


@pytest.mark.parametrize("options", [Options(), Options(enable_sweeper=False)])
def test_functions_are_the_declared_ones(options: Options) -> None:
    deployment = Deployment(options)
    tf = deployment.tf
    address = "google_cloudfunctions2_function.function"
    instances = tf.instances(address)
    declared = deployed_functions(declaration(), options)
    assert set(instances) == set(declared)
    for key, scope in instances.items():
        function = declared[key]
        assert tf.argument(address, scope, "name") == f"panelflow-{function_name(key)}"
        assert tf.argument(address, scope, "build_config", "entry_point") == function["entry_point"]
        source = _string(
            tf.argument(address, scope, "build_config", "source", "storage_source", "object")
        )
        assert f'google_storage_bucket_object.bundle["{function["bundle"]}"].name' in source
        account = _string(tf.argument(address, scope, "service_config", "service_account_email"))
        assert account == f'${{google_service_account.function["{key}"].email}}'
        ingress = tf.argument(address, scope, "service_config", "ingress_settings")
        public = function["trigger"].get("http") == "public"
        assert ingress == ("ALLOW_ALL" if public else "ALLOW_INTERNAL_ONLY"), key
        environment = tf.argument(address, scope, "service_config", "environment_variables")
        assert ("PANELFLOW_CORS_ORIGINS" in environment) == public, key
        models = function["permissions"].get("models", False)
        assert ("PANELFLOW_PROVIDERS" in environment) == models, key


def function_name(key: str) -> str:
    return key.replace("_", "-")


@pytest.mark.parametrize("options", OPTIONS, ids=lambda o: repr(o).removeprefix("Options"))
def test_secret_variables_follow_the_declared_secrets(options: Options) -> None:
    tf = Deployment(options).tf
    address = "google_cloudfunctions2_function.function"
    declared = deployed_functions(declaration(), options)
    attached = options.attach_gemini_key and not options.use_vertex_ai
    body = tf.resources[address]
    ((for_each, content),) = tf.dynamic_blocks(
        tf.blocks(body, "service_config")[0], "secret_environment_variables"
    )
    for key, scope in tf.instances(address).items():
        entries = tf.evaluate(for_each, scope)
        names = set()
        for entry in entries:
            inner = {**scope, "secret_environment_variables": {"value": entry}}
            names.add(tf.evaluate(tf.attribute(content, "key"), inner))
        expected = (
            {"GEMINI_API_KEY"} if attached and declared[key]["permissions"]["secrets"] else set()
        )
        assert names == expected, key


def test_the_api_allows_the_web_origins_cross_origin() -> None:
    tf = Evaluator(TF_DIR, {"project_id": PROJECT, "web_origins": ["https://c.example"]})
    origins = tf.local("web_origins")
    assert origins == [
        "https://comics-prod.web.app",
        "https://comics-prod.firebaseapp.com",
        "https://c.example",
    ]
    scope = tf.instances("google_cloudfunctions2_function.function")["api"]
    environment = tf.argument(
        "google_cloudfunctions2_function.function", scope, "service_config", "environment_variables"
    )
    assert environment["PANELFLOW_CORS_ORIGINS"] == ",".join(origins)
    domains = tf.local("auth_authorized_domains")
    assert {"comics-prod.web.app", "comics-prod.firebaseapp.com", "c.example"} <= set(domains)


# ---- subscriptions ----------------------------------------------------------------------------------


def declared_subscriptions(declared: Mapping[str, Any]) -> dict[str, tuple[str, str | None]]:
    """function -> (topic, dead-letter topic) for every topic-triggered function."""
    return {
        tf_key(name): (function["trigger"]["topic"], function["trigger"].get("dead_letter"))
        for name, function in declared["functions"].items()
        if "topic" in function["trigger"]
    }


@pytest.mark.parametrize(
    "yaml_text",
    [
        None,
        mutated_yaml(lambda d: d["functions"]["worker"]["trigger"].pop("dead_letter")),
        mutated_yaml(lambda d: d["functions"]["dead-letter"]["trigger"].update(topic="panels")),
    ],
    ids=["as-declared", "worker-without-dead-letter", "dead-letter-on-panels"],
)
def test_subscriptions_push_what_the_declaration_says(yaml_text: str | None) -> None:
    tf = Deployment(yaml_text=yaml_text).tf
    topics = {f"{ref}": key for key, ref in tf.local("topics").items()}
    address = "google_pubsub_subscription.push"
    instances = tf.instances(address)
    expected = declared_subscriptions(declaration(yaml_text))
    assert set(instances) == set(expected)
    body = tf.resources[address]
    ((for_each, content),) = tf.dynamic_blocks(body, "dead_letter_policy")
    for key, scope in instances.items():
        topic, dead_letter = expected[key]
        topic_ref = _string(tf.argument(address, scope, "topic"))
        assert topics[topic_ref.removesuffix(".id}") + "}"] == topic, key
        uri = f'google_cloudfunctions2_function.function["{key}"].service_config[0].uri'
        endpoint = tf.argument(address, scope, "push_config", "push_endpoint")
        assert endpoint.startswith(f"${{{uri}}}/projects/"), endpoint
        assert endpoint.endswith("/topics/" + _string(tf.local("topics")[topic].attr("name")))
        audience = _string(tf.argument(address, scope, "push_config", "oidc_token", "audience"))
        assert audience == f"${{{uri}}}"
        policies = tf.evaluate(for_each, scope)
        if dead_letter is None:
            assert policies == [], key
        else:
            assert [_string(p) for p in policies] == [
                _string(tf.local("topics")[dead_letter].attr("id"))
            ]
            inner = {**scope, "dead_letter_policy": {"value": policies[0]}}
            attempts = tf.evaluate(tf.attribute(content, "max_delivery_attempts"), inner)
            assert attempts == 5
        timeout = tf.local("function_sizes")[key]["timeout_seconds"]
        assert tf.argument(address, scope, "ack_deadline_seconds") == min(600, timeout)


def test_the_pubsub_agent_acks_where_messages_dead_letter() -> None:
    tf = Deployment().tf
    acks = set(tf.instances("google_pubsub_subscription_iam_member.pubsub_agent_acks_dead_letters"))
    with_dead_letters = {k for k, (_, d) in declared_subscriptions(declaration()).items() if d}
    assert acks == with_dead_letters == {"plan", "worker"}
    publishes = tf.instances("google_pubsub_topic_iam_member.pubsub_agent_publishes_dead_letters")
    assert set(publishes) == {"dead-letter"}


def test_declared_topics_are_the_module_topics() -> None:
    tf = Deployment().tf
    declared = declaration()["topics"]
    assert set(tf.local("topics")) == set(declared)
    for key, topic in declared.items():
        variable = f"{tf_key(key)}_topic"
        assert tf.variables[variable] == topic["name"], variable
        ref = tf.local("topics")[key]
        address = ref.path
        assert _string(tf.argument(address, {}, "name")) == topic["name"]


def test_the_sweeper_is_scheduled_as_declared() -> None:
    tf = Deployment().tf
    instances = tf.instances("google_cloud_scheduler_job.sweep")
    assert set(instances) == {"sweeper"}
    schedule = tf.argument("google_cloud_scheduler_job.sweep", instances["sweeper"], "schedule")
    assert schedule == declaration()["functions"]["sweeper"]["trigger"]["schedule"]
    tf = Evaluator(TF_DIR, {"project_id": PROJECT, "sweep_schedule": "*/5 * * * *"})
    scope = tf.instances("google_cloud_scheduler_job.sweep")["sweeper"]
    assert tf.argument("google_cloud_scheduler_job.sweep", scope, "schedule") == "*/5 * * * *"
    assert (
        Deployment(Options(enable_sweeper=False)).tf.instances("google_cloud_scheduler_job.sweep")
        == {}
    )


def test_the_evaluator_reads_expressions_it_does_not_know_as_errors() -> None:
    """The evaluator refuses what it cannot evaluate rather than guessing."""
    tree = hcl2.parses_to_tree("locals {\n  x = unknownfn(1)\n}\n")
    expression = next(iter(tree.find_data("function_call")))
    with pytest.raises(EvaluationError):
        Evaluator(TF_DIR).evaluate(expression, {})


def test_function_sizes_override_the_defaults_one_setting_at_a_time() -> None:
    # Terraform fills the settings an override leaves out with null.
    unset = dict.fromkeys(
        ("memory", "cpu", "timeout_seconds", "concurrency", "min_instances", "max_instances")
    )
    overrides = {"worker": {**unset, "timeout_seconds": 120, "max_instances": 8}}
    tf = Evaluator(TF_DIR, {"function_sizes": overrides})
    defaults = tf.local("default_function_sizes")
    sizes = tf.local("function_sizes")
    assert sizes["worker"] == {**defaults["worker"], "timeout_seconds": 120, "max_instances": 8}
    assert {name: sizes[name] for name in sizes if name != "worker"} == {
        name: size for name, size in defaults.items() if name != "worker"
    }
