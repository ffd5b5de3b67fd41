package web

import (
	"errors"
	"fmt"
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

// An unknown user name is compared against a stand-in hash at a cost some
// user has, picked per name, each cost as often as users have it, so that
// it takes as long as some user's wrong password, and the same at every
// try. Before, the stand-in had the file's highest cost: with alice at 4
// and bob at 9 an unknown name took 30 times alice's wrong password.
func TestUnknownUsersTakeAsLongAsSomeUsersWrongPassword(t *testing.T) {
	var b strings.Builder
	b.WriteString("users:\n")
	for i, cost := range []int{4, 6, 6, 6} {
		h, err := bcrypt.GenerateFromPassword([]byte("pw"), cost)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "  - name: user%d\n    password: %q\n", i, h)
	}
	u, err := ParseUsers("u.yaml", []byte(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	// A restart, reading the same file, keeps each name's cost.
	restarted, err := ParseUsers("u.yaml", []byte(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	// costOf returns the cost of the one hash an unknown name is compared
	// against.
	costOf := func(u *Users, name string) int {
		var costs []int
		u.check(name, "wrong", func(hash, pw []byte) error {
			c, err := bcrypt.Cost(hash)
			if err != nil {
				t.Fatalf("%s compared against %q: %v", name, hash, err)
			}
			costs = append(costs, c)
			return bcrypt.ErrMismatchedHashAndPassword
		})
		if len(costs) != 1 {
			t.Fatalf("%s: %d comparisons, want 1", name, len(costs))
		}
		return costs[0]
	}
	const names = 400
	count := map[int]int{}
	for i := range names {
		name := fmt.Sprintf("nosuchuser%d", i)
		c := costOf(u, name)
		count[c]++
		if again := costOf(u, name); again != c {
			t.Errorf("%s compared at cost %d, then %d: want the same every time", name, c, again)
		}
		if again := costOf(restarted, name); again != c {
			t.Errorf("%s compared at cost %d, after a restart %d: want the same", name, c, again)
		}
	}
	// One user in four has cost 4: about 100 names of 400 (sd 8.7).
	if count[4] < 50 || count[4] > 150 || count[4]+count[6] != names {
		t.Errorf("%d unknown names compared at costs %v, want about a quarter at 4 and the rest at 6, as the users", names, count)
	}
}

// A users file is one YAML document: a second, after "---", is refused
// with its line instead of being ignored with the users it lists.
func TestUsersFileIsOneYAMLDocument(t *testing.T) {
	h, err := bcrypt.GenerateFromPassword([]byte("pw"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	user := func(name string) string { return "  - name: " + name + "\n    password: \"" + string(h) + "\"\n" }
	for _, tc := range []struct{ yaml, want string }{
		{"users:\n" + user("a") + "---\nusers:\n" + user("b"), "u.yaml:4: a second YAML document"},
		{"users:\n" + user("a") + "\n--- # more\n# none yet\n---\n- x\n", "u.yaml:7: a second YAML document"},
		{"users:\n" + user("a") + "---\n{\n", "u.yaml:5: "},
	} {
		_, err := ParseUsers("u.yaml", []byte(tc.yaml))
		var ce *gateway.ConfigError
		if err == nil || !errors.As(err, &ce) || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want a ConfigError starting %q", tc.yaml, err, tc.want)
		}
	}
	// One document, marked as such, is fine, and so is a later one that
	// holds nothing.
	for _, in := range []string{"---\nusers:\n" + user("a") + "...\n", "users:\n" + user("a") + "---\n# nothing\n"} {
		if u, err := ParseUsers("u.yaml", []byte(in)); err != nil || u.Len() != 1 {
			t.Errorf("%q: %v", in, err)
		}
	}
}
