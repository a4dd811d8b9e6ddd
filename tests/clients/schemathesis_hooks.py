"""Schemathesis hooks for herald's contract run (tests/openapi.rs).

A client sends a fresh Idempotency-Key with every distinct request: a key
reused for another request is 422 idempotency_mismatch by design, which a
generator that draws the same short key twice would read as a bug.
"""

import uuid

import schemathesis


@schemathesis.hook
def before_call(ctx, case, **kwargs):
    if case.headers and "Idempotency-Key" in case.headers:
        case.headers["Idempotency-Key"] = uuid.uuid4().hex
