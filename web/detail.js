// The open escalation: session, notes, AI assessment (rated by the seniors, asked for afresh, its
// earlier ones kept), who holds it, who else is viewing it, and (for the claimer) the message box
// with the assessment's suggested steps as chips above it. The conversation and the team's
// internal notes grow live while it is open (web/desk.js subscribes).

import { ago, dueBadge, formatTime, h, priorityBadge, viewing } from "./dom.js";

const OPEN = new Set(["ACTIVE", "PAUSED"]);
/** How many of a conversation's latest messages the detail asks for (the API's default page). */
export const CONVERSATION_SHOWN = 100;
/** How many of an escalation's latest internal notes the detail asks for. */
export const NOTES_SHOWN = 50;
const NOTE_MAX = 5000;
const ROLE = { CUSTOMER: "Customer", ENGINEER: "Engineer", ASSISTANT: "Assistant" };
const RATED = { HELPFUL: "helpful", NOT_HELPFUL: "not helpful" };
// A thumb, drawn here (no icon font, no emoji font needed): up, or turned down by the stylesheet.
const THUMB_PATH =
  "M1 21h4V9H1v12zm22-11c0-1.1-.9-2-2-2h-6.31l.95-4.57.03-.32c0-.41-.17-.79-.44-1.06L14.17 " +
  "1 7.59 7.59C7.22 7.95 7 8.45 7 9v10c0 1.1.9 2 2 2h9c.83 0 1.54-.5 1.84-1.22l3.02-7.05c.09" +
  "-.23.14-.47.14-.73v-2z";

function thumbIcon() {
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("class", "thumb-icon");
  const path = document.createElementNS("http://www.w3.org/2000/svg", "path");
  path.setAttribute("d", THUMB_PATH);
  svg.append(path);
  return svg;
}
const REASON_MAX = 500; // the API's limit on a rating's reason
const INTAKE = {
  CHAT: "chat",
  EMAIL: "email",
  PHONE: "phone call",
  TICKET: "ticket",
  MONITORING_ALERT: "monitoring alert",
};

// Sending or closing the strip hides the suggested steps for that session, in this browser.
const stepsHidden = {
  key: (sessionId) => `handoff-desk:steps-hidden:${sessionId}`,
  get: (sessionId) => localStorage.getItem(stepsHidden.key(sessionId)) === "1",
  set: (sessionId) => localStorage.setItem(stepsHidden.key(sessionId), "1"),
};

export class DetailView {
  /** `actions`: what the buttons call (withdraw, priority, transfer, resolve, resume, reassess),
   * each with the handoff (and a value), and rate (an assessment, a rating, a reason);
   * `colleagues()`: who a claim may be handed to. */
  constructor({
    me,
    allowSelfClaim,
    readsNotes,
    onClaim,
    onRelease,
    onSend,
    onNote,
    actions,
    colleagues,
  }) {
    this.me = me;
    this.allowSelfClaim = allowSelfClaim;
    this.readsNotes = readsNotes; // a viewer may be kept from notes by the account
    this.onClaim = onClaim;
    this.onRelease = onRelease;
    this.onSend = onSend;
    this.onNote = onNote;
    this.on = actions;
    this.colleagues = colleagues;
    // A rating's reason being typed, by assessment: a live event that draws the detail again
    // keeps it.
    this.reasons = new Map();
    this.root = h("section", { class: "detail-pane", "aria-label": "Escalation" });
    this.viewers = []; // who else has the open escalation open (handoffViewers)
    this.clear();
  }

  clear() {
    this.handoff = null;
    this.root.replaceChildren(
      h("p", { class: "empty" }, "Open an escalation to see its session, notes and assessment."),
    );
  }

  loading() {
    this.root.replaceChildren(h("p", { class: "empty" }, "Loading…"));
  }

  /** An unknown, malformed or someone else's id: say so, and the way back. */
  missing() {
    this.handoff = null;
    this.root.replaceChildren(
      h(
        "div",
        { class: "missing", id: "detail-missing", tabindex: "-1" },
        h("h2", {}, "This escalation is not visible to you"),
        h(
          "p",
          { class: "empty" },
          "It may not exist, or it belongs to another account. ",
          h("a", { href: "#/" }, "Back to the queue"),
        ),
      ),
    );
  }

  /** The escalation could not be loaded (the network): say so, with a retry. */
  failed(message, retry) {
    this.handoff = null;
    this.root.replaceChildren(
      h(
        "div",
        { class: "load-failed" },
        h("p", { class: "form-error", role: "alert" }, `Could not load the escalation: ${message}`),
        h("button", { type: "button", class: "primary", id: "retry-load", onClick: retry }, "Retry"),
      ),
    );
  }

  /** Focus the open escalation's title, or what stands in its place. */
  focus() {
    this.root.querySelector("#detail-title, #detail-missing, #retry-load")?.focus();
  }

  render(handoff, { claiming = false } = {}) {
    // A live event may draw the same escalation again just after an action failed: what was
    // said about it stays (a refusal must not vanish because the claim that beat it arrived).
    const same = this.handoff && this.handoff.id === handoff.id;
    const said = same && this.problem ? this.problem.textContent : "";
    // So does what the user is doing in it: the colleague chosen in "Transfer to" (kept in
    // this.transferTo), the message being typed (its box is carried over), and where the
    // keyboard was.
    const focus = same ? this.focused() : null;
    if (!same) this.transferTo = "";
    this.handoff = handoff;
    const { session } = handoff;
    this.actions = h("div", { class: "actions" });
    this.problem = h("p", { class: "form-error action-error", role: "alert" }, said);
    this.assessment = h("section", {
      class: "assessment",
      "aria-labelledby": "assessment-title",
      "aria-live": "polite",
    });
    this.conversation = h("ol", {
      class: "conversation",
      "aria-label": "Conversation",
      "aria-live": "polite",
    });
    this.viewersLine = h("p", { class: "viewers", id: "viewers", "aria-live": "polite" });
    this.composer = (same && this.composer) || h("div", { class: "composer-slot" });
    this.noteList = h("ol", { class: "team-notes", "aria-label": "Internal notes" });
    // What is being typed in the note box is carried over too.
    this.noteComposer = (same && this.noteComposer) || this.noteForm();
    this.root.replaceChildren(
      h(
        "article",
        { class: "detail", dataset: { handoffId: handoff.id } },
        h(
          "header",
          { class: "detail-head" },
          h(
            "div",
            { class: "detail-badges" },
            priorityBadge(handoff.priority),
            dueBadge(handoff),
            handoff.intent === "PARK" ? h("span", { class: "sla parked" }, "parked") : null,
          ),
          h("h2", { id: "detail-title", tabindex: "-1" }, session.problemSummary),
          h(
            "p",
            { class: "meta" },
            `Escalated by ${handoff.createdBy.name} · `,
            h(
              "time",
              { datetime: handoff.createdAt, title: formatTime(handoff.createdAt) },
              ago(handoff.createdAt),
            ),
            ` · from a ${INTAKE[session.intakeType] ?? session.intakeType}`,
          ),
          this.viewersLine,
          this.actions,
          this.problem,
        ),
        h(
          "section",
          { class: "notes", "aria-labelledby": "notes-title" },
          h("h3", { id: "notes-title" }, "Engineer's notes"),
          h("p", { class: "prose" }, handoff.engineerNotes || "No notes."),
        ),
        this.readsNotes && handoff.intent !== "PARK"
          ? h(
              "section",
              { class: "team-notes-section", "aria-labelledby": "team-notes-title" },
              h("h3", { id: "team-notes-title" }, "Internal notes"),
              this.noteList,
              this.noteComposer,
            )
          : null,
        this.assessment,
        h(
          "section",
          { class: "session", "aria-labelledby": "session-title" },
          h("h3", { id: "session-title" }, "Session"),
          h(
            "blockquote",
            { class: "intake" },
            h("span", { class: "who" }, `Intake (${INTAKE[session.intakeType]})`),
            session.intakeContent,
          ),
          this.conversation,
        ),
        this.composer,
      ),
    );
    this.renderActions(claiming);
    this.updateViewers(this.viewers);
    this.updateAssessment(handoff);
    this.updateConversation(handoff);
    this.updateNotes(handoff);
    if (focus) this.refocus(focus);
  }

  /** The team's notes, oldest first; the box to add one (engineers and admins). */
  updateNotes(handoff) {
    if (handoff !== this.handoff || !this.noteList) return;
    const notes = handoff.notes ?? [];
    this.noteList.replaceChildren(
      ...(notes.length ? [] : [h("li", { class: "empty" }, "No internal notes yet.")]),
      ...notes.map((note) =>
        h(
          "li",
          { class: "team-note", dataset: { noteId: note.id } },
          h(
            "span",
            { class: "who" },
            `${note.author.name} · `,
            h(
              "time",
              { datetime: note.createdAt, title: formatTime(note.createdAt) },
              ago(note.createdAt),
            ),
          ),
          h("p", {}, note.body),
        ),
      ),
    );
  }

  noteForm() {
    if (this.me.role === "VIEWER") return h("div", { class: "note-slot" });
    const box = h("textarea", {
      id: "note-box",
      name: "note",
      rows: "2",
      maxlength: String(NOTE_MAX),
      required: true,
      placeholder: "A note for the team (not seen by the customer)…",
    });
    const add = h("button", { type: "submit", class: "quiet", id: "add-note" }, "Add note");
    return h(
      "form",
      {
        class: "note-form",
        onSubmit: async (event) => {
          event.preventDefault();
          const body = box.value.trim();
          if (!body || !this.handoff) return;
          add.disabled = true;
          try {
            if (await this.onNote(this.handoff.id, body)) box.value = "";
          } finally {
            add.disabled = false;
          }
        },
      },
      h("label", { for: "note-box", class: "visually-hidden" }, "New note"),
      box,
      h("div", { class: "composer-actions" }, add),
    );
  }

  /** Who else has this escalation open now ("Dana Whitfield is viewing"); kept through redraws. */
  updateViewers(viewers) {
    this.viewers = viewers;
    if (!this.viewersLine) return;
    this.viewersLine.hidden = viewers.length === 0;
    this.viewersLine.title = viewers.map((user) => user.name).join(", ");
    this.viewersLine.textContent = viewing(viewers);
  }

  /** The control of the detail the keyboard is in (by id), and its selection if it has one. */
  focused() {
    const active = document.activeElement;
    if (!active?.id || !this.root.contains(active)) return null;
    const typed = active.tagName === "TEXTAREA" || active.tagName === "INPUT";
    return {
      id: active.id,
      selection: typed ? [active.selectionStart, active.selectionEnd] : null,
    };
  }

  refocus({ id, selection }) {
    const control = this.root.querySelector(`#${CSS.escape(id)}`);
    if (!control || control === document.activeElement) return;
    control.focus({ preventScroll: true });
    if (selection && selection[0] !== null) control.setSelectionRange(...selection);
  }

  renderActions(claiming) {
    const { handoff, me } = this;
    const admin = me.role === "ADMIN";
    const raisedByMe = handoff.createdBy.id === me.id;
    const mine = handoff.claimedBy?.id === me.id;
    const resolved = handoff.session.status === "RESOLVED";
    const children = [];
    const holder = (text, cls = "holder") => h("span", { class: cls, id: "holder" }, text);
    const button = (text, id, onClick, cls = "quiet") =>
      h("button", { type: "button", class: cls, id, onClick }, text);
    if (handoff.withdrawnAt) {
      const by = handoff.withdrawnBy ? ` by ${handoff.withdrawnBy.name}` : "";
      children.push(holder(`Withdrawn${by}, ${ago(handoff.withdrawnAt)}`));
    } else if (handoff.intent === "PARK") {
      const paused = handoff.session.status === "PAUSED";
      children.push(holder(paused ? "Parked" : "Park closed: its session moved on"));
      if (raisedByMe && paused) {
        children.push(button("Resume", "resume", () => this.on.resume(handoff), "primary"));
      }
    } else if (!handoff.claimedBy) {
      if (me.role === "VIEWER") {
        children.push(holder("Waiting to be picked up"));
      } else if (raisedByMe && !this.allowSelfClaim) {
        // One's own escalation is for the others to pick up: it can be taken back instead.
        children.push(holder("Your escalation, waiting for a senior"));
      } else {
        children.push(
          h(
            "button",
            {
              type: "button",
              class: "primary",
              id: "pick-up",
              disabled: claiming,
              onClick: (event) => {
                event.currentTarget.disabled = true; // before the request: one click, one claim
                this.onClaim(handoff.id);
              },
            },
            claiming ? "Picking up…" : "Pick up",
          ),
        );
      }
      if ((raisedByMe || admin) && me.role !== "VIEWER" && !resolved) {
        children.push(button("Withdraw", "withdraw", () => this.on.withdraw(handoff)));
      }
    } else {
      const since = handoff.claimedAt ? `, ${ago(handoff.claimedAt)}` : "";
      if (mine) {
        children.push(
          holder(resolved ? "Resolved by you" : "Claimed by you", "holder mine"),
          resolved ? null : button("Release", "release", () => this.onRelease(handoff.id)),
        );
        if (this.working()) {
          children.push(button("Resolve", "resolve", () => this.on.resolve(handoff)));
        }
      } else {
        children.push(holder(`Claimed by ${handoff.claimedBy.name}`));
        children.push(h("span", { class: "meta since" }, since.slice(2)));
      }
      if ((mine || admin) && !resolved) children.push(this.transferControl());
    }
    const canReprioritise = raisedByMe || mine || admin;
    if (handoff.intent !== "PARK" && !handoff.withdrawnAt && !resolved && canReprioritise) {
      children.push(this.priorityControl());
    }
    this.actions.replaceChildren(...children.filter(Boolean));
  }

  priorityControl() {
    const { handoff } = this;
    const select = h(
      "select",
      {
        id: "set-priority",
        "aria-label": "Change priority",
        onChange: () => this.on.priority(handoff, select.value),
      },
      ["URGENT", "HIGH", "NORMAL", "LOW"].map((p) =>
        h("option", { value: p, selected: p === handoff.priority }, p.toLowerCase()),
      ),
    );
    return h(
      "span",
      { class: "action-group" },
      h("span", { class: "meta", "aria-hidden": "true" }, "Priority"),
      select,
    );
  }

  /** Hand the claim to a colleague: the account's active engineers and admins but its holder.
   * The one chosen stays chosen when the detail is drawn again (a live event), unless they
   * are no longer among them (they hold it now). */
  transferControl() {
    const { handoff } = this;
    const select = h("select", {
      id: "transfer-to",
      "aria-label": "Transfer to",
      onChange: () => {
        this.transferTo = select.value;
        go.disabled = !select.value;
      },
    });
    this.transferSelect = select;
    const go = h(
      "button",
      {
        type: "button",
        class: "quiet",
        id: "transfer",
        disabled: !this.transferTo,
        onClick: () => select.value && this.on.transfer(handoff, select.value),
      },
      "Transfer",
    );
    this.colleagues().then((users) => {
      const others = users.filter((u) => u.id !== handoff.claimedBy?.id);
      select.replaceChildren(
        h("option", { value: "" }, "Transfer to…"),
        ...others.map((u) =>
          h("option", { value: u.id, selected: u.id === this.transferTo }, u.name),
        ),
      );
      go.disabled = !select.value;
      if (select === this.transferSelect) this.transferTo = select.value;
    });
    return h("span", { class: "action-group" }, select, go);
  }

  /** The caller is the engineer now working the escalation's open session. */
  working() {
    const { handoff, me } = this;
    const session = handoff.session;
    return (
      handoff.claimedBy?.id === me.id &&
      session.assignee?.id === me.id &&
      OPEN.has(session.status)
    );
  }

  setClaiming(claiming) {
    const button = this.root.querySelector("#pick-up");
    if (button) {
      button.disabled = claiming;
      button.textContent = claiming ? "Picking up…" : "Pick up";
    }
    if (claiming) this.say("");
  }

  /** An action failed: say why (role=alert); the buttons work again, for a retry. */
  say(text) {
    if (this.problem) this.problem.textContent = text;
  }

  updateAssessment(handoff) {
    if (handoff !== this.handoff) return;
    const a = handoff.assessment;
    const title = h("h3", { id: "assessment-title" }, "AI assessment");
    this.assessment.dataset.status = a.status;
    if (a.status === "PENDING") {
      this.assessment.replaceChildren(
        title,
        h(
          "p",
          { class: "pending" },
          h("span", { class: "spinner", "aria-hidden": "true" }),
          "Assessment pending — it appears here as soon as it lands.",
        ),
      );
    } else if (a.status === "FAILED") {
      this.assessment.replaceChildren(
        title,
        h("p", { class: "failed" }, "No assessment could be made; work from the notes."),
        this.reassessControl(),
        this.earlierAssessments(),
      );
    } else {
      this.assessment.replaceChildren(
        title,
        h("p", { class: "prose", id: "assessment-summary" }, a.summary),
        h(
          "dl",
          {},
          a.likelyCause ? [h("dt", {}, "Likely cause"), h("dd", {}, a.likelyCause)] : null,
          a.confidence
            ? [h("dt", {}, "Confidence"), h("dd", {}, a.confidence.toLowerCase())]
            : null,
          a.number > 1 && a.requestedBy
            ? [h("dt", {}, "Asked for by"), h("dd", {}, a.requestedBy.name)]
            : null,
        ),
        a.suggestedSteps.length
          ? h(
              "ol",
              { class: "steps", "aria-label": "Suggested steps" },
              a.suggestedSteps.map((step) => h("li", {}, step)),
            )
          : null,
        this.ratingControl(a),
        this.reassessControl(),
        this.earlierAssessments(),
      );
    }
    this.renderComposer();
  }

  /** Was it helpful? Thumbs up or down (pressed: the caller's rating), with a reason if they
   * like; the seniors' ratings so far. A viewer sees the ratings only. */
  ratingControl(a) {
    if (!a.id) return null;
    const ratings = a.ratings ?? [];
    const mine = ratings.find((r) => r.ratedBy.id === this.me.id);
    const counts = ["HELPFUL", "NOT_HELPFUL"]
      .map((rating) => [rating, ratings.filter((r) => r.rating === rating).length])
      .filter(([, n]) => n)
      .map(([rating, n]) => `${n} ${RATED[rating]}`);
    const tally = h("span", { class: "meta", id: "rating-tally" }, counts.join(" · "));
    if (this.me.role === "VIEWER") {
      return counts.length ? h("div", { class: "rating" }, tally) : null;
    }
    const reason = h("input", {
      type: "text",
      id: "rating-reason",
      "aria-label": "Why? (optional)",
      placeholder: "Why? (optional)",
      maxlength: String(REASON_MAX),
      value: this.reasons.get(a.id) ?? mine?.reason ?? "",
      onInput: () => this.reasons.set(a.id, reason.value),
    });
    const thumb = (rating, label) =>
      h(
        "button",
        {
          type: "button",
          class: `quiet thumb ${rating === "HELPFUL" ? "up" : "down"}`,
          id: `rate-${rating.toLowerCase().replace("_", "-")}`,
          "aria-pressed": String(mine?.rating === rating),
          "aria-label": label,
          title: label,
          onClick: async (event) => {
            event.currentTarget.disabled = true;
            this.say("");
            await this.on.rate(a, rating, reason.value.trim() || null);
            this.reasons.delete(a.id);
          },
        },
        thumbIcon(),
      );
    return h(
      "div",
      { class: "rating", role: "group", "aria-label": "Rate this assessment" },
      h("span", { class: "meta" }, "Helpful?"),
      thumb("HELPFUL", "Helpful"),
      thumb("NOT_HELPFUL", "Not helpful"),
      reason,
      h(
        "span",
        { class: "meta", id: "my-rating", role: "status" },
        mine ? `You found it ${RATED[mine.rating]}.` : "",
      ),
      tally,
    );
  }

  /** Ask for a fresh assessment (engineers and admins, of an escalation); while one is on its
   * way, who asked and since when instead. */
  reassessControl() {
    const { handoff, me } = this;
    const pending = handoff.reassessment;
    if (pending) {
      const by = pending.requestedBy ? ` by ${pending.requestedBy.name}` : "";
      return h(
        "p",
        { class: "pending", id: "reassessing" },
        h("span", { class: "spinner", "aria-hidden": "true" }),
        `A fresh assessment was asked for${by}, ${ago(pending.requestedAt)}: it appears here `,
        "as soon as it lands.",
      );
    }
    if (me.role === "VIEWER" || handoff.intent === "PARK") return null;
    return h(
      "button",
      {
        type: "button",
        class: "quiet",
        id: "reassess",
        onClick: (event) => {
          event.currentTarget.disabled = true; // one click, one request
          this.on.reassess(handoff);
        },
      },
      "Reassess",
    );
  }

  /** Every assessment but the one shown: who asked, when, what it said, how it was rated. */
  earlierAssessments() {
    const { handoff } = this;
    const shown = handoff.assessment.number;
    const earlier = (handoff.assessments ?? []).filter(
      (a) => a.number !== shown && a.status !== "PENDING",
    );
    if (!earlier.length) return null;
    return h(
      "details",
      { class: "earlier-assessments", id: "earlier-assessments" },
      h("summary", {}, `Earlier assessments (${earlier.length})`),
      h(
        "ol",
        {},
        earlier.map((a) =>
          h(
            "li",
            { class: "earlier-assessment", dataset: { number: String(a.number) } },
            h(
              "p",
              { class: "meta" },
              `#${a.number} · `,
              a.requestedBy ? `asked for by ${a.requestedBy.name}, ` : "on escalation, ",
              h(
                "time",
                { datetime: a.requestedAt, title: formatTime(a.requestedAt) },
                ago(a.requestedAt),
              ),
              a.status === "FAILED" ? " · failed" : "",
            ),
            a.summary ? h("p", { class: "prose" }, a.summary) : null,
            a.likelyCause ? h("p", { class: "cause" }, `Likely cause: ${a.likelyCause}`) : null,
            a.ratings.length
              ? h(
                  "ul",
                  { class: "ratings" },
                  a.ratings.map((r) =>
                    h(
                      "li",
                      {},
                      `${r.ratedBy.name}: ${RATED[r.rating]}`,
                      r.reason ? ` — ${r.reason}` : "",
                    ),
                  ),
                )
              : null,
          ),
        ),
      ),
    );
  }

  updateConversation(handoff) {
    if (handoff !== this.handoff) return;
    const messages = handoff.session.messages;
    // The latest CONVERSATION_SHOWN messages are asked for; say so when earlier ones exist.
    const earlier = messages.length ? messages[0].position - 1 : 0;
    const note = h("li", { class: "earlier" }, `${earlier} earlier messages not shown`);
    this.conversation.replaceChildren(
      ...(earlier > 0 ? [note] : []),
      ...messages.map((m) =>
        h(
          "li",
          { class: `message role-${m.role.toLowerCase()}` },
          h("span", { class: "who" }, ROLE[m.role] ?? m.role),
          h("p", {}, m.content),
        ),
      ),
    );
  }

  /** The message box, for the engineer now working the session; the step chips above it. */
  renderComposer() {
    const { handoff } = this;
    const session = handoff.session;
    if (!this.working()) return this.composer.replaceChildren();
    const existing = this.composer.querySelector("textarea");
    const box =
      existing ??
      h("textarea", {
        id: "message-box",
        name: "content",
        rows: "3",
        maxlength: "20000",
        required: true,
        placeholder: "Write to the conversation…",
      });
    const steps = handoff.assessment.status === "READY" ? handoff.assessment.suggestedSteps : [];
    const strip =
      steps.length && !stepsHidden.get(session.id)
        ? h(
            "div",
            { class: "chips", role: "group", "aria-labelledby": "chips-title" },
            h(
              "div",
              { class: "chips-head" },
              h("span", { id: "chips-title" }, "Suggested steps"),
              h(
                "button",
                {
                  type: "button",
                  class: "chips-close",
                  "aria-label": "Hide suggested steps",
                  onClick: () => {
                    stepsHidden.set(session.id);
                    this.renderComposer();
                  },
                },
                "×",
              ),
            ),
            steps.map((step) =>
              h(
                "button",
                {
                  type: "button",
                  class: "chip",
                  onClick: () => {
                    box.value = step;
                    box.focus();
                  },
                },
                step,
              ),
            ),
          )
        : null;
    if (existing) {
      // Keep what is being typed: only the strip changes.
      this.composer.querySelector(".chips")?.remove();
      if (strip) this.composer.querySelector("form").prepend(strip);
      return;
    }
    const form = h(
      "form",
      {
        class: "composer",
        onSubmit: async (event) => {
          event.preventDefault();
          const content = box.value.trim();
          if (!content) return;
          send.disabled = true;
          try {
            if (await this.onSend(session.id, content)) {
              box.value = "";
              stepsHidden.set(session.id);
              this.composer.querySelector(".chips")?.remove();
            }
          } finally {
            send.disabled = false;
          }
        },
      },
      strip,
      h("label", { for: "message-box" }, "Message"),
      box,
    );
    const send = h("button", { type: "submit", class: "primary" }, "Send");
    form.append(h("div", { class: "composer-actions" }, send));
    this.composer.replaceChildren(form);
  }
}
