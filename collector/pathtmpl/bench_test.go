package pathtmpl

import "testing"

// benchPaths are typical paths: most pages have nothing to template.
var benchPaths = []struct{ name, path string }{
	{"root", "/"},
	{"blog", "/blog/2024/11/how-we-count-visitors-without-cookies"},
	{"docs", "/docs/v2/api/authentication"},
	{"order", "/account/orders/83412/invoice"},
	{"email", "/users/jane.doe@example.com/settings"},
	{"reset", "/reset/9f8e7d6c5b4a39281706f5e4d3c2b1a0f9e8d7c6"},
	{"uuid", "/u/3f2a1c4e-1b2c-4d5e-8f9a-0123456789ab/edit"},
	{"hash", "/app#/projects/83412/boards/settings"},
}

// benchConfig is a site with regexp rules and Keep patterns.
var benchConfig = Config{
	Rules: []Rule{
		{Match: `ORD-[0-9]+`, Replace: ":order"},
		{Scope: "/users/*", Match: `[0-9]+`, Replace: ":id"},
		{Match: `[a-z]{2}-[a-z]{2}`, Replace: ":locale"},
	},
	Keep: []string{"/blog/*", "/docs"},
}

func BenchmarkApply(b *testing.B) {
	custom, err := New(benchConfig)
	if err != nil {
		b.Fatal(err)
	}
	for _, tp := range []struct {
		name string
		t    *Templater
	}{{"default", Default}, {"custom", custom}} {
		for _, bp := range benchPaths {
			b.Run("config="+tp.name+"/path="+bp.name, func(b *testing.B) {
				dst := make([]byte, 0, 256)
				b.ReportAllocs()
				b.SetBytes(int64(len(bp.path)))
				for b.Loop() {
					dst = tp.t.Apply(dst[:0], bp.path)
				}
			})
		}
	}
}
