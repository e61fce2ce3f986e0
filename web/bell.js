// The bell: the caller's in-app notifications (issue 15). A live count (myNotificationCount),
// a dropdown list (notifications), "mark all read", the caller's email preferences, an optional
// sound (off unless turned on, remembered by this browser), and desktop notifications of new
// URGENT escalations, asked for only when the user clicks the button that asks.

import { gql } from "./api.js";
import { ago, h, priorityBadge, toast } from "./dom.js";

const COUNT = `subscription Bell { myNotificationCount { unreadCount } }`;
const LIST = `
  query Notifications($first: Int!) {
    notifications(first: $first) {
      unreadCount
      nodes { id kind handoffId priority summary read createdAt actor { name } }
    }
  }`;
const MARK_ALL = `mutation MarkAll { markNotificationsRead(input: { all: true }) {
  ... on MarkNotificationsReadSuccess { unreadCount } } }`;
const MARK = `mutation Mark($ids: [ID!]) { markNotificationsRead(input: { ids: $ids }) {
  ... on MarkNotificationsReadSuccess { unreadCount } } }`;
const PREFS = `query Prefs { myNotificationPreferences {
  newEscalations myEscalations inAppOnly
  accountDefaults { newEscalations myEscalations inAppOnly } } }`;
const SET_PREFS = `mutation SetPrefs($input: MyNotificationPreferencesInput!) {
  setMyNotificationPreferences(input: $input) { __typename } }`;

const SOUND_KEY = "handoff-desk:bell-sound";
const SHOWN = 20; // the dropdown's page

const WHAT = {
  NEW_ESCALATION: (n) => `${n.actor?.name ?? "Someone"} escalated`,
  CLAIMED: (n) => `${n.actor?.name ?? "Someone"} claimed yours`,
  TRANSFERRED: (n) => `${n.actor?.name ?? "Someone"} handed yours on`,
  OVERDUE: () => "Yours is overdue",
};

export class Bell {
  /** @param {{live: import("./live.js").LiveDesk}} options */
  constructor({ live }) {
    this.count = null; // unknown until the first answer
    this.announced = new Set(); // notification ids already shown on the desktop
    this.badge = h("span", { class: "count", id: "bell-count", hidden: true });
    this.button = h(
      "button",
      {
        type: "button",
        class: "quiet bell",
        id: "bell",
        "aria-haspopup": "true",
        "aria-expanded": "false",
        "aria-label": "Notifications",
        onClick: () => this.toggle(),
      },
      bellIcon(),
      this.badge,
    );
    this.list = h("ul", { class: "bell-list", id: "bell-list" });
    this.soundBox = h("input", {
      type: "checkbox",
      id: "bell-sound",
      checked: localStorage.getItem(SOUND_KEY) === "on",
      onChange: () => this.setSound(this.soundBox.checked),
    });
    this.desktop = h(
      "button",
      { type: "button", class: "quiet", id: "bell-desktop", onClick: () => this.askDesktop() },
      "Desktop alerts for urgent escalations",
    );
    this.prefs = h("form", { class: "bell-prefs", id: "bell-prefs" });
    this.panel = h(
      "div",
      {
        class: "bell-panel",
        id: "bell-panel",
        role: "region",
        "aria-label": "Notifications",
        hidden: true,
      },
      h(
        "div",
        { class: "bell-head" },
        h("strong", {}, "Notifications"),
        h(
          "button",
          { type: "button", class: "quiet", id: "bell-read-all", onClick: () => this.markAll() },
          "Mark all read",
        ),
      ),
      this.list,
      h(
        "div",
        { class: "bell-options" },
        h("label", {}, this.soundBox, " Sound"),
        this.desktop,
      ),
      h(
        "details",
        { onToggle: (e) => e.target.open && this.loadPrefs() },
        h("summary", {}, "Email preferences"),
        this.prefs,
      ),
    );
    this.root = h("div", { class: "bell-wrap" }, this.button, this.panel);
    this.renderDesktop();
    document.addEventListener("click", (event) => {
      if (!this.panel.hidden && !this.root.contains(event.target)) this.close();
    });
    live.subscribe("bell", COUNT, { next: (e) => this.counted(e.unreadCount) });
  }

  counted(n) {
    const rose = this.count !== null && n > this.count;
    this.count = n;
    this.badge.textContent = String(n);
    this.badge.hidden = n === 0;
    this.button.setAttribute("aria-label", n ? `Notifications: ${n} unread` : "Notifications");
    if (rose) this.arrived();
    if (!this.panel.hidden) this.load();
  }

  /** New notifications: a chime if asked for, and the desktop for new urgent escalations. */
  async arrived() {
    if (this.soundBox.checked) chime();
    if (!("Notification" in window) || Notification.permission !== "granted") return;
    const { notifications } = await gql(LIST, { first: 5 });
    for (const n of notifications.nodes) {
      if (n.read || this.announced.has(n.id)) continue;
      this.announced.add(n.id);
      if (n.kind !== "NEW_ESCALATION" || n.priority !== "URGENT") continue;
      const shown = new Notification("Urgent escalation", { body: n.summary, tag: n.id });
      shown.onclick = () => {
        window.focus();
        location.hash = `#/handoff/${encodeURIComponent(n.handoffId)}`;
      };
    }
  }

  toggle() {
    if (this.panel.hidden) this.open();
    else this.close();
  }

  open() {
    this.panel.hidden = false;
    this.button.setAttribute("aria-expanded", "true");
    this.load();
  }

  close() {
    this.panel.hidden = true;
    this.button.setAttribute("aria-expanded", "false");
  }

  async load() {
    try {
      const { notifications } = await gql(LIST, { first: SHOWN });
      for (const n of notifications.nodes) this.announced.add(n.id); // seen here: not again
      this.list.replaceChildren(
        ...(notifications.nodes.length
          ? notifications.nodes.map((n) => this.item(n))
          : [h("li", { class: "empty" }, "Nothing yet.")]),
      );
    } catch (error) {
      toast(error.message, "error");
    }
  }

  item(n) {
    const open = async () => {
      this.close();
      if (!n.read) await gql(MARK, { ids: [n.id] }).catch(() => {});
      location.hash = `#/handoff/${encodeURIComponent(n.handoffId)}`;
    };
    return h(
      "li",
      { class: n.read ? "read" : "unread", dataset: { kind: n.kind } },
      h(
        "button",
        { type: "button", class: "quiet bell-item", onClick: open },
        priorityBadge(n.priority),
        h("span", { class: "bell-what" }, WHAT[n.kind]?.(n) ?? n.kind),
        h("span", { class: "bell-summary" }, n.summary),
        h("span", { class: "bell-when" }, ago(n.createdAt)),
      ),
    );
  }

  async markAll() {
    try {
      await gql(MARK_ALL);
      await this.load();
    } catch (error) {
      toast(error.message, "error");
    }
  }

  setSound(on) {
    localStorage.setItem(SOUND_KEY, on ? "on" : "off");
    if (on) chime(); // what it will sound like (and a gesture unlocks audio)
  }

  renderDesktop() {
    const supported = "Notification" in window;
    const state = supported ? Notification.permission : "unsupported";
    this.desktop.hidden = state !== "default"; // asked once; the browser remembers the answer
    this.desktop.dataset.permission = state;
  }

  /** Asked only here, on a click: browsers refuse (or hold against the site) a prompt that no
   * gesture started. */
  async askDesktop() {
    if (!("Notification" in window)) return;
    const answer = await Notification.requestPermission();
    this.renderDesktop();
    toast(
      answer === "granted"
        ? "Desktop alerts on: new urgent escalations will show here."
        : "Desktop alerts stay off (your browser's site settings can change that).",
    );
  }

  async loadPrefs() {
    try {
      const { myNotificationPreferences: p } = await gql(PREFS);
      this.renderPrefs(p);
    } catch (error) {
      toast(error.message, "error");
    }
  }

  renderPrefs(p) {
    const d = p.accountDefaults;
    const yesNo = (v) => (v ? "yes" : "no");
    const select = (name, value, options, fallback) =>
      h(
        "select",
        { name, "aria-label": name },
        h("option", { value: "", selected: value === null }, `Account default (${fallback})`),
        options.map(([v, text]) =>
          h(
            "option",
            { value: String(v), selected: value !== null && String(value) === String(v) },
            text,
          ),
        ),
      );
    const alerts = [
      ["ALL", "every new escalation"],
      ["HIGH_AND_URGENT", "high and urgent only"],
      ["NONE", "none"],
    ];
    const flags = [
      [true, "yes"],
      [false, "no"],
    ];
    const newDefault = d.newEscalations.toLowerCase().replaceAll("_", " ");
    this.prefs.replaceChildren(
      h(
        "label",
        {},
        "New escalations ",
        select("newEscalations", p.newEscalations, alerts, newDefault),
      ),
      h(
        "label",
        {},
        "When mine are claimed, transferred or overdue ",
        select("myEscalations", p.myEscalations, flags, yesNo(d.myEscalations)),
      ),
      h(
        "label",
        {},
        "In the desk only (no such emails) ",
        select("inAppOnly", p.inAppOnly, flags, yesNo(d.inAppOnly)),
      ),
      h("button", { type: "submit" }, "Save"),
    );
    this.prefs.onsubmit = async (event) => {
      event.preventDefault();
      const form = new FormData(this.prefs);
      const value = (name, bool) => {
        const raw = form.get(name);
        if (raw === "") return null;
        return bool ? raw === "true" : raw;
      };
      try {
        await gql(SET_PREFS, {
          input: {
            newEscalations: value("newEscalations", false),
            myEscalations: value("myEscalations", true),
            inAppOnly: value("inAppOnly", true),
          },
        });
        toast("Notification preferences saved.");
      } catch (error) {
        toast(error.message, "error");
      }
    };
  }
}

/** A bell drawn inline (an emoji needs a font that a machine may lack). */
function bellIcon() {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("width", "18");
  svg.setAttribute("height", "18");
  svg.setAttribute("aria-hidden", "true");
  const path = document.createElementNS(ns, "path");
  path.setAttribute(
    "d",
    "M12 2a6 6 0 0 0-6 6v3.6L4.3 15A1 1 0 0 0 5.2 16.5h13.6a1 1 0 0 0 .9-1.5L18 11.6V8a6 6 0 " +
      "0 0-6-6Zm0 21a3 3 0 0 0 2.8-2h-5.6A3 3 0 0 0 12 23Z",
  );
  path.setAttribute("fill", "currentColor");
  svg.append(path);
  return svg;
}

let audio = null;

/** A short two-note chime, made on the spot (no sound file to fetch). */
function chime() {
  try {
    audio ??= new AudioContext();
    const now = audio.currentTime;
    for (const [i, freq] of [880, 1320].entries()) {
      const osc = audio.createOscillator();
      const gain = audio.createGain();
      osc.frequency.value = freq;
      gain.gain.setValueAtTime(0.0001, now + i * 0.12);
      gain.gain.exponentialRampToValueAtTime(0.2, now + i * 0.12 + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, now + i * 0.12 + 0.25);
      osc.connect(gain).connect(audio.destination);
      osc.start(now + i * 0.12);
      osc.stop(now + i * 0.12 + 0.3);
    }
  } catch {
    // No audio here (or not allowed yet): the badge still counts.
  }
}
