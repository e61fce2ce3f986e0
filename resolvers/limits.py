"""Documented input limits (README, "Limits"). Longer input is refused, never truncated."""

from resolvers.errors import BadInput

NAME_MAX = 200
EMAIL_MAX = 320
PASSWORD_MIN = 8
PASSWORD_MAX = 256
PROBLEM_SUMMARY_MAX = 500
INTAKE_CONTENT_MAX = 20_000
MESSAGE_MAX = 20_000
ENGINEER_NOTES_MAX = 10_000
NOTE_MAX = 5_000  # an internal note on an escalation
QUEUE_PAGE_MAX = 100
SEARCH_MAX = 200  # a view's search text
SEARCH_WORDS_MAX = 20
RATING_REASON_MAX = 500  # why a senior rated an assessment as they did
ASSESSMENTS_MAX = 20  # an escalation's assessments: the first and its reassessments
NODES_MAX = 100  # ids one nodes(ids:) may ask for


def encodable(value: str) -> bool:
    """UTF-8 encodable: no lone surrogate, which JSON lets through as an escape."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def storable(value: str) -> bool:
    """Whether every database can keep this text: encodable, and free of U+0000, which
    PostgreSQL's text refuses."""
    return "\x00" not in value and encodable(value)


def check_storable(value: str, field: str) -> str:
    if not storable(value):
        raise BadInput(f"{field} contains a character that cannot be stored (NUL, lone surrogate)")
    return value


def check_text(value: str, field: str, *, maximum: int, required: bool = True) -> str:
    """Strip surrounding whitespace; refuse empty (when required), unstorable or over-long text."""
    value = check_storable(value, field).strip()
    if required and not value:
        raise BadInput(f"{field} must not be empty")
    if len(value) > maximum:
        raise BadInput(f"{field} is {len(value)} characters long; the limit is {maximum}")
    return value


def check_page_size(first: int) -> int:
    if not 1 <= first <= QUEUE_PAGE_MAX:
        raise BadInput(f"first must be between 1 and {QUEUE_PAGE_MAX}, got {first}")
    return first
