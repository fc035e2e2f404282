package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/imload/imload/codes"
	"github.com/imload/imload/policy"
	"github.com/imload/imload/protocol"
	"github.com/imload/imload/usersig"
)

const testAdmin = "administrator" // Config.Admin's default

// restBase is the http:// address of the harness's listener.
func (h *harness) restBase() string {
	return "http://" + strings.TrimSuffix(strings.TrimPrefix(h.url, "ws://"), WSPath)
}

// adminQuery is a valid query string of the app admin.
func (h *harness) adminQuery() url.Values {
	h.t.Helper()
	sig, err := usersig.Gen(testApp, testKey, testAdmin, time.Hour, h.clk.Now(), nil)
	if err != nil {
		h.t.Fatal(err)
	}
	return url.Values{"sdkappid": {fmt.Sprint(testApp)}, "identifier": {testAdmin}, "usersig": {sig},
		"random": {"4294967295"}, "contenttype": {"json"}}
}

// rawREST sends one request and returns the decoded answer (any shape) and
// its raw bytes; the status must be 200 and the body JSON.
func (h *harness) rawREST(method, cmd string, q url.Values, body []byte) (RESTStatus, []byte) {
	h.t.Helper()
	req, err := http.NewRequest(method, h.restBase()+RESTPrefix+cmd+"?"+q.Encode(), bytes.NewReader(body))
	if err != nil {
		h.t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatalf("%s %s: %v", method, cmd, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		h.t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		h.t.Fatalf("%s %s: HTTP %d, want 200 always", method, cmd, resp.StatusCode)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		h.t.Fatalf("%s %s: Content-Type %q", method, cmd, ct)
	}
	var st RESTStatus
	if err := json.Unmarshal(b, &st); err != nil {
		h.t.Fatalf("%s %s: answer is not JSON: %q", method, cmd, b)
	}
	if (st.ActionStatus == "OK") != (st.ErrorCode == 0) || (st.ActionStatus != "OK" && st.ActionStatus != "FAIL") {
		h.t.Fatalf("%s %s: ActionStatus %q with ErrorCode %d", method, cmd, st.ActionStatus, st.ErrorCode)
	}
	return st, b
}

// rest calls a command as the admin with req as the body and decodes the
// answer into out (when not nil).
func (h *harness) rest(cmd string, req, out any) RESTStatus {
	h.t.Helper()
	body, err := json.Marshal(req)
	if err != nil {
		h.t.Fatal(err)
	}
	st, b := h.rawREST(http.MethodPost, cmd, h.adminQuery(), body)
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			h.t.Fatalf("%s: %v in %q", cmd, err, b)
		}
	}
	return st
}

func TestRESTRequestErrors(t *testing.T) {
	h := newHarness(t)
	good := h.adminQuery()
	with := func(key, val string) url.Values {
		q := url.Values{}
		for k, v := range good {
			q[k] = v
		}
		if val == "" {
			q.Del(key)
		} else {
			q.Set(key, val)
		}
		return q
	}
	gen := func(app uint64, key []byte, user string, life time.Duration, at time.Time) string {
		sig, err := usersig.Gen(app, key, user, life, at, nil)
		if err != nil {
			t.Fatal(err)
		}
		return sig
	}
	userSig := gen(testApp, testKey, "alice", time.Hour, h.clk.Now())
	notAdmin := with("identifier", "alice")
	notAdmin.Set("usersig", userSig)
	const kick = "im_open_login_svc/kick"
	body := []byte(`{"UserID":"alice"}`)
	cases := []struct {
		name   string
		method string
		cmd    string
		q      url.Values
		body   []byte
		code   int
	}{
		{"GET", http.MethodGet, kick, good, nil, codes.RESTBadHTTP},
		{"PUT", http.MethodPut, kick, good, body, codes.RESTBadHTTP},
		{"unknown command", http.MethodPost, "im_open_login_svc/nope", good, body, codes.RESTBadHTTP},
		{"no sdkappid", http.MethodPost, kick, with("sdkappid", ""), body, codes.RESTNoApp},
		{"other sdkappid", http.MethodPost, kick, with("sdkappid", "1400000002"), body, codes.RESTBadApp},
		{"sdkappid not a number", http.MethodPost, kick, with("sdkappid", "abc"), body, codes.RESTBadApp},
		{"random too big", http.MethodPost, kick, with("random", "4294967296"), body, codes.RESTBadURL},
		{"no identifier", http.MethodPost, kick, with("identifier", ""), body, codes.RESTNoIdentity},
		{"no usersig", http.MethodPost, kick, with("usersig", ""), body, codes.RESTNoIdentity},
		{"non-admin ticket", http.MethodPost, kick, notAdmin, body, codes.RESTNotAdmin},
		{"admin with a user's ticket", http.MethodPost, kick, with("usersig", userSig), body, codes.SigUserMismatch},
		{"expired admin ticket", http.MethodPost, kick, with("usersig", gen(testApp, testKey, testAdmin, time.Minute, h.clk.Now().Add(-time.Hour))), body, codes.SigExpired},
		{"admin ticket of another key", http.MethodPost, kick, with("usersig", gen(testApp, []byte("another-key"), testAdmin, time.Hour, h.clk.Now())), body, codes.SigBadSignature},
		{"admin ticket of another app", http.MethodPost, kick, with("usersig", gen(1400000002, testKey, testAdmin, time.Hour, h.clk.Now())), body, codes.SigAppMismatch},
		{"garbage admin ticket", http.MethodPost, kick, with("usersig", "not-a-ticket"), body, codes.SigUndecodable},
		{"bad JSON", http.MethodPost, kick, good, []byte(`{"UserID":`), codes.RESTBadJSON},
		{"empty body", http.MethodPost, kick, good, nil, codes.RESTBadJSON},
		{"wrong shape", http.MethodPost, kick, good, []byte(`{"UserID":5}`), codes.RESTBadJSON},
		{"not an object", http.MethodPost, "openim/query_online_status", good, []byte(`[1,2]`), codes.RESTBadJSON},
		{"body too large", http.MethodPost, kick, good, bytes.Repeat([]byte(" "), MaxRESTBody+1), codes.RESTBadHTTP},
		{"empty UserID", http.MethodPost, kick, good, []byte(`{"UserID":""}`), codes.RESTBadParam},
		{"33-byte UserID", http.MethodPost, kick, good, []byte(`{"UserID":"` + strings.Repeat("x", 33) + `"}`), codes.RESTBadParam},
		{"kick of no account", http.MethodPost, kick, good, body, codes.RESTNotImported},
	}
	before := h.s.RESTStats()
	want := map[int]uint64{}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st, _ := h.rawREST(tc.method, tc.cmd, tc.q, tc.body)
			if st.ActionStatus != "FAIL" || st.ErrorCode != tc.code || st.ErrorInfo == "" {
				t.Fatalf("answer %+v, want FAIL %d with an ErrorInfo", st, tc.code)
			}
		})
		want[tc.code]++
	}
	after := h.s.RESTStats()
	if got := after.Requests - before.Requests; got != uint64(len(cases)) {
		t.Errorf("RESTStats counted %d requests, want %d", got, len(cases))
	}
	for code, n := range want {
		if got := after.ByCode[code] - before.ByCode[code]; got != n {
			t.Errorf("RESTStats: code %d counted %d times, want %d", code, got, n)
		}
	}
}

func TestRESTKick(t *testing.T) {
	h := newHarness(t, withPolicy(policy.MultiPlatform, 1, 1))
	old := h.ticket("henry", time.Hour)
	a := h.dial(policy.Android, "phone")
	b := h.dial(policy.Web, "tab")
	a.mustLogin(policy.Android, "henry", old)
	b.mustLogin(policy.Web, "henry", old)
	h.clk.Advance(time.Second)

	if st := h.rest("im_open_login_svc/kick", KickRequest{UserID: "henry"}, nil); st.ActionStatus != "OK" {
		t.Fatalf("kick answered %+v", st)
	}
	for _, c := range []*client{a, b} {
		if f := c.next(); f.Op != protocol.OpKickedOffline || f.Reason != KickAdmin {
			t.Fatalf("%s got %+v, want kicked_offline admin_kick", c.name, f)
		}
		if !c.closed() {
			t.Fatalf("%s still open after the REST kick", c.name)
		}
	}
	if in := h.s.OnlineStatus("henry"); len(in) != 0 {
		t.Fatalf("sessions after kick: %s", instances(in))
	}
	c := h.dial(policy.Android, "phone")
	if r := c.loginOn(policy.Android, "henry", old); r.Code != codes.SigInvalidated {
		t.Fatalf("old ticket after the REST kick: %+v, want 70052", r)
	}
	h.clk.Advance(time.Second)
	c.mustLogin(policy.Android, "henry", h.ticket("henry", time.Hour))

	// An imported account that never logged in can be kicked; its tickets
	// issued so far then fail.
	pre := h.ticket("ivy", time.Hour)
	if st := h.rest("im_open_login_svc/account_import", AccountImportRequest{UserID: "ivy"}, nil); st.ErrorCode != 0 {
		t.Fatalf("import: %+v", st)
	}
	if st := h.rest("im_open_login_svc/kick", KickRequest{UserID: "ivy"}, nil); st.ErrorCode != 0 {
		t.Fatalf("kick of an imported account: %+v", st)
	}
	d := h.dial(policy.Web, "tab2")
	if r := d.loginOn(policy.Web, "ivy", pre); r.Code != codes.SigInvalidated {
		t.Fatalf("ticket from before the kick: %+v, want 70052", r)
	}
	if st := h.s.Stats(); st.AdminKicks != 2 {
		t.Fatalf("AdminKicks %d, want 2", st.AdminKicks)
	}
}

// TestRESTQueryOnlineStatus logs devices in and out and checks that
// query_online_status says what the sessions are.
func TestRESTQueryOnlineStatus(t *testing.T) {
	h := newHarness(t, withPolicy(policy.MultiPlatform, 1, 1))
	login := func(plat policy.Platform, inst, user string) *client {
		c := h.dial(plat, inst)
		c.mustLogin(plat, user, h.ticket(user, time.Hour))
		return c
	}
	login(policy.Android, "a-phone", "alice")
	login(policy.Web, "a-tab", "alice")
	bob := login(policy.IPhone, "b-phone", "bob")
	login(policy.Mac, "b-mac", "bob")
	carol := login(policy.Windows, "c-pc", "carol")
	dave := login(policy.IPad, "d-pad", "dave")
	erin := login(policy.Linux, "e-box", "erin")
	// bob's iPhone and carol's PC lose their network (resume window); dave
	// drops and never comes back; erin logs out.
	bob.ws.Close()
	carol.ws.Close()
	dave.ws.Close()
	if r := erin.call(protocol.Frame{Op: protocol.OpLogout}); r.Code != 0 {
		t.Fatalf("logout: %+v", r)
	}
	eventually(t, "three transports down", func() bool { return h.s.Stats().Connected == 3 })
	h.clk.Advance(DefaultResumeWindow / 2)
	if st := h.rest("im_open_login_svc/account_import", AccountImportRequest{UserID: "frank"}, nil); st.ErrorCode != 0 {
		t.Fatal(st)
	}

	accounts := []string{"alice", "bob", "carol", "dave", "erin", "frank", "nobody", ""}
	var res OnlineStatusResponse
	if st := h.rest("openim/query_online_status", OnlineStatusRequest{ToAccount: accounts, IsNeedDetail: 1}, &res); st.ErrorCode != 0 {
		t.Fatalf("query: %+v", st)
	}
	want := map[string]struct {
		status string
		detail string
	}{
		"alice": {StatusOnline, "Android:Online,Web:Online"},
		"bob":   {StatusOnline, "IPhone:PushOnline,Mac:Online"},
		"carol": {StatusOffline, ""},
		"dave":  {StatusPushOnline, "iPad:PushOnline"},
		"erin":  {StatusOffline, ""},
		"frank": {StatusOffline, ""},
	}
	if len(res.QueryResult) != len(want) {
		t.Fatalf("QueryResult %+v, want %d entries", res.QueryResult, len(want))
	}
	for _, r := range res.QueryResult {
		w, ok := want[r.ToAccount]
		var d []string
		for _, x := range r.Detail {
			d = append(d, x.Platform+":"+x.Status)
		}
		if !ok || r.Status != w.status || strings.Join(d, ",") != w.detail {
			t.Errorf("%s: %s [%s], want %s [%s]", r.ToAccount, r.Status, strings.Join(d, ","), w.status, w.detail)
		}
		// The same facts from the session registry.
		var reg []string
		for _, in := range h.s.OnlineStatus(r.ToAccount) {
			if in.State == StateOnline || policy.IsMobile(in.Platform) {
				reg = append(reg, QueryPlatform(in.Platform))
			}
		}
		var plats []string
		for _, x := range r.Detail {
			plats = append(plats, x.Platform)
		}
		if strings.Join(reg, ",") != strings.Join(plats, ",") {
			t.Errorf("%s: Detail lists %v, the registry %v", r.ToAccount, plats, reg)
		}
	}
	errs := map[string]int{}
	for _, e := range res.ErrorList {
		errs[e.ToAccount] = e.ErrorCode
	}
	if len(errs) != 2 || errs["nobody"] != codes.RESTNotImported || errs[""] != codes.RESTBadParam {
		t.Errorf("ErrorList %+v, want nobody 70107 and \"\" 70402", res.ErrorList)
	}

	// Without IsNeedDetail there is no Detail.
	var plain OnlineStatusResponse
	h.rest("openim/query_online_status", OnlineStatusRequest{ToAccount: []string{"alice"}}, &plain)
	if len(plain.QueryResult) != 1 || plain.QueryResult[0].Status != StatusOnline || plain.QueryResult[0].Detail != nil {
		t.Errorf("without detail: %+v", plain.QueryResult)
	}

	// After the resume window dave is offline too.
	h.advanceUntil("dave removed", time.Second, func() bool { return len(h.s.OnlineStatus("dave")) == 0 })
	h.rest("openim/query_online_status", OnlineStatusRequest{ToAccount: []string{"dave"}, IsNeedDetail: 1}, &plain)
	if plain.QueryResult[0].Status != StatusOffline || len(plain.QueryResult[0].Detail) != 0 {
		t.Errorf("dave after the window: %+v", plain.QueryResult[0])
	}

	// Bounds.
	for _, n := range []int{0, MaxOnlineQuery + 1} {
		ids := make([]string, n)
		for i := range ids {
			ids[i] = fmt.Sprintf("u%d", i)
		}
		if st := h.rest("openim/query_online_status", OnlineStatusRequest{ToAccount: ids}, nil); st.ErrorCode != codes.RESTBadParam {
			t.Errorf("%d accounts: %+v, want 70402", n, st)
		}
	}
	ids := make([]string, MaxOnlineQuery)
	for i := range ids {
		ids[i] = "alice"
	}
	var full OnlineStatusResponse
	if st := h.rest("openim/query_online_status", OnlineStatusRequest{ToAccount: ids}, &full); st.ErrorCode != 0 || len(full.QueryResult) != MaxOnlineQuery {
		t.Errorf("%d accounts: %+v, %d results", MaxOnlineQuery, st, len(full.QueryResult))
	}
}

func TestRESTAccounts(t *testing.T) {
	h := newHarness(t)
	long := strings.Repeat("x", 33)
	if st := h.rest("im_open_login_svc/account_import", AccountImportRequest{UserID: "alice", Nick: "Alice", FaceURL: "http://example.invalid/a.png"}, nil); st.ErrorCode != 0 {
		t.Fatalf("import: %+v", st)
	}
	if acc, ok := h.s.Account("alice"); !ok || !acc.Imported || acc.Nick != "Alice" || acc.FaceURL != "http://example.invalid/a.png" {
		t.Fatalf("alice: %+v %v", acc, ok)
	}
	if st := h.rest("im_open_login_svc/account_import", AccountImportRequest{UserID: long}, nil); st.ErrorCode != codes.RESTBadParam {
		t.Fatalf("import of a 33-byte UserID: %+v", st)
	}
	var mi MultiAccountImportResponse
	if st := h.rest("im_open_login_svc/multiaccount_import", MultiAccountImportRequest{Accounts: []string{"bob", "", "carol", long, "alice"}}, &mi); st.ErrorCode != 0 {
		t.Fatalf("multiaccount_import: %+v", st)
	}
	if strings.Join(mi.FailAccounts, "|") != "|"+long {
		t.Fatalf("FailAccounts %q, want the empty and the 33-byte ID", mi.FailAccounts)
	}
	// A first login creates the account.
	c := h.dial(policy.Android, "phone")
	c.mustLogin(policy.Android, "dave", h.ticket("dave", time.Hour))

	check := func(ids ...string) map[string]AccountResult {
		t.Helper()
		items := make([]UserItem, len(ids))
		for i, id := range ids {
			items[i] = UserItem{UserID: id}
		}
		var res AccountResultsResponse
		if st := h.rest("im_open_login_svc/account_check", AccountCheckRequest{CheckItem: items}, &res); st.ErrorCode != 0 {
			t.Fatalf("account_check: %+v", st)
		}
		out := map[string]AccountResult{}
		for _, r := range res.ResultItem {
			out[r.UserID] = r
		}
		if len(res.ResultItem) != len(ids) {
			t.Fatalf("account_check answered %d items for %d", len(res.ResultItem), len(ids))
		}
		return out
	}
	got := check("alice", "bob", "carol", "dave", "zed", "")
	for id, want := range map[string]string{"alice": AccountImported, "bob": AccountImported, "carol": AccountImported,
		"dave": AccountImported, "zed": AccountNotImported} {
		if got[id].ResultCode != 0 || got[id].AccountStatus != want {
			t.Errorf("check %s: %+v, want %s", id, got[id], want)
		}
	}
	if got[""].ResultCode != codes.RESTBadParam {
		t.Errorf("check of an empty UserID: %+v", got[""])
	}

	var del AccountResultsResponse
	if st := h.rest("im_open_login_svc/account_delete", AccountDeleteRequest{DeleteItem: []UserItem{{"bob"}, {"zed"}, {"dave"}}}, &del); st.ErrorCode != 0 {
		t.Fatalf("account_delete: %+v", st)
	}
	deleted := map[string]int{}
	for _, r := range del.ResultItem {
		deleted[r.UserID] = r.ResultCode
	}
	if len(deleted) != 3 || deleted["bob"] != 0 || deleted["dave"] != 0 || deleted["zed"] != codes.RESTNotImported {
		t.Fatalf("ResultItem %+v", del.ResultItem)
	}
	got = check("bob", "dave", "alice")
	if got["bob"].AccountStatus != AccountNotImported || got["dave"].AccountStatus != AccountNotImported || got["alice"].AccountStatus != AccountImported {
		t.Fatalf("after delete: %+v", got)
	}
	if h.s.Accounts() != 2 {
		t.Errorf("Accounts() = %d, want 2 (alice, carol)", h.s.Accounts())
	}

	// Bounds of the list commands.
	many := make([]UserItem, MaxAccountsPerCall+1)
	for i := range many {
		many[i] = UserItem{UserID: fmt.Sprintf("u%d", i)}
	}
	for _, tc := range []struct {
		cmd string
		req any
	}{
		{"im_open_login_svc/account_check", AccountCheckRequest{CheckItem: many}},
		{"im_open_login_svc/account_check", AccountCheckRequest{}},
		{"im_open_login_svc/account_delete", AccountDeleteRequest{DeleteItem: many}},
		{"im_open_login_svc/multiaccount_import", MultiAccountImportRequest{}},
	} {
		if st := h.rest(tc.cmd, tc.req, nil); st.ErrorCode != codes.RESTBadParam {
			t.Errorf("%s out of bounds: %+v, want 70402", tc.cmd, st)
		}
	}
}

func TestRESTAppInfo(t *testing.T) {
	h := newHarness(t, withPolicy(policy.MultiPlatform, 1, 1), func(c *Config) { c.IdleTimeout = 72 * time.Hour })
	// t0 is 2024-03-10 17:00 in Beijing: day 0 is 2024-03-10.
	for _, id := range []string{"imp1", "imp2"} {
		h.rest("im_open_login_svc/account_import", AccountImportRequest{UserID: id}, nil)
	}
	a := h.dial(policy.Android, "a1")
	a.mustLogin(policy.Android, "u1", h.ticket("u1", 48*time.Hour))
	w := h.dial(policy.Web, "w1")
	w.mustLogin(policy.Web, "u1", h.ticket("u1", 48*time.Hour))
	b := h.dial(policy.IPhone, "b1")
	b.mustLogin(policy.IPhone, "u2", h.ticket("u2", 48*time.Hour))
	if r := b.call(protocol.Frame{Op: protocol.OpLogout}); r.Code != 0 {
		t.Fatal(r)
	}
	h.clk.Advance(24 * time.Hour)
	b.mustLogin(policy.IPhone, "u3", h.ticket("u3", time.Hour))
	var del AccountResultsResponse
	h.rest("im_open_login_svc/account_delete", AccountDeleteRequest{DeleteItem: []UserItem{{"imp1"}}}, &del)

	var res AppInfoResponse
	if st := h.rest("openconfigsvr/getappinfo", struct{}{}, &res); st.ErrorCode != 0 {
		t.Fatalf("getappinfo: %+v", st)
	}
	if len(res.Result) != AppInfoDays {
		t.Fatalf("%d rows, want %d", len(res.Result), AppInfoDays)
	}
	first, prev, last := res.Result[0], res.Result[AppInfoDays-2], res.Result[AppInfoDays-1]
	if first["Date"] != "20240211" || prev["Date"] != "20240310" || last["Date"] != "20240311" {
		t.Fatalf("dates %s .. %s, %s", first["Date"], prev["Date"], last["Date"])
	}
	want := []struct {
		row  map[string]string
		vals map[string]string
	}{
		{first, map[string]string{"ActiveUserNum": "0", "LoginTimes": "0", "LoginUserNum": "0", "MaxOnlineNum": "0", "RegistUserNumOneDay": "0", "RegistUserNumTotal": "0"}},
		// Day 0: u1 twice and u2 once; three sessions at once; two imports
		// and two first logins.
		{prev, map[string]string{"ActiveUserNum": "2", "LoginTimes": "3", "LoginUserNum": "2", "MaxOnlineNum": "3", "RegistUserNumOneDay": "4", "RegistUserNumTotal": "4"}},
		// Day 1: u3 logs in (u1's two sessions still held); imp1 deleted.
		{last, map[string]string{"ActiveUserNum": "1", "LoginTimes": "1", "LoginUserNum": "1", "MaxOnlineNum": "3", "RegistUserNumOneDay": "1", "RegistUserNumTotal": "4"}},
	}
	for _, w := range want {
		for k, v := range w.vals {
			if w.row[k] != v {
				t.Errorf("%s %s = %q, want %q", w.row["Date"], k, w.row[k], v)
			}
		}
		if w.row["AppId"] != fmt.Sprint(testApp) {
			t.Errorf("AppId %q", w.row["AppId"])
		}
	}
	// The rows agree with Stats, and the MAU extension with its months.
	st := h.s.Stats()
	for _, d := range st.Days {
		row := res.Result[AppInfoDays-len(st.Days)+d.Day]
		if row["LoginTimes"] != fmt.Sprint(d.Logins) || row["ActiveUserNum"] != fmt.Sprint(d.LoginUsers) {
			t.Errorf("day %d: row %v, Stats %+v", d.Day, row, d)
		}
	}
	if len(res.ImloadMAU) != 1 || res.ImloadMAU[0].Month != "2024-03" || res.ImloadMAU[0].ActiveUserNum != "3" ||
		st.Months[0].MAU != 3 {
		t.Errorf("ImloadMAU %+v, Stats months %+v; want 2024-03 with 3", res.ImloadMAU, st.Months)
	}

	// RequestField picks fields; unknown ones are refused.
	var some AppInfoResponse
	h.rest("openconfigsvr/getappinfo", AppInfoRequest{RequestField: []string{"LoginTimes"}}, &some)
	if row := some.Result[AppInfoDays-1]; len(row) != 3 || row["LoginTimes"] != "1" || row["Date"] != "20240311" {
		t.Errorf("RequestField LoginTimes: %v", row)
	}
	if st := h.rest("openconfigsvr/getappinfo", AppInfoRequest{RequestField: []string{"APNSMsgNum"}}, nil); st.ErrorCode != codes.RESTBadParam {
		t.Errorf("unknown RequestField: %+v", st)
	}
}

// FuzzRESTBody sends any body to every command as the admin: the answer is
// always HTTP 200 with a JSON status that agrees with itself, and no body
// panics the server.
func FuzzRESTBody(f *testing.F) {
	for _, seed := range []string{`{}`, `{"UserID":"alice"}`, `{"To_Account":["a","b"],"IsNeedDetail":1}`,
		`{"Accounts":["x",""]}`, `{"DeleteItem":[{"UserID":"x"}]}`, `{"CheckItem":[{"UserID":5}]}`,
		`{"RequestField":["LoginTimes"]}`, `[`, `null`, `"x"`, `{"To_Account":null}`} {
		for i := range RESTCommands() {
			f.Add(uint8(i), []byte(seed))
		}
	}
	s, err := New(Config{SDKAppID: testApp, Key: testKey})
	if err != nil {
		f.Fatal(err)
	}
	defer s.Shutdown(context.Background())
	sig, err := usersig.Gen(testApp, testKey, testAdmin, 24*time.Hour, time.Now(), nil)
	if err != nil {
		f.Fatal(err)
	}
	q := url.Values{"sdkappid": {fmt.Sprint(testApp)}, "identifier": {testAdmin}, "usersig": {sig}}.Encode()
	cmds := RESTCommands()
	f.Fuzz(func(t *testing.T, which uint8, body []byte) {
		cmd := cmds[int(which)%len(cmds)]
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodPost, RESTPrefix+cmd+"?"+q, bytes.NewReader(body)))
		if rec.Code != http.StatusOK {
			t.Fatalf("%s: HTTP %d", cmd, rec.Code)
		}
		var st RESTStatus
		if err := json.Unmarshal(rec.Body.Bytes(), &st); err != nil {
			t.Fatalf("%s: answer %q is not JSON", cmd, rec.Body.Bytes())
		}
		if (st.ActionStatus == "OK") != (st.ErrorCode == 0) {
			t.Fatalf("%s: %+v", cmd, st)
		}
		if !json.Valid(body) && st.ErrorCode != codes.RESTBadJSON {
			t.Fatalf("%s: invalid JSON %q answered %+v, want 60003", cmd, body, st)
		}
	})
}
