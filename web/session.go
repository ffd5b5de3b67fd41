package web

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// A browser that logs in with HTTP Basic is given a session cookie, and
// while it holds one its requests need neither a bcrypt comparison nor
// the failed-login limiter: others failing logins from its address (a
// NAT's neighbours, every user behind a reverse proxy that is not
// trusted) cannot lock it out. A client without the cookie, however
// right its password, gets no such pass: were correct credentials served
// while the client's failures are spent, it could try passwords as fast
// as it can send them and tell the right one (200) from the rest (429).
//
// The cookie names the user and when it was issued, signed with a key
// made at start (so a restart ends every session) over the user's hash in
// the users file (so a changed password ends it too). It is HttpOnly,
// SameSite=Strict and, over https, Secure; it counts only with Basic
// credentials for the same user, which the browser sends anyway.
const (
	sessionCookieName = "telgate_session"
	// sessionTTL is how long a cookie is worth something after it was
	// issued; it is issued anew on a request when older than
	// sessionRenew, so a browser in use keeps it for good and one
	// left alone for a day must log in again.
	sessionTTL   = 24 * time.Hour
	sessionRenew = time.Hour
)

// sessions signs and checks session cookies.
type sessions struct {
	key [32]byte
	now func() time.Time
}

func newSessions() *sessions {
	s := &sessions{now: time.Now}
	_, _ = rand.Read(s.key[:])
	return s
}

// valid reports whether r carries a session cookie issued, less than
// sessionTTL ago, to user while the users file had hash for them.
func (s *sessions) valid(r *http.Request, user string, hash []byte) bool {
	_, ok := s.issued(r, user, hash)
	return ok
}

// renewal returns the cookie to set on the answer to r, from user whose
// hash is hash: a new one unless r carries a valid one issued less than
// sessionRenew ago, and then nil.
func (s *sessions) renewal(r *http.Request, user string, hash []byte, secure bool) *http.Cookie {
	now := s.now()
	if at, ok := s.issued(r, user, hash); ok && now.Sub(at) < sessionRenew {
		return nil
	}
	return &http.Cookie{
		Name:     sessionCookieName,
		Value:    s.sign(user, now.Unix(), hash),
		Path:     "/",
		MaxAge:   int(sessionTTL / time.Second),
		HttpOnly: true,
		Secure:   secure,
		SameSite: http.SameSiteStrictMode,
	}
}

// issued returns when the newest valid session cookie of r for user and
// hash was issued. Another telgate on the same host (cookies do not
// depend on the port) may have set one of the same name: such cookies
// are not valid here, and skipped.
func (s *sessions) issued(r *http.Request, user string, hash []byte) (time.Time, bool) {
	now := s.now()
	var newest time.Time
	found := false
	for _, c := range r.CookiesNamed(sessionCookieName) {
		at, ok := s.check(c.Value, user, hash)
		if !ok || now.Sub(at) >= sessionTTL || at.After(now.Add(time.Minute)) {
			continue
		}
		if !found || at.After(newest) {
			newest, found = at, true
		}
	}
	return newest, found
}

// sign makes a cookie value: the user, the time of issue and the MAC of
// both with the user's hash.
func (s *sessions) sign(user string, issued int64, hash []byte) string {
	u := base64.RawURLEncoding.EncodeToString([]byte(user))
	at := strconv.FormatInt(issued, 10)
	return u + "." + at + "." + base64.RawURLEncoding.EncodeToString(s.mac(user, at, hash))
}

// check verifies a cookie value for user and hash, and returns when it
// was issued.
func (s *sessions) check(value, user string, hash []byte) (time.Time, bool) {
	u, rest, ok := strings.Cut(value, ".")
	if !ok {
		return time.Time{}, false
	}
	at, sig, ok := strings.Cut(rest, ".")
	if !ok {
		return time.Time{}, false
	}
	name, err := base64.RawURLEncoding.DecodeString(u)
	if err != nil || string(name) != user {
		return time.Time{}, false
	}
	mac, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || !hmac.Equal(mac, s.mac(user, at, hash)) {
		return time.Time{}, false
	}
	secs, err := strconv.ParseInt(at, 10, 64)
	if err != nil {
		return time.Time{}, false
	}
	return time.Unix(secs, 0), true
}

func (s *sessions) mac(user, issued string, hash []byte) []byte {
	m := hmac.New(sha256.New, s.key[:])
	m.Write([]byte("telgate session\x00"))
	m.Write([]byte(user))
	m.Write([]byte{0})
	m.Write([]byte(issued))
	m.Write([]byte{0})
	m.Write(hash)
	return m.Sum(nil)
}
