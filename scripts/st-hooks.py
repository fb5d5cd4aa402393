"""Schemathesis hooks of the API contract test (Tests/IntegrationTests/APIContractTests.swift).

One check of our own: a token (chat or participant) appears only in the answer of a route that
issues one. The local stand-ins' tokens start with the prefixes below (IVS's own are opaque; the
stand-in mints KMS-envelope-like and JWT-like ones so that a leak is recognisable).
"""
import schemathesis

TOKEN_ROUTES = {"chatToken", "guestChatToken", "hostToken", "viewerToken", "guestViewerToken", "join"}
TOKEN_MARKERS = ("eyJhbGciOiJLTVMi", "AQICAH")


@schemathesis.check
def no_token_outside_its_route(ctx, response, case):
    if case.operation.definition.raw.get("operationId") in TOKEN_ROUTES:
        return None
    text = response.text or ""
    for marker in TOKEN_MARKERS:
        if marker in text:
            raise AssertionError(f"a token ({marker}…) in the answer of {case.operation.label}")
    return None
