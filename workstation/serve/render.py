"""GeoReport v2 documents in JSON and XML, and the spec's error format."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any
from xml.etree import ElementTree as ET

CONTENT_TYPES = {"json": "application/json; charset=utf-8", "xml": "text/xml; charset=utf-8"}


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _xml(root: str, item: str, rows: Sequence[Mapping[str, Any]]) -> bytes:
    top = ET.Element(root)
    for row in rows:
        el = ET.SubElement(top, item)
        _fill(el, row)
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(top, encoding="utf-8", xml_declaration=False)


def _fill(el: ET.Element, row: Mapping[str, Any]) -> None:
    for key, value in row.items():
        child = ET.SubElement(el, key)
        if isinstance(value, list):
            for entry in value:
                sub = ET.SubElement(child, key[:-1] if key.endswith("s") else "value")
                if isinstance(entry, Mapping):
                    _fill(sub, entry)
                else:
                    sub.text = _text(entry)
        else:
            child.text = _text(value)


def document(kind: str, fmt: str, rows: Sequence[Mapping[str, Any]]) -> bytes:
    """A list document: ``services``, ``service_requests`` (requests, posts and tokens) or ``errors``."""
    if fmt == "json":
        return json.dumps(list(rows), ensure_ascii=False).encode("utf-8")
    item = {"services": "service", "service_requests": "request", "errors": "error"}[kind]
    return _xml(kind, item, rows)


def definition(fmt: str, row: Mapping[str, Any]) -> bytes:
    """A service definition (one object in JSON, ``<service_definition>`` in XML)."""
    if fmt == "json":
        return json.dumps(dict(row), ensure_ascii=False).encode("utf-8")
    top = ET.Element("service_definition")
    _fill(top, row)
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(top, encoding="utf-8", xml_declaration=False)


def errors(fmt: str, status: int, description: str) -> bytes:
    """The spec's error document: a list of one ``{code, description}``."""
    return document("errors", fmt, [{"code": status, "description": description}])
