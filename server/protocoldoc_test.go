package server

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/imload/imload/policy"
	"github.com/imload/imload/protocol"
)

const protocolDoc = "../docs/PROTOCOL.md"

type restBlock struct {
	first int // line number of lines[0]
	lines []string
}

func readRESTBlocks(t *testing.T) []restBlock {
	t.Helper()
	b, err := os.ReadFile(protocolDoc)
	if err != nil {
		t.Fatal(err)
	}
	var out []restBlock
	var cur *restBlock
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		switch {
		case cur == nil && line == "```rest":
			cur = &restBlock{first: n + 1}
		case cur != nil && line == "```":
			out = append(out, *cur)
			cur = nil
		case cur != nil:
			cur.lines = append(cur.lines, line)
		}
	}
	return out
}

// TestProtocolDocREST runs the REST examples of docs/PROTOCOL.md section
// 14.1 against the reference server and compares every answer, as JSON, with
// the document's.
func TestProtocolDocREST(t *testing.T) {
	blocks := readRESTBlocks(t)
	if len(blocks) < 2 {
		t.Fatalf("%d rest blocks in %s, want the 2 of section 14.1", len(blocks), protocolDoc)
	}
	for bi, bl := range blocks {
		t.Run(strconv.Itoa(bi+1), func(t *testing.T) {
			h := newHarness(t, withPolicy(policy.MultiPlatform, 1, 1))
			conns := map[string]*Conn{}
			var cmd, body string
			n := 0
			for i, line := range bl.lines {
				at := protocolDoc + ":" + strconv.Itoa(bl.first+i)
				switch {
				case line == "" || strings.HasPrefix(line, "#"):
				case strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]"):
					w := strings.Fields(strings.Trim(line, "[]"))
					if len(w) != 4 {
						t.Fatalf("%s: want [login|drop USER PLATFORM INSTANCE], got %q", at, line)
					}
					key := w[1] + " " + w[2] + " " + w[3]
					switch w[0] {
					case "login":
						c := h.attach("192.0.2.7", policy.Platform(w[2]), w[3])
						r := c.Login(&protocol.Frame{Op: protocol.OpLogin, ID: 1, UserID: w[1], UserSig: h.ticket(w[1], time.Hour), Platform: w[2], Instance: w[3]})
						if r.Code != 0 {
							t.Fatalf("%s: %+v", at, r)
						}
						conns[key] = c
					case "drop":
						c := conns[key]
						if c == nil {
							t.Fatalf("%s: %s never logged in", at, key)
						}
						c.Detach(ReasonLinkClose)
					default:
						t.Fatalf("%s: unknown directive %q", at, w[0])
					}
				case strings.HasPrefix(line, "> POST "+RESTPrefix):
					if cmd != "" {
						t.Fatalf("%s: request without an answer before it", at)
					}
					cmd, body = strings.TrimPrefix(line, "> POST "+RESTPrefix), ""
				case strings.HasPrefix(line, "> ") && cmd != "" && body == "":
					body = strings.TrimPrefix(line, "> ")
				case strings.HasPrefix(line, "< ") && cmd != "":
					if !json.Valid([]byte(body)) {
						t.Fatalf("%s: the request body is not JSON: %s", at, body)
					}
					_, got := h.rawREST(http.MethodPost, cmd, h.adminQuery(), []byte(body))
					var g, w any
					if err := json.Unmarshal(got, &g); err != nil {
						t.Fatal(err)
					}
					if err := json.Unmarshal([]byte(strings.TrimPrefix(line, "< ")), &w); err != nil {
						t.Fatalf("%s: the answer is not JSON: %v", at, err)
					}
					if !reflect.DeepEqual(g, w) {
						t.Fatalf("%s: %s answered\n  %s\nthe document says\n  %s", at, cmd, got, strings.TrimPrefix(line, "< "))
					}
					cmd = ""
					n++
				default:
					t.Fatalf("%s: not a line of a rest example: %q", at, line)
				}
			}
			if cmd != "" {
				t.Fatalf("block %d ends with an unanswered request", bi+1)
			}
			if n == 0 {
				t.Fatalf("block %d has no request", bi+1)
			}
		})
	}
}
