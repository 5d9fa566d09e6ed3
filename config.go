package main

import (
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"analytics/collector/pathtmpl"
	"analytics/schema"
)

// fileConfig is the TOML configuration file (ANALYTICS_CONFIG): the sites,
// the dashboard's users and the Stats API keys.
type fileConfig struct {
	Sites   []siteConfig   `toml:"site"`
	Users   []userConfig   `toml:"user"`
	APIKeys []apiKeyConfig `toml:"api_key"`
}

type siteConfig struct {
	Domain      string   `toml:"domain"`
	Hosts       []string `toml:"hosts"`
	MinVisitors int      `toml:"min_visitors"`
	// RetentionMonths is how long the site's aggregates are kept (default
	// 25, 1..120): `analytics retention` and serve/dashboard drop older ones.
	RetentionMonths int    `toml:"retention_months"`
	Timezone        string `toml:"timezone"`
	// HonorDNT and HonorGPC (default true) drop requests that carry
	// "DNT: 1" or "Sec-GPC: 1".
	HonorDNT *bool `toml:"honor_dnt"`
	HonorGPC *bool `toml:"honor_gpc"`
	// SpamReferrers adds referrer hosts to drop as spam.
	SpamReferrers []string `toml:"spam_referrers"`
	// Paths adds path templating rules and keeps (collector/pathtmpl).
	Paths pathtmpl.Config `toml:"paths"`
	// SharedLinks give read-only access to the site's dashboard page
	// without signing in: /share/DOMAIN?auth=TOKEN.
	SharedLinks []sharedLinkConfig `toml:"shared_link"`

	location *time.Location
}

// sharedLinkConfig is a [[site.shared_link]]: only the token's sha256 is
// configured (`analytics hash-key` makes a token and its sha256).
type sharedLinkConfig struct {
	Name        string `toml:"name"`
	TokenSHA256 string `toml:"token_sha256"`

	sum [32]byte
}

type userConfig struct {
	Email          string   `toml:"email"`
	PasswordBcrypt string   `toml:"password_bcrypt"`
	Sites          []string `toml:"sites"`
}

type apiKeyConfig struct {
	Name   string   `toml:"name"`
	SHA256 string   `toml:"sha256"`
	Sites  []string `toml:"sites"`

	sum [32]byte
}

// loadConfig reads and validates the configuration file. Every error names
// the file, the entry and the field.
func loadConfig(path string) (*fileConfig, error) {
	if path == "" {
		return nil, fmt.Errorf("no configuration file: set -config or ANALYTICS_CONFIG (see analytics.example.toml)")
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	var cfg fileConfig
	md, err := toml.Decode(string(raw), &cfg)
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	if undec := md.Undecoded(); len(undec) > 0 {
		return nil, fmt.Errorf("config %s: unknown setting %q", path, undec[0].String())
	}
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	return &cfg, nil
}

func (c *fileConfig) validate() error {
	if len(c.Sites) == 0 {
		return fmt.Errorf("no [[site]] configured")
	}
	domains := map[string]bool{}
	for i := range c.Sites {
		s := &c.Sites[i]
		s.Domain = strings.ToLower(strings.TrimSpace(s.Domain))
		s.Domain = strings.TrimPrefix(s.Domain, "www.")
		if s.Domain == "" || strings.ContainsAny(s.Domain, "/ ,:") {
			return fmt.Errorf("site #%d: domain %q must be a bare host name like example.com", i+1, s.Domain)
		}
		if domains[s.Domain] {
			return fmt.Errorf("site %s: configured twice", s.Domain)
		}
		domains[s.Domain] = true
		if s.MinVisitors == 0 {
			s.MinVisitors = 5
		}
		if s.MinVisitors < 1 {
			return fmt.Errorf("site %s: min_visitors %d must be at least 1", s.Domain, s.MinVisitors)
		}
		if s.RetentionMonths == 0 {
			s.RetentionMonths = schema.DefaultRetentionMonths
		}
		if s.RetentionMonths < 1 || s.RetentionMonths > schema.MaxRetentionMonths {
			return fmt.Errorf("site %s: retention_months %d must be between 1 and %d", s.Domain, s.RetentionMonths, schema.MaxRetentionMonths)
		}
		if s.Timezone == "" {
			s.Timezone = "UTC"
		}
		loc, err := time.LoadLocation(s.Timezone)
		if err != nil {
			return fmt.Errorf("site %s: timezone %q: %w", s.Domain, s.Timezone, err)
		}
		s.location = loc
		if err := s.Paths.Validate(); err != nil {
			return fmt.Errorf("site %s: paths: %w", s.Domain, err)
		}
		for j := range s.SharedLinks {
			l := &s.SharedLinks[j]
			if l.Name == "" {
				return fmt.Errorf("site %s: shared_link #%d: name is empty", s.Domain, j+1)
			}
			b, err := hex.DecodeString(l.TokenSHA256)
			if err != nil || len(b) != 32 {
				return fmt.Errorf("site %s: shared_link %s: token_sha256 must be 64 hex digits (sha256 of the token; make one with `analytics hash-key`)", s.Domain, l.Name)
			}
			copy(l.sum[:], b)
		}
	}
	checkSites := func(what string, sites []string) error {
		if len(sites) == 0 {
			return fmt.Errorf("%s: sites is empty (list domains, or \"*\" for all)", what)
		}
		for _, d := range sites {
			if d != "*" && !domains[strings.TrimPrefix(strings.ToLower(d), "www.")] {
				return fmt.Errorf("%s: site %q is not configured", what, d)
			}
		}
		return nil
	}
	emails := map[string]bool{}
	for i, u := range c.Users {
		if !strings.Contains(u.Email, "@") {
			return fmt.Errorf("user #%d: email %q is not an e-mail address", i+1, u.Email)
		}
		email := strings.ToLower(strings.TrimSpace(u.Email))
		if emails[email] {
			return fmt.Errorf("user %s: configured twice", u.Email)
		}
		emails[email] = true
		if !strings.HasPrefix(u.PasswordBcrypt, "$2") {
			return fmt.Errorf("user %s: password_bcrypt must be a bcrypt hash ($2a$...; make one with `analytics hash-password`)", u.Email)
		}
		if err := checkSites("user "+u.Email, u.Sites); err != nil {
			return err
		}
	}
	for i := range c.APIKeys {
		k := &c.APIKeys[i]
		if k.Name == "" {
			return fmt.Errorf("api_key #%d: name is empty", i+1)
		}
		b, err := hex.DecodeString(k.SHA256)
		if err != nil || len(b) != 32 {
			return fmt.Errorf("api_key %s: sha256 must be 64 hex digits (sha256 of the key; make one with `analytics hash-key`)", k.Name)
		}
		copy(k.sum[:], b)
		if err := checkSites("api_key "+k.Name, k.Sites); err != nil {
			return err
		}
	}
	return nil
}
