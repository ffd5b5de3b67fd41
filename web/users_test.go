package web

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"telgate/gateway"
)

func TestUsersFileIsParsed(t *testing.T) {
	u := loadTestUsers(t)
	if u.Len() != len(testUsers) {
		t.Fatalf("%d users, want %d", u.Len(), len(testUsers))
	}
	for _, tu := range testUsers {
		groups, ok := u.check(tu.name, tu.password, bcrypt.CompareHashAndPassword)
		if !ok || !reflect.DeepEqual(groups, tu.groups) {
			t.Errorf("%s: ok %v, groups %q; want true, %q", tu.name, ok, groups, tu.groups)
		}
	}
	// The prefixes other bcrypt implementations write are taken too.
	h, _ := bcrypt.GenerateFromPassword([]byte("pw"), bcrypt.MinCost)
	for _, prefix := range []string{"$2a$", "$2b$", "$2y$"} {
		hash := prefix + string(h[4:])
		u, err := ParseUsers("u.yaml", []byte("users:\n  - name: x\n    password: '"+hash+"'\n"))
		if err != nil {
			t.Errorf("%s: %v", prefix, err)
			continue
		}
		if _, ok := u.check("x", "pw", bcrypt.CompareHashAndPassword); !ok {
			t.Errorf("%s: password refused", prefix)
		}
	}
}

func TestUsersFileErrorsHaveFileAndLine(t *testing.T) {
	h, err := bcrypt.GenerateFromPassword([]byte("pw"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	good := `"` + string(h) + `"`
	withCost := func(c string) string { return `"$2a$` + c + string(h[6:]) + `"` }
	for _, tc := range []struct{ yaml, want string }{
		{"", "u.yaml: empty file"},
		{"users: []\n", "u.yaml: no users"},
		{"user:\n  - name: a\n", `u.yaml:1: unknown key "user"`},
		{"users:\n  - name: a\n    password: " + good + "\n    group: [x]\n", `u.yaml:4: unknown key "group"`},
		{"users:\n  - name: a\n    password: " + good + "\n  - name: a\n    password: " + good + "\n", `u.yaml:4: duplicate user "a" (first at line 2)`},
		{"users:\n  - name: a\n    password: hunter2\n", `u.yaml:3: user "a": password is not a bcrypt hash`},
		{"users:\n  - name: a\n", `u.yaml:2: user "a": no password`},
		{"users:\n  - name: a\n    password: " + withCost("31") + "\n", `u.yaml:3: user "a": bcrypt cost 31 is too high`},
		{"users:\n  - name: a\n    password: " + withCost("03") + "\n", `u.yaml:3: user "a": password is not a valid bcrypt hash`},
		{"users:\n  - password: " + good + "\n", `u.yaml:2: user name ""`},
		{"users:\n  - name: \"a:b\"\n    password: " + good + "\n", `u.yaml:2: user name "a:b"`},
		{"users:\n  - name: a b\n    password: " + good + "\n", `u.yaml:2: user name "a b"`},
		{"users:\n  - name: a\n    password: " + good + "\n    groups: [\"x,y\"]\n", `u.yaml:4: user "a": group "x,y"`},
		{"users:\n  - name: a\n    password: " + good + "\n    groups: [\"\"]\n", `u.yaml:4: user "a": group ""`},
		{"users:\n  - name: [a]\n", "u.yaml:2: "},
		{"users: {\n", "u.yaml:"},
	} {
		_, err := ParseUsers("u.yaml", []byte(tc.yaml))
		var ce *gateway.ConfigError
		if err == nil || !errors.As(err, &ce) || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want a ConfigError starting %q", tc.yaml, err, tc.want)
		}
	}
}

func TestLoadUsers(t *testing.T) {
	path := filepath.Join(t.TempDir(), "users.yaml")
	if err := os.WriteFile(path, testUsersFile(t), 0o600); err != nil {
		t.Fatal(err)
	}
	if u, err := LoadUsers(path); err != nil || u.Len() != 3 {
		t.Fatalf("LoadUsers: %v", err)
	}
	if _, err := LoadUsers(path + ".missing"); err == nil || !strings.Contains(err.Error(), "users file") {
		t.Errorf("missing file: %v", err)
	}
}

func TestHashPasswordRefusesWhatBcryptCannotHold(t *testing.T) {
	for _, pw := range []string{"", strings.Repeat("x", MaxPasswordLen+1)} {
		if _, err := HashPassword(pw); err == nil {
			t.Errorf("HashPassword(%d bytes) succeeded", len(pw))
		}
	}
}
