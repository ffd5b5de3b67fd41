// The XMODEM sender (static/xmodem.js) against scripted receivers, in
// node: what the real receivers of the browser scenario do not do on
// their own (refuse blocks, fall silent, cancel, print a "C" in a word).
// Prints "ok - ..." per case; exits 1 on the first failure.
//
//   node e2e/xmodem.mjs
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
globalThis.window = {};
new Function(fs.readFileSync(path.join(here, "..", "static", "xmodem.js"), "utf8"))();
const { Sender, crc16 } = window.TelgateXmodem;

const ACK = 6, NAK = 0x15, CAN = 0x18, EOT = 4;
const bytes = (s) => (typeof s === "string" ? Uint8Array.from(s, (c) => c.charCodeAt(0)) : Uint8Array.from(s));

function check(cond, what) {
  if (!cond) {
    console.log(`not ok - ${what}`);
    process.exit(1);
  }
  console.log(`ok - ${what}`);
}

// run feeds the sender the receiver's bytes in turn (a number is that
// many milliseconds on the sender's clock, then a tick), and returns what
// it sent (each message as "header:length"), what it left for the screen,
// and how it ended.
function run(data, feeds) {
  let clock = 0;
  const sent = [];
  const r = { sent, shown: "", done: "pending", started: "" };
  const s = new Sender(data, {
    started: (mode) => { r.started = mode; },
    send: (b) => sent.push(b),
    progress: () => {},
    done: (err) => { r.done = err; },
  }, () => clock);
  for (const f of feeds) {
    if (typeof f === "number") {
      clock += f;
      s.tick();
      continue;
    }
    r.shown += String.fromCharCode(...s.receive(bytes(f)));
  }
  r.kinds = sent.map((b) => `${b[0]}:${b.length}`).join(" ");
  return r;
}

check(crc16(bytes("123456789"), 0, 9) === 0x31c3, "CRC-16/XMODEM of 123456789 is 0x31C3");

let r = run(new Uint8Array(3000).fill(1), ["rx: ready\r\n", "C", 400, ...Array(11).fill([ACK])]);
check(r.started === "XMODEM-1K (CRC)" && r.kinds === "2:1029 2:1029 " + Array(8).fill("1:133").join(" ") + " 4:1" && r.done === null,
  `a C: 1 KiB blocks with CRCs, the tail in 128-byte ones, then EOT (${r.kinds})`);
check(r.shown === "rx: ready\r\n", "the receiver's banner is the screen's");

r = run(new Uint8Array(100), ["C", 400, [ACK], "\r\ntg$ ", 20000]);
check(r.done === null && r.kinds === "1:133 4:1" && r.shown === "\r\ntg$ ",
  `an EOT left unacknowledged by a receiver that ended: done, and no EOT sent again into the shell (${r.kinds})`);

r = run(new Uint8Array(200).fill(2), ["x", [NAK], [ACK], [ACK], [NAK], [ACK]]);
check(r.started === "XMODEM (checksum)" && r.kinds === "1:132 1:132 4:1 4:1" && r.done === null,
  `a NAK: 128-byte blocks with checksums; a NAKed EOT goes again (${r.kinds})`);
const block = r.sent[0];
check(block[1] === 1 && block[2] === 254 && block[131] === (128 * 2) % 256, "block 1, its complement, its checksum");
check(r.sent[1][3 + 71] === 2 && r.sent[1][3 + 72] === 0x1a, "the last block padded with SUB");

r = run(new Uint8Array(2048), ["\nC", 400, [NAK], [NAK], [NAK], [ACK]]);
check(r.kinds === "2:1029 2:1029 2:1029 1:133 1:133", `three NAKs of a 1 KiB block: 128-byte blocks from then on (${r.kinds})`);

r = run(new Uint8Array(100), ["%SYS-5-CONFIG_I: Configured from console\r\n", "Cisco IOS\r\n", "ABC\r\n",
  "\r\n", "C", 100, "onfigured\r\n", "\r\nC\xe9dric\r\n", "\r\nCC=gcc\r\n", 1000]);
check(r.kinds === "" && r.shown.includes("Configured") && r.shown.includes("Cisco") && r.shown.includes("ABC") &&
  r.shown.includes("\r\nConfigured") && r.shown.includes("C\xe9dric") && r.shown.includes("CC=gcc"),
  `a C in words of text, split from them or not, starts nothing and stays on the screen (${JSON.stringify(r.shown)})`);

r = run(new Uint8Array(100), ["ready\r\nCCC", 400]);
check(r.kinds === "1:133", `a row of Cs starts one transfer (${r.kinds})`);
r = run(new Uint8Array(100), ["ready\r\nC\r\n"]);
check(r.kinds === "1:133", `a C followed by a line ending starts it at once (${r.kinds})`);

r = run(new Uint8Array(100), ["C", 400, 16000, 16000]);
check(r.kinds === "1:133 1:133 1:133" && r.done === "pending", `an unanswered block goes again after 15 s (${r.kinds})`);

r = run(new Uint8Array(100), ["C", 400, ...Array(11).fill([NAK])]);
check(typeof r.done === "string" && r.done.includes("block 1") && r.sent[r.sent.length - 1][0] === CAN,
  `ten NAKs of one block end it, with CAN (${r.done})`);

r = run(new Uint8Array(100), ["C", 400, [CAN], "x", [CAN]]);
check(r.done === "pending", "a lone CAN is noise");
r = run(new Uint8Array(100), ["C", 400, [CAN, CAN]]);
check(r.done === "the receiver cancelled the transfer", "two CANs in a row cancel it");

r = run(new Uint8Array(100), [61000]);
check(typeof r.done === "string" && r.done.includes("did not start") && r.kinds === "",
  "a receiver that never asks: given up after a minute, nothing sent");

r = run(new Uint8Array(0), ["C", 400, [ACK]]);
check(r.kinds === "4:1" && r.done === null, "an empty file: EOT at once");

r = run(new Uint8Array(100), ["C", 400, [ACK], [ACK, 0x74, 0x67, 0x24, 0x20]]);
check(r.done === null && r.shown === "tg$ ", `what follows the last ACK is the screen's (${JSON.stringify(r.shown)})`);

// YMODEM: block 0 with the name and size, the data from block 1, EOT
// (NAKed once, as Tera Term does), then the empty block 0.
{
  const sent = [];
  let done = "pending";
  let clock = 0;
  const s = new Sender(new Uint8Array(1500).fill(3), {
    started: () => {}, send: (b) => sent.push(b), progress: () => {}, done: (e) => { done = e; },
  }, () => clock);
  s.batch = "fw/image.bin";
  s.receive(bytes("C"));
  clock += 400;
  s.tick();
  for (const f of [[ACK], "C", [ACK], [ACK], [ACK], [ACK], [ACK], [NAK], [ACK], "C", [ACK]]) {
    s.receive(bytes(f));
  }
  const kinds = sent.map((b) => `${b[0]}:${b.length > 1 ? b[1] : "-"}:${b.length}`).join(" ");
  const head = String.fromCharCode(...sent[0].subarray(3, 3 + 20));
  check(kinds === "1:0:133 2:1:1029 1:2:133 1:3:133 1:4:133 1:5:133 4:-:1 4:-:1 1:0:133" && done === null,
    `YMODEM: block 0, the data from block 1, EOT twice, the empty block 0 (${kinds})`);
  check(head.startsWith("fw_image.bin\u00001500\u0000") && sent[sent.length - 1].subarray(3, 131).every((b) => b === 0),
    `YMODEM's block 0 holds the name (no path) and the size, and the last one nothing (${JSON.stringify(head)})`);
}

{
  // An empty name (a file called " ") would end the batch at once.
  const sent = [];
  const s = new Sender(new Uint8Array(10), { started: () => {}, send: (b) => sent.push(b), progress: () => {}, done: () => {} });
  s.batch = "";
  s.receive(bytes("C\r"));
  check(String.fromCharCode(...sent[0].subarray(3, 11)) === "file\u000010\u0000", "YMODEM: an empty name is sent as \"file\"");
}

r = run(new Uint8Array(0), ["C", 400]);
check(r.kinds === "4:1", "XMODEM: an empty file is EOT at once");

{
  // Cancelled midway: CANs. A receiver that missed them (it dropped
  // what came after a bad block) asks again with NAK and gets them
  // again; once the shell's prompt shows it gone, or after the watch,
  // a NAK gets nothing, as nothing may go to the shell.
  const sent = [];
  let clock = 0;
  const s = new Sender(new Uint8Array(5000), { started: () => {}, send: (b) => sent.push(b), progress: () => {}, done: () => {} }, () => clock);
  s.receive(bytes("C"));
  clock += 400;
  s.tick();
  s.receive(bytes([ACK]));
  s.cancel("cancelled");
  const cans = (b) => b.length === 8 && b.every((x) => x === CAN);
  check(sent.length === 3 && cans(sent[2]), "a cancel sends CANs");
  clock += 10000;
  check(s.afterCancel(bytes([NAK])) && sent.length === 4 && cans(sent[3]), "a NAK after the cancel gets the CANs again");
  check(s.afterCancel(bytes([ACK])) && sent.length === 4, "the ACK of the block in flight at the cancel keeps the watch and sends nothing");
  check(s.afterCancel(bytes("C")) && sent.length === 5 && cans(sent[4]),
    "a C (the receiver had taken no block yet) gets the CANs again");
  check(s.afterCancel(bytes([CAN, CAN, 8, 8])) && sent.length === 5, "the receiver's own CANs and backspaces keep the watch");
  check(!s.afterCancel(bytes("C:\\>")) && sent.length === 5, "a prompt starting with C is no ask, and ends the watch");
  check(!s.afterCancel(bytes("\r\ntg$ ")), "the prompt ends the watch");
  const late = new Sender(new Uint8Array(5000), { started: () => {}, send: (b) => sent.push(b), progress: () => {}, done: () => {} }, () => clock);
  late.receive(bytes("C"));
  clock += 400;
  late.tick();
  late.cancel("cancelled");
  const before = sent.length;
  clock += 31000;
  check(!late.afterCancel(bytes([NAK])) && sent.length === before, "a NAK after the watch gets nothing");
}

{
  // YMODEM chosen, an XMODEM receiver running (lrzsz's rx): it
  // acknowledges block 0 as a repeat and waits for block 1 without a C.
  // The sender goes on within seconds, not at the receiver's 10 s NAK,
  // says XMODEM, and ends at the shell's prompt after the EOT.
  const sent = [];
  let done = "pending";
  let clock = 0;
  const modes = [];
  const s = new Sender(new Uint8Array(200).fill(7), {
    started: (m) => modes.push(m), send: (b) => sent.push(b), progress: (a, b, m) => modes.push(m), done: (e) => { done = e; },
  }, () => clock);
  s.batch = "cfg.txt";
  s.receive(bytes("C"));
  clock += 400;
  s.tick();
  s.receive(bytes([ACK]));
  clock += 2000;
  s.tick();
  check(sent.length === 1, "YMODEM: the C after block 0's ACK is waited for 2 s");
  clock += 1500;
  s.tick();
  s.receive(bytes([ACK]));
  s.receive(bytes([ACK]));
  const shown = String.fromCharCode(...s.receive(bytes([ACK, 0x24, 0x20])));
  const kinds = sent.map((b) => `${b[0]}:${b.length > 1 ? b[1] : "-"}:${b.length}`).join(" ");
  check(kinds === "1:0:133 1:1:133 1:2:133 4:-:1" && done === null && shown === "$ " && s.xmodemReceiver,
    `YMODEM to an XMODEM receiver: block 0, then the data without a C, EOT, done at the prompt (${kinds}, ${JSON.stringify(shown)})`);
  check(modes[0] === "YMODEM" && modes[modes.length - 1] === "XMODEM-1K (CRC)", `the mode shown becomes XMODEM (${modes.join(", ")})`);
}

{
  // YMODEM, EOT acknowledged, then nothing: done, nothing more sent.
  let done = "pending";
  let clock = 0;
  const sent = [];
  const s = new Sender(new Uint8Array(10), { started: () => {}, send: (b) => sent.push(b), progress: () => {}, done: (e) => { done = e; } }, () => clock);
  s.batch = "a";
  s.receive(bytes("C\r"));
  for (const f of [[ACK], "C", [ACK], [ACK]]) {
    s.receive(bytes(f));
  }
  clock += 16000;
  s.tick();
  check(done === null && sent.length === 3, `YMODEM: a receiver that asks for no other file after the EOT is done (${sent.length} sent)`);
}

{
  // YMODEM to a receiver that asks with NAK: block 0 and the data with
  // checksums, in 128-byte blocks.
  const sent = [];
  let done = "pending";
  const s = new Sender(new Uint8Array(300).fill(9), { started: () => {}, send: (b) => sent.push(b), progress: () => {}, done: (e) => { done = e; } });
  s.batch = "u-boot.bin";
  for (const f of [[NAK], [ACK], [NAK], [ACK], [ACK], [ACK], [ACK], [NAK], [ACK]]) {
    s.receive(bytes(f));
  }
  const kinds = sent.map((b) => `${b[0]}:${b.length > 1 ? b[1] : "-"}:${b.length}`).join(" ");
  const sum = sent[0].subarray(3, 131).reduce((a, b) => (a + b) & 0xff, 0);
  check(kinds === "1:0:132 1:1:132 1:2:132 1:3:132 4:-:1 1:0:132" && sent[0][131] === sum && done === null,
    `YMODEM with checksums: block 0 and 128-byte blocks, each with its checksum (${kinds})`);
}

r = run(new Uint8Array(100), ["rb waiting to receive.", 1000, "C", 400]);
check(r.kinds === "1:133", `a C a second after a line's last letter starts it (${r.kinds})`);

const big = new Uint8Array(257 * 1024);
const feeds = ["C", 400];
for (let i = 0; i < 258; i++) {
  feeds.push([ACK]);
}
r = run(big, feeds);
check(r.sent[255][1] === 0 && r.sent[255][2] === 255 && r.sent[256][1] === 1, "block numbers wrap from 255 to 0");
