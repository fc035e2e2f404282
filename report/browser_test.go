package report

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// chromium returns the headless browser to render pages with. Without one
// the test skips, except in CI (CI=true), where it fails: scripts/test
// installs it with scripts/install-chromium.
func chromium(t *testing.T) string {
	t.Helper()
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium"
	}
	if p, err := exec.LookPath("chromium"); err == nil {
		return p
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium not installed: run scripts/install-chromium")
	}
	t.Skip("chromium not installed: run scripts/install-chromium")
	return ""
}

// runChromium opens url in headless Chromium with a fresh profile and no
// network besides the file, with extra flags, and returns its stdout and
// stderr.
func runChromium(t *testing.T, bin, url string, extra ...string) (stdout, stderr []byte) {
	t.Helper()
	profile, err := os.MkdirTemp("", "imload-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	// Chromium's helpers may still be closing files when it exits; the
	// profile is removed best-effort.
	t.Cleanup(func() { os.RemoveAll(profile) })
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	args := append([]string{
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
		"--disable-component-update", "--disable-sync", "--no-first-run",
		"--host-resolver-rules=MAP * ~NOTFOUND",
		"--user-data-dir=" + profile,
	}, extra...)
	cmd := exec.CommandContext(ctx, bin, append(args, url)...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium %s: %v\n%s", strings.Join(extra, " "), err, errOut.Bytes())
	}
	return out.Bytes(), errOut.Bytes()
}

var (
	consoleRe  = regexp.MustCompile(`(?m)^.*:CONSOLE[:(\]].*$`)
	drawnRe    = regexp.MustCompile(`<div class="item" id="(chart_[A-Za-z0-9_]+)"[^>]*><div[^>]*><canvas `)
	jsErrorsRe = regexp.MustCompile(`<body[^>]*\bdata-js-errors=`)
)

// TestBrowserRendersReport opens the HTML report of the synthetic results
// in headless Chromium from a file:// URL with name resolution off, and
// checks that the page has no JavaScript error, that every chart container
// holds a canvas ECharts drew, and that a screenshot shows a page with
// charts, not a blank one.
func TestBrowserRendersReport(t *testing.T) {
	bin := chromium(t)
	f := loadSynth(t)
	dir := t.TempDir()
	page := filepath.Join(dir, "report.html")
	if err := WriteHTMLFile(page, f); err != nil {
		t.Fatal(err)
	}
	url := "file://" + filepath.ToSlash(page)
	html, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	var charts []string
	for _, m := range itemRe.FindAllSubmatch(html, -1) {
		charts = append(charts, string(m[1]))
	}
	if len(charts) == 0 {
		t.Fatal("the page has no chart containers")
	}

	t.Run("dom", func(t *testing.T) {
		dom, logs := runChromium(t, bin, url, "--dump-dom", "--enable-logging=stderr", "--v=0")
		for _, line := range consoleRe.FindAll(logs, -1) {
			t.Errorf("console: %s", line)
		}
		if jsErrorsRe.Match(dom) {
			t.Error("the page caught JavaScript errors (data-js-errors is set)")
		}
		drawn := map[string]bool{}
		for _, m := range drawnRe.FindAllSubmatch(dom, -1) {
			drawn[string(m[1])] = true
		}
		for _, id := range charts {
			if !drawn[id] {
				t.Errorf("chart %s has no canvas", id)
			}
		}
		if want := fmt.Sprintf(`data-charts-drawn="%d"`, len(charts)); !bytes.Contains(dom, []byte(want)) {
			t.Errorf("the page's own count lacks %s", want)
		}
	})

	t.Run("screenshot", func(t *testing.T) {
		shot := filepath.Join(dir, "report.png")
		runChromium(t, bin, url, "--screenshot="+shot, "--window-size=1400,3000", "--hide-scrollbars")
		if keep := os.Getenv("IMLOAD_REPORT_SCREENSHOT"); keep != "" {
			if b, err := os.ReadFile(shot); err == nil {
				os.WriteFile(keep, b, 0o644)
			}
		}
		r, err := os.Open(shot)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		img, err := png.Decode(r)
		if err != nil {
			t.Fatal(err)
		}
		st := pixelStats(img)
		t.Logf("screenshot %v: %d colours, %.1f%% not white, %d saturated pixels", img.Bounds().Size(), st.colours, 100*st.nonWhite, st.saturated)
		if b := img.Bounds(); b.Dx() != 1400 || b.Dy() != 3000 {
			t.Errorf("screenshot is %v, want 1400x3000", b.Size())
		}
		if st.colours < 200 {
			t.Errorf("%d distinct colours: the page looks blank", st.colours)
		}
		if st.nonWhite < 0.05 {
			t.Errorf("%.1f%% of pixels not white: the page looks blank", 100*st.nonWhite)
		}
		// Chart lines are drawn in ECharts' palette, the only saturated
		// colours in the upper part of the page.
		if st.saturated < 3000 {
			t.Errorf("%d saturated pixels: no chart lines drawn", st.saturated)
		}
	})
}

type stats struct {
	colours   int
	nonWhite  float64
	saturated int
}

func pixelStats(img image.Image) stats {
	b := img.Bounds()
	colours := map[uint32]struct{}{}
	var nonWhite, saturated int
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			r, g, bl = r>>8, g>>8, bl>>8
			colours[r<<16|g<<8|bl] = struct{}{}
			if r < 245 || g < 245 || bl < 245 {
				nonWhite++
			}
			if max(r, g, bl)-min(r, g, bl) > 80 {
				saturated++
			}
		}
	}
	return stats{colours: len(colours), nonWhite: float64(nonWhite) / float64(b.Dx()*b.Dy()), saturated: saturated}
}
