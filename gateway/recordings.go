package gateway

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"slices"
	"strings"
	"time"
)

// A RecordingInfo describes a session's recording in the recording
// directory: what the recordings list shows operators (see
// Gateway.Recordings).
type RecordingInfo struct {
	Name    string    `json:"name"`    // the file's name, what OpenRecording takes
	Target  string    `json:"target"`  // a target's name, or an ad-hoc host
	User    string    `json:"user"`    // "" without authentication, or from before users were recorded
	Remote  string    `json:"remote"`  // the browser's address, as logged
	Address string    `json:"address"` // what was dialled
	Started time.Time `json:"started"`
	// Length is from the start to the file's last write, in seconds:
	// about the session's length once it has ended.
	Length float64 `json:"length"`
	Size   int64   `json:"size"`
	// Recording says the session is still being recorded.
	Recording bool `json:"recording"`
}

// ErrNoRecording is returned for a recording that does not exist, or a
// name that could not be one.
var ErrNoRecording = errors.New("no such recording")

// MaxRecordingsListed bounds the list Recordings returns: the newest.
const MaxRecordingsListed = 1000

// maxCastHeader bounds a recording's first line, as read for the list.
const maxCastHeader = 16 << 10

// Recordings describes the recordings in the recording directory, the
// newest first (by their last write), at most MaxRecordingsListed. Files
// that are not recordings (another name, or a first line that is not an
// asciicast v2 header) are left out. Without a recording directory the
// list is empty; one that does not exist yet holds no recordings.
func (g *Gateway) Recordings() ([]RecordingInfo, error) {
	dir := g.opts.Recording.Dir
	if dir == "" {
		return []RecordingInfo{}, nil
	}
	root, err := os.OpenRoot(dir)
	if errors.Is(err, os.ErrNotExist) {
		return []RecordingInfo{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("recordings: %w", err)
	}
	defer root.Close()
	entries, err := fs.ReadDir(root.FS(), ".")
	if err != nil {
		return nil, fmt.Errorf("recordings: %w", err)
	}
	type file struct {
		name string
		info os.FileInfo
	}
	files := make([]file, 0, len(entries))
	for _, e := range entries {
		if !e.Type().IsRegular() || !isRecordingName(e.Name()) {
			continue
		}
		if info, err := e.Info(); err == nil {
			files = append(files, file{e.Name(), info})
		}
	}
	slices.SortFunc(files, func(a, b file) int {
		if c := b.info.ModTime().Compare(a.info.ModTime()); c != 0 {
			return c
		}
		return strings.Compare(b.name, a.name)
	})
	g.mu.Lock()
	writing := maps.Clone(g.writing)
	g.mu.Unlock()
	now := time.Now()
	out := make([]RecordingInfo, 0, min(len(files), MaxRecordingsListed))
	for _, f := range files {
		if len(out) == MaxRecordingsListed {
			break
		}
		info, ok := writing[f.name]
		if ok {
			// Its header may still be on its way to the disk.
			info.Length = max(0, now.Sub(info.Started).Seconds())
		} else {
			hdr, err := readCastHeader(root, f.name)
			if err != nil {
				continue
			}
			info = RecordingInfo{Name: f.name, Target: hdr.Title, Started: time.Unix(hdr.Timestamp, 0).UTC()}
			if hdr.Session != nil {
				info.User, info.Remote, info.Address = hdr.Session.User, hdr.Session.Remote, hdr.Session.Address
			}
			info.Length = max(0, f.info.ModTime().Sub(info.Started).Seconds())
		}
		info.Size = f.info.Size()
		out = append(out, info)
	}
	return out, nil
}

// OpenRecording opens the recording name names in the recording
// directory, for reading. It returns an error wrapping ErrNoRecording
// when there is none by that name, or the name could not be one (a path,
// a name telgate does not give, a link out of the directory, anything
// but a regular file); other errors (permissions, no descriptors left)
// are returned as they are.
func (g *Gateway) OpenRecording(name string) (*os.File, error) {
	dir := g.opts.Recording.Dir
	if dir == "" || !isRecordingName(name) {
		return nil, ErrNoRecording
	}
	return openRecording(dir, name)
}

// openRecording opens a recording in dir (see openIn).
func openRecording(dir, name string) (*os.File, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			err = fmt.Errorf("%w: %w", ErrNoRecording, err)
		}
		return nil, err
	}
	defer root.Close()
	return openIn(root, name)
}

// openIn opens a recording, only a regular file in root: a FIFO would
// block the open, a device would serve something else.
func openIn(root *os.Root, name string) (*os.File, error) {
	st, err := root.Lstat(name)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("%w: %w", ErrNoRecording, err)
	case err != nil:
		return nil, err
	case !st.Mode().IsRegular():
		return nil, fmt.Errorf("%w: %s is not a regular file", ErrNoRecording, name)
	}
	return root.Open(name)
}

// isRecordingName reports whether name could be one startRecording
// gives: letters, digits, '.', '_' and '-', no leading dot, ending in
// ".cast". Nothing else in the directory is listed or served.
func isRecordingName(name string) bool {
	base, ok := strings.CutSuffix(name, ".cast")
	if !ok || base == "" || len(name) > 128 || base[0] == '.' {
		return false
	}
	for i := range len(base) {
		if !fileNameByte(base[i]) {
			return false
		}
	}
	return true
}

// readCastHeader reads a recording's first line.
func readCastHeader(root *os.Root, name string) (castHeader, error) {
	var hdr castHeader
	f, err := openIn(root, name)
	if err != nil {
		return hdr, err
	}
	defer f.Close()
	if err := json.NewDecoder(io.LimitReader(f, maxCastHeader)).Decode(&hdr); err != nil {
		return hdr, fmt.Errorf("%s: header: %w", name, err)
	}
	if hdr.Version != 2 {
		return hdr, fmt.Errorf("%s: asciicast version %d, want 2", name, hdr.Version)
	}
	return hdr, nil
}

// Recording reports whether a recording directory is configured, where
// recorded sessions are kept.
func (g *Gateway) Recording() bool { return g.opts.Recording.Dir != "" }
