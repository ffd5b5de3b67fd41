package web

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"os"
	"regexp"
	"slices"
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
	// standIns are hashes of a random password, one at each cost the
	// file uses, with how many users have that cost; an unknown user is
	// compared against one of them (see standIn), so that it takes as
	// long as some user's wrong password.
	standIns []standIn
	// standInKey keys the hash of an unknown name that picks its
	// stand-in: a hash of the users' hashes, whose salts are secret, so
	// that a name keeps its stand-in across restarts while the file does
	// not change, as a user keeps its hash.
	standInKey [32]byte
}

type standIn struct {
	cost  int
	users int // how many users' hashes have this cost
	hash  []byte
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
	// A second document would be ignored: users listed after a "---"
	// could not log in, and nothing would say why.
	if line, err := gateway.LaterYAMLDocument(dec); err != nil {
		return nil, gateway.YAMLError(name, err)
	} else if line > 0 {
		return nil, fail(line, "a second YAML document: a users file holds one, with every user under its users:")
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
	usersAt := map[int]int{} // how many users have each cost
	key := sha256.New()
	key.Write([]byte("telgate unknown-user stand-in\x00"))
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
		usersAt[cost]++
		var groups []string
		for _, g := range ru.Groups {
			if !validGroup(g) {
				return nil, fail(lineOf(i, "groups"), "user %q: group %q: want 1-256 printable characters, no ','", ru.Name, g)
			}
			groups = append(groups, g)
		}
		u.byName[ru.Name] = userEntry{hash: []byte(ru.Password), groups: groups}
		key.Write([]byte(ru.Password))
	}
	key.Sum(u.standInKey[:0])
	var secret [16]byte
	_, _ = rand.Read(secret[:])
	for _, cost := range slices.Sorted(maps.Keys(usersAt)) {
		hash, err := bcrypt.GenerateFromPassword([]byte(fmt.Sprintf("%x", secret)), cost)
		if err != nil {
			return nil, fmt.Errorf("users file: %w", err)
		}
		u.standIns = append(u.standIns, standIn{cost: cost, users: usersAt[cost], hash: hash})
	}
	return u, nil
}

// standIn returns the hash an unknown user name is compared against: one
// at a cost some user has, chosen by a keyed hash of the name, so that a
// name takes the same time at every try, and each cost is as likely as
// the share of users who have it. A single stand-in at one cost would
// tell unknown names from users whose hashes have another; one chosen
// afresh at each try, by the spread of its times.
func (u *Users) standIn(name string) []byte {
	m := hmac.New(sha256.New, u.standInKey[:])
	m.Write([]byte(name))
	n := binary.BigEndian.Uint64(m.Sum(nil)) % uint64(len(u.byName))
	for _, s := range u.standIns {
		if n < uint64(s.users) {
			return s.hash
		}
		n -= uint64(s.users)
	}
	return u.standIns[len(u.standIns)-1].hash // not reached: the counts sum to len(byName)
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
// comparison against its stand-in hash (see standIn), so that the time
// taken does not tell whether a user exists.
func (u *Users) check(name, password string, compare func(hash, pw []byte) error) (groups []string, ok bool) {
	e, known := u.byName[name]
	hash := e.hash
	if !known {
		hash = u.standIn(name)
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
