// The dashboard in headless Chromium (Debian's, driven by playwright-core):
// live updates across tabs, a refresh mid-stream, the share modal and a
// revoked viewer, going offline and back, the token chart, hook-created
// sessions named by their prompts, the work-item board's columns, and the
// operator page's charts. Each test starts its own herald binary on a free
// port with a fresh database; the README's screenshots are taken here.
//
// Run by tests/web.rs with HERALD_BIN (the binary), HERALD_CLIENTS (where
// tests/clients/setup.sh installed playwright-core) and HERALD_SHOTS (where
// screenshots go).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, mkdirSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

const { chromium } = await import(`${process.env.HERALD_CLIENTS}/node/node_modules/playwright-core/index.mjs`);
const WAIT = 10_000;
const ADMIN = "browser-admin-token";
let browser;

before(async () => {
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-quic",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
});
after(async () => browser && (await browser.close()));

const freePort = () => new Promise((ok) => {
  const s = createServer().listen(0, "127.0.0.1", () => {
    const { port } = s.address();
    s.close(() => ok(port));
  });
});

/** A herald process; `restart()` keeps its port and database. */
async function herald(env = {}) {
  const dir = mkdtempSync(join(tmpdir(), "herald-web-"));
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const server = { base, proc: null };
  server.start = async () => {
    server.proc = spawn(process.env.HERALD_BIN, ["serve"], {
      cwd: dir,
      stdio: ["ignore", "ignore", "inherit"],
      env: { ...process.env, RUST_LOG: "warn", HERALD__SERVER__BIND: `127.0.0.1:${port}`,
        HERALD__DATABASE__URL: `sqlite://${join(dir, "herald.db")}`, HERALD__WS__BATCH_WINDOW_MS: "50", ...env },
    });
    const deadline = Date.now() + WAIT;
    for (;;) {
      try {
        if ((await fetch(`${base}/healthz`)).ok) return;
      } catch {}
      if (Date.now() > deadline) throw new Error("herald did not start");
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  server.stop = () => new Promise((ok) => {
    server.proc.once("exit", ok);
    server.proc.kill("SIGTERM");
  });
  await server.start();
  return server;
}

async function call(srv, method, path, body, token) {
  // Written as an agent would: the session records which one.
  const headers = { "X-Agent-ID": "claude-code", ...(token ? { Authorization: `Bearer ${token}` } : {}) };
  const resp = await fetch(srv.base + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const data = await resp.json();
  assert.ok(resp.ok, `${method} ${path}: ${resp.status} ${JSON.stringify(data)}`);
  return data;
}

async function page(srv, path, token) {
  const context = await browser.newContext({ viewport: { width: 1100, height: 800 } });
  if (token) await context.addInitScript((t) => localStorage.setItem("herald.token", t), token);
  const p = await context.newPage();
  p.setDefaultTimeout(WAIT);
  await p.goto(srv.base + path);
  return p;
}

async function projectAndSession(srv, id, token) {
  const project = await call(srv, "POST", "/api/projects", { name: "Landing page" }, token);
  await call(srv, "POST", `/api/projects/${project.id}/sessions`, { id, title: "Build the landing page" }, token);
  return project.id;
}

/** Where a screenshot goes (tests/web.rs copies none: `docs/screenshots/` is refreshed by hand from here). */
function shot(name) {
  mkdirSync(process.env.HERALD_SHOTS, { recursive: true });
  return join(process.env.HERALD_SHOTS, name);
}

const messageIds = (p) => p.$$eval("#message-list li", (items) => items.map((li) => Number(li.dataset.message)));

test("two tabs see a session update without reload", async () => {
  const srv = await herald();
  try {
    await projectAndSession(srv, "s1");
    const tabs = [await page(srv, "/#/sessions/s1"), await page(srv, "/#/sessions/s1")];
    for (const t of tabs) await t.getByRole("heading", { name: "Build the landing page" }).waitFor();
    await call(srv, "PATCH", "/api/sessions/s1", { title: "Ship it", needs_attention: true });
    for (const t of tabs) {
      await t.getByRole("heading", { name: "Ship it" }).waitFor();
      await t.getByText("Needs attention").waitFor();
    }
    // The session list updates live too.
    const list = await page(srv, "/#/");
    await list.locator('tr[data-session="s1"].attention').waitFor();
    await call(srv, "PATCH", "/api/sessions/s1", { status: "idle", needs_attention: false });
    await list.locator('tr[data-session="s1"]:not(.attention) .pill.idle').waitFor();
    // At a phone's width the list still reads.
    mkdirSync(process.env.HERALD_SHOTS, { recursive: true });
    await list.setViewportSize({ width: 390, height: 700 });
    await list.screenshot({ path: join(process.env.HERALD_SHOTS, "sessions-phone.png") });
  } finally {
    await srv.stop();
  }
});

test("a refresh in the middle of 200 events ends with every event shown once, in order", async () => {
  const srv = await herald();
  try {
    await projectAndSession(srv, "s1");
    const p = await page(srv, "/#/sessions/s1");
    await p.getByText("Messages (0)").waitFor();
    const ids = [];
    for (let i = 1; i <= 200; i++) {
      ids.push((await call(srv, "POST", "/api/sessions/s1/messages", { prompt: `step ${i}` })).id);
      if (i === 80) await p.reload();
    }
    await p.waitForFunction(() => document.querySelectorAll("#message-list li").length >= 200, null, { timeout: WAIT });
    assert.deepEqual(await messageIds(p), ids);
    await p.getByText("Messages (200)").waitFor();
  } finally {
    await srv.stop();
  }
});

test("the share modal adds, re-roles and removes; the removed viewer is sent away with a toast", async () => {
  const srv = await herald({ HERALD__AUTH__REQUIRED: "true", HERALD__AUTH__ADMIN_TOKEN: ADMIN });
  try {
    const user = (email) => call(srv, "POST", "/api/users", { email }, ADMIN);
    const owner = await user("owner@example.com");
    const viewer = await user("viewer@example.com");
    await projectAndSession(srv, "shared", owner.token);
    // Signing in with a token.
    const signin = await page(srv, "/#/");
    await signin.getByPlaceholder("token").fill(owner.token);
    await signin.getByRole("button", { name: "Sign in" }).click();
    await signin.getByText("owner@example.com").waitFor();

    const mine = await page(srv, "/#/sessions/shared", owner.token);
    await mine.getByRole("button", { name: "Share" }).click();
    const modal = mine.locator("#share-modal");
    await modal.locator(".live.Live").waitFor();
    const invite = async (email, role) => {
      await modal.getByPlaceholder("email").fill(email);
      await modal.locator('#invite select[name="role"]').selectOption(role);
      await modal.getByRole("button", { name: "Add" }).click();
      await modal.locator(`tr[data-collaborator="${email}"]`).waitFor();
    };
    await invite("third@example.com", "editor");
    await modal.getByLabel("role of third@example.com").selectOption("viewer");
    await mine.waitForFunction(() => document.querySelector('[aria-label="role of third@example.com"]').value === "viewer");
    const listed = await call(srv, "GET", "/api/sessions/shared/collaborators", undefined, owner.token);
    assert.equal(listed.find((c) => c.email === "third@example.com").role, "viewer");
    await modal.getByLabel("remove third@example.com").click();
    await modal.locator('tr[data-collaborator="third@example.com"]').waitFor({ state: "detached" });

    // The viewer is let in, watches, and is removed from the owner's modal.
    await invite("viewer@example.com", "viewer");
    const theirs = await page(srv, "/#/sessions/shared", viewer.token);
    await theirs.getByRole("heading", { name: "Build the landing page" }).waitFor();
    await modal.getByLabel("remove viewer@example.com").click();
    await theirs.getByText("Your access to this session has been revoked.").waitFor();
    await theirs.waitForFunction(() => location.hash === "#/");
    // The visibility toggle.
    await modal.locator("#public").check();
    await mine.waitForFunction(() => document.querySelector("#meta").textContent.includes("public"));
  } finally {
    await srv.stop();
  }
});

test("offline shows the reconnecting badge and recovers with no missing todo", async () => {
  const srv = await herald();
  try {
    await projectAndSession(srv, "s1");
    const p = await page(srv, "/#/sessions/s1");
    const todos = (n) => Array.from({ length: n }, (_, i) => ({ content: `todo ${i + 1}`, status: i < n - 1 ? "completed" : "in_progress", active_form: `doing ${i + 1}` }));
    await call(srv, "PUT", "/api/sessions/s1/todos", todos(3));
    await p.getByText("2 of 3 done (67 %)").waitFor();
    assert.equal(await p.locator("#badge").isHidden(), true);
    await srv.stop();
    await p.locator('#badge[data-state="reconnecting"]').waitFor();
    assert.match(await p.locator("#badge").textContent(), /Reconnecting/);
    await srv.start();
    // Written before the page is back: it arrives through the resume.
    await call(srv, "PUT", "/api/sessions/s1/todos", todos(5));
    await p.getByText("4 of 5 done (80 %)").waitFor();
    await p.locator("#badge").waitFor({ state: "hidden" });
    assert.deepEqual(await p.$$eval(".todos li", (li) => li.map((x) => x.dataset.todo)), todos(5).map((t) => t.content));
    await call(srv, "PUT", "/api/sessions/s1/todos", todos(5).map((t) => ({ ...t, status: "completed" })));
    await p.getByText("5 of 5 done (100 %)").waitFor();
    // A tool call and a message, for the screenshot.
    await call(srv, "POST", "/api/sessions/s1/tool-calls", { tool_call_id: "t1", tool_name: "Write", state: "output-available", input: { file_path: "src/Hero.tsx" }, output: { ok: true } });
    await call(srv, "POST", "/api/sessions/s1/tool-calls", { tool_call_id: "t2", tool_name: "Bash", state: "input-available", input: { command: "npm test" } });
    await call(srv, "POST", "/api/sessions/s1/messages", { prompt: "Build the landing page with a hero and pricing" });
    await call(srv, "POST", "/api/sessions/s1/token-usage", { input_tokens: 1200, output_tokens: 340, model: "claude-sonnet" });
    await p.locator('[data-field="model"]', { hasText: "claude-sonnet" }).waitFor();
    // The token chart: total, input and output, updated live.
    await p.locator('[data-chart="tokens"][data-last="1540"]').waitFor();
    await call(srv, "POST", "/api/sessions/s1/token-usage", { input_tokens: 2600, output_tokens: 900 });
    await call(srv, "POST", "/api/sessions/s1/token-usage", { input_tokens: 1900, output_tokens: 1100 });
    await p.locator('[data-chart="tokens"][data-last="8040"]').waitFor();
    assert.equal(await p.locator('[data-chart="tokens"] path.line').count(), 3);
    assert.equal(await p.locator('[data-chart="tokens"]').getAttribute("data-points"), "4");
    // A reload reads the reports back over HTTP: the same chart.
    await p.reload();
    await p.locator('[data-chart="tokens"][data-last="8040"][data-points="4"]').waitFor();
    mkdirSync(process.env.HERALD_SHOTS, { recursive: true });
    await p.screenshot({ path: join(process.env.HERALD_SHOTS, "dashboard.png") });
  } finally {
    await srv.stop();
  }
});

test("sessions a hook created are listed by their first prompt", async () => {
  const srv = await herald();
  try {
    const list = await page(srv, "/#/");
    const prompts = {
      "agent-a": "Add a pricing table to the landing page\nwith three tiers",
      "agent-b": "Fix the flaky login test",
      "agent-c": `Refactor ${"the billing module ".repeat(8)}`,
    };
    for (const [session, prompt] of Object.entries(prompts)) {
      await call(srv, "POST", "/api/hooks", { hook_event_name: "SessionStart", session_id: session, cwd: "/home/ana/shop" });
      await call(srv, "POST", "/api/hooks", { hook_event_name: "UserPromptSubmit", session_id: session, cwd: "/home/ana/shop", prompt });
    }
    const title = (id) => list.locator(`tr[data-session="${id}"] a`);
    await title("agent-a").filter({ hasText: /^Add a pricing table to the landing page$/ }).waitFor();
    await title("agent-b").filter({ hasText: /^Fix the flaky login test$/ }).waitFor();
    const long = await title("agent-c").textContent();
    assert.equal([...long].length, 80);
    assert.ok(long.startsWith("Refactor the billing module") && long.endsWith("…"), long);
    assert.equal(await list.getByText("New session").count(), 0);
    await list.screenshot({ path: shot("sessions.png") });
  } finally {
    await srv.stop();
  }
});

test("the work-item board shows features in status columns, live in a second tab", async () => {
  const srv = await herald();
  try {
    const tabs = [await page(srv, "/#/board"), await page(srv, "/#/board")];
    for (const t of tabs) await t.getByRole("heading", { name: "Features" }).waitFor();
    const agent = { "X-Agent-ID": "claude-1" };
    const post = async (path, body) => {
      const resp = await fetch(srv.base + path, { method: "POST", headers: agent, body: JSON.stringify(body) });
      assert.ok(resp.ok, `${path}: ${resp.status}`);
    };
    const inColumn = (t, column, item) => t.locator(`[data-column="${column}"] [data-item="${item}"]`);
    const count = (t, column) => t.locator(`[data-column="${column}"] .count`).textContent();
    await post("/api/broadcast/features/feat-1", { title: "Search", status: "todo", priority: "high", tags: ["web"] });
    await post("/api/broadcast/features/feat-2", { title: "Billing export", status: "in-progress", description: "CSV for finance" });
    await post("/api/broadcast/features/feat-3", { title: "Dark mode", status: "blocked" });
    await post("/api/broadcast/features/feat-4", { title: "Onboarding", status: "done" });
    for (const t of tabs) {
      await inColumn(t, "todo", "feat-1").waitFor();
      await inColumn(t, "in_progress", "feat-2").waitFor();
      await inColumn(t, "other", "feat-3").locator('[data-status="blocked"]').waitFor();
      await inColumn(t, "done", "feat-4").waitFor();
    }
    // A status change moves the card to its new column, in both tabs.
    await post("/api/broadcast/features/feat-1/status", { new_status: "in_progress" });
    for (const t of tabs) {
      await inColumn(t, "in_progress", "feat-1").waitFor();
      await inColumn(t, "todo", "feat-1").waitFor({ state: "detached" });
      assert.equal(await count(t, "todo"), "0");
    }
    await post("/api/broadcast/features/feat-1/status", { new_status: "done" });
    await post("/api/broadcast/features/feat-1/comments", { comment_text: "shipped behind a flag" });
    await post("/api/broadcast/tracks/t1", { title: "Q4", description: "launch" });
    for (const t of tabs) {
      await t.locator('[data-column="done"] [data-item="feat-1"] [data-status="done"]').waitFor();
      await t.waitForFunction(() => document.querySelector('[data-column="done"] .count').textContent === "2");
      assert.equal(await count(t, "in_progress"), "1");
      await t.locator('[data-item="t1"]').waitFor();
      await t.locator("#trail li", { hasText: "claude-1" }).first().waitFor();
    }
    await tabs[0].screenshot({ path: shot("board.png") });
  } finally {
    await srv.stop();
  }
});

test("the operator page charts connections, events and frames and lists the biggest rooms", async () => {
  const srv = await herald();
  try {
    const ops = await page(srv, "/#/ops");
    await ops.locator('[data-chart="connections"] path.line').waitFor();
    // Sockets opened from the page itself: four in one room, one in another.
    await ops.evaluate(() => {
      const url = location.origin.replace(/^http/, "ws") + "/ws";
      window.sockets = ["big", "big", "big", "big", "small"].map((room) => {
        const ws = new WebSocket(url);
        ws.onopen = () => ws.send(JSON.stringify({ type: "subscribe", room }));
        return ws;
      });
    });
    await ops.waitForFunction(() => Number(document.querySelector("#stat-connections")?.textContent) >= 6);
    await ops.waitForFunction(() => Number(document.querySelector('[data-chart="connections"]').dataset.last) >= 6);
    // Writes for a few seconds: the rates rise above zero on the charts.
    const deadline = Date.now() + 3000;
    for (let n = 0; Date.now() < deadline; n++) {
      await call(srv, "POST", "/api/rooms/big/events", { event_type: "tick", payload: { n } });
      await new Promise((r) => setTimeout(r, 20));
    }
    await ops.waitForFunction(() => Number(document.querySelector('[data-chart="events"]').dataset.last) > 0);
    await ops.waitForFunction(() => Number(document.querySelector('[data-chart="frames"]').dataset.last) > 0);
    // And the charts keep moving: new samples arrive every second.
    const points = Number(await ops.locator('[data-chart="frames"]').getAttribute("data-points"));
    await ops.waitForFunction((n) => Number(document.querySelector('[data-chart="frames"]').dataset.points) > n, points);
    assert.equal(await ops.locator("#rooms tr[data-room]").first().getAttribute("data-room"), "big");
    assert.equal(await ops.locator('#rooms tr[data-room="big"] td').nth(1).textContent(), "4");
    await ops.locator('#rooms tr[data-room="small"]').waitFor();
    await ops.screenshot({ path: shot("operator.png") });
  } finally {
    await srv.stop();
  }
});
