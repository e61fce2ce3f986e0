// The senior's desk: the views as tabs (Unclaimed, Mine, All, My escalations, Parked) with
// their counts, a search box and filters, and the open escalation.
//
// Unclaimed and Mine, unfiltered, are live lists. Their cards are placed by what is true of
// them now (unclaimed: the queue; claimed by me: mine; claimed by someone else, withdrawn,
// resolved or a park: gone), so a replayed or repeated event never misplaces one. The other
// views are asked for a page at a time, and asked again when a live event says something moved.

import { ASSESSMENT, ApiError, CARD, NOTE, Unauthenticated, gql } from "./api.js";
import { CONVERSATION_SHOWN, DetailView, NOTES_SHOWN } from "./detail.js";
import {
  PRIORITY_RANK,
  age,
  dueBadge,
  h,
  minutesAgo,
  priorityBadge,
  toast,
  viewing,
} from "./dom.js";
import { LiveDesk } from "./live.js";

const QUEUE = `
  query Queue {
    unclaimed: handoffQueue(first: 100, status: UNCLAIMED) {
      edges { node { ...Listed } }
      pageInfo { hasNextPage endCursor }
    }
    claimed: handoffQueue(first: 100, status: CLAIMED) { edges { node { ...Listed } } }
  }
  fragment Listed on Handoff { ...Card historyConnection(last: 1) { nodes { seq } } }
  ${CARD}`;

// The live queue past its first 100: the live events keep what is loaded current.
const QUEUE_MORE = `
  query QueueMore($after: String) {
    handoffQueue(first: 100, after: $after, status: UNCLAIMED) {
      nodes { ...Card }
      pageInfo { hasNextPage endCursor }
    }
  }
  ${CARD}`;

const HANDOFF = `
  query Handoff($id: ID!) {
    handoff(id: $id) {
      ...Card engineerNotes
      withdrawnBy { id name }
      assessment { ...AssessmentFields }
      reassessment { number requestedBy { id name } requestedAt }
      assessments { ...AssessmentFields }
      session {
        id problemSummary intakeType intakeContent status
        assignee { id name }
        messagesConnection(last: ${CONVERSATION_SHOWN}) {
          nodes { position role content createdAt }
        }
      }
      notesConnection(last: ${NOTES_SHOWN}) { nodes { ...NoteFields } }
    }
  }
  ${CARD} ${ASSESSMENT} ${NOTE}`;

// The views' totals, for the tabs' counts: one request, a constant number of statements.
const COUNTS = `
  query Counts {
    unclaimed: handoffs(first: 1, filter: { claim: UNCLAIMED, intent: ESCALATE, status: OPEN }) {
      totalCount
    }
    mine: handoffs(first: 1, filter: { claim: MINE, intent: ESCALATE, status: OPEN }) {
      totalCount
    }
    all: handoffs(first: 1, filter: { intent: ESCALATE, status: OPEN }) { totalCount }
    escalations: myEscalations(first: 1, status: OPEN) { totalCount }
    parked: myParkedSessions(first: 1) { totalCount }
  }`;

const PAGE_FIELDS = `totalCount pageInfo { hasNextPage endCursor } nodes { ...Card }`;

const VIEW = `
  query View($first: Int!, $after: String, $filter: HandoffFilter) {
    page: handoffs(first: $first, after: $after, filter: $filter) { ${PAGE_FIELDS} }
  }
  ${CARD}`;

const MY_ESCALATIONS = `
  query MyEscalations($first: Int!, $after: String, $status: HandoffStatus) {
    page: myEscalations(first: $first, after: $after, status: $status) { ${PAGE_FIELDS} }
  }
  ${CARD}`;

const MY_PARKED = `
  query MyParked($first: Int!, $after: String) {
    page: myParkedSessions(first: $first, after: $after) { ${PAGE_FIELDS} }
  }
  ${CARD}`;

/** A page of a view; the most the API gives in one. */
const PAGE = 20;
const PAGE_MAX = 100;

// The tabs. Unclaimed and Mine, unfiltered, are the live lists; the others (and any filtered
// view) are asked for, a page at a time, and asked again when something changes.
const TABS = [
  { key: "unclaimed", label: "Unclaimed", filter: { claim: "UNCLAIMED", intent: "ESCALATE" } },
  { key: "mine", label: "Mine", filter: { claim: "MINE", intent: "ESCALATE" }, works: true },
  { key: "all", label: "All", filter: { intent: "ESCALATE" } },
  {
    key: "escalations",
    label: "My escalations",
    filter: { createdByMe: true, intent: "ESCALATE" },
    works: true,
  },
  {
    key: "parked",
    label: "Parked",
    filter: { createdByMe: true, intent: "PARK", stillParked: true },
    works: true,
  },
];

const CREATED = `
  subscription Created($after: Int) {
    handoffCreated(after: $after) { seq handoff { ...Card } }
  }
  ${CARD}`;

const CLAIM_CHANGED = `
  subscription ClaimChanged($after: Int) {
    handoffClaimChanged(after: $after) { seq kind actor { id name } handoff { ...Card } }
  }
  ${CARD}`;

const SETTLED = `
  subscription Settled($after: Int) {
    assessmentSettled(after: $after) {
      seq handoff { ...Card assessment { ...AssessmentFields } reassessment { number } }
    }
  }
  ${CARD} ${ASSESSMENT}`;

const UPDATED = `
  subscription Updated($after: Int) {
    handoffUpdated(after: $after) {
      seq kind actor { id name } to { id name } note { ...NoteFields } handoff { ...Card }
    }
  }
  ${CARD} ${NOTE}`;

// The open escalation's conversation, live: the messages after the last position shown, then
// each new one (the position is where a reconnect resumes). Ends if the session stops being
// visible to the caller.
const MESSAGES = `
  subscription Messages($sessionId: ID!, $after: Int) {
    sessionMessages(sessionId: $sessionId, after: $after) { position role content createdAt }
  }`;

const TIMER = `
  subscription Timer($after: Int) {
    handoffTimerFired(after: $after) { seq kind handoff { ...Card } }
  }
  ${CARD}`;

// The caller's own read marks, from any of their windows: a card they opened or claimed elsewhere
// loses its dot here too (nobody else hears of them). No seq: each (re)subscription first answers
// the count as it stands.
const UNREAD = `
  subscription Unread { myUnreadCount { unreadCount handoffId unread } }`;

// Presence. Having an escalation open is being subscribed to its viewers: the others see this
// user there until the detail closes (or the socket does). The queue's cards hear who has which
// open from accountViewers, which opens nothing. Neither replays: each (re)subscription first
// answers the list as it stands.
const VIEWERS = `
  subscription Viewers($handoffId: ID!) {
    handoffViewers(handoffId: $handoffId) { handoffId viewers { id name } }
  }`;

const ACCOUNT_VIEWERS = `
  subscription AccountViewers {
    accountViewers { snapshot handoffs { handoffId viewers { id name } } }
  }`;

// The account's users, a page of 100 at a time (at most COLLEAGUE_PAGES of them).
const COLLEAGUES = `
  query Colleagues($after: String) {
    usersConnection(first: 100, after: $after) {
      nodes { id name role active }
      pageInfo { hasNextPage endCursor }
    }
  }`;
const COLLEAGUE_PAGES = 20;

async function everyUser() {
  const users = [];
  let after = null;
  for (let page = 0; page < COLLEAGUE_PAGES; page += 1) {
    const { usersConnection } = await gql(COLLEAGUES, { after });
    users.push(...usersConnection.nodes);
    if (!usersConnection.pageInfo.hasNextPage) break;
    after = usersConnection.pageInfo.endCursor;
  }
  return users;
}

/** The detail as the views read it: its conversation and notes as lists (the pages' nodes). */
function flattened(handoff) {
  if (!handoff) return handoff;
  const { messagesConnection, ...session } = handoff.session;
  const { notesConnection, ...rest } = handoff;
  return {
    ...rest,
    session: { ...session, messages: messagesConnection.nodes },
    notes: notesConnection.nodes,
  };
}

const ADD_NOTE = `
  mutation AddNote($input: AddHandoffNoteInput!) {
    addHandoffNote(input: $input) {
      __typename
      ... on AddHandoffNoteSuccess { note { ...NoteFields } }
      ... on HandoffNotFound { message } ... on NotPermitted { message }
      ... on NotAnEscalation { message }
    }
  }
  ${NOTE}`;

// Each lifecycle action's refusals all carry a message: the toast says it.
const REFUSALS = `
  ... on AlreadyClaimed { message } ... on HandoffNotFound { message }
  ... on NotPermitted { message } ... on HandoffWithdrawn { message }
  ... on InvalidSessionState { message }`;

const WITHDRAW = `
  mutation Withdraw($id: ID!) {
    withdrawHandoff(input: { handoffId: $id }) {
      __typename ... on WithdrawHandoffSuccess { handoff { ...Card } } ${REFUSALS}
    }
  }
  ${CARD}`;

const PRIORITY = `
  mutation Priority($id: ID!, $priority: Priority!) {
    setHandoffPriority(input: { handoffId: $id, priority: $priority }) {
      __typename ... on SetHandoffPrioritySuccess { handoff { ...Card } }
      ... on HandoffNotFound { message } ... on NotPermitted { message }
      ... on HandoffWithdrawn { message }
    }
  }
  ${CARD}`;

const TRANSFER = `
  mutation Transfer($id: ID!, $to: ID!) {
    transferHandoff(input: { handoffId: $id, to: $to }) {
      __typename ... on TransferHandoffSuccess { handoff { ...Card } } ${REFUSALS}
      ... on NotClaimedByYou { message } ... on UserNotFound { message }
      ... on ColleagueCannotClaim { message }
    }
  }
  ${CARD}`;

const RESOLVE = `
  mutation Resolve($id: ID!) {
    resolveSession(input: { sessionId: $id }) {
      __typename ... on ResolveSessionSuccess { session { id status } }
      ... on SessionNotFound { message } ... on NotPermitted { message }
      ... on InvalidSessionState { message }
    }
  }`;

const RESUME = `
  mutation Resume($id: ID!) {
    resumeParkedHandoff(input: { handoffId: $id }) {
      __typename ... on ResumeParkedHandoffSuccess { handoff { ...Card } }
      ... on HandoffNotFound { message } ... on NotPermitted { message }
      ... on HandoffNotParked { message }
    }
  }
  ${CARD}`;

// Feedback on the AI: a rating of an assessment, and a fresh one asked for.
const RATE = `
  mutation Rate($id: ID!, $rating: Rating!, $reason: String) {
    rateAssessment(input: { assessmentId: $id, rating: $rating, reason: $reason }) {
      __typename
      ... on AssessmentNotFound { message } ... on NotPermitted { message }
      ... on AssessmentUnavailable { message }
    }
  }`;

const REASSESS = `
  mutation Reassess($id: ID!) {
    reassessHandoff(input: { handoffId: $id }) {
      __typename
      ... on HandoffNotFound { message } ... on NotPermitted { message }
      ... on AssessmentUnavailable { message }
    }
  }`;

const CLAIM = `
  mutation Claim($id: ID!) {
    claimHandoff(input: { handoffId: $id }) {
      __typename
      ... on ClaimHandoffSuccess { handoff { ...Card } }
      ... on AlreadyClaimed { claimedBy { id name } claimedAt message }
      ... on HandoffNotFound { message }
      ... on NotPermitted { message }
      ... on OwnEscalation { message }
      ... on HandoffWithdrawn { message }
    }
  }
  ${CARD}`;

const RELEASE = `
  mutation Release($id: ID!) {
    releaseHandoff(input: { handoffId: $id }) {
      __typename
      ... on ReleaseHandoffSuccess { handoff { ...Card } }
      ... on HandoffNotFound { message }
      ... on NotPermitted { message }
      ... on InvalidSessionState { message }
    }
  }
  ${CARD}`;

const SEEN = `
  mutation Seen($id: ID!) {
    markHandoffSeen(input: { handoffId: $id }) {
      __typename
      ... on MarkHandoffSeenSuccess { handoff { id unread } }
    }
  }`;

const SEND = `
  mutation Send($input: AddSessionMessageInput!) {
    addSessionMessage(input: $input) {
      __typename
      ... on AddSessionMessageSuccess { added: message { position role content createdAt } }
      ... on SessionNotFound { message }
      ... on NotPermitted { message }
      ... on InvalidSessionState { message }
    }
  }`;

/** What the live events brought into the detail while it was asked for again (a message or a
 * note committed after the answer was read) is kept in the new one. */
function keepHeard(before, after) {
  if (before?.id !== after.id) return;
  const messages = after.session.messages;
  const last = messages.length ? messages[messages.length - 1].position : 0;
  messages.push(...before.session.messages.filter((m) => m.position > last));
  const notes = before.notes ?? [];
  const lastNote = after.notes[after.notes.length - 1];
  const at = lastNote ? notes.findIndex((n) => n.id === lastNote.id) : -1;
  if (!lastNote || at >= 0) after.notes.push(...notes.slice(at + 1));
}

export class Desk {
  constructor({ me, account, token, onUnauthorized, onLive, onUnreadCount }) {
    this.me = me;
    this.account = account;
    this.token = token;
    this.onUnauthorized = onUnauthorized;
    this.onUnreadCount = onUnreadCount;
    this.onLive = onLive;
    this.queue = new Map(); // unclaimed escalations, by id
    this.mine = new Map(); // escalations I claimed
    this.landed = new Map(); // assessments heard of, by handoff id (may beat a detail load)
    this.claiming = new Set();
    this.announced = new Set();
    this.openId = null;
    this.detail = null; // the open handoff, in full
    this.following = null; // {key, sessionId}: the open escalation's conversation, live
    this.followed = 0; // subscription ids are used once (web/live.js)
    this.viewers = new Map(); // handoff id -> who else has it open (accountViewers)
    this.watching = null; // {key, handoffId}: the open escalation's viewers subscription
    this.watched = 0; // subscription ids are used once (web/live.js)
    this.tab = "unclaimed";
    this.filters = { search: "", priority: "", status: "OPEN" };
    this.counts = {};
    this.fetched = null; // {key, nodes, pageInfo, total} of an asked-for view
    this.asked = 0; // the latest request for a view: older answers are dropped
    this.root = this.build();
  }

  build() {
    this.queueList = h("ul", {
      class: "cards",
      id: "queue",
      "aria-label": "Unclaimed escalations",
    });
    this.mineList = h("ul", { class: "cards", id: "mine", "aria-label": "Your handoffs" });
    this.viewList = h("ul", { class: "cards", id: "view-list" });
    this.queueEmpty = h("p", { class: "empty" }, "Nothing waiting. New escalations appear here.");
    this.mineEmpty = h("p", { class: "empty" }, "You hold no escalation. Pick one up.");
    this.viewEmpty = h("p", { class: "empty", id: "view-empty" });
    this.queueMore = h(
      "button",
      {
        type: "button",
        class: "quiet load-more",
        id: "queue-more",
        hidden: true,
        onClick: () => this.moreQueue(),
      },
      "Load more",
    );
    this.queuePanel = h("div", {}, this.queueEmpty, this.queueList, this.queueMore);
    this.minePanel = h("div", { hidden: true }, this.mineEmpty, this.mineList);
    this.loadMore = h(
      "button",
      { type: "button", class: "quiet load-more", hidden: true, onClick: () => this.more() },
      "Load more",
    );
    this.viewPanel = h("div", { hidden: true }, this.viewEmpty, this.viewList, this.loadMore);
    const tabs = TABS.filter((tab) => !tab.works || this.me.role !== "VIEWER");
    this.tabButtons = new Map(
      tabs.map((tab) => [
        tab.key,
        h(
          "button",
          {
            type: "button",
            role: "tab",
            id: `tab-${tab.key}`,
            "aria-controls": "view-panel",
            onClick: () => this.select(tab.key),
          },
          tab.label,
          h("span", { class: "tab-count" }),
        ),
      ]),
    );
    this.search = h("input", {
      type: "search",
      id: "search",
      "aria-label": "Search",
      placeholder: "Search summaries, notes, assessments…",
      maxlength: "200",
      onInput: () => this.filterSoon(),
    });
    const select = (label, id, pairs, value) =>
      h(
        "select",
        { id, "aria-label": label, onChange: () => this.filterSoon(0) },
        pairs.map(([v, text]) => h("option", { value: v, selected: v === value }, text)),
      );
    this.prioritySelect = select(
      "Filter by priority",
      "filter-priority",
      [
        ["", "Any priority"],
        ["URGENT", "Urgent"],
        ["HIGH", "High"],
        ["NORMAL", "Normal"],
        ["LOW", "Low"],
      ],
      "",
    );
    this.statusSelect = select(
      "Filter by status",
      "filter-status",
      [
        ["OPEN", "Open"],
        ["RESOLVED", "Resolved"],
        ["", "Open or resolved"],
      ],
      "OPEN",
    );
    const filters = h(
      "form",
      {
        class: "filters",
        role: "search",
        onSubmit: (event) => {
          event.preventDefault();
          this.filterSoon(0);
        },
      },
      this.search,
      h("div", { class: "filter-row" }, this.prioritySelect, this.statusSelect),
    );
    this.view = new DetailView({
      me: this.me,
      allowSelfClaim: Boolean(this.account?.allowSelfClaim),
      // Viewers read the team's notes unless the account keeps them from viewers.
      readsNotes: this.me.role !== "VIEWER" || this.account?.notesVisibleToViewers !== false,
      colleagues: () => this.colleagues(),
      actions: {
        withdraw: (handoff) => this.act("withdrawn", WITHDRAW, { id: handoff.id }),
        priority: (handoff, priority) =>
          this.act(`now ${priority.toLowerCase()}`, PRIORITY, { id: handoff.id, priority }),
        transfer: (handoff, to) => this.act("transferred", TRANSFER, { id: handoff.id, to }),
        resolve: (handoff) => this.act("resolved", RESOLVE, { id: handoff.session.id }),
        resume: (handoff) => this.act("resumed", RESUME, { id: handoff.id }),
        rate: (assessment, rating, reason) => this.rate(assessment, rating, reason),
        reassess: (handoff) =>
          this.act("a fresh assessment asked for", REASSESS, { id: handoff.id }),
      },
      onClaim: (id) => this.claim(id),
      onRelease: (id) => this.release(id),
      onSend: (sessionId, content) => this.send(sessionId, content),
      onNote: (handoffId, body) => this.addNote(handoffId, body),
    });
    return h(
      "div",
      { class: "desk" },
      h(
        "aside",
        { class: "queue-pane" },
        h("h2", { class: "visually-hidden" }, "Queue"),
        h(
          "div",
          {
            class: "tabs",
            role: "tablist",
            "aria-label": "Views",
            onKeydown: (event) => this.tabKey(event),
          },
          ...this.tabButtons.values(),
        ),
        filters,
        h(
          "section",
          { id: "view-panel", role: "tabpanel", "aria-live": "polite" },
          this.queuePanel,
          this.minePanel,
          this.viewPanel,
        ),
      ),
      this.view.root,
    );
  }

  /** Arrow keys, Home and End move between the tabs (the tablist is one stop for Tab). */
  tabKey(event) {
    const keys = [...this.tabButtons.keys()];
    const at = keys.indexOf(this.tab);
    const to = {
      ArrowRight: at + 1,
      ArrowLeft: at - 1,
      Home: 0,
      End: keys.length - 1,
    }[event.key];
    if (to === undefined) return;
    event.preventDefault();
    const key = keys[(to + keys.length) % keys.length];
    this.select(key);
    this.tabButtons.get(key).focus();
  }

  /** Unclaimed or Mine, with no filter but the default: the live list. */
  isLive() {
    const { search, priority, status } = this.filters;
    const plain = !search.trim() && !priority && status === "OPEN";
    return plain && (this.tab === "unclaimed" || this.tab === "mine");
  }

  select(key) {
    if (!this.tabButtons.has(key)) return;
    this.tab = key;
    this.fetched = null;
    this.render();
    if (!this.isLive()) this.fetchView().catch((error) => this.viewFailed(error));
  }

  /** Filters changed: ask again (typing waits a moment). */
  filterSoon(delay = 300) {
    clearTimeout(this.filterTimer);
    this.filterTimer = setTimeout(() => {
      this.filters = {
        search: this.search.value,
        priority: this.prioritySelect.value,
        status: this.statusSelect.value,
      };
      this.select(this.tab);
    }, delay);
  }

  /** The request for the view shown: the tab's own query, or `handoffs` with the filters. */
  viewRequest(first, after) {
    const { search, priority, status } = this.filters;
    const filtered = Boolean(search.trim() || priority);
    if (!filtered && this.tab === "parked") return [MY_PARKED, { first, after }];
    if (!filtered && this.tab === "escalations") {
      return [MY_ESCALATIONS, { first, after, status: status || null }];
    }
    const tab = TABS.find((t) => t.key === this.tab);
    const filter = {
      ...tab.filter,
      status: status || null,
      priorities: priority ? [priority] : null,
      search: search.trim() || null,
    };
    return [VIEW, { first, after, filter }];
  }

  /** Ask for the view's first page (as many as are shown, when it is asked again). */
  async fetchView() {
    const asked = ++this.asked;
    const key = this.tab;
    const shown = this.fetched?.key === key ? this.fetched.nodes.length : 0;
    const first = Math.min(PAGE_MAX, Math.max(PAGE, shown)); // past that, "load more" again
    const [query, variables] = this.viewRequest(first, null);
    const { page } = await gql(query, variables);
    if (asked !== this.asked) return;
    this.fetched = { key, nodes: page.nodes, pageInfo: page.pageInfo, total: page.totalCount };
    this.render();
  }

  async more() {
    const fetched = this.fetched;
    if (!fetched?.pageInfo.hasNextPage) return;
    this.loadMore.disabled = true;
    const asked = ++this.asked;
    try {
      const [query, variables] = this.viewRequest(PAGE, fetched.pageInfo.endCursor);
      const { page } = await gql(query, variables);
      if (asked !== this.asked) return;
      const seen = new Set(fetched.nodes.map((n) => n.id));
      fetched.nodes.push(...page.nodes.filter((n) => !seen.has(n.id)));
      fetched.pageInfo = page.pageInfo;
      this.render();
    } catch (error) {
      this.viewFailed(error);
    } finally {
      this.loadMore.disabled = false;
    }
  }

  async moreQueue() {
    if (!this.queueCursor) return;
    this.queueMore.disabled = true;
    try {
      const { handoffQueue: page } = await gql(QUEUE_MORE, { after: this.queueCursor });
      for (const card of page.nodes) this.place(card);
      this.queueCursor = page.pageInfo.hasNextPage ? page.pageInfo.endCursor : null;
      this.render();
    } catch (error) {
      this.viewFailed(error);
    } finally {
      this.queueMore.disabled = false;
    }
  }

  viewFailed(error) {
    if (error instanceof Unauthenticated) return this.onUnauthorized();
    toast(`Could not load the view: ${error.message}`, "error");
  }

  /** Something changed: the counts, and an asked-for view, are asked again (once, shortly). */
  refreshSoon() {
    clearTimeout(this.refreshTimer);
    this.refreshTimer = setTimeout(() => {
      this.refreshCounts().catch(() => {}); // the counts catch up on the next change
      if (!this.isLive()) this.fetchView().catch((error) => this.viewFailed(error));
    }, 250);
  }

  async refreshCounts() {
    this.counts = Object.fromEntries(
      Object.entries(await gql(COUNTS)).map(([key, page]) => [key, page.totalCount]),
    );
    this.renderTabs();
  }

  renderTabs() {
    for (const [key, button] of this.tabButtons) {
      const selected = key === this.tab;
      button.setAttribute("aria-selected", String(selected));
      button.tabIndex = selected ? 0 : -1;
      const count = this.counts[key];
      button.querySelector(".tab-count").textContent = count === undefined ? "" : String(count);
    }
  }

  async start() {
    const data = await gql(QUEUE);
    let baseline = 0; // every later change has a higher seq: replay from here
    for (const edge of [...data.unclaimed.edges, ...data.claimed.edges]) {
      const { historyConnection, ...card } = edge.node;
      for (const event of historyConnection.nodes) baseline = Math.max(baseline, event.seq);
      this.place(card);
    }
    const { hasNextPage, endCursor } = data.unclaimed.pageInfo;
    this.queueCursor = hasNextPage ? endCursor : null;
    this.render();
    await this.refreshCounts().catch(() => {});
    this.live = new LiveDesk({
      token: this.token,
      onState: this.onLive,
      onUnauthorized: this.onUnauthorized,
    });
    const after = baseline;
    this.live.subscribe("created", CREATED, { after, next: (e) => this.place(e.handoff, true) });
    this.live.subscribe("claimed", CLAIM_CHANGED, { after, next: (e) => this.claimChanged(e) });
    this.live.subscribe("assessed", SETTLED, { after, next: (e) => this.assessed(e) });
    this.live.subscribe("updated", UPDATED, { after, next: (e) => this.updated(e) });
    this.live.subscribe("timer", TIMER, { after, next: (e) => this.place(e.handoff, true) });
    this.live.subscribe("unread", UNREAD, { next: (e) => this.unreadChanged(e) });
    this.live.subscribe("presence", ACCOUNT_VIEWERS, { next: (e) => this.viewersChanged(e) });
    this.live.start();
    this.ticker = setInterval(() => this.render(), 30000); // ages move on
  }

  stop() {
    this.live?.stop();
    clearInterval(this.ticker);
    clearTimeout(this.refreshTimer);
    clearTimeout(this.filterTimer);
  }

  place(card, rerender = false) {
    this.queue.delete(card.id);
    this.mine.delete(card.id);
    const gone =
      card.withdrawnAt || card.intent === "PARK" || card.session?.status === "RESOLVED";
    if (gone) {
      // Withdrawn, a park, or resolved: in no live list.
    } else if (!card.claimedBy) this.queue.set(card.id, card);
    else if (card.claimedBy.id === this.me.id) this.mine.set(card.id, card);
    if (rerender) {
      this.render();
      this.refreshSoon();
    }
  }

  claimChanged({ kind, actor, handoff }) {
    this.place(handoff, true);
    if (handoff.id !== this.openId) return;
    if (kind === "CLAIMED" && actor && actor.id !== this.me.id) {
      this.announceTaken(handoff.id, handoff.claimedBy.name, handoff.claimedAt);
    }
    this.reload().catch((error) => toast(error.message, "error"));
  }

  /** Withdrawn, re-prioritised, transferred (claims and releases come on handoffClaimChanged too:
   * placing a card twice places it once); a note added, which the open detail shows. */
  updated({ kind, actor, to, note, handoff }) {
    if (kind === "NOTE_ADDED") return this.noteAdded(handoff.id, note);
    const before = this.queue.get(handoff.id) ?? this.mine.get(handoff.id);
    this.place({ ...handoff, unread: before?.unread ?? handoff.unread }, true);
    if (kind === "TRANSFERRED" && to?.id === this.me.id && actor?.id !== this.me.id) {
      toast(`${actor?.name ?? "A colleague"} handed you “${handoff.session.problemSummary}”`);
    }
    if (handoff.id !== this.openId || kind === "CLAIMED" || kind === "RELEASED") return;
    this.reload().catch((error) => this.reloadFailed(error));
  }

  colleagues() {
    this.colleaguesLoaded ??= everyUser().then((users) =>
      users.filter((u) => u.active && (u.role === "ENGINEER" || u.role === "ADMIN")),
    );
    this.colleaguesLoaded.catch(() => {
      this.colleaguesLoaded = null; // asked again next time
    });
    return this.colleaguesLoaded.catch(() => []);
  }

  /** A lifecycle action on the open escalation: the card moves, the detail reloads; a refusal
   * or a failure is said in the detail (role=alert), and the buttons stay usable. */
  async act(done, mutation, variables) {
    const id = this.openId;
    let result;
    try {
      result = Object.values(await gql(mutation, variables))[0];
    } catch (error) {
      if (error instanceof Unauthenticated) throw error;
      this.view.say(`Could not do it: ${error.message}. Try again.`);
      return;
    }
    const ok = result.__typename.endsWith("Success");
    if (ok && result.handoff) this.place(result.handoff, true);
    if (id === this.openId) await this.reload().catch((error) => this.reloadFailed(error));
    if (!ok) return this.view.say(result.message); // after the reload: it stays said
    if (this.detail) this.place(this.detail, true);
    toast(`${this.detail?.session.problemSummary ?? "The escalation"}: ${done}.`);
  }

  assessed({ handoff }) {
    this.landed.set(handoff.id, handoff.assessment);
    const { assessment, reassessment, ...card } = handoff;
    this.place({ ...card, assessment: { status: assessment.status } }, true);
    if (handoff.id === this.openId && this.detail) {
      this.detail.assessment = assessment;
      this.detail.reassessment = reassessment;
      this.view.updateAssessment(this.detail);
      // The earlier ones, with the one that landed among them.
      this.reload().catch((error) => this.reloadFailed(error));
    }
  }

  /** The caller's rating of an assessment: the detail shows it once kept; a refusal is said. */
  async rate(assessment, rating, reason) {
    const id = this.openId;
    let result;
    try {
      ({ rateAssessment: result } = await gql(RATE, { id: assessment.id, rating, reason }));
    } catch (error) {
      if (error instanceof Unauthenticated) throw error;
      this.view.say(`Could not rate it: ${error.message}. Try again.`);
      return;
    }
    if (id === this.openId) await this.reload().catch((error) => this.reloadFailed(error));
    if (result.__typename !== "RateAssessmentSuccess") this.view.say(result.message);
  }

  /** Someone else holds it: say who and since when, once, and let it leave the queue. */
  announceTaken(id, name, claimedAt) {
    const key = `${id}|${claimedAt}`;
    if (this.announced.has(key)) return;
    this.announced.add(key);
    toast(`Already claimed by ${name}, ${minutesAgo(claimedAt)}`, "warning");
  }

  /** A note on the open escalation (from the live events, or this window's own): shown once. */
  noteAdded(handoffId, note) {
    const detail = this.detail;
    if (!note || detail?.id !== handoffId || !detail.notes) return;
    if (detail.notes.some((n) => n.id === note.id)) return;
    detail.notes.push(note);
    this.view.updateNotes(detail);
  }

  /** Returns true when the note was added. */
  async addNote(handoffId, body) {
    let result;
    try {
      ({ addHandoffNote: result } = await gql(ADD_NOTE, { input: { handoffId, body } }));
    } catch (error) {
      if (error instanceof Unauthenticated) throw error;
      toast(`Could not add the note: ${error.message}`, "error");
      return false;
    }
    if (result.__typename !== "AddHandoffNoteSuccess") {
      toast(result.message, "warning");
      return false;
    }
    this.noteAdded(handoffId, result.note);
    return true;
  }

  /** Follow the open escalation's conversation (null: none): its new messages are appended. */
  follow(handoff) {
    const sessionId = handoff?.session.id ?? null;
    if (this.following?.sessionId === sessionId) return;
    if (this.following) this.live?.unsubscribe(this.following.key);
    this.following = null;
    if (!sessionId || !this.live) return;
    const key = `messages-${++this.followed}`;
    const shown = handoff.session.messages;
    const after = shown.length ? shown[shown.length - 1].position : 0;
    this.following = { key, sessionId };
    this.live.subscribe(key, MESSAGES, {
      after,
      variables: { sessionId },
      resume: (message) => message.position,
      next: (message) => this.messageAdded(sessionId, message),
      // No longer visible to this user (withdrawn, parked...): followed again on a reload.
      error: () => {
        if (this.following?.key === key) this.following = null;
      },
    });
  }

  /** A message of the open escalation's session (live, or this window's own): shown once. */
  messageAdded(sessionId, message) {
    const detail = this.detail;
    if (detail?.session.id !== sessionId) return;
    const messages = detail.session.messages;
    if (messages.some((m) => m.position === message.position)) return;
    messages.push(message);
    messages.sort((a, b) => a.position - b.position);
    this.view.updateConversation(detail);
  }

  /** Who else has which escalation open (the cards): the whole list, then each change. */
  viewersChanged({ snapshot, handoffs }) {
    if (snapshot) this.viewers.clear(); // the first answer (on every reconnect): all there is
    for (const { handoffId, viewers } of handoffs) {
      if (viewers.length) this.viewers.set(handoffId, viewers);
      else this.viewers.delete(handoffId);
    }
    this.render();
  }

  /** Have `id` open (null: none): subscribed to its viewers, which also tells everyone else. */
  watch(id) {
    if (this.watching?.handoffId === id) return;
    if (this.watching) this.live?.unsubscribe(this.watching.key);
    this.watching = null;
    this.view.updateViewers([]);
    if (!id || !this.live) return;
    const key = `viewers-${++this.watched}`;
    this.watching = { key, handoffId: id };
    this.live.subscribe(key, VIEWERS, {
      variables: { handoffId: id },
      next: ({ handoffId, viewers }) => {
        if (handoffId === this.watching?.handoffId) this.view.updateViewers(viewers);
      },
    });
  }

  // Routing: the hash names the open escalation.
  async open(id) {
    if (id === this.openId && this.detail) return;
    this.openId = id;
    this.detail = null;
    this.follow(null);
    this.watch(null); // what was open is closed: the others see this user leave it
    this.render();
    if (!id) return this.view.clear();
    this.view.loading();
    try {
      await this.reload();
    } catch (error) {
      if (error instanceof Unauthenticated) throw error;
      if (id !== this.openId) return;
      // The API refused the id (malformed): to the user, it is one they cannot see.
      if (error instanceof ApiError) this.view.missing();
      else this.view.failed(error.message, () => this.retryOpen(id));
    }
    if (id !== this.openId) return;
    if (this.detail) this.watch(id); // shown: open, as the others will see
    this.view.focus(); // the detail opened: the keyboard is there now
    if (this.detail?.unread) this.markSeen(id);
  }

  retryOpen(id) {
    this.detail = null;
    this.openId = null;
    this.open(id).catch((error) => toast(error.message, "error"));
  }

  async reload() {
    const id = this.openId;
    const handoff = flattened((await gql(HANDOFF, { id })).handoff);
    if (id !== this.openId) return; // another one was opened meanwhile
    if (!handoff) return this.view.missing();
    const landed = this.landed.get(id);
    if (handoff.assessment.status === "PENDING" && landed) handoff.assessment = landed;
    keepHeard(this.detail, handoff);
    this.detail = handoff;
    this.view.render(handoff, { claiming: this.claiming.has(id) });
    this.follow(handoff);
  }

  async markSeen(id) {
    const { markHandoffSeen: result } = await gql(SEEN, { id });
    if (result.__typename !== "MarkHandoffSeenSuccess") return;
    this.clearDot(id);
  }

  /** Read in another of this user's windows (or this one): the dot goes, the badge follows. */
  unreadChanged({ handoffId, unread }) {
    if (handoffId && unread === false) this.clearDot(handoffId);
  }

  clearDot(id) {
    for (const list of [this.queue, this.mine]) {
      const card = list.get(id);
      if (card) card.unread = false;
    }
    for (const card of this.fetched?.nodes ?? []) if (card.id === id) card.unread = false;
    if (this.detail?.id === id) this.detail.unread = false;
    this.render();
  }

  async claim(id) {
    if (this.claiming.has(id)) return; // a double click claims once
    this.claiming.add(id);
    this.view.setClaiming(true);
    try {
      const { claimHandoff: result } = await gql(CLAIM, { id });
      switch (result.__typename) {
        case "ClaimHandoffSuccess":
          this.place({ ...result.handoff, unread: false }, true);
          if (this.isLive()) this.select("mine"); // what one picked up is in Mine now
          break;
        case "AlreadyClaimed":
          this.queue.delete(id);
          this.render();
          this.announceTaken(id, result.claimedBy.name, result.claimedAt);
          break;
        case "HandoffNotFound":
          this.queue.delete(id);
          this.render();
          toast(result.message, "warning");
          break;
        default:
          toast(result.message, "warning");
      }
    } catch (error) {
      if (error instanceof Unauthenticated) throw error; // the app signs out
      this.claiming.delete(id);
      // The button comes back: the user may try again.
      if (id === this.openId) {
        this.view.setClaiming(false);
        this.view.say(`Could not pick it up: ${error.message}. Try again.`);
      } else toast(`Could not pick it up: ${error.message}`, "error");
      return;
    } finally {
      this.claiming.delete(id);
    }
    if (id === this.openId) await this.reload().catch((error) => this.reloadFailed(error));
  }

  reloadFailed(error) {
    if (error instanceof Unauthenticated) throw error;
    toast(`Could not refresh the escalation: ${error.message}`, "error");
  }

  async release(id) {
    const { releaseHandoff: result } = await gql(RELEASE, { id });
    if (result.__typename === "ReleaseHandoffSuccess") this.place(result.handoff, true);
    else toast(result.message, "warning");
    if (id === this.openId) await this.reload();
  }

  /** Returns true when the message was added. */
  async send(sessionId, content) {
    const input = { sessionId, role: "ENGINEER", content };
    let result;
    try {
      ({ addSessionMessage: result } = await gql(SEND, { input }));
    } catch (error) {
      if (error instanceof Unauthenticated) throw error;
      toast(`Could not send: ${error.message}`, "error");
      return false;
    }
    if (result.__typename !== "AddSessionMessageSuccess") {
      toast(result.message, "warning");
      return false;
    }
    this.messageAdded(sessionId, result.added); // unless the live conversation was first
    return true;
  }

  render() {
    const queued = [...this.queue.values()].sort(
      (a, b) =>
        PRIORITY_RANK[b.priority] - PRIORITY_RANK[a.priority] ||
        b.createdAt.localeCompare(a.createdAt),
    );
    const mine = [...this.mine.values()].sort((a, b) => b.claimedAt.localeCompare(a.claimedAt));
    this.fill(this.queueList, queued);
    this.fill(this.mineList, mine);
    this.queueEmpty.hidden = queued.length > 0;
    this.queueMore.hidden = !this.queueCursor;
    this.mineEmpty.hidden = mine.length > 0;
    const live = this.isLive();
    this.queuePanel.hidden = !(live && this.tab === "unclaimed");
    this.minePanel.hidden = !(live && this.tab === "mine");
    this.viewPanel.hidden = live;
    const fetched = this.fetched?.key === this.tab ? this.fetched : null;
    this.viewList.setAttribute("aria-label", `${this.tabButtons.get(this.tab).firstChild.data}`);
    this.fill(this.viewList, fetched?.nodes ?? []);
    this.viewEmpty.hidden = Boolean(fetched?.nodes.length);
    this.viewEmpty.textContent = fetched ? "Nothing here." : "Loading…";
    this.loadMore.hidden = !fetched?.pageInfo.hasNextPage;
    if (fetched) this.loadMore.textContent = `Load more (${fetched.nodes.length} of ${fetched.total})`;
    this.renderTabs();
    this.onUnreadCount(queued.filter((card) => card.unread).length);
  }

  /** Puts `cards` in `list`, keeping each card's element where nothing it shows changed: a
   * redraw for a live event (presence, the bell) must not swap the element under a click
   * landing on it, which the browser would then drop. */
  fill(list, cards) {
    const before = new Map([...list.children].map((li) => [li.dataset.key, li]));
    const next = cards.map((card) => {
      const fresh = this.card(card);
      const kept = before.get(card.id);
      return kept && kept.outerHTML === fresh.outerHTML ? kept : fresh;
    });
    if (next.length === list.children.length && next.every((li, i) => li === list.children[i])) {
      return; // nothing moved or changed
    }
    list.replaceChildren(...next);
  }

  card(card) {
    const pending = card.assessment.status === "PENDING";
    return h(
      "li",
      { dataset: { key: card.id } },
      h(
        "a",
        {
          class: "card",
          href: `#/handoff/${card.id}`,
          "aria-current": card.id === this.openId ? "true" : null,
          dataset: { handoffId: card.id, unread: String(card.unread) },
        },
        h(
          "span",
          { class: "card-top" },
          priorityBadge(card.priority),
          dueBadge(card),
          h("span", { class: "age", title: card.createdAt }, age(card.createdAt)),
          card.unread ? h("span", { class: "dot", role: "img", "aria-label": "unread" }) : null,
        ),
        h("span", { class: "card-title" }, card.session.problemSummary),
        h(
          "span",
          { class: "card-meta" },
          `by ${card.createdBy.id === this.me.id ? "you" : card.createdBy.name}`,
          card.claimedBy
            ? ` · ${card.claimedBy.id === this.me.id ? "you have it" : `${card.claimedBy.name} has it`}`
            : null,
          card.session.status === "RESOLVED" ? " · resolved" : null,
          pending ? h("span", { class: "assessing" }, " · assessing…") : null,
        ),
        this.viewersOf(card.id),
      ),
    );
  }

  /** "Dana is viewing" on a card: who else has it open. */
  viewersOf(id) {
    const viewers = this.viewers.get(id);
    if (!viewers?.length) return null;
    const title = viewers.map((user) => user.name).join(", ");
    return h("span", { class: "viewers", title }, viewing(viewers, { short: true }));
  }
}
