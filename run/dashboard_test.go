package run

import (
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/imload/imload/check"
	"github.com/imload/imload/server"
)

// The sample Grafana dashboard queries only metrics that a run or the
// reference server exports.
func TestGrafanaDashboardMetrics(t *testing.T) {
	data, err := os.ReadFile("../deploy/grafana/imload.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Title  string `json:"title"`
		Panels []struct {
			Title   string `json:"title"`
			Type    string `json:"type"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(data, &dash); err != nil {
		t.Fatalf("deploy/grafana/imload.json: %v", err)
	}

	exported := map[string]bool{}
	p := NewProm()
	p.begin(&Live{}, "s", 1, Shard{})
	p.finish(&check.Report{})
	srv, err := server.New(server.Config{SDKAppID: 1400000000, Key: []byte("k")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Shutdown(t.Context()) })
	p.Registry().MustRegister(srv.Collector())
	fams, err := p.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		exported[f.GetName()] = true
		if f.GetType().String() == "HISTOGRAM" {
			for _, s := range []string{"_bucket", "_count", "_sum"} {
				exported[f.GetName()+s] = true
			}
		}
	}

	name := regexp.MustCompile(`\b(?:imload|process)_[a-z_]+\b`)
	queries := 0
	for _, pn := range dash.Panels {
		if pn.Type != "row" && len(pn.Targets) == 0 {
			t.Errorf("panel %q has no query", pn.Title)
		}
		for _, tg := range pn.Targets {
			queries++
			ms := name.FindAllString(tg.Expr, -1)
			if len(ms) == 0 {
				t.Errorf("panel %q: query %q names no imload metric", pn.Title, tg.Expr)
			}
			for _, m := range ms {
				if !exported[m] {
					t.Errorf("panel %q: %s is not exported (query %q)", pn.Title, m, tg.Expr)
				}
			}
			if strings.Count(tg.Expr, "(") != strings.Count(tg.Expr, ")") || strings.Count(tg.Expr, "{") != strings.Count(tg.Expr, "}") {
				t.Errorf("panel %q: unbalanced query %q", pn.Title, tg.Expr)
			}
		}
	}
	if queries < 10 {
		t.Errorf("the dashboard has %d queries", queries)
	}
}
