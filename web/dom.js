// Tiny DOM helpers: build elements, say how long ago, show a toast. No framework.

export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on")) el.addEventListener(key.slice(2).toLowerCase(), value);
    else if (key === "class") el.className = value;
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (value === true) el.setAttribute(key, "");
    else el.setAttribute(key, value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

export function minutesSince(iso) {
  return Math.max(0, Math.floor((Date.now() - parseDate(iso)) / 60000));
}

/** "5 min", "3 h", "2 d": the age on a card. */
export function age(iso) {
  const minutes = minutesSince(iso);
  if (minutes < 1) return "now";
  if (minutes < 60) return `${minutes} min`;
  if (minutes < 48 * 60) return `${Math.floor(minutes / 60)} h`;
  return `${Math.floor(minutes / 1440)} d`;
}

/** "just now", "5 min ago": when something happened, in the detail pane. */
export function ago(iso) {
  return minutesSince(iso) < 1 ? "just now" : `${age(iso)} ago`;
}

export function minutesAgo(iso) {
  const n = minutesSince(iso);
  if (n < 1) return "just now";
  return `${n} minute${n === 1 ? "" : "s"} ago`;
}

// The API's DateTime is ISO 8601; a value without an offset is UTC.
function parseDate(iso) {
  return Date.parse(/[zZ]|[+-]\d\d:?\d\d$/.test(iso) ? iso : `${iso}Z`);
}

export function formatTime(iso) {
  return new Date(parseDate(iso)).toLocaleString([], {
    dateStyle: "medium",
    timeStyle: "short",
  });
}

let fieldCount = 0;

/** A captioned form control. The caption alone names it: a label that wraps a select (or a
 * filled input) would otherwise add the control's value to its accessible name, and a screen
 * reader would hear "Session A new session…". */
export function field(caption, control) {
  const id = `field-caption-${++fieldCount}`;
  control.setAttribute("aria-labelledby", id);
  return h("label", { class: "field" }, h("span", { id }, caption), control);
}

let toastTimer = null;

/** One toast at a time, at the bottom; screen readers hear it (role=status, or role=alert for
 * an error). */
export function toast(text, kind = "info") {
  const el = document.getElementById("toast");
  el.setAttribute("role", kind === "error" ? "alert" : "status");
  el.setAttribute("aria-live", kind === "error" ? "assertive" : "polite");
  el.textContent = text;
  el.dataset.kind = kind;
  el.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => {
    el.hidden = true;
  }, 8000);
}

/** "<1 min", "12 min", "3 h", "2 d": a span of time. */
export function duration(minutes) {
  if (minutes < 1) return "<1 min";
  if (minutes < 60) return `${minutes} min`;
  if (minutes < 48 * 60) return `${Math.floor(minutes / 60)} h`;
  return `${Math.floor(minutes / 1440)} d`;
}

/** An unclaimed escalation's clock: "due in 12 min", or "overdue 5 min" past its due time. */
export function dueBadge(handoff) {
  const waiting = handoff.intent !== "PARK" && !handoff.claimedBy && !handoff.withdrawnAt;
  if (!waiting || !handoff.dueAt || handoff.session?.status === "RESOLVED") return null;
  const left = Math.floor((parseDate(handoff.dueAt) - Date.now()) / 60000);
  const overdue = handoff.overdue || left < 0;
  return h(
    "span",
    {
      class: `sla ${overdue ? "overdue" : "due"}`,
      title: `Due ${formatTime(handoff.dueAt)}`,
    },
    overdue ? `overdue ${duration(Math.max(0, -left))}` : `due in ${duration(left)}`,
  );
}

export const PRIORITY_RANK = { URGENT: 4, HIGH: 3, NORMAL: 2, LOW: 1 };

export function priorityBadge(priority) {
  return h("span", { class: `badge priority-${priority.toLowerCase()}` }, priority.toLowerCase());
}

/** "Dana Whitfield is viewing", "Dana and Sam are viewing", "Dana, Sam and 2 more are viewing"
 * (first names when `short`): who else has an escalation open; "" for nobody. */
export function viewing(users, { short = false } = {}) {
  const names = users.map((user) => (short ? user.name.split(" ")[0] : user.name));
  if (names.length === 0) return "";
  if (names.length === 1) return `${names[0]} is viewing`;
  if (names.length === 2) return `${names[0]} and ${names[1]} are viewing`;
  return `${names[0]}, ${names[1]} and ${names.length - 2} more are viewing`;
}
