package web

import (
	"errors"
	"net/http"
	"strings"

	"telgate/gateway"
)

// recordingsRefusal refuses the recordings to all but operators: they
// hold what every user saw (and typed, with recording.input), and they
// are only kept where recording is configured.
func (h *handler) recordingsRefusal(id Identity) *refusal {
	switch {
	case !h.opts.Gateway.Recording():
		return &refusal{code: http.StatusNotFound, reason: "recordings without recording.dir",
			msg: "sessions are not recorded here (recording.dir)"}
	case !h.opts.Auth.operator(id):
		return &refusal{code: http.StatusForbidden, reason: "recordings for a non-operator",
			msg: "the recordings are for operators (auth.operator_users, operator_groups)"}
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
	if err != nil {
		code, msg := http.StatusNotFound, "no such recording"
		if !errors.Is(err, gateway.ErrNoRecording) {
			code, msg = http.StatusInternalServerError, "the recording cannot be read: see the gateway's log"
		}
		h.refuse(w, r, id, &refusal{code: code, reason: "recording " + printableLog(name) + ": " + err.Error(), msg: msg})
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		h.refuse(w, r, id, &refusal{code: http.StatusInternalServerError, reason: "recording " + name + ": " + err.Error(),
			msg: "the recording cannot be read: see the gateway's log"})
		return
	}
	h.opts.Log.Info().Str("user", id.User).Str("recording", name).Bool("download", r.URL.Query().Get("download") == "1").
		Msg("recording opened")
	w.Header().Set("Content-Type", "application/x-asciicast")
	w.Header().Set("Cache-Control", "no-store")
	if r.URL.Query().Get("download") == "1" {
		// The name is telgate's own: letters, digits, '.', '_', '-'.
		w.Header().Set("Content-Disposition", `attachment; filename="`+strings.ReplaceAll(name, `"`, "")+`"`)
	}
	http.ServeContent(w, r, name, st.ModTime(), f)
}
