// telgate browser client.
//
// Picks a target (or, where an ad-hoc rule allows, a host by name or
// address), opens an xterm.js terminal and bridges it to the gateway over
// a WebSocket at ws, beside the page (every URL here is relative to the
// page, which may be served under a path prefix). Protocol:
//
//   gateway -> browser  binary frame: host output bytes
//                       text frame:   {"type":"connected",...} (with
//                                     "raw":true, no command toolbar;
//                                     "banner", "color" of the target)
//                                     {"type":"resumed","lost":L,"input":I,"controls":C}
//                                     {"type":"shared","watch":TOKEN}
//                                     {"type":"viewers","users":[U,...],
//                                      "viewers":[{"id":N,"user":U,"typing":B},...]}
//                                     {"type":"warning","reason":"...","in":S}
//                                     {"type":"closed","reason":"..."}
//                                     {"type":"error","message":"..."}
//                                     {"type":"pong"}
//   browser -> gateway  binary frame: keyboard input bytes (a file's
//                                     XMODEM blocks while a transfer is on)
//                       text frame:   {"type":"resize","cols":C,"rows":R}
//                                     {"type":"command","name":N}
//                                     {"type":"ping"}
//                                     {"type":"share"}, {"type":"unshare"}
//                                     {"type":"hand-over","viewer":N}, {"type":"take-back"}
//                                     {"type":"transfer","on":B}
//                                     {"type":"power"} (answered with
//                                     {"type":"power","state":"asked"|"done"|"failed",...})
//
// The recordings (?view=recordings, ?play=NAME) are player.js's.
//
// A page opened with ?watch=TOKEN watches a shared session instead,
// read-only, at ws?watch=TOKEN: it is sent {"type":"watching",...} with
// the session's target, user and window size, then output, and
// {"type":"size","cols":C,"rows":R} when the window size changes. The
// session's user may hand it the keyboard: {"type":"typing","allowed":B}
// says it may type, as the session's page does, or no longer may.
//
// This file is loaded with <script defer> and uses the globals defined by
// the vendored UMD bundles: Terminal, FitAddon.FitAddon,
// WebLinksAddon.WebLinksAddon, SearchAddon.SearchAddon and, where it
// loaded, Unicode11Addon.Unicode11Addon; with ?renderer=webgl it loads
// WebglAddon.WebglAddon itself. It contains no inline handlers, so the page
// runs under a Content-Security-Policy of script-src 'self'.
//
// Test hooks (kept stable on purpose): #terminal, #status[data-state],
// #reconnect, #save, #option-meta, #share, #share-panel, #share-link,
// #share-hide, #share-stop, #viewers, #share-viewers li[data-viewer] button, #find, #find-bar, #find-input,
// #find-status, #sessions-link, #recordings-link, #sessions-view, #sessions-title,
// #sessions-rows tr[data-id], #sessions-rows button.end, #keys, #keybar,
// #clip-panel, #clip-preview, #clip-copy, #clip-always, #clip-ignore,
// #banner, #topbar.marked, #paste-panel, #paste-text, #paste-preview,
// #paste-go, #paste-cancel, #paste-forget, #send-file, #send-file-input,
// #transfer-panel[data-state], #transfer-text, #transfer-progress, #transfer-cancel,
// #transfer-protocol, #transfer-choose,
// #keybar button[data-key], #keybar button[data-mod], #key-break,
// button[data-command], #power, #target-picker a.target, #adhoc-form,
// #adhoc-host and window.telgate = { term, socket, state, target, renderer }.
(function () {
  "use strict";

  // A power request's notices stay while its answer may take (the
  // gateway waits 15 s) and to be read.
  var POWER_NOTICE_MS = 20000;
  // A failed automatic login stays in view while its user logs in by hand.
  var LOGIN_NOTICE_MS = 30000;

  var STATE_LABELS = {
    connecting: "Connecting\u2026",
    connected: "Connected",
    resuming: "Reconnecting\u2026",
    closed: "Closed",
  };
  var RESIZE_DEBOUNCE_MS = 100;
  var INPUT_FRAME = 16 * 1024;
  var NOTICE_MS = 6000;
  var TERM_TYPE = "xterm-256color";
  var DEFAULT_TITLE = "telgate";
  var FALLBACK_FONT = '"DejaVu Sans Mono", "Liberation Mono", Menlo, Consolas, monospace';

  // Written before a new session so that modes left behind by the previous
  // host (mouse tracking, bracketed paste, odd charsets or scroll regions)
  // do not leak into it, while keeping the scrollback. Leaving the
  // alternate screen is done separately, only when it is active, because
  // it also restores the saved cursor position.
  var LEAVE_ALT_SCREEN = "\x1b[?1049l";
  var SESSION_RESET =
    "\x1b[?1000l\x1b[?1002l\x1b[?1003l\x1b[?1006l" + // mouse tracking off
    "\x1b[?2004l" + // bracketed paste off
    "\x1b]104\x07\x1b]110\x07\x1b]111\x07\x1b]112\x07" + // palette, colours, cursor colour back
    "\x1b[!p"; // DECSTR soft reset: charsets, scroll region, origin mode, attributes

  // Written before the line that says a session closed, so that it is
  // readable whatever the host left behind: ST ends a control string the
  // host left unfinished (a title, say, which would swallow the line),
  // SI selects the G0 character set, and the soft reset restores ASCII,
  // the whole screen as scroll region and attributes, leaving the cursor
  // where it is.
  var NOTICE_RESET = "\x1b\\\x0f\x1b[!p";

  // CONNECT_TIMEOUT_MS bounds the WebSocket handshake: a gateway or proxy
  // that never answers would otherwise leave the page connecting for
  // minutes, with no Reconnect to press.
  var CONNECT_TIMEOUT_MS = 20000;

  // Input typed while connecting is kept, up to PENDING_INPUT_MAX bytes,
  // and sent once the socket opens (the gateway holds it until the host
  // is dialled).
  var PENDING_INPUT_MAX = 256 * 1024;

  // While connected the page pings the gateway every KEEPALIVE_MS (the
  // WebSocket's own pings are invisible to a script) and takes the
  // connection for lost when a ping has had no answer, nor anything else
  // come, for PONG_TIMEOUT_MS: a link that dies without a word would
  // otherwise leave the page saying Connected while keys go nowhere. A
  // throttled background tab only pings less often. After more than
  // BUSY_BYTES were sent since the gateway last sent anything (a paste
  // that a slow host is still taking, with the ping behind it), silence
  // proves nothing, and the page waits on.
  var KEEPALIVE_MS = 15000;
  var PONG_TIMEOUT_MS = 20000;
  var BUSY_BYTES = 4096;

  // A connection that drops without a word (Wi-Fi, a VPN reconnecting, a
  // laptop asleep) does not end the session: the gateway holds it for the
  // resume grace it gave in "connected", and the page opens another
  // connection to resume it (ws?resume=TOKEN&received=N), first after
  // RESUME_FIRST_MS, then RESUME_RETRY_MS after each attempt that fails,
  // telling how much output it has received so that
  // what it missed is sent again. Input typed meanwhile is kept, as while
  // connecting.
  var RESUME_FIRST_MS = 300;
  var RESUME_RETRY_MS = 2000;

  // Keys typed before the page noticed a connection had died went into
  // it and were lost: the page keeps the last SENT_KEEP bytes of input it
  // sent, and the control messages among them (a Break, Stop sharing: all
  // but pings, sizes and transfers), and a resume, which says how much input and how
  // many of those the gateway received, sends the rest again.
  var SENT_KEEP = 256 * 1024;

  var el = {
    status: document.getElementById("status"),
    notice: document.getElementById("notice"),
    reconnect: document.getElementById("reconnect"),
    save: document.getElementById("save"),
    sendFile: document.getElementById("send-file"),
    sendFileInput: document.getElementById("send-file-input"),
    transferPanel: document.getElementById("transfer-panel"),
    transferText: document.getElementById("transfer-text"),
    transferProgress: document.getElementById("transfer-progress"),
    transferCancel: document.getElementById("transfer-cancel"),
    transferProtocol: document.getElementById("transfer-protocol"),
    transferChoose: document.getElementById("transfer-choose"),
    find: document.getElementById("find"),
    findBar: document.getElementById("find-bar"),
    findInput: document.getElementById("find-input"),
    findStatus: document.getElementById("find-status"),
    findPrev: document.getElementById("find-prev"),
    findNext: document.getElementById("find-next"),
    findClose: document.getElementById("find-close"),
    optionMeta: document.getElementById("option-meta"),
    serial: document.getElementById("serial"),
    power: document.getElementById("power"),
    serialPanel: document.getElementById("serial-panel"),
    serialText: document.getElementById("serial-text"),
    serialBaud: document.getElementById("serial-baud"),
    serialData: document.getElementById("serial-data"),
    serialParity: document.getElementById("serial-parity"),
    serialStop: document.getElementById("serial-stop"),
    serialFlow: document.getElementById("serial-flow"),
    serialDTR: document.getElementById("serial-dtr"),
    serialRTS: document.getElementById("serial-rts"),
    serialApply: document.getElementById("serial-apply"),
    serialClose: document.getElementById("serial-close"),
    serialLeds: Array.prototype.slice.call(document.querySelectorAll(".serial-led")),
    share: document.getElementById("share"),
    sharePanel: document.getElementById("share-panel"),
    shareViewers: document.getElementById("share-viewers"),
    shareLetType: document.getElementById("share-let-type"),
    shareLink: document.getElementById("share-link"),
    shareCopy: document.getElementById("share-copy"),
    shareStop: document.getElementById("share-stop"),
    shareHide: document.getElementById("share-hide"),
    viewers: document.getElementById("viewers"),
    sessionsLink: document.getElementById("sessions-link"),
    recordingsLink: document.getElementById("recordings-link"),
    sessionsView: document.getElementById("sessions-view"),
    sessionsTitle: document.getElementById("sessions-title"),
    sessionsMessage: document.getElementById("sessions-message"),
    sessionsTable: document.getElementById("sessions-table"),
    sessionsRows: document.getElementById("sessions-rows"),
    pastePanel: document.getElementById("paste-panel"),
    pasteText: document.getElementById("paste-text"),
    pastePreview: document.getElementById("paste-preview"),
    pasteForget: document.getElementById("paste-forget"),
    pasteGo: document.getElementById("paste-go"),
    pasteCancel: document.getElementById("paste-cancel"),
    clipPanel: document.getElementById("clip-panel"),
    clipText: document.getElementById("clip-text"),
    clipPreview: document.getElementById("clip-preview"),
    clipCopy: document.getElementById("clip-copy"),
    clipAlways: document.getElementById("clip-always"),
    clipIgnore: document.getElementById("clip-ignore"),
    toolbar: document.getElementById("toolbar"),
    topbar: document.getElementById("topbar"),
    banner: document.getElementById("banner"),
    keys: document.getElementById("keys"),
    keyBar: document.getElementById("keybar"),
    keyBreak: document.getElementById("key-break"),
    barKeys: Array.prototype.slice.call(document.querySelectorAll("#keybar button")),
    targetName: document.getElementById("target-name"),
    terminal: document.getElementById("terminal"),
    picker: document.getElementById("target-picker"),
    pickerMessage: document.getElementById("picker-message"),
    targetList: document.getElementById("target-list"),
    adhocForm: document.getElementById("adhoc-form"),
    adhocHost: document.getElementById("adhoc-host"),
    commands: Array.prototype.slice.call(document.querySelectorAll("button[data-command]")),
  };

  var term = null;
  var fitAddon = null;
  var serial = null; // the last "serial" message; null: no serial port (see showSerial)
  var serialEdited = {}; // the selects changed and not applied, by field
  var serialAsked = {}; // DTR and RTS as last asked, for a server that does not say
  var serialTimer = 0; // for the server's answer to Apply
  var searchAddon = null;
  var socket = null;
  var state = "connecting";
  var target = null; // a target's name, or an ad-hoc host
  var targetParam = "target"; // or "host": how /ws is told which
  var lastSize = null; // last {cols, rows} the gateway was told about
  var fitTimer = 0;
  var noticeTimer = 0;
  var encoder = new TextEncoder();
  var pending = []; // messages sent while connecting, to go once open
  var pendingBytes = 0;
  var keepalive = 0; // interval timer while connected
  var pingSent = 0; // when the unanswered ping went, or 0
  var sentSinceHeard = 0; // bytes sent since the gateway last sent something
  var pendingDropped = false; // input was dropped while connecting: drop the rest too
  var resumeToken = null; // the session's, while it may be resumed
  var resumeGraceMs = 0;
  var received = 0; // bytes of output received in this session
  var lostAt = 0; // when the connection dropped, while resuming
  var lostReason = ""; // what to say if the session cannot be resumed
  var resumeTimer = 0;
  var inputSent = 0; // bytes of input sent in this session
  var sentInput = []; // the last of them: [{end, bytes}] or [{end, control, number}], oldest first
  var controlsSent = 0; // control messages kept for a resume sent in this session
  var sentKept = 0; // bytes in sentInput
  var shareToken = null; // the session's watch token while it is shared
  var watchToken = null; // in a viewer's page, the token of the session watched
  var watched = false; // a viewer's page was let watch
  var mayType = false; // a viewer's page was handed the keyboard
  var watchOnly = false; // the target's viewers are never handed the keyboard
  var transfer = null; // the file being sent: {sender, name, size}
  var viewportFitted = false; // the page follows the visible viewport (see fitToVisibleViewport)
  var watchedUser = ""; // whose session a viewer's page watches
  var watchedRaw = false; // the watched session's host takes no telnet commands
  var fixedSize = false; // the target's size, not the window's: no fitting
  var idleWarned = false; // the notice says the session closes unless something is typed
  var renderer = ""; // what draws the terminal: "webgl" or "dom"
  var mayPower = false; // the user may power-cycle the session's device

  window.telgate = Object.freeze({
    get term() { return term; },
    get socket() { return socket; },
    get state() { return state; },
    get target() { return target; },
    get renderer() { return renderer; },
  });

  // ---- UI state -----------------------------------------------------------

  // setState updates the badge, the Reconnect button and the toolbar.
  // opts.reason is the close reason; opts.label overrides the label.
  function setState(next, opts) {
    opts = opts || {};
    state = next;
    if (next === "resuming") {
      markTitle("reconnecting");
    } else if (titleMark === "reconnecting") {
      markTitle("");
    }
    var text = opts.label || STATE_LABELS[next];
    if (next === "closed" && opts.reason) {
      text += ": " + opts.reason;
    }
    el.status.dataset.state = next;
    el.status.textContent = text;
    el.status.title = text;
    // A viewer reloads the page to watch again, if the session is still
    // shared.
    el.reconnect.hidden = next !== "closed" || !target || watchToken !== null;
    el.commands.forEach(function (btn) {
      btn.disabled = next !== "connected";
    });
    el.share.hidden = watchToken !== null || (next !== "connected" && next !== "resuming");
    if (el.share.hidden) {
      el.sharePanel.hidden = true;
    }
    showSerial();
    el.power.hidden = !mayPower || (next !== "connected" && next !== "resuming");
  }

  // Power asks first: the device restarts at once, and whatever runs on
  // it stops. The button stays disabled while the power controller is
  // asked; the answer shows as a notice.
  el.power.addEventListener("click", function () {
    if (!window.confirm("Power-cycle the device behind " + target + "?\n\n" +
        "It restarts at once: whatever runs on it stops, and unsaved work on it is lost.")) {
      return;
    }
    el.power.disabled = true;
    sendControl({ type: "power" });
    showNotice("asking the power controller to power-cycle " + target + "\u2026", POWER_NOTICE_MS);
  });

  function powerAnswered(msg) {
    switch (msg.state) {
      case "asked":
        el.power.disabled = true;
        break;
      case "done":
        el.power.disabled = false;
        showNotice("power cycle done (" + printable(String(msg.status || "")) + "): the device restarts", POWER_NOTICE_MS);
        break;
      default:
        el.power.disabled = false;
        showNotice("power cycle failed: " + printable(String(msg.error || "no answer")), POWER_NOTICE_MS, true);
    }
  }

  function hideNotice() {
    clearTimeout(noticeTimer);
    el.notice.hidden = true;
  }

  // showNotice shows text in the top bar for NOTICE_MS, or ms; an urgent
  // notice shows on a narrow screen too.
  function showNotice(text, ms, urgent) {
    el.notice.textContent = text;
    el.notice.title = text;
    el.notice.hidden = false;
    el.notice.classList.toggle("urgent", urgent === true);
    clearTimeout(noticeTimer);
    noticeTimer = setTimeout(function () {
      el.notice.hidden = true;
    }, ms || NOTICE_MS);
  }

  // The tab's title is the host's (or the target's), marked "(closed)"
  // once the session ended, "(idle)" or "(ending)" while it is about to,
  // and "(reconnecting)" while the page resumes it: what a tab in the
  // background can say.
  var baseTitle = DEFAULT_TITLE;
  var titleMark = "";

  function setTitle(t) {
    baseTitle = t;
    showTitle();
  }

  function markTitle(m) {
    titleMark = m;
    showTitle();
  }

  function showTitle() {
    document.title = (titleMark ? "(" + titleMark + ") " : "") + baseTitle;
  }

  // warnOfEnd says the session is about to end: for being idle (the
  // notice goes with the next key, which keeps the session) or for its
  // time limit.
  function warnOfEnd(msg) {
    if (state !== "connected") {
      return;
    }
    var secs = Math.max(1, Math.round(Number(msg.in) || 0));
    idleWarned = msg.reason === "idle timeout";
    markTitle(idleWarned ? "idle" : "ending");
    if (idleWarned) {
      showNotice("idle: this session closes in " + secs + " s unless you type", secs * 1000, true);
    } else {
      showNotice("this session reaches its time limit in " + secs + " s", secs * 1000, true);
    }
  }

  // endWarning takes a warning away: the session went on, or ended.
  function endWarning() {
    idleWarned = false;
    if (titleMark === "idle" || titleMark === "ending") {
      markTitle("");
    }
    if (el.notice.classList.contains("urgent")) {
      hideNotice();
    }
  }

  // printable removes control characters so that text coming from the
  // gateway cannot inject escape sequences when echoed into the terminal.
  function printable(s) {
    return String(s).replace(/[\x00-\x1f\x7f-\x9f]+/g, " ").trim();
  }

  // ---- Target selection ---------------------------------------------------

  function loadTargets() {
    return fetch("api/targets", {
      headers: { Accept: "application/json" },
      cache: "no-store",
      credentials: "same-origin",
    }).then(function (resp) {
      if (!resp.ok) {
        throw new Error("HTTP " + resp.status);
      }
      return resp.json();
    }).then(function (body) {
      if (!body || !Array.isArray(body.targets)) {
        throw new Error("malformed response");
      }
      return {
        targets: body.targets.filter(function (t) {
          return t && typeof t.name === "string" && t.name !== "";
        }),
        adhoc: body.adhoc === true,
        sessions: body.sessions === true,
        recordings: body.recordings === true,
      };
    });
  }

  // showPicker lists the targets, and offers the host field when an
  // ad-hoc rule is open to the user.
  function showPicker(targets, adhoc, err) {
    target = null;
    el.terminal.hidden = true;
    el.toolbar.hidden = true;
    el.picker.hidden = false;
    el.targetName.textContent = "no target selected";
    setState("closed", { label: "Not connected" });

    el.targetList.textContent = "";
    el.adhocForm.hidden = !adhoc;
    if (err) {
      el.pickerMessage.textContent = "Could not load the list of targets (" + err.message + ").";
      el.pickerMessage.classList.add("error");
      return;
    }
    if (targets.length === 0) {
      el.pickerMessage.textContent = adhoc ? "No targets are configured for you." :
        "No targets are configured on this gateway.";
      if (adhoc) {
        el.adhocHost.focus();
      }
      return;
    }
    el.pickerMessage.textContent = "Select the host to open a terminal session on.";
    targets.forEach(function (t) {
      var a = document.createElement("a");
      a.className = "target";
      if (isColor(t.color)) {
        a.style.borderLeftColor = t.color;
        a.classList.add("marked");
      }
      a.href = "?target=" + encodeURIComponent(t.name) + rendererQuery();
      var name = document.createElement("span");
      name.className = "name";
      name.textContent = t.name;
      a.appendChild(name);
      if (t.description) {
        var desc = document.createElement("span");
        desc.className = "description";
        desc.textContent = t.description;
        desc.title = t.description;
        a.appendChild(desc);
      }
      var li = document.createElement("li");
      li.appendChild(a);
      el.targetList.appendChild(li);
    });
    var first = el.targetList.querySelector("a.target");
    if (first) {
      first.focus();
    }
  }

  // isColor reports whether c is a target's color, as the gateway checks
  // it (#RGB or #RRGGBB), fit for a style.
  function isColor(c) {
    return typeof c === "string" && /^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$/.test(c);
  }

  // markTarget shows the target's banner above the terminal and its
  // color on the top bar, or takes them away (see "connected").
  function markTarget(msg) {
    var banner = typeof msg.banner === "string" ? printable(msg.banner) : "";
    el.banner.textContent = banner;
    el.banner.hidden = banner === "";
    var marked = isColor(msg.color);
    el.topbar.classList.toggle("marked", marked);
    if (marked) {
      el.topbar.style.setProperty("--target-color", msg.color);
    }
  }

  // ---- Terminal -----------------------------------------------------------

  function monoFont() {
    var f = getComputedStyle(document.documentElement).getPropertyValue("--mono-font").trim();
    return f || FALLBACK_FONT;
  }

  // newTerminal makes a terminal with the page's look; extra adds to its
  // options.
  function newTerminal(extra) {
    var opts = {
      allowProposedApi: true, // term.unicode, for Unicode 11's widths
      scrollback: 5000,
      cursorBlink: true,
      convertEol: false, // the host sends CR LF itself
      fontFamily: monoFont(),
      fontSize: 14,
      theme: {
        background: "#0d1117",
        foreground: "#c9d1d9",
        cursor: "#c9d1d9",
        cursorAccent: "#0d1117",
        selectionBackground: "rgba(56, 139, 253, 0.35)",
        black: "#484f58",
        red: "#ff7b72",
        green: "#3fb950",
        yellow: "#d29922",
        blue: "#58a6ff",
        magenta: "#bc8cff",
        cyan: "#39c5cf",
        white: "#b1bac4",
        brightBlack: "#6e7681",
        brightRed: "#ffa198",
        brightGreen: "#56d364",
        brightYellow: "#e3b341",
        brightBlue: "#79c0ff",
        brightMagenta: "#d2a8ff",
        brightCyan: "#56d4dd",
        brightWhite: "#f0f6fc",
      },
    };
    Object.keys(extra || {}).forEach(function (k) {
      opts[k] = extra[k];
    });
    return new Terminal(opts);
  }

  // rendererQuery is what a link to another session of the page keeps of
  // its address: the renderer asked for.
  function rendererQuery() {
    var r = new URLSearchParams(location.search).get("renderer");
    return r === "webgl" ? "&renderer=webgl" : "";
  }

  // openTerminal opens t in element, with Unicode 11's character widths
  // (emoji two columns), closer to what hosts' C libraries give than
  // xterm.js's default. xterm.js's DOM renderer draws it;
  // ?renderer=webgl asks for its WebGL renderer, whose script is loaded
  // then only. WebGL is not the default: where the browser has no GPU to
  // give it (a virtual desktop, a server, a GPU on its block list) it
  // draws in software, if at all, which in Chromium drew a flood of
  // output 5 to 10 times slower than the DOM did (e2e/renderbench.mjs). When
  // its context is lost (the GPU process restarted), the DOM renderer
  // takes over. onRenderer, if given, hears which draws.
  function openTerminal(t, element, onRenderer) {
    var said = onRenderer || function () {};
    t.open(element);
    if (typeof Unicode11Addon === "object") {
      t.loadAddon(new Unicode11Addon.Unicode11Addon());
      t.unicode.activeVersion = "11";
    }
    said("dom");
    if (new URLSearchParams(location.search).get("renderer") !== "webgl") {
      return;
    }
    var script = document.createElement("script");
    script.src = "static/vendor/addon-webgl/addon-webgl.js";
    script.onload = function () {
      if (!t.element || !t.element.isConnected) {
        return; // closed meanwhile
      }
      try {
        var webgl = new WebglAddon.WebglAddon();
        webgl.onContextLoss(function () {
          webgl.dispose();
          said("dom");
        });
        t.loadAddon(webgl);
        said("webgl");
      } catch (e) {
        console.warn("telgate: no WebGL renderer here (" + e.message + "); the DOM renderer draws");
      }
    };
    script.onerror = function () {
      console.warn("telgate: the WebGL renderer did not load; the DOM renderer draws");
    };
    document.head.appendChild(script);
  }

  function createTerminal() {
    term = newTerminal({
      disableStdin: watchToken !== null, // a viewer's keys would go nowhere
    });
    fitAddon = new FitAddon.FitAddon();
    term.loadAddon(fitAddon);
    // A plain click is for the terminal (focus, selection, a mouse-aware
    // program); a link in the output opens with Ctrl held (Cmd on a
    // Mac), as in most terminals.
    term.loadAddon(new WebLinksAddon.WebLinksAddon(function (event, uri) {
      if (event.ctrlKey || event.metaKey) {
        window.open(uri, "_blank", "noopener,noreferrer");
      }
    }));
    searchAddon = new SearchAddon.SearchAddon();
    term.loadAddon(searchAddon);
    term.parser.registerOscHandler(52, hostCopies);
    openTerminal(term, el.terminal, function (r) {
      // The renderers measure cells differently (WebGL rounds them to
      // whole pixels): the columns that fit change with them.
      if (renderer !== "" && renderer !== r) {
        scheduleFit();
      }
      renderer = r;
    });
    guardPastes();
    // Ctrl+Shift+F (Cmd+Shift+F on a Mac) finds in the scrollback; Ctrl+F
    // stays the host's (readline's forward-char).
    term.attachCustomKeyEventHandler(function (ev) {
      if (ev.type === "keydown" && (ev.ctrlKey || ev.metaKey) && ev.shiftKey && !ev.altKey &&
          (ev.key === "F" || ev.key === "f")) {
        ev.preventDefault();
        openFind();
        return false;
      }
      return true;
    });

    term.onData(function (data) {
      typed(withModifiers(data));
    });

    // onBinary carries non-UTF-8 input (e.g. some mouse reports): one byte
    // per character.
    term.onBinary(function (data) {
      if (!mayInput() || state === "closed" || transferring()) {
        return;
      }
      var bytes = new Uint8Array(data.length);
      for (var i = 0; i < data.length; i++) {
        bytes[i] = data.charCodeAt(i) & 0xff;
      }
      send(bytes);
    });

    term.onResize(function (size) {
      if (watchToken === null && !fixedSize) {
        sendResize(size.cols, size.rows);
      }
    });

    term.onTitleChange(function (title) {
      title = printable(title);
      setTitle(title ? title + " \u2014 " + DEFAULT_TITLE : target + " \u2014 " + DEFAULT_TITLE);
    });

    if (watchToken !== null) {
      return; // a viewer's terminal takes the session's window size
    }
    if (typeof ResizeObserver === "function") {
      new ResizeObserver(scheduleFit).observe(el.terminal);
    } else {
      window.addEventListener("resize", scheduleFit);
    }
    if (document.fonts && document.fonts.ready) {
      document.fonts.ready.then(scheduleFit);
    }
  }

  // typed takes what was typed: keys, a paste, a key of the key bar.
  // While closed, Enter starts a new session; other keys are ignored.
  function typed(data) {
    if (!mayInput()) {
      return;
    }
    if (transferring()) {
      showNotice("a file is being sent: cancel it to type");
      return;
    }
    if (state === "closed") {
      if (data === "\r") {
        reconnect();
      }
      return;
    }
    if (idleWarned) {
      endWarning();
    }
    sendInput(encoder.encode(data));
  }

  // mayInput says whether what is typed goes anywhere: the session's own
  // page, or a viewer's handed the keyboard.
  function mayInput() {
    return watchToken === null || mayType;
  }

  function fitNow() {
    clearTimeout(fitTimer);
    if (!term || watchToken !== null || fixedSize || el.terminal.clientWidth === 0 || el.terminal.clientHeight === 0) {
      return;
    }
    try {
      fitAddon.fit();
    } catch (e) {
      console.warn("telgate: fit failed", e);
    }
  }

  function scheduleFit() {
    clearTimeout(fitTimer);
    fitTimer = setTimeout(fitNow, RESIZE_DEBOUNCE_MS);
  }

  // ---- WebSocket ----------------------------------------------------------

  function isOpen() {
    return socket !== null && socket.readyState === WebSocket.OPEN;
  }

  // send sends a message, or keeps it for when the connection is open;
  // control says it is a control message a resume may send again.
  function send(data, control) {
    var size = typeof data === "string" ? data.length : data.byteLength;
    if (isOpen() && state !== "resuming") {
      socket.send(data);
      var block = typeof data !== "string" && transferring();
      if (!block) {
        // A block is answered, or resent and then given up: the
        // keepalive need not wait for it, as for a paste.
        sentSinceHeard += size;
      }
      if (typeof data !== "string") {
        keepSent(data, block);
      } else if (control) {
        controlsSent++;
        sentInput.push({ end: inputSent, control: data, number: controlsSent });
      }
      return;
    }
    var waiting = state === "resuming" || (socket !== null && socket.readyState === WebSocket.CONNECTING);
    if (!waiting || pendingDropped) {
      return;
    }
    if (pendingBytes + size > PENDING_INPUT_MAX) {
      // Not a part of what was typed: none of the rest either.
      pendingDropped = true;
      showNotice(state === "resuming" ? "input dropped: still reconnecting" : "input dropped: still connecting");
      return;
    }
    // A copy: a paste's frames are views of one buffer.
    pending.push({ data: typeof data === "string" ? data : data.slice(), control: control === true });
    pendingBytes += size;
  }

  // keepSent keeps input sent, for a resume to send again; a transfer's
  // is counted (the gateway counts it), in a place of its own that holds
  // no bytes: a transfer is not taken up again (see resendAfter).
  function keepSent(bytes, transferred) {
    inputSent += bytes.byteLength;
    if (transferred) {
      var last = sentInput[sentInput.length - 1];
      if (last && last.skipped) {
        last.skipped += bytes.byteLength;
        last.end = inputSent;
      } else {
        sentInput.push({ end: inputSent, skipped: bytes.byteLength });
      }
      return;
    }
    sentInput.push({ end: inputSent, bytes: bytes.slice() });
    sentKept += bytes.byteLength;
    // The oldest input goes with the control messages sent before it,
    // and not before: a Break stays while the keys typed after it do.
    for (;;) {
      var i = 0;
      while (i < sentInput.length && !sentInput[i].bytes) {
        i++;
      }
      if (i >= sentInput.length - 1 || sentKept - sentInput[i].bytes.byteLength < SENT_KEEP) {
        return;
      }
      sentKept -= sentInput[i].bytes.byteLength;
      sentInput.splice(0, i + 1);
    }
  }

  // resendAfter sends again the input sent after the first received
  // bytes of it, and the control messages after the first
  // receivedControls, which the gateway did not get, in the order they
  // were first sent; not a transfer's blocks, which are given up. What
  // is kept is then counted afresh from received, as the gateway counts
  // what it gets from now on. It returns what of that it no longer had
  // to send: {bytes, controls}.
  function resendAfter(received, receivedControls) {
    var lost = { bytes: 0, controls: 0 };
    if (!(received >= 0)) {
      received = inputSent; // nothing to go by
    }
    if (!(receivedControls >= 0)) {
      receivedControls = controlsSent;
    }
    var first = sentInput.filter(function (c) { return !c.control; })[0];
    var oldest = first ? first.end - keptLength(first) : inputSent;
    if (received < oldest) {
      lost.bytes = oldest - received;
    }
    var firstControl = sentInput.filter(function (c) { return c.control; })[0];
    var oldestControl = firstControl ? firstControl.number : controlsSent + 1;
    if (receivedControls < oldestControl - 1) {
      lost.controls = oldestControl - 1 - receivedControls;
    }
    var kept = [];
    var end = Math.max(received, 0);
    var number = receivedControls;
    sentInput.forEach(function (c) {
      if (c.control) {
        if (c.number > receivedControls) {
          socket.send(c.control);
          sentSinceHeard += c.control.length;
          number++;
          kept.push({ end: c.end, control: c.control, number: number });
        } else {
          kept.push(c);
        }
        return;
      }
      if (c.end <= received) {
        kept.push(c);
        return;
      }
      if (c.skipped) {
        return; // blocks of a transfer: not sent again, nor counted
      }
      var from = Math.max(received - (c.end - c.bytes.byteLength), 0);
      socket.send(c.bytes.subarray(from));
      sentSinceHeard += c.bytes.byteLength - from;
      end += c.bytes.byteLength - from;
      kept.push({ end: end, bytes: c.bytes });
    });
    sentInput = kept;
    inputSent = Math.max(end, received);
    controlsSent = number; // and the controls, as the gateway counts them from now on
    return lost;
  }

  // keptLength is how many bytes of input an entry of sentInput stands
  // for.
  function keptLength(c) {
    return c.bytes ? c.bytes.byteLength : c.skipped || 0;
  }

  // flushPending sends what was typed while connecting.
  function flushPending() {
    var queued = pending;
    pending = [];
    pendingBytes = 0;
    queued.forEach(function (p) {
      send(p.data, p.control);
    });
  }

  // sendInput sends keyboard input. A large paste goes in frames of at
  // most INPUT_FRAME bytes, well under the gateway's message size limit.
  function sendInput(bytes) {
    for (var i = 0; i < bytes.length; i += INPUT_FRAME) {
      send(bytes.subarray(i, i + INPUT_FRAME));
    }
  }

  // sendControl sends a control message. A resume sends those that went
  // into a dead connection again, but pings, sizes (sent afresh) and
  // transfers (not taken up again), as the gateway counts them.
  function sendControl(msg) {
    send(JSON.stringify(msg), msg.type !== "ping" && msg.type !== "resize" && msg.type !== "transfer");
  }

  // sendResize tells the gateway the terminal size, only when it changed.
  function sendResize(cols, rows) {
    if (!isOpen()) {
      return; // the size goes into the URL of the next connection
    }
    if (lastSize && lastSize.cols === cols && lastSize.rows === rows) {
      return;
    }
    lastSize = { cols: cols, rows: rows };
    sendControl({ type: "resize", cols: cols, rows: rows });
  }

  // dropSocket lets go of the current socket, closing it.
  function dropSocket() {
    if (socket) {
      var old = socket;
      socket = null;
      old.onopen = old.onmessage = old.onclose = old.onerror = null;
      if (old.readyState === WebSocket.CONNECTING || old.readyState === WebSocket.OPEN) {
        old.close(1000);
      }
    }
  }

  // socketURL is the WebSocket URL for a query: relative to the page, as
  // every URL it asks for is, so that it works under a path prefix (a
  // reverse proxy's, or http.base_path).
  function socketURL(query) {
    var wsURL = new URL("ws?" + query.toString(), document.baseURI);
    wsURL.protocol = location.protocol === "https:" ? "wss:" : "ws:";
    return wsURL.href;
  }

  function connect() {
    dropSocket();
    clearTimeout(resumeTimer);
    resumeToken = null;
    received = 0;
    inputSent = 0;
    sentInput = [];
    sentKept = 0;
    controlsSent = 0;

    fitNow(); // so the URL carries the real size
    lastSize = { cols: term.cols, rows: term.rows };
    setShared(null);
    showViewers([]);
    var query = new URLSearchParams();
    if (watchToken !== null) {
      query.set("watch", watchToken);
    } else {
      query.set(targetParam, target);
      query.set("cols", String(term.cols));
      query.set("rows", String(term.rows));
      query.set("term", TERM_TYPE);
      query.set("resumable", "1");
    }
    var url = socketURL(query);

    setState("connecting");
    pending = [];
    pendingBytes = 0;
    pendingDropped = false;
    sentSinceHeard = 0;
    var ws;
    try {
      ws = new WebSocket(url);
    } catch (e) {
      sessionClosed(e.message || "cannot connect");
      return;
    }
    ws.binaryType = "arraybuffer";
    socket = ws;
    var opened = false;
    var handshake = setTimeout(function () {
      if (socket !== ws || ws.readyState !== WebSocket.CONNECTING) {
        return;
      }
      ws.onclose = null;
      ws.close();
      sessionClosed("no answer from the gateway in " + CONNECT_TIMEOUT_MS / 1000 + " s");
    }, CONNECT_TIMEOUT_MS);

    ws.onopen = function () {
      opened = true;
      clearTimeout(handshake);
      // The window may have been resized while the handshake was running.
      sendResize(term.cols, term.rows);
      flushPending();
    };
    ws.onmessage = messageHandler(ws);
    ws.onclose = function (ev) {
      clearTimeout(handshake);
      if (socket === ws) {
        stopKeepalive();
      }
      if (socket !== ws || state === "closed") {
        return; // stale socket, or already closed by a "closed" message
      }
      if (!opened) {
        // Refused before the upgrade: the browser does not say why.
        explainRefusal(ws, query);
        return;
      }
      if (ev.code === 1006 && resumeToken && state === "connected") {
        connectionDropped("connection lost"); // no close frame: the network, not the gateway
        return;
      }
      sessionClosed(printable(ev.reason || "") || CLOSE_CODES[ev.code] || "connection lost");
    };
  }

  // connectionDropped starts resuming the session after its connection
  // dropped; reason is what to say if it cannot be resumed. The old
  // socket is let go of without a close frame, which, were the
  // connection alive after all, would end the session: the resume takes
  // the session over from it.
  function connectionDropped(reason) {
    if (socket) {
      socket.onopen = socket.onmessage = socket.onclose = socket.onerror = null;
      socket = null;
    }
    stopKeepalive();
    lostAt = Date.now();
    lostReason = reason;
    // A size sent into the dead connection is sent again once resumed,
    // and input is kept again even if some was dropped before.
    lastSize = null;
    pendingDropped = false;
    setState("resuming");
    // A transfer waits for the resume (see transferResumed).
    showNotice("connection lost: reconnecting\u2026");
    clearTimeout(resumeTimer);
    resumeTimer = setTimeout(resume, RESUME_FIRST_MS);
  }

  // RESUME_CHECK_MS bounds the question to /api/check whether the
  // session can still be resumed: on a network that drops everything it
  // would otherwise wait for minutes.
  var RESUME_CHECK_MS = 5000;

  // checkResume asks the gateway whether the session can be resumed
  // (GET /api/check with the resume's query), and calls done with "ok",
  // "unreachable" or the reason it cannot be.
  function checkResume(query, done) {
    var opts = { cache: "no-store", credentials: "same-origin" };
    if (typeof AbortSignal.timeout === "function") {
      opts.signal = AbortSignal.timeout(RESUME_CHECK_MS);
    }
    fetch("api/check?" + query.toString(), opts).then(function (resp) {
      if (resp.ok) {
        done("ok");
      } else if (resp.status === 404) {
        done("connection lost; the session ended meanwhile");
      } else if (resp.status >= 400 && resp.status < 500) {
        done("connection lost; the session cannot be resumed (HTTP " + resp.status + ")");
      } else {
        done("unreachable"); // a proxy's 502 while the gateway restarts, say
      }
    }, function () {
      done("unreachable");
    });
  }

  function resumeQuery() {
    var query = new URLSearchParams();
    query.set("resume", resumeToken);
    query.set("received", String(received));
    return query;
  }

  // resume opens a connection resuming the session, until the grace is
  // over or the gateway says the session has ended. Past the grace as the
  // page counts it, it asks the gateway, which may have noticed the drop
  // later, and goes on trying while it can still be resumed.
  function resume() {
    if (state !== "resuming") {
      return;
    }
    if (Date.now() - lostAt > resumeGraceMs) {
      checkResume(resumeQuery(), function (verdict) {
        if (state !== "resuming") {
          return;
        }
        if (verdict === "ok") {
          attemptResume();
        } else {
          sessionClosed(verdict === "unreachable" ? lostReason : verdict);
        }
      });
      return;
    }
    attemptResume();
  }

  function attemptResume() {
    var query = resumeQuery();
    var ws;
    try {
      ws = new WebSocket(socketURL(query));
    } catch (e) {
      sessionClosed(e.message || "cannot reconnect");
      return;
    }
    ws.binaryType = "arraybuffer";
    socket = ws;
    var retry = function () {
      if (socket === ws) {
        socket = null;
        clearTimeout(resumeTimer);
        resumeTimer = setTimeout(resume, RESUME_RETRY_MS);
      }
    };
    // Bounds the whole attempt: a connection that opens but is never
    // answered (a proxy that stalls) is given up too. It is let go of
    // without a close frame once open: the next resume takes over from
    // it, where a close would end the session.
    var attemptTimeout = setTimeout(function () {
      if (socket !== ws || state !== "resuming") {
        return;
      }
      ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
      if (ws.readyState === WebSocket.CONNECTING) {
        ws.close();
      }
      retry();
    }, CONNECT_TIMEOUT_MS);
    // Once resumed, the timeout finds the page no longer resuming and
    // does nothing.
    ws.onmessage = messageHandler(ws);
    ws.onclose = function (ev) {
      clearTimeout(attemptTimeout);
      if (socket !== ws || state === "closed") {
        return;
      }
      if (state === "connected") {
        stopKeepalive();
        if (ev.code === 1006) {
          connectionDropped("connection lost");
        } else {
          sessionClosed(printable(ev.reason || "") || CLOSE_CODES[ev.code] || "connection lost");
        }
        return;
      }
      // Not resumed: the gateway may be out of reach still, or the
      // session may have ended; /api/check tells which.
      checkResume(query, function (verdict) {
        if (socket !== ws) {
          return;
        }
        if (verdict === "ok" || verdict === "unreachable") {
          retry();
          return;
        }
        socket = null;
        sessionClosed(verdict);
      });
    };
  }

  // messageHandler handles what the gateway sends on ws, a session's
  // first connection or one that resumes it, while ws is the page's.
  function messageHandler(ws) {
    return function (ev) {
      if (socket !== ws) {
        return;
      }
      pingSent = 0; // anything that comes answers the ping
      sentSinceHeard = 0;
      if (typeof ev.data === "string") {
        handleControl(ev.data);
      } else {
        received += ev.data.byteLength;
        if (transfer !== null) {
          // The protocol's, but what comes before it starts and after
          // it ends.
          var shown = transfer.sender.receive(new Uint8Array(ev.data));
          if (shown.length > 0) {
            term.write(shown);
          }
        } else {
          var data = new Uint8Array(ev.data);
          if (cancelledSender !== null && !cancelledSender.afterCancel(data)) {
            cancelledSender = null;
          }
          term.write(data);
        }
        if (idleWarned) {
          endWarning(); // output keeps the session as typing does
        }
      }
    };
  }

  // CLOSE_CODES name the close codes that may come without a reason: the
  // WebSocket library closes with them itself, before the gateway can
  // send its "closed" message.
  var CLOSE_CODES = {
    1002: "protocol error",
    1009: "message too big",
  };

  // explainRefusal asks the gateway what it would answer to the same
  // request (GET /api/check, which takes no session and spends no rate),
  // and closes the session with that reason.
  function explainRefusal(ws, query) {
    fetch("api/check?" + query.toString(), { cache: "no-store", credentials: "same-origin" })
      .then(function (resp) {
        if (resp.ok) {
          // It would be let in now: whatever failed (a refusal that has
          // passed, a proxy, the network) did not say why.
          return "could not connect; try again";
        }
        // The time to wait matters for the connect rate; a full gateway
        // frees a slot when some session ends.
        var retry = resp.status === 429 && resp.headers.get("Retry-After");
        var fallback = "refused (HTTP " + resp.status + ")";
        return resp.json().then(function (body) {
          var msg = printable((body && body.error) || "") || fallback;
          return retry ? msg + " (try again in " + retry + " s)" : msg;
        }, function () {
          return fallback;
        });
      }, function () {
        return "connection lost";
      })
      .then(function (reason) {
        if (socket === ws) {
          sessionClosed(reason);
        }
      });
  }

  function handleControl(text) {
    var msg;
    try {
      msg = JSON.parse(text);
    } catch (e) {
      console.warn("telgate: ignoring malformed control message", text);
      return;
    }
    switch (msg && msg.type) {
      case "connected":
        if (msg.description) {
          el.targetName.title = target + " \u2014 " + printable(msg.description);
        }
        markTarget(msg);
        endWarning(); // of a session before this one
        watchOnly = msg.watch_only === true;
        mayPower = msg.power === true;
        el.power.disabled = false;
        el.shareLetType.hidden = watchOnly;
        // A host that speaks plain TCP takes no telnet commands.
        el.toolbar.hidden = el.keyBreak.hidden = msg.raw === true;
        // A target of fixed size: the terminal takes it, whatever the
        // window, and the page sends no sizes. A session after it (a
        // reload may have changed the target) fits the window again.
        fixedSize = msg.cols > 0 && msg.rows > 0;
        if (fixedSize) {
          resizeTo(msg.cols, msg.rows);
          lastSize = { cols: term.cols, rows: term.rows };
        } else {
          el.terminal.classList.remove("sized");
          fitNow();
        }
        serial = null; // until this session's host agrees (see "serial")
        serialAsked = {};
        resumeToken = typeof msg.resume === "string" ? msg.resume : null;
        resumeGraceMs = (Number(msg.resume_grace) || 0) * 1000;
        setState("connected");
        startKeepalive(socket);
        break;
      case "warning":
        warnOfEnd(msg);
        break;
      case "resumed":
        if (state !== "resuming") {
          break;
        }
        setState("connected");
        hideNotice();
        if (msg.lost > 0) {
          term.write(NOTICE_RESET + "\r\n\x1b[0;2m[" + msg.lost + " bytes of output lost while disconnected]\x1b[0m\r\n");
        }
        startKeepalive(socket);
        // What was typed into the dead connection, then what was typed
        // while reconnecting, in that order.
        var lost = resendAfter(Number(msg.input), Number(msg.controls));
        transferResumed();
        if (lost.bytes > 0 || lost.controls > 0) {
          showNotice((lost.bytes > 0 ? lost.bytes + (lost.bytes === 1 ? " byte typed" : " bytes typed") : "") +
            (lost.bytes > 0 && lost.controls > 0 ? " and " : "") +
            (lost.controls > 0 ? lost.controls + (lost.controls === 1 ? " button pressed" : " buttons pressed") : "") +
            " before the connection was lost could not be sent again");
        }
        sendResize(term.cols, term.rows); // if the window changed meanwhile
        flushPending();
        pendingDropped = false;
        break;
      case "watching":
        if (watchToken === null) {
          break;
        }
        target = printable(msg.target || "") || "shared session";
        watchedUser = printable(msg.user || "");
        watchedRaw = msg.raw === true;
        el.targetName.textContent = target;
        el.targetName.title = target + (msg.description ? " \u2014 " + printable(msg.description) : "");
        setTitle("watching " + target + " \u2014 " + DEFAULT_TITLE);
        watched = true;
        markTarget(msg);
        term.reset(); // what the session kept of its output comes next
        resizeTo(msg.cols, msg.rows);
        setState("connected", { label: watchingLabel() });
        startKeepalive(socket);
        break;
      case "typing":
        if (watchToken !== null && watched && state === "connected") {
          setTyping(msg.allowed === true);
        }
        break;
      case "size":
        if (watchToken !== null) {
          resizeTo(msg.cols, msg.rows);
        }
        break;
      case "shared":
        if (typeof msg.watch === "string" && msg.watch !== "") {
          setShared(msg.watch);
          el.serialPanel.hidden = true; // they take the same place
          showSerial();
          el.sharePanel.hidden = false;
          el.shareLink.focus();
          el.shareLink.select();
        }
        break;
      case "viewers":
        if (state !== "closed") {
          showViewers(Array.isArray(msg.viewers) ? msg.viewers : []);
        }
        break;
      case "power":
        if (watchToken === null) {
          powerAnswered(msg);
        }
        break;
      case "login":
        // The target's automatic login failed: the terminal shows the
        // host's prompt, where the user can log in by hand. What to do
        // comes first, as a narrow top bar cuts the notice's end.
        if (watchToken === null && msg.state === "failed") {
          showNotice("log in by hand: " + printable(String(msg.message || "automatic login failed")), LOGIN_NOTICE_MS, true);
        }
        break;
      case "serial":
        if (watchToken === null && state !== "closed") {
          serialReported(msg);
        }
        break;
      case "pong":
        break;
      case "closed":
        sessionClosed(printable(msg.reason || "") || "closed by gateway");
        break;
      case "error":
        var message = printable(msg.message || "") || "unknown error";
        console.error("telgate: gateway error: " + message);
        showNotice(message);
        el.power.disabled = false; // a power request refused, say
        break;
      default:
        console.debug("telgate: ignoring control message", msg);
    }
  }

  function startKeepalive(ws) {
    stopKeepalive();
    keepalive = setInterval(function () {
      if (socket !== ws || !isOpen()) {
        stopKeepalive();
        return;
      }
      if (pingSent === 0) {
        pingSent = Date.now();
        sendControl({ type: "ping" });
      } else if (Date.now() - pingSent > PONG_TIMEOUT_MS) {
        if (ws.bufferedAmount > 0 || sentSinceHeard > BUSY_BYTES) {
          pingSent = Date.now(); // busy with what was sent: wait on
          return;
        }
        if (resumeToken) {
          connectionDropped("connection lost (no answer from the gateway)");
          return;
        }
        socket = null;
        ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
        ws.close();
        stopKeepalive();
        sessionClosed("connection lost (no answer from the gateway)");
      }
    }, KEEPALIVE_MS);
  }

  function stopKeepalive() {
    clearInterval(keepalive);
    keepalive = 0;
    pingSent = 0;
  }

  function sessionClosed(reason) {
    stopKeepalive();
    clearTimeout(resumeTimer);
    resumeToken = null;
    if (state === "closed") {
      return;
    }
    setShared(null);
    showViewers([]);
    endWarning();
    if (mayType) {
      setTyping(false, true);
    }
    if (transfer !== null) {
      endTransfer("the session ended", true);
    }
    setState("closed", { reason: reason });
    markTitle("closed");
    if (pasteHeld !== null) {
      closePaste(false); // it would go nowhere, or into the next session
    }
    pending = [];
    pendingBytes = 0;
    term.write(NOTICE_RESET + "\r\n\x1b[0;2m[" + (watchToken === null ? "Connection closed: " : watched ? "Stopped watching: " : "Cannot watch: ") +
      reason + "]\x1b[0m\r\n" + (target && watchToken === null ? "\x1b[2mPress Enter to reconnect.\x1b[0m\r\n" : ""));
  }

  function reconnect() {
    if (!target || state !== "closed") {
      return;
    }
    var reset = term.buffer.active.type === "alternate" ? LEAVE_ALT_SCREEN + SESSION_RESET : SESSION_RESET;
    setTitle(target + " \u2014 " + DEFAULT_TITLE); // the last host's title goes with it
    markTitle("");
    term.write(reset + "\r\n\x1b[2m\u2500\u2500\u2500\u2500 reconnecting to " +
      printable(target) + " \u2500\u2500\u2500\u2500\x1b[0m\r\n");
    connect();
    term.focus();
  }

  // ---- Toolbar ------------------------------------------------------------

  el.commands.forEach(function (btn) {
    // Keep keyboard focus in the terminal when a button is clicked.
    btn.addEventListener("mousedown", function (ev) {
      ev.preventDefault();
    });
    btn.addEventListener("click", function () {
      if (transferring()) {
        showNotice("a file is being sent: cancel it first");
        return;
      }
      sendControl({ type: "command", name: btn.dataset.command });
      if (term) {
        term.focus();
      }
    });
  });

  el.reconnect.addEventListener("mousedown", function (ev) {
    ev.preventDefault();
  });
  el.reconnect.addEventListener("click", reconnect);

  // ---- Sharing ------------------------------------------------------------

  // A session is shared by a link to this page with ?watch=TOKEN: whoever
  // opens it, and may open the target, watches, read-only unless handed
  // the keyboard (Let type). The Share
  // button asks the gateway for the token and shows the link; while
  // shared, it shows the link again, and the page says who watches.

  // setShared records the session's watch token (null: not shared).
  function setShared(token) {
    shareToken = token;
    el.share.setAttribute("aria-pressed", token ? "true" : "false");
    el.share.textContent = token ? "Sharing" : "Share";
    if (token) {
      var link = new URL(document.baseURI);
      link.search = "?" + new URLSearchParams({ watch: token }).toString();
      link.hash = "";
      el.shareLink.value = link.href;
    } else {
      el.shareLink.value = "";
      el.sharePanel.hidden = true;
    }
  }

  // showViewers shows who watches: a count, and their names as its title,
  // and lists them in the share panel, each with the button that hands
  // it the keyboard or takes the keyboard back.
  function showViewers(viewers) {
    viewers = viewers.filter(function (v) { return v && v.id > 0; });
    var names = viewers.map(viewerName);
    var typist = viewers.filter(function (v) { return v.typing === true; })[0];
    el.viewers.hidden = names.length === 0;
    el.viewers.textContent = names.length + " watching" + (typist ? ", " + viewerName(typist) + " typing" : "");
    el.viewers.classList.toggle("typing", typist !== undefined);
    el.viewers.title = "Watching: " + names.join(", ");
    el.shareViewers.textContent = "";
    el.shareViewers.hidden = viewers.length === 0;
    viewers.forEach(function (v) {
      var li = document.createElement("li");
      li.dataset.viewer = String(v.id);
      var name = document.createElement("span");
      name.textContent = viewerName(v) + (v.typing === true ? " (typing)" : "");
      li.appendChild(name);
      el.shareViewers.appendChild(li);
      if (watchOnly) {
        li.title = "This target's sessions are watched only: only you type";
        return;
      }
      var btn = document.createElement("button");
      btn.type = "button";
      btn.className = "btn";
      btn.textContent = v.typing === true ? "Take back" : "Let type";
      btn.title = v.typing === true ? "Take the keyboard back: only you type" :
        "Let " + viewerName(v) + " type into this session (instead of anyone else watching); your keys go on working";
      btn.addEventListener("mousedown", function (ev) {
        ev.preventDefault(); // the list is drawn again: the focus would go nowhere
      });
      btn.addEventListener("click", function () {
        if (!isOpen() || state !== "connected") {
          showNotice("not connected");
          return;
        }
        sendControl(v.typing === true ? { type: "take-back" } : { type: "hand-over", viewer: v.id });
        if (term) {
          term.focus();
        }
      });
      li.appendChild(btn);
    });
  }

  // viewerName names a viewer: its user, or its number when the gateway
  // has no users.
  function viewerName(v) {
    return printable(String(v.user || "")) || "viewer " + v.id;
  }

  // watchingLabel says, in a viewer's page, whose session it watches and
  // whether it may type.
  function watchingLabel() {
    return "Watching" + (watchedUser ? " " + watchedUser + "'s session" : "") +
      (mayType ? " (you may type)" : " (read-only)");
  }

  // setTyping gives a viewer's page the keyboard, or takes it away;
  // quietly when the page is closing.
  function setTyping(allowed, quietly) {
    if (allowed === mayType) {
      return;
    }
    mayType = allowed;
    term.options.disableStdin = !allowed;
    el.toolbar.hidden = el.keyBreak.hidden = !allowed || watchedRaw;
    el.optionMeta.hidden = true;
    if (allowed) {
      setUpOptionMeta();
      setUpKeyBar();
    } else {
      hideKeyBar();
      if (pasteHeld !== null) {
        closePaste(false);
      }
    }
    if (quietly) {
      return;
    }
    setState("connected", { label: watchingLabel() });
    showNotice(allowed ? (watchedUser ? watchedUser + " lets you type" : "you may type") :
      "read-only again: the keyboard was taken back", NOTICE_MS, true);
    if (allowed) {
      term.focus();
    }
  }

  // resizeTo sets a viewer's terminal to the session's window size.
  // resizeTo gives the terminal a size from the gateway (a watched
  // session's, a target's fixed size), not the window's: bigger than the
  // window (a phone watching a desktop's session), it scrolls.
  function resizeTo(cols, rows) {
    el.terminal.classList.add("sized");
    resizeTerminal(term, cols, rows);
  }

  // resizeTerminal gives t a size from the gateway (or a recording),
  // when it is one a terminal can have.
  function resizeTerminal(t, cols, rows) {
    cols = Math.floor(Number(cols));
    rows = Math.floor(Number(rows));
    if (cols >= 1 && rows >= 1 && cols <= 1000 && rows <= 1000) {
      t.resize(cols, rows);
    }
  }

  [el.share, el.shareCopy, el.shareStop, el.shareHide].forEach(function (btn) {
    btn.addEventListener("mousedown", function (ev) {
      ev.preventDefault();
    });
  });
  el.share.addEventListener("click", function () {
    el.serialPanel.hidden = true; // they take the same place
    showSerial();
    if (shareToken) {
      el.sharePanel.hidden = !el.sharePanel.hidden;
      if (!el.sharePanel.hidden) {
        el.shareLink.select();
      }
      return;
    }
    sendControl({ type: "share" });
  });
  el.shareCopy.addEventListener("click", function () {
    var copied = function () { showNotice("link copied"); };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(el.shareLink.value).then(copied, function () {
        showNotice("could not copy: select the link and copy it");
      });
      return;
    }
    el.shareLink.select();
    if (document.execCommand("copy")) {
      copied();
    }
  });
  el.shareStop.addEventListener("click", function () {
    // Not kept for later as input is: the session would stay shared
    // while the page said otherwise.
    if (!isOpen() || state !== "connected") {
      showNotice("not connected: sharing goes on until the session is back");
      return;
    }
    sendControl({ type: "unshare" });
    setShared(null);
    if (term) {
      term.focus();
    }
  });
  el.shareHide.addEventListener("click", function () {
    el.sharePanel.hidden = true;
    if (term) {
      term.focus();
    }
  });
  document.addEventListener("keydown", function (ev) {
    // Only in the panel: in the terminal, Escape is the host's.
    if (ev.key === "Escape" && !el.sharePanel.hidden && el.sharePanel.contains(document.activeElement)) {
      el.sharePanel.hidden = true;
      if (term) {
        term.focus();
      }
    }
  });

  // ---- Serial port ----------------------------------------------------------

  // A host in front of a serial port (ser2net, a console server) that
  // agrees to RFC 2217 lets the page set the port: the gateway tells the
  // page the port's settings as the access server reports them, and
  // carries out what Apply, DTR and RTS ask. The selects show the port's
  // settings unless the user has changed one and not applied it yet.

  var SERIAL_FIELDS = ["baud", "data", "parity", "stop", "flow"];
  var SERIAL_ANSWER_MS = 3000;

  function serialSelect(field) {
    return { baud: el.serialBaud, data: el.serialData, parity: el.serialParity, stop: el.serialStop, flow: el.serialFlow }[field];
  }

  // serialSummary is the port's settings as its users write them:
  // "9600 8N1".
  function serialSummary(m) {
    var parts = [];
    if (m.baud > 0) {
      parts.push(String(m.baud));
    }
    if (m.data > 0 && m.parity && m.stop) {
      parts.push(m.data + m.parity.charAt(0).toUpperCase() + m.stop);
    }
    return parts.join(" ");
  }

  function serialReported(msg) {
    clearTimeout(serialTimer);
    if (msg.on !== true) {
      serial = null;
      el.serialPanel.hidden = true;
      showSerial();
      return;
    }
    serial = msg;
    if (msg.line) {
      var what = [];
      if (msg.line.framing) { what.push("framing errors"); }
      if (msg.line.parity) { what.push("parity errors"); }
      if (msg.line.overrun) { what.push("overruns"); }
      if (msg.line.break) { what.push("a break"); }
      showNotice("the serial port reports " + what.join(", ") +
        (msg.line.framing || msg.line.parity ? ": are the speed and format right?" : ""), 0, true);
    }
    showSerial();
  }

  // showSerial shows the port as last reported.
  function showSerial() {
    var on = serial !== null && watchToken === null && (state === "connected" || state === "resuming");
    el.serial.hidden = !on;
    if (!on) {
      el.serialPanel.hidden = true;
      return;
    }
    var summary = serialSummary(serial);
    el.serial.textContent = summary ? "Serial " + summary : "Serial";
    el.serial.setAttribute("aria-pressed", String(!el.serialPanel.hidden));
    var known = summary !== "";
    el.serialText.textContent = known ?
      "The port is set to " + summary + (serial.flow ? ", flow control " + ({ none: "none", xonxoff: "XON/XOFF", rtscts: "RTS/CTS" }[serial.flow] || serial.flow) : "") + "." :
      "Waiting for the port's settings\u2026";
    SERIAL_FIELDS.forEach(function (f) {
      if (serialEdited[f]) {
        return;
      }
      var sel = serialSelect(f);
      var v = serial[f];
      if (v === undefined || v === null || v === "") {
        return;
      }
      v = String(v);
      if (f === "baud" && !Array.prototype.some.call(sel.options, function (o) { return o.value === v; })) {
        var opt = document.createElement("option");
        opt.textContent = v; // a speed not in the list: the port's own
        sel.appendChild(opt);
      }
      sel.value = v;
    });
    // A line the server does not report shows as last asked, dimmed.
    [[el.serialDTR, "dtr"], [el.serialRTS, "rts"]].forEach(function (p) {
      var known = typeof serial[p[1]] === "boolean";
      p[0].setAttribute("aria-pressed", String(serialLine(p[1])));
      p[0].classList.toggle("unknown", !known);
      p[0].title = p[0].dataset.title + (known ? "" : " (the access server does not say: shown as last asked)");
    });
    el.serialLeds.forEach(function (led) {
      var modem = serial.modem;
      led.classList.toggle("on", !!modem && modem[led.dataset.line] === true);
      led.classList.toggle("unknown", !modem);
    });
    var connected = state === "connected";
    el.serialApply.disabled = el.serialDTR.disabled = el.serialRTS.disabled = !connected;
  }

  // serialLine is DTR's or RTS's state: as the server reports it, else as
  // last asked (a port opened raises both).
  function serialLine(name) {
    if (typeof serial[name] === "boolean") {
      return serial[name];
    }
    return serialAsked[name] !== false;
  }

  function serialRequest(msg) {
    if (state !== "connected") {
      showNotice("not connected: the serial port cannot be set now");
      return;
    }
    msg.type = "serial";
    sendControl(msg);
  }

  [el.serial, el.serialApply, el.serialDTR, el.serialRTS, el.serialClose].forEach(function (btn) {
    btn.addEventListener("mousedown", function (ev) {
      ev.preventDefault();
    });
  });
  el.serial.addEventListener("click", function () {
    el.serialPanel.hidden = !el.serialPanel.hidden;
    serialEdited = {};
    if (!el.serialPanel.hidden) {
      el.sharePanel.hidden = true; // they take the same place
    }
    showSerial();
    if (!el.serialPanel.hidden) {
      el.serialBaud.focus();
    }
  });
  SERIAL_FIELDS.forEach(function (f) {
    serialSelect(f).addEventListener("change", function () {
      serialEdited[f] = true;
    });
  });
  el.serialApply.addEventListener("click", function () {
    // What differs from the port's settings: a field the server has
    // not reported only when its select was changed, so that it is not
    // set to whatever the select showed.
    var msg = {};
    SERIAL_FIELDS.forEach(function (f) {
      var v = serialSelect(f).value;
      var reported = serial[f] !== undefined && serial[f] !== null && serial[f] !== "";
      if (reported ? String(serial[f]) !== v : serialEdited[f]) {
        msg[f] = f === "baud" || f === "data" ? Number(v) : v;
      }
    });
    serialEdited = {};
    if (Object.keys(msg).length === 0) {
      showNotice("the port is set so already");
      showSerial();
      return;
    }
    el.serialText.textContent = "Setting the port\u2026";
    serialRequest(msg);
    // A server may leave a setting unanswered (ser2net: 1.5 stop bits):
    // the panel then shows the port as last reported.
    clearTimeout(serialTimer);
    serialTimer = setTimeout(function () {
      if (serial !== null) {
        showSerial();
        el.serialText.textContent = "The access server did not confirm the change. " + el.serialText.textContent;
      }
    }, SERIAL_ANSWER_MS);
  });
  [[el.serialDTR, "dtr"], [el.serialRTS, "rts"]].forEach(function (p) {
    p[0].dataset.title = p[0].title;
    p[0].addEventListener("click", function () {
      var msg = {};
      msg[p[1]] = serialAsked[p[1]] = !serialLine(p[1]);
      serialRequest(msg);
      showSerial();
    });
  });
  el.serialClose.addEventListener("click", function () {
    el.serialPanel.hidden = true;
    showSerial();
    if (term) {
      term.focus();
    }
  });
  document.addEventListener("keydown", function (ev) {
    if (ev.key === "Escape" && !el.serialPanel.hidden && el.serialPanel.contains(document.activeElement)) {
      el.serialClose.click();
    }
  });

  // ---- Find ---------------------------------------------------------------

  // Find searches the terminal's text, scrollback included, which the
  // browser's own find cannot reach: a match is selected and scrolled
  // to. Typing searches as it goes, from the newest output back; Enter
  // (or the up arrow) finds the next older match, Shift+Enter (or the
  // down arrow) the next newer one; Escape closes and returns to the
  // terminal.
  function openFind() {
    if (!term) {
      return;
    }
    el.findBar.hidden = false;
    el.findInput.focus();
    el.findInput.select();
  }

  function closeFind() {
    el.findBar.hidden = true;
    el.findStatus.textContent = "";
    el.findStatus.classList.remove("none");
    if (term) {
      term.clearSelection();
      term.focus();
    }
  }

  // find looks for the input's text, upwards (back into older output)
  // unless down; incremental keeps the current match while it still
  // matches the longer text being typed.
  function find(down, incremental) {
    var text = el.findInput.value;
    if (!text) {
      el.findStatus.textContent = "";
      el.findStatus.classList.remove("none");
      term.clearSelection();
      return;
    }
    var opts = { incremental: incremental };
    var found = down ? searchAddon.findNext(text, opts) : searchAddon.findPrevious(text, opts);
    el.findStatus.textContent = found ? "" : "no match";
    el.findStatus.classList.toggle("none", !found);
  }

  el.find.addEventListener("mousedown", function (ev) {
    ev.preventDefault();
  });
  el.find.addEventListener("click", function () {
    if (el.findBar.hidden) {
      openFind();
    } else {
      closeFind();
    }
  });
  el.findInput.addEventListener("input", function () {
    find(false, true);
  });
  el.findInput.addEventListener("keydown", function (ev) {
    if (ev.key === "Enter") {
      ev.preventDefault();
      find(ev.shiftKey, false);
    } else if (ev.key === "Escape") {
      ev.preventDefault();
      closeFind();
    }
  });
  [el.findPrev, el.findNext, el.findClose].forEach(function (btn) {
    btn.addEventListener("mousedown", function (ev) {
      ev.preventDefault(); // keep the focus in the input
    });
  });
  el.findPrev.addEventListener("click", function () {
    find(false, false); // up: an older match
  });
  el.findNext.addEventListener("click", function () {
    find(true, false); // down: a newer one
  });
  el.findClose.addEventListener("click", closeFind);

  // ---- Option as Meta (Mac) -----------------------------------------------

  // On a Mac, Option types characters (é, ∂, ñ) unless it is taken as
  // Meta, which emacs, readline's Meta-b and Meta-f and many consoles
  // want; layouts differ in what people need, so the page lets each user
  // choose, and remembers the choice in this browser. Elsewhere Alt is
  // Meta already, and the button stays hidden.
  var OPTION_META_KEY = "telgate.optionIsMeta";

  function isMac() {
    return /Mac|iPhone|iPad/.test(navigator.platform || "");
  }

  // storedChoice and storeChoice keep an on/off choice of the user's in
  // the browser ("1", "0", or null for none yet); where storage is
  // refused (a private window) the choice lasts the page.
  function storedChoice(key) {
    try {
      return localStorage.getItem(key);
    } catch (e) {
      return null;
    }
  }

  function storeChoice(key, on) {
    try {
      localStorage.setItem(key, on ? "1" : "0");
    } catch (e) {
      // refused: see storedChoice
    }
  }

  function setOptionMeta(on) {
    term.options.macOptionIsMeta = on;
    el.optionMeta.setAttribute("aria-pressed", on ? "true" : "false");
    storeChoice(OPTION_META_KEY, on);
  }

  function setUpOptionMeta() {
    if (!isMac()) {
      return;
    }
    el.optionMeta.hidden = false;
    setOptionMeta(storedChoice(OPTION_META_KEY) === "1");
  }

  el.optionMeta.addEventListener("mousedown", function (ev) {
    ev.preventDefault();
  });
  el.optionMeta.addEventListener("click", function () {
    setOptionMeta(!term.options.macOptionIsMeta);
    term.focus();
  });

  // ---- Key bar ------------------------------------------------------------

  // An on-screen keyboard has no Esc, Tab, Ctrl, Alt, arrows or page keys,
  // and a console needs them (and Break). Where the screen is touched
  // (any pointer is coarse) the Keys button shows a bar of them, shown at
  // first where touch is the main pointer; the choice is kept. Ctrl and
  // Alt hold for the next key, from the bar or the keyboard: Ctrl then c
  // sends ^C, Alt then b sends Esc b. Arrows follow the host's cursor key
  // mode (Esc O A in application mode) as the terminal's own keys do, and
  // with a modifier send xterm's modified form (Esc [1;5A for Ctrl+Up).
  // The bar's keys never take the focus from the terminal, so the
  // on-screen keyboard stays up.
  var KEY_BAR_KEY = "telgate.keyBar";
  var CURSOR_KEYS = { up: "A", down: "B", right: "C", left: "D", home: "H", end: "F" };
  var PAGE_KEYS = { pgup: "5", pgdn: "6" };
  var PLAIN_KEYS = { esc: "\x1b", tab: "\t", "ctrl-c": "\x03" };
  var modifiers = { ctrl: false, alt: false };

  function setModifier(name, on) {
    modifiers[name] = on;
    el.keyBar.querySelector('[data-mod="' + name + '"]').setAttribute("aria-pressed", on ? "true" : "false");
  }

  function clearModifiers() {
    setModifier("ctrl", false);
    setModifier("alt", false);
  }

  // keySequence is what a key of the bar sends, with the modifiers held.
  function keySequence(key) {
    var m = 1 + (modifiers.alt ? 2 : 0) + (modifiers.ctrl ? 4 : 0);
    if (CURSOR_KEYS[key]) {
      if (m > 1) {
        return "\x1b[1;" + m + CURSOR_KEYS[key];
      }
      return (term.modes.applicationCursorKeysMode ? "\x1bO" : "\x1b[") + CURSOR_KEYS[key];
    }
    if (PAGE_KEYS[key]) {
      return "\x1b[" + PAGE_KEYS[key] + (m > 1 ? ";" + m : "") + "~";
    }
    return (modifiers.alt ? "\x1b" : "") + PLAIN_KEYS[key];
  }

  // controlChar is the control character Ctrl makes of c, as a terminal
  // makes it: Ctrl+A is 0x01, Ctrl+[ Esc, Ctrl+? DEL, Ctrl+Space NUL, and
  // Ctrl+2 to Ctrl+8 what a VT220's keys give; other characters stay.
  function controlChar(c) {
    var code = c.charCodeAt(0);
    if (code >= 0x61 && code <= 0x7a) {
      return String.fromCharCode(code - 0x60);
    }
    if (code >= 0x40 && code <= 0x5f) {
      return String.fromCharCode(code - 0x40);
    }
    var other = { " ": "\x00", "2": "\x00", "`": "\x00", "3": "\x1b", "4": "\x1c", "5": "\x1d", "6": "\x1e",
      "7": "\x1f", "8": "\x7f", "?": "\x7f", "/": "\x1f" };
    return Object.prototype.hasOwnProperty.call(other, c) ? other[c] : c;
  }

  // withModifiers applies the bar's Ctrl and Alt, if held, to a key
  // typed: one character, or a cursor key of the keyboard's, which gets
  // its modified form. They are let go after it. Anything else the
  // terminal sends (a paste, a mouse report, an answer to the host) goes
  // as it is, and they stay held.
  function withModifiers(data) {
    if (!modifiers.ctrl && !modifiers.alt) {
      return data;
    }
    var cursor = /^\x1b[[O]([ABCDHF])$/.exec(data);
    if (cursor) {
      var key = Object.keys(CURSOR_KEYS).filter(function (k) { return CURSOR_KEYS[k] === cursor[1]; })[0];
      data = keySequence(key);
    } else if (Array.from(data).length === 1 && data !== "\x1b") {
      if (modifiers.ctrl) {
        data = controlChar(data);
      }
      if (modifiers.alt) {
        data = "\x1b" + data;
      }
    } else {
      return data;
    }
    clearModifiers();
    return data;
  }

  function showKeyBar(on) {
    el.keyBar.hidden = !on;
    el.keys.setAttribute("aria-pressed", on ? "true" : "false");
    if (!on) {
      clearModifiers();
    }
  }

  function setUpKeyBar() {
    if (!window.matchMedia || !matchMedia("(any-pointer: coarse)").matches) {
      return;
    }
    var saved = storedChoice(KEY_BAR_KEY);
    el.keys.hidden = false;
    showKeyBar(saved === null ? matchMedia("(pointer: coarse)").matches : saved === "1");
    if (!viewportFitted) {
      viewportFitted = true;
      fitToVisibleViewport();
    }
  }

  // hideKeyBar takes the key bar and its button away (a viewer's page
  // whose keyboard was taken back).
  function hideKeyBar() {
    el.keys.hidden = true;
    showKeyBar(false);
  }

  // fitToVisibleViewport keeps the page, key bar and all, above an
  // on-screen keyboard that covers it instead of shrinking it (Safari on
  // iOS; Chrome and Firefox on Android shrink the page, as the viewport's
  // interactive-widget asks): the page takes the height of what is
  // visible. Not while zoomed in, when what is visible is a part.
  function fitToVisibleViewport() {
    var vv = window.visualViewport;
    if (!vv) {
      return;
    }
    var fit = function () {
      var covered = vv.scale <= 1.01 && vv.height < window.innerHeight - 1;
      document.body.style.height = covered ? vv.height + "px" : "";
      if (covered) {
        window.scrollTo(0, 0);
      }
    };
    vv.addEventListener("resize", fit);
    fit();
  }

  el.keys.addEventListener("mousedown", function (ev) {
    ev.preventDefault();
  });
  el.keys.addEventListener("click", function () {
    var on = el.keyBar.hidden;
    showKeyBar(on);
    storeChoice(KEY_BAR_KEY, on);
    if (term) {
      term.focus();
    }
  });
  el.barKeys.forEach(function (btn) {
    btn.addEventListener("mousedown", function (ev) {
      ev.preventDefault(); // the terminal keeps the focus
    });
    if (btn.dataset.command) {
      return; // Break: a telnet command, as on the toolbar
    }
    btn.addEventListener("click", function () {
      if (btn.dataset.mod) {
        setModifier(btn.dataset.mod, !modifiers[btn.dataset.mod]);
      } else {
        var seq = keySequence(btn.dataset.key);
        clearModifiers();
        typed(seq);
      }
      if (term) {
        term.focus();
      }
    });
  });

  // ---- Pasting several lines ---------------------------------------------

  // A paste with a line break in it runs each line at once on most
  // consoles: a configuration pasted into the wrong router, or half a
  // clipboard of something else. The page shows what would go and asks
  // first, Paste or Cancel (Enter and Escape), also while it connects or
  // reconnects (what is pasted then is sent once connected). It does not
  // ask when the host asked for bracketed paste (a shell that will not run
  // what is pasted before Enter), unless the text holds an escape, which
  // could end the bracket early. While it asks, other pastes are refused,
  // so that nothing overtakes the one held. "Do not ask again" is kept in
  // the browser. Pastes come as paste events (the browser's menu,
  // Shift+Insert, Ctrl+Shift+V, a phone's Paste); an on-screen keyboard's
  // clipboard suggestion comes as typing, and is not asked about.
  var PASTE_ASK_KEY = "telgate.pasteNoAsk";
  var PASTE_PREVIEW_LINES = 12;
  var pasteHeld = null; // the paste the panel asks about

  function guardPastes() {
    // On the terminal's element, capturing: before xterm.js's own
    // handlers on its text area and element.
    el.terminal.addEventListener("paste", function (ev) {
      var text = ev.clipboardData ? ev.clipboardData.getData("text/plain") : "";
      if (!mayInput()) {
        return; // a viewer's terminal takes no input
      }
      if (pasteHeld !== null) {
        ev.preventDefault();
        ev.stopImmediatePropagation();
        showNotice("a paste is waiting for your answer");
        return;
      }
      var ask = /[\r\n]/.test(text) && text.trim() !== "" && state !== "closed" &&
        (!term.modes.bracketedPasteMode || text.indexOf("\x1b") >= 0) && storedChoice(PASTE_ASK_KEY) !== "1";
      if (ask) {
        ev.preventDefault();
        ev.stopImmediatePropagation();
        askPaste(text);
      }
    }, true);
  }

  function askPaste(text) {
    pasteHeld = text;
    var lines = text.replace(/\r\n?/g, "\n").replace(/\n$/, "").split("\n");
    el.pasteText.textContent = "Paste " + lines.length + (lines.length === 1 ? " line" : " lines") +
      " into " + printable(target) + "? Each line may run as it arrives.";
    var shown = lines.slice(0, PASTE_PREVIEW_LINES).join("\n");
    el.pastePreview.textContent = visible(shown.slice(0, CLIP_PREVIEW)) +
      (lines.length > PASTE_PREVIEW_LINES ? "\n\u2026 " + (lines.length - PASTE_PREVIEW_LINES) + " more" :
        shown.length > CLIP_PREVIEW ? "\u2026" : "");
    el.pasteForget.checked = false;
    el.sharePanel.hidden = el.serialPanel.hidden = true; // the paste panel takes their place
    if (!el.findBar.hidden) {
      closeFind();
    }
    el.pastePanel.hidden = false;
    el.pasteGo.focus();
  }

  // closePaste closes the panel, pasting what it held when paste says
  // so, and gives the terminal the keyboard back unless the session is
  // over.
  function closePaste(paste) {
    var text = pasteHeld;
    pasteHeld = null;
    el.pastePanel.hidden = true;
    if (paste && text !== null) {
      if (el.pasteForget.checked) {
        storeChoice(PASTE_ASK_KEY, true);
      }
      term.paste(text); // as xterm.js pastes: its line endings, bracketed if asked
    }
    if (term && state !== "closed") {
      term.focus();
    }
  }

  el.pasteGo.addEventListener("click", function () {
    closePaste(true);
  });
  el.pasteCancel.addEventListener("click", function () {
    closePaste(false);
  });
  el.pastePanel.addEventListener("keydown", function (ev) {
    if (ev.key === "Escape") {
      ev.preventDefault();
      closePaste(false);
    }
  });

  // ---- Sending a file (XMODEM) -------------------------------------------

  // Send file sends a file to the host's XMODEM receiver (xmodem.js):
  // a router's "xmodem -c image" in ROMMON, a boot loader's "loadx", a
  // shell's "rx -c file", started before or after the file is picked
  // (the terminal works as ever until the receiver asks for the file).
  // Once it does, the gateway is told to pass the bytes as they are
  // ({"type":"transfer","on":true}), the host's output goes to the
  // protocol, not the screen, and keys are refused, until the transfer
  // ends: sent, cancelled, refused, or the session closed. A connection
  // that drops pauses it: once resumed, the gateway is told again, and
  // the receiver, which asks again for a block it missed, goes on.
  var TRANSFER_MAX = 64 * 1024 * 1024;
  var TRANSFER_PROTOCOL_KEY = "telgate.transferProtocol";
  var TRANSFER_DONE_MS = 8000;
  var transferTimer = 0;
  // cancelledSender is the sender of a transfer cancelled midway, while
  // it watches for a receiver that missed the cancel (see afterCancel).
  var cancelledSender = null;

  el.sendFile.addEventListener("mousedown", function (ev) {
    ev.preventDefault();
  });
  // Send file opens the panel: the protocol first (before the receiver,
  // which may be asking already, is answered in the wrong one), then the
  // file.
  el.sendFile.addEventListener("click", function () {
    if (transfer !== null) {
      el.transferPanel.hidden = false;
      return;
    }
    if (state !== "connected" || !isOpen()) {
      showNotice("not connected");
      return;
    }
    clearTimeout(transferTimer);
    el.transferText.textContent = "Pick the protocol the host's receiver speaks, then the file.";
    el.transferProgress.value = 0;
    el.transferProtocol.disabled = false;
    el.transferChoose.hidden = false;
    el.transferCancel.textContent = "Close";
    el.transferPanel.dataset.state = "choosing";
    el.transferPanel.hidden = false;
    el.transferChoose.focus();
  });
  el.transferChoose.addEventListener("click", function () {
    el.sendFileInput.value = "";
    el.sendFileInput.click();
  });
  el.sendFileInput.addEventListener("change", function () {
    var file = el.sendFileInput.files && el.sendFileInput.files[0];
    if (!file) {
      return;
    }
    if (file.size > TRANSFER_MAX) {
      showNotice(file.name + " is larger than " + formatBytes(TRANSFER_MAX) + ": not sent");
      return;
    }
    file.arrayBuffer().then(function (buf) {
      startTransfer(printable(file.name), new Uint8Array(buf));
    }, function (e) {
      showNotice("cannot read " + printable(file.name) + ": " + e);
    });
  });
  el.transferCancel.addEventListener("click", function () {
    if (transfer !== null) {
      transfer.sender.cancel("cancelled");
    } else {
      el.transferPanel.hidden = true;
    }
    if (term) {
      term.focus();
    }
  });

  function startTransfer(name, data) {
    if (transfer !== null || state !== "connected") {
      return;
    }
    clearTimeout(transferTimer);
    cancelledSender = null;
    var t = { name: name, size: data.length };
    t.sender = new TelgateXmodem.Sender(data, {
      started: function (mode) {
        el.transferProtocol.disabled = true; // the receiver has asked
        sendControl({ type: "transfer", on: true });
        showTransfer(t, 0, mode);
      },
      send: function (bytes) {
        send(bytes);
      },
      progress: function (sent, total, mode) {
        showTransfer(t, sent, mode);
      },
      done: function (err) {
        endTransfer(err, false);
      },
    });
    setProtocol(t);
    el.transferProtocol.disabled = false;
    t.clock = setInterval(function () {
      if (state === "connected") { // paused while the page resumes
        t.sender.tick();
      }
    }, 250);
    transfer = t;
    el.transferChoose.hidden = true;
    el.transferText.textContent = "Sending " + name + " (" + formatBytes(data.length) +
      "): waiting for the host's receiver to ask for it\u2026 Start it now if it is not started " +
      "(rx -c FILE, xmodem -c FILE, loadx; for YMODEM rb, loady): the terminal is yours until it asks.";
    el.transferProgress.value = 0;
    el.transferCancel.textContent = "Cancel";
    el.transferPanel.hidden = false;
    el.transferPanel.dataset.state = "waiting";
  }

  // setProtocol gives the transfer the protocol chosen in the panel,
  // which may change until the receiver asks: YMODEM sends the file's
  // name with it.
  function setProtocol(t) {
    t.sender.batch = el.transferProtocol.value === "ymodem" ? t.name : null;
  }

  el.transferProtocol.addEventListener("change", function () {
    storeChoice(TRANSFER_PROTOCOL_KEY, el.transferProtocol.value === "ymodem");
    if (transfer !== null && !transfer.sender.started()) {
      setProtocol(transfer);
    }
  });
  el.transferProtocol.value = storedChoice(TRANSFER_PROTOCOL_KEY) === "1" ? "ymodem" : "xmodem";

  // transferResumed goes on with a transfer once a dropped connection is
  // resumed: the resumed connection starts with input mapped, and the
  // receiver asks again for what it missed before the sender sends it
  // on its own.
  function transferResumed() {
    if (transferring()) {
      sendControl({ type: "transfer", on: true });
      transfer.sender.rewait();
    }
  }

  // transferring says whether a file is being sent: the receiver asked
  // for it, and it is not over.
  function transferring() {
    return transfer !== null && transfer.sender.started();
  }

  function showTransfer(t, sent, mode) {
    el.transferText.textContent = "Sending " + t.name + " with " + mode + ": " +
      formatBytes(sent) + " of " + formatBytes(t.size);
    el.transferProgress.value = t.size ? sent / t.size : 1;
    el.transferPanel.dataset.state = "sending";
  }

  // endTransfer ends the transfer: err null when the receiver took the
  // whole file. The gateway is told to map input again (quietly: not
  // when the session ended).
  function endTransfer(err, quietly) {
    var t = transfer;
    if (t === null) {
      return;
    }
    transfer = null;
    clearInterval(t.clock);
    cancelledSender = err !== null && t.sender.cancelledAt > 0 && !quietly ? t.sender : null;
    el.transferProtocol.disabled = false;
    if (!quietly && t.sender.started()) {
      sendControl({ type: "transfer", on: false });
    }
    el.transferText.textContent = err === null ?
      "Sent " + t.name + " (" + formatBytes(t.size) +
        (t.sender.batch === null ? "; the last block padded with SUB" :
          t.sender.xmodemReceiver ? "; the receiver speaks XMODEM: it took neither the name nor the size, and the last block is padded with SUB" :
            ", with its name and size") +
        (t.sender.unacknowledged ? "; the receiver took every block but did not acknowledge the end" : "") + ")" :
      "Not sent: " + t.name + ": " + err;
    el.transferProgress.value = err === null ? 1 : el.transferProgress.value;
    el.transferPanel.dataset.state = err === null ? "sent" : "failed";
    el.transferCancel.textContent = "Close";
    transferTimer = setTimeout(function () {
      el.transferPanel.hidden = true;
    }, TRANSFER_DONE_MS);
    if (term && state !== "closed") {
      term.focus();
    }
  }

  // ---- Copying for the host (OSC 52) ---------------------------------------

  // A host program (tmux, vim, a shell function) may ask the terminal to
  // put text on the clipboard with OSC 52 (Esc ] 52 ; c ; BASE64 BEL).
  // The page asks first, showing the text: Copy, Always (on this page,
  // until it closes), or Ignore; the focus stays in the terminal
  // meanwhile. Characters that change how text shows without showing
  // (bidirectional controls, zero-width ones) are shown by their code, and
  // when the host changes the text while the panel is open its buttons
  // wait CLIP_SETTLE_MS, so that what is copied is what was read. A host
  // asking to read the clipboard (a payload of "?") is never answered,
  // and a viewer's page ignores these requests. The text is limited to
  // CLIP_MAX characters of base64.
  var CLIP_MAX = 1 << 20;
  var CLIP_PREVIEW = 2000;
  var CLIP_SETTLE_MS = 600;
  var INVISIBLE = /[\p{Default_Ignorable_Code_Point}\p{Bidi_Control}]/gu;
  var clipPending = null; // the text the panel offers
  var clipAlways = false;
  var clipSettle = 0;

  // hostCopies handles an OSC 52 request; it always reports it handled,
  // so that the terminal does nothing more with it.
  function hostCopies(data) {
    var semi = data.indexOf(";");
    var payload = semi < 0 ? "" : data.slice(semi + 1);
    if (watchToken !== null || payload === "" || payload === "?") {
      return true;
    }
    if (payload.length > CLIP_MAX) {
      showNotice("the host's copy to the clipboard was too long, and ignored");
      return true;
    }
    var text;
    try {
      var bin = atob(payload);
      var bytes = new Uint8Array(bin.length);
      for (var i = 0; i < bin.length; i++) {
        bytes[i] = bin.charCodeAt(i);
      }
      text = new TextDecoder().decode(bytes);
    } catch (e) {
      return true; // not base64: nothing to copy
    }
    if (clipAlways) {
      writeClipboard(text, false).then(function () {
        showNotice("copied " + text.length + " characters from the host");
      }, function () {
        offerCopy(text); // refused without a click: ask for one
      });
    } else {
      offerCopy(text);
    }
    return true;
  }

  // visible makes text safe to show as it would go: control characters
  // (but tabs and line breaks) as U+FFFD, and characters that change how
  // text shows without showing (bidirectional controls, zero-width ones)
  // by their code.
  function visible(text) {
    return text.replace(/[\x00-\x08\x0b-\x1f\x7f-\x9f]/g, "\ufffd").replace(INVISIBLE, function (c) {
      return "<U+" + c.codePointAt(0).toString(16).toUpperCase() + ">";
    });
  }

  function offerCopy(text) {
    var changed = !el.clipPanel.hidden;
    clipPending = text;
    el.clipText.textContent = "The host wants to copy " + text.length + " character" +
      (text.length === 1 ? "" : "s") + " to your clipboard:";
    el.clipPreview.textContent = visible(text.slice(0, CLIP_PREVIEW)) + (text.length > CLIP_PREVIEW ? "\u2026" : "");
    el.clipPanel.hidden = false;
    if (changed) {
      el.clipCopy.disabled = el.clipAlways.disabled = true;
      clearTimeout(clipSettle);
      clipSettle = setTimeout(function () {
        el.clipCopy.disabled = el.clipAlways.disabled = false;
      }, CLIP_SETTLE_MS);
    }
  }

  // writeClipboard puts text on the clipboard: through the Clipboard API
  // where the page has it (https, or this machine), else the way pages
  // did before it, which needs the click that called it (clicked says
  // there was one) and a selection, after which the keyboard goes back
  // where it was.
  function writeClipboard(text, clicked) {
    if (navigator.clipboard && navigator.clipboard.writeText) {
      return navigator.clipboard.writeText(text);
    }
    if (!clicked) {
      return Promise.reject(new Error("copy needs a click"));
    }
    var focused = document.activeElement;
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.style.position = "fixed";
    area.style.opacity = "0";
    document.body.appendChild(area);
    area.select();
    var done = false;
    try {
      done = document.execCommand("copy");
    } catch (e) {
      // refused: reported below
    }
    document.body.removeChild(area);
    if (focused && focused.focus) {
      focused.focus();
    }
    return done ? Promise.resolve() : Promise.reject(new Error("copy refused"));
  }

  function closeClipPanel() {
    el.clipPanel.hidden = true;
    clipPending = null;
    if (term) {
      term.focus();
    }
  }

  function copyPending(always) {
    var text = clipPending;
    if (text === null) {
      return;
    }
    clipAlways = clipAlways || always;
    writeClipboard(text, true).then(function () {
      showNotice("copied " + text.length + " characters from the host");
    }, function (err) {
      console.warn("telgate: copying to the clipboard failed", err);
      showNotice("the browser refused to copy to the clipboard");
    });
    closeClipPanel();
  }

  [el.clipCopy, el.clipAlways, el.clipIgnore].forEach(function (btn) {
    btn.addEventListener("mousedown", function (ev) {
      ev.preventDefault(); // the terminal keeps the focus
    });
  });
  el.clipCopy.addEventListener("click", function () {
    copyPending(false);
  });
  el.clipAlways.addEventListener("click", function () {
    copyPending(true);
  });
  el.clipIgnore.addEventListener("click", closeClipPanel);

  // ---- Saving the terminal's text -----------------------------------------

  // terminalText returns the text of the terminal's screen and scrollback:
  // lines the terminal wrapped joined again, trailing blanks dropped.
  function terminalText(t) {
    var b = t.buffer.active;
    var lines = [];
    for (var i = 0; i < b.length; i++) {
      var line = b.getLine(i);
      var next = b.getLine(i + 1);
      // A line that wraps on keeps its trailing spaces (they are text
      // in the middle of the line); others lose them, as the blank
      // cells after the text.
      var text = line.translateToString(false);
      if (!(next && next.isWrapped)) {
        text = text.replace(/ +$/, "");
      }
      if (line.isWrapped && lines.length > 0) {
        lines[lines.length - 1] += text;
      } else {
        lines.push(text);
      }
    }
    while (lines.length > 0 && lines[lines.length - 1] === "") {
      lines.pop();
    }
    return lines.join("\n") + "\n";
  }

  // saveName is the file name for the text: the target and the time.
  function saveName() {
    var d = new Date();
    var two = function (n) { return (n < 10 ? "0" : "") + n; };
    var stamp = d.getFullYear() + two(d.getMonth() + 1) + two(d.getDate()) + "-" +
      two(d.getHours()) + two(d.getMinutes()) + two(d.getSeconds());
    return "telgate-" + String(target || "session").replace(/[^A-Za-z0-9._-]+/g, "_") + "-" + stamp + ".txt";
  }

  // Output a network engineer wants to keep (a configuration, a crash
  // log) is saved from the page, during the session or after it ended.
  el.save.addEventListener("mousedown", function (ev) {
    ev.preventDefault();
  });
  el.save.addEventListener("click", function () {
    if (!term) {
      return;
    }
    saveText(terminalText(term), saveName());
    term.focus();
  });

  // saveText has the browser save text as a file of that name.
  function saveText(text, name) {
    var link = document.createElement("a");
    link.href = URL.createObjectURL(new Blob([text], { type: "text/plain;charset=utf-8" }));
    link.download = name;
    link.hidden = true;
    document.body.appendChild(link);
    link.click();
    link.remove();
    setTimeout(function () {
      URL.revokeObjectURL(link.href);
    }, 60000);
  }

  // The host field opens the page again for ?host=: a link to that page
  // opens the same host. (form-action 'none' keeps the form from being
  // submitted natively.)
  el.adhocForm.addEventListener("submit", function (ev) {
    ev.preventDefault();
    var host = el.adhocHost.value.trim();
    if (host) {
      location.search = "?" + new URLSearchParams({ host: host }).toString() + rendererQuery();
    }
  });

  // ---- Start --------------------------------------------------------------

  // start opens a session to name: a target, or with param "host" an
  // ad-hoc host.
  function start(name, description, param) {
    target = name;
    targetParam = param || "target";
    el.targetName.textContent = name;
    el.targetName.title = description ? name + " \u2014 " + description : name;
    setTitle(name + " \u2014 " + DEFAULT_TITLE);
    el.picker.hidden = true;
    el.terminal.hidden = false;
    el.toolbar.hidden = false;
    el.save.hidden = false;
    el.sendFile.hidden = false;
    el.find.hidden = false;
    createTerminal();
    setUpOptionMeta();
    setUpKeyBar();
    connect();
    term.focus();
  }

  // ---- Session list -------------------------------------------------------

  // The session list (?view=sessions, opened in a tab of its own from the
  // Sessions link) shows the user's running sessions, and an operator's
  // every one, refreshed every SESSIONS_REFRESH_MS, each with End. The
  // link shows where the gateway serves the list (it needs
  // authentication), as /api/targets says.
  var SESSIONS_REFRESH_MS = 5000;

  // fetchJSON gets a JSON document of the gateway's; an error says what
  // the gateway answered.
  function fetchJSON(url) {
    return fetch(url, { cache: "no-store", credentials: "same-origin" }).then(function (resp) {
      if (!resp.ok) {
        return resp.json().then(function (body) {
          throw new Error(printable((body && body.error) || "") || "HTTP " + resp.status);
        }, function () {
          throw new Error("HTTP " + resp.status);
        });
      }
      return resp.json();
    });
  }

  // offerLists shows the links to the session list and the recordings,
  // where the gateway serves them to this user (as /api/targets says).
  function offerLists(list) {
    if (list.sessions) {
      el.sessionsLink.href = "?view=sessions";
      el.sessionsLink.hidden = false;
    }
    if (list.recordings) {
      el.recordingsLink.href = "?view=recordings";
      el.recordingsLink.hidden = false;
    }
  }

  function formatBytes(n) {
    n = Number(n) || 0;
    if (n < 1024) {
      return n + " B";
    }
    if (n < 1024 * 1024) {
      return (n / 1024).toFixed(1) + " KiB";
    }
    return (n / 1024 / 1024).toFixed(1) + " MiB";
  }

  function cell(row, text, className) {
    var td = document.createElement("td");
    td.textContent = text;
    if (className) {
      td.className = className;
    }
    row.appendChild(td);
    return td;
  }

  function renderSessions(list) {
    var sessions = Array.isArray(list.sessions) ? list.sessions : [];
    el.sessionsTitle.textContent = list.operator ? "Every session" : "Your sessions";
    el.sessionsMessage.classList.remove("error");
    el.sessionsMessage.textContent = sessions.length === 0 ? "No session is running." :
      sessions.length + (sessions.length === 1 ? " session is" : " sessions are") + " running.";
    el.sessionsTable.hidden = sessions.length === 0;
    el.sessionsRows.textContent = "";
    sessions.forEach(function (s) {
      var row = document.createElement("tr");
      row.dataset.id = String(s.id);
      cell(row, printable(s.target), "mono").title = printable(s.address || "");
      cell(row, printable(s.user) || "anonymous");
      cell(row, printable(s.remote), "mono");
      var started = new Date(s.started);
      cell(row, isNaN(started) ? "" : started.toLocaleString()).title = String(s.started);
      cell(row, formatBytes(s.bytes_in) + " / " + formatBytes(s.bytes_out));
      var viewers = Array.isArray(s.viewers) ? s.viewers.map(function (u) { return printable(u) || "anonymous"; }) : [];
      var status = s.away ? "reconnecting" :
        s.shared ? (viewers.length ? "watched by " + viewers.join(", ") : "shared, nobody watching") : "";
      if (s.typing) {
        status += "; " + (printable(String(s.typing)) || "a viewer") + " types";
      }
      cell(row, status, s.away ? "away" : "");
      var end = document.createElement("button");
      end.type = "button";
      end.className = "btn end";
      end.textContent = "End";
      end.addEventListener("click", function () {
        var who = printable(s.user) ? " of " + printable(s.user) : "";
        if (!window.confirm("End the session on " + printable(s.target) + who + "? Its page is told it was ended from the session list.")) {
          return;
        }
        end.disabled = true;
        fetch("api/sessions/" + encodeURIComponent(s.id) + "/end", { method: "POST", cache: "no-store", credentials: "same-origin" })
          .then(function (resp) {
            if (!resp.ok && resp.status !== 404) {
              showNotice("could not end the session (HTTP " + resp.status + ")");
            }
          }, function () {
            showNotice("could not end the session: the gateway did not answer");
          })
          .then(loadSessions);
      });
      row.appendChild(document.createElement("td")).appendChild(end);
      el.sessionsRows.appendChild(row);
    });
  }

  function loadSessions() {
    return fetchJSON("api/sessions").then(renderSessions, function (err) {
      el.sessionsTable.hidden = true;
      el.sessionsMessage.textContent = "Could not load the sessions (" + err.message + ").";
      el.sessionsMessage.classList.add("error");
    });
  }

  function showSessions() {
    el.terminal.hidden = true;
    el.toolbar.hidden = true;
    el.picker.hidden = true;
    el.sessionsView.hidden = false;
    el.targetName.textContent = "sessions";
    document.title = "sessions \u2014 " + DEFAULT_TITLE;
    el.status.hidden = true;
    loadSessions();
    setInterval(function () {
      if (!document.hidden) {
        loadSessions();
      }
    }, SESSIONS_REFRESH_MS);
  }

  // watch opens a viewer's page on the session token names.
  function watch(token) {
    watchToken = token;
    target = "shared session";
    el.targetName.textContent = target;
    el.picker.hidden = true;
    el.terminal.hidden = false;
    el.toolbar.hidden = el.keyBreak.hidden = true; // until handed the keyboard
    el.status.dataset.watching = "";
    el.save.hidden = false;
    el.find.hidden = false;
    createTerminal();
    connect();
  }

  // Leaving the page ends its session, and Ctrl+W (in a shell: delete the
  // word before the cursor) closes a browser tab before the page sees the
  // key: while a session is open the browser asks first.
  window.addEventListener("beforeunload", function (event) {
    if (watchToken === null && (state === "connected" || state === "resuming")) {
      event.preventDefault();
      event.returnValue = "";
    }
  });

  function main() {
    if (typeof Terminal !== "function" || typeof FitAddon !== "object" || typeof WebLinksAddon !== "object" ||
        typeof SearchAddon !== "object") {
      setState("closed", { label: "Failed to load the terminal library" });
      console.error("telgate: vendored xterm.js bundles did not load");
      return;
    }
    var params = new URLSearchParams(location.search);
    if (params.get("view") === "sessions") {
      showSessions();
      return;
    }
    if (params.get("view") === "recordings" || params.has("play")) {
      return; // player.js's
    }
    var targets = loadTargets();
    targets.then(offerLists, function () {
      // no list of targets, no link: the picker, if shown, says why
    });
    if (params.get("watch")) {
      watch(params.get("watch"));
      return;
    }
    if (params.get("target")) {
      start(params.get("target"));
      return;
    }
    if (params.get("host")) {
      start(params.get("host"), "ad-hoc host", "host");
      return;
    }
    targets.then(function (list) {
      if (list.targets.length === 1 && !list.adhoc) {
        start(list.targets[0].name, list.targets[0].description);
      } else {
        showPicker(list.targets, list.adhoc, null);
      }
    }).catch(function (err) {
      console.error("telgate: loading targets failed", err);
      showPicker([], false, err);
    });
  }

  // What player.js, the page's other script, takes from this one.
  window.telgatePage = Object.freeze({
    newTerminal: newTerminal,
    openTerminal: openTerminal,
    printable: printable,
    formatBytes: formatBytes,
    cell: cell,
    fetchJSON: fetchJSON,
    terminalText: terminalText,
    resizeTerminal: resizeTerminal,
    saveText: saveText,
  });

  main();
})();
