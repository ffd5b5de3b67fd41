package web

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"net"
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
// the users file (so a changed password ends it too) and the password
// the browser sent: it counts only with the same Basic credentials, which
// the browser sends with every request anyway, so it spares the checks
// and never stands in for the password. It is HttpOnly, SameSite=Lax (a
// link from a portal on another site carries it; the API and the
// WebSocket check the origin themselves), Secure when the request is
// known to be https, and lasts as long as the browser's session. Its name
// carries the port the browser used, since cookies are shared by every
// port of a host: two gateways on one host keep one each.
const (
	sessionCookieName = "telgate_session"
	// sessionTTL is how long a cookie is worth something after it was
	// issued; it is issued anew on a request when older than
	// sessionRenew, so a browser in use keeps it for good and one
	// left alone for a day must log in again.
	sessionTTL   = 24 * time.Hour
	sessionRenew = time.Hour
)

// cookieName is the session cookie's name for r: sessionCookieName, and
// the port r was sent to when its Host names one.
func cookieName(r *http.Request) string {
	if _, port, err := net.SplitHostPort(r.Host); err == nil && port != "" && strings.Trim(port, "0123456789") == "" {
		return sessionCookieName + "_" + port
	}
	return sessionCookieName
}

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

// A login is what a session cookie is signed over: the Basic user and
// password the browser sends, and the user's hash in the users file.
type login struct {
	user, password string
	hash           []byte
}

// valid reports whether r carries a session cookie issued, less than
// sessionTTL ago, for l.
func (s *sessions) valid(r *http.Request, l login) bool {
	_, ok := s.issued(r, l)
	return ok
}

// renewal returns the cookie to set on the answer to r, made by l: a new
// one unless r carries a valid one issued less than sessionRenew ago, and
// then nil.
func (s *sessions) renewal(r *http.Request, l login, secure bool) *http.Cookie {
	now := s.now()
	if at, ok := s.issued(r, l); ok && now.Sub(at) < sessionRenew {
		return nil
	}
	return &http.Cookie{
		Name:     cookieName(r),
		Value:    s.sign(l, now.Unix()),
		Path:     "/",
		HttpOnly: true,
		Secure:   secure,
		SameSite: http.SameSiteLaxMode,
	}
}

// issued returns when the newest valid session cookie of r for l was
// issued. Cookies of the same name that are not valid here (a gateway
// restarted since, or a replica beside this one) are skipped.
func (s *sessions) issued(r *http.Request, l login) (time.Time, bool) {
	now := s.now()
	var newest time.Time
	found := false
	for _, c := range r.CookiesNamed(cookieName(r)) {
		at, ok := s.check(c.Value, l)
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
// both with the login's password and hash.
func (s *sessions) sign(l login, issued int64) string {
	u := base64.RawURLEncoding.EncodeToString([]byte(l.user))
	at := strconv.FormatInt(issued, 10)
	return u + "." + at + "." + base64.RawURLEncoding.EncodeToString(s.mac(l, at))
}

// check verifies a cookie value for l, and returns when it was issued.
func (s *sessions) check(value string, l login) (time.Time, bool) {
	u, rest, ok := strings.Cut(value, ".")
	if !ok {
		return time.Time{}, false
	}
	at, sig, ok := strings.Cut(rest, ".")
	if !ok {
		return time.Time{}, false
	}
	name, err := base64.RawURLEncoding.DecodeString(u)
	if err != nil || string(name) != l.user {
		return time.Time{}, false
	}
	mac, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || !hmac.Equal(mac, s.mac(l, at)) {
		return time.Time{}, false
	}
	secs, err := strconv.ParseInt(at, 10, 64)
	if err != nil {
		return time.Time{}, false
	}
	return time.Unix(secs, 0), true
}

// mac signs a cookie. Each field is preceded by its length, so that no
// two logins sign alike.
func (s *sessions) mac(l login, issued string) []byte {
	m := hmac.New(sha256.New, s.key[:])
	m.Write([]byte("telgate session v2"))
	for _, field := range [][]byte{[]byte(l.user), []byte(issued), l.hash, []byte(l.password)} {
		m.Write(binary.BigEndian.AppendUint32(nil, uint32(len(field))))
		m.Write(field)
	}
	return m.Sum(nil)
}
