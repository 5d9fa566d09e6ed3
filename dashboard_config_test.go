package main

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"

	"analytics/dashboard"
)

func TestDashboardAccessConfig(t *testing.T) {
	sum := sha256.Sum256([]byte("token"))
	cfg, err := loadConfig(writeConfig(t, `
[[site]]
domain = "a.example"
hosts = ["a.example"]
[[site.shared_link]]
name = "team"
token_sha256 = "`+hex.EncodeToString(sum[:])+`"

[[user]]
email = "o@a.example"
password_bcrypt = "$2a$04$abcdefghijklmnopqrstuuAbcdefghijklmnopqrstuvwxyz01234"
sites = ["a.example"]
`))
	if err != nil {
		t.Fatal(err)
	}
	opts := dashboardOptions(cfg, nil, []string{"10.0.0.0/8"}, nil)
	if len(opts.Sites) != 1 || len(opts.Sites[0].SharedLinks) != 1 || opts.Sites[0].SharedLinks[0] != (dashboard.SharedLink{Name: "team", SHA256: sum}) {
		t.Errorf("shared links %+v", opts.Sites)
	}
	if len(opts.Users) != 1 || opts.Users[0].Email != "o@a.example" || opts.Users[0].Sites[0] != "a.example" {
		t.Errorf("users %+v", opts.Users)
	}
	if len(opts.TrustedProxies) != 1 {
		t.Errorf("trusted proxies %v", opts.TrustedProxies)
	}

	for name, tc := range map[string]struct{ body, want string }{
		"shared link without sha256": {"[[site]]\ndomain = \"a.example\"\n[[site.shared_link]]\nname = \"x\"\n", "token_sha256 must be 64 hex digits"},
		"shared link without name":   {"[[site]]\ndomain = \"a.example\"\n[[site.shared_link]]\ntoken_sha256 = \"00\"\n", "name is empty"},
		"user twice": {"[[site]]\ndomain = \"a.example\"\n" +
			"[[user]]\nemail = \"o@a.example\"\npassword_bcrypt = \"$2a$04$x\"\nsites = [\"*\"]\n" +
			"[[user]]\nemail = \"O@a.example\"\npassword_bcrypt = \"$2a$04$x\"\nsites = [\"*\"]\n", "configured twice"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := loadConfig(writeConfig(t, tc.body))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err %v, want %q", err, tc.want)
			}
		})
	}
}
