package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/imload/imload/codes"
	"github.com/imload/imload/policy"
	"github.com/imload/imload/usersig"
)

// RESTPrefix is where the REST admin API listens:
// POST /v4/{service}/{command}?sdkappid=&identifier=&usersig=&random=&contenttype=json.
const RESTPrefix = "/v4/"

// Bounds of the REST API.
const (
	MaxRESTBody        = 1 << 20 // bytes of a request body
	MaxOnlineQuery     = 500     // To_Account of query_online_status
	MaxAccountsPerCall = 100     // Accounts, DeleteItem, CheckItem
	AppInfoDays        = 30      // rows of getappinfo
)

// The REST API answers with the codes.REST* codes, and with the ticket
// codes of usersig.Verify (70001, 70002, 70003, 70009, 70013, 70014) for a
// bad admin ticket as is.

// Statuses of query_online_status.
const (
	StatusOnline     = "Online"
	StatusPushOnline = "PushOnline" // mobile, transport down, still registered (resume window)
	StatusOffline    = "Offline"
)

// Statuses of account_check.
const (
	AccountImported    = "Imported"
	AccountNotImported = "NotImported"
)

// RESTStatus opens every REST answer.
type RESTStatus struct {
	ActionStatus string `json:"ActionStatus"` // OK or FAIL
	ErrorCode    int    `json:"ErrorCode"`
	ErrorInfo    string `json:"ErrorInfo"`
}

// KickRequest is the body of im_open_login_svc/kick.
type KickRequest struct {
	UserID string `json:"UserID"`
}

// OnlineStatusRequest is the body of openim/query_online_status.
type OnlineStatusRequest struct {
	ToAccount    []string `json:"To_Account"`
	IsNeedDetail int      `json:"IsNeedDetail"`
}

// OnlineStatusResponse answers openim/query_online_status.
type OnlineStatusResponse struct {
	RESTStatus
	QueryResult []OnlineStatusResult `json:"QueryResult"`
	ErrorList   []AccountError       `json:"ErrorList,omitempty"`
}

// OnlineStatusResult is the status of one account: Online when an instance
// is connected, else PushOnline when a mobile instance is within its resume
// window, else Offline.
type OnlineStatusResult struct {
	ToAccount string           `json:"To_Account"`
	Status    string           `json:"Status"`
	Detail    []PlatformStatus `json:"Detail,omitempty"` // with IsNeedDetail 1: one entry per instance not Offline
}

// PlatformStatus is one instance of an account in Detail.
type PlatformStatus struct {
	Platform string `json:"Platform"` // as QueryPlatform names it
	Status   string `json:"Status"`
}

// AccountError is one account that a request could not look at.
type AccountError struct {
	ToAccount string `json:"To_Account"`
	ErrorCode int    `json:"ErrorCode"`
}

// AccountImportRequest is the body of im_open_login_svc/account_import.
type AccountImportRequest struct {
	UserID  string `json:"UserID"`
	Nick    string `json:"Nick,omitempty"`
	FaceURL string `json:"FaceUrl,omitempty"`
}

// MultiAccountImportRequest is the body of multiaccount_import.
type MultiAccountImportRequest struct {
	Accounts []string `json:"Accounts"`
}

// MultiAccountImportResponse answers multiaccount_import.
type MultiAccountImportResponse struct {
	RESTStatus
	FailAccounts []string `json:"FailAccounts"`
}

// UserItem names one account.
type UserItem struct {
	UserID string `json:"UserID"`
}

// AccountDeleteRequest is the body of account_delete.
type AccountDeleteRequest struct {
	DeleteItem []UserItem `json:"DeleteItem"`
}

// AccountCheckRequest is the body of account_check.
type AccountCheckRequest struct {
	CheckItem []UserItem `json:"CheckItem"`
}

// AccountResult is one entry of ResultItem.
type AccountResult struct {
	ResultCode    int    `json:"ResultCode"`
	ResultInfo    string `json:"ResultInfo"`
	UserID        string `json:"UserID"`
	AccountStatus string `json:"AccountStatus,omitempty"` // account_check only
}

// AccountResultsResponse answers account_delete and account_check.
type AccountResultsResponse struct {
	RESTStatus
	ResultItem []AccountResult `json:"ResultItem"`
}

// AppInfoRequest is the body of openconfigsvr/getappinfo.
type AppInfoRequest struct {
	RequestField []string `json:"RequestField,omitempty"`
}

// AppInfoResponse answers getappinfo: one row per calendar day (the
// server's calendar, Beijing dates), oldest first, every value a string.
// ImloadMAU is imload's extension: the distinct users with a successful
// login in each calendar month with activity, oldest first.
type AppInfoResponse struct {
	RESTStatus
	Result    []map[string]string `json:"Result"`
	ImloadMAU []MonthActive       `json:"ImloadMAU"`
}

// MonthActive is one month of ImloadMAU.
type MonthActive struct {
	Month         string `json:"Month"`         // YYYY-MM
	ActiveUserNum string `json:"ActiveUserNum"` // MAU
}

// AppInfoFields are the fields of a getappinfo row. ActiveUserNum and
// LoginUserNum both hold the distinct users with a successful login that day
// (the reference server has no other use to count); LoginTimes the
// successful logins; MaxOnlineNum the most sessions logged in at once;
// RegistUserNumOneDay the accounts created that day (import or first login)
// and RegistUserNumTotal those existing at its end. Date is YYYYMMDD and
// AppId the SDKAppID; both are in every row.
var AppInfoFields = []string{"ActiveUserNum", "LoginTimes", "LoginUserNum", "MaxOnlineNum",
	"RegistUserNumOneDay", "RegistUserNumTotal"}

// RESTStats counts the answers of the REST API by ErrorCode (0 for OK).
type RESTStats struct {
	Requests uint64
	ByCode   map[int]uint64
}

type restCounters struct {
	mu     sync.Mutex
	total  uint64
	byCode map[int]uint64
}

func (c *restCounters) add(code int) {
	c.mu.Lock()
	if c.byCode == nil {
		c.byCode = map[int]uint64{}
	}
	c.total++
	c.byCode[code]++
	c.mu.Unlock()
}

// RESTStats returns the counts of REST answers.
func (s *Server) RESTStats() RESTStats {
	s.rest.mu.Lock()
	defer s.rest.mu.Unlock()
	out := RESTStats{Requests: s.rest.total, ByCode: make(map[int]uint64, len(s.rest.byCode))}
	for k, v := range s.rest.byCode {
		out.ByCode[k] = v
	}
	return out
}

// restError is a failed REST call.
type restError struct {
	code int
	info string
}

func (e *restError) Error() string { return fmt.Sprintf("%d: %s", e.code, e.info) }

func restErr(code int, format string, args ...any) *restError {
	return &restError{code: code, info: fmt.Sprintf(format, args...)}
}

func ok() RESTStatus { return RESTStatus{ActionStatus: "OK"} }

// restCommand runs one command on the request body.
type restCommand func(s *Server, body []byte, now time.Time) (any, *restError)

// RESTCommands lists the service/command pairs the REST API serves.
func RESTCommands() []string {
	return []string{"im_open_login_svc/kick", "openim/query_online_status", "im_open_login_svc/account_import",
		"im_open_login_svc/multiaccount_import", "im_open_login_svc/account_delete", "im_open_login_svc/account_check",
		"openconfigsvr/getappinfo"}
}

func lookupCommand(name string) restCommand {
	switch name {
	case "im_open_login_svc/kick":
		return restKick
	case "openim/query_online_status":
		return restQueryOnline
	case "im_open_login_svc/account_import":
		return restAccountImport
	case "im_open_login_svc/multiaccount_import":
		return restMultiImport
	case "im_open_login_svc/account_delete":
		return restAccountDelete
	case "im_open_login_svc/account_check":
		return restAccountCheck
	case "openconfigsvr/getappinfo":
		return restAppInfo
	}
	return nil
}

// serveREST is the handler of RESTPrefix. Every answer is HTTP 200 with a
// JSON body whose ActionStatus, ErrorCode and ErrorInfo say how it went.
func (s *Server) serveREST(w http.ResponseWriter, r *http.Request) {
	res, rerr := s.handleREST(w, r)
	code := 0
	if rerr != nil {
		code = rerr.code
		res = RESTStatus{ActionStatus: "FAIL", ErrorCode: rerr.code, ErrorInfo: rerr.info}
	}
	s.rest.add(code)
	b, err := json.Marshal(res)
	if err != nil { // the answers hold plain strings and numbers
		b = []byte(`{"ActionStatus":"FAIL","ErrorCode":70500,"ErrorInfo":"internal error"}`)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
}

func (s *Server) handleREST(w http.ResponseWriter, r *http.Request) (any, *restError) {
	if r.Method != http.MethodPost {
		return nil, restErr(codes.RESTBadHTTP, "method %s: the REST API takes POST only", r.Method)
	}
	name := strings.TrimPrefix(r.URL.Path, RESTPrefix)
	cmd := lookupCommand(name)
	if cmd == nil {
		return nil, restErr(codes.RESTBadHTTP, "unknown command %q (allowed: %s)", name, strings.Join(RESTCommands(), ", "))
	}
	q := r.URL.Query()
	app := q.Get("sdkappid")
	if app == "" {
		return nil, restErr(codes.RESTNoApp, "the URL has no sdkappid")
	}
	if id, err := strconv.ParseUint(app, 10, 64); err != nil || id != s.cfg.SDKAppID {
		return nil, restErr(codes.RESTBadApp, "sdkappid %q is not served here", app)
	}
	if rnd := q.Get("random"); rnd != "" {
		if _, err := strconv.ParseUint(rnd, 10, 32); err != nil {
			return nil, restErr(codes.RESTBadURL, "random %q is not a 32-bit unsigned integer (0 to 4294967295)", rnd)
		}
	}
	ident, sig := q.Get("identifier"), q.Get("usersig")
	if ident == "" || sig == "" {
		return nil, restErr(codes.RESTNoIdentity, "the URL needs identifier (the app admin) and usersig (its ticket)")
	}
	if ident != s.cfg.Admin {
		return nil, restErr(codes.RESTNotAdmin, "identifier %q is not the app admin: this API needs the app admin", ident)
	}
	now := s.clk.Now()
	if _, err := usersig.Verify(sig, s.cfg.SDKAppID, s.cfg.Key, ident, nil, now); err != nil {
		var ue *usersig.Error
		if errors.As(err, &ue) {
			return nil, restErr(ue.Code, "admin usersig: %s", ue.Reason)
		}
		return nil, restErr(codes.SigUndecodable, "admin usersig: %v", err)
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxRESTBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, restErr(codes.RESTBadHTTP, "body is larger than %d bytes", MaxRESTBody)
		}
		return nil, restErr(codes.RESTBadHTTP, "reading the body: %v", err)
	}
	if len(strings.TrimSpace(string(body))) == 0 {
		return nil, restErr(codes.RESTBadJSON, "body is empty: send a JSON object (at least {})")
	}
	if !json.Valid(body) {
		return nil, restErr(codes.RESTBadJSON, "body is not valid JSON")
	}
	return cmd(s, body, now)
}

// decodeBody reads a command's body into v.
func decodeBody(body []byte, v any) *restError {
	if err := json.Unmarshal(body, v); err != nil {
		return restErr(codes.RESTBadJSON, "body does not have the command's shape: %v", err)
	}
	return nil
}

// badUserID says what is wrong with a UserID of a request, or "".
func badUserID(id string) string {
	if msg := checkUserID(id); msg != "" {
		return fmt.Sprintf("UserID %q: %s", id, msg)
	}
	return ""
}

func restKick(s *Server, body []byte, _ time.Time) (any, *restError) {
	var req KickRequest
	if err := decodeBody(body, &req); err != nil {
		return nil, err
	}
	if msg := badUserID(req.UserID); msg != "" {
		return nil, restErr(codes.RESTBadParam, "%s", msg)
	}
	if !s.accounts.has(req.UserID) {
		return nil, restErr(codes.RESTNotImported, "UserID %q is not an account (never imported, never logged in)", req.UserID)
	}
	s.Kick(req.UserID)
	return ok(), nil
}

func restQueryOnline(s *Server, body []byte, _ time.Time) (any, *restError) {
	var req OnlineStatusRequest
	if err := decodeBody(body, &req); err != nil {
		return nil, err
	}
	if len(req.ToAccount) == 0 {
		return nil, restErr(codes.RESTBadParam, "To_Account is empty: name 1 to %d accounts", MaxOnlineQuery)
	}
	if len(req.ToAccount) > MaxOnlineQuery {
		return nil, restErr(codes.RESTBadParam, "To_Account names %d accounts: at most %d per request", len(req.ToAccount), MaxOnlineQuery)
	}
	res := OnlineStatusResponse{RESTStatus: ok(), QueryResult: make([]OnlineStatusResult, 0, len(req.ToAccount))}
	for _, id := range req.ToAccount {
		if checkUserID(id) != "" {
			res.ErrorList = append(res.ErrorList, AccountError{ToAccount: id, ErrorCode: codes.RESTBadParam})
			continue
		}
		if !s.accounts.has(id) {
			res.ErrorList = append(res.ErrorList, AccountError{ToAccount: id, ErrorCode: codes.RESTNotImported})
			continue
		}
		st, detail := onlineStatus(s.OnlineStatus(id))
		r := OnlineStatusResult{ToAccount: id, Status: st}
		if req.IsNeedDetail == 1 {
			r.Detail = detail
		}
		res.QueryResult = append(res.QueryResult, r)
	}
	return res, nil
}

// onlineStatus sums up a user's sessions: an instance with its transport up
// is Online; one within its resume window is PushOnline on a mobile
// platform (push still reaches it) and Offline elsewhere.
func onlineStatus(sessions []SessionInfo) (string, []PlatformStatus) {
	status := StatusOffline
	var detail []PlatformStatus
	for _, x := range sessions {
		st := StatusOnline
		if x.State != StateOnline {
			if !policy.IsMobile(x.Platform) {
				continue
			}
			st = StatusPushOnline
		}
		detail = append(detail, PlatformStatus{Platform: QueryPlatform(x.Platform), Status: st})
		if st == StatusOnline || status == StatusOffline {
			status = st
		}
	}
	return status, detail
}

func restAccountImport(s *Server, body []byte, now time.Time) (any, *restError) {
	var req AccountImportRequest
	if err := decodeBody(body, &req); err != nil {
		return nil, err
	}
	if msg := badUserID(req.UserID); msg != "" {
		return nil, restErr(codes.RESTBadParam, "%s", msg)
	}
	s.accounts.importAccount(Account{UserID: req.UserID, Nick: req.Nick, FaceURL: req.FaceURL, Imported: true, Created: now})
	return ok(), nil
}

func restMultiImport(s *Server, body []byte, now time.Time) (any, *restError) {
	var req MultiAccountImportRequest
	if err := decodeBody(body, &req); err != nil {
		return nil, err
	}
	if err := checkCount("Accounts", len(req.Accounts)); err != nil {
		return nil, err
	}
	res := MultiAccountImportResponse{RESTStatus: ok(), FailAccounts: []string{}}
	for _, id := range req.Accounts {
		if checkUserID(id) != "" {
			res.FailAccounts = append(res.FailAccounts, id)
			continue
		}
		s.accounts.importAccount(Account{UserID: id, Imported: true, Created: now})
	}
	return res, nil
}

func checkCount(field string, n int) *restError {
	if n == 0 {
		return restErr(codes.RESTBadParam, "%s is empty: name 1 to %d accounts", field, MaxAccountsPerCall)
	}
	if n > MaxAccountsPerCall {
		return restErr(codes.RESTBadParam, "%s names %d accounts: at most %d per request", field, n, MaxAccountsPerCall)
	}
	return nil
}

func restAccountDelete(s *Server, body []byte, now time.Time) (any, *restError) {
	var req AccountDeleteRequest
	if err := decodeBody(body, &req); err != nil {
		return nil, err
	}
	if err := checkCount("DeleteItem", len(req.DeleteItem)); err != nil {
		return nil, err
	}
	res := AccountResultsResponse{RESTStatus: ok(), ResultItem: make([]AccountResult, 0, len(req.DeleteItem))}
	for _, it := range req.DeleteItem {
		r := AccountResult{UserID: it.UserID}
		switch {
		case badUserID(it.UserID) != "":
			r.ResultCode, r.ResultInfo = codes.RESTBadParam, badUserID(it.UserID)
		case !s.accounts.remove(it.UserID, now):
			r.ResultCode, r.ResultInfo = codes.RESTNotImported, "not an account"
		default:
			// A deleted account is logged out everywhere, as by a REST
			// kick: its sessions end with kicked_offline admin_kick and
			// its tickets issued so far fail with 70052. A later login
			// with a new ticket makes the account again (SPEC.md section
			// 1: the first successful login creates the account).
			s.Kick(it.UserID)
		}
		res.ResultItem = append(res.ResultItem, r)
	}
	return res, nil
}

func restAccountCheck(s *Server, body []byte, _ time.Time) (any, *restError) {
	var req AccountCheckRequest
	if err := decodeBody(body, &req); err != nil {
		return nil, err
	}
	if err := checkCount("CheckItem", len(req.CheckItem)); err != nil {
		return nil, err
	}
	res := AccountResultsResponse{RESTStatus: ok(), ResultItem: make([]AccountResult, 0, len(req.CheckItem))}
	for _, it := range req.CheckItem {
		r := AccountResult{UserID: it.UserID, AccountStatus: AccountNotImported}
		switch {
		case badUserID(it.UserID) != "":
			r.ResultCode, r.ResultInfo = codes.RESTBadParam, badUserID(it.UserID)
		case s.accounts.has(it.UserID):
			r.AccountStatus = AccountImported
		}
		res.ResultItem = append(res.ResultItem, r)
	}
	return res, nil
}

func restAppInfo(s *Server, body []byte, now time.Time) (any, *restError) {
	var req AppInfoRequest
	if err := decodeBody(body, &req); err != nil {
		return nil, err
	}
	fields := AppInfoFields
	if len(req.RequestField) > 0 {
		for _, f := range req.RequestField {
			if !containsString(AppInfoFields, f) && f != "Date" && f != "AppId" {
				return nil, restErr(codes.RESTBadParam, "RequestField %q is not served here (allowed: %s, Date, AppId)", f, strings.Join(AppInfoFields, ", "))
			}
		}
		fields = req.RequestField
	}
	return s.appInfo(now, fields), nil
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// appInfo builds the getappinfo rows of the AppInfoDays calendar days that
// end with today's.
func (s *Server) appInfo(now time.Time, fields []string) AppInfoResponse {
	cal := s.ledger.cal
	today := cal.dayOf(now)
	from := today - AppInfoDays + 1
	st := s.Stats()
	byDay := make(map[int]DayStats, len(st.Days))
	for _, d := range st.Days {
		byDay[d.Day] = d
	}
	reg, total := s.accounts.registrations(from, today)
	app := strconv.FormatUint(s.cfg.SDKAppID, 10)
	res := AppInfoResponse{RESTStatus: ok(), Result: make([]map[string]string, 0, AppInfoDays), ImloadMAU: []MonthActive{}}
	u := func(n uint64) string { return strconv.FormatUint(n, 10) }
	for i := 0; i < AppInfoDays; i++ {
		day := from + i
		d := byDay[day]
		row := map[string]string{"Date": cal.date(day).Format("20060102"), "AppId": app}
		for _, f := range fields {
			switch f {
			case "ActiveUserNum", "LoginUserNum":
				row[f] = u(d.LoginUsers)
			case "LoginTimes":
				row[f] = u(d.Logins)
			case "MaxOnlineNum":
				row[f] = strconv.Itoa(d.MaxOnline)
			case "RegistUserNumOneDay":
				row[f] = u(reg[i])
			case "RegistUserNumTotal":
				row[f] = u(total[i])
			}
		}
		res.Result = append(res.Result, row)
	}
	sort.Slice(st.Months, func(i, j int) bool { return st.Months[i].Month < st.Months[j].Month })
	for _, m := range st.Months {
		res.ImloadMAU = append(res.ImloadMAU, MonthActive{Month: m.Month, ActiveUserNum: u(m.MAU)})
	}
	return res
}

// QueryPlatform names a platform as query_online_status does in Detail:
// iPhone as "IPhone", as in the service's own example answer
// (tencentcloud.com/document/product/1047/35477), every other platform as
// the protocol names it. The Status Change webhook has its own naming
// (CallbackPlatform: iPhone is "iOS").
func QueryPlatform(p policy.Platform) string {
	if p == policy.IPhone {
		return "IPhone"
	}
	return string(p)
}
