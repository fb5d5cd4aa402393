"""Schemathesis hooks of the API contract test (Tests/IntegrationTests/APIContractTests.swift).

One check of our own: a token (chat or participant) appears only in the answer of a route that
issues one. The local stand-ins' tokens start with the prefixes below (IVS's own are opaque; the
stand-in mints KMS-envelope-like and JWT-like ones so that a leak is recognisable).
"""
import json
import re

import schemathesis

TOKEN_ROUTES = {"chatToken", "guestChatToken", "hostToken", "viewerToken", "guestViewerToken", "join"}
TOKEN_MARKERS = ("eyJhbGciOiJLTVMi", "AQICAH")
# A token as the stand-in mints it: a marker and at least 40 more token characters.
TOKEN = re.compile("(?:" + "|".join(TOKEN_MARKERS) + r")[A-Za-z0-9._-]{40,}")


def _sent_body(response, case):
    """The body as sent (bytes decoded), else the case's body as JSON text."""
    body = getattr(getattr(response, "request", None), "body", None)
    if isinstance(body, bytes):
        return body.decode("utf-8", "replace")
    if isinstance(body, str):
        return body
    return json.dumps(case.body, ensure_ascii=False, default=str)


@schemathesis.check
def no_token_outside_its_route(ctx, response, case):
    if case.operation.definition.raw.get("operationId") in TOKEN_ROUTES:
        return None
    text = response.text or ""
    # What the request itself carried may come back (a 404 naming the id it was given): not a leak.
    sent = _sent_body(response, case)
    for token in TOKEN.findall(text):
        if token not in sent:
            raise AssertionError(f"a token ({token[:16]}…) in the answer of {case.operation.label}")
    return None
