// The junior's page: escalate one of my open sessions, or a new one, to the team.

import { gql } from "./api.js";
import { field, h } from "./dom.js";

const MY_SESSIONS = `
  query MySessions { mySessionsConnection(first: 50) { nodes { id problemSummary status } } }`;

const START = `
  mutation Start($input: StartSessionInput!) {
    startSession(input: $input) {
      __typename
      ... on StartSessionSuccess { session { id } }
      ... on NotPermitted { message }
    }
  }`;

const ESCALATE = `
  mutation Escalate($input: CreateHandoffInput!) {
    createHandoff(input: $input) {
      __typename
      ... on CreateHandoffSuccess { handoff { id session { problemSummary } } }
      ... on SessionNotFound { message }
      ... on NotPermitted { message }
      ... on InvalidSessionState { message }
    }
  }`;

const NEW = "new";
const OPEN = new Set(["ACTIVE", "PAUSED"]);

function options(pairs, selected) {
  return pairs.map(([value, text]) => h("option", { value, selected: value === selected }, text));
}

export class EscalatePage {
  constructor() {
    this.sessionSelect = h("select", { name: "session", id: "escalate-session" });
    this.newFields = h(
      "fieldset",
      { class: "new-session" },
      h("legend", {}, "The new session"),
      field("Problem summary", h("input", { name: "summary", maxlength: "500" })),
      field(
        "Came in by",
        h(
          "select",
          { name: "intakeType" },
          options(
            [
              ["CHAT", "Chat"],
              ["EMAIL", "Email"],
              ["PHONE", "Phone"],
              ["TICKET", "Ticket"],
              ["MONITORING_ALERT", "Monitoring alert"],
            ],
            "TICKET",
          ),
        ),
      ),
      field(
        "What the customer reported",
        h("textarea", { name: "intakeContent", rows: "3", maxlength: "20000" }),
      ),
    );
    this.result = h("p", { class: "result", role: "status", tabindex: "-1" });
    this.submit = h("button", { type: "submit", class: "primary" }, "Escalate to the team");
    this.form = h(
      "form",
      { class: "escalate-form", onSubmit: (event) => this.escalate(event) },
      field("Session", this.sessionSelect),
      this.newFields,
      field(
        "Priority",
        h(
          "select",
          { name: "priority" },
          options(
            [
              ["LOW", "Low"],
              ["NORMAL", "Normal"],
              ["HIGH", "High"],
              ["URGENT", "Urgent"],
            ],
            "NORMAL",
          ),
        ),
      ),
      field(
        "What you tried, and why it goes to a senior",
        h("textarea", { name: "notes", rows: "4", maxlength: "10000" }),
      ),
      h("div", { class: "form-actions" }, this.submit),
    );
    this.sessionSelect.addEventListener("change", () => this.toggleNew());
    this.root = h(
      "section",
      { class: "escalate-page", "aria-labelledby": "escalate-title" },
      h("h2", { id: "escalate-title" }, "Escalate a session"),
      h(
        "p",
        { class: "hint" },
        "Stuck? Hand the session to the seniors: it appears in their queue at once, and an AI " +
          "assessment follows.",
      ),
      this.form,
      this.result,
    );
  }

  async show() {
    const { mySessionsConnection } = await gql(MY_SESSIONS);
    const open = mySessionsConnection.nodes.filter((s) => OPEN.has(s.status));
    const selected = this.sessionSelect.value || NEW;
    this.sessionSelect.replaceChildren(
      ...options(
        [[NEW, "A new session…"], ...open.map((s) => [s.id, s.problemSummary])],
        open.some((s) => s.id === selected) ? selected : NEW,
      ),
    );
    this.toggleNew();
  }

  toggleNew() {
    const isNew = this.sessionSelect.value === NEW;
    this.newFields.hidden = !isNew;
    this.newFields.querySelector("[name=summary]").required = isNew;
    this.newFields.querySelector("[name=intakeContent]").required = isNew;
  }

  async escalate(event) {
    event.preventDefault();
    const form = new FormData(this.form);
    this.submit.disabled = true;
    this.result.textContent = "";
    this.result.setAttribute("role", "status");
    try {
      let sessionId = form.get("session");
      if (sessionId === NEW) {
        const input = {
          problemSummary: form.get("summary"),
          intakeType: form.get("intakeType"),
          intakeContent: form.get("intakeContent"),
        };
        const { startSession } = await gql(START, { input });
        if (startSession.__typename !== "StartSessionSuccess") return this.fail(startSession);
        sessionId = startSession.session.id;
      }
      const input = {
        sessionId,
        intent: "ESCALATE",
        priority: form.get("priority"),
        engineerNotes: form.get("notes"),
      };
      const { createHandoff } = await gql(ESCALATE, { input });
      if (createHandoff.__typename !== "CreateHandoffSuccess") return this.fail(createHandoff);
      const { handoff } = createHandoff;
      this.form.reset();
      this.result.dataset.kind = "ok";
      this.result.replaceChildren(
        `Escalated “${handoff.session.problemSummary}”. The team sees it now. `,
        h("a", { href: `#/handoff/${handoff.id}` }, "Open it"),
      );
      await this.show();
      this.reveal();
    } catch (error) {
      this.fail(error);
    } finally {
      this.submit.disabled = false;
    }
  }

  fail(problem) {
    this.result.dataset.kind = "error";
    this.result.setAttribute("role", "alert");
    this.result.textContent = problem.message;
    this.reveal();
  }

  /** The result is below the form: bring it into view, and the keyboard to it. */
  reveal() {
    this.result.scrollIntoView({ block: "nearest" });
    this.result.focus({ preventScroll: true });
  }
}
