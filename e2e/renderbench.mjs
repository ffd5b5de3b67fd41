// How fast the page's terminal draws a flood of output with each of
// xterm.js's renderers, in headless Chromium:
//
//   TELGATE_URL=http://127.0.0.1:8080/ node e2e/renderbench.mjs [rounds]
//
// against a telgate serving its demo host (the URL of its page). Each
// round opens the demo target once with the DOM renderer and once with
// ?renderer=webgl, writes 20 MB of coloured numbered lines into the
// terminal in 64 KiB pieces (each written when the last is parsed), and
// prints the renderer that drew, the time and the frames drawn. The
// host's output is not involved: this measures the browser alone.
// CHROMIUM names the browser (default /usr/bin/chromium).

import { chromium } from "playwright-core";

const base = process.env.TELGATE_URL;
if (!base) {
  console.error("usage: TELGATE_URL=http://HOST:PORT/ node e2e/renderbench.mjs [rounds]");
  process.exit(2);
}
const rounds = Number(process.argv[2] || 2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  args: ["--headless", "--no-sandbox", "--disable-gpu"],
});
try {
  for (let round = 0; round < rounds; round++) {
    for (const renderer of ["dom", "webgl"]) {
      const page = await browser.newPage({ viewport: { width: 1200, height: 800 } });
      await page.goto(`${base}?target=demo${renderer === "webgl" ? "&renderer=webgl" : ""}`);
      await page.waitForSelector('#status[data-state="connected"]', { timeout: 15000 });
      if (renderer === "webgl") {
        await page.waitForFunction(() => window.telgate.renderer === "webgl", null, { timeout: 15000 })
          .catch(() => {}); // no WebGL here: the DOM renderer draws, and says so below
      }
      const res = await page.evaluate(async () => {
        const t = window.telgate.term;
        const chunks = [];
        let chunk = "";
        for (let n = 0; chunks.length < 300; n++) {
          chunk += `${n} the quick brown fox jumps over the lazy dog \x1b[32mgreen\x1b[0m and more text to fill a line\r\n`;
          if (chunk.length > 65536) {
            chunks.push(chunk);
            chunk = "";
          }
        }
        let frames = 0;
        let going = true;
        const count = () => {
          frames++;
          if (going) {
            requestAnimationFrame(count);
          }
        };
        requestAnimationFrame(count);
        const start = performance.now();
        await new Promise((resolve) => {
          let i = 0;
          const next = () => (i < chunks.length ? t.write(chunks[i++], next) : resolve());
          next();
        });
        going = false;
        const ms = performance.now() - start;
        const mb = chunks.reduce((a, c) => a + c.length, 0) / 1e6;
        return { renderer: window.telgate.renderer, mb: +mb.toFixed(1), seconds: +(ms / 1000).toFixed(2),
          mbPerSecond: +(mb / (ms / 1000)).toFixed(1), frames };
      });
      console.log(JSON.stringify(res));
      await page.close();
    }
  }
} finally {
  await browser.close();
}
