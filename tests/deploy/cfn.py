"""Reading deploy/cloudformation/cloudblog.yaml the way CloudFormation would, for tests.

- `load()` decodes the YAML with cfn-lint's decoder (short tags become `Ref`/`Fn::*`).
- `resolve(template, parameters)` evaluates the conditions for one set of parameters and
  returns only the resources and outputs that exist then, with every `Fn::If` decided and
  `AWS::NoValue` removed: what the policy tests read.
- `moto_variant(template)` drops the resource types moto's CloudFormation cannot create
  and puts a stand-in string (or a given real id) wherever they were referenced, so the
  rest of the stack deploys into moto unchanged.
"""

from __future__ import annotations

import copy
import functools
import json
import re
from pathlib import Path
from typing import Any

from cfnlint.decode import decode

ROOT = Path(__file__).resolve().parent.parent.parent
TEMPLATE = ROOT / "deploy" / "cloudformation" / "cloudblog.yaml"
NO_VALUE = object()


@functools.cache
def _decoded(path: Path) -> str:
    template, problems = decode(str(path))
    assert not problems, problems
    # Plain dicts and strings from here on (cfn-lint's nodes carry positions).
    return json.dumps(template)


def load(path: Path = TEMPLATE) -> dict[str, Any]:
    return json.loads(_decoded(path))


def defaults(template: dict[str, Any], **given: str) -> dict[str, str]:
    values = {
        name: str(spec["Default"])
        for name, spec in template["Parameters"].items()
        if "Default" in spec
    }
    values.update(given)
    return values


def _condition(expr: Any, conditions: dict[str, Any], params: dict[str, str]) -> Any:
    if isinstance(expr, dict):
        (key, value), *_ = expr.items()
        if key == "Ref":
            return params[value]
        if key == "Condition":
            return _condition(conditions[value], conditions, params)
        if key == "Fn::Equals":
            left, right = (_condition(v, conditions, params) for v in value)
            return str(left) == str(right)
        if key == "Fn::Not":
            return not _condition(value[0], conditions, params)
        if key == "Fn::And":
            return all(_condition(v, conditions, params) for v in value)
        if key == "Fn::Or":
            return any(_condition(v, conditions, params) for v in value)
        raise AssertionError(f"unexpected {key} in a condition")
    return expr


def _decide(value: Any, truth: dict[str, bool]) -> Any:
    if isinstance(value, dict):
        if set(value) == {"Fn::If"}:
            name, yes, no = value["Fn::If"]
            return _decide(yes if truth[name] else no, truth)
        if value == {"Ref": "AWS::NoValue"}:
            return NO_VALUE
        decided = {key: _decide(item, truth) for key, item in value.items()}
        return {key: item for key, item in decided.items() if item is not NO_VALUE}
    if isinstance(value, list):
        return [item for item in (_decide(v, truth) for v in value) if item is not NO_VALUE]
    return value


def resolve(template: dict[str, Any], params: dict[str, str]) -> dict[str, Any]:
    conditions = template.get("Conditions", {})
    truth = {name: bool(_condition(expr, conditions, params)) for name, expr in conditions.items()}
    resources = {
        name: _decide(resource, truth)
        for name, resource in template["Resources"].items()
        if truth.get(resource.get("Condition"), True)
    }
    outputs = {
        name: _decide(output, truth)
        for name, output in template.get("Outputs", {}).items()
        if truth.get(output.get("Condition"), True)
    }
    return {"Resources": resources, "Outputs": outputs, "Conditions": truth}


def of_type(resources: dict[str, Any], kind: str) -> dict[str, Any]:
    return {name: r for name, r in resources.items() if r["Type"] == kind}


def walk(value: Any):
    """Every dict and list inside a value, depth first."""
    yield value
    if isinstance(value, dict):
        for item in value.values():
            yield from walk(item)
    elif isinstance(value, list):
        for item in value:
            yield from walk(item)


# ------------------------------------------------------------------ moto variant
def moto_supported() -> set[str]:
    from moto.cloudformation.parsing import get_model_map

    return set(get_model_map())


# Attributes moto's CloudFormation cannot give (its models lack them).
MOTO_LACKS_ATTRIBUTES = {
    "LoadBalancer.LoadBalancerFullName",
    "WebTargetGroup.TargetGroupFullName",
    "MediaFileSystem.Arn",
}


def _replace(value: Any, gone: set[str], stand_ins: dict[str, str]) -> Any:
    def stand_in(name: str, attribute: str | None = None) -> str:
        key = f"{name}.{attribute}" if attribute else name
        # ARN-shaped, since IAM policies refuse anything else as a Resource.
        return stand_ins.get(key, f"arn:aws:moto-lacks:us-east-1:123456789012:{key}")

    if isinstance(value, dict):
        if set(value) == {"Ref"} and value["Ref"] in gone:
            return stand_in(value["Ref"])
        if set(value) == {"Fn::GetAtt"}:
            target = value["Fn::GetAtt"]
            name, attribute = target if isinstance(target, list) else target.split(".", 1)
            if name in gone or f"{name}.{attribute}" in MOTO_LACKS_ATTRIBUTES:
                return stand_in(name, attribute)
        if set(value) == {"Fn::Sub"}:
            body = value["Fn::Sub"]
            text, variables = (body, {}) if isinstance(body, str) else body

            def swap(match: re.Match) -> str:
                name, _, attribute = match.group(1).partition(".")
                if name in gone or match.group(1) in MOTO_LACKS_ATTRIBUTES:
                    return stand_in(name, attribute or None)
                return match.group(0)

            text = re.sub(r"\$\{([A-Za-z0-9:.]+)\}", swap, text)
            variables = _replace(variables, gone, stand_ins)
            return {"Fn::Sub": [text, variables] if variables else text}
        return {key: _replace(item, gone, stand_ins) for key, item in value.items()}
    if isinstance(value, list):
        return [_replace(item, gone, stand_ins) for item in value]
    return value


def moto_variant(
    template: dict[str, Any],
    *,
    stand_ins: dict[str, str] | None = None,
    drop: set[str] = frozenset(),
) -> tuple[dict[str, Any], set[str]]:
    """The template less what moto cannot create; and the logical ids left out."""
    supported = moto_supported()
    variant = copy.deepcopy(template)
    gone = {
        name
        for name, resource in variant["Resources"].items()
        if resource["Type"] not in supported or name in drop
    }
    for name in gone:
        del variant["Resources"][name]
    for resource in variant["Resources"].values():
        depends = resource.get("DependsOn")
        if depends:
            kept = [
                d for d in ([depends] if isinstance(depends, str) else depends) if d not in gone
            ]
            if kept:
                resource["DependsOn"] = kept
            else:
                del resource["DependsOn"]
    variant["Resources"] = _replace(variant["Resources"], gone, stand_ins or {})
    variant["Outputs"] = _replace(variant.get("Outputs", {}), gone, stand_ins or {})
    return variant, gone
