// Browser scenarios for telgate's HTTP Basic authentication, run by
// access_test.go:
//
//   node e2e/access.mjs login|certificate|nocertificate|anonymous|recordings
//
// login:     the browser answers the page's 401 challenge with
//            TELGATE_USER and TELGATE_PASSWORD, as a person does in the
//            login dialog; the page then lists the user's targets, opens
//            TELGATE_TARGET over the WebSocket (which must carry the same
//            credentials) and shows the host's greeting; the session list
//            (?view=sessions) shows that session, and its End ends it.
// certificate: login, the browser presenting the client certificate
//            TELGATE_CLIENT_CERT (its key TELGATE_CLIENT_KEY) instead of
//            a password; TELGATE_USER is the certificate's user.
// nocertificate: no client certificate: the page is refused with 403.
// anonymous: no credentials: the page is refused with 401.
// recordings: an operator plays back a session recorded on
//            TELGATE_TARGET (see the scenario).
//
// Environment: TELGATE_URL, TELGATE_USER_DATA_DIR, CHROMIUM, and for login
// and recordings TELGATE_USER, TELGATE_PASSWORD, TELGATE_TARGET; for
// login TELGATE_GREETING; for recordings TELGATE_SCREENSHOTS.
//
// Prints "ok - ..." per check and a last line "RESULT {json}"; exits
// non-zero on the first failure.

import fs from "node:fs";

import { STEP_MS, check, env, runScenario } from "./scenario.mjs";

async function login(page, base) {
  const statuses = [];
  page.on("response", (r) => statuses.push(`${r.status()} ${new URL(r.url()).pathname}`));
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));

  const resp = await page.goto(base);
  check(resp && resp.status() === 200, `the page loads after the login challenge (HTTP ${resp && resp.status()})`);
  await page.waitForSelector("#target-list a.target");
  const targets = await page.$$eval("#target-list a.target .name", (els) => els.map((e) => e.textContent));
  check(targets.length > 0, `the picker lists ${targets.join(", ")}`);

  const target = env("TELGATE_TARGET");
  const wsOpened = page.waitForEvent("websocket", { timeout: STEP_MS });
  await page.goto(`${base}?target=${encodeURIComponent(target)}`);
  const ws = await wsOpened;
  check(ws.url().includes(`/ws?target=${target}`), `the page opened ${ws.url()}`);
  await page.waitForSelector('#status[data-state="connected"]', { timeout: STEP_MS });
  check(true, "the WebSocket upgrade passed authentication and the session connected");

  const greeting = env("TELGATE_GREETING");
  await page.waitForFunction((want) => {
    const b = window.telgate.term && window.telgate.term.buffer.active;
    if (!b) {
      return false;
    }
    for (let i = 0; i < b.length; i++) {
      if (b.getLine(i).translateToString(true).includes(want)) {
        return true;
      }
    }
    return false;
  }, greeting, { timeout: STEP_MS, polling: 50 });
  check(true, `the terminal shows the host's greeting ${JSON.stringify(greeting)}`);

  // The session list, from the Sessions link, in a tab of its own.
  await page.waitForSelector("#sessions-link", { state: "visible", timeout: STEP_MS });
  const list = await page.context().newPage();
  list.on("pageerror", (e) => errors.push(e.message));
  list.on("dialog", (d) => d.accept()); // End asks first
  await list.goto(`${base}?view=sessions`);
  await list.waitForSelector("#sessions-rows tr[data-id]", { timeout: STEP_MS });
  const rows = await list.$$eval("#sessions-rows tr", (trs) => trs.map((tr) => Array.from(tr.cells).map((c) => c.textContent)));
  const user = env("TELGATE_USER");
  check(rows.length === 1 && rows[0][0] === target && rows[0][1] === user,
    `the session list shows the user's session (${JSON.stringify(rows)})`);
  check(await list.textContent("#sessions-title") === "Your sessions", "a user who is no operator sees their own sessions");
  await list.click("#sessions-rows button.end");
  await page.waitForSelector('#status[data-state="closed"]', { timeout: STEP_MS });
  const status = await page.textContent("#status");
  check(status.includes("ended from the session list"), `the session's page says it was ended from the list (${status})`);
  await list.waitForFunction(() => document.querySelectorAll("#sessions-rows tr").length === 0, null, { timeout: STEP_MS });
  check(true, "the list no longer shows it");

  check(errors.length === 0, `no page errors${errors.length ? ": " + errors.join("; ") : ""}`);
  return { targets, statuses, listed: rows.length };
}

// anonymous: with no credentials to give, the browser gets nothing but
// the probes. Headless Chromium has no login dialog: the refused
// navigation fails, and a fetch that may prompt waits for a dialog that
// never comes, so the fetches here do not ask for credentials.
async function anonymous(page, base) {
  let navError = "";
  try {
    const resp = await page.goto(base);
    navError = `HTTP ${resp && resp.status()}`;
  } catch (e) {
    navError = e.message.split("\n")[0];
  }
  check(!/HTTP 200/.test(navError), `the page is not served without credentials (${navError})`);
  const page2 = await page.context().newPage();
  const probe = await page2.goto(`${base}healthz`);
  check(probe.status() === 200, "/healthz is served without credentials");
  const got = await page2.evaluate(async () => {
    const within = (p) => Promise.race([p, new Promise((r) => setTimeout(() => r("timeout"), 5000))]);
    const status = (path) => within(fetch(path, { credentials: "omit" }).then((r) => r.status, (e) => `error ${e.message}`));
    const ws = await within(new Promise((resolve) => {
      const s = new WebSocket(`ws://${location.host}/ws?target=public`);
      s.onopen = () => { s.close(); resolve("open"); };
      s.onclose = (ev) => resolve(`closed ${ev.code}`);
    }));
    return { page: await status("/"), targets: await status("/api/targets"), ws };
  });
  check(got.page === 401 && got.targets === 401, `fetches get 401 (page ${got.page}, targets ${got.targets})`);
  check(got.ws !== "open", `the WebSocket does not open (${got.ws})`);
  return got;
}

// recordings: an operator's session on a recorded target ends; the
// Recordings link lists it; Play plays it back (the host's lines
// appear in order); seeking to the start clears the screen, and the
// marker of the session's end brings everything back; Download saves
// the file.
async function recordings(page, base) {
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  const target = env("TELGATE_TARGET");
  await page.goto(`${base}?target=${encodeURIComponent(target)}`);
  await page.waitForSelector('#status[data-state="connected"]', { timeout: STEP_MS });
  await page.waitForFunction(() => window.telgate.term.buffer.active.getLine(0).translateToString(true).includes("first line"),
    null, { timeout: STEP_MS, polling: 50 });
  await page.click("#terminal");
  await page.keyboard.type("x");
  await page.waitForSelector('#status[data-state="closed"]', { timeout: STEP_MS });
  check(true, "the recorded session ran and ended");
  await page.waitForSelector("#recordings-link", { state: "visible", timeout: STEP_MS });
  check(true, "an operator is offered the recordings");

  const list = await page.context().newPage();
  list.on("pageerror", (e) => errors.push(e.message));
  // The session's recording is written out as it ends: the list is
  // loaded until it shows it finished.
  let rows = [];
  for (let i = 0; i < 50; i++) {
    await list.goto(`${base}?view=recordings`);
    await list.waitForSelector("#recordings-message:not(:empty)", { timeout: STEP_MS });
    rows = await list.$$eval("#recordings-rows tr", (trs) => trs.map((tr) => Array.from(tr.cells).map((c) => c.textContent)));
    if (rows.length === 1 && !rows[0][4].includes("recording")) {
      break;
    }
    await list.waitForTimeout(100);
  }
  const user = env("TELGATE_USER");
  check(rows.length === 1 && rows[0][0] === target && rows[0][1] === user && /^0:0\d$/.test(rows[0][4]),
    `the list shows the session's recording (${JSON.stringify(rows)})`);
  const download = await list.getAttribute("#recordings-rows a.download", "href");
  const saved = await list.request.get(new URL(download, list.url()).href);
  check(saved.status() === 200 && /^attachment; filename="[^"]+\.cast"$/.test(saved.headers()["content-disposition"]) &&
    (await saved.text()).startsWith('{"version":2'), `Download saves the recording (${download})`);

  await list.click("#recordings-rows a.play");
  await list.waitForSelector("#player", { state: "visible", timeout: STEP_MS });
  // The screen once the terminal has parsed what was written to it.
  const screen = () => list.evaluate(async () => {
    await new Promise((resolve) => window.telgatePlayer.term.write("", resolve));
    const b = window.telgatePlayer.term.buffer.active;
    const out = [];
    for (let i = 0; i < b.length; i++) {
      out.push(b.getLine(i).translateToString(true));
    }
    return out.join("\n").trim();
  });
  await list.waitForFunction(() => !window.telgatePlayer.playing && window.telgatePlayer.duration > 0,
    null, { timeout: STEP_MS, polling: 50 });
  const played = await screen();
  check(/first line[\s\S]*second line/.test(played), `Play played the host's lines in order (${JSON.stringify(played)})`);
  check(await list.textContent("#target-name") === target, "the top bar names the recording's target");
  const markers = await list.evaluate(() => window.telgatePlayer.markers.map((m) => m.text));
  check(markers.some((m) => m.startsWith("session ended: ")), `the markers hold the session's end (${JSON.stringify(markers)})`);

  await list.evaluate(() => {
    const seek = document.getElementById("play-seek");
    seek.value = "0";
    seek.dispatchEvent(new Event("input"));
  });
  // The slider seeks at the next frame.
  await list.waitForFunction(() => window.telgatePlayer.position === 0, null, { timeout: STEP_MS, polling: 50 });
  const atStart = await screen();
  check(!atStart.includes("second line"), `seeking to the start cleared what came later (${JSON.stringify(atStart)})`);
  const end = await list.$eval("#play-markers", (sel) => Array.from(sel.options).find((o) => o.text.includes("session ended")).value);
  await list.selectOption("#play-markers", end);
  check(/first line[\s\S]*second line/.test(await screen()), "the marker of the session's end brought the lines back");
  await list.screenshot({ path: `${env("TELGATE_SCREENSHOTS")}/recording.png` });

  await list.evaluate(() => {
    const seek = document.getElementById("play-seek");
    seek.value = "0";
    seek.dispatchEvent(new Event("input"));
  });
  await list.waitForFunction(() => window.telgatePlayer.position === 0, null, { timeout: STEP_MS, polling: 50 });
  const [text] = await Promise.all([list.waitForEvent("download"), list.click("#play-text")]);
  const textFile = fs.readFileSync(await text.path(), "utf8");
  check(/^lab-.*\.txt$/.test(text.suggestedFilename()) && textFile === "first line\nsecond line\n",
    `Text saves the whole recording's text, from the start too (${text.suggestedFilename()}: ${JSON.stringify(textFile)})`);

  check(errors.length === 0, `no page errors${errors.length ? ": " + errors.join("; ") : ""}`);
  return { listed: rows.length, markers };
}

// nocertificate: a browser with no client certificate, at a gateway that
// needs one, gets a page that says so.
async function nocertificate(page, base) {
  const resp = await page.goto(base);
  const text = await page.textContent("body");
  check(resp.status() === 403 && text.includes("client certificate"),
    `the page is refused with a reason (HTTP ${resp.status()}: ${text.trim()})`);
  return { page: resp.status(), text: text.trim() };
}

function contextOptions(name) {
  switch (name) {
    case "anonymous":
      return {};
    case "certificate": // login, with a certificate instead of a password
      return {
        ignoreHTTPSErrors: true,
        clientCertificates: [{
          origin: new URL(env("TELGATE_URL")).origin,
          certPath: env("TELGATE_CLIENT_CERT"),
          keyPath: env("TELGATE_CLIENT_KEY"),
        }],
      };
    case "nocertificate":
      return { ignoreHTTPSErrors: true };
  }
  // Answered only when the server challenges, like the login dialog.
  return { httpCredentials: { username: env("TELGATE_USER"), password: env("TELGATE_PASSWORD") } };
}

runScenario({ login, certificate: login, nocertificate, anonymous, recordings }, { boundMs: 90000, contextOptions });
