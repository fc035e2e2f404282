package mau

import (
	"fmt"
	"strconv"
)

// ServerCounts is the target's own statistics for a run, in the shape the
// run command fills from the server's ops data. Days are indexed on the
// calendar the harness and the server share.
type ServerCounts struct {
	Days   []ServerDay   `json:"days"`
	Months []ServerMonth `json:"months"`
}

// ServerDay is one day of the server's statistics.
type ServerDay struct {
	Day    int   `json:"day"` // simulated day index
	Logins int64 `json:"logins"`
	DAU    int   `json:"dau"` // distinct users with a successful login
}

// ServerMonth is one month of the server's statistics.
type ServerMonth struct {
	Month string `json:"month"` // "2026-11"
	MAU   int    `json:"mau"`
}

// Mismatch is one number on which harness and server disagree.
type Mismatch struct {
	Strategy string `json:"strategy,omitempty"`
	Measure  string `json:"measure"` // logins, dau or mau
	Key      string `json:"key"`     // the date ("2026-11-03") or month ("2026-11")
	Harness  int64  `json:"harness"`
	Server   int64  `json:"server"`
}

func (m Mismatch) String() string {
	s := fmt.Sprintf("%s %s: harness %d, server %d", m.Measure, m.Key, m.Harness, m.Server)
	if m.Strategy != "" {
		s = m.Strategy + ": " + s
	}
	return s
}

// CrossCheck compares the harness's counts with the server's: logins and
// DAU per day, MAU per month. A day or month the server does not report
// counts as zero there; one the harness does not know is reported when the
// server has something in it.
func CrossCheck(h Counts, s ServerCounts) []Mismatch {
	var out []Mismatch
	diff := func(measure, key string, hv, sv int64) {
		if hv != sv {
			out = append(out, Mismatch{Measure: measure, Key: key, Harness: hv, Server: sv})
		}
	}
	days := map[int]ServerDay{}
	for _, d := range s.Days {
		days[d.Day] = d
	}
	for _, d := range h.Days {
		sd := days[d.Day]
		delete(days, d.Day)
		diff("logins", d.Date, d.Logins, sd.Logins)
		diff("dau", d.Date, int64(d.DAU), int64(sd.DAU))
	}
	// Days after the harness's last: a realtime run on a busy machine may
	// finish the last logins after the month ended; the harness counts
	// them outside the run (Counts.Outside), the server on the day after.
	last := -1
	for _, d := range h.Days {
		last = max(last, d.Day)
	}
	var after, afterUsers int64
	for _, sd := range s.Days {
		if _, extra := days[sd.Day]; extra && last >= 0 && sd.Day > last {
			after += sd.Logins
			afterUsers += int64(sd.DAU)
		}
	}
	spill := after > 0 && after <= h.Outside
	for _, sd := range s.Days { // in the server's order
		if _, extra := days[sd.Day]; extra && !(spill && sd.Day > last) {
			key := "day " + strconv.Itoa(sd.Day)
			diff("logins", key, 0, sd.Logins)
			diff("dau", key, 0, int64(sd.DAU))
		}
	}
	months := map[string]int{}
	for _, m := range s.Months {
		months[m.Month] = m.MAU
	}
	for _, m := range h.Months {
		sm := months[m.Month]
		delete(months, m.Month)
		// Users whose only login of the month spilt past its last day
		// count in the server's MAU of that month (the day after may fall
		// in it), not in the harness's: at most the spill days' users.
		if spill && sm > m.MAU && int64(sm-m.MAU) <= afterUsers {
			continue
		}
		diff("mau", m.Month, int64(m.MAU), int64(sm))
	}
	for _, m := range s.Months {
		if _, extra := months[m.Month]; extra && !(spill && int64(m.MAU) <= afterUsers) {
			diff("mau", m.Month, 0, int64(m.MAU))
		}
	}
	return out
}
