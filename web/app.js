// The web console: log in, then the live desk (#/ and #/handoff/<id>) or the escalate page
// (#/escalate). Plain ES modules, no build step; everything comes from this server.

import { Unauthenticated, auth, gql } from "./api.js";
import { Bell } from "./bell.js";
import { Desk } from "./desk.js";
import { field, h, toast } from "./dom.js";
import { EscalatePage } from "./escalate.js";

const LOGIN = `
  mutation Login($email: String!, $password: String!, $accountId: ID) {
    login(input: { email: $email, password: $password, accountId: $accountId }) {
      __typename
      ... on LoginSuccess { token }
      ... on AccountChoiceRequired { message accounts { id name } }
      ... on InvalidCredentials { message }
      ... on LoginThrottled { message }
    }
  }`;

const WHO = `
  query Who { me { id name role } account { name allowSelfClaim notesVisibleToViewers } }`;

const main = document.getElementById("view");
const topbar = document.getElementById("topbar");
let session = null; // {me, account, desk, escalate} while logged in

/** The account picker, shown when the email and password open several accounts. */
function accountChoice(accounts) {
  const select = h(
    "select",
    { name: "accountId", required: true },
    accounts.map((account) => h("option", { value: account.id }, account.name)),
  );
  return field("Account", select);
}

function loginView(problem = "") {
  const error = h("p", { class: "form-error", role: "alert" }, problem);
  const button = h("button", { type: "submit", class: "primary" }, "Log in");
  let choice = null; // the account picker, while the API asks for one
  const clearChoice = () => {
    choice?.remove();
    choice = null;
  };
  const form = h(
    "form",
    {
      class: "login",
      "aria-labelledby": "login-title",
      // Another email or password: the accounts offered were those this pair opened.
      onInput: (event) => event.target.name !== "accountId" && clearChoice(),
      onSubmit: async (event) => {
        event.preventDefault();
        const data = new FormData(form);
        button.disabled = true;
        error.textContent = "";
        try {
          const { login } = await gql(LOGIN, {
            email: data.get("email"),
            password: data.get("password"),
            accountId: data.get("accountId"),
          });
          if (login.__typename === "AccountChoiceRequired") {
            clearChoice();
            choice = accountChoice(login.accounts);
            error.before(choice);
            error.textContent = login.message;
            choice.querySelector("select").focus();
            return;
          }
          if (login.__typename !== "LoginSuccess") {
            error.textContent = login.message;
            return;
          }
          auth.token = login.token;
          await boot();
        } catch (failure) {
          error.textContent = failure.message;
        } finally {
          button.disabled = false;
        }
      },
    },
    h("h1", { id: "login-title" }, "Handoff Desk"),
    h("p", { class: "hint" }, "Log in to see the escalation queue."),
    field(
      "Email",
      h("input", { type: "email", name: "email", autocomplete: "username", required: true }),
    ),
    field(
      "Password",
      h("input", {
        type: "password",
        name: "password",
        autocomplete: "current-password",
        required: true,
      }),
    ),
    error,
    button,
  );
  topbar.hidden = true;
  document.body.dataset.live = "off";
  main.replaceChildren(h("div", { class: "login-wrap" }, form));
  form.querySelector("input").focus();
}

function signOut(problem = "") {
  session?.desk.stop();
  session = null;
  auth.token = null;
  loginView(problem);
}

function renderTopbar({ me, account }) {
  const unread = h("span", { class: "count", id: "unread-count", hidden: true });
  const live = h("span", { class: "live", id: "live", role: "status" }, "Connecting…");
  const bellSlot = h("span", { class: "bell-slot" });
  topbar.replaceChildren(
    h("span", { class: "brand" }, "Handoff Desk"),
    h("span", { class: "account" }, account.name),
    h(
      "nav",
      { "aria-label": "Main" },
      h("a", { href: "#/", id: "nav-queue" }, "Queue", unread),
      me.role !== "VIEWER" ? h("a", { href: "#/escalate", id: "nav-escalate" }, "Escalate") : null,
      h("a", { href: "/graphql" }, "GraphiQL"),
    ),
    live,
    bellSlot,
    h("span", { class: "who", id: "who" }, `${me.name} · ${me.role.toLowerCase()}`),
    h("button", { type: "button", class: "quiet", onClick: () => signOut() }, "Sign out"),
  );
  topbar.hidden = false;
  return {
    mountBell(bell) {
      bellSlot.replaceChildren(bell.root);
    },
    setUnread(n) {
      unread.textContent = String(n);
      unread.hidden = n === 0;
      unread.setAttribute("aria-label", `${n} unread`);
      document.title = n ? `(${n}) Handoff Desk` : "Handoff Desk";
    },
    setLive(state) {
      document.body.dataset.live = state;
      live.dataset.state = state;
      live.textContent = { live: "Live", connecting: "Connecting…", offline: "Reconnecting…" }[
        state
      ];
    },
  };
}

async function boot() {
  if (!auth.token) return loginView();
  let who;
  try {
    who = await gql(WHO);
  } catch (error) {
    if (error instanceof Unauthenticated) return loginView();
    throw error;
  }
  const bar = renderTopbar(who);
  const desk = new Desk({
    me: who.me,
    account: who.account,
    token: auth.token,
    onUnauthorized: () => signOut("Your session ended; log in again."),
    onLive: (state) => bar.setLive(state),
    onUnreadCount: (n) => bar.setUnread(n),
  });
  session = { ...who, desk, escalate: new EscalatePage() };
  await desk.start();
  bar.mountBell(new Bell({ live: desk.live }));
  await route();
}

async function route() {
  if (!session) return;
  const path = location.hash.replace(/^#/, "") || "/";
  const current = document.querySelector("nav a[aria-current]");
  current?.removeAttribute("aria-current");
  try {
    if (path === "/escalate") {
      document.getElementById("nav-escalate")?.setAttribute("aria-current", "page");
      main.replaceChildren(session.escalate.root);
      await session.escalate.show();
      return;
    }
    document.getElementById("nav-queue").setAttribute("aria-current", "page");
    if (!main.contains(session.desk.root)) main.replaceChildren(session.desk.root);
    const match = path.match(/^\/handoff\/([^/]+)$/);
    await session.desk.open(match ? decodeURIComponent(match[1]) : null);
  } catch (error) {
    if (error instanceof Unauthenticated) return signOut("Your session ended; log in again.");
    toast(error.message, "error");
  }
}

window.addEventListener("hashchange", route);
window.addEventListener("unhandledrejection", (event) => {
  if (event.reason instanceof Unauthenticated) signOut("Your session ended; log in again.");
});
boot().catch((error) => toast(`Could not load the desk: ${error.message}`, "error"));
