// Browser end-to-end scenarios for telgate, run by browser_test.go:
//
//   node e2e/browser.mjs demo|telnetd|refused|adhoc|keepalive|prefixed|resume|mac|share|keys|clipboard|idle|marked|paste|xmodem
//
// Drives Debian's chromium through playwright-core (never a downloaded
// browser) against a running telgate and checks the page's test contract:
// #terminal, #status[data-state], #reconnect, #save, #option-meta,
// #share, #share-panel, #share-link, #share-hide, #share-stop, #viewers,
// #find, #find-bar, #find-input, #find-status, #keys, #keybar,
// #key-break, #clip-panel, #clip-preview, #clip-copy, #clip-always,
// #banner, #topbar.marked, #paste-panel, #paste-text, #paste-preview,
// #paste-go, #paste-cancel, #paste-forget, button[data-command] and
// window.telgate = { term, socket, state, target }.
//
// Environment:
//   TELGATE_URL            the telgate page, http://127.0.0.1:PORT/
//   TELGATE_USER_DATA_DIR  an empty directory for the browser profile
//   TELGATE_SCREENSHOTS    where to save one PNG per scenario step
//   TELGATE_WORKDIR        telnetd, keys: the shell's working directory
//   TELGATE_HOST_PGID      telnetd: process group of the telnet host, killed
//                          at the end to check the page shows the closed state
//   TELGATE_ADHOC_HOST     adhoc: a host:port an ad-hoc rule allows
//   TELGATE_PID            keepalive: telgate's process, stopped (SIGSTOP)
//                          to play a link that dies without a word
//   TELGATE_PROXY_URL      prefixed: the page of another telgate, behind a
//                          reverse proxy that strips its own path prefix
//   TELGATE_SEVER_URL      resume: fetching it resets every connection
//                          between the browser and telgate and holds new
//                          ones
//   TELGATE_STALL_URL      resume: fetching it makes the network drop what
//                          the browser sends, without a word, until released
//   TELGATE_RELEASE_URL    resume: fetching it lets new connections through
//   CHROMIUM               the browser (default /usr/bin/chromium)
//
// Prints "ok - ..." per check and a last line "RESULT {json}" with what the
// Go test checks on its side; exits non-zero on the first failure.

import fs from "node:fs";
import path from "node:path";

import { STEP_MS, check, env, ok, runScenario } from "./scenario.mjs";

const COMMANDS = {
  "break": "BREAK",
  "interrupt": "INTERRUPT PROCESS",
  "abort-output": "ABORT OUTPUT",
  "are-you-there": "ARE YOU THERE",
  "erase-char": "ERASE CHARACTER",
  "erase-line": "ERASE LINE",
  "go-ahead": "GO AHEAD",
  "nop": "NO OPERATION",
};

const PROMPT = "tg$";

// ---- page helpers ---------------------------------------------------------

// watchPage records every request and WebSocket the page makes and every
// error it reports.
function watchPage(page) {
  const seen = { urls: [], errors: [] };
  page.on("request", (r) => seen.urls.push(r.url()));
  page.on("websocket", (ws) => seen.urls.push(ws.url()));
  page.on("requestfailed", (r) => {
    // A page's own navigation away is not a failure of the page.
    const why = r.failure() ? r.failure().errorText : "";
    if (why !== "net::ERR_ABORTED") {
      seen.errors.push(`request failed: ${r.url()}: ${why}`);
    }
  });
  page.on("pageerror", (e) => seen.errors.push(`page error: ${e.message}`));
  page.on("console", (m) => {
    if (m.type() === "error") {
      seen.errors.push(`console error: ${m.text()}`);
    }
  });
  return seen;
}

// checkOrigins asserts that every request went to the telgate origin
// (http) or its WebSocket twin (ws), and that the page reported no error.
function checkOrigins(seen, base) {
  const origin = new URL(base);
  const foreign = seen.urls.filter((u) => {
    const url = new URL(u);
    return url.host !== origin.host || (url.protocol !== "http:" && url.protocol !== "ws:");
  });
  check(seen.urls.length > 0 && foreign.length === 0,
    `all ${seen.urls.length} requests went to ${origin.host}` +
    (foreign.length ? `; foreign: ${foreign.join(", ")}` : ""));
  const ws = new URL("ws?", base);
  ws.protocol = "ws:";
  check(seen.urls.some((u) => u.startsWith(ws.href)),
    `the page opened its WebSocket on the same host, beside the page (${ws.href})`);
  check(seen.errors.length === 0, `no page errors${seen.errors.length ? ": " + seen.errors.join("; ") : ""}`);
}

// screenText returns the terminal's buffer, wrapped lines joined.
function screenText(page) {
  return page.evaluate(() => {
    const b = window.telgate.term.buffer.active;
    const out = [];
    for (let i = 0; i < b.length; i++) {
      const line = b.getLine(i);
      const text = line.translateToString(true);
      if (line.isWrapped && out.length > 0) {
        out[out.length - 1] += text;
      } else {
        out.push(text);
      }
    }
    return out.join("\n");
  });
}

// waitText waits until the terminal's text matches the regular
// expression source re (flags m), and returns the match.
// escapeRegExp quotes s for a regular expression.
function escapeRegExp(s) {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

async function waitText(page, re, what, timeout = STEP_MS) {
  try {
    const handle = await page.waitForFunction((src) => {
      const b = window.telgate.term && window.telgate.term.buffer.active;
      if (!b) {
        return null;
      }
      const out = [];
      for (let i = 0; i < b.length; i++) {
        const line = b.getLine(i);
        const text = line.translateToString(true);
        if (line.isWrapped && out.length > 0) {
          out[out.length - 1] += text;
        } else {
          out.push(text);
        }
      }
      const m = new RegExp(src, "m").exec(out.join("\n"));
      return m ? Array.from(m) : null;
    }, re instanceof RegExp ? re.source : re, { timeout, polling: 50 });
    const m = await handle.jsonValue();
    ok(what);
    return m;
  } catch (e) {
    const text = await screenText(page).catch(() => "(unreadable)");
    throw new Error(`waiting for ${what} (/${re instanceof RegExp ? re.source : re}/m): ${e.message}\n` +
      `---- terminal ----\n${text.trimEnd()}\n------------------`);
  }
}

// cursorLine returns the text of the line the cursor is on.
function cursorLine(page) {
  return page.evaluate(() => {
    const b = window.telgate.term.buffer.active;
    return b.getLine(b.baseY + b.cursorY).translateToString(true);
  });
}

async function waitPrompt(page, what, prompt = PROMPT) {
  try {
    await page.waitForFunction((p) => {
      const b = window.telgate.term.buffer.active;
      return b.getLine(b.baseY + b.cursorY).translateToString(true).trimEnd() === p;
    }, prompt, { timeout: STEP_MS, polling: 50 });
    ok(what);
  } catch (e) {
    throw new Error(`waiting for the prompt (${what}): ${e.message}\n` +
      `---- terminal ----\n${(await screenText(page)).trimEnd()}\n------------------`);
  }
}

function termSize(page) {
  return page.evaluate(() => ({ cols: window.telgate.term.cols, rows: window.telgate.term.rows }));
}

// resizeViewport changes the window and waits until the terminal has
// been fitted to it; it returns the new terminal size.
async function resizeViewport(page, width, height) {
  const before = await termSize(page);
  await page.setViewportSize({ width, height });
  await page.waitForFunction((b) => {
    const t = window.telgate.term;
    return t.cols !== b.cols || t.rows !== b.rows;
  }, before, { timeout: STEP_MS, polling: 50 });
  // Let a pending debounced fit run, then read the settled size.
  await page.waitForTimeout(300);
  const after = await termSize(page);
  ok(`viewport ${width}x${height}: terminal ${before.cols}x${before.rows} -> ${after.cols}x${after.rows}`);
  return after;
}

async function waitState(page, state) {
  await page.waitForSelector(`#status[data-state="${state}"]`, { timeout: STEP_MS });
  const js = await page.evaluate(() => window.telgate.state);
  check(js === state, `#status[data-state=${state}] and window.telgate.state is ${js}`);
}

// checkToolbar checks the 8 command buttons exist and are enabled exactly
// when connected, and #reconnect is visible exactly when closed.
async function checkControls(page, state) {
  const buttons = await page.$$eval("#toolbar button[data-command]", (bs) =>
    bs.map((b) => ({ name: b.dataset.command, disabled: b.disabled })));
  const names = buttons.map((b) => b.name).sort();
  check(JSON.stringify(names) === JSON.stringify(Object.keys(COMMANDS).sort()),
    `toolbar has the 8 command buttons (${names.join(", ")})`);
  const wantDisabled = state !== "connected";
  check(buttons.every((b) => b.disabled === wantDisabled),
    `command buttons ${wantDisabled ? "disabled" : "enabled"} while ${state}`);
  const reconnect = await page.isVisible("#reconnect");
  check(reconnect === (state === "closed"), `#reconnect ${reconnect ? "visible" : "hidden"} while ${state}`);
}

async function typeLine(page, text) {
  await page.keyboard.type(text);
  await page.keyboard.press("Enter");
}

async function screenshot(page, name) {
  const dir = env("TELGATE_SCREENSHOTS");
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, name);
  await page.screenshot({ path: file });
  ok(`screenshot ${file}`);
}

// sessionURL returns the query of the page's WebSocket (cols, rows, term).
function wsQuery(seen) {
  const u = seen.urls.filter((x) => x.startsWith("ws:")).pop();
  return new URL(u).searchParams;
}

// ---- processes --------------------------------------------------------------

function processesMatching(s) {
  const pids = [];
  for (const name of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) {
      continue;
    }
    let cmdline;
    try {
      cmdline = fs.readFileSync(`/proc/${name}/cmdline`, "latin1");
    } catch {
      continue;
    }
    if (cmdline.split("\0").join(" ").trim().includes(s)) {
      pids.push(Number(name));
    }
  }
  return pids;
}

async function poll(what, cond, timeout = STEP_MS) {
  const deadline = Date.now() + timeout;
  while (!cond()) {
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  ok(what);
}

// ---- scenarios --------------------------------------------------------------

// demo: telgate with no target serves its built-in demo host.
async function demo(page, base) {
  const seen = watchPage(page);
  await page.goto(base, { timeout: STEP_MS });
  await waitState(page, "connected");
  await checkControls(page, "connected");
  check(await page.evaluate(() => window.telgate.target) === "demo", "window.telgate.target is demo");
  check(!(await page.isVisible("#option-meta")), "no Option-as-Meta button off a Mac");

  // The banner shows the size and type the browser sent.
  const q = wsQuery(seen);
  const size = await termSize(page);
  check(q.get("cols") === String(size.cols) && q.get("rows") === String(size.rows) &&
    q.get("term") === "xterm-256color",
    `the WebSocket URL carries the terminal's size ${size.cols}x${size.rows} and type (${q})`);
  await waitText(page, `^  window size: ${size.cols} columns x ${size.rows} rows \\(NAWS\\)$`,
    `the demo host reports window size ${size.cols}x${size.rows}`);
  await waitText(page, "^  terminal type: xterm-256color \\(TTYPE\\)$", "the demo host reports terminal type xterm-256color");
  await waitPrompt(page, "demo prompt", "demo>");

  // Typing with the keyboard.
  await page.click("#terminal");
  await typeLine(page, "echo hello-browser");
  await waitText(page, "^demo> echo hello-browser\\nhello-browser\\ndemo> $", "typed echo hello-browser ran");

  // Save writes the terminal's text, scrollback included, to a file; a
  // line longer than the terminal is wide comes out whole.
  const long = "w ".repeat(50) + "W".repeat(150);
  await typeLine(page, `echo ${long}`);
  await waitPrompt(page, "demo prompt after a long line", "demo>");
  const [download] = await Promise.all([page.waitForEvent("download"), page.click("#save")]);
  const saved = fs.readFileSync(await download.path(), "utf8");
  check(/^telgate-demo-\d{8}-\d{6}\.txt$/.test(download.suggestedFilename()),
    `Save names the file after the target and the time (${download.suggestedFilename()})`);
  check(saved.startsWith("Welcome to the telgate demo host.\n") &&
    saved.endsWith(`demo> echo hello-browser\nhello-browser\ndemo> echo ${long}\n${long}\ndemo>\n`),
  `the saved text is the terminal's, from its first line to the prompt, the long line whole (${JSON.stringify(saved.slice(-80))})`);

  // The DOM renderer draws, with Unicode 11's widths. On a page asking
  // for WebGL, the WebGL renderer draws where the browser has WebGL 2;
  // when its context is lost, the DOM renderer takes over and shows the
  // same screen.
  check(await page.evaluate(() => window.telgate.renderer) === "dom", "the DOM renderer draws");
  check(await page.evaluate(() => window.telgate.term.unicode.activeVersion) === "11", "Unicode 11's character widths");
  await typeLine(page, "echo \u{1F600}x");
  await waitText(page, "^\u{1F600}x$", "an emoji echoed");
  const cells = await page.evaluate(() => {
    const b = window.telgate.term.buffer.active;
    for (let i = b.length - 1; i >= 0; i--) {
      const line = b.getLine(i);
      if (line.translateToString(true) === "\u{1F600}x") {
        return [line.getCell(0).getWidth(), line.getCell(2).getChars()];
      }
    }
    return null;
  });
  check(cells && cells[0] === 2 && cells[1] === "x", `the emoji takes two columns, as the host's wcwidth says (${JSON.stringify(cells)})`);

  const gl = await page.context().newPage();
  await gl.goto(`${base}?renderer=webgl`, { timeout: STEP_MS });
  await waitState(gl, "connected");
  await waitPrompt(gl, "demo prompt on the WebGL page", "demo>");
  if (await gl.evaluate(() => !!document.createElement("canvas").getContext("webgl2"))) {
    await gl.waitForFunction(() => window.telgate.renderer === "webgl", null, { timeout: STEP_MS });
    check(await gl.evaluate(() => (document.querySelector("#terminal .xterm-rows")?.textContent || "").trim() === ""),
      "?renderer=webgl: the WebGL renderer draws (no DOM rows)");
    await screenshot(gl, "demo-webgl-renderer.png");
    await gl.evaluate(() => {
      for (const c of document.querySelectorAll("#terminal canvas")) {
        c.getContext("webgl2")?.getExtension("WEBGL_lose_context").loseContext();
      }
    });
    await gl.waitForFunction(() => window.telgate.renderer === "dom" &&
      (document.querySelector("#terminal .xterm-rows")?.textContent || "").includes("demo>"), null, { timeout: STEP_MS });
    check(true, "the WebGL context lost, the DOM renderer shows the screen");
    // Its cells are measured otherwise: the terminal is fitted again.
    await gl.waitForFunction(() => document.querySelector("#terminal .xterm-screen").getBoundingClientRect().right <=
      document.getElementById("terminal").getBoundingClientRect().right + 1, null, { timeout: STEP_MS });
    check(true, "the DOM renderer's columns fit the window");
  } else {
    await gl.waitForTimeout(1000);
    check(await gl.evaluate(() => window.telgate.renderer) === "dom", "no WebGL 2 here: the DOM renderer draws");
  }
  await gl.close();

  // Find reaches the scrollback, which the browser's own find cannot:
  // Ctrl+Shift+F opens it, typing finds the newest match and scrolls to
  // it, a text nowhere says so, Escape closes it and returns to the
  // terminal; Ctrl+F stays the host's.
  await typeLine(page, "echo needle-in-scrollback");
  await typeLine(page, "seq 200");
  await waitText(page, "^200$", "seq 200 pushed the needle off the screen");
  await page.keyboard.press("Control+Shift+F");
  await page.waitForSelector("#find-bar", { state: "visible", timeout: STEP_MS });
  check(await page.evaluate(() => document.activeElement.id) === "find-input", "Ctrl+Shift+F opens Find, its input focused");
  await page.keyboard.type("needle-in");
  await page.waitForFunction(() => window.telgate.term.getSelection() === "needle-in", null, { timeout: STEP_MS, polling: 50 });
  const view = await page.evaluate(() => {
    const b = window.telgate.term.buffer.active;
    return { viewportY: b.viewportY, baseY: b.baseY };
  });
  check(view.viewportY < view.baseY, `the match is selected and scrolled to (viewport at line ${view.viewportY} of ${view.baseY})`);
  await screenshot(page, "find.png");
  await page.fill("#find-input", "no-such-text-anywhere");
  await page.press("#find-input", "Enter");
  check(await page.textContent("#find-status") === "no match", "a text found nowhere says no match");
  await page.press("#find-input", "Escape");
  check(!(await page.isVisible("#find-bar")) && await page.evaluate(() => window.telgate.term.getSelection()) === "",
    "Escape closes Find and clears the selection");
  await typeLine(page, "echo back-in-the-terminal");
  await waitText(page, "^back-in-the-terminal$", "typing goes to the terminal again");

  // A link in the output opens with Ctrl held, not on a plain click. The
  // plain click goes to one link and the Ctrl+click to another: popups
  // open in the order their clicks asked, so when the second link's
  // arrives, one the plain click asked for would have come before it.
  const plainLink = new URL("/healthz?plain", base).href;
  const ctrlLink = new URL("/healthz?ctrl", base).href;
  await typeLine(page, `echo ${plainLink}`);
  await typeLine(page, `echo ${ctrlLink}`);
  await waitText(page, `^${escapeRegExp(ctrlLink)}$`, "the host printed the links");
  const cellOf = (url) => page.evaluate((url) => {
    const t = window.telgate.term;
    const b = t.buffer.active;
    const screen = t.element.querySelector(".xterm-screen").getBoundingClientRect();
    for (let y = b.baseY + t.rows - 1; y >= b.baseY; y--) {
      if (b.getLine(y).translateToString(true) === url) {
        return { x: screen.left + 2.5 * screen.width / t.cols, y: screen.top + (y - b.baseY + 0.5) * screen.height / t.rows };
      }
    }
    return null;
  }, url);
  const clickLink = async (url, modifier) => {
    const at = await cellOf(url);
    check(at !== null, `${url} is on the screen`);
    await page.mouse.move(at.x, at.y);
    await page.waitForFunction(() => document.querySelector(".xterm-cursor-pointer") !== null, null, { timeout: STEP_MS });
    if (modifier) await page.keyboard.down(modifier);
    await page.mouse.click(at.x, at.y);
    if (modifier) await page.keyboard.up(modifier);
    await page.mouse.move(0, 0);
  };
  let popups = 0;
  page.context().on("page", () => popups++);
  const opened = page.context().waitForEvent("page", { timeout: STEP_MS });
  await clickLink(plainLink, null);
  await clickLink(ctrlLink, "Control");
  const popup = await opened;
  await popup.waitForLoadState();
  check(popup.url() === ctrlLink && popups === 1,
    `the first page opened is ${popup.url()}, want the Ctrl+clicked ${ctrlLink} (${popups} opened)`);
  await popup.close();

  // Leaving a page with an open session (Ctrl+W closes the tab) asks
  // first; staying keeps the session.
  const leaving = new Promise((resolve) => page.once("dialog", async (d) => {
    resolve(d.type());
    await d.dismiss();
  }));
  await page.close({ runBeforeUnload: true });
  const asked = await Promise.race([leaving, new Promise((resolve) => setTimeout(() => resolve("no dialog"), 5000))]);
  check(asked === "beforeunload", `closing the page with a session open asks first (${asked})`);
  await typeLine(page, "echo still-here");
  await waitText(page, "^still-here$", "after staying on the page the session goes on");

  // Resizing the window.
  const resized = await resizeViewport(page, 820, 460);
  check(resized.cols !== size.cols && resized.rows !== size.rows, "both dimensions changed");
  await waitText(page, `^\\[window resized to ${resized.cols}x${resized.rows}\\]$`,
    `the demo host reports the new size ${resized.cols}x${resized.rows}`);
  check(JSON.stringify(await termSize(page)) === JSON.stringify(resized), "no later resize");

  // Every toolbar button sends its telnet command.
  for (const [name, word] of Object.entries(COMMANDS)) {
    await page.click(`button[data-command="${name}"]`);
    await waitText(page, `^\\[received IAC ${word}\\]$`, `${name} button: the host received IAC ${word}`);
  }
  await waitPrompt(page, "prompt after the commands", "demo>");
  await screenshot(page, "demo.png");

  // A title the host sets names the tab, until the next session.
  await typeLine(page, "title host-set-title");
  await page.waitForFunction(() => document.title === "host-set-title \u2014 telgate", null, { timeout: STEP_MS });
  ok("the tab takes the host's title");

  // The host closes: closed state, Reconnect shown; Reconnect reconnects.
  await typeLine(page, "exit");
  await waitState(page, "closed");
  const status = await page.textContent("#status");
  check(status === "Closed: Connection closed by foreign host", `status text "${status}"`);
  await checkControls(page, "closed");
  await waitText(page, "^\\[Connection closed: Connection closed by foreign host\\]\\nPress Enter to reconnect\\.$",
    "the terminal shows the close, and that Enter reconnects");
  check(!await page.evaluate(() => !window.dispatchEvent(new Event("beforeunload", { cancelable: true }))),
    "with the session closed, leaving the page does not ask");
  await screenshot(page, "demo-closed.png");
  await page.click("#reconnect");
  // Typed at once, while connecting: kept and sent once the socket opens.
  await page.keyboard.type("echo typed-early\n");
  await waitState(page, "connected");
  await checkControls(page, "connected");
  check(await page.title() === "demo \u2014 telgate", `the tab's title after reconnecting: "${await page.title()}"`);
  await waitText(page, "^typed-early$", "what was typed while connecting reached the host");
  await waitText(page, "reconnecting to demo[^]*Welcome to the telgate demo host\\.[^]*" +
    `^  window size: ${resized.cols} columns x ${resized.rows} rows \\(NAWS\\)$`,
    `reconnected: a new banner with the current size ${resized.cols}x${resized.rows}`);
  await waitPrompt(page, "prompt after reconnecting", "demo>");
  await screenshot(page, "demo-reconnected.png");

  checkOrigins(seen, base);
  return { size, resized };
}

// telnetd: a real inetutils telnetd running /bin/sh.
async function telnetd(page, base) {
  const workdir = env("TELGATE_WORKDIR");
  const pgid = Number(env("TELGATE_HOST_PGID"));
  const seen = watchPage(page);
  await page.goto(base, { timeout: STEP_MS });
  await waitState(page, "connected");
  await checkControls(page, "connected");
  await waitPrompt(page, "shell prompt");
  await page.click("#terminal");

  // stty size and TERM, as the shell sees them.
  const size1 = await termSize(page);
  await typeLine(page, "stty size > size1.txt; echo $TERM >> size1.txt; echo DONE-$((40+2))");
  await waitText(page, "^DONE-42$", "the first command line ran");
  const file1 = fs.readFileSync(path.join(workdir, "size1.txt"), "utf8");
  check(file1 === `${size1.rows} ${size1.cols}\nxterm-256color\n`,
    `size1.txt ${JSON.stringify(file1)} matches the terminal ${size1.rows} rows x ${size1.cols} cols`);

  // The window is resized: stty size follows.
  const size2 = await resizeViewport(page, 760, 420);
  await typeLine(page, "stty size > size2.txt; echo DONE-$((50+5))");
  await waitText(page, "^DONE-55$", "the second command line ran");
  const file2 = fs.readFileSync(path.join(workdir, "size2.txt"), "utf8");
  check(file2 === `${size2.rows} ${size2.cols}\n`,
    `size2.txt ${JSON.stringify(file2)} matches the resized terminal ${size2.rows} rows x ${size2.cols} cols`);
  await typeLine(page, "stty size");
  await waitText(page, `^${size2.rows} ${size2.cols}$`, "stty size shows the new size on screen");
  await waitPrompt(page, "prompt after stty size");

  // The interrupt button stops a running command.
  const arg = `100.${String(process.pid).padStart(6, "0")}`;
  await typeLine(page, `sleep ${arg}`);
  await poll(`sleep ${arg} running`, () => processesMatching(`sleep ${arg}`).length > 0);
  const t0 = Date.now();
  await page.click('button[data-command="interrupt"]');
  await waitText(page, `^${PROMPT.replace("$", "\\$")} sleep ${arg.replace(".", "\\.")}\\n\\^C\\n${PROMPT.replace("$", "\\$")} $`,
    "the interrupt button stopped the sleep: ^C and a new prompt", 10000);
  check(Date.now() - t0 < 10000, `prompt back after ${Date.now() - t0} ms`);
  await poll(`sleep ${arg} gone`, () => processesMatching(`sleep ${arg}`).length === 0, 5000);
  await typeLine(page, "echo AFTER-$((5*5))");
  await waitText(page, "^AFTER-25$", "the shell runs commands after the interrupt");
  await waitPrompt(page, "prompt after the interrupt");
  await screenshot(page, "telnetd.png");

  // The host goes away: the page shows the closed state.
  process.kill(-pgid, "SIGKILL");
  ok(`killed the telnet host (process group ${pgid})`);
  await waitState(page, "closed");
  const status = await page.textContent("#status");
  check(/^Closed: \S/.test(status), `status text "${status}"`);
  await checkControls(page, "closed");
  await waitText(page, "^\\[Connection closed: [^\\]]+\\]$", "the terminal shows the close");
  await screenshot(page, "telnetd-closed.png");

  checkOrigins(seen, base);
  return { size1, size2, status };
}

// refused: a gateway with room for one session, and for two connection
// attempts per client before its rate limit, tells a second page why it
// turned it away, although the browser hides the refused handshake: the
// gateway is full, and once it is not, the page is over the rate.
async function refused(page, base) {
  await page.goto(base, { timeout: STEP_MS });
  await waitState(page, "connected");

  const second = await page.context().newPage();
  second.setDefaultTimeout(STEP_MS);
  await second.goto(base, { timeout: STEP_MS });
  await waitState(second, "closed");
  const full = await second.textContent("#status");
  check(full === "Closed: too many sessions: the gateway is full", `second page: status "${full}"`);
  await waitText(second, "^\\[Connection closed: too many sessions: the gateway is full\\]$",
    "the second page's terminal shows why");
  await checkControls(second, "closed");
  await screenshot(second, "refused-full.png");

  // The first page leaves; once its slot is free the second tries again,
  // now over the rate.
  await page.close();
  await second.waitForFunction(async () => (await fetch("/readyz", { cache: "no-store" })).status === 200,
    null, { timeout: STEP_MS, polling: 100 });
  await second.click("#reconnect");
  await second.waitForFunction(() => /slow down/.test(document.getElementById("status").textContent),
    null, { timeout: STEP_MS });
  await waitState(second, "closed");
  const limited = await second.textContent("#status");
  check(/^Closed: too many new sessions: slow down \(try again in [1-9][0-9]* s\)$/.test(limited),
    `after Reconnect: status "${limited}"`);
  await screenshot(second, "refused-rate.png");
  return { full, limited };
}

// adhoc: where an ad-hoc rule is open to the user, the picker offers a
// host field beside the targets; a host typed there opens a session, and
// one the rules refuse says why.
async function adhoc(page, base) {
  const host = env("TELGATE_ADHOC_HOST");
  const seen = watchPage(page);
  await page.goto(base, { timeout: STEP_MS });
  await page.waitForSelector("#adhoc-form:not([hidden])");
  const targets = await page.$$eval("#target-list a.target .name", (els) => els.map((e) => e.textContent));
  check(targets.length === 1, `the picker lists the target too (${targets.join(", ")})`);
  await screenshot(page, "adhoc-picker.png");
  // A renderer asked for is kept by the picker's links.
  await page.goto(`${base}?renderer=webgl`, { timeout: STEP_MS });
  await page.waitForSelector("#adhoc-form:not([hidden])");
  const href = await page.getAttribute("#target-list a.target", "href");
  check(/^\?target=[^&]+&renderer=webgl$/.test(href), `the picker's links keep ?renderer=webgl (${href})`);
  await page.goto(base, { timeout: STEP_MS });
  await page.waitForSelector("#adhoc-form:not([hidden])");

  await page.fill("#adhoc-host", host);
  await page.press("#adhoc-host", "Enter");
  await waitState(page, "connected");
  const shown = await page.textContent("#target-name");
  check(shown === host, `the top bar names the host (${shown})`);
  check(wsQuery(seen).get("host") === host, "the WebSocket URL carries host=");
  check(new URL(page.url()).searchParams.get("host") === host, "the page's own URL opens the same host");
  checkOrigins(seen, base);

  // A refused handshake is a console error in the browser: checked no
  // further for page errors from here.
  const refusedHost = `${host.slice(0, host.lastIndexOf(":"))}:1`;
  await page.goto(`${base}?host=${encodeURIComponent(refusedHost)}`, { timeout: STEP_MS });
  await waitState(page, "closed");
  const status = await page.textContent("#status");
  check(status === "Closed: port 1 is not allowed", `a host on another port: status "${status}"`);
  await screenshot(page, "adhoc-refused.png");

  // Reconnect asks for the same host again, and is told the same.
  const before = seen.urls.length;
  await page.click("#reconnect");
  await poll("Reconnect's /api/check", () =>
    seen.urls.slice(before).some((u) => u.includes("/api/check?")));
  await waitState(page, "closed");
  const again = seen.urls.slice(before).filter((u) => u.includes("/ws?") || u.includes("/api/check?"));
  check(again.length === 2 && again.every((u) => {
    const q = new URL(u).searchParams;
    return q.get("host") === refusedHost && !q.has("target");
  }), `Reconnect's /ws and /api/check carry host=${refusedHost} and no target (${again.join(", ")})`);
  check(await page.textContent("#status") === status, "Reconnect shows the same reason");
  return { shown, status };
}

// keepalive: the page pings the gateway while connected and, when the
// gateway answers no more (its process is stopped, so its TCP connection
// stays open and silent, as over a link that died), tries to resume the
// session for the grace the gateway gave, then shows the connection lost
// and offers Reconnect. The page's clock is faked so that the minute
// this takes passes at once; the sockets are real.
async function keepalive(page, base) {
  const pid = Number(env("TELGATE_PID"));
  const frames = [];
  page.on("websocket", (ws) => {
    ws.on("framesent", (f) => typeof f.payload === "string" && frames.push("> " + f.payload));
    ws.on("framereceived", (f) => typeof f.payload === "string" && frames.push("< " + f.payload));
  });
  await page.clock.install();
  await page.goto(base, { timeout: STEP_MS });
  await waitState(page, "connected");
  await page.clock.runFor(16000);
  await poll("a ping answered with a pong", () =>
    frames.includes('> {"type":"ping"}') && frames.includes('< {"type":"pong"}'));
  process.kill(pid, "SIGSTOP");
  try {
    // The next ping goes out; the network takes it (in real time, which
    // the fake clock does not give it while its timers run: a ping still
    // in the browser's buffer makes the page wait on as for a paste),
    // and no answer comes.
    await page.clock.runFor(20000);
    await page.waitForFunction(() => window.telgate.socket && window.telgate.socket.bufferedAmount === 0,
      null, { timeout: STEP_MS, polling: 50 });
    await page.clock.runFor(30000);
    // The session may be resumed for the grace the gateway gave (60 s):
    // the page tries, and gives up when it is over.
    await waitState(page, "resuming");
    const trying = await page.textContent("#status");
    check(trying === "Reconnecting\u2026", `status text "${trying}" while resuming`);
    await page.clock.runFor(65000);
    await waitState(page, "closed");
  } finally {
    process.kill(pid, "SIGCONT");
  }
  const status = await page.textContent("#status");
  check(status === "Closed: connection lost (no answer from the gateway)", `status text "${status}"`);
  await checkControls(page, "closed");
  return { status };
}

// prefixed: the page served under a path prefix, by telgate itself
// (TELGATE_URL ends in its base_path) and by a reverse proxy that strips
// a prefix of its own (TELGATE_PROXY_URL), asks for every URL under that
// prefix, and its session works.
async function prefixed(page, base) {
  const result = {};
  for (const [name, url] of [["base", base], ["proxied", env("TELGATE_PROXY_URL")]]) {
    const seen = watchPage(page);
    await page.goto(url, { timeout: STEP_MS });
    await waitState(page, "connected");
    await waitPrompt(page, `${name}: demo prompt`, "demo>");
    await page.click("#terminal");
    await typeLine(page, `echo under-${name}`);
    await waitText(page, `^under-${name}$`, `${name}: typed echo under-${name} ran`);
    const prefix = new URL(url).pathname;
    const outside = seen.urls.filter((u) => !new URL(u).pathname.startsWith(prefix));
    check(outside.length === 0, `${name}: all ${seen.urls.length} requests were under ${prefix}` +
      (outside.length ? `; outside: ${outside.join(", ")}` : ""));
    checkOrigins(seen, url);
    result[name] = seen.urls.length;
    page.removeAllListeners();
  }
  return result;
}

// resume: a connection that drops (reset between the browser and the
// gateway, as a network that fails does) is resumed: the page says it is
// reconnecting, then goes on in the same session, the screen as it was,
// and what is typed next reaches the host.
async function resume(page, base) {
  const seen = watchPage(page);
  const states = [];
  await page.exposeFunction("noteState", (s) => states.push(s));
  await page.goto(base, { timeout: STEP_MS });
  await waitState(page, "connected");
  await page.evaluate(() => {
    new MutationObserver(() => window.noteState(document.getElementById("status").dataset.state))
      .observe(document.getElementById("status"), { attributes: true });
  });
  await waitPrompt(page, "demo prompt", "demo>");
  await page.click("#terminal");
  await typeLine(page, "echo before-drop");
  await waitText(page, "^before-drop$", "typed echo before-drop ran");

  const resp = await fetch(env("TELGATE_SEVER_URL"));
  check(resp.ok, `connections reset (${await resp.text()})`);
  // Typed while the page reconnects (the network is not back: its
  // attempts wait): kept, and sent once resumed.
  await waitState(page, "resuming");
  check((await page.title()).startsWith("(reconnecting) "), `the tab's title says so (${await page.title()})`);
  await poll("a WebSocket that resumes the session", () => seen.urls.some((u) => u.includes("/ws?resume=")));
  await typeLine(page, "echo typed-while-away");
  const back = await fetch(env("TELGATE_RELEASE_URL"));
  check(back.ok, "the network is back");
  await waitState(page, "connected");
  check(!(await page.title()).startsWith("("), `and no longer once resumed (${await page.title()})`);
  await waitText(page, "^typed-while-away$", "what was typed while reconnecting ran");
  check(states.includes("resuming"), `the page said it was reconnecting (states ${states.join(", ")})`);
  const text = await screenText(page);
  check(text.includes("before-drop") && !text.includes("Connection closed") && !text.includes("reconnecting to"),
    "the screen is as it was: same session, no close");
  await typeLine(page, "echo after-resume");
  await waitText(page, "^after-resume$", "typed after the resume, echo after-resume ran");

  // A link that dies without a word: what is typed before the page
  // notices goes into it, and a Break; once resumed, the gateway says how
  // much input and how many commands it got and the page sends the rest
  // again, once.
  check((await fetch(env("TELGATE_STALL_URL"))).ok, "the network drops what the page sends, without a word");
  await typeLine(page, "echo typed-into-the-void");
  await page.click("#toolbar button[data-command=break]");
  check((await fetch(env("TELGATE_SEVER_URL"))).ok, "then the connection is reset (the page notices)");
  await waitState(page, "resuming");
  check((await fetch(env("TELGATE_RELEASE_URL"))).ok, "the network is back again");
  await waitState(page, "connected");
  await waitText(page, "^typed-into-the-void$", "what was typed into the dead connection ran after the resume");
  await typeLine(page, "echo marker-after-void");
  await waitText(page, "^marker-after-void$", "and what was typed next");
  const voids = ((await screenText(page)).match(/^typed-into-the-void$/mg) || []).length;
  check(voids === 1, `it ran once (${voids} times)`);
  const breaks = ((await screenText(page)).match(/^\[received IAC BREAK\]$/mg) || []).length;
  check(breaks === 1, `the Break sent into the dead connection reached the host once (${breaks} times)`);
  const q = new URL(seen.urls.find((u) => u.includes("/ws?resume="))).searchParams;
  check(Number(q.get("received")) > 0, `the resume said how much output the page had (received=${q.get("received")})`);
  await screenshot(page, "resumed.png");
  return { states, received: Number(q.get("received")) };
}

// mac: on a Mac (the page is told navigator.platform is MacIntel) the
// page offers Option as Meta, off at first; the choice is the terminal's
// and is remembered in the browser.
async function mac(page, base) {
  await page.addInitScript(() => {
    Object.defineProperty(Navigator.prototype, "platform", { get: () => "MacIntel" });
  });
  const optionIsMeta = () => page.evaluate(() => window.telgate.term.options.macOptionIsMeta);
  const pressed = () => page.getAttribute("#option-meta", "aria-pressed");
  await page.goto(base, { timeout: STEP_MS });
  await waitState(page, "connected");
  check(await page.isVisible("#option-meta"), "the Option-as-Meta button shows on a Mac");
  check(await optionIsMeta() === false && await pressed() === "false", "Option as Meta is off at first");
  await page.click("#option-meta");
  check(await optionIsMeta() === true && await pressed() === "true", "a click turns it on");
  await page.reload({ timeout: STEP_MS });
  await waitState(page, "connected");
  check(await optionIsMeta() === true && await pressed() === "true", "the choice is kept after a reload");
  await page.click("#option-meta");
  check(await optionIsMeta() === false && await pressed() === "false", "another click turns it off");
  await screenshot(page, "mac.png");
  return { kept: true };
}

// share: the session's user shares it; a second page opens the link and
// watches, read-only: it is shown the output from before it came, then
// the output as it comes, at the session's window size as it changes;
// what it types reaches nobody; the session's page says who watches;
// handed the keyboard, the viewer types into the session until it is
// taken back; and when sharing stops the viewer's page says so.
async function share(page, base) {
  await page.goto(base, { timeout: STEP_MS });
  await waitState(page, "connected");
  check(await page.isVisible("#share") && !(await page.isVisible("#viewers")), "Share shows; nobody watches");
  await waitPrompt(page, "demo prompt", "demo>");
  await page.click("#terminal");
  await typeLine(page, "echo before-sharing");
  await waitText(page, "^before-sharing$", "typed echo before-sharing ran");
  await page.click("#share");
  await page.waitForSelector("#share-panel", { state: "visible", timeout: STEP_MS });
  const link = await page.inputValue("#share-link");
  check(/\?watch=[A-Za-z0-9_-]{22}$/.test(link) && link.startsWith(new URL(base).origin + "/"),
    `the panel shows the link to watch (${link})`);
  check(await page.getAttribute("#share", "aria-pressed") === "true", "the Share button says the session is shared");
  await screenshot(page, "share-panel.png");
  await page.click("#share-hide");

  const viewer = await page.context().newPage();
  const viewerSeen = watchPage(viewer);
  await viewer.goto(link, { timeout: STEP_MS });
  await waitState(viewer, "connected");
  const status = await viewer.textContent("#status");
  check(/^Watching .*\(read-only\)$/.test(status), `the viewer's status says it watches, read-only (${status})`);
  check(!(await viewer.isVisible("#toolbar")) && !(await viewer.isVisible("#share")),
    "a viewer has no command buttons and no Share");
  await waitText(viewer, "^before-sharing$", "the viewer is shown the output from before it came");
  await page.waitForSelector("#viewers", { state: "visible", timeout: STEP_MS });
  check((await page.textContent("#viewers")).includes("1 watching"), "the session's page says one viewer watches");

  await page.click("#terminal");
  await typeLine(page, "echo while-watched");
  await waitText(viewer, "^while-watched$", "the viewer sees the output as it comes");
  const ownerSize = await termSize(page);
  let viewerSize = await termSize(viewer);
  check(viewerSize.cols === ownerSize.cols && viewerSize.rows === ownerSize.rows,
    `the viewer's terminal is the session's size (${viewerSize.cols}x${viewerSize.rows})`);
  const resized = await resizeViewport(page, 800, 450);
  await viewer.waitForFunction((s) => window.telgate.term.cols === s.cols && window.telgate.term.rows === s.rows,
    resized, { timeout: STEP_MS, polling: 50 });
  ok(`the viewer's terminal follows the session's resize to ${resized.cols}x${resized.rows}`);
  // A viewer's window narrower than the session (a phone): its terminal
  // scrolls sideways to the columns it cannot show.
  const viewerViewport = viewer.viewportSize();
  await viewer.setViewportSize({ width: 390, height: 700 });
  const scrolled = await viewer.evaluate(() => {
    const t = document.getElementById("terminal");
    t.scrollLeft = t.scrollWidth;
    return { scrollWidth: t.scrollWidth, clientWidth: t.clientWidth, scrollLeft: t.scrollLeft,
      overflow: getComputedStyle(t).overflowX, page: document.documentElement.scrollWidth };
  });
  check(scrolled.overflow === "auto" && scrolled.scrollWidth > scrolled.clientWidth && scrolled.scrollLeft > 0 && scrolled.page <= 390,
    `a viewer's narrow window scrolls the session's columns within the terminal (${JSON.stringify(scrolled)})`);
  await screenshot(viewer, "share-viewer-narrow.png");
  await viewer.evaluate(() => { document.getElementById("terminal").scrollLeft = 0; });
  await viewer.setViewportSize(viewerViewport);

  // The viewer types: nothing reaches the host. The owner's next line
  // shows that the host saw nothing before it.
  await viewer.click("#terminal");
  await typeLine(viewer, "echo from-viewer");
  await page.click("#terminal");
  await typeLine(page, "echo marker");
  await waitText(viewer, "^marker$", "the owner's next line reached the viewer");
  for (const [p, who] of [[page, "the session's page"], [viewer, "the viewer's page"]]) {
    check(!(await screenText(p)).includes("from-viewer"), `what the viewer typed is nowhere on ${who}`);
  }
  await screenshot(viewer, "watching.png");
  await screenshot(page, "watched.png");

  // The session's user hands the viewer the keyboard: its keys and its
  // Break reach the host, and the session's own keys go on working; then
  // takes it back, and the viewer's keys reach nobody again.
  await page.click("#share");
  await page.waitForSelector("#share-viewers li[data-viewer] button", { state: "visible", timeout: STEP_MS });
  check(await page.textContent("#share-viewers li[data-viewer] button") === "Let type",
    "the share panel lists the viewer with Let type");
  await page.click("#share-viewers li[data-viewer] button");
  await viewer.waitForFunction(() => /\(you may type\)$/.test(document.getElementById("status").textContent),
    null, { timeout: STEP_MS, polling: 50 });
  ok("the viewer's status says it may type");
  check(await viewer.isVisible("#toolbar"), "the viewer handed the keyboard has the command buttons");
  await page.waitForFunction(() => /typing/.test(document.getElementById("viewers").textContent),
    null, { timeout: STEP_MS, polling: 50 });
  check(await page.textContent("#share-viewers li[data-viewer] button") === "Take back",
    "the share panel offers to take the keyboard back");
  await screenshot(page, "handed-over.png");
  await viewer.click("#terminal");
  await typeLine(viewer, "echo from-helper");
  await waitText(page, "^from-helper$", "the viewer's line ran, on the session's page");
  await waitText(viewer, "^from-helper$", "and on the viewer's");
  await viewer.click("#toolbar button[data-command=break]");
  await waitText(page, "received IAC BREAK", "the viewer's Break reached the host");
  await screenshot(viewer, "typing-viewer.png");
  await page.click("#share-viewers li[data-viewer] button");
  await viewer.waitForFunction(() => /\(read-only\)$/.test(document.getElementById("status").textContent),
    null, { timeout: STEP_MS, polling: 50 });
  ok("the viewer's status says read-only again");
  await page.click("#share-hide");
  check(!(await viewer.isVisible("#toolbar")), "the viewer has no command buttons again");
  await viewer.click("#terminal");
  await typeLine(viewer, "echo after-take-back");
  await page.click("#terminal");
  await typeLine(page, "echo marker-2");
  await waitText(viewer, "^marker-2$", "the owner's next line reached the viewer");
  check(!(await screenText(page)).includes("after-take-back"), "what the viewer typed after the take-back reached nobody");

  await page.click("#share");
  await page.waitForSelector("#share-panel", { state: "visible", timeout: STEP_MS });
  await page.click("#share-stop");
  await waitState(viewer, "closed");
  const closed = await viewer.textContent("#status");
  check(closed.includes("no longer shared"), `the viewer's page says sharing stopped (${closed})`);
  await page.waitForSelector("#viewers", { state: "hidden", timeout: STEP_MS });
  check(await page.getAttribute("#share", "aria-pressed") === "false", "the session's page is no longer sharing");
  await waitState(page, "connected");
  check(viewerSeen.errors.length === 0, `no errors on the viewer's page${viewerSeen.errors.length ? ": " + viewerSeen.errors.join("; ") : ""}`);
  return { watched: true, link };
}

// xmodemData is the file the xmodem scenario sends: every byte value
// (the telnet IAC, CR, NUL, XON and XOFF, CAN among them) and then
// pseudo-random bytes, n in all; TestBrowserXmodem makes the same.
function xmodemData(n, seed) {
  const data = Buffer.alloc(n);
  let x = seed >>> 0;
  for (let i = 0; i < n; i++) {
    if (i < 512) {
      data[i] = i & 0xff;
      continue;
    }
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    data[i] = x >>> 24;
  }
  return data;
}

// xmodem: Send file sends a file to lrzsz's rx in a real shell over
// inetutils telnetd, in XMODEM-1K with CRCs (rx -c), in classic
// XMODEM with checksums (rx), and in YMODEM to rb, which takes the
// file's name and size from it: the file is picked first and rx typed
// after, as the terminal stays the user's until the receiver asks. A
// transfer whose connection is reset midway goes on once the page has
// resumed; one cancelled midway stops rx and gives the shell back;
// typing works after each.
async function xmodem(page, base) {
  await page.goto(base, { timeout: STEP_MS });
  await waitState(page, "connected");
  await waitPrompt(page, "shell prompt");
  await page.click("#terminal");
  check(await page.isVisible("#send-file"), "the page offers Send file");

  const send = async (command, file, data, protocol = "xmodem") => {
    await page.click("#send-file");
    await page.waitForSelector("#transfer-panel[data-state=choosing]", { timeout: STEP_MS });
    await page.selectOption("#transfer-protocol", protocol);
    const [chooser] = await Promise.all([page.waitForEvent("filechooser", { timeout: STEP_MS }), page.click("#transfer-choose")]);
    await chooser.setFiles({ name: file, mimeType: "application/octet-stream", buffer: data });
    await page.waitForSelector("#transfer-panel[data-state=waiting]", { timeout: STEP_MS });
    await page.click("#terminal");
    await typeLine(page, command); // the terminal is the user's until rx asks
    await poll(`${command} running`, () => processesMatching(command).length > 0);
  };
  const sent = async (what, timeout) => {
    await page.waitForSelector("#transfer-panel[data-state=sent], #transfer-panel[data-state=failed]", { timeout });
    const text = await page.textContent("#transfer-text");
    check(await page.getAttribute("#transfer-panel", "data-state") === "sent", `${what} (${text})`);
    return text;
  };
  const typing = async (tag) => {
    await typeLine(page, `echo after-$((6*7))-${tag}`);
    await waitText(page, `^after-42-${tag}$`, `typing works after the transfer (${tag})`);
  };

  await send("rx -c crc.bin", "crc.bin", xmodemData(70003, 1));
  const crcText = await sent("70,003 bytes sent in XMODEM-1K with CRCs", 60000);
  await screenshot(page, "xmodem-sent.png");
  await typing("crc");

  await send("rx sum.bin", "sum.bin", xmodemData(1000, 2));
  await sent("1,000 bytes sent in classic XMODEM with checksums", 60000);
  await typing("sum");

  // YMODEM: rb takes the name and the size from the sender.
  await send("rb", "named.bin", xmodemData(5000, 5), "ymodem");
  await sent("5,000 bytes sent in YMODEM, by name", 60000);
  await typing("ymodem");

  // YMODEM chosen for an XMODEM receiver: the sender finds out within
  // seconds, and says the name and the size did not go.
  const fallbackStart = Date.now();
  await send("rx -c fallback.bin", "fallback.bin", xmodemData(3000, 6), "ymodem");
  const fallback = await sent("3,000 bytes sent in YMODEM to rx, which takes XMODEM", 60000);
  // The sender's own 3 s wait for a C found the XMODEM receiver (the
  // text says so only then), not rx's NAK, which comes after 10 s; the
  // time is not held to a bound, which a loaded machine would break.
  check(fallback.includes("the receiver speaks XMODEM"),
    `the sender found an XMODEM receiver by itself (${Date.now() - fallbackStart} ms, typing the command included)`);
  await typing("fallback");

  // The connection is reset midway, and the network is back a moment
  // later: the page resumes, and rx, which asks again for the block it
  // missed, gets the rest.
  await send("rx -c severed.bin", "severed.bin", xmodemData(300000, 4));
  await page.waitForFunction(() => document.getElementById("transfer-progress").value > 0.2, null,
    { timeout: 60000, polling: 20 });
  check((await fetch(env("TELGATE_SEVER_URL"))).ok, "the connection is reset midway through the file");
  await waitState(page, "resuming");
  check((await fetch(env("TELGATE_RELEASE_URL"))).ok, "the network is back");
  await waitState(page, "connected");
  await sent("300,000 bytes sent through a reset connection", 90000);
  await typing("severed");

  await send("rx -c big.bin", "big.bin", xmodemData(8 << 20, 3));
  await page.waitForSelector("#transfer-panel[data-state=sending]", { timeout: 60000 });
  await page.click("#transfer-cancel");
  await page.waitForSelector("#transfer-panel[data-state=failed]", { timeout: STEP_MS });
  const cancelled = await page.textContent("#transfer-text");
  check(cancelled.includes("cancelled"), `the transfer is cancelled midway (${cancelled})`);
  await poll("rx to stop", () => processesMatching("rx -c big.bin").length === 0);
  ok("rx stopped");
  await typing("cancel");
  return { crc: crcText };
}

// keys: on a phone (a touch screen, 412 pixels wide) the page shows the
// key bar. Its keys reach a real shell's terminal byte for byte: Esc,
// Tab, Ctrl and Alt held for the next key (tapped or typed), arrows in
// the cursor mode the host chose, modified arrows and page keys, ^C;
// tapping them leaves the focus in the terminal, where the on-screen
// keyboard types. The Keys button hides the bar, the terminal takes the
// room, and the choice is kept across a reload.
async function keys(page, base) {
  const workdir = env("TELGATE_WORKDIR");
  await page.goto(base, { timeout: STEP_MS });
  await waitState(page, "connected");
  check(await page.isVisible("#keys") && await page.isVisible("#keybar"), "on a touch screen the key bar shows");
  check(await page.getAttribute("#keys", "aria-pressed") === "true", "the Keys button says the bar shows");
  check(await page.isEnabled("#key-break"), "the bar's Break is enabled while connected");
  await waitPrompt(page, "shell prompt");
  await page.tap("#terminal");

  // The shell reads the keys raw with dd, byte for byte, into a file.
  const record = async (file, count, appMode, steps) => {
    const setup = appMode ? "printf '\\033[?1h'; " : "";
    await typeLine(page, `stty raw -echo; ${setup}dd bs=1 count=${count} of=${file} 2>/dev/null; ` +
      `printf '\\033[?1l'; stty sane; echo DONE-${file.length}-$((6*7))`);
    await poll(`dd reading ${file}`, () => processesMatching(`of=${file}`).length > 0);
    await page.waitForFunction((m) => window.telgate.term.modes.applicationCursorKeysMode === m, appMode,
      { timeout: STEP_MS, polling: 50 });
    for (const step of steps) {
      const [how, what] = step.split(":");
      if (how === "type") {
        await page.keyboard.type(what);
      } else if (how === "paste") {
        await page.keyboard.insertText(what);
      } else if (how === "press") {
        await page.keyboard.press(what);
      } else {
        await page.tap(`#keybar [${step}]`);
      }
    }
    await waitText(page, `^DONE-${file.length}-42$`, `the shell read ${count} bytes into ${file}`);
    await waitPrompt(page, `prompt after ${file}`);
    return fs.readFileSync(path.join(workdir, file), "latin1");
  };

  const normal = await record("normal.bin", 17, false, ["data-key=up", "data-key=home", "data-mod=alt",
    "data-key=esc", "data-mod=ctrl", "paste:ls", "type:x", "data-key=tab", "data-key=pgdn", "data-key=ctrl-c"]);
  check(normal === "\x1b[A\x1b[H\x1b\x1bls\x18\t\x1b[6~\x03",
    `Up, Home, Alt+Esc, Ctrl then a paste (as it is) and x, Tab, PgDn and ^C sent ${JSON.stringify(normal)}`);
  const app = await record("app.bin", 26, true, ["data-key=up", "data-mod=ctrl", "data-key=right",
    "data-key=end", "data-mod=alt", "type:b", "data-mod=ctrl", "data-mod=alt", "data-key=pgup",
    "data-mod=ctrl", "press:ArrowLeft"]);
  check(app === "\x1bOA\x1b[1;5C\x1bOF\x1bb\x1b[5;7~\x1b[1;5D",
    "in application cursor mode Up, Ctrl+Right, End, Alt then b, Ctrl+Alt+PgUp and Ctrl then the " +
    `keyboard's Left sent ${JSON.stringify(app)}`);
  check(await page.evaluate(() => document.activeElement.classList.contains("xterm-helper-textarea")),
    "after the taps the terminal still has the focus");
  check(await page.getAttribute('#keybar [data-mod="ctrl"]', "aria-pressed") === "false" &&
    await page.getAttribute('#keybar [data-mod="alt"]', "aria-pressed") === "false",
    "Ctrl and Alt were let go after the key they held for");
  await screenshot(page, "keys.png");

  const rows = (await termSize(page)).rows;
  await page.tap("#keys");
  await page.waitForSelector("#keybar", { state: "hidden", timeout: STEP_MS });
  await page.waitForFunction((r) => window.telgate.term.rows > r, rows, { timeout: STEP_MS, polling: 50 });
  ok(`the Keys button hid the bar, and the terminal grew from ${rows} rows`);
  await page.reload({ timeout: STEP_MS });
  await waitState(page, "connected");
  check(await page.isVisible("#keys") && !(await page.isVisible("#keybar")) &&
    await page.getAttribute("#keys", "aria-pressed") === "false", "the choice is kept after a reload");
  await page.tap("#keys");
  await page.waitForSelector("#keybar", { state: "visible", timeout: STEP_MS });
  ok("the Keys button shows the bar again");
  await waitPrompt(page, "shell prompt after the reload");
  await page.tap("#terminal");
  await typeLine(page, "exit");
  await waitState(page, "closed");
  check(await page.isDisabled("#key-break"), "the bar's Break is disabled once the session closed");
  return { normal, app };
}

// clipboard: a host program asks the terminal to copy text (OSC 52). The
// page asks first, showing the text, with the focus left in the
// terminal; Copy puts it on the clipboard. A request to read the
// clipboard gets no panel and no answer. After "Always, on this page"
// the next copy goes straight to the clipboard.
async function clipboard(page, base) {
  await page.goto(base, { timeout: STEP_MS });
  await waitState(page, "connected");
  await waitPrompt(page, "shell prompt");
  await page.click("#terminal");
  const hostCopies = (text, done) => typeLine(page,
    `printf '\\033]52;c;%s\\a' "$(printf '${text}' | base64 -w0)"; echo ${done}-$((6*7))`);
  const readClipboard = () => page.evaluate(() => navigator.clipboard.readText());
  const focused = () => page.evaluate(() => document.activeElement.classList.contains("xterm-helper-textarea"));

  const first = "copied by the host \u2713";
  await hostCopies("copied by the host \\342\\234\\223", "FIRST");
  await waitText(page, "^FIRST-42$", "the host asked to copy");
  await page.waitForSelector("#clip-panel", { state: "visible", timeout: STEP_MS });
  const preview = await page.textContent("#clip-preview");
  check(preview === first, `the panel shows the text (${JSON.stringify(preview)})`);
  check(await focused(), "the terminal keeps the focus while the panel asks");
  await screenshot(page, "clipboard.png");
  await page.click("#clip-copy");
  await page.waitForSelector("#clip-panel", { state: "hidden", timeout: STEP_MS });
  check(await readClipboard() === first, "Copy put the host's text on the clipboard");

  await typeLine(page, "printf '\\033]52;c;?\\a'; echo QUERY-$((6*7))");
  await waitText(page, "^QUERY-42$", "the host asked to read the clipboard");
  await typeLine(page, "echo AFTER-$((6*7))");
  await waitText(page, "^AFTER-42$", "the shell ran the next line");
  check(!(await page.isVisible("#clip-panel")), "a request to read the clipboard shows no panel");
  // An answer would have gone to the shell's input before the next line.
  await waitText(page, `^${escapeRegExp(PROMPT + " echo AFTER-$((6*7))")}$`,
    "and was not answered: the next command line holds only what was typed");

  await hostCopies("second", "SECOND");
  await page.waitForSelector("#clip-panel", { state: "visible", timeout: STEP_MS });
  await page.click("#clip-always");
  await page.waitForSelector("#clip-panel", { state: "hidden", timeout: STEP_MS });
  check(await readClipboard() === "second", "Always copied the second text");
  await hostCopies("third", "THIRD");
  await waitText(page, "^THIRD-42$", "the host asked to copy a third time");
  await page.waitForFunction(() => navigator.clipboard.readText().then((t) => t === "third"),
    null, { timeout: STEP_MS, polling: 100 });
  check(!(await page.isVisible("#clip-panel")), "after Always, the third copy went to the clipboard without asking");
  return { copied: await readClipboard() };
}

// idle: a session about to close for being idle says so in the top bar;
// a key takes the warning away (and keeps the session), a later quiet
// spell is warned of again, and the session then closes.
async function idle(page, base) {
  await page.goto(base, { timeout: STEP_MS });
  await waitState(page, "connected");
  await page.waitForSelector("#notice.urgent", { state: "visible", timeout: STEP_MS });
  const first = await page.textContent("#notice");
  check(/^idle: this session closes in \d+ s unless you type$/.test(first), `the page warns (${first})`);
  check((await page.title()).startsWith("(idle) "), `the tab's title says so too (${await page.title()})`);
  await page.setViewportSize({ width: 375, height: 700 });
  const box = await page.$eval("#notice", (n) => ({ width: n.clientWidth, overflow: n.scrollWidth - n.clientWidth }));
  check(box.width > 100 && box.overflow <= 1, `on a phone's width the warning shows whole (${JSON.stringify(box)})`);
  await page.click("#terminal");
  await page.keyboard.type("x");
  await page.waitForSelector("#notice", { state: "hidden", timeout: STEP_MS });
  check(!(await page.title()).startsWith("("), "a key took the warning away, from the title too");
  await page.waitForSelector("#notice.urgent", { state: "visible", timeout: STEP_MS });
  ok("the next quiet spell was warned of again");
  await waitState(page, "closed");
  const status = await page.textContent("#status");
  check(status.endsWith("idle timeout"), `then the session closed (${status})`);
  check((await page.title()).startsWith("(closed) "), `and the tab's title says it closed (${await page.title()})`);
  return { warning: first };
}

// power: a target with a power hook shows Power; a click asks first
// (declined: nothing is sent), then, accepted, the page says what the
// power controller answered. The Go test checks the controller was
// asked once.
async function power(page, base) {
  await page.goto(`${base}?target=board`, { timeout: STEP_MS });
  await waitState(page, "connected");
  await page.waitForSelector("#power", { state: "visible", timeout: STEP_MS });
  check(true, "Power shows for a target with a power hook");
  const dialogs = [];
  page.once("dialog", (d) => { dialogs.push(d.message()); d.dismiss(); });
  await page.click("#power");
  check(dialogs.length === 1 && dialogs[0].includes("Power-cycle the device behind board?"),
    `Power asks first (${JSON.stringify(dialogs)})`);
  check(!(await page.isDisabled("#power")), "declined, nothing is asked for");
  page.once("dialog", (d) => d.accept());
  await page.click("#power");
  await page.waitForFunction(() => document.getElementById("notice").textContent.startsWith("power cycle done"),
    null, { timeout: STEP_MS });
  const notice = await page.textContent("#notice");
  check(notice === "power cycle done (202 Accepted): the device restarts", `the page says the answer (${notice})`);
  check(!(await page.isDisabled("#power")), "Power is enabled again");
  await screenshot(page, "power.png");
  return {};
}

// login: a target whose automatic login the host's real login program
// refuses (a wrong password): the page says so and why, the terminal
// shows the host's prompt again, and the user logs in there by hand
// (TELGATE_LOGIN_USER, TELGATE_LOGIN_PASSWORD).
async function login(page, base) {
  const user = env("TELGATE_LOGIN_USER");
  await page.goto(`${base}?target=console`, { timeout: STEP_MS });
  await waitState(page, "connected");
  // login waits a few seconds before it says "Login incorrect".
  await page.waitForFunction(() => document.getElementById("notice").textContent.startsWith("log in by hand"),
    null, { timeout: 2 * STEP_MS });
  const notice = await page.textContent("#notice");
  check(notice === "log in by hand: automatic login failed: the host refused the login",
    `the page says the automatic login failed, and why (${notice})`);
  check(await page.isVisible("#notice"), "the notice is in view");
  await waitText(page, `Login incorrect\\s*\\n.*login: $`, "the host asks again, and nothing more was sent");
  await screenshot(page, "login-failed.png");
  await typeLine(page, user);
  await waitText(page, "Password: $", "the password prompt, for the user");
  await typeLine(page, env("TELGATE_LOGIN_PASSWORD"));
  await waitText(page, "\\$ $", "logged in by hand");
  await typeLine(page, "id -un");
  await waitText(page, `^${escapeRegExp(user)}$`, "a shell as the target's account");
  return {};
}

// marked: the picker marks a target that has a color; its page shows
// the target's banner above the terminal and its color on the top bar,
// and another target's page shows neither.
async function marked(page, base) {
  await page.goto(base, { timeout: STEP_MS });
  await page.waitForSelector("#target-list a.target", { timeout: STEP_MS });
  const entries = await page.$$eval("#target-list a.target", (as) => as.map((a) => ({
    name: a.querySelector(".name").textContent, marked: a.classList.contains("marked"),
    border: getComputedStyle(a).borderLeftColor,
  })));
  check(JSON.stringify(entries.map((e) => [e.name, e.marked])) === JSON.stringify([["core", true], ["lab", false]]) &&
    entries[0].border === "rgb(192, 57, 43)", `the picker marks core in its color (${JSON.stringify(entries)})`);
  await page.click("#target-list a.target >> text=core");
  await waitState(page, "connected");
  const banner = await page.textContent("#banner");
  check(await page.isVisible("#banner") && banner === "Production: changes need a ticket",
    `the banner shows above the terminal (${banner})`);
  const bar = await page.$eval("#topbar", (b) => ({ marked: b.classList.contains("marked"), border: getComputedStyle(b).borderBottomColor }));
  check(bar.marked && bar.border === "rgb(192, 57, 43)", `the top bar has the target's color (${JSON.stringify(bar)})`);
  await screenshot(page, "marked.png");
  await page.goto(base + "?target=lab", { timeout: STEP_MS });
  await waitState(page, "connected");
  check(!(await page.isVisible("#banner")) && !(await page.$eval("#topbar", (b) => b.classList.contains("marked"))),
    "another target's page has neither");
  return { entries };
}

// paste: a paste of several lines asks first (Escape cancels, and
// nothing reaches the host; Enter or Paste sends it all; another paste
// meanwhile is refused); a paste of one line without a line break goes
// at once; "do not ask again" is kept.
async function paste(page, base) {
  await page.goto(base, { timeout: STEP_MS });
  await waitState(page, "connected");
  await waitPrompt(page, "demo prompt", "demo>");
  await page.click("#terminal");
  const pasteText = (text) => page.evaluate((t) => {
    const dt = new DataTransfer();
    dt.setData("text/plain", t);
    document.querySelector("#terminal textarea").dispatchEvent(
      new ClipboardEvent("paste", { clipboardData: dt, bubbles: true, cancelable: true }));
  }, text);

  await pasteText("echo one\necho two\n");
  await page.waitForSelector("#paste-panel", { state: "visible", timeout: STEP_MS });
  const asked = await page.textContent("#paste-text");
  check(asked.startsWith("Paste 2 lines into demo?") && await page.textContent("#paste-preview") === "echo one\necho two",
    `a paste of two lines asks first (${asked})`);
  check(await page.evaluate(() => document.activeElement.id) === "paste-go", "Paste has the focus: Enter pastes");
  await screenshot(page, "paste.png");
  await page.keyboard.press("Escape");
  await page.waitForSelector("#paste-panel", { state: "hidden", timeout: STEP_MS });
  await typeLine(page, "echo after-cancel");
  await waitText(page, "^after-cancel$", "the terminal has the keyboard again");
  check(!/^(one|two)$/m.test(await screenText(page)), "Escape sent nothing of the paste");

  await pasteText("echo one\necho two\n");
  await page.waitForSelector("#paste-panel", { state: "visible", timeout: STEP_MS });
  await pasteText("echo other\n"); // while one is held: refused
  check(await page.textContent("#paste-preview") === "echo one\necho two", "a second paste does not replace the held one");
  await page.keyboard.press("Enter");
  await waitText(page, "^one$", "Enter pasted: the first line ran");
  await waitText(page, "^two$", "and the second");
  check(!/^other$/m.test(await screenText(page)), "the refused paste went nowhere");

  await pasteText("echo single");
  await page.keyboard.press("Enter");
  await waitText(page, "^single$", "a paste without a line break went at once");

  await pasteText("echo three\n");
  await page.waitForSelector("#paste-panel", { state: "visible", timeout: STEP_MS });
  await page.check("#paste-forget");
  await page.click("#paste-go");
  await waitText(page, "^three$", "the third paste went, with do not ask again");
  await pasteText("echo four\n");
  await waitText(page, "^four$", "and the next went without asking");
  check(!(await page.isVisible("#paste-panel")), "no panel for it");
  return { asked };
}

// serial: a target behind ser2net (RFC 2217) with serial: "19200 8N1",
// its port a pseudo-terminal whose other end plays the device. The
// Serial button shows the port as ser2net reports it; the device,
// asked, finds its port so set; the panel sets another speed and format,
// and the device finds that.
async function serial(page, base) {
  const button = () => page.textContent("#serial");
  const waitButton = async (text, what) => {
    await page.waitForFunction((t) => {
      const b = document.getElementById("serial");
      return !b.hidden && b.textContent === t;
    }, text, { timeout: STEP_MS, polling: 50 });
    ok(what + ` (${text})`);
  };
  await page.goto(base + "?target=port", { timeout: STEP_MS });
  await waitState(page, "connected");
  await waitButton("Serial 19200 8N1", "the Serial button shows the port as the target set it");
  await page.click("#terminal");
  await typeLine(page, "check");
  await waitText(page, "^port speed=19200 cs8 -parenb", "the device finds its port at 19200 8N1");

  await page.click("#serial");
  await page.waitForSelector("#serial-panel", { state: "visible", timeout: STEP_MS });
  const shown = await page.evaluate(() => ({
    text: document.getElementById("serial-text").textContent,
    baud: document.getElementById("serial-baud").value,
    data: document.getElementById("serial-data").value,
    parity: document.getElementById("serial-parity").value,
    stop: document.getElementById("serial-stop").value,
    flow: document.getElementById("serial-flow").value,
    leds: Array.from(document.querySelectorAll(".serial-led")).map((l) => l.className),
  }));
  check(shown.baud === "19200" && shown.data === "8" && shown.parity === "none" && shown.stop === "1" && shown.flow === "none" &&
    shown.text === "The port is set to 19200 8N1, flow control none.", `the panel shows the port (${JSON.stringify(shown)})`);
  await screenshot(page, "serial.png");
  await page.selectOption("#serial-baud", "115200");
  // A pseudo-terminal keeps 8 data bits and no parity whatever it is
  // told: the stop bits and the flow control show the format instead.
  await page.selectOption("#serial-stop", "2");
  await page.selectOption("#serial-flow", "rtscts");
  await page.click("#serial-apply");
  await waitButton("Serial 115200 8N2", "Apply set the port, as ser2net answers");
  await page.waitForFunction(() => document.getElementById("serial-text").textContent ===
    "The port is set to 115200 8N2, flow control RTS/CTS.", null, { timeout: STEP_MS, polling: 50 });
  ok("the panel says so, flow control included");
  // ser2net leaves DTR unreported on a pseudo-terminal: the button shows
  // it as last asked, dimmed, and each click asks the other way.
  const dtr = () => page.evaluate(() => {
    const b = document.getElementById("serial-dtr");
    return b.getAttribute("aria-pressed") + (b.classList.contains("unknown") ? " unknown" : "");
  });
  const before = await dtr();
  await page.click("#serial-dtr");
  const after = await dtr();
  check(before === "true unknown" && after === "false unknown", `DTR, unreported, drops on a click (${before} -> ${after})`);
  await page.keyboard.press("Escape"); // the focus is in the panel
  await page.waitForSelector("#serial-panel", { state: "hidden", timeout: STEP_MS });
  await page.click("#terminal");
  await typeLine(page, "check");
  await waitText(page, "^port speed=115200 cs8 -parenb -parodd cstopb crtscts", "the device finds its port at 115200 8N2 with RTS/CTS");
  return { shown, button: await button() };
}

runScenario({ login, power, serial, demo, telnetd, refused, adhoc, keepalive, prefixed, resume, mac, share, keys, clipboard, idle, marked, paste, xmodem }, {
  boundMs: 120000,
  contextOptions: (name) => ({
    keys: { isMobile: true, hasTouch: true, viewport: { width: 412, height: 780 } },
    clipboard: { permissions: ["clipboard-read", "clipboard-write"] },
  })[name] || {},
  onFailure: (page, name) => screenshot(page, `${name}-failure.png`),
});
