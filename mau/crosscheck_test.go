package mau

import (
	"reflect"
	"testing"
)

func TestCrossCheck(t *testing.T) {
	h := Counts{
		Days: []DayCount{
			{Day: 0, Date: "2026-11-30", Logins: 5, DAU: 3},
			{Day: 1, Date: "2026-12-01", Logins: 2, DAU: 2},
			{Day: 2, Date: "2026-12-02"},
		},
		Months: []MonthCount{{Month: "2026-11", MAU: 3}, {Month: "2026-12", MAU: 2}},
	}
	agree := ServerCounts{
		Days:   []ServerDay{{Day: 1, Logins: 2, DAU: 2}, {Day: 0, Logins: 5, DAU: 3}},
		Months: []ServerMonth{{Month: "2026-12", MAU: 2}, {Month: "2026-11", MAU: 3}},
	}
	tests := []struct {
		name   string
		server ServerCounts
		want   []Mismatch
	}{
		{"agree, in any order, idle days left out", agree, nil},
		{"a day's logins differ", ServerCounts{
			Days:   []ServerDay{{Day: 0, Logins: 6, DAU: 3}, {Day: 1, Logins: 2, DAU: 2}},
			Months: agree.Months,
		}, []Mismatch{{Measure: "logins", Key: "2026-11-30", Harness: 5, Server: 6}}},
		{"a day missing at the server", ServerCounts{
			Days:   []ServerDay{{Day: 0, Logins: 5, DAU: 3}},
			Months: agree.Months,
		}, []Mismatch{{Measure: "logins", Key: "2026-12-01", Harness: 2, Server: 0}, {Measure: "dau", Key: "2026-12-01", Harness: 2, Server: 0}}},
		{"a day only the server has", ServerCounts{
			Days:   append(append([]ServerDay{}, agree.Days...), ServerDay{Day: 9, Logins: 1, DAU: 1}),
			Months: agree.Months,
		}, []Mismatch{{Measure: "logins", Key: "day 9", Harness: 0, Server: 1}, {Measure: "dau", Key: "day 9", Harness: 0, Server: 1}}},
		{"MAU differs and a month is extra", ServerCounts{
			Days:   agree.Days,
			Months: []ServerMonth{{Month: "2026-11", MAU: 4}, {Month: "2026-12", MAU: 2}, {Month: "2027-01", MAU: 1}},
		}, []Mismatch{{Measure: "mau", Key: "2026-11", Harness: 3, Server: 4}, {Measure: "mau", Key: "2027-01", Harness: 0, Server: 1}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := CrossCheck(h, tc.server); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("\n got %v\nwant %v", got, tc.want)
			}
		})
	}
}

// A realtime run's last logins may end after the month: the harness counts
// them outside the run, the server on the day after. That is no mismatch
// as long as the harness's outside count covers them; more is.
func TestCrossCheckLoginsAfterTheMonth(t *testing.T) {
	h := Counts{Days: []DayCount{{Day: 0, Date: "d0", Logins: 5, DAU: 2}, {Day: 1, Date: "d1", Logins: 4, DAU: 2}}}
	s := ServerCounts{Days: []ServerDay{{Day: 0, Logins: 5, DAU: 2}, {Day: 1, Logins: 4, DAU: 2}, {Day: 2, Logins: 3, DAU: 1}}}
	for _, tc := range []struct {
		outside int64
		want    int
	}{{3, 0}, {7, 0}, {2, 2}, {0, 2}} {
		h.Outside = tc.outside
		if got := CrossCheck(h, s); len(got) != tc.want {
			t.Errorf("outside %d: mismatches %v, want %d", tc.outside, got, tc.want)
		}
	}
}

// Users whose only login spilt past the month's last day (a realtime run on
// a busy machine) are in the server's MAU of the month the day after falls
// in, not in the harness's: no mismatch for up to the spill day's users,
// a mismatch beyond, or without a spill the harness's outside count covers.
func TestCrossCheckMAUAfterTheMonth(t *testing.T) {
	h := Counts{Days: []DayCount{{Day: 0, Date: "2026-12-02", Logins: 5, DAU: 2}, {Day: 1, Date: "2026-12-03", Logins: 4, DAU: 2}},
		Months: []MonthCount{{Month: "2026-12", MAU: 3}}}
	days := []ServerDay{{Day: 0, Logins: 5, DAU: 2}, {Day: 1, Logins: 4, DAU: 2}, {Day: 2, Logins: 3, DAU: 2}}
	for _, tc := range []struct {
		outside   int64
		serverMAU int
		want      int
	}{{3, 3, 0}, {3, 4, 0}, {3, 5, 0}, {3, 6, 1}, {3, 2, 1}, {0, 4, 3}} {
		h.Outside = tc.outside
		s := ServerCounts{Days: days, Months: []ServerMonth{{Month: "2026-12", MAU: tc.serverMAU}}}
		if got := CrossCheck(h, s); len(got) != tc.want {
			t.Errorf("outside %d, server MAU %d: mismatches %v, want %d", tc.outside, tc.serverMAU, got, tc.want)
		}
	}
	// The day after is in the next month, which only the server has.
	h.Outside = 3
	s := ServerCounts{Days: days, Months: []ServerMonth{{Month: "2026-12", MAU: 3}, {Month: "2027-01", MAU: 2}}}
	if got := CrossCheck(h, s); len(got) != 0 {
		t.Errorf("spill into the next month: mismatches %v", got)
	}
	s.Months[1].MAU = 3
	if got := CrossCheck(h, s); len(got) != 1 {
		t.Errorf("more users in the next month than logged in after the run: mismatches %v, want 1", got)
	}
}
