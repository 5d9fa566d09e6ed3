package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"analytics/aggregator/sketch"
	"analytics/schema"
	"analytics/schema/chtest"
)

func TestSaltKeySetting(t *testing.T) {
	secret := "tooshort-secret"
	_, err := parseSettings("collect", nil, env(map[string]string{"ANALYTICS_SALT_KEY": secret}), &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "at least 32") || strings.Contains(err.Error(), secret) {
		t.Errorf("short key: %v (must name the rule and never echo the key)", err)
	}
	long := strings.Repeat("k", 64)
	s, err := parseSettings("collect", nil, env(map[string]string{"ANALYTICS_SALT_KEY": long}), &bytes.Buffer{})
	if err != nil || s.saltKey != long {
		t.Errorf("64-character key: %v", err)
	}
}

// uniqueVisitors merges the latest site-total sketch of every hour and
// writer of the site.
func uniqueVisitors(t *testing.T, chURL string) uint64 {
	t.Helper()
	ctx := context.Background()
	db, err := schema.Open(ctx, chURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Conn.Query(ctx, `SELECT argMax(sketch, ver) FROM stats_hourly
		WHERE site = ? AND dimension = '' GROUP BY hour, writer`, resilienceSite)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	all := sketch.New()
	for rows.Next() {
		var b string
		if err := rows.Scan(&b); err != nil {
			t.Fatal(err)
		}
		if err := all.MergeBinary([]byte(b)); err != nil {
			t.Fatal(err)
		}
	}
	return all.Estimate()
}

// TestSharedSaltAcrossNodes: two collect nodes given the same
// ANALYTICS_SALT_KEY give a visitor the same key, so a visitor seen by both
// counts once; without the key each node has its own salt and the visitor
// counts twice.
func TestSharedSaltAcrossNodes(t *testing.T) {
	config := writeSiteConfig(t)
	visits, _, _ := traffic(0, 200)
	for _, tc := range []struct {
		name string
		key  string
		want float64 // unique visitors per distinct visitor
	}{
		{"shared", "ANALYTICS_SALT_KEY=" + strings.Repeat("0123456789abcdef", 4), 1},
		{"local", "", 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u := chtest.NewURL(t)
			a, b := newNode(t, u, config), newNode(t, u, config)
			if tc.key != "" {
				a.env = append(a.env, tc.key)
				b.env = append(b.env, tc.key)
			}
			pa := a.start(t)
			pb := b.start(t)
			send(t, visits, func(visit) string { return a.collector })
			send(t, visits, func(visit) string { return b.collector })
			pa.stop(t)
			pb.stop(t)
			got := float64(uniqueVisitors(t, u)) / float64(len(visits))
			if got < tc.want*0.95 || got > tc.want*1.05 {
				t.Errorf("unique visitors %.2f × the visitors, want %.0f×", got, tc.want)
			}
			logs := pa.logs.String()
			if warned := strings.Contains(logs, "no salt key"); warned != (tc.key == "") {
				t.Errorf("local-mode warning logged: %v", warned)
			}
			if tc.key != "" {
				if strings.Contains(logs, strings.Repeat("0123456789abcdef", 2)) {
					t.Error("the salt key appears in the logs")
				}
				assertDataDirClean(t, a.dataDir, visits, 1)
			}
		})
	}
}
