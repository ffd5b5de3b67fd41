package web

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
	"golang.org/x/crypto/bcrypt"

	"telgate/gateway"
)

// HashCost is the bcrypt cost of the hashes HashPassword makes.
const HashCost = 12

// maxHashCost is the dearest bcrypt cost a users file may use: each cost
// step doubles the time of a login, and 16 already takes seconds.
const maxHashCost = 16

// MaxPasswordLen is the longest password bcrypt can check: it ignores
// every byte after the 72nd, so longer passwords are refused rather than
// silently truncated.
const MaxPasswordLen = 72

// Users is a users file: names, bcrypt password hashes and groups, for
// HTTP Basic authentication.
//
//	users:
//	  - name: alice
//	    password: "$2a$12$..."     # telgate -hash-password
//	    groups: [netops]
type Users struct {
	byName map[string]userEntry
	// dummy is a hash of a random password at the highest cost in the
	// file, compared against when the user is unknown so that unknown
	// and known users take the same time.
	dummy []byte
}

type userEntry struct {
	hash   []byte
	groups []string
}

// Len returns the number of users.
func (u *Users) Len() int { return len(u.byName) }

// LoadUsers reads and checks a users file. Problems are reported as
// *gateway.ConfigError with the file, line and reason.
func LoadUsers(path string) (*Users, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("users file: %w", err)
	}
	return ParseUsers(path, data)
}

type rawUsers struct {
	Users []rawUser `yaml:"users"`
}

type rawUser struct {
	Name     string   `yaml:"name"`
	Password string   `yaml:"password"`
	Groups   []string `yaml:"groups"`
}

var (
	// userName: what a user types into the browser's login prompt. No
	// ':' (HTTP Basic splits on it), no spaces or controls.
	userName  = regexp.MustCompile(`^[A-Za-z0-9._@+-]{1,64}$`)
	bcryptFmt = regexp.MustCompile(`^\$2[abxy]?\$[0-9]{2}\$[./A-Za-z0-9]{53}$`)
)

// ParseUsers parses a users file's contents; name is used in errors.
func ParseUsers(name string, data []byte) (*Users, error) {
	fail := func(line int, format string, args ...any) error {
		return &gateway.ConfigError{File: name, Line: line, Msg: fmt.Sprintf(format, args...)}
	}
	var raw rawUsers
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&raw); err != nil {
		return nil, gateway.YAMLError(name, err)
	}
	var nodes struct {
		Users []yaml.Node `yaml:"users"`
	}
	_ = yaml.Unmarshal(data, &nodes)
	lineOf := func(i int, key string) int {
		if i >= len(nodes.Users) {
			return 0
		}
		n := &nodes.Users[i]
		for j := 0; key != "" && j+1 < len(n.Content); j += 2 {
			if n.Content[j].Value == key {
				return n.Content[j].Line
			}
		}
		return n.Line
	}
	if len(raw.Users) == 0 {
		return nil, fail(0, "no users")
	}
	u := &Users{byName: map[string]userEntry{}}
	first := map[string]int{}
	maxCost := bcrypt.MinCost
	for i, ru := range raw.Users {
		line := lineOf(i, "")
		if !userName.MatchString(ru.Name) {
			return nil, fail(lineOf(i, "name"), "user name %q: want 1-64 letters, digits, '.', '_', '@', '+' or '-'", ru.Name)
		}
		if prev, dup := first[ru.Name]; dup {
			return nil, fail(line, "duplicate user %q (first at line %d)", ru.Name, prev)
		}
		first[ru.Name] = line
		if ru.Password == "" {
			return nil, fail(line, "user %q: no password (make a hash with telgate -hash-password)", ru.Name)
		}
		if !bcryptFmt.MatchString(ru.Password) {
			return nil, fail(lineOf(i, "password"), "user %q: password is not a bcrypt hash (make one with telgate -hash-password)", ru.Name)
		}
		cost, err := bcrypt.Cost([]byte(ru.Password))
		if err != nil {
			return nil, fail(lineOf(i, "password"), "user %q: password is not a valid bcrypt hash", ru.Name)
		}
		if cost > maxHashCost {
			return nil, fail(lineOf(i, "password"), "user %q: bcrypt cost %d is too high (at most %d): each login would take minutes", ru.Name, cost, maxHashCost)
		}
		maxCost = max(maxCost, cost)
		var groups []string
		for _, g := range ru.Groups {
			if !validGroup(g) {
				return nil, fail(lineOf(i, "groups"), "user %q: group %q: want 1-256 printable characters, no ','", ru.Name, g)
			}
			groups = append(groups, g)
		}
		u.byName[ru.Name] = userEntry{hash: []byte(ru.Password), groups: groups}
	}
	var secret [32]byte
	_, _ = rand.Read(secret[:])
	dummy, err := bcrypt.GenerateFromPassword([]byte(fmt.Sprintf("%x", secret[:16])), maxCost)
	if err != nil {
		return nil, fmt.Errorf("users file: %w", err)
	}
	u.dummy = dummy
	return u, nil
}

// validGroup accepts what can travel in a comma-separated groups header.
func validGroup(g string) bool {
	if g == "" || len(g) > 256 || !utf8.ValidString(g) || strings.TrimSpace(g) != g {
		return false
	}
	for _, r := range g {
		if r == ',' || unicode.IsControl(r) {
			return false
		}
	}
	return true
}

// check reports whether password is user's. An unknown user costs a
// comparison against the dummy hash, so that the time taken does not
// tell whether a user exists.
func (u *Users) check(name, password string, compare func(hash, pw []byte) error) (groups []string, ok bool) {
	e, known := u.byName[name]
	hash := e.hash
	if !known {
		hash = u.dummy
	}
	if len(password) > MaxPasswordLen {
		// bcrypt would ignore the tail; do the same work and refuse.
		_ = compare(hash, []byte(password[:MaxPasswordLen]))
		return nil, false
	}
	if compare(hash, []byte(password)) != nil || !known {
		return nil, false
	}
	return e.groups, true
}

// HashPassword returns the bcrypt hash of password for a users file.
func HashPassword(password string) (string, error) {
	if password == "" {
		return "", errors.New("empty password")
	}
	if len(password) > MaxPasswordLen {
		return "", fmt.Errorf("password longer than %d bytes: bcrypt ignores the rest", MaxPasswordLen)
	}
	h, err := bcrypt.GenerateFromPassword([]byte(password), HashCost)
	if err != nil {
		return "", err
	}
	return string(h), nil
}
