#!/usr/bin/env python3
"""Prints the HTTP API's routes as each source declares them, as JSON: {"template": [...],
"openapi": [...], "readme": [...]}, each route "METHOD /path auth" (auth: jwt, none or guest; the
template cannot tell none from guest: both are "none" there). Used by the drift test
(Tests/IntegrationTests/APIContractTests.swift), which holds them to the route table in
Sources/Handlers/APIRoutes.swift.

usage: api-routes.py [TEMPLATE OPENAPI README]   (default: the repository's own files)
"""
import json
import re
import sys
from pathlib import Path

import yaml

root = Path(__file__).resolve().parent.parent
template_path, openapi_path, readme_path = (sys.argv[1:4] if len(sys.argv) >= 4
                                            else (root / "template.yaml", root / "openapi.yaml", root / "README.md"))


class Loader(yaml.SafeLoader):
    """YAML with CloudFormation's short tags (!Ref, !If, …) read as plain values."""


def _any_tag(loader, suffix, node):
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node)
    return loader.construct_mapping(node)


Loader.add_multi_constructor("!", _any_tag)


def template_routes(path):
    doc = yaml.load(Path(path).read_text(), Loader=Loader)
    routes = []
    for resource in doc.get("Resources", {}).values():
        props = resource.get("Properties", {}) or {}
        if resource.get("Type") == "AWS::Serverless::Function":
            for event in (props.get("Events") or {}).values():
                if event.get("Type") != "HttpApi":
                    continue
                p = event.get("Properties", {})
                auth = "none" if (p.get("Auth") or {}).get("Authorizer") == "NONE" else "jwt"
                routes.append(f'{p["Method"].upper()} {p["Path"]} {auth}')
        elif resource.get("Type") == "AWS::ApiGatewayV2::Route":
            method, route_path = props["RouteKey"].split(" ", 1)
            auth = "none" if props.get("AuthorizationType", "NONE") == "NONE" else "jwt"
            routes.append(f"{method.upper()} {route_path} {auth}")
    return sorted(routes)


def openapi_routes(path):
    doc = yaml.safe_load(Path(path).read_text())
    default_secured = bool(doc.get("security"))
    routes = []
    for route_path, item in doc.get("paths", {}).items():
        for method, op in item.items():
            if method.startswith("x-") or method == "parameters":
                continue
            secured = bool(op["security"]) if "security" in op else default_secured
            auth = "jwt" if secured else ("guest" if op.get("x-guest") else "none")
            routes.append(f"{method.upper()} {route_path} {auth}")
    return sorted(routes)


def readme_routes(path):
    """The rows of the table under the '## HTTP API' heading: | `METHOD /path` | auth | …"""
    text = Path(path).read_text()
    section = re.search(r"^## HTTP API\n(.*?)(?=^## )", text, re.M | re.S)
    if not section:
        return []
    rows = re.findall(r"^\| `(GET|POST|PUT|DELETE|PATCH) (/[^` ]*)` \| (jwt|none|guest) \|", section.group(1), re.M)
    return sorted(f"{m} {p} {a}" for m, p, a in rows)


print(json.dumps({"template": template_routes(template_path), "openapi": openapi_routes(openapi_path),
                  "readme": readme_routes(readme_path)}))
