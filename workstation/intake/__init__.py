"""Intake and integration over HTTP, without Qt: the workstation as one seat of a larger platform.

Reports come in from other systems (``platform``, ``hotline12345``/``hotline12319``, ``open311``
sources; kinds are pluggable through ``base.REGISTRY``), dispatch orders and status changes go out to
the units' systems through the outbox, and the units' responses come back (``responses``).

Importing this package registers the source kinds and installs the two lifecycle hooks (the outbox
writer and the unit-response recorder) in ``services.lifecycle.after_transition``: a program that
changes cases must import it once at start-up so every change writes its outbound messages.

Modules: ``settings`` (the settings file), ``http`` (requests with timeouts and back-off),
``formats`` (lenient JSON, safe XML, times), ``ingest`` (the batched, idempotent import path),
``quarantine``, ``mappings`` (service codes to categories), ``poller``, ``status`` (connection
state), ``targets``/``messages``/``outbox`` (outbound), ``responses`` (inbound unit responses).
"""

from __future__ import annotations

from workstation.intake import georeport_out, hotline, open311, outbox, platform, responses, unitfeed

__all__ = ["georeport_out", "hotline", "open311", "outbox", "platform", "responses", "unitfeed"]

outbox.install()
responses.install()
georeport_out.install()
