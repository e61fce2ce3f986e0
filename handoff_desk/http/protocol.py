"""GraphQL over HTTP (https://graphql.github.io/graphql-over-http/): media types and statuses.

A client whose `Accept` prefers `application/graphql-response+json` gets the spec's status codes:
a request that never reached execution answers 400 with no `data` entry (a body that is no JSON
object, a `query`, `operationName`, `variables` or `extensions` of the wrong type, a document that
does not parse or does not validate, no single operation to run, variables that do not coerce);
once execution started the answer is 200, field errors included. A client that accepts only
`application/json`, or sends no `Accept`, is a legacy client: a request that is no GraphQL
request (what the body carries is malformed) is 400 for it too, while every GraphQL answer,
request errors included, keeps the 200 such clients expect (the spec's rule for that media type).
Either way a mutation over GET gets 405 (`Allow: POST`), an unknown body type 415, and an
`Accept` that admits neither media type 406.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from cross_web import HTTPException
from graphql import GraphQLError, OperationType
from graphql.language import OperationDefinitionNode
from starlette.responses import JSONResponse, Response
from strawberry.types import ExecutionResult

from schema.documents import Document
from schema.errors import INTERNAL_SERVER_ERROR

GRAPHQL_RESPONSE = "application/graphql-response+json"
JSON = "application/json"
_SUPPORTED = (JSON, GRAPHQL_RESPONSE)  # on a full tie, the legacy type: `*/*` means JSON


def negotiate(accept: str | None) -> str | None:
    """The media type to answer in, per RFC 9110 content negotiation; None if neither is
    acceptable. No `Accept` at all is a legacy client."""
    if not accept or not accept.strip():
        return JSON
    ranges = list(_media_ranges(accept))
    best: tuple[tuple[float, int, int, int], str] | None = None
    for preference, media_type in enumerate(reversed(_SUPPORTED)):
        # The most specific range that names this type decides its quality (RFC 9110 12.5.1).
        matches = [r for r in ranges if r[1] in _patterns(media_type)]
        if not matches:
            continue
        position, _, specificity, quality = max(matches, key=lambda r: (r[2], -r[0]))
        if quality <= 0:
            continue
        key = (quality, specificity, -position, preference)
        if best is None or key > best[0]:
            best = (key, media_type)
    return best[1] if best else None


def _patterns(media_type: str) -> tuple[str, str, str]:
    kind = media_type.split("/")[0]
    return (media_type, f"{kind}/*", "*/*")


def _media_ranges(accept: str) -> Iterator[tuple[int, str, int, float]]:
    """(position, range, specificity, quality) of each well-formed element of an Accept header."""
    for position, element in enumerate(accept.split(",")):
        name, *params = (part.strip() for part in element.split(";"))
        name = name.lower()
        if name.count("/") != 1:
            continue
        quality = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = -1.0
        if not 0 <= quality <= 1:
            continue  # a malformed element is ignored, not guessed at
        specificity = 0 if name == "*/*" else 1 if name.endswith("/*") else 2
        yield position, name, specificity, quality


def request_error_status(result: ExecutionResult) -> int | None:
    """The status of an answer whose request failed before execution; None once it executed.

    Execution errors always carry a path (even when null propagation left `data` null); errors
    of parsing, validation and variable coercion never do."""
    errors = result.errors or []
    if result.data is not None or not errors or any(e.path for e in errors):
        return None
    if any((e.extensions or {}).get("code") == INTERNAL_SERVER_ERROR for e in errors):
        return 500
    # Parsing (a document over the token limit included: its parsing is aborted), validation,
    # the operation to run, the variables' coercion: the spec answers each with 400.
    return 400


# The entries of a GraphQL request and the types they may have (null: not given).
_ENTRIES: tuple[tuple[str, type, str], ...] = (
    ("query", str, "a string"),
    ("operationName", str, "a string"),
    ("variables", dict, "an object"),
    ("extensions", dict, "an object"),
)


def malformed(body: dict[str, Any]) -> str | None:
    """What makes a request's JSON object no GraphQL request (an entry of the wrong type), or
    None. A missing `query` is Strawberry's to report, once it knows no extension supplies one."""
    for name, kind, described in _ENTRIES:
        value = body.get(name)
        if value is not None and not isinstance(value, kind):
            return f"The GraphQL request's `{name}` must be {described} or null, if provided."
    return None


def operation(
    document: Document, operation_name: str | None
) -> OperationType | GraphQLError | None:
    """The type of the operation a request selects, or the request error that it selects none
    (GraphQL's GetOperation). None when the document does not parse: execution reports that."""
    selected = document.select(operation_name)
    if not isinstance(selected, OperationDefinitionNode):
        return selected
    if selected.operation is OperationType.SUBSCRIPTION:
        return GraphQLError("Subscriptions are served over the websocket at /graphql only.")
    return selected.operation


@dataclass
class Refusal(Exception):
    """An HTTP request that is no GraphQL request this server can take."""

    status: int
    message: str
    allow: str | None = None  # the methods to name in a 405

    @classmethod
    def from_http_exception(cls, error: HTTPException) -> Refusal:
        """Strawberry's own refusals (a malformed request is 400, for either media type)."""
        if error.status_code == 405:
            return cls(405, error.reason, allow="GET, POST")
        return cls(error.status_code, error.reason)

    def response(self, media_type: str) -> Response:
        response = JSONResponse({"errors": [{"message": self.message}]}, status_code=self.status)
        if self.allow:
            response.headers["allow"] = self.allow
        return finish(response, media_type)


def not_acceptable() -> Response:
    message = f"Answers come as {GRAPHQL_RESPONSE} or {JSON}; the Accept header admits neither."
    response = JSONResponse({"errors": [{"message": message}]}, status_code=406)
    response.headers.add_vary_header("accept")
    return response


def finish(response: Response, media_type: str, status: int | None = None) -> Response:
    """The answer in the negotiated media type (its body is the same for both)."""
    if media_type == GRAPHQL_RESPONSE:
        response.headers["content-type"] = f"{GRAPHQL_RESPONSE}; charset=utf-8"
        if status is not None:
            response.status_code = status
    response.headers.add_vary_header("accept")  # shared HTTP caches must not mix the two
    return response
