// telgate's recordings, for operators: the list (?view=recordings) and
// the player (?play=NAME).
//
// A recording is asciicast v2 (GET api/recordings/NAME): a header line,
// then one event a line, [seconds, code, data]: "o" output, "r" a resize
// to COLSxROWS, "m" a marker (what else happened: sharing, a lost
// connection, the end), "i" input (not shown: the echo shows what was
// typed). The player writes the output into a terminal of the recorded
// size at the recorded pace, or faster, with pauses longer than IDLE_MAX
// cut short; it seeks by writing everything up to a point at once
// (going back, from the start), and jumps to markers.
//
// This file uses what app.js, loaded before it, gives in
// window.telgatePage, and does nothing on the page's other views.
//
// Test hooks (kept stable on purpose): #recordings-link,
// #recordings-view, #recordings-rows tr[data-name], a.play, a.download,
// #player, #play-pause, #play-seek, #play-time, #play-speed,
// #play-markers, #play-text, #play-download and window.telgatePlayer = { term,
// position, duration, playing, markers }.
(function () {
  "use strict";

  var params = new URLSearchParams(location.search);
  var playName = params.get("play");
  if (params.get("view") !== "recordings" && playName === null) {
    return;
  }
  var page = window.telgatePage;
  if (!page || typeof Terminal !== "function") {
    return; // the terminal library did not load, and app.js says so
  }

  var IDLE_MAX = 2; // seconds: longer pauses are played this long
  var SEEK_STEP = 5; // seconds, for Left and Right
  var TICK_MAX_MS = 200; // the position shown moves at least this often
  var TEXT_LINES = 20000; // the player's scrollback: what Text saves at most

  var el = {
    status: document.getElementById("status"),
    targetName: document.getElementById("target-name"),
    terminal: document.getElementById("terminal"),
    toolbar: document.getElementById("toolbar"),
    picker: document.getElementById("target-picker"),
    view: document.getElementById("recordings-view"),
    message: document.getElementById("recordings-message"),
    table: document.getElementById("recordings-table"),
    rows: document.getElementById("recordings-rows"),
    player: document.getElementById("player"),
    pause: document.getElementById("play-pause"),
    seek: document.getElementById("play-seek"),
    time: document.getElementById("play-time"),
    speed: document.getElementById("play-speed"),
    markers: document.getElementById("play-markers"),
    text: document.getElementById("play-text"),
    download: document.getElementById("play-download"),
  };

  // The page's views share one top bar: the player and the list need
  // none of the session's controls.
  el.toolbar.hidden = true;
  el.picker.hidden = true;
  el.status.hidden = true;

  function recordingURL(name, download) {
    return "api/recordings/" + encodeURIComponent(name) + (download ? "?download=1" : "");
  }

  // formatTime gives seconds as m:ss, or h:mm:ss.
  function formatTime(t) {
    t = Math.max(0, Math.floor(t));
    var h = Math.floor(t / 3600);
    var m = Math.floor(t / 60) % 60;
    var s = String(t % 60).padStart(2, "0");
    return h > 0 ? h + ":" + String(m).padStart(2, "0") + ":" + s : m + ":" + s;
  }

  // ---- The list -------------------------------------------------------------

  function showList() {
    el.terminal.hidden = true;
    el.view.hidden = false;
    el.targetName.textContent = "recordings";
    document.title = "recordings \u2014 telgate";
    page.fetchJSON("api/recordings").then(renderList, function (err) {
      el.message.textContent = "Could not load the recordings (" + err.message + ").";
      el.message.classList.add("error");
    });
  }

  function renderList(list) {
    var recs = Array.isArray(list.recordings) ? list.recordings : [];
    el.message.textContent = recs.length === 0 ? "No session has been recorded." :
      recs.length + (recs.length === 1 ? " recording" : " recordings") + ", the newest first.";
    el.table.hidden = recs.length === 0;
    recs.forEach(function (r) {
      var row = document.createElement("tr");
      row.dataset.name = String(r.name);
      page.cell(row, page.printable(r.target), "mono").title = page.printable(r.address || "");
      page.cell(row, page.printable(r.user) || "anonymous");
      page.cell(row, page.printable(r.remote), "mono");
      var started = new Date(r.started);
      page.cell(row, isNaN(started) ? "" : started.toLocaleString()).title = String(r.started);
      page.cell(row, r.recording ? formatTime(r.length) + ", recording" : formatTime(r.length), r.recording ? "away" : "");
      page.cell(row, page.formatBytes(r.size));
      var actions = row.appendChild(document.createElement("td"));
      var play = actions.appendChild(document.createElement("a"));
      play.className = "btn play";
      play.textContent = "Play";
      play.href = "?play=" + encodeURIComponent(r.name);
      var save = actions.appendChild(document.createElement("a"));
      save.className = "btn download";
      save.textContent = "Download";
      save.href = recordingURL(r.name, true);
      el.rows.appendChild(row);
    });
  }

  // ---- The player -----------------------------------------------------------

  var term = null;
  var size = { cols: 80, rows: 24 }; // the recording's first
  var events = []; // {at: seconds, played with long pauses cut, code, data}
  var markers = []; // {at, text}
  var duration = 0;
  var next = 0; // the index of the next event to play
  var position = 0; // seconds into the recording, as played
  var playing = false;
  var speed = 1;
  var lastTick = 0;
  var timer = 0;

  window.telgatePlayer = Object.freeze({
    get term() { return term; },
    get position() { return position; },
    get duration() { return duration; },
    get playing() { return playing; },
    get markers() { return markers.slice(); },
  });

  // parse reads an asciicast v2 file. A line that is not an event (the
  // unfinished last line of a recording still being written) is skipped.
  function parse(text) {
    var lines = text.split("\n");
    var header = JSON.parse(lines[0]);
    if (!header || header.version !== 2) {
      throw new Error("not an asciicast v2 recording");
    }
    size = { cols: header.width, rows: header.height };
    var at = 0;
    var prev = 0;
    for (var i = 1; i < lines.length; i++) {
      var ev;
      try {
        ev = JSON.parse(lines[i]);
      } catch (e) {
        continue;
      }
      if (!Array.isArray(ev) || typeof ev[0] !== "number" || typeof ev[1] !== "string" || typeof ev[2] !== "string") {
        continue;
      }
      at += Math.min(Math.max(ev[0] - prev, 0), IDLE_MAX);
      prev = Math.max(prev, ev[0]);
      events.push({ at: at, code: ev[1], data: ev[2] });
      if (ev[1] === "m") {
        markers.push({ at: at, text: ev[2] });
      }
    }
    duration = events.length ? events[events.length - 1].at : 0;
    return header;
  }

  function resize(cols, rows) {
    page.resizeTerminal(term, cols, rows);
  }

  // playTo writes the events up to t (seconds, as played), output in
  // one write between resizes. The terminal parses writes later, in
  // order, and resizes at once: a resize is made when the output before
  // it has been parsed, before the output after it.
  function playTo(t) {
    var out = "";
    while (next < events.length && events[next].at <= t) {
      var ev = events[next++];
      if (ev.code === "o") {
        out += ev.data;
      } else if (ev.code === "r") {
        var m = /^(\d+)x(\d+)$/.exec(ev.data);
        if (m) {
          term.write(out, resize.bind(null, m[1], m[2]));
          out = "";
        }
      }
    }
    if (out) {
      term.write(out);
    }
    position = t;
    showPosition();
  }

  function showPosition() {
    el.seek.value = String(position);
    el.time.textContent = formatTime(position) + " / " + formatTime(duration);
  }

  function tick() {
    timer = 0;
    var now = performance.now();
    var t = Math.min(duration, position + (now - lastTick) / 1000 * speed);
    lastTick = now;
    playTo(t);
    if (next >= events.length) {
      setPlaying(false);
      return;
    }
    var wait = (events[next].at - position) / speed * 1000;
    timer = setTimeout(tick, Math.max(0, Math.min(wait, TICK_MAX_MS)));
  }

  function setPlaying(on) {
    if (on && next >= events.length) {
      seek(0); // from the start again
    }
    playing = on;
    el.pause.textContent = on ? "Pause" : "Play";
    clearTimeout(timer);
    timer = 0;
    if (on) {
      lastTick = performance.now();
      tick();
    }
  }

  // seekSoon seeks to where the slider was dragged, once a frame: going
  // back plays the recording from the start, which a drag would
  // otherwise do at each of its steps.
  var seekTo = null;
  var seekFrame = 0;
  function seekSoon(t) {
    seekTo = t;
    if (!seekFrame) {
      seekFrame = requestAnimationFrame(function () {
        seekFrame = 0;
        var to = seekTo;
        seekTo = null;
        if (to !== null) {
          seek(to);
        }
      });
    }
  }

  // seek moves to t: forward by playing what lies between at once, back
  // by playing from the start at once.
  function seek(t) {
    t = Math.min(Math.max(Number(t) || 0, 0), duration);
    if (t < position) {
      // The reset goes in the stream of writes: the terminal may still be
      // parsing those of a seek before, which must not land after it.
      term.write("\x1bc", resize.bind(null, size.cols, size.rows));
      next = 0;
    }
    playTo(t);
    lastTick = performance.now();
  }

  function showPlayer(name) {
    el.targetName.textContent = "recording";
    el.download.href = recordingURL(name, true);
    fetch(recordingURL(name, false), { cache: "no-store", credentials: "same-origin" }).then(function (resp) {
      if (!resp.ok) {
        throw new Error(resp.status === 404 ? "no such recording" : "HTTP " + resp.status);
      }
      return resp.text();
    }).then(function (text) {
      if (text === "") {
        throw new Error("it has only just started: reload in a moment");
      }
      var header = parse(text);
      var title = page.printable(header.title || name);
      var user = header.telgate && page.printable(header.telgate.user || "");
      var when = new Date(header.timestamp * 1000);
      el.targetName.textContent = title;
      el.targetName.title = [title, user, isNaN(when) ? "" : when.toLocaleString()].filter(Boolean).join(", ");
      document.title = title + " (recording) \u2014 telgate";
      term = page.newTerminal({ disableStdin: true, cursorBlink: false, scrollback: TEXT_LINES });
      el.terminal.classList.add("sized"); // scrolls when the recording is bigger than the window
      page.openTerminal(term, el.terminal);
      resize(size.cols, size.rows);
      el.seek.max = String(duration);
      markers.forEach(function (m) {
        var o = document.createElement("option");
        o.value = String(m.at);
        o.textContent = formatTime(m.at) + "  " + page.printable(m.text);
        el.markers.appendChild(o);
      });
      el.markers.disabled = markers.length === 0;
      el.player.hidden = false;
      showPosition();
      setPlaying(true);
    }).catch(function (err) {
      el.terminal.hidden = true;
      el.view.hidden = false;
      el.message.textContent = "Could not play the recording (" + page.printable(err.message) + ").";
      el.message.classList.add("error");
    });
  }

  // Play and Pause leave the keyboard where it was, so that Space and
  // the arrows keep working; the slider takes the arrows as the page
  // does.
  el.pause.addEventListener("mousedown", function (ev) {
    ev.preventDefault();
  });
  el.pause.addEventListener("click", function () {
    setPlaying(!playing);
  });
  // Text plays the rest at once and saves what the terminal then holds,
  // the plain text some want rather than the recording (Save's, for a
  // live session).
  el.text.addEventListener("mousedown", function (ev) {
    ev.preventDefault();
  });
  el.text.addEventListener("click", function () {
    seekTo = null; // a drag's seek still to come would go back after this one
    setPlaying(false);
    seek(duration);
    term.write("", function () {
      page.saveText(page.terminalText(term), (playName || "recording").replace(/\.cast$/, "") + ".txt");
    });
  });
  el.seek.addEventListener("input", function () {
    seekSoon(el.seek.value);
  });
  el.seek.addEventListener("keydown", function (ev) {
    if (ev.key === "ArrowLeft" || ev.key === "ArrowRight") {
      ev.preventDefault();
      ev.stopPropagation();
      seek(position + (ev.key === "ArrowLeft" ? -SEEK_STEP : SEEK_STEP));
    }
  });
  el.speed.addEventListener("change", function () {
    speed = Number(el.speed.value) || 1;
    lastTick = performance.now();
  });
  el.markers.addEventListener("change", function () {
    if (el.markers.value !== "") {
      seek(el.markers.value);
      el.markers.value = "";
    }
  });
  document.addEventListener("keydown", function (ev) {
    if (!term || ev.ctrlKey || ev.metaKey || ev.altKey || /^(INPUT|SELECT|BUTTON|A)$/.test(document.activeElement.tagName)) {
      return;
    }
    if (ev.key === " ") {
      setPlaying(!playing);
    } else if (ev.key === "ArrowLeft") {
      seek(position - SEEK_STEP);
    } else if (ev.key === "ArrowRight") {
      seek(position + SEEK_STEP);
    } else {
      return;
    }
    ev.preventDefault();
  });

  if (playName !== null) {
    showPlayer(playName);
  } else {
    showList();
  }
})();
