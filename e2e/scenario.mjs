// What telgate's browser scenarios (browser.mjs, access.mjs) share: the
// environment, checks that print "ok - ...", and a run of one scenario
// in Debian's chromium through playwright-core (never a downloaded
// browser) that prints "RESULT {json}" or fails within a bound.

import { chromium } from "playwright-core";

export const STEP_MS = 15000; // bound of one wait

export function env(name) {
  const v = process.env[name];
  if (!v) {
    throw new Error(`environment variable ${name} is not set`);
  }
  return v;
}

export function ok(msg) {
  console.log(`ok - ${msg}`);
}

export function check(cond, msg) {
  if (!cond) {
    throw new Error(`check failed: ${msg}`);
  }
  ok(msg);
}

// runScenario runs the scenario named by the first argument, one of
// scenarios (name: async function(page, base) returning what the Go test
// checks), against TELGATE_URL in a fresh profile (TELGATE_USER_DATA_DIR),
// and exits: 0 after printing RESULT {"scenario": name, ...}, 1 on the
// first failure, 3 past boundMs. contextOptions(name) adds to the browser
// context's options; onFailure(page, name) may save evidence.
export function runScenario(scenarios, { boundMs, contextOptions = () => ({}), onFailure = async () => {} }) {
  const watchdog = setTimeout(() => {
    console.error(`not ok - the scenario took more than ${boundMs} ms`);
    process.exit(3);
  }, boundMs);
  watchdog.unref();
  run(scenarios, contextOptions, onFailure).then(() => process.exit(0), (err) => {
    console.error(`not ok - ${err.stack || err}`);
    process.exit(1);
  });
}

async function run(scenarios, contextOptions, onFailure) {
  const name = process.argv[2];
  const scenario = Object.hasOwn(scenarios, name) ? scenarios[name] : null;
  if (!scenario) {
    throw new Error(`usage: node ${process.argv[1]} ${Object.keys(scenarios).join("|")}`);
  }
  const base = env("TELGATE_URL");
  const context = await chromium.launchPersistentContext(env("TELGATE_USER_DATA_DIR"), {
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: [
      "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
    ],
    viewport: { width: 1000, height: 600 },
    timeout: 30000,
    ...contextOptions(name),
  });
  try {
    const page = context.pages()[0] || await context.newPage();
    page.setDefaultTimeout(STEP_MS);
    let result;
    try {
      result = await scenario(page, base);
    } catch (err) {
      try {
        await onFailure(page, name);
      } catch {
        // the scenario's own error is the one to report
      }
      throw err;
    }
    console.log(`RESULT ${JSON.stringify({ scenario: name, ...result })}`);
  } finally {
    await context.close();
  }
}
