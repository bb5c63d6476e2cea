"""Reading what other systems send: bytes to text, lenient JSON, safe XML, and times with their zone.

Real endpoints are sloppy: the GeoReport v2 specification's own examples write ``"service_code":001``
(a number with a leading zero, which strict JSON refuses). ``loads_lenient`` reads those as the text
``"001"``. XML is parsed with expat directly and any document type declaration (DTD) or entity
declaration is refused outright, which rules out entity expansion attacks and external entities
without defusedxml.
"""

from __future__ import annotations

import codecs
import json
import math
import re
import xml.parsers.expat
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from typing import Any
from xml.etree import ElementTree as ET
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from workstation.i18n import tr
from workstation.intake.items import PageError, clip

_XML_DECL = re.compile(rb"^\s*<\?xml[^>]*encoding=[\"']([A-Za-z0-9._-]+)[\"']")
_XML_DECL_TEXT = re.compile(r"^\s*<\?xml[^>]*\?>")
# A JSON string (skipped as a whole) or a bare number with a leading zero such as 001 or -007.5.
_LEADING_ZERO = re.compile(r'"(?:[^"\\]|\\.)*"|(?<![\w.])(-?0\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)(?![\w.])')


def decode(body: bytes, content_type: str = "") -> tuple[str, str | None]:
    """The text of a response body, and a problem with its encoding (None when it decoded cleanly).

    The charset comes from the Content-Type header, else the XML declaration, else UTF-8. Bytes that
    do not decode are replaced, so the text can still be kept in quarantine.
    """
    charset = None
    match = re.search(r"charset=([\w.-]+)", content_type or "", re.I)
    if match:
        charset = match.group(1)
    else:
        decl = _XML_DECL.match(body[:200])
        if decl:
            charset = decl.group(1).decode("ascii")
    charset = charset or "utf-8"
    if body.startswith(b"\xef\xbb\xbf"):
        body, charset = body[3:], "utf-8"
    try:
        if not getattr(codecs.lookup(charset), "_is_text_encoding", True):
            raise LookupError(charset)  # base64, zlib, rot13...: not a character set
    except LookupError:
        return body.decode("utf-8", "replace"), tr("unknown character set {name}", name=clip(charset, 40))
    try:
        return body.decode(charset), None
    except UnicodeDecodeError as exc:
        problem = tr("the body is not valid {charset} (byte {pos})", charset=charset, pos=exc.start)
    except (UnicodeError, ValueError, LookupError, IndexError, TypeError):  # codecs such as "undefined", "punycode"
        return body.decode("utf-8", "replace"), tr("the character set {name} cannot be read", name=clip(charset, 40))
    try:
        return body.decode(charset, "replace"), problem
    except (UnicodeError, ValueError, LookupError, IndexError, TypeError):
        return body.decode("utf-8", "replace"), problem


_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_SURROGATE = re.compile("[\ud800-\udfff]")
_UNSTORABLE_TIME = re.compile("[\x00-\x1f\x7f\ud800-\udfff]")


def clean_text(text: str) -> str:
    """Text that every database can store: NUL characters and lone surrogates become U+FFFD."""
    return _UNSTORABLE.sub("\ufffd", text)


def clean_value(value: Any) -> Any:
    """A parsed JSON value with every string (and key) made storable (see ``clean_text``)."""
    if isinstance(value, str):
        return clean_text(value) if _UNSTORABLE.search(value) else value
    if isinstance(value, list):
        return [clean_value(v) for v in value]
    if isinstance(value, dict):
        return {clean_text(str(k)): clean_value(v) for k, v in value.items()}
    return value


def dumps(value: Any) -> str:
    """A parsed JSON value written back as compact JSON text (an item's kept payload)."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    # A lone surrogate is written as its JSON escape: the payload stays storable and reads back the same.
    return _SURROGATE.sub(lambda m: f"\\u{ord(m.group(0)):04x}", text) if _SURROGATE.search(text) else text


def sniff(text: str) -> str:
    """``json``, ``xml`` or ``unknown``, from the first character that is not blank."""
    head = text.lstrip("\ufeff \t\r\n")[:1]
    if head in ("{", "["):
        return "json"
    if head == "<":
        return "xml"
    return "unknown"


def _int(text: str) -> Any:
    try:
        return int(text)
    except ValueError:  # more digits than Python converts: keep the digits
        return text


def _float(text: str) -> Any:
    value = float(text)
    return value if math.isfinite(value) else text


def _strict_constant(name: str) -> Any:
    raise PageError(tr("not valid JSON: {name} is not a JSON value", name=name))


def _parse(text: str, constant: Any) -> Any:
    """json.loads with every number and constant kept storable; PageError for anything else wrong."""
    try:
        # NUL bytes and lone surrogates are kept: each field is judged (and refused) where it is used;
        # what is kept verbatim (quarantine, the case's first event) is made storable there.
        return json.loads(text, parse_int=_int, parse_float=_float, parse_constant=constant)
    except json.JSONDecodeError as exc:
        raise PageError(
            tr("not valid JSON: {reason} (line {line}, column {col})", reason=exc.msg, line=exc.lineno, col=exc.colno)
        ) from None
    except RecursionError:
        raise PageError(tr("not valid JSON: nested too deeply")) from None


def loads_lenient(text: str) -> Any:
    """Parse JSON, reading bare numbers with leading zeros (``001``) as text (``"001"``).

    ``NaN`` and ``Infinity`` are kept as text.

    Raises:
        PageError: the text is not JSON even so, with the position of the problem.
    """
    text = text.lstrip("\ufeff")
    try:
        return _parse(text, str)
    except PageError as first:
        fixed = _LEADING_ZERO.sub(lambda m: f'"{m.group(1)}"' if m.group(1) else m.group(0), text)
        if fixed == text:
            raise
        try:
            return _parse(fixed, str)
        except PageError:
            raise first from None


def loads_strict(text: str) -> Any:
    """Parse JSON as it is written (``NaN`` and ``Infinity`` are refused).

    Raises:
        PageError: not JSON, with the position of the problem.
    """
    return _parse(text.lstrip("\ufeff"), _strict_constant)


class _Refused(Exception):
    pass


class _TooDeep(Exception):
    pass


MAX_XML_DEPTH = 32  # the default of ``Limits.max_xml_depth``


def _refuse(*_args: Any) -> None:
    raise _Refused


def parse_xml(text: str, max_depth: int = MAX_XML_DEPTH) -> ET.Element:
    """Parse an XML document safely: no DTD, no entity declarations, no external entities, bounded depth.

    Raises:
        PageError: malformed XML, a DTD or entity declaration (refused), or elements nested deeper
            than ``max_depth``, with the reason.
    """
    builder = ET.TreeBuilder()
    parser = xml.parsers.expat.ParserCreate()
    parser.buffer_text = True
    for handler in (
        "StartDoctypeDeclHandler",
        "EntityDeclHandler",
        "UnparsedEntityDeclHandler",
        "ExternalEntityRefHandler",
    ):
        setattr(parser, handler, _refuse)
    parser.SetParamEntityParsing(xml.parsers.expat.XML_PARAM_ENTITY_PARSING_NEVER)
    depth = [0]

    def start(tag: str, attrs: dict[str, str]) -> None:
        depth[0] += 1
        if depth[0] > max_depth:
            raise _TooDeep
        builder.start(tag, attrs)

    def end(tag: str) -> None:
        depth[0] -= 1
        builder.end(tag)

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = builder.data
    # The text is already decoded: drop the declaration so expat does not decode it a second time.
    data = _XML_DECL_TEXT.sub("", text.lstrip("\ufeff"), count=1).encode("utf-8", "surrogatepass")
    try:
        parser.Parse(data, True)
        return builder.close()
    except _TooDeep:
        raise PageError(
            tr("XML nested deeper than {n} elements is refused (limits.max_xml_depth)", n=max_depth)
        ) from None
    except _Refused:
        raise PageError(tr("XML with a document type (DTD) or entity declarations is refused")) from None
    except xml.parsers.expat.ExpatError as exc:
        raise PageError(
            tr(
                "not well-formed XML: {reason} (line {line}, column {col})",
                reason=xml.parsers.expat.ErrorString(exc.code),
                line=exc.lineno,
                col=exc.offset,
            )
        ) from None
    except (AssertionError, IndexError, RecursionError):  # the tree builder's own consistency checks
        raise PageError(tr("not well-formed XML")) from None


def element_fields(element: ET.Element) -> tuple[dict[str, str], list[str]]:
    """The leaf children of an element as a dict of stripped text, and notes on what was skipped."""
    fields: dict[str, str] = {}
    notes: list[str] = []
    for child in element:
        tag = str(child.tag)
        if len(child):
            notes.append(tr("nested element <{tag}> ignored", tag=tag))
            continue
        if tag in fields:
            notes.append(tr("repeated element <{tag}>: the first one is used", tag=tag))
            continue
        fields[tag] = (child.text or "").strip()
    return fields, notes


def xml_text(element: ET.Element) -> str:
    """The element written back as XML text (its original payload).

    Raises:
        PageError: nested too deeply to write back.
    """
    try:
        return ET.tostring(element, encoding="unicode")
    except RecursionError:
        raise PageError(tr("XML nested too deeply")) from None


def zone(name: str) -> tzinfo:
    """A timezone from ``+08:00`` / ``-05:30`` / ``UTC`` or an IANA name such as ``Asia/Shanghai``.

    Raises:
        ValueError: unknown zone.
    """
    text = name.strip()
    match = re.fullmatch(r"([+-])(\d{2}):?(\d{2})", text)
    if match:
        sign = 1 if match.group(1) == "+" else -1
        return timezone(sign * timedelta(hours=int(match.group(2)), minutes=int(match.group(3))))
    if text.upper() in ("UTC", "Z"):
        return UTC
    try:
        return ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(tr("unknown timezone {name}", name=name)) from None


def read_time(value: Any, assume: tzinfo | None = None) -> tuple[datetime, bool]:
    """An ISO 8601 time, and whether its zone was assumed (only when ``assume`` is given).

    Accepts ``T`` or a space between date and time, ``Z``, ``+0800`` and ``+08:00``.

    Raises:
        ValueError: with the reason: missing, unreadable, or no timezone and none to assume.
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        raise ValueError(tr("missing"))
    if not isinstance(value, str):
        raise ValueError(tr("not a time: {value}", value=clip(repr(value), 40)))
    if len(value) > 60 or _UNSTORABLE_TIME.search(value):
        raise ValueError(
            tr("not an ISO 8601 time: {value} (e.g. 2026-06-04T10:19:00+08:00)", value=clip(repr(value), 40))
        )
    text = value.strip()
    if text[-1:] in ("Z", "z"):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(
            tr("not an ISO 8601 time: {value} (e.g. 2026-06-04T10:19:00+08:00)", value=clip(value, 40))
        ) from None
    if parsed.tzinfo is not None:
        return parsed, False
    if assume is None:
        raise ValueError(tr("{value} has no timezone", value=clip(value, 40)))
    return parsed.replace(tzinfo=assume), True
