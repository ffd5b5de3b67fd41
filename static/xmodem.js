// telgate XMODEM sender: sends a file to a host's XMODEM receiver (a
// router's ROMMON "xmodem", a boot loader's "loadx", lrzsz's "rx"), as
// the receiver asks: XMODEM-CRC with 1 KiB blocks when it sends "C"
// (128-byte ones for a receiver that keeps refusing those), classic
// XMODEM with 128-byte blocks and an arithmetic checksum when it sends
// NAK. The file's tail, under 1 KiB, goes in 128-byte blocks, so that
// the padding is under 128 bytes.
//
// With a file name (Sender.batch), it speaks YMODEM instead, for
// receivers that take a name and a size (U-Boot's "loady", lrzsz's
// "rb"): a block 0 with the name and the size first, the file in 1 KiB
// blocks, and an empty block 0 to end the batch; the receiver cuts the
// padding off.
//
// It is the protocol alone, with no page and no socket: the page hands it
// the host's output bytes (receive), a clock tick four times a second
// (tick: a "C" that may be a receiver's is decided within SETTLE_MS),
// and sends what it asks for (io.send); io.progress and io.done say how it
// goes. XMODEM has no file length: the last block is padded with SUB
// (0x1A), which the receiver keeps.
//
// Exported as window.TelgateXmodem = { Sender, crc16 }.
(function () {
  "use strict";

  var SOH = 0x01; // a 128-byte block
  var STX = 0x02; // a 1024-byte block
  var EOT = 0x04;
  var ACK = 0x06;
  var NAK = 0x15;
  var CAN = 0x18;
  var SUB = 0x1a;
  var BS = 0x08;
  var C = 0x43; // "C": the receiver asks for CRCs

  var START_TIMEOUT_MS = 60000; // for the receiver's first C or NAK
  // For the answer to a block or EOT: longer than a receiver's own wait
  // for a block (10 s for lrzsz), so that it asks again first rather than
  // both sides at once, which would have one block sent twice.
  var ANSWER_TIMEOUT_MS = 15000;
  // For YMODEM's C after the ACK of block 0, which a YMODEM receiver
  // sends at once: an XMODEM receiver takes block 0 for a repeat of the
  // block before block 1, acknowledges it, and waits for block 1.
  var OPENED_TIMEOUT_MS = 3000;
  var MAX_RETRIES = 10; // of one block (a NAK, or no answer)
  // How long after a cancel a receiver that asks again (NAK) is sent the
  // CANs again: one that missed them (lrzsz drops what comes within a
  // second of a bad block or a timeout) asks within its 10 s timeout.
  var CANCEL_WATCH_MS = 30000;
  var SMALL_AFTER = 3; // NAKs of a 1 KiB block before 128-byte blocks
  // How long a "C" that may be a receiver's waits for a letter after it
  // that would show it to be text: a console server at 9600 baud hands
  // output over a few bytes at a time.
  var SETTLE_MS = 300;

  // crc16 is the CRC-16/XMODEM (CCITT polynomial 0x1021, initial 0) of
  // bytes[start:end].
  function crc16(bytes, start, end) {
    var crc = 0;
    for (var i = start; i < end; i++) {
      crc ^= bytes[i] << 8;
      for (var b = 0; b < 8; b++) {
        crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
      }
    }
    return crc;
  }

  // Sender sends data (a Uint8Array). io.send(Uint8Array) sends bytes to
  // the host; io.started(mode) says the receiver asked for the file, just
  // before the first block goes; io.progress(sent, total, mode) reports
  // progress; io.done(err) ends it: err null when the receiver took the
  // whole file (unacknowledged says it took every block but did not
  // acknowledge the end), a message otherwise. now is the page's clock,
  // for tests.
  function Sender(data, io, now) {
    this.data = data;
    this.io = io;
    this.now = now || Date.now;
    // waiting; header (YMODEM's block 0 sent), opened (acknowledged: the
    // receiver asks for the data with a C); block; eot; closing (EOT
    // acknowledged: YMODEM's receiver asks for the next file), trailer
    // (the empty block 0 sent); done.
    this.state = "waiting";
    this.batch = null; // the file's name: YMODEM
    this.xmodemReceiver = false; // YMODEM sent, and the receiver speaks XMODEM
    this.crc = false;
    this.big = false; // 1 KiB blocks
    this.prev = -1; // the byte before, while waiting (-1: none)
    this.prevAt = 0; // when it came
    this.candidates = 0; // "C"s the next byte may show to be text
    this.candidateAt = 0; // when the last of them came
    this.offset = 0; // of the block being sent
    this.size = 0; // of the block being sent
    this.number = 1; // of the block being sent
    this.retries = 0;
    this.unacknowledged = false;
    this.cans = 0; // CANs in a row
    this.cancelledAt = 0; // when the receiver was sent CANs (0: never)
    this.since = this.now(); // when the last thing was sent, or the wait began
  }

  Sender.prototype.mode = function () {
    if (this.batch !== null && !this.xmodemReceiver) {
      return this.crc ? "YMODEM" : "YMODEM (checksum)";
    }
    return !this.crc ? "XMODEM (checksum)" : this.big ? "XMODEM-1K (CRC)" : "XMODEM-CRC";
  };

  // started says whether the receiver has asked for the file.
  Sender.prototype.started = function () {
    return this.state !== "waiting";
  };

  // wordByte says whether b may be part of a word of text: a "C" next to
  // one is a letter, not a receiver asking (a router's log line
  // "%SYS-5-CONFIG_I: Configured from console" must not start it, nor
  // "Cédric").
  function wordByte(b) {
    return (b > 0x20 && b < 0x7f && b !== C) || b >= 0x80;
  }

  // receive takes bytes the host sent, and returns those that are the
  // terminal's, not the protocol's: what comes before the receiver's
  // first C or NAK (the echo of the command line, its banner) and after
  // the end (the shell's prompt); an empty array when none. A "C" starts
  // the transfer when it stands alone (no letter, digit or sign next to
  // it, as a receiver sends it, once or in a row): when a byte that is
  // not one follows, or nothing follows for SETTLE_MS (see tick).
  Sender.prototype.receive = function (bytes) {
    var shown = [];
    var i = 0;
    for (; i < bytes.length && this.state !== "done"; i++) {
      var b = bytes[i];
      if (this.state === "waiting") {
        if (this.candidates > 0) {
          if (b === C) {
            this.candidates++;
            continue;
          }
          var cs = this.candidates;
          this.candidates = 0;
          if (wordByte(b) || b === 0x20) {
            for (var k = 0; k < cs; k++) {
              shown.push(C); // text after all
            }
            this.prev = C;
          } else {
            this.start(true);
            i--; // b is the protocol's now
            continue;
          }
        }
        // Alone: after no letter, or after a pause (lrzsz's rb prints
        // "rb waiting to receive." and its C a second later).
        var after = i === 0 ? this.now() - this.prevAt : 0;
        if (b === C && ((!wordByte(this.prev) && this.prev !== 0x20) || after >= SETTLE_MS)) {
          this.candidates = 1;
          continue;
        }
        this.prev = b;
        if (b !== NAK && b !== CAN) {
          this.cans = 0;
          shown.push(b);
          continue;
        }
      }
      if (b === CAN) {
        // Two in a row end the transfer; one alone may be line noise.
        if (++this.cans >= 2) {
          this.finish("the receiver cancelled the transfer");
        }
        continue;
      }
      this.cans = 0;
      switch (this.state) {
        case "waiting": // a NAK
          this.start(false);
          break;
        case "header":
          if (b === ACK) {
            this.state = "opened";
            this.retries = 0;
            this.since = this.now();
          } else if (b === NAK) {
            this.retry();
          }
          break;
        case "opened":
          if (b === C || b === NAK) {
            this.sendData();
          }
          break;
        case "block":
          if (b === ACK) {
            this.offset += this.size;
            this.number = (this.number + 1) & 0xff;
            this.retries = 0;
            this.io.progress(Math.min(this.offset, this.data.length), this.data.length, this.mode());
            if (this.offset >= this.data.length) {
              this.state = "eot";
              this.sendEOT();
            } else {
              this.sendBlock();
            }
          } else if (b === NAK) {
            if (this.size === 1024 && this.retries + 1 >= SMALL_AFTER) {
              this.big = false; // a receiver of XMODEM-CRC without 1 KiB blocks
              this.retries = -1; // and the 128-byte block gets every try
            }
            this.retry();
          }
          // A "C" now is a late one from before the first block: sending
          // that block again would have it acknowledged twice.
          break;
        case "eot":
          if (b === ACK && this.batch !== null) {
            this.state = "closing";
            this.retries = 0;
            this.since = this.now();
          } else if (b === C && this.batch !== null) {
            this.sendTrailer(); // its ACK went missing: it asks for the next file
          } else if (b === ACK) {
            this.finish(null);
          } else if (b === NAK) {
            this.retry();
          } else {
            // The host talks again (a prompt) with the end of the file
            // unacknowledged: the receiver has ended (lrzsz's rx may
            // end with its last ACK unsent). An EOT sent again would go
            // to whatever reads now, as a Ctrl-D to a shell.
            this.unacknowledged = true;
            i--; // the screen's
            this.finish(null);
          }
          break;
        case "closing":
          if (b === C || b === NAK) {
            this.sendTrailer();
          } else if (b !== ACK) {
            i--; // the receiver ended without asking: the screen's
            this.finish(null);
          }
          break;
        case "trailer":
          if (b === ACK) {
            this.finish(null);
          } else if (b === NAK || b === C) {
            this.retry();
          } else {
            i--;
            this.finish(null);
          }
          break;
      }
    }
    if (this.candidates > 0) {
      this.candidateAt = this.now(); // decided by the next byte, or tick
    }
    if (bytes.length > 0) {
      this.prevAt = this.now();
    }
    if (i === bytes.length) {
      return new Uint8Array(shown);
    }
    var rest = new Uint8Array(shown.length + bytes.length - i);
    rest.set(shown, 0);
    rest.set(bytes.subarray(i), shown.length);
    return rest;
  };

  // start starts sending, in the mode the receiver asked for.
  Sender.prototype.start = function (crc) {
    this.crc = crc;
    this.big = crc;
    this.io.started(this.mode());
    if (this.batch !== null) {
      this.sendHeader();
      return;
    }
    this.sendData();
  };

  // sendData sends the file's first block, or EOT for an empty file.
  Sender.prototype.sendData = function () {
    this.retries = 0;
    if (this.data.length === 0) {
      this.state = "eot";
      this.sendEOT();
      return;
    }
    this.sendBlock();
  };

  // tick looks at the clock: a receiver that does not start, or leaves a
  // block or EOT unanswered, is waited for no longer.
  Sender.prototype.tick = function () {
    var waited = this.now() - this.since;
    if (this.state === "waiting" && this.candidates > 0 && this.now() - this.candidateAt >= SETTLE_MS) {
      this.candidates = 0; // nothing showed it to be text
      this.start(true);
    } else if (this.state === "waiting" && waited > START_TIMEOUT_MS) {
      this.finish("the host's receiver did not start (start it first: rx, xmodem, loadx...)");
    } else if (this.state === "opened" && waited > OPENED_TIMEOUT_MS) {
      // No C for the data: an XMODEM receiver, which took block 0 for a
      // repeat and waits for block 1 (lrzsz's rx asks again only after
      // 10 s). A YMODEM receiver whose C is late takes block 1 as well.
      this.xmodemReceiver = true;
      this.sendData();
    } else if (this.state === "closing" && waited > ANSWER_TIMEOUT_MS) {
      this.finish(null); // the file is in; the receiver asks for no other
    } else if (this.state !== "waiting" && this.state !== "done" && waited > ANSWER_TIMEOUT_MS) {
      this.retry();
    }
  };

  // rewait restarts the wait for the receiver's answer: a connection that
  // dropped is back, and the receiver, which may have missed the last
  // block, asks for it again (NAK) before the sender sends it on its own,
  // which would have it twice.
  Sender.prototype.rewait = function () {
    this.since = this.now();
  };

  // cancel ends the transfer, telling the receiver so once it has
  // started: before, the CANs would go to whatever reads the terminal
  // (a shell, say).
  Sender.prototype.cancel = function (why) {
    if (this.state === "done") {
      return;
    }
    if (this.state !== "waiting") {
      this.sendCancel();
      this.cancelledAt = this.now();
    }
    this.finish(why || "cancelled");
  };

  Sender.prototype.sendCancel = function () {
    this.io.send(new Uint8Array([CAN, CAN, CAN, CAN, CAN, CAN, CAN, CAN]));
  };

  // afterCancel takes the host's bytes after a cancel that sent the
  // receiver CANs, all of them the screen's. A receiver that missed the
  // CANs (lrzsz drops what arrives while it recovers from a late or bad
  // block) asks again, with NAK, or with C before it took a first
  // block, and gets them once more; its ACK of the block in flight at
  // the cancel, and the CANs and backspaces it sends as it stops, keep
  // the watch. It returns whether to go on watching: not once other
  // output shows the receiver gone (a shell's prompt; a chunk with
  // anything else in it sends nothing, so that "C:\>" is no ask), nor
  // after CANCEL_WATCH_MS, so that no CAN goes to whatever reads next.
  Sender.prototype.afterCancel = function (bytes) {
    if (this.cancelledAt === 0 || this.now() - this.cancelledAt > CANCEL_WATCH_MS) {
      return false;
    }
    var asked = false;
    for (var i = 0; i < bytes.length; i++) {
      var b = bytes[i];
      if (b === NAK || b === C) {
        asked = true;
      } else if (b !== ACK && b !== CAN && b !== BS) {
        return false;
      }
    }
    if (asked) {
      this.sendCancel();
    }
    return true;
  };

  Sender.prototype.retry = function () {
    if (++this.retries > MAX_RETRIES) {
      var what = this.state === "eot" ? "the end of the file (EOT)" :
        this.state === "header" ? "the file's name and size (block 0)" :
        this.state === "closing" || this.state === "trailer" ? "the end of the batch" : "block " + this.number;
      this.cancel("the receiver did not take " + what + " after " + MAX_RETRIES + " tries");
      return;
    }
    switch (this.state) {
      case "eot":
        this.sendEOT();
        break;
      case "header":
        this.sendHeader();
        break;
      case "trailer":
        this.sendTrailer();
        break;
      case "opened": // the receiver's C went missing
        this.sendData();
        break;
      default:
        this.sendBlock();
    }
  };

  // sendHeader sends YMODEM's block 0: the file's name and its size in
  // decimal, each ended by NUL, padded with NULs.
  Sender.prototype.sendHeader = function () {
    this.state = "header";
    var head = [];
    // An empty name would end the batch: a receiver would take no file.
    var name = this.batch.replace(/[\/\\]/g, "_") || "file";
    for (var i = 0; i < name.length && head.length < 100; i++) {
      var c = name.charCodeAt(i);
      head.push(c > 0x20 && c < 0x7f ? c : 0x5f); // "_" for what a receiver may not take
    }
    head.push(0);
    var size = String(this.data.length);
    for (var j = 0; j < size.length; j++) {
      head.push(size.charCodeAt(j));
    }
    this.sendZero(head);
  };

  // sendTrailer sends YMODEM's empty block 0, which ends the batch.
  Sender.prototype.sendTrailer = function () {
    this.state = "trailer";
    this.sendZero([]);
  };

  // sendZero sends a block 0 (128 bytes) holding body, with a CRC or,
  // to a receiver that asked with NAK (U-Boot's loady after a while), a
  // checksum.
  Sender.prototype.sendZero = function (body) {
    var block = new Uint8Array(3 + 128 + (this.crc ? 2 : 1));
    block[0] = SOH;
    block[1] = 0;
    block[2] = 0xff;
    block.set(body, 3);
    this.seal(block, 128);
    this.since = this.now();
    this.io.send(block);
  };

  // seal writes the CRC or checksum of a block of size bytes at its end.
  Sender.prototype.seal = function (block, size) {
    if (this.crc) {
      var crc = crc16(block, 3, 3 + size);
      block[3 + size] = crc >> 8;
      block[4 + size] = crc & 0xff;
      return;
    }
    var sum = 0;
    for (var i = 3; i < 3 + size; i++) {
      sum = (sum + block[i]) & 0xff;
    }
    block[3 + size] = sum;
  };

  Sender.prototype.sendBlock = function () {
    this.state = "block";
    var left = this.data.length - this.offset;
    // The tail in 128-byte blocks: less padding.
    this.size = this.big && left >= 1024 ? 1024 : 128;
    var block = new Uint8Array(3 + this.size + (this.crc ? 2 : 1));
    block[0] = this.size === 1024 ? STX : SOH;
    block[1] = this.number;
    block[2] = 0xff - this.number;
    var body = this.data.subarray(this.offset, this.offset + this.size);
    block.set(body, 3);
    block.fill(SUB, 3 + body.length, 3 + this.size);
    this.seal(block, this.size);
    this.since = this.now();
    this.io.send(block);
  };

  Sender.prototype.sendEOT = function () {
    this.since = this.now();
    this.io.send(new Uint8Array([EOT]));
  };

  Sender.prototype.finish = function (err) {
    if (this.state === "done") {
      return;
    }
    this.state = "done";
    this.io.done(err);
  };

  window.TelgateXmodem = { Sender: Sender, crc16: crc16 };
})();
