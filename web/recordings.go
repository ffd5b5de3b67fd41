package web

import (
	"errors"
	"net/http"
	"os"
	"strings"

	"telgate/gateway"
)

// recordingsRefusal refuses the recordings to all but operators: they
// hold what every user saw (and typed, with recording.input), and they
// are only kept where recording is configured.
func (h *handler) recordingsRefusal(id Identity) *refusal {
	switch {
	case !h.operator(id):
		return &refusal{code: http.StatusForbidden, reason: "recordings for a non-operator",
			msg: "the recordings are for operators (auth.operator_users, operator_groups)"}
	case !h.opts.Gateway.Recording():
		return &refusal{code: http.StatusNotFound, reason: "recordings without recording.dir",
			msg: "sessions are not recorded here (recording.dir)"}
	}
	return nil
}

// recordingList answers GET /api/recordings: the recordings, newest
// first (at most gateway.MaxRecordingsListed).
func (h *handler) recordingList(w http.ResponseWriter, r *http.Request) {
	id := IdentityFrom(r.Context())
	if ref := h.recordingsRefusal(id); ref != nil {
		h.refuse(w, r, id, ref)
		return
	}
	list, err := h.opts.Gateway.Recordings()
	if err != nil {
		h.opts.Log.Error().Err(err).Msg("listing the recordings failed")
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "the recordings cannot be listed: see the gateway's log"})
		return
	}
	writeJSON(w, http.StatusOK, struct {
		Recordings []gateway.RecordingInfo `json:"recordings"`
	}{list})
}

// recording answers GET /api/recordings/{name}: the file, as asciicast
// v2, with ranges; ?download=1 asks the browser to save it. Each one
// served is logged, with who asked.
func (h *handler) recording(w http.ResponseWriter, r *http.Request) {
	id := IdentityFrom(r.Context())
	if ref := h.recordingsRefusal(id); ref != nil {
		h.refuse(w, r, id, ref)
		return
	}
	name := r.PathValue("name")
	f, err := h.opts.Gateway.OpenRecording(name)
	if errors.Is(err, gateway.ErrNoRecording) {
		h.refuse(w, r, id, &refusal{code: http.StatusNotFound, reason: "recording " + printableLog(name) + ": " + err.Error(),
			msg: "no such recording"})
		return
	}
	var st os.FileInfo
	if err == nil {
		defer f.Close()
		st, err = f.Stat()
	}
	if err != nil {
		h.opts.Log.Error().Err(err).Str("user", id.User).Str("remote", r.RemoteAddr).Str("recording", name).
			Msg("reading a recording failed")
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "the recording cannot be read: see the gateway's log"})
		return
	}
	if r.Method == http.MethodGet {
		ev := h.opts.Log.Info().Str("user", id.User).Str("remote", r.RemoteAddr).Str("recording", name).
			Bool("download", r.URL.Query().Get("download") == "1")
		if rng := r.Header.Get("Range"); rng != "" {
			ev = ev.Str("range", rng[:min(len(rng), 200)]) // JSON-escaped by the log
		}
		ev.Msg("recording opened")
	}
	w.Header().Set("Content-Type", "application/x-asciicast")
	w.Header().Set("Cache-Control", "no-store")
	if r.URL.Query().Get("download") == "1" {
		// The name is telgate's own: letters, digits, '.', '_', '-'.
		w.Header().Set("Content-Disposition", `attachment; filename="`+strings.ReplaceAll(name, `"`, "")+`"`)
	}
	http.ServeContent(w, r, name, st.ModTime(), f)
}
