"""Assessors: what reads an escalation and suggests what to do. Chosen by HANDOFF_ASSESSOR."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from db.enums import Confidence, Rating
from resolvers.assessments import AssessmentResult, Feedback
from resolvers.desk import DeskSettings, Tracing


class AssessmentError(Exception):
    """The assessor could not produce an assessment this time (retried with backoff)."""


@dataclass(frozen=True)
class AssessmentRequest:
    problem_summary: str
    intake: str
    conversation: list[tuple[str, str]]  # (role, content), in order
    engineer_notes: str
    priority: str
    # A reassessment's: the earlier assessments and how the seniors rated them (issue 15).
    feedback: tuple[Feedback, ...] = ()
    # The team's internal notes on the escalation so far, oldest first (issue 15).
    team_notes: tuple[str, ...] = ()

    @classmethod
    def from_snapshot(
        cls,
        snapshot: dict[str, Any],
        notes: str,
        priority: str,
        feedback: tuple[Feedback, ...] = (),
        team_notes: tuple[str, ...] = (),
    ) -> AssessmentRequest:
        return cls(
            problem_summary=snapshot["problem_summary"],
            intake=snapshot["intake_content"],
            conversation=[(m["role"], m["content"]) for m in snapshot["messages"]],
            engineer_notes=notes,
            priority=priority,
            feedback=feedback,
            team_notes=team_notes,
        )

    def case(self) -> str:
        """The escalation itself: its problem, intake, conversation, the engineer's notes and
        the team's internal notes."""
        turns = "\n".join(f"{role}: {content}" for role, content in self.conversation)
        case = (
            f"Problem: {self.problem_summary}\nIntake: {self.intake}\n"
            f"Conversation:\n{turns}\nEngineer notes: {self.engineer_notes}"
        )
        if self.team_notes:
            case += "\nThe team's notes:\n" + "\n".join(f"- {n}" for n in self.team_notes)
        return case

    def text(self) -> str:
        """The case, then what the seniors said of earlier assessments of it, if anything."""
        if not self.feedback:
            return self.case()
        lines = [self.case(), "Earlier assessments of this escalation, as the seniors rated them:"]
        for earlier in self.feedback:
            lines.append(
                f"Assessment {earlier.number}: {earlier.summary} "
                f"Likely cause: {earlier.likely_cause}"
            )
            for rating, reason in earlier.ratings or ((None, None),):
                said = _RATED.get(rating, "not rated")
                lines.append(f"- {said}" + (f": {reason}" if reason else ""))
        return "\n".join(lines)

    def causes_set_aside(self) -> set[str]:
        """Likely causes of earlier assessments the seniors found more unhelpful than not."""
        return {
            earlier.likely_cause
            for earlier in self.feedback
            if sum(1 if r == Rating.NOT_HELPFUL else -1 for r, _ in earlier.ratings) > 0
        }


_RATED: dict[Rating | None, str] = {
    Rating.HELPFUL: "rated helpful",
    Rating.NOT_HELPFUL: "rated not helpful",
}


class Assessor(Protocol):
    # Names the assessor (HANDOFF_ASSESSOR) on what it made: the metrics compare them by it.
    name: str

    async def assess(self, request: AssessmentRequest) -> AssessmentResult: ...


@dataclass(frozen=True)
class _Rule:
    name: str
    pattern: re.Pattern[str]
    likely_cause: str
    steps: tuple[str, ...]


def _rule(name: str, words: str, cause: str, *steps: str) -> _Rule:
    return _Rule(name, re.compile(rf"\b({words})", re.IGNORECASE), cause, steps)


RULES = (
    _rule(
        "authentication",
        "password|mfa|2fa|login|sign[- ]?in|credential|locked out",
        "Stale or conflicting credentials after an authentication change (MFA, password reset, "
        "legacy authentication still in use).",
        "Check the account's sign-in logs for the failing authentication method",
        "Confirm modern authentication is enabled for the mailbox or app",
        "Clear cached credentials and sign in again",
    ),
    _rule(
        "vpn",
        "vpn|tunnel",
        "The VPN tunnel is dropped by the local network (idle timeout, MTU, or router sleep).",
        "Compare the drop interval with the router's idle/NAT timeout",
        "Lower the VPN client's MTU and test again",
        "Test on a wired connection or a hotspot to isolate the home network",
    ),
    _rule(
        "printing",
        "print|spooler|printer",
        "The print spooler or a printer driver on the print server is failing.",
        "Check the print server's event log for spooler or driver faults",
        "Restart the print spooler and clear stuck jobs",
        "Roll back or reinstall the printer driver named in the fault",
    ),
    _rule(
        "email",
        "outlook|mailbox|email|exchange",
        "A mail profile or mailbox configuration problem.",
        "Create a new mail profile and test",
        "Check the mailbox's status and quotas in the admin centre",
    ),
    _rule(
        "network",
        "dns|dhcp|wi-?fi|network|internet|ping",
        "A local network configuration fault (DNS, DHCP or wireless).",
        "Check IP configuration and DNS resolution on the device",
        "Compare with another device on the same network",
    ),
    _rule(
        "device",
        "enrol|enroll|autopilot|intune|laptop|device",
        "Device enrolment or management policy is blocking setup.",
        "Check the device's enrolment status and errors in the management console",
        "Confirm the user is licensed and assigned to the right enrolment profile",
    ),
)

_GENERIC_STEPS = (
    "Reproduce the problem and note the exact error text",
    "Check recent changes to the user's account, device or network",
    "Collect logs from the affected system",
)


class RuleBasedAssessor:
    """The embedded default: a deterministic keyword triage. No AI model is involved, and the
    summary says so; its confidence is always low. Asked again, it sets aside the causes the
    seniors rated not helpful, and the next rule that matches comes first."""

    name = "rules"

    async def assess(self, request: AssessmentRequest) -> AssessmentResult:
        text = request.case()  # the feedback's words are no symptoms
        set_aside = request.causes_set_aside()
        matched = [
            rule
            for rule in RULES
            if rule.pattern.search(text) and rule.likely_cause not in set_aside
        ]
        turns = len(request.conversation)
        dismissed = (
            f" {len(set_aside)} cause(s) the seniors rated not helpful set aside."
            if set_aside
            else ""
        )
        if matched:
            first = matched[0]
            topics = ", ".join(rule.name for rule in matched)
            summary = (
                f"Rule-based triage (no AI model): keywords point to {topics}. "
                f"{turns} conversation turn(s) reviewed; priority {request.priority}.{dismissed}"
            )
            steps = [step for rule in matched for step in rule.steps]
            return AssessmentResult(
                summary=summary,
                likely_cause=first.likely_cause,
                suggested_steps=list(dict.fromkeys(steps)),
                confidence=Confidence.LOW,
            )
        return AssessmentResult(
            summary=(
                "Rule-based triage (no AI model): no known pattern matched; "
                f"{turns} conversation turn(s) reviewed.{dismissed}"
            ),
            likely_cause="Unknown: the conversation matched none of the triage rules.",
            suggested_steps=list(_GENERIC_STEPS),
            confidence=Confidence.LOW,
        )


_SYSTEM_PROMPT = (
    "You are a senior IT-support engineer triaging an escalated troubleshooting session. "
    "Answer with one JSON object and nothing else, with the keys: "
    '"summary" (string, two sentences at most), "likely_cause" (string), '
    '"suggested_steps" (array of 2 to 6 short imperative strings), '
    '"confidence" (one of "low", "medium", "high"). '
    "When earlier assessments and the seniors' ratings of them are given, learn from them: do "
    "not repeat a cause or steps they rated not helpful unless the evidence points there anyway."
)


class OpenAICompatibleAssessor:
    """Calls an OpenAI-compatible chat-completions endpoint and asks for a JSON answer."""

    name = "openai"

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key: str,
        timeout: float,
        tracing: Tracing | None = None,
    ) -> None:
        """`tracing`: traces on, each call names its span (the job's) in a W3C traceparent."""
        self._url = base_url.rstrip("/") + "/chat/completions"
        self._model = model
        self._headers = {"authorization": f"Bearer {api_key}"} if api_key else {}
        self._timeout = timeout
        self._tracing = tracing

    async def assess(self, request: AssessmentRequest) -> AssessmentResult:
        body = {
            "model": self._model,
            "messages": [
                {"role": "system", "content": _SYSTEM_PROMPT},
                {"role": "user", "content": request.text()},
            ],
            "response_format": {"type": "json_object"},
            "temperature": 0,
        }
        headers = dict(self._headers)
        if self._tracing:
            self._tracing.inject(headers)
        try:
            async with httpx.AsyncClient(timeout=self._timeout) as client:
                response = await client.post(self._url, json=body, headers=headers)
                response.raise_for_status()
                content = response.json()["choices"][0]["message"]["content"]
        except httpx.HTTPError as error:
            raise AssessmentError(f"assessor endpoint failed: {error!r}") from error
        except (ValueError, KeyError, IndexError, TypeError) as error:
            raise AssessmentError(f"not a chat-completions reply: {error!r}") from error
        return parse_assessment(content)


def parse_assessment(content: str) -> AssessmentResult:
    """A model's JSON answer, checked field by field; anything else is an AssessmentError."""
    try:
        data = json.loads(content)
        steps = data["suggested_steps"]
        result = AssessmentResult(
            summary=str(data["summary"]).strip(),
            likely_cause=str(data["likely_cause"]).strip(),
            suggested_steps=[str(step).strip() for step in steps if str(step).strip()],
            confidence=Confidence(str(data["confidence"]).lower()),
        )
    except (ValueError, KeyError, TypeError) as error:
        raise AssessmentError(f"malformed assessment: {error!r}") from error
    if not isinstance(steps, list) or not result.summary or not result.suggested_steps:
        raise AssessmentError("malformed assessment: empty summary or steps")
    return result


def create_assessor(settings: DeskSettings, tracing: Tracing | None = None) -> Assessor:
    if settings.assessor == "openai":
        return OpenAICompatibleAssessor(
            settings.openai_base_url,
            settings.openai_model,
            settings.openai_api_key,
            settings.assessment_timeout_seconds,
            tracing,
        )
    return RuleBasedAssessor()
